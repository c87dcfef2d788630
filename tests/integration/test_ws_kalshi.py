"""Kalshi's WebSocket API v2 at /trade-api/ws/v2, through real sockets: the handshake and its
authentication, every command and error code, every channel's messages against the REST objects that
carry the same facts, and the keep-alive (reference §9)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integration.server_fixture import V2, Member, RunningServer, kalshi_v2, running_server
from integration.ws_client import Closed, HandshakeRefused, WsClient, encode_frame
from integration.ws_support import (
    KALSHI_PATH,
    KalshiBook,
    SeqCheck,
    barrier,
    cancel,
    centi,
    kalshi_ws,
    make_markets,
    next_id,
    place,
    rest_book,
    subscribe,
)
from predictex.accounts.members import ScryptCost
from predictex.gateways.ws import WsLimits

PRIVATE = ["orderbook_delta", "fill", "market_positions", "user_orders", "order_group_updates", "communications"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(Path(tmp_path_factory.mktemp("ws-kalshi")), rate_limits=False) as running:
        exchange = running.app.exchange
        assert exchange is not None
        exchange.accounts.members._cost = ScryptCost(log2_n=10)  # test members: a cheap password hash
        yield running


@pytest.fixture(scope="module")
def alice(server: RunningServer) -> Member:
    return server.new_member("alice@ws.test", key_type="ed25519")


@pytest.fixture(scope="module")
def bob(server: RunningServer) -> Member:
    return server.new_member("bob@ws.test", key_type="ed25519")


def command(ws: WsClient, cmd: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Send a command; every message up to the barrier after it (its replies among them)."""
    body: dict[str, Any] = {"id": next_id(), "cmd": cmd}
    if params is not None:
        body["params"] = params
    ws.send_json(body)
    return barrier(ws)


def subscriptions(ws: WsClient) -> list[dict[str, Any]]:
    """The connection's subscriptions (and proof it still answers, with nothing else pending)."""
    command_id = next_id()
    ws.send_json({"id": command_id, "cmd": "list_subscriptions"})
    reply, before = ws.recv_until(lambda m: m.get("id") == command_id)
    assert before == [] and reply["type"] == "ok", (before, reply)
    listed: list[dict[str, Any]] = reply["msg"]
    return listed


def error_of(replies: list[dict[str, Any]]) -> dict[str, Any]:
    errors = [r for r in replies if r["type"] == "error"]
    assert len(errors) == 1, replies
    return errors[0]


# --- the handshake ---------------------------------------------------------------------------------------


def test_a_signed_upgrade_is_accepted_and_a_bad_signature_is_refused_with_401(server: RunningServer, alice: Member) -> None:
    with kalshi_ws(server, alice) as ws:
        assert subscriptions(ws) == []
    wrong = kalshi_v2(alice.credentials, signed_path="/trade-api/v2/portfolio/balance")("GET", KALSHI_PATH, None)
    with pytest.raises(HandshakeRefused) as refused:
        WsClient.connect(server.port, KALSHI_PATH, wrong)
    assert refused.value.status == 401
    assert refused.value.json()["error"]["code"] == "authentication_error"


