"""Every refusal the issue names, over real HTTP on both order paths, with its status and error body
(reference §8), and proof that a refusal changes nothing: the caller's balance, orders, positions,
fills and order groups and the market's book are read before and after and must be equal.

Self-trade prevention is not a refusal (the order is accepted and then cancelled by the rule), so its
two modes are checked by what they leave behind."""

from __future__ import annotations

import time
from typing import Any

from integration.server_fixture import RunningServer
from integration.trading_helpers import Trader, book, conforms, make_markets, prod_server, seen_by, trader_fixture

server = prod_server("refusals")


alice = trader_fixture("alice", 2_000)  # $20


bob = trader_fixture("bob", 1_000_000)


def refused(trader: Trader, ticker: str, attempt: Any, status: int, code: str, *others: Trader) -> dict[str, Any]:
    """Run `attempt()`; it must be refused with (status, code) and leave every view unchanged."""
    before = [seen_by(t, ticker) for t in (trader, *others)]
    reply = attempt()
    assert reply.status == status and reply.error["code"] == code, reply
    assert reply.error["message"]
    assert [seen_by(t, ticker) for t in (trader, *others)] == before
    error: dict[str, Any] = reply.error
    return error


def test_insufficient_balance(server: RunningServer, alice: Trader) -> None:
    [ticker] = make_markets(server)
    alice.rest(ticker, "bid", "20.00", "0.50")  # $10 of the $20 locked
    error = refused(alice, ticker, lambda: alice.legacy(ticker, "yes", "buy", 21, 50), 400, "insufficient_balance")
    assert error["details"] == "need $10.5000, have $10.0000"
    refused(alice, ticker, lambda: alice.v2(ticker, "ask", "17.00", "0.40"), 400, "insufficient_balance")  # NO at 0.60 x 17 = $10.20
    conforms(alice.legacy(ticker, "yes", "buy", 21, 50), "POST", "/portfolio/orders")
    assert alice.v2(ticker, "bid", "20.00", "0.50").status == 201  # exactly the rest of it


