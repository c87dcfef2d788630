"""The streams under a trading workload and under faults, through real sockets: many subscribers of
both surfaces rebuild exactly the books, fills, orders and positions REST reports at the end; a
subscriber that stops reading is cut off (Kalshi error 25) without holding anyone else up; a client
that drops its connection, or asks for a snapshot mid-stream, resynchronises to the REST book.

The workload is seeded: PREDICTEX_WS_SEED=<n> replays one; a failure names its seed."""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from integration.server_fixture import V2, Member, RunningServer, kalshi_v2, running_server
from integration.ws_client import WsClient
from integration.ws_support import (
    KalshiBook,
    SeedBook,
    SeqCheck,
    barrier,
    kalshi_ws,
    make_markets,
    next_id,
    rest_book,
    rest_seed_book,
    seed_barrier,
    seed_token,
    seed_ws,
    subscribe,
)
from predictex.accounts.members import ScryptCost
from predictex.gateways.ws import WsLimits

SEED = int(os.environ.get("PREDICTEX_WS_SEED", "20261124"))
TRADERS = 4
ACTIONS_PER_TRADER = 60
BOOK_WATCHERS = 24
SEED_WATCHERS = 6


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(Path(tmp_path_factory.mktemp("ws-load")), rate_limits=False) as running:
        exchange = running.app.exchange
        assert exchange is not None
        exchange.accounts.members._cost = ScryptCost(log2_n=10)  # test members: a cheap password hash
        yield running


@pytest.fixture(scope="module")
def traders(server: RunningServer) -> list[Member]:
    return [server.new_member(f"trader{n}@ws-load.test", key_type="ed25519") for n in range(TRADERS)]


# --- the workload ---------------------------------------------------------------------------------------------


class Trader:
    """One member trading over REST from a thread of its own: limit orders on both sides of the
    markets, and cancels of its own open orders."""

    def __init__(self, server: RunningServer, member: Member, tickers: list[str], seed: int) -> None:
        self.server = server
        self.member = member
        self.tickers = tickers
        self.rng = random.Random(seed)
        self.auth = kalshi_v2(member.credentials)
        self.open: list[str] = []
        self.placed: list[str] = []
        self.prefix = uuid.uuid4().hex[:12]  # client_order_ids are the member's for a while: unique per trader

    def act(self, count: int) -> None:
        for _ in range(count):
            if self.open and self.rng.random() < 0.3:
                order_id = self.open.pop(self.rng.randrange(len(self.open)))
                reply = self.server.request("DELETE", f"{V2}/portfolio/orders/{order_id}", auth=self.auth)
                assert reply.status in (200, 404, 409), reply  # it may have filled meanwhile
                continue
            side = self.rng.choice(("yes", "no"))
            body = {"ticker": self.rng.choice(self.tickers), "side": side, "action": "buy", "type": "limit",
                    "count": self.rng.randint(1, 20), f"{side}_price": self.rng.randint(35, 65),
                    "client_order_id": f"{self.prefix}-{len(self.placed)}"}
            reply = self.server.request("POST", f"{V2}/portfolio/orders", body, auth=self.auth)
            assert reply.status == 201, reply
            order = reply.json()["order"]
            self.placed.append(order["order_id"])
            if order["status"] == "resting":
                self.open.append(order["order_id"])


def run_workload(traders: list[Trader], actions: int) -> None:
    with ThreadPoolExecutor(len(traders)) as pool:
        for future in [pool.submit(trader.act, actions) for trader in traders]:
            future.result()


# --- subscribers ------------------------------------------------------------------------------------------