@pytest.mark.parametrize(("headers", "path", "status"), [
    ({"Sec-WebSocket-Version": "8"}, KALSHI_PATH, 426),
    ({}, "/trade-api/ws/v3", 404),
])
def test_a_bad_upgrade_is_refused_with_http(server: RunningServer, headers: dict[str, str], path: str, status: int) -> None:
    import socket

    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    lines = [f"GET {path} HTTP/1.1", "Host: x", "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]
    lines += [f"{k}: {v}" for k, v in {"Sec-WebSocket-Version": "13", **headers}.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = sock.recv(65536).decode("latin-1")
    sock.close()
    assert head.startswith(f"HTTP/1.1 {status} "), head
    if status == 426:
        assert "sec-websocket-version: 13" in head.lower()


def test_without_credentials_public_channels_work_and_private_ones_are_refused_with_code_9(server: RunningServer) -> None:
    with kalshi_ws(server) as ws:
        sids, extra = subscribe(ws, ["ticker", "trade", "market_lifecycle_v2", *PRIVATE], market_tickers=make_markets(server))
        assert set(sids) == {"ticker", "trade", "market_lifecycle_v2"}
        assert sorted(sids.values()) == [1, 2, 3]
        refused = [m for m in extra if m["type"] == "error"]
        assert len(refused) == len(PRIVATE)
        assert all(m["msg"]["code"] == 9 and m["msg"]["msg"] == "Authentication required" for m in refused)


# --- commands and their errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "code"), [
    (b"{not json", 1),
    (b"[1, 2]", 1),
    (b'{"id": -1, "cmd": "list_subscriptions"}', 1),
    (b'{"id": 7, "cmd": "subscribe"}', 2),
    (b'{"id": 7, "cmd": "subscribe", "params": {}}', 3),
    (b'{"id": 7, "cmd": "subscribe", "params": {"channels": []}}', 3),
    (b'{"id": 7, "cmd": "unsubscribe", "params": {}}', 4),
    (b'{"id": 7, "cmd": "launch"}', 5),
    (b'{"id": 7, "cmd": "unsubscribe", "params": {"sids": [99]}}', 7),
    (b'{"id": 7, "cmd": "subscribe", "params": {"channels": ["tickr"]}}', 8),
    (b'{"id": 7, "cmd": "subscribe", "params": {"channels": ["ticker"], "market_ticker": "A", "market_tickers": ["B"]}}', 11),
    (b'{"id": 7, "cmd": "subscribe", "params": {"channels": ["trade"], "send_initial_snapshot": "yes"}}', 11),
    (b'{"id": 7, "cmd": "update_subscription", "params": {"sid": 1, "sids": [1], "action": "add_markets"}}', 12),
    (b'{"id": 7, "cmd": "update_subscription", "params": {"sids": [1, 2], "action": "add_markets"}}', 12),
    (b'{"id": 7, "cmd": "update_subscription", "params": {"sid": 1}}', 15),
    (b'{"id": 7, "cmd": "update_subscription", "params": {"sid": 1, "action": "rename"}}', 13),
    (b'{"id": 7, "cmd": "update_subscription", "params": {"sid": 42, "action": "add_markets"}}', 7),
    (b'{"id": 7, "cmd": "subscribe", "params": {"channels": ["orderbook_delta"]}}', 14),
    (b'{"id": 7, "cmd": "subscribe", "params": {"channels": ["orderbook_delta"], "market_ticker": "NO-SUCH-MARKET"}}', 16),
    (b'{"id": 7, "cmd": "subscribe", "params": {"channels": ["communications"], "shard_factor": 0}}', 19),
    (b'{"id": 7, "cmd": "subscribe", "params": {"channels": ["communications"], "shard_key": 1}}', 20),
    (b'{"id": 7, "cmd": "subscribe", "params": {"channels": ["communications"], "shard_factor": 2, "shard_key": 2}}', 21),
    (b'{"id": 7, "cmd": "subscribe", "params": {"channels": ["communications"], "shard_factor": 101}}', 22),
    (b'{"id": 7, "cmd": "subscribe", "params": {"channels": [' + b", ".join([b'"trade"'] * 101) + b"]}}", 11),
    (b'{"id": 7, "cmd": "unsubscribe", "params": {"sids": [' + b", ".join([b"1"] * 101) + b"]}}", 11),
])
def test_each_bad_command_gets_its_documented_code_and_changes_nothing(server: RunningServer, alice: Member, raw: bytes,
                                                                       code: int) -> None:
    from predictex.gateways.ws.kalshi import ERRORS

    with kalshi_ws(server, alice) as ws:
        ws.send_text(raw)
        reply = ws.recv_json()
        assert reply["type"] == "error", reply
        assert reply["msg"]["code"] == code and reply["msg"]["msg"] == ERRORS[code], reply
        if b'"id": 7' in raw:
            assert reply["id"] == 7
        assert subscriptions(ws) == []  # nothing subscribed, the connection still answers


def test_unknown_markets_are_named_in_the_error(server: RunningServer, alice: Member) -> None:
    ticker = make_markets(server)[0]
    with kalshi_ws(server, alice) as ws:
        error = error_of(command(ws, "subscribe", {"channels": ["orderbook_delta"], "market_tickers": [ticker, "KXNOPE-1"]}))
        assert error["msg"]["code"] == 16 and error["msg"]["market_ticker"] == "KXNOPE-1"
        error = error_of(command(ws, "subscribe", {"channels": ["ticker"], "market_id": "00000000-0000-4000-8000-000000000000"}))
        assert error["msg"]["code"] == 16 and error["msg"]["market_id"] == "00000000-0000-4000-8000-000000000000"
        assert subscriptions(ws) == []