def test_a_closed_market_refuses_every_order_operation(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    order = alice.rest(ticker, "bid", "2.00", "0.10")
    server.admin("POST", f"/markets/{ticker}/times", {"close_time": int(time.time()) - 1}, expect=200)
    assert alice.order(order)["status"] == "canceled"  # closing cancels what rested
    refused(alice, ticker, lambda: alice.legacy(ticker, "yes", "buy", 1, 10), 409, "market_closed")
    refused(alice, ticker, lambda: alice.v2(ticker, "bid", "1.00", "0.10"), 409, "market_closed")
    before = seen_by(alice, ticker)
    batch = alice.call("POST", "/portfolio/orders/batched", {"orders": [
        {"ticker": ticker, "side": "yes", "action": "buy", "count": 1, "yes_price": 10}]})
    assert batch.status == 201 and batch.json()["orders"][0]["error"]["code"] == "market_closed", batch
    assert seen_by(alice, ticker) == before


def test_a_paused_market_refuses_new_orders_and_allows_cancels(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    keep = alice.rest(ticker, "bid", "3.00", "0.10")
    on_pause = alice.rest(ticker, "bid", "1.00", "0.11", cancel_order_on_pause=True)
    server.admin("POST", f"/markets/{ticker}/pause", expect=200)
    assert server.get_ok(f"/trade-api/v2/markets/{ticker}")["market"]["status"] == "inactive"
    assert (alice.order(keep)["status"], alice.order(on_pause)["status"]) == ("resting", "canceled")
    refused(alice, ticker, lambda: alice.legacy(ticker, "yes", "buy", 1, 10), 409, "trading_is_paused")
    refused(alice, ticker, lambda: alice.v2(ticker, "ask", "1.00", "0.90"), 409, "trading_is_paused")
    refused(alice, ticker, lambda: alice.call("POST", f"/portfolio/events/orders/{keep}/amend",
                                              {"ticker": ticker, "side": "bid", "price": "0.12", "count": "3"}), 409, "trading_is_paused")
    assert alice.call("POST", f"/portfolio/orders/{keep}/decrease", {"reduce_by": 1}).status == 200  # reductions are allowed
    assert alice.call("DELETE", f"/portfolio/orders/{keep}").status == 200
    server.admin("POST", f"/markets/{ticker}/resume", expect=200)
    assert alice.v2(ticker, "bid", "1.00", "0.10").status == 201


def test_an_exchange_wide_trading_pause(server: RunningServer, alice: Trader) -> None:
    [ticker] = make_markets(server)
    try:
        server.admin("POST", "/exchange/status", {"exchange_active": True, "trading_active": False}, expect=200)
        refused(alice, ticker, lambda: alice.v2(ticker, "bid", "1.00", "0.10"), 409, "trading_is_paused")
        server.admin("POST", "/exchange/status", {"exchange_active": False, "trading_active": False}, expect=200)
        refused(alice, ticker, lambda: alice.legacy(ticker, "yes", "buy", 1, 10), 503, "service_unavailable")
    finally:
        server.admin("POST", "/exchange/status", {"exchange_active": True, "trading_active": True}, expect=200)
    assert alice.v2(ticker, "bid", "1.00", "0.10").status == 201


def test_post_only_that_would_cross(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    bob.rest(ticker, "ask", "5.00", "0.40")
    error = refused(alice, ticker, lambda: alice.legacy(ticker, "yes", "buy", 1, 40, post_only=True), 400, "invalid_order", bob)
    assert error["details"] == "post only cross"
    refused(alice, ticker, lambda: alice.v2(ticker, "bid", "1.00", "0.45", post_only=True), 400, "invalid_order", bob)
    assert alice.v2(ticker, "bid", "1.00", "0.39", post_only=True).status == 201


def test_reduce_only_without_a_position(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    bob.rest(ticker, "bid", "5.00", "0.40")
    refused(alice, ticker, lambda: alice.legacy(ticker, "yes", "sell", 1, 40, reduce_only=True), 400, "invalid_order", bob)
    refused(alice, ticker, lambda: alice.v2(ticker, "ask", "1.00", "0.40", reduce_only=True,
                                            time_in_force="immediate_or_cancel"), 400, "invalid_order", bob)
    # with a position it reduces, capped at the position
    bob.rest(ticker, "ask", "2.00", "0.45")
    assert alice.v2(ticker, "bid", "2.00", "0.45").status == 201
    reduced = alice.legacy(ticker, "yes", "sell", 5, 40, reduce_only=True)
    assert reduced.status == 201, reduced
    assert (reduced.json()["order"]["fill_count"], reduced.json()["order"]["initial_count"]) == (2, 2)  # capped, then filled
    assert alice.position(ticker)["position"] == 0  # type: ignore[index]


def test_fill_or_kill_that_cannot_fill_and_a_max_cost_too_low(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    bob.rest(ticker, "ask", "3.00", "0.30")
    bob.rest(ticker, "ask", "3.00", "0.35")
    error = refused(alice, ticker, lambda: alice.v2(ticker, "bid", "7.00", "0.35", time_in_force="fill_or_kill"), 400, "invalid_order", bob)
    assert error["message"] == "fill or kill could not fill"
    refused(alice, ticker, lambda: alice.legacy(ticker, "yes", "buy", 4, 31, time_in_force="fill_or_kill"), 400, "invalid_order", bob)
    refused(alice, ticker, lambda: alice.legacy(ticker, "yes", "buy", 4, 40, buy_max_cost=124), 400, "invalid_order", bob)  # costs 125
    assert alice.legacy(ticker, "yes", "buy", 4, 40, buy_max_cost=125).json()["order"]["status"] == "executed"


def test_self_trade_prevention_taker_at_cross_cancels_the_incoming_order(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    bob.rest(ticker, "ask", "1.00", "0.30")
    own = alice.rest(ticker, "ask", "2.00", "0.31")
    bob.rest(ticker, "ask", "1.00", "0.32")
    taker = alice.v2(ticker, "bid", "5.00", "0.32")  # taker_at_cross is the default of alice.v2
    assert taker.status == 201, taker
    # fills bob's 0.30, then meets its own 0.31: the incoming order stops there, keeping that fill
    assert (taker.json()["fill_count"], taker.json()["remaining_count"]) == ("1.00", "0.00")
    order = alice.order(taker.json()["order_id"])
    assert (order["status"], order["last_update_reason"]) == ("canceled", "self_trade_taker")
    assert alice.order(own)["status"] == "resting"
    assert book(server, ticker)["no_dollars"] == [["0.6800", "1.00"], ["0.6900", "2.00"]]


def test_self_trade_prevention_maker_cancels_the_resting_order(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    own = alice.rest(ticker, "ask", "2.00", "0.31")
    bob.rest(ticker, "ask", "1.00", "0.32")
    taker = alice.legacy(ticker, "yes", "buy", 3, 32, self_trade_prevention_type="maker")
    assert taker.status == 201, taker
    order = taker.json()["order"]
    assert (order["fill_count"], order["remaining_count"], order["status"]) == (1, 2, "resting")  # bob's 0.32, then rests
    assert (alice.order(own)["status"], alice.order(own)["last_update_reason"]) == ("canceled", "self_trade_maker")
    assert book(server, ticker) == {"yes_dollars": [["0.3200", "2.00"]], "no_dollars": []}


def test_amending_a_filled_order(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    bob.rest(ticker, "ask", "2.00", "0.40")
    filled = alice.legacy(ticker, "yes", "buy", 2, 40).json()["order"]
    assert filled["status"] == "executed"
    legacy = refused(alice, ticker, lambda: alice.call("POST", f"/portfolio/orders/{filled['order_id']}/amend", {
        "ticker": ticker, "side": "yes", "action": "buy", "yes_price": 41, "count": 3}), 404, "not_found", bob)
    assert filled["order_id"] in legacy["details"]
    refused(alice, ticker, lambda: alice.call("POST", f"/portfolio/events/orders/{filled['order_id']}/amend", {
        "ticker": ticker, "side": "bid", "price": "0.41", "count": "3"}), 404, "not_found", bob)
    refused(alice, ticker, lambda: alice.call("POST", f"/portfolio/orders/{filled['order_id']}/decrease", {"reduce_by": 1}),
            404, "not_found", bob)
    refused(alice, ticker, lambda: alice.call("DELETE", f"/portfolio/orders/{filled['order_id']}"), 404, "not_found", bob)


def test_cancelling_another_accounts_order(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    theirs = bob.rest(ticker, "bid", "4.00", "0.25")
    legacy = refused(alice, ticker, lambda: alice.call("DELETE", f"/portfolio/orders/{theirs}"), 404, "not_found", bob)
    assert str(bob.member.member_id) not in str(legacy)
    conforms(alice.call("DELETE", f"/portfolio/orders/{theirs}"), "DELETE", "/portfolio/orders/{order_id}")
    refused(alice, ticker, lambda: alice.call("DELETE", f"/portfolio/events/orders/{theirs}"), 404, "not_found", bob)
    refused(alice, ticker, lambda: alice.call("POST", f"/portfolio/orders/{theirs}/decrease", {"reduce_to": 0}), 404, "not_found", bob)
    refused(alice, ticker, lambda: alice.call("POST", f"/portfolio/events/orders/{theirs}/amend", {
        "ticker": ticker, "side": "bid", "price": "0.99", "count": "4"}), 404, "not_found", bob)
    assert alice.call("DELETE", "/portfolio/events/orders").status == 204  # cancel-all is one's own only
    assert bob.order(theirs)["status"] == "resting"


def test_unknown_and_malformed_order_ids(server: RunningServer, alice: Trader) -> None:
    [ticker] = make_markets(server)
    for order_id in ("00000000-0000-4000-8000-000000000000", "not-a-uuid"):
        refused(alice, ticker, lambda order_id=order_id: alice.call("DELETE", f"/portfolio/orders/{order_id}"), 404, "not_found")
        assert alice.call("GET", f"/portfolio/orders/{order_id}").status == 404


def test_unauthenticated_and_read_only_callers(server: RunningServer, alice: Trader) -> None:
    [ticker] = make_markets(server)
    anonymous = server.request("POST", "/trade-api/v2/portfolio/events/orders", {"ticker": ticker})
    assert anonymous.status == 401 and anonymous.error["code"] == "authentication_error", anonymous
    assert server.get("/trade-api/v2/portfolio/balance").status == 401
