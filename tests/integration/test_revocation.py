"""Revocation takes effect at once, through real sockets: deleting an API key, logging out a session
token and suspending a member end every FIX session (Logout with the reason, then the connection
closes), every WebSocket (an error saying why, then Close 1008) and every stream opened with that
key, token or member; nothing the client sends after the revocation committed is executed, even when
the revocation comes from another thread while the event loop is busy; and everything else goes on.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from integration.fix_client import FixClient, new_order
from integration.server_fixture import DEMO_TICKER, V2, Credentials, Member, RunningServer, bearer, kalshi_v2, running_server
from integration.ws_client import Closed, HandshakeRefused, WsClient
from integration.ws_support import barrier, kalshi_ws, seed_barrier, seed_token, seed_ws, subscribe
from predictex.gateways.fix import Kind
from predictex.server import ids

KEYS = V2 + "/api_keys"
CLOSE_POLICY = 1008


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("revocation"), fix_ports="nr=0,rt=0,dc=0,md=0", rate_limits=False) as running:
        yield running


_count = iter(range(1_000_000))


def member(server: RunningServer) -> Member:
    return server.new_member(f"revoked{next(_count)}-{time.time_ns()}@example.com")


def second_key(server: RunningServer, who: Member) -> Credentials:
    reply = server.request("POST", KEYS + "/generate", {"name": "second"}, auth=kalshi_v2(who.credentials))
    assert reply.status == 201, reply
    return Credentials.from_pem(reply.json()["api_key_id"], reply.json()["private_key"])


def fix_session(server: RunningServer, credentials: Credentials, kind: Kind = Kind.ORDER_ENTRY) -> FixClient:
    target = {Kind.ORDER_ENTRY: "KalshiNR", Kind.ORDER_ENTRY_RT: "KalshiRT", Kind.DROP_COPY: "KalshiDC",
              Kind.MARKET_DATA: "KalshiMD"}[kind]
    fix = FixClient(server.app.fix.port(kind), credentials, target).connect()
    fix.logon()
    return fix


def logged_out(fix: FixClient) -> str:
    """The Text of the server's Logout, once the server has also closed the connection."""
    logout = fix.wait_type("5")
    fix.wait_closed()
    return logout[58]


def ended_with_error(ws: WsClient) -> dict[str, Any]:
    """The error the server sent before its Close frame (1008); stream messages before it are skipped."""
    errors = []
    with pytest.raises(Closed) as closed:
        while True:
            message = ws.recv_json()
            if message.get("type") == "error":
                errors.append(message)
    assert closed.value.code == CLOSE_POLICY, closed.value
    assert len(errors) == 1, errors
    return errors[0]


def order_ids(server: RunningServer, credentials: Credentials) -> set[str]:
    orders = server.get_ok(V2 + "/portfolio/orders?limit=1000", auth=kalshi_v2(credentials))["orders"]
    return {o["client_order_id"] for o in orders}


def send_quietly(fix: FixClient, msg_type: str, fields: list[tuple[int, Any]]) -> None:
    """Send, whether or not the server has already closed the socket."""
    with contextlib.suppress(OSError):
        fix.send(msg_type, fields)