def test_subscribe_is_idempotent_and_list_unsubscribe_reply_as_documented(server: RunningServer, alice: Member) -> None:
    first, second = make_markets(server, 2)
    with kalshi_ws(server, alice) as ws:
        sids, extra = subscribe(ws, ["orderbook_delta", "trade"], market_ticker=first)
        assert sids == {"orderbook_delta": 1, "trade": 2}
        assert [(m["type"], m["sid"], m["seq"], m["msg"]["market_ticker"]) for m in extra] == [("orderbook_snapshot", 1, 1, first)]
        again, extra = subscribe(ws, ["orderbook_delta"], market_tickers=[first, second])
        assert again == {"orderbook_delta": 1}  # same subscription, one more market: only its snapshot comes
        assert [(m["type"], m["sid"], m["seq"], m["msg"]["market_ticker"]) for m in extra] == [("orderbook_snapshot", 1, 2, second)]
        listed = ws.send_json({"id": 5, "cmd": "list_subscriptions"}) or ws.recv_json()
        assert listed == {"id": 5, "type": "ok", "msg": [{"channel": "orderbook_delta", "sid": 1}, {"channel": "trade", "sid": 2}]}
        ws.send_json({"id": 6, "cmd": "unsubscribe", "params": {"sids": [1, 77]}})
        replies = [ws.recv_json(), ws.recv_json()]
        assert {"id": 6, "sid": 1, "seq": 3, "type": "unsubscribed"} in replies
        assert any(r["type"] == "error" and r["msg"]["code"] == 7 for r in replies)
        place(server, alice, first, "yes", "buy", 40, 1)
        assert barrier(ws) == []  # nothing for the ended subscription (and no trade happened)
        assert subscriptions(ws) == [{"channel": "trade", "sid": 2}]


def test_too_many_commands_get_code_27_and_the_connection_recovers(server: RunningServer, alice: Member) -> None:
    limits = WsLimits()
    with kalshi_ws(server, alice) as ws:
        ws.send_raw(b"".join(encode_frame(0x1, b'{"id": %d, "cmd": "list_subscriptions"}' % i) for i in range(1, limits.commands_burst + 21)))
        replies = [ws.recv_json() for _ in range(limits.commands_burst + 20)]
        limited = [r for r in replies if r["type"] == "error"]
        assert limited and all(r["msg"]["code"] == 27 for r in limited)
        time.sleep(2 / limits.commands_per_second)
        assert subscriptions(ws) == []


# --- the order book ------------------------------------------------------------------------------------------


def test_snapshot_then_deltas_rebuild_the_rest_book_with_own_client_order_ids(server: RunningServer, alice: Member,
                                                                                bob: Member) -> None:
    ticker = make_markets(server)[0]
    place(server, alice, ticker, "yes", "buy", 40, 5, "a-bid-40")
    with kalshi_ws(server, alice) as mine, kalshi_ws(server, bob) as theirs, kalshi_ws(server, bob) as yes_priced:
        books = {}
        for ws, options in ((mine, {}), (theirs, {}), (yes_priced, {"use_yes_price": True})):
            _sids, extra = subscribe(ws, ["orderbook_delta"], market_ticker=ticker, **options)
            books[ws] = KalshiBook()
            books[ws].apply(extra[0])
        assert extra[0]["msg"]["yes_dollars_fp"] == [["0.4000", "5.00"]] and "no_dollars_fp" not in extra[0]["msg"]
        place(server, alice, ticker, "no", "buy", 30, 3, "a-no-30")  # an ask at YES 0.70
        place(server, bob, ticker, "yes", "sell", 40, 1, "b-sell-40")  # trades with alice's bid
        bid = place(server, bob, ticker, "yes", "buy", 41, 2, "b-bid-41")
        cancel(server, bob, bid["order_id"])
        rest = rest_book(server, ticker)
        deltas = {ws: barrier(ws) for ws in books}
        for ws, book in books.items():
            check = SeqCheck()
            check.see(1, 1)
            for message in deltas[ws]:
                check.see(message["sid"], message["seq"])
                if ws is not yes_priced:
                    book.apply(message)
            if ws is not yes_priced:
                assert book.as_rest() == rest["book"]
        own = [(m["msg"]["price_dollars"], m["msg"]["delta_fp"], m["msg"].get("client_order_id")) for m in deltas[mine]]
        # a fill changes the maker's resting order: the maker's delta carries its client_order_id
        assert own == [("0.3000", "3.00", "a-no-30"), ("0.4000", "-1.00", "a-bid-40"), ("0.4100", "2.00", None), ("0.4100", "-2.00", None)]
        theirs_seen = [(m["msg"]["price_dollars"], m["msg"].get("client_order_id")) for m in deltas[theirs]]
        assert theirs_seen == [("0.3000", None), ("0.4000", None), ("0.4100", "b-bid-41"), ("0.4100", "b-bid-41")]
        assert next((m["msg"]["side"], m["msg"]["price_dollars"]) for m in deltas[yes_priced]) == ("no", "0.7000")
        first = deltas[theirs][0]
        assert set(first) == {"type", "sid", "seq", "msg"}
        assert {"market_ticker", "market_id", "price_dollars", "delta_fp", "side", "ts", "ts_ms"} <= set(first["msg"])
        assert isinstance(first["msg"]["ts_ms"], int) and first["msg"]["price"] == 30 and first["msg"]["delta"] == 3


