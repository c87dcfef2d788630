"""Amend, decrease and cancel over real HTTP on both paths (reference §6.4): legacy answers carry
whole Order objects (amend: old_order and order), current ones the light shape with `ts_ms`; amend
takes the new *total* count, keeps queue priority only when the price stays and the size does not
grow, and may cross and fill; decrease keeps priority and to zero cancels; cancel answers the amount
taken off; cancel-all answers 204. Money locked behind the orders follows every change."""

from __future__ import annotations

import time
from typing import Any

from integration.server_fixture import RunningServer
from integration.trading_helpers import (
    V2_CANCEL,
    V2_DECREASE,
    Trader,
    book,
    conforms,
    has_fields,
    make_markets,
    prod_server,
    trader_fixture,
)

server = prod_server("amend")


alice = trader_fixture("alice", 1_000_000)


bob = trader_fixture("bob", 1_000_000)


def _legacy_order(trader: Trader, ticker: str, **body: Any) -> dict[str, Any]:
    reply = trader.call("POST", "/portfolio/orders", {"ticker": ticker, **body})
    assert reply.status == 201, reply
    order: dict[str, Any] = reply.json()["order"]
    return order


def _queue(trader: Trader, order_id: str) -> str:
    return str(trader.ok(f"/portfolio/orders/{order_id}/queue_position")["queue_position_fp"])


# --- legacy amend ---------------------------------------------------------------------------------------------