def test_deleting_a_key_ends_its_fix_session_websockets_and_sessions_at_once(server: RunningServer) -> None:
    who = member(server)
    doomed = second_key(server, who)
    fix = fix_session(server, doomed)
    fix.send("D", new_order("before", DEMO_TICKER, "1", 30, 1))
    assert fix.wait(lambda m: m.msg_type == "8" and m.get(11) == "before")[150] == "0"
    kalshi = kalshi_ws(server, Member(who.email, who.password, who.member_id, doomed))
    subscribe(kalshi, ["user_orders"])
    token = seed_token(server, Member(who.email, who.password, who.member_id, doomed))  # a session made with the key
    seed = seed_ws(server, token)
    seed.send_json({"type": "subscribe", "channels": ["user_orders"]})
    seed_barrier(seed)
    bystander = kalshi_ws(server, who)  # the member's other key: untouched
    subscribe(bystander, ["user_orders"])

    deleted = server.request("DELETE", f"{KEYS}/{doomed.key_id}", auth=kalshi_v2(who.credentials))
    assert deleted.status == 204, deleted
    send_quietly(fix, "D", new_order("after", DEMO_TICKER, "1", 31, 1))  # sent after the deletion committed

    assert f"API key {doomed.key_id} was deleted" in logged_out(fix)
    error = ended_with_error(kalshi)
    assert error["msg"]["code"] == 9 and f"API key {doomed.key_id} was deleted" in error["msg"]["details"], error
    error = ended_with_error(seed)
    assert error["code"] == "credentials_revoked" and "was deleted" in error["message"], error
    assert "after" not in order_ids(server, who.credentials) and "before" in order_ids(server, who.credentials)
    assert server.get(V2 + "/portfolio/balance", auth=bearer(token)).status == 401
    barrier(bystander)  # still served
    bystander.close()


def test_logging_out_a_token_ends_what_it_opened_and_nothing_else(server: RunningServer) -> None:
    who = member(server)
    token, other_token = seed_token(server, who), seed_token(server, who)
    seed = seed_ws(server, token)
    seed.send_json({"type": "subscribe", "channels": ["user_orders", "user_fills"]})
    seed_barrier(seed)
    kalshi = WsClient.connect(server.port, "/trade-api/ws/v2", {"Authorization": f"Bearer {token}"})
    subscribe(kalshi, ["user_orders"])
    other = seed_ws(server, other_token)
    other.send_json({"type": "subscribe", "channels": ["user_orders"]})
    seed_barrier(other)

    reply = server.request("POST", V2 + "/logout", headers={"Authorization": f"Bearer {token}"})
    assert reply.status == 204, reply

    assert ended_with_error(seed)["message"].startswith("the session token was logged out")
    assert "logged out" in ended_with_error(kalshi)["msg"]["details"]
    seed_barrier(other)  # a different token of the same member goes on
    assert server.get(V2 + "/portfolio/balance", auth=bearer(other_token)).status == 200
    other.close()


def test_suspending_a_member_ends_everything_refuses_everything_and_reinstating_restores_it(server: RunningServer) -> None:
    who, bystander = member(server), member(server)
    fix = fix_session(server, who.credentials)
    fix.send("D", new_order("resting", DEMO_TICKER, "1", 30, 1))
    fix.wait(lambda m: m.msg_type == "8" and m.get(11) == "resting")
    drop_copy = fix_session(server, second_key(server, who), Kind.DROP_COPY)
    token = server.request("POST", V2 + "/login", {"email": who.email, "password": who.password}).json()["token"]
    kalshi = kalshi_ws(server, who)
    subscribe(kalshi, ["fill"])
    seed = seed_ws(server, token)
    seed.send_json({"type": "subscribe", "channels": ["user_fills"]})
    seed_barrier(seed)
    untouched = fix_session(server, bystander.credentials)

    suspended = server.admin("POST", f"/members/{who.member_id}/suspend", {"reason": "testing"}, expect=200).json()
    assert suspended["suspended"] is True
    send_quietly(fix, "D", new_order("after", DEMO_TICKER, "1", 31, 1))

    reason = f"member {server.app.exchange.ids.from_uuid(ids.MEMBER, who.member_id)} was suspended by the operator: testing"
    assert reason in logged_out(fix) and reason in logged_out(drop_copy)
    assert reason in ended_with_error(kalshi)["msg"]["details"]
    assert reason in ended_with_error(seed)["message"]
    for auth in (kalshi_v2(who.credentials), bearer(token)):
        refused = server.get(V2 + "/portfolio/balance", auth=auth)
        assert refused.status == 403 and refused.error["message"] == "member_suspended", refused
    password = server.request("POST", V2 + "/login", {"email": who.email, "password": who.password})
    assert password.status == 403 and password.error["message"] == "member_suspended", password
    with FixClient(server.app.fix.port(Kind.ORDER_ENTRY), who.credentials, "KalshiNR").connect() as again:
        assert "member_suspended" in again.logon(expect="5")[58]
    with pytest.raises(HandshakeRefused) as refused_upgrade:
        kalshi_ws(server, who)
    assert refused_upgrade.value.status == 403

    untouched.send("1", [(112, "still-here")])
    assert untouched.wait_type("0")[112] == "still-here"
    server.admin("POST", f"/members/{who.member_id}/reinstate", expect=200)
    orders = server.get_ok(V2 + "/portfolio/orders?limit=1000", auth=kalshi_v2(who.credentials))["orders"]
    by_id = {o["client_order_id"]: o["status"] for o in orders}
    assert by_id == {"resting": "canceled"}, by_id  # suspension canceled the resting order; "after" never ran
    untouched.close()