def test_update_subscription_adds_deletes_and_snapshots(server: RunningServer, alice: Member) -> None:
    first, second = make_markets(server, 2)
    with kalshi_ws(server, alice) as ws:
        sids, _ = subscribe(ws, ["orderbook_delta"], market_ticker=first)
        sid = sids["orderbook_delta"]
        place(server, alice, second, "yes", "buy", 20, 4)
        replies = command(ws, "update_subscription", {"sids": [sid], "market_tickers": [second], "action": "add_markets"})
        assert replies[0]["type"] == "ok" and replies[0]["sid"] == sid and replies[0]["seq"] == 1
        assert replies[0]["msg"] == {"market_tickers": sorted([first, second])}
        assert (replies[1]["type"], replies[1]["seq"], replies[1]["msg"]["yes_dollars_fp"]) == ("orderbook_snapshot", 2, [["0.2000", "4.00"]])
        replies = command(ws, "update_subscription", {"sid": sid, "market_ticker": second, "action": "get_snapshot"})
        assert [(m["type"], m["seq"], m["msg"]["market_ticker"]) for m in replies] == [("orderbook_snapshot", 3, second)]
        replies = command(ws, "update_subscription", {"sid": sid, "market_ticker": first, "action": "delete_markets"})
        assert replies[0]["msg"] == {"market_tickers": [second]}
        place(server, alice, first, "yes", "buy", 30, 1)
        place(server, alice, second, "yes", "buy", 30, 1)
        assert [(m["msg"]["market_ticker"], m["seq"]) for m in barrier(ws)] == [(second, 4)]
        error = error_of(command(ws, "update_subscription", {"sid": sid, "market_ticker": first, "action": "get_snapshot"}))
        assert error["msg"]["code"] == 11  # not in the subscription
        error = error_of(command(ws, "update_subscription", {"sid": sid, "action": "add_markets"}))
        assert error["msg"]["code"] == 14


# --- ticker and trades ---------------------------------------------------------------------------------------


