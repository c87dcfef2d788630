"""What core/limits.py says is what is enforced.

Every limit the module states is read by the code outside it (a number nothing reads cannot be the
one enforced); the configurable bounds (`server.http.Limits`, `WsLimits`, the sequencer's) default to
it; and each limit is checked where it holds: at its edge, through the component that enforces it
(the largest allowed value passes and one more is refused), or, where reaching the edge would take
millions of objects or a peer that stops reading, by finding the limit read in the function that
enforces it. A new limit needs an entry in EDGES or ENFORCED_IN, or test_every_limit_is_checked fails.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import START_MS, Harness, contracts
from integration.server_fixture import DEMO_TICKER, V2, RunningServer, running_server
from integration.ws_support import kalshi_ws
from predictex.core import commands as c
from predictex.core import limits
from predictex.core.rejects import RejectCode
from predictex.core.trading import OrderGroup, RecentIds
from predictex.gateways.fix import codec
from predictex.gateways.fix import requests as fix_requests
from predictex.gateways.fix import tags as t
from predictex.gateways.fix.session import Message
from predictex.gateways.rest import wire
from predictex.gateways.shapes import text
from predictex.gateways.ws.limits import WsLimits
from predictex.server import metrics
from predictex.server.http import HttpServer, Limits, Request, Response, json_response
from predictex.server.ids import Ids
from predictex.server.sequencer import Sequencer, SequencerBusy

SOURCE = Path(__file__).resolve().parents[2] / "src" / "predictex"
# the module's own names (not the units it imports), read from its source: a compiled module keeps no __annotations__
LIMITS = {
    node.target.id: getattr(limits, node.target.id)
    for node in ast.parse((SOURCE / "core" / "limits.py").read_text(encoding="utf-8")).body
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id not in ("KIB", "MIB")
}


# --- every limit is read by the code -------------------------------------------------------------------------

def _names_read(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
    return found


def test_every_stated_limit_is_read_by_the_code() -> None:
    read: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        if path != SOURCE / "core" / "limits.py":
            read |= _names_read(path)
    assert sorted(set(LIMITS) - read) == [], "limits that no code reads, so none enforces"


def test_the_configurable_bounds_default_to_the_stated_limits() -> None:
    http = Limits()
    assert (http.body_bytes_max, http.header_bytes_max, http.header_count_max, http.url_bytes_max, http.connections_max,
            http.pipelined_requests_max) == (
        limits.HTTP_BODY_BYTES_MAX, limits.HTTP_HEADER_BYTES_MAX, limits.HTTP_HEADER_COUNT_MAX, limits.HTTP_URL_BYTES_MAX,
        limits.HTTP_CONNECTIONS_MAX, limits.HTTP_PIPELINED_REQUESTS_MAX)
    ws = WsLimits()
    assert (ws.message_bytes_max, ws.commands_per_second, ws.commands_burst, ws.outbound_bytes_max, ws.outbound_bytes_abort,
            ws.socket_send_buffer_bytes, ws.connections_max, ws.subscriptions_per_connection_max, ws.items_per_command_max,
            ws.markets_per_subscription_max) == (
        limits.WS_MESSAGE_BYTES_MAX, limits.WS_COMMANDS_PER_SECOND, limits.WS_COMMANDS_BURST, limits.WS_OUTBOUND_BYTES_MAX,
        limits.WS_OUTBOUND_BYTES_ABORT, limits.WS_SOCKET_SEND_BUFFER_BYTES, limits.WS_CONNECTIONS_MAX,
        limits.WS_SUBSCRIPTIONS_PER_CONNECTION_MAX, limits.WS_ITEMS_PER_COMMAND_MAX, limits.WS_MARKETS_PER_SUBSCRIPTION_MAX)
    defaults = inspect.signature(Sequencer).parameters
    assert (defaults["queue_max"].default, defaults["batch_max"].default) == (limits.SEQUENCER_QUEUE_MAX, limits.SEQUENCER_BATCH_MAX)
    assert codec.Framer().max_bytes == limits.FIX_MESSAGE_BYTES_MAX


# --- the engine's limits, at their edges -----------------------------------------------------------------------

def _series(exchange: Harness, **overrides: Any) -> c.CreateSeries:
    exchange._series += 1
    return c.CreateSeries(overrides.pop("ticker", f"LIM{exchange._series}"), overrides.pop("title", "a series"), **overrides)


def _edge(allowed: Callable[[Harness], c.Command], beyond: Callable[[Harness], c.Command], code: RejectCode = RejectCode.INVALID_PARAMETERS,
          setup: Callable[[Harness], None] | None = None) -> Callable[[], None]:
    """An engine limit: the command at the limit is accepted, the one past it refused with `code`."""
    def check() -> None:
        exchange = Harness()
        if setup is not None:
            setup(exchange)
        exchange.ok(allowed(exchange))
        exchange.refused(beyond(exchange), code)
    return check


def _counted_edge(counter: str, limit: int, command: Callable[[int, str], c.Command], code: RejectCode) -> Callable[[], None]:
    """A per-account count limit, from an account whose count stands one below it (reaching it for real
    takes `limit` objects): one more is accepted, the next refused. The engine's own invariants would
    see the made-up count, so this one runs on the engine alone."""
    def check() -> None:
        exchange = Harness()
        account, ticker = exchange.account(), exchange.market()
        setattr(exchange.engine.ledger.accounts[account], counter, limit - 1)
        assert exchange.engine.apply(command(account, ticker), exchange.now_ms).reject is None
        refused = exchange.engine.apply(command(account, ticker), exchange.now_ms).reject
        assert refused is not None and refused.code is code, refused
    return check


def _order(exchange: Harness, **terms: Any) -> c.CreateOrder:
    account = terms.pop("account", None) or exchange.account("2000000")
    ticker = terms.pop("ticker", None) or exchange.market(f"KX-{exchange._series + 1}")
    return c.CreateOrder(account, ticker, True, terms.pop("price", 100), terms.pop("count", contracts(1)), **terms)


def _full_event(exchange: Harness) -> None:
    exchange.ok(c.CreateSeries("FULL", "a series"))
    exchange.ok(c.CreateEvent("FULL-E", "FULL", "an event"))
    exchange.engine.markets.events["FULL-E"].market_tickers.extend(f"X{n}" for n in range(limits.MARKETS_PER_EVENT_MAX - 1))


def _market_in_full_event(ticker: str) -> Callable[[Harness], c.Command]:
    return lambda exchange: c.CreateMarket(ticker, "FULL-E", "a market", exchange.now_ms, exchange.now_ms + 3_600_000)


def _recent_client_order_ids() -> None:
    recent = RecentIds([f"id-{n}" for n in range(limits.RECENT_CLIENT_ORDER_IDS_PER_ACCOUNT)])
    assert "id-0" in recent
    recent.add("one-more")
    assert "id-0" not in recent and "id-1" in recent and "one-more" in recent
    assert len(recent.ids()) == limits.RECENT_CLIENT_ORDER_IDS_PER_ACCOUNT


def _order_group_window() -> None:
    group = OrderGroup(1, 1, contracts(5))
    group.record(0, contracts(5))
    assert group.allowance(limits.ORDER_GROUP_WINDOW_MS - 1) == 0
    assert group.allowance(limits.ORDER_GROUP_WINDOW_MS) == contracts(5)


def _balance_increment() -> None:
    """Every balance stays a whole number of BALANCE_INCREMENT_MICRODOLLARS, fees of fractions of a cent or not."""
    exchange = Harness()
    ticker = exchange.market(fee_type="quadratic_with_maker_fees")
    maker, taker = exchange.account("100"), exchange.account("100")
    exchange.placed(maker, ticker, "ask", "0.37", 3)
    exchange.placed(taker, ticker, "bid", "0.37", 3)
    for account in (maker, taker):
        assert exchange.cash(account) % limits.BALANCE_INCREMENT_MICRODOLLARS == 0
    exchange.refused(c.Deposit(maker, limits.BALANCE_INCREMENT_MICRODOLLARS + 1), RejectCode.INVALID_PARAMETERS)


# --- the wire's limits, at their edges -----------------------------------------------------------------------

async def _echo(request: Request) -> Response:
    return json_response(200, {"bytes": len(request.body)})


def _http_status(raw: bytes) -> int:
    async def exchange() -> int:
        server = HttpServer(_echo)
        await server.start("127.0.0.1", 0)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(raw)
            line = await asyncio.wait_for(reader.readline(), 10)
            writer.close()
            return int(line.split()[1])
        finally:
            await server.stop(grace_s=1.0)
    return asyncio.run(exchange())


def _post(size: int) -> bytes:
    return b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % size + b"x" * size


def _http_body() -> None:
    assert _http_status(_post(limits.HTTP_BODY_BYTES_MAX)) == 200
    assert _http_status(_post(limits.HTTP_BODY_BYTES_MAX + 1)) == 413


def _http_url() -> None:
    assert _http_status(b"GET /" + b"a" * (limits.HTTP_URL_BYTES_MAX - 1) + b" HTTP/1.1\r\nHost: t\r\n\r\n") == 200
    assert _http_status(b"GET /" + b"a" * limits.HTTP_URL_BYTES_MAX + b" HTTP/1.1\r\nHost: t\r\n\r\n") == 414


def _http_headers() -> None:
    def request(count: int) -> bytes:  # Host and count - 1 others
        return b"GET /x HTTP/1.1\r\nHost: t\r\n" + b"".join(b"X-H%d: v\r\n" % n for n in range(count - 1)) + b"\r\n"
    assert _http_status(request(limits.HTTP_HEADER_COUNT_MAX)) == 200
    assert _http_status(request(limits.HTTP_HEADER_COUNT_MAX + 1)) == 431


def _fix_message_bytes() -> None:
    def framed(size: int) -> list[Any]:  # a message whose BodyLength-counted part and CheckSum take `size` bytes
        body = b"35=0\x0158=" + b"x" * (size - 7 - 9) + b"\x01"
        assert len(body) + 7 == size
        return codec.Framer().feed(codec.encode(b"FIXT.1.1", body))
    assert isinstance(framed(limits.FIX_MESSAGE_BYTES_MAX)[0], codec.Frame)
    assert isinstance(framed(limits.FIX_MESSAGE_BYTES_MAX + 1)[0], codec.Garbled)


def _fix_max_cost() -> None:
    def order(cost: str) -> c.CreateOrder:
        fields = [(t.CL_ORD_ID, b"a"), (t.SYMBOL, b"KX"), (t.SIDE, b"1"), (t.ORD_TYPE, b"2"), (t.PRICE, b"50"),
                  (t.ORDER_QTY, b"1"), (t.TIME_IN_FORCE, b"1"), (t.MAX_EXECUTION_COST, cost.encode())]
        return fix_requests.new_order(Message(b"FIXT.1.1", t.NEW_ORDER_SINGLE, fields, 1), 1, False, Ids(1), 0)
    limit = text.money(limits.ORDER_MAX_COST_MICRODOLLARS_MAX)
    assert order(limit).buy_max_cost_microdollars == limits.ORDER_MAX_COST_MICRODOLLARS_MAX
    with pytest.raises(fix_requests.RequestError):
        order(text.money(limits.ORDER_MAX_COST_MICRODOLLARS_MAX + 100))


def _request_integer() -> None:
    assert wire.int_field({"n": limits.REQUEST_INTEGER_MAX}, "n") == limits.REQUEST_INTEGER_MAX
    with pytest.raises(wire.ApiError):
        wire.int_field({"n": limits.REQUEST_INTEGER_MAX + 1}, "n")


def _text_fields() -> None:
    assert wire.str_field({"s": "x" * limits.TEXT_LENGTH_MAX}, "s") == "x" * limits.TEXT_LENGTH_MAX
    with pytest.raises(wire.ApiError):
        wire.str_field({"s": "x" * (limits.TEXT_LENGTH_MAX + 1)}, "s")
    _edge(lambda e: _series(e, title="x" * limits.TEXT_LENGTH_MAX), lambda e: _series(e, title="x" * (limits.TEXT_LENGTH_MAX + 1)))()


def _page(default: int, maximum: int) -> Callable[[], None]:
    def check() -> None:
        assert wire.Query({}).limit(default, maximum) == default
        assert wire.Query({"limit": [str(maximum)]}).limit(default, maximum) == maximum
        assert wire.Query({"limit": [str(maximum + 1)]}).limit(default, maximum) == maximum
    return check


def _money_texts() -> None:
    for amount in range(limits.MONEY_TEXTS_CACHED_MAX + 1):
        text.money(amount * 100)
    assert 0 < len(text._MONEY_TEXT) <= limits.MONEY_TEXTS_CACHED_MAX


def _metrics_kinds() -> None:
    recorded = metrics.Metrics()
    for n in range(limits.METRICS_REQUEST_KINDS_MAX + 1):
        recorded.record(f"/trade-api/v2/markets/T{n}", "GET", 200, 0.001)
    assert 0 < len(recorded._kinds) <= limits.METRICS_REQUEST_KINDS_MAX


def _sequencer_queue() -> None:
    async def fill() -> None:
        from predictex.core.engine import Engine
        from predictex.journal.journal import Journal
        from predictex.journal.memory import MemoryStore
        from predictex.server.clock import FakeClock

        sequencer = Sequencer(Engine(), Journal(MemoryStore()), FakeClock(0))
        sequencer.submit_many([c.Tick()] * limits.SEQUENCER_QUEUE_MAX)  # not started: everything waits
        with pytest.raises(SequencerBusy):
            sequencer.submit(c.Tick())
    asyncio.run(fill())


def _sequencer_batch() -> None:
    async def run() -> list[int]:
        from predictex.core.engine import Engine
        from predictex.journal.journal import Journal
        from predictex.journal.memory import MemoryStore
        from predictex.server.clock import FakeClock

        sizes: list[int] = []

        class Sizes:
            def committed(self, entries: Any) -> None:
                sizes.append(len(entries))

        sequencer = Sequencer(Engine(), Journal(MemoryStore()), FakeClock(0), listeners=[Sizes()])
        future = sequencer.submit_many([c.Tick()] * (limits.SEQUENCER_BATCH_MAX + 1))
        sequencer.start()
        await future
        await sequencer.stop(snapshot=False)
        return sizes
    sizes = asyncio.run(run())
    assert max(sizes) == limits.SEQUENCER_BATCH_MAX and sum(sizes) == limits.SEQUENCER_BATCH_MAX + 1


# --- through a running exchange --------------------------------------------------------------------------------

def _ws_message(server: RunningServer) -> None:
    member = server.new_member(f"limits-{id(server)}@example.com")
    with kalshi_ws(server, member) as ws:
        padding_for = len(b'{"id": 1, "cmd": "list_subscriptions", "pad": ""}')
        ws.send_text(b'{"id": 1, "cmd": "list_subscriptions", "pad": "' + b"x" * (limits.WS_MESSAGE_BYTES_MAX - padding_for) + b'"}')
        assert ws.recv_json() == {"id": 1, "type": "ok", "msg": []}
        ws.send_text(b'{"id": 2, "cmd": "list_subscriptions", "pad": "' + b"x" * (limits.WS_MESSAGE_BYTES_MAX - padding_for + 1) + b'"}')
        reply = ws.recv_json()
        assert reply["type"] == "error" and reply["msg"]["code"] == 1


def _tickers_per_request(server: RunningServer) -> None:
    def books(count: int) -> int:
        return server.get(f"{V2}/markets/orderbooks?" + "&".join(["tickers=" + DEMO_TICKER] * count)).status
    assert books(limits.TICKERS_PER_REQUEST_MAX) == 200
    assert books(limits.TICKERS_PER_REQUEST_MAX + 1) == 400


def _orderbook_depth(server: RunningServer) -> None:
    """A deci-cent market holding one more YES bid level than an answer may show."""
    account = server.funded_account()
    server.admin("POST", "/series", {"ticker": "DEPTHS", "title": "Depth"}, expect=201)
    server.admin("POST", "/events", {"event_ticker": "DEPTHS-E", "series_ticker": "DEPTHS", "title": "Depth"}, expect=201)
    ticker = "DEPTHS-E-M"
    server.admin("POST", "/markets", {"ticker": ticker, "event_ticker": "DEPTHS-E", "title": "Depth", "price_level_structure": "deci_cent",
                                      "close_time": int(time.time()) + 86_400}, expect=201)
    for level in range(1, limits.ORDERBOOK_DEPTH_MAX + 2):
        server.value(c.CreateOrder(account, ticker, True, level * 10, contracts(1)))
    levels = server.get_ok(f"{V2}/markets/{ticker}/orderbook?depth={limits.ORDERBOOK_DEPTH_MAX + 1}")["orderbook_fp"]["yes_dollars"]
    assert len(levels) == limits.ORDERBOOK_DEPTH_MAX


def _candles_per_request(server: RunningServer) -> None:
    def candles(count: int) -> int:
        return server.get(f"{V2}/series/INXCHI/markets/{DEMO_TICKER}/candlesticks?start_ts=0&end_ts={count * 60}&period_interval=1").status
    assert candles(limits.CANDLES_PER_REQUEST_MAX) == 200
    assert candles(limits.CANDLES_PER_REQUEST_MAX + 1) == 400


def _communications_edges() -> dict[str, Callable[[], None]]:
    """The RFQ, quote and block-trade bounds, each at its edge through the engine."""
    def deadline_edge(command: Callable[[Harness, int, int, str, int], c.Command], longest: int, proposal: bool = False) -> Callable[[], None]:
        def check() -> None:
            exchange = Harness()
            first, second, ticker = exchange.account(), exchange.account(), exchange.market()
            target = ticker  # what the command names: the market, or the quote to accept
            if not proposal:
                rfq = exchange.ok(c.CreateRfq(first, ticker, contracts(1), expiration_ms=exchange.now_ms + 60_000)).value
                target = str(exchange.ok(c.CreateQuote(second, rfq, 5000, 5000)).value)
            exchange.refused(command(exchange, first, second, target, exchange.now_ms + longest + 1), RejectCode.INVALID_EXPIRATION)
            exchange.ok(command(exchange, first, second, target, exchange.now_ms + longest))
        return check

    def pending_proposals() -> None:
        exchange = Harness()
        account, other, ticker = exchange.account(), exchange.account(), exchange.market()
        exchange.engine.ledger.accounts[account].pending_proposal_count = limits.BLOCK_TRADES_PENDING_PER_ACCOUNT_MAX - 1
        def propose() -> c.Command:
            return c.ProposeBlockTrade(account, account, other, ticker, 5000, contracts(1), "yes", exchange.now_ms + 60_000)
        assert exchange.engine.apply(propose(), exchange.now_ms).reject is None
        refused = exchange.engine.apply(propose(), exchange.now_ms).reject
        assert refused is not None and refused.code is RejectCode.RFQ_LIMIT, refused

    return {
        "RFQS_OPEN_PER_ACCOUNT_MAX": _counted_edge(
            "open_rfq_count", limits.RFQS_OPEN_PER_ACCOUNT_MAX,
            lambda account, ticker: c.CreateRfq(account, ticker, contracts(1), expiration_ms=START_MS + 60_000), RejectCode.RFQ_LIMIT),
        "RFQ_LIFETIME_MS_MAX": deadline_edge(
            lambda e, first, second, ticker, at: c.CreateRfq(first, ticker, contracts(1), expiration_ms=at),
            limits.RFQ_LIFETIME_MS_MAX, proposal=True),
        "QUOTE_CONFIRM_WINDOW_MS_MAX": deadline_edge(
            lambda e, first, second, quote, at: c.AcceptQuote(first, int(quote), "yes", at), limits.QUOTE_CONFIRM_WINDOW_MS_MAX),
        "BLOCK_TRADE_LIFETIME_MS_MAX": deadline_edge(
            lambda e, first, second, ticker, at: c.ProposeBlockTrade(first, first, second, ticker, 5000, contracts(1), "yes", at),
            limits.BLOCK_TRADE_LIFETIME_MS_MAX, proposal=True),
        "BLOCK_TRADES_PENDING_PER_ACCOUNT_MAX": pending_proposals,
    }


EDGES: dict[str, Callable[..., None]] = {
    **_communications_edges(),
    "OPEN_ORDERS_PER_ACCOUNT_MAX": _counted_edge(
        "open_order_count", limits.OPEN_ORDERS_PER_ACCOUNT_MAX, lambda account, ticker: c.CreateOrder(account, ticker, True, 100, contracts(1)),
        RejectCode.OPEN_ORDER_LIMIT),
    "BATCH_ORDERS_MAX": _edge(
        lambda e: c.BatchCreateOrders(1, [_order(e, account=1, ticker="KX-M") for _ in range(limits.BATCH_ORDERS_MAX)]),
        lambda e: c.BatchCreateOrders(1, [_order(e, account=1, ticker="KX-M") for _ in range(limits.BATCH_ORDERS_MAX + 1)]),
        RejectCode.BATCH_TOO_LARGE, lambda e: (e.account("1000"), e.market())),
    "CLIENT_ORDER_ID_LENGTH_MAX": _edge(
        lambda e: _order(e, client_order_id="x" * limits.CLIENT_ORDER_ID_LENGTH_MAX),
        lambda e: _order(e, client_order_id="y" * (limits.CLIENT_ORDER_ID_LENGTH_MAX + 1))),
    "RECENT_CLIENT_ORDER_IDS_PER_ACCOUNT": _recent_client_order_ids,
    "ORDER_COUNT_CENTICONTRACTS_MAX": _edge(
        lambda e: _order(e, count=limits.ORDER_COUNT_CENTICONTRACTS_MAX),
        lambda e: _order(e, count=limits.ORDER_COUNT_CENTICONTRACTS_MAX + contracts(1)), RejectCode.INVALID_ORDER_SIZE),
    "ORDER_GROUPS_PER_ACCOUNT_MAX": _counted_edge(
        "order_group_count", limits.ORDER_GROUPS_PER_ACCOUNT_MAX, lambda account, ticker: c.CreateOrderGroup(account, contracts(1)),
        RejectCode.ORDER_GROUP_COUNT_LIMIT),
    "ORDER_GROUP_CONTRACTS_LIMIT_MAX_CENTICONTRACTS": _edge(
        lambda e: c.CreateOrderGroup(e.account(), limits.ORDER_GROUP_CONTRACTS_LIMIT_MAX_CENTICONTRACTS),
        lambda e: c.CreateOrderGroup(e.account(), limits.ORDER_GROUP_CONTRACTS_LIMIT_MAX_CENTICONTRACTS + 1)),
    "ORDER_GROUP_WINDOW_MS": _order_group_window,
    "ORDER_MAX_COST_MICRODOLLARS_MAX": _fix_max_cost,
    "DEPOSIT_MICRODOLLARS_MAX": _edge(
        lambda e: c.Deposit(e.account("0"), limits.DEPOSIT_MICRODOLLARS_MAX),
        lambda e: c.Deposit(e.account("0"), limits.DEPOSIT_MICRODOLLARS_MAX + limits.BALANCE_INCREMENT_MICRODOLLARS)),
    "WITHDRAWAL_MICRODOLLARS_MIN": _edge(
        lambda e: c.RequestWithdrawal(e.account("100"), limits.WITHDRAWAL_MICRODOLLARS_MIN),
        lambda e: c.RequestWithdrawal(e.account("100"), limits.WITHDRAWAL_MICRODOLLARS_MIN - limits.BALANCE_INCREMENT_MICRODOLLARS),
        RejectCode.WITHDRAWAL_TOO_SMALL),
    "BALANCE_INCREMENT_MICRODOLLARS": _balance_increment,
    "TIME_MS_MAX": _edge(
        lambda e: _order(e, expiration_ms=limits.TIME_MS_MAX), lambda e: _order(e, expiration_ms=limits.TIME_MS_MAX + 1),
        RejectCode.INVALID_EXPIRATION),
    "TICKER_LENGTH_MAX": _edge(
        lambda e: _series(e, ticker="T" * limits.TICKER_LENGTH_MAX), lambda e: _series(e, ticker="U" * (limits.TICKER_LENGTH_MAX + 1))),
    "TEXT_LENGTH_MAX": _text_fields,
    "MARKETS_PER_EVENT_MAX": _edge(_market_in_full_event("FULL-A"), _market_in_full_event("FULL-B"), setup=_full_event),
    "SETTLEMENT_TIMER_SECONDS_MAX": _edge(
        lambda e: c.CreateMarket("KX-A", "FULL-E", "m", e.now_ms, e.now_ms + 1, settlement_timer_s=limits.SETTLEMENT_TIMER_SECONDS_MAX),
        lambda e: c.CreateMarket("KX-B", "FULL-E", "m", e.now_ms, e.now_ms + 1, settlement_timer_s=limits.SETTLEMENT_TIMER_SECONDS_MAX + 1),
        setup=lambda e: (e.ok(c.CreateSeries("FULL", "a series")), e.ok(c.CreateEvent("FULL-E", "FULL", "an event")))),
    "FEE_MULTIPLIER_BPS_MAX": _edge(
        lambda e: _series(e, fee_multiplier_bps=limits.FEE_MULTIPLIER_BPS_MAX), lambda e: _series(e, fee_multiplier_bps=limits.FEE_MULTIPLIER_BPS_MAX + 1)),
    "SEQUENCER_QUEUE_MAX": _sequencer_queue,
    "SEQUENCER_BATCH_MAX": _sequencer_batch,
    "HTTP_BODY_BYTES_MAX": _http_body,
    "HTTP_URL_BYTES_MAX": _http_url,
    "HTTP_HEADER_COUNT_MAX": _http_headers,
    "PAGE_SIZE_DEFAULT": _page(limits.PAGE_SIZE_DEFAULT, limits.PAGE_SIZE_MAX),
    "PAGE_SIZE_MAX": _page(limits.PAGE_SIZE_DEFAULT, limits.PAGE_SIZE_MAX),
    "EVENTS_PAGE_SIZE_MAX": _page(limits.EVENTS_PAGE_SIZE_MAX, limits.EVENTS_PAGE_SIZE_MAX),
    "REQUEST_INTEGER_MAX": _request_integer,
    "MONEY_TEXTS_CACHED_MAX": _money_texts,
    "METRICS_REQUEST_KINDS_MAX": _metrics_kinds,
    "FIX_MESSAGE_BYTES_MAX": _fix_message_bytes,
    "WS_MESSAGE_BYTES_MAX": _ws_message,
    "TICKERS_PER_REQUEST_MAX": _tickers_per_request,
    "ORDERBOOK_DEPTH_MAX": _orderbook_depth,
    "CANDLES_PER_REQUEST_MAX": _candles_per_request,
}

# Limits whose edge takes millions of objects, thousands of sockets or a peer that stops reading: the
# function that enforces each must read it (their mechanisms are tested with small configured values
# elsewhere: tests/unit/test_http.py, tests/integration/test_ws_kalshi.py, test_ws_load.py, test_fix_gateway.py).
ENFORCED_IN: dict[str, str] = {
    "TIMESTAMP_DIGITS_MAX": "accounts/signing.py:parse_timestamp_ms",
    "SUSPENSION_REASON_LENGTH_MAX": "accounts/members.py:Members._open_member",
    "REPLAY_CACHE_ENTRIES_MAX": "accounts/replay.py:ReplayGuard.__init__",
    "LOGIN_FAILURES_PER_ACCOUNT_FREE": "accounts/throttle.py:LoginThrottle.__init__",
    "LOGIN_FAILURES_PER_ADDRESS_FREE": "accounts/throttle.py:LoginThrottle.__init__",
    "LOGIN_THROTTLE_ENTRIES_MAX": "accounts/throttle.py:LoginThrottle.__init__",
    "LOGIN_WAIT_MS_MIN": "accounts/throttle.py:wait_after",
    "LOGIN_WAIT_MS_MAX": "accounts/throttle.py:wait_after",
    "LOGIN_FAILURES_FORGOTTEN_AFTER_MS": "accounts/throttle.py:LoginThrottle._wait",
    "ACCOUNTS_MAX": "core/engine.py:Engine._open_account",
    "FEE_CHANGES_MAX": "core/fee_changes.py:FeeSchedule.schedule",
    "CONTENT_ITEMS_MAX": "core/content.py:Content.publish",
    "COMBO_LEGS_MAX": "core/combos.py:Combos.check_legs",
    "CONTENT_BYTES_MAX": "core/content.py:Content.publish",
    "QUOTES_PER_RFQ_MAX": "core/communications.py:Communications.create_quote",
    "QUOTE_CONFIRM_WINDOW_HVM_MS_MAX": "core/communications.py:Communications.confirm_window_ms",
    "COMMUNICATIONS_CLOSED_KEPT_MAX": "readmodel/communications.py:CommunicationsView._retire",
    "SUBACCOUNTS_PER_MEMBER_MAX": "core/subaccounts.py:create_subaccount",  # its edge: tests/unit/test_subaccounts.py
    "SUBACCOUNT_TRANSFERS_PER_MEMBER_MAX": "core/subaccounts.py:transfer",
    "SUBACCOUNT_TRANSFER_MICRODOLLARS_MAX": "core/subaccounts.py:transfer",
    "CLIENT_TRANSFER_ID_LENGTH_MAX": "core/subaccounts.py:transfer",
    "HTTP_HEADER_BYTES_MAX": "server/http.py:Limits",
    "HTTP_CONNECTIONS_MAX": "server/http.py:Limits",
    "HTTP_PIPELINED_REQUESTS_MAX": "server/http.py:Limits",
    "TRANSFERS_LISTED_MAX": "gateways/rest/kalshi_v2/money.py",  # deposits and withdrawals
    "MEMBER_TRANSFERS_LISTED_MAX": "gateways/rest/members.py:list_transfers",
    "ORDERBOOK_ANSWERS_CACHED_MAX": "gateways/rest/kalshi_v2/market_data.py:OrderbookAnswers.__call__",
    "ROUTES_CACHED_MAX": "server/router.py:Router.__call__",
    "WS_COMMANDS_PER_SECOND": "gateways/ws/limits.py:WsLimits",
    "WS_COMMANDS_BURST": "gateways/ws/limits.py:WsLimits",
    "WS_OUTBOUND_BYTES_MAX": "gateways/ws/limits.py:WsLimits",
    "WS_OUTBOUND_BYTES_ABORT": "gateways/ws/limits.py:WsLimits",
    "WS_SOCKET_SEND_BUFFER_BYTES": "gateways/ws/limits.py:WsLimits",
    "WS_CONNECTIONS_MAX": "gateways/ws/limits.py:WsLimits",
    "WS_SUBSCRIPTIONS_PER_CONNECTION_MAX": "gateways/ws/limits.py:WsLimits",
    "WS_ITEMS_PER_COMMAND_MAX": "gateways/ws/limits.py:WsLimits",
    "WS_MARKETS_PER_SUBSCRIPTION_MAX": "gateways/ws/limits.py:WsLimits",
    "WS_SHARD_FACTOR_MAX": "gateways/ws/kalshi.py:_check_shards",
    "WS_SEED_CHANNEL_NAME_LENGTH_MAX": "gateways/ws/seed.py",
    "FIX_CONNECTIONS_MAX": "gateways/fix/acceptor.py:Connection.connection_made",
    "FIX_WRITE_BUFFER_BYTES_MAX": "gateways/fix/acceptor.py:Connection.flush",
    "FIX_SUBSCRIPTIONS_PER_SESSION_MAX": "gateways/fix/market_data.py:MarketData._market_data_request",
    "FIX_SYMBOLS_PER_REQUEST_MAX": "gateways/fix/market_data.py:MarketData._market_data_request",
    "FIX_RESEND_REPORTS_MAX": "gateways/fix/drop_copy.py:_resend",
    "FIX_RECENT_MESSAGES_MAX": "gateways/fix/store.py",
}


def test_every_limit_is_checked() -> None:
    assert not set(EDGES) & set(ENFORCED_IN)
    assert sorted(set(LIMITS) - set(EDGES) - set(ENFORCED_IN)) == [], "a limit without a check"
    assert sorted((set(EDGES) | set(ENFORCED_IN)) - set(LIMITS)) == [], "a check of a limit the module no longer states"


def _scope(place: str) -> ast.AST:
    """The module, class or function `place` ("path.py" or "path.py:Class.function") names."""
    path, _, qualified = place.partition(":")
    node: ast.AST = ast.parse((SOURCE / path).read_text(encoding="utf-8"))
    for part in qualified.split(".") if qualified else []:
        node = next(child for child in ast.iter_child_nodes(node)
                    if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and child.name == part)
    return node


@pytest.mark.parametrize("name", sorted(ENFORCED_IN))
def test_the_enforcing_code_reads_the_limit(name: str) -> None:
    scope = _scope(ENFORCED_IN[name])
    assert any(isinstance(node, ast.Name) and node.id == name for node in ast.walk(scope)), f"{ENFORCED_IN[name]} does not read {name}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("limits")) as running:
        yield running


@pytest.mark.parametrize("name", sorted(EDGES))
def test_the_limit_holds_at_its_edge(name: str, request: pytest.FixtureRequest) -> None:
    check = EDGES[name]
    if inspect.signature(check).parameters:
        check(request.getfixturevalue("server"))
    else:
        check()