class BookWatcher:
    """A Kalshi orderbook_delta subscriber of every market; NO levels converted when it asked for
    YES prices."""

    def __init__(self, ws: WsClient, tickers: list[str], use_yes_price: bool) -> None:
        self.ws = ws
        self.use_yes_price = use_yes_price
        self.books: dict[str, KalshiBook] = {}
        self.check = SeqCheck()
        _, extra = subscribe(ws, ["orderbook_delta"], market_tickers=tickers, use_yes_price=use_yes_price)
        self.take(extra)

    def take(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            self.check.see(message["sid"], message["seq"])
            msg = message["msg"]
            if self.use_yes_price:  # back to NO prices, as REST and KalshiBook have them
                if message["type"] == "orderbook_snapshot":
                    msg["no_dollars_fp"] = [[_flip(p), c] for p, c in reversed(msg.get("no_dollars_fp", []))] or None
                    if msg["no_dollars_fp"] is None:
                        del msg["no_dollars_fp"]
                elif msg["side"] == "no":
                    msg["price_dollars"] = _flip(msg["price_dollars"])
            self.books.setdefault(msg["market_ticker"], KalshiBook()).apply(message)


def _flip(price: str) -> str:
    whole, fraction = price.split(".")
    value = 10_000 - (int(whole) * 10_000 + int(fraction))
    return f"{value // 10_000}.{value % 10_000:04d}"


class SeedWatcher:
    def __init__(self, ws: WsClient, tickers: list[str]) -> None:
        self.ws = ws
        self.books = {ticker: SeedBook() for ticker in tickers}
        self.trades: dict[str, int] = dict.fromkeys(tickers, 0)
        self.check = SeqCheck()
        ws.send_json({"type": "subscribe", "channels": [f"{kind}:{t}" for t in tickers for kind in ("orderbook", "trades")]})
        self.take(seed_barrier(ws))

    def take(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            if message["type"] == "subscribed":
                continue
            self.check.see(message["channel"], message["seq"])
            kind, _, ticker = message["channel"].partition(":")
            if kind == "orderbook":
                self.books[ticker].apply(message["data"])
            else:
                self.trades[ticker] += 1


class AccountWatcher:
    """A trader's own fills, orders and positions, as the private channels tell them."""

    def __init__(self, ws: WsClient) -> None:
        self.ws = ws
        self.fills: list[dict[str, Any]] = []
        self.orders: dict[str, dict[str, Any]] = {}
        self.positions: dict[str, dict[str, Any]] = {}
        subscribe(ws, ["fill", "user_orders", "market_positions"])

    def take(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            msg = message["msg"]
            if message["type"] == "fill":
                self.fills.append(msg)
            elif message["type"] == "user_order":
                self.orders[msg["order_id"]] = msg
            elif message["type"] == "market_position":
                self.positions[msg["market_ticker"]] = msg


def _fill_key(fill: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(fill[k] for k in ("trade_id", "order_id", "market_ticker", "yes_price_dollars", "count_fp", "fee_cost", "is_taker",
                                   "outcome_side"))


def test_many_subscribers_rebuild_what_rest_reports(server: RunningServer, traders: list[Member]) -> None:
    rng = random.Random(SEED)
    tickers = make_markets(server, 2, prefix="KXLOAD")
    watchers = [BookWatcher(kalshi_ws(server, traders[n % TRADERS]), tickers, use_yes_price=n % 3 == 0) for n in range(BOOK_WATCHERS)]
    seeds = [SeedWatcher(seed_ws(server), tickers) for _ in range(SEED_WATCHERS)]
    accounts = [AccountWatcher(kalshi_ws(server, member)) for member in traders]
    actors = [Trader(server, member, tickers, rng.randrange(1 << 30)) for member in traders]
    try:
        run_workload(actors, ACTIONS_PER_TRADER // 2)
        late = BookWatcher(kalshi_ws(server, traders[0]), tickers, use_yes_price=False)  # joins mid-stream: snapshot, then deltas
        watchers.append(late)
        run_workload(actors, ACTIONS_PER_TRADER - ACTIONS_PER_TRADER // 2)
        for watcher in watchers:
            watcher.take(barrier(watcher.ws))
        for seed_watcher in seeds:
            seed_watcher.take(seed_barrier(seed_watcher.ws))
        for account in accounts:
            account.take(barrier(account.ws))
        _check_books(server, tickers, watchers, seeds)
        for member, account, actor in zip(traders, accounts, actors, strict=True):
            _check_account(server, member, account, actor)
    except AssertionError as failure:
        raise AssertionError(f"workload seed {SEED} (PREDICTEX_WS_SEED={SEED} replays it): {failure}") from failure
    finally:
        for ws in [w.ws for w in watchers] + [s.ws for s in seeds] + [a.ws for a in accounts]:
            ws.close()


def _check_books(server: RunningServer, tickers: list[str], watchers: list[BookWatcher], seeds: list[SeedWatcher]) -> None:
    for ticker in tickers:
        rest = rest_book(server, ticker)
        assert rest["book"]["yes_dollars"] or rest["book"]["no_dollars"], "the workload left an empty book: a weak test"
        for watcher in watchers:
            assert watcher.books[ticker].as_rest() == rest["book"], ticker
        seed_rest = rest_seed_book(server, ticker)
        trades = len(server.get_ok(f"{V2}/markets/trades?ticker={ticker}&limit=1000")["trades"])
        assert trades > 0, "no trade happened: a weak test"
        for seed_watcher in seeds:
            book = seed_watcher.books[ticker]
            assert book.as_rest() == {"bids": seed_rest["bids"], "asks": seed_rest["asks"]}, ticker
            assert book.seq == seed_rest["seq"] == rest["seq"]
            assert seed_watcher.trades[ticker] == trades


def _check_account(server: RunningServer, member: Member, account: AccountWatcher, actor: Trader) -> None:
    auth = kalshi_v2(member.credentials)
    page = server.get_ok(f"{V2}/portfolio/fills?limit=1000", auth=auth)
    assert page["cursor"] == ""
    assert sorted(map(_fill_key, account.fills)) == sorted(map(_fill_key, page["fills"])), member.email
    assert account.fills, "no fills: a weak test"
    positions = {p["ticker"]: p for p in server.get_ok(f"{V2}/portfolio/positions", auth=auth)["market_positions"]}
    assert set(positions) == set(account.positions)
    for ticker, position in account.positions.items():
        rest = positions[ticker]
        assert (position["position_fp"], position["position_cost_dollars"], position["fees_paid_dollars"],
                position["realized_pnl_dollars"]) == (rest["position_fp"], rest["market_exposure_dollars"], rest["fees_paid_dollars"],
                                                      rest["realized_pnl_dollars"]), ticker
    assert set(account.orders) == set(actor.placed)
    for order_id in actor.placed:
        rest_order = server.get_ok(f"{V2}/portfolio/orders/{order_id}", auth=auth)["order"]
        streamed = account.orders[order_id]
        for field in ("status", "fill_count_fp", "remaining_count_fp", "taker_fees_dollars", "maker_fees_dollars",
                      "taker_fill_cost_dollars", "maker_fill_cost_dollars", "client_order_id"):
            assert streamed[field] == rest_order[field], (order_id, field)


# --- a slow consumer ---------------------------------------------------------------------------------------


def test_a_subscriber_that_stops_reading_is_cut_off_and_nobody_waits_for_it(server: RunningServer, traders: list[Member]) -> None:
    gateway = server.app.ws
    assert gateway is not None
    limit = 64 * 1024
    server.on_loop(lambda: setattr(gateway, "limits", WsLimits(outbound_bytes_max=limit, socket_send_buffer_bytes=16 * 1024)))
    ticker = make_markets(server, prefix="KXSLOW")[0]
    slow = kalshi_ws(server, traders[0], rcvbuf=4096)
    fast = [kalshi_ws(server, traders[1]) for _ in range(3)]
    server.on_loop(lambda: setattr(gateway, "limits", WsLimits()))
    try:
        slow_sid = subscribe(slow, ["orderbook_delta"], market_ticker=ticker)[0]["orderbook_delta"]
        books = [BookWatcher(ws, [ticker], use_yes_price=False) for ws in fast]
        auth = kalshi_v2(traders[2].credentials)
        unsent_max = 0
        for batch in range(60):
            orders = [{"ticker": ticker, "side": "yes", "action": "buy", "type": "limit", "count": 1 + n,
                       "yes_price": 1 + (batch * 20 + n) % 40, "client_order_id": f"slow-{batch}-{n}"} for n in range(20)]
            reply = server.request("POST", f"{V2}/portfolio/orders/batched", {"orders": orders}, auth=auth)
            assert reply.status == 201, reply
            started = time.monotonic()
            for book in books:  # the fast ones have it all at once, whatever the slow one does
                book.take(barrier(book.ws, timeout_s=5))
            assert time.monotonic() - started < 5
            unsent_max = max(unsent_max, server.on_loop(lambda: _unsent(gateway)))
        rest = rest_book(server, ticker)
        for book in books:
            assert book.books[ticker].as_rest() == rest["book"]
        assert unsent_max <= limit + 64 * 1024, f"the slow connection held {unsent_max} unsent bytes"
        # the slow one, reading at last: what was sent before the cut, then error 25 for its subscription
        error, before = slow.recv_until(lambda m: m["type"] == "error", timeout_s=20)
        assert error["sid"] == slow_sid and error["msg"]["code"] == 25, error
        assert 0 < len(before) < 60 * 20, "the slow subscriber was cut off part way"
        slow_check = SeqCheck()
        slow_check.see(slow_sid, 1)  # its snapshot, read with the subscribe
        for message in before:
            slow_check.see(message["sid"], message["seq"])  # no gap before the cut
        resubscribed = BookWatcher(slow, [ticker], use_yes_price=False)  # and it can start again
        assert resubscribed.books[ticker].as_rest() == rest_book(server, ticker)["book"]
    finally:
        for ws in [slow, *fast]:
            ws.close()


def _unsent(gateway: Any) -> int:
    return max((c.transport.get_write_buffer_size() + c.out_bytes for c in gateway.hub.connections), default=0)


# --- reconnecting --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def background_orders(server: RunningServer, member: Member, ticker: str) -> Iterator[threading.Event]:
    """Orders keep coming (placed and cancelled) until the block ends."""
    stop = threading.Event()
    actor = Trader(server, member, [ticker], SEED)

    failures: list[BaseException] = []

    def trade() -> None:
        try:
            while not stop.is_set():
                actor.act(1)
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=trade, daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(30)
        if failures:
            raise failures[0]


def test_a_client_that_reconnects_or_asks_for_a_snapshot_resynchronises(server: RunningServer, traders: list[Member]) -> None:
    ticker = make_markets(server, prefix="KXRECON")[0]
    with background_orders(server, traders[3], ticker):
        first = BookWatcher(kalshi_ws(server, traders[0]), [ticker], use_yes_price=False)
        first.ws.recv_until(lambda m: m["type"] == "orderbook_delta", timeout_s=10)
        first.ws.sock.close()  # gone without a goodbye, mid-stream
        second = BookWatcher(kalshi_ws(server, traders[0]), [ticker], use_yes_price=False)
        seed_watcher = SeedWatcher(seed_ws(server, seed_token(server, traders[0])), [ticker])
        delta, skipped = second.ws.recv_until(lambda m: m["type"] == "orderbook_delta", timeout_s=10)
        second.take([*skipped, delta])
        sid = delta["sid"]
        time.sleep(0.2)  # more orders
        second.ws.send_json({"id": next_id(), "cmd": "update_subscription", "params": {"sid": sid, "action": "get_snapshot"}})
        snapshot, before = second.ws.recv_until(lambda m: m["type"] == "orderbook_snapshot", timeout_s=10)
        assert before, "deltas came between the two snapshots"
        second.take([*before, snapshot])  # the snapshot replaces the book the deltas built
        time.sleep(0.2)  # and more orders after it
    second.take(barrier(second.ws))
    seed_watcher.take(seed_barrier(seed_watcher.ws))
    rest = rest_book(server, ticker)
    assert second.books[ticker].as_rest() == rest["book"]
    seed_rest = rest_seed_book(server, ticker)
    assert seed_watcher.books[ticker].as_rest() == {"bids": seed_rest["bids"], "asks": seed_rest["asks"]}
    deadline = time.monotonic() + 10
    while server.on_loop(lambda: server.app.ws.connections) != 2 and time.monotonic() < deadline:  # type: ignore[union-attr]
        time.sleep(0.02)
    assert server.on_loop(lambda: server.app.ws.connections) == 2  # type: ignore[union-attr]
    second.ws.close()
    seed_watcher.ws.close()