def test_ticker_and_trade_messages(server: RunningServer, alice: Member, bob: Member) -> None:
    ticker = make_markets(server)[0]
    place(server, alice, ticker, "yes", "buy", 45, 10)
    with kalshi_ws(server) as ws:
        sids, extra = subscribe(ws, ["ticker", "trade"], market_tickers=[ticker], send_initial_snapshot=True)
        assert [m["type"] for m in extra] == ["ticker"]
        initial = extra[0]["msg"]
        assert (initial["yes_bid_dollars"], initial["yes_bid_size_fp"], initial["volume_fp"]) == ("0.4500", "10.00", "0.00")
        place(server, bob, ticker, "yes", "sell", 45, 4)
        got = barrier(ws)
        trade = next(m for m in got if m["type"] == "trade")
        assert trade["sid"] == sids["trade"] and trade["seq"] == 1
        rest_trade = server.get_ok(f"{V2}/markets/trades?ticker={ticker}")["trades"][0]
        for field in ("trade_id", "yes_price_dollars", "no_price_dollars", "count_fp", "taker_outcome_side", "taker_book_side", "is_block_trade"):
            assert trade["msg"][field] == rest_trade[field], field
        assert trade["msg"]["market_ticker"] == ticker and trade["msg"]["taker_side"] == "no" and isinstance(trade["msg"]["ts_ms"], int)
        tick = next(m for m in got if m["type"] == "ticker")
        assert "seq" not in tick and tick["sid"] == sids["ticker"]
        market = server.get_ok(f"{V2}/markets/{ticker}")["market"]
        assert tick["msg"]["price_dollars"] == market["last_price_dollars"] == "0.4500"
        assert tick["msg"]["yes_bid_size_fp"] == "6.00" and tick["msg"]["last_trade_size_fp"] == "4.00"
        assert tick["msg"]["volume_fp"] == market["volume_fp"] and tick["msg"]["open_interest_fp"] == market["open_interest_fp"]
        with kalshi_ws(server) as by_id:
            subscribe(by_id, ["ticker"], market_id=tick["msg"]["market_id"])
            place(server, alice, ticker, "yes", "buy", 46, 1)
            assert [m["msg"]["yes_bid_dollars"] for m in barrier(by_id)] == ["0.4600"]


# --- private channels ---------------------------------------------------------------------------------------------


def test_fills_orders_and_positions_match_rest(server: RunningServer, alice: Member, bob: Member) -> None:
    ticker = make_markets(server)[0]
    with kalshi_ws(server, alice) as ws:
        _sids, _ = subscribe(ws, ["fill", "user_orders", "market_positions"], market_ticker=ticker)
        resting = place(server, alice, ticker, "yes", "buy", 55, 10, "maker-1")
        place(server, bob, ticker, "no", "buy", 45, 4)
        got = barrier(ws)
        assert all("seq" not in m for m in got)
        fills = [m for m in got if m["type"] == "fill"]
        rest_fills = server.get_ok(f"{V2}/portfolio/fills?ticker={ticker}", auth=kalshi_v2(alice.credentials))["fills"]
        assert len(fills) == len(rest_fills) == 1
        for field, value in rest_fills[0].items():
            assert fills[0]["msg"][field] == value, field
        assert fills[0]["msg"]["client_order_id"] == "maker-1" and fills[0]["msg"]["post_position_fp"] == "4.00"
        orders = [m["msg"] for m in got if m["type"] == "user_order"]
        assert [(o["status"], o["fill_count_fp"]) for o in orders] == [("resting", "0.00"), ("resting", "4.00")]
        rest_order = server.get_ok(f"{V2}/portfolio/orders/{resting['order_id']}", auth=kalshi_v2(alice.credentials))["order"]
        for field in ("order_id", "user_id", "client_order_id", "status", "fill_count_fp", "remaining_count_fp", "maker_fill_cost_dollars",
                      "yes_price_dollars", "outcome_side", "book_side"):
            assert orders[-1][field] == rest_order[field], field
        assert orders[-1]["is_yes"] is True and isinstance(orders[-1]["created_ts_ms"], int)
        position = [m["msg"] for m in got if m["type"] == "market_position"][-1]
        rest_position = next(p for p in server.get_ok(f"{V2}/portfolio/positions", auth=kalshi_v2(alice.credentials))["market_positions"]
                             if p["ticker"] == ticker)
        assert position["user_id"] == alice.member_id and position["market_ticker"] == ticker
        assert position["position_fp"] == rest_position["position_fp"] == "4.00"
        assert position["position_cost_dollars"] == rest_position["market_exposure_dollars"]
        assert position["fees_paid_dollars"] == rest_position["fees_paid_dollars"]
        assert position["realized_pnl_dollars"] == rest_position["realized_pnl_dollars"]
        cancel(server, alice, resting["order_id"])
        closed = [m["msg"] for m in barrier(ws) if m["type"] == "user_order"]
        assert [(o["status"], o["remaining_count_fp"]) for o in closed] == [("canceled", "0.00")]
        other = make_markets(server)[0]
        place(server, alice, other, "yes", "buy", 10, 1)
        assert barrier(ws) == []  # the market filter holds