def test_an_order_sent_after_a_revocation_from_another_thread_is_refused(server: RunningServer) -> None:
    """The race: a FIX session authenticated long ago, its key deleted by another thread while the event
    loop is busy, and an order that reaches the server right after. Whatever the loop handles first
    (the order's bytes or the revocation notice), the order must not be executed."""
    who = member(server)
    doomed = second_key(server, who)
    fix = fix_session(server, doomed)
    exchange = server.app.exchange
    busy, release = threading.Event(), threading.Event()

    def hold_the_loop() -> None:
        busy.set()
        release.wait(10)

    server.loop.call_soon_threadsafe(hold_the_loop)
    assert busy.wait(10)
    try:
        exchange.accounts.keys.delete(doomed.key_id)  # committed and published here, on this thread
        fix.send("D", new_order("raced", DEMO_TICKER, "1", 32, 1))  # on loopback, in the server's socket on return
    finally:
        release.set()
    assert f"API key {doomed.key_id} was deleted" in logged_out(fix)
    assert "raced" not in order_ids(server, who.credentials)


def test_a_socket_opened_with_a_session_ends_when_the_session_expires_unless_it_was_refreshed(server: RunningServer) -> None:
    sessions = server.app.exchange.accounts.sessions
    who = member(server)
    lifetime_ms = sessions.lifetime_ms
    sessions.lifetime_ms = 1_500  # tokens made now live a second and a half
    try:
        expiring, refreshed = seed_token(server, who), seed_token(server, who)
    finally:
        sessions.lifetime_ms = lifetime_ms
    kalshi = WsClient.connect(server.port, "/trade-api/ws/v2", {"Authorization": f"Bearer {expiring}"})
    subscribe(kalshi, ["user_orders"])
    kept = seed_ws(server, refreshed)
    kept.send_json({"type": "subscribe", "channels": ["user_orders"]})
    seed_barrier(kept)
    reply = server.request("POST", "/v1/log_in", headers={"Authorization": f"Bearer {refreshed}"})
    assert reply.status == 200, reply  # the refresh moves the second token's expiry 30 minutes on

    error = ended_with_error(kalshi)
    assert "session expired" in error["msg"]["details"], error
    assert server.get(V2 + "/portfolio/balance", auth=bearer(expiring)).status == 401
    time.sleep(1.5)  # past the first expiry: the refreshed token's socket is looked at again, and kept
    seed_barrier(kept)
    assert server.get(V2 + "/portfolio/balance", auth=bearer(refreshed)).status == 200
    kept.close()