def test_legacy_amend_of_the_price_answers_old_and_new_order(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    order = _legacy_order(alice, ticker, side="yes", action="buy", count=10, yes_price=40, client_order_id="amend-me")
    locked = alice.balance()["locked_dollars"]
    assert locked == "4.0000"
    reply = alice.call("POST", f"/portfolio/orders/{order['order_id']}/amend", {
        "ticker": ticker, "side": "yes", "action": "buy", "client_order_id": "amend-me", "updated_client_order_id": "amended",
        "yes_price": 45, "count": 10})
    body = conforms(reply, "POST", "/portfolio/orders/{order_id}/amend")
    assert reply.status == 200
    assert (body["old_order"]["yes_price"], body["old_order"]["client_order_id"]) == (40, "amend-me")
    assert (body["order"]["yes_price"], body["order"]["client_order_id"], body["order"]["remaining_count"]) == (45, "amended", 10)
    assert body["order"]["order_id"] == order["order_id"]
    assert alice.balance()["locked_dollars"] == "4.5000"
    assert book(server, ticker)["yes_dollars"] == [["0.4500", "10.00"]]
    # the old client id is free again (the order now answers to the new one)
    assert alice.legacy(ticker, "yes", "buy", 1, 10, client_order_id="amended").status == 409
    assert alice.legacy(ticker, "yes", "buy", 1, 10, client_order_id="amend-me").status == 409  # recently released ids stay taken


def test_legacy_amend_with_a_no_price_and_a_larger_total(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    order = _legacy_order(alice, ticker, side="no", action="buy", count=4, no_price=30)  # ask at YES 0.70
    bob.rest(ticker, "bid", "1.00", "0.70")  # fills one: 3 left of a total 4
    reply = alice.call("POST", f"/portfolio/orders/{order['order_id']}/amend", {
        "ticker": ticker, "side": "no", "action": "buy", "no_price_dollars": "0.3200", "count": 6})
    assert reply.status == 200, reply
    new = reply.json()["order"]
    assert (new["no_price"], new["yes_price"], new["fill_count"], new["remaining_count"], new["initial_count"]) == (32, 68, 1, 5, 6)
    assert book(server, ticker)["no_dollars"] == [["0.3200", "5.00"]]


def test_an_amend_that_crosses_trades_at_once(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    order = _legacy_order(alice, ticker, side="yes", action="buy", count=5, yes_price=30)
    bob.rest(ticker, "ask", "2.00", "0.35")
    reply = alice.call("POST", f"/portfolio/orders/{order['order_id']}/amend",
                       {"ticker": ticker, "side": "yes", "action": "buy", "yes_price": 36, "count": 5})
    assert reply.status == 200, reply
    new = reply.json()["order"]
    assert (new["fill_count"], new["remaining_count"], new["taker_fill_cost"], new["status"]) == (2, 3, 70, "resting")
    assert book(server, ticker) == {"yes_dollars": [["0.3600", "3.00"]], "no_dollars": []}


def test_amend_priority_rules(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    first = alice.rest(ticker, "bid", "5.00", "0.20")
    bob.rest(ticker, "bid", "5.00", "0.20")
    assert _queue(alice, first) == "0.00"
    # smaller, same price: keeps its place
    assert alice.call("POST", f"/portfolio/events/orders/{first}/amend", {"ticker": ticker, "side": "bid", "price": "0.20", "count": "4"}).status == 200
    assert _queue(alice, first) == "0.00"
    # larger: to the back
    assert alice.call("POST", f"/portfolio/events/orders/{first}/amend", {"ticker": ticker, "side": "bid", "price": "0.20", "count": "6"}).status == 200
    assert _queue(alice, first) == "5.00"


def test_amend_mismatches_and_no_ops(server: RunningServer, alice: Trader) -> None:
    [ticker, other] = make_markets(server, 2)
    order = _legacy_order(alice, ticker, side="yes", action="buy", count=5, yes_price=30, client_order_id="mismatch-me")
    path = f"/portfolio/orders/{order['order_id']}/amend"
    base = {"ticker": ticker, "side": "yes", "action": "buy", "yes_price": 31, "count": 5}
    cases = [
        ({**base, "ticker": other}, 400, "order_ticker_mismatch"),
        ({**base, "side": "no", "action": "buy"}, 400, "order_side_mismatch"),
        ({**base, "client_order_id": "someone-else"}, 400, "order_id_and_client_order_id_mismatch"),
        ({**base, "yes_price": 30}, 400, "invalid_order"),  # changes nothing
        ({**base, "yes_price": 0}, 400, "invalid_parameters"),
    ]
    for body, status, code in cases:
        reply = alice.call("POST", path, body)
        assert reply.status == status and reply.error["code"] == code, (body, reply)
    assert alice.order(order["order_id"]) == order
    v2 = alice.call("POST", f"/portfolio/events/orders/{order['order_id']}/amend",
                    {"ticker": ticker, "side": "ask", "price": "0.31", "count": "5"})
    assert (v2.status, v2.error["code"]) == (400, "order_side_mismatch"), v2


# --- decrease -----------------------------------------------------------------------------------------------------

def test_legacy_decrease_by_and_to_keeps_priority(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    bob.rest(ticker, "bid", "1.00", "0.25")
    order = _legacy_order(alice, ticker, side="yes", action="buy", count=10, yes_price=25)
    path = f"/portfolio/orders/{order['order_id']}/decrease"
    reply = alice.call("POST", path, {"reduce_by": 3})
    body = conforms(reply, "POST", "/portfolio/orders/{order_id}/decrease")
    assert (body["order"]["remaining_count"], body["order"]["initial_count"], body["order"]["status"]) == (7, 10, "resting")
    assert _queue(alice, order["order_id"]) == "1.00"
    assert alice.call("POST", path, {"reduce_to_fp": "5.00"}).json()["order"]["remaining_count_fp"] == "5.00"
    assert alice.call("POST", path, {"reduce_by": 2, "reduce_by_fp": "2.00"}).json()["order"]["remaining_count"] == 3  # both, agreeing
    assert alice.balance()["locked_dollars"] == "0.7500"
    for bad in ({}, {"reduce_by": 1, "reduce_to": 1}, {"reduce_by": 1, "reduce_by_fp": "2.00"}, {"reduce_to": 3}):
        refused = alice.call("POST", path, bad)
        assert refused.status == 400, (bad, refused)
    gone = alice.call("POST", path, {"reduce_to": 0}).json()["order"]
    assert (gone["status"], gone["remaining_count"], gone["fill_count"]) == ("canceled", 0, 0)
    assert alice.balance()["locked_dollars"] == "0.0000"
    assert book(server, ticker)["yes_dollars"] == [["0.2500", "1.00"]]


def test_v2_amend_and_decrease(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    order_id = alice.rest(ticker, "ask", "8.00", "0.60", client_order_id="v2-amend")
    bob.rest(ticker, "bid", "2.00", "0.55")
    amended = alice.call("POST", f"/portfolio/events/orders/{order_id}/amend?subaccount=0", {
        "ticker": ticker, "side": "ask", "price": "0.55", "count": "8.00", "updated_client_order_id": "v2-amended"})
    assert amended.status == 200, amended
    body = amended.json()
    assert (body["order_id"], body["client_order_id"], body["fill_count"], body["remaining_count"]) == (order_id, "v2-amended", "2.00", "6.00")
    assert (body["average_fill_price"], isinstance(body["ts_ms"], int)) == ("0.5500", True)
    decreased = alice.call("POST", f"/portfolio/events/orders/{order_id}/decrease", {"reduce_to": "1.50"})
    assert decreased.status == 400, decreased  # whole contracts only on this market
    decreased = alice.call("POST", f"/portfolio/events/orders/{order_id}/decrease?subaccount=0", {"reduce_by": "4"})
    assert decreased.status == 200, decreased
    has_fields(decreased.json(), V2_DECREASE)
    assert (decreased.json()["remaining_count"], decreased.json()["client_order_id"]) == ("2.00", "v2-amended")
    assert alice.call("POST", f"/portfolio/events/orders/{order_id}/decrease", {"reduce_by": 4}).status == 400  # strings on V2
    order = alice.order(order_id)
    assert (order["fill_count_fp"], order["remaining_count_fp"], order["yes_price_dollars"]) == ("2.00", "2.00", "0.5500")
    # an expiry set by amend, then removed with 0
    expires = int(time.time()) + 3600
    with_expiry = alice.call("POST", f"/portfolio/events/orders/{order_id}/amend", {
        "ticker": ticker, "side": "ask", "price": "0.55", "count": "4.00", "expiration_time": expires})
    assert with_expiry.status == 200, with_expiry
    assert alice.order(order_id)["expiration_time"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))
    assert alice.call("POST", f"/portfolio/events/orders/{order_id}/amend", {
        "ticker": ticker, "side": "ask", "price": "0.55", "count": "4.00", "expiration_time": 0}).status == 200
    assert alice.order(order_id)["expiration_time"] is None


# --- cancel ----------------------------------------------------------------------------------------------------------

def test_legacy_cancel_answers_the_zeroed_order_and_what_it_took_off(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    order = _legacy_order(alice, ticker, side="yes", action="sell", count=6, yes_price=70)
    bob.rest(ticker, "bid", "2.00", "0.70")
    reply = alice.call("DELETE", f"/portfolio/orders/{order['order_id']}")
    body = conforms(reply, "DELETE", "/portfolio/orders/{order_id}")
    assert (body["reduced_by"], body["reduced_by_fp"]) == (4, "4.00")
    assert (body["order"]["status"], body["order"]["remaining_count"], body["order"]["fill_count"]) == ("canceled", 0, 2)
    assert body["order"]["last_update_reason"]
    again = alice.call("DELETE", f"/portfolio/orders/{order['order_id']}")
    conforms(again, "DELETE", "/portfolio/orders/{order_id}")
    assert again.status == 404, again
    assert alice.order(order["order_id"])["status"] == "canceled"


def test_v2_cancel(server: RunningServer, alice: Trader) -> None:
    [ticker] = make_markets(server)
    locked = alice.balance()["locked_dollars"]
    order_id = alice.rest(ticker, "bid", "3.00", "0.10", client_order_id="v2-cancel")
    reply = alice.call("DELETE", f"/portfolio/events/orders/{order_id}?subaccount=0&market_ticker={ticker}")
    assert reply.status == 200, reply
    has_fields(reply.json(), V2_CANCEL)
    assert (reply.json()["reduced_by"], reply.json()["client_order_id"]) == ("3.00", "v2-cancel")
    assert alice.call("DELETE", f"/portfolio/events/orders/{order_id}").status == 404
    assert alice.balance()["locked_dollars"] == locked


def test_cancel_all_answers_204_and_can_keep_to_one_market(server: RunningServer, alice: Trader, bob: Trader) -> None:
    first, second = make_markets(server, 2)
    alice.rest(first, "bid", "1.00", "0.10")
    alice.rest(first, "ask", "1.00", "0.90")
    kept = alice.rest(second, "bid", "1.00", "0.10")
    bobs = bob.rest(first, "bid", "1.00", "0.11")
    only_first = alice.call("DELETE", f"/portfolio/events/orders?ticker={first}")
    assert (only_first.status, only_first.body) == (204, b""), only_first
    assert [o["order_id"] for o in alice.orders("status=resting") if o["ticker"] in (first, second)] == [kept]
    assert bob.order(bobs)["status"] == "resting"
    everything = alice.call("DELETE", "/portfolio/events/orders")
    assert everything.status == 204
    assert alice.orders("status=resting") == []
    assert alice.balance()["locked_dollars"] == "0.0000"