def test_order_group_updates(server: RunningServer, alice: Member) -> None:
    auth = kalshi_v2(alice.credentials)
    with kalshi_ws(server, alice) as ws:
        subscribe(ws, ["order_group_updates"])
        reply = server.request("POST", f"{V2}/portfolio/order_groups/create", {"contracts_limit": 5}, auth=auth)
        assert reply.status == 201, reply
        group = reply.json()["order_group_id"]
        assert server.request("PUT", f"{V2}/portfolio/order_groups/{group}/limit", {"contracts_limit": 7}, auth=auth).status == 200
        assert server.request("PUT", f"{V2}/portfolio/order_groups/{group}/trigger", auth=auth).status == 200
        assert server.request("PUT", f"{V2}/portfolio/order_groups/{group}/reset", auth=auth).status == 200
        assert server.request("DELETE", f"{V2}/portfolio/order_groups/{group}", auth=auth).status == 200
        got = barrier(ws)
        assert [(m["type"], m["seq"], m["msg"]["event_type"], m["msg"]["order_group_id"], m["msg"].get("contracts_limit_fp"))
                for m in got] == [
            ("order_group_updates", 1, "created", group, "5.00"), ("order_group_updates", 2, "limit_updated", group, "7.00"),
            ("order_group_updates", 3, "triggered", group, None), ("order_group_updates", 4, "reset", group, None),
            ("order_group_updates", 5, "deleted", group, None),
        ]
        assert all(isinstance(m["msg"]["ts_ms"], int) for m in got)


def test_market_lifecycle(server: RunningServer) -> None:
    with kalshi_ws(server) as ws:
        subscribe(ws, ["market_lifecycle_v2"])
        ticker = make_markets(server)[0]
        series = ticker.split("-")[0]
        server.admin("POST", f"/markets/{ticker}/pause", {}, expect=200)
        server.admin("POST", f"/markets/{ticker}/resume", {}, expect=200)
        close = int(time.time()) + 3600
        server.admin("POST", f"/markets/{ticker}/times", {"close_time": close}, expect=200)
        got = barrier(ws)
        check = SeqCheck()
        for message in got:
            check.see(message["sid"], message["seq"])
        kinds = [(m["type"], m["msg"].get("event_type")) for m in got]
        assert kinds == [("event_lifecycle", None), ("market_lifecycle_v2", "created"), ("market_lifecycle_v2", "activated"),
                         ("market_lifecycle_v2", "deactivated"), ("market_lifecycle_v2", "activated"),
                         ("market_lifecycle_v2", "close_date_updated")], kinds
        event, created = got[0]["msg"], got[1]["msg"]
        assert event["series_ticker"] == series and event["collateral_return_type"] == ""
        assert created["market_ticker"] == ticker and created["price_level_structure"] == "linear_cent"
        assert created["price_ranges"] == server.get_ok(f"{V2}/markets/{ticker}")["market"]["price_ranges"]
        assert created["additional_metadata"]["event_ticker"] == ticker.rsplit("-", 1)[0]
        assert got[3]["msg"]["is_deactivated"] is True and got[4]["msg"]["is_deactivated"] is False
        assert got[5]["msg"]["close_ts"] == close
        server.admin("POST", f"/markets/{ticker}/times", {"close_time": int(time.time()) + 2}, expect=200)
        closed, _ = ws.recv_until(lambda m: m["msg"].get("event_type") == "deactivated", timeout_s=10)  # the market closes on time
        assert closed["msg"] == {"event_type": "deactivated", "market_ticker": ticker}
        server.admin("POST", f"/markets/{ticker}/determine", {"result": "yes"}, expect=200)  # no settlement timer: settles at once
        later = [m["msg"] for m in barrier(ws) if m["msg"].get("market_ticker") == ticker]
        assert [m["event_type"] for m in later] == ["determined", "settled"], later
        determined = later[0]
        assert determined["result"] == "yes" and determined["settlement_value"] == "1.0000"
        assert isinstance(determined["determination_ts"], int) and isinstance(later[-1]["settled_ts"], int)


# --- keep-alive and bad frames ---------------------------------------------------------------------------------