def test_closing_a_member_is_refused_while_it_holds_anything_then_ends_everything_for_good(server: RunningServer) -> None:
    who, operator_id = member(server), server.get_ok("/predictex/v1/members/me", auth=kalshi_v2(server.operator))["member_id"]
    auth = kalshi_v2(who.credentials)
    server.admin("POST", f"/members/{who.member_id}/deposits", {"amount_dollars": "50.00"}, expect=201)
    bid = server.request("POST", V2 + "/portfolio/events/orders", {"ticker": DEMO_TICKER, "side": "bid", "count": "2.00", "price": "0.0200",
                                                         "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross"}, auth=auth)
    assert bid.status == 201, bid

    def refused_because() -> str:
        refused = server.admin("POST", f"/members/{who.member_id}/close", {"reason": "asked to"}, expect=409).json()["error"]
        assert refused["code"] == "member_not_empty", refused
        return str(refused["details"])

    because = refused_because()
    assert "1 resting order(s)" in because and "in cash or pending withdrawal: withdraw it first" in because, because
    assert server.get(V2 + "/portfolio/balance", auth=auth).status == 200  # nothing changed: still open, still trading
    assert server.request("DELETE", f"{V2}/portfolio/orders/{bid.json()['order_id']}", auth=auth).status == 200
    book = server.get_ok(f"{V2}/markets/{DEMO_TICKER}/orderbook")["orderbook_fp"]
    best_ask = f"{1 - float(book['no_dollars'][-1][0]):.4f}"
    bought = server.request("POST", V2 + "/portfolio/events/orders", {"ticker": DEMO_TICKER, "side": "bid", "count": "1.00", "price": best_ask,
                                                            "time_in_force": "immediate_or_cancel", "self_trade_prevention_type": "taker_at_cross"}, auth=auth)
    assert bought.status == 201 and bought.json()["fill_count"] == "1.00", bought
    because = refused_because()
    assert f"positions in {DEMO_TICKER}" in because and "resting" not in because, because
    sold = server.request("POST", V2 + "/portfolio/events/orders", {"ticker": DEMO_TICKER, "side": "ask", "count": "1.00", "price": "0.0100",
                                                          "time_in_force": "immediate_or_cancel", "reduce_only": True,
                                                          "self_trade_prevention_type": "taker_at_cross"}, auth=auth)
    assert sold.status == 201 and sold.json()["fill_count"] == "1.00", sold
    cash = server.get_ok(V2 + "/portfolio/balance", auth=auth)["balance_dollars"]
    because = refused_because()
    assert because.endswith(" in cash or pending withdrawal: withdraw it first") and Decimal(because[1:].split(" ")[0]) == Decimal(cash)
    withdrawal = server.admin("POST", f"/members/{who.member_id}/withdrawals", {"amount_dollars": cash}, expect=201).json()
    assert refused_because() == because  # a withdrawal still pending holds the account open
    server.admin("POST", f"/withdrawals/{withdrawal['withdrawal_id']}/complete", expect=200)
    kalshi = kalshi_ws(server, who)
    subscribe(kalshi, ["fill"])
    assert server.admin("POST", f"/members/{operator_id}/close", expect=400).json()["error"]["message"].endswith("own account")

    closed = server.admin("POST", f"/members/{who.member_id}/close", {"reason": "asked to"}, expect=200).json()
    assert (closed["closed"], closed["suspended"]) == (True, True)
    number = server.app.exchange.ids.from_uuid(ids.MEMBER, who.member_id)
    assert f"member {number} was closed by the operator: asked to" in ended_with_error(kalshi)["msg"]["details"]
    refused = server.get(V2 + "/portfolio/balance", auth=auth)
    assert refused.status == 403 and refused.error["message"] == "member_suspended", refused
    password = server.request("POST", V2 + "/login", {"email": who.email, "password": who.password})
    assert password.status == 403, password
    for action in ("reinstate", "suspend", "close"):
        again = server.admin("POST", f"/members/{who.member_id}/{action}", expect=409).json()["error"]
        assert again["code"] == "member_closed", (action, again)
    listed = {m["member_id"]: m for m in server.admin("GET", "/members", expect=200).json()["members"]}
    assert listed[who.member_id]["closed"] is True and listed[operator_id]["closed"] is False
    signed_up = server.request("POST", "/predictex/v1/members", {"email": who.email, "password": "another password"})
    assert signed_up.status != 201  # the email stays taken: the history is the closed member's