def test_client_pings_are_answered_and_the_server_pings_and_drops_the_silent(server: RunningServer, alice: Member) -> None:
    gateway = server.app.ws
    assert gateway is not None
    assert (WsLimits().ping_interval_s, WsLimits().pong_timeout_s) == (10.0, 20.0)  # the shipped keep-alive
    server.on_loop(lambda: setattr(gateway, "limits", WsLimits(ping_interval_s=0.2, pong_timeout_s=0.6)))
    try:
        with kalshi_ws(server, alice) as lively, kalshi_ws(server, alice) as silent:
            silent.answer_pings = False
            lively.ping(b"are you there")
            deadline = time.monotonic() + 5
            while (len(lively.pings) < 3 or not lively.pongs) and time.monotonic() < deadline:
                with pytest.raises(TimeoutError):
                    lively.recv_message(0.1)
            assert lively.pongs == [b"are you there"]
            assert lively.pings[:3] == [b"heartbeat"] * 3
            with pytest.raises(Closed):
                while True:
                    silent.recv_message(5)
            assert silent.pings, "the silent client was pinged before it was dropped"
            assert subscriptions(lively) == []
    finally:
        server.on_loop(lambda: setattr(gateway, "limits", WsLimits()))


def test_the_server_echoes_a_client_ping(server: RunningServer) -> None:
    with kalshi_ws(server) as ws:
        ws.ping(b"echo me")
        assert ws.recv_frame() == (0xA, True, b"echo me")


def test_oversized_binary_and_malformed_frames_get_errors_and_others_are_unaffected(server: RunningServer, alice: Member) -> None:
    ticker = make_markets(server)[0]
    limits = WsLimits()
    with kalshi_ws(server, alice) as bystander, kalshi_ws(server, alice) as ws:
        subscribe(bystander, ["orderbook_delta"], market_ticker=ticker)
        ws.send_text(b'{"id": 1, "cmd": "list_subscriptions", "pad": "' + b"x" * limits.message_bytes_max + b'"}')
        assert error_of([ws.recv_json()])["msg"]["code"] == 1
        ws.send_raw(encode_frame(0x2, b"\x00\x01"))
        assert "binary" in ws.recv_json()["msg"]["details"]
        ws.send_raw(encode_frame(0x1, b'{"id": 9, "cmd": "list_subsc', fin=False) + encode_frame(0x0, b'riptions"}'))
        assert ws.recv_json() == {"id": 9, "type": "ok", "msg": []}  # fragments join
        ws.send_raw(encode_frame(0x1, b'{"id": 3}', masked=False))
        assert "protocol error" in ws.recv_json()["msg"]["details"]
        with pytest.raises(Closed) as closed:
            ws.recv_message()
        assert closed.value.code == 1002
        place(server, alice, ticker, "yes", "buy", 33, 2)
        assert [(m["type"], m["msg"]["delta_fp"]) for m in barrier(bystander)] == [("orderbook_delta", "2.00")]


def test_a_client_close_is_answered_with_the_same_code(server: RunningServer) -> None:
    with kalshi_ws(server) as ws:
        ws.send_close(4000, "bye")
        with pytest.raises(Closed) as closed:
            ws.recv_message()
        assert closed.value.code == 4000


def test_book_sizes_parse_exactly() -> None:
    assert [centi(t) for t in ("0.01", "-54.00", "12.50")] == [1, -5400, 1250]


def test_a_fan_out_bug_closes_every_stream_rather_than_leave_a_silent_gap(server: RunningServer, alice: Member,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from predictex.gateways.shapes import kalshi

    ticker = make_markets(server)[0]

    def broken(*args: Any) -> Any:
        raise RuntimeError("a bug, on purpose")

    with kalshi_ws(server, alice) as book, kalshi_ws(server) as bystander:
        subscribe(book, ["orderbook_delta"], market_ticker=ticker)
        subscribe(bystander, ["market_lifecycle_v2"])
        monkeypatch.setattr(kalshi, "book_delta", broken)
        place(server, alice, ticker, "yes", "buy", 20, 1)
        for ws in (book, bystander):
            with pytest.raises(Closed) as closed:
                ws.recv_message()
            assert closed.value.code == 1011
    monkeypatch.undo()
    with kalshi_ws(server, alice) as again:
        _, extra = subscribe(again, ["orderbook_delta"], market_ticker=ticker)
        assert extra[0]["msg"]["yes_dollars_fp"] == [["0.2000", "1.00"]]  # a fresh snapshot has what the broken stream missed
