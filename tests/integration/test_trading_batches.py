"""Batched create and cancel over real HTTP on both paths (reference §6.5): 1 to 20 items, each answered
on its own and in its place (a bad item carries a flat `{code, message, details}` error and the batch
still answers 201/200), the good items applied exactly as single requests would be and the bad ones
leaving no trace."""

from __future__ import annotations

from typing import Any

from integration.server_fixture import RunningServer
from integration.trading_helpers import Trader, book, conforms, conforms_to, make_markets, prod_server, trader_fixture

UNKNOWN_ORDER = "00000000-0000-4000-8000-000000000000"


server = prod_server("batches")


alice = trader_fixture("alice", 10_000)  # $100


bob = trader_fixture("bob", 1_000_000)


def test_legacy_batch_create_answers_every_item_in_place(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    bob.rest(ticker, "ask", "2.00", "0.60")
    items: list[Any] = [
        {"ticker": ticker, "side": "yes", "action": "buy", "count": 3, "yes_price": 30, "client_order_id": "b-rest"},
        "not an order",
        {"ticker": ticker, "side": "yes", "action": "buy", "count": 1, "yes_price_dollars": "0.305", "client_order_id": "b-grid"},
        {"ticker": ticker, "side": "yes", "action": "buy", "count": 1, "yes_price": 61, "post_only": True, "client_order_id": "b-post"},
        {"ticker": ticker, "side": "yes", "action": "buy", "count": 500, "yes_price": 50, "client_order_id": "b-poor"},
        {"ticker": ticker, "side": "yes", "action": "buy", "count": 1, "yes_price": 31, "client_order_id": "b-rest"},
        {"ticker": ticker, "side": "yes", "action": "buy", "count": 2, "yes_price": 60, "client_order_id": "b-take"},
        {"ticker": ticker, "side": "yes", "action": "buy", "count": 1, "yes_price": 20, "bogus": 1},
    ]
    reply = alice.call("POST", "/portfolio/orders/batched", {"orders": items})
    body = conforms(reply, "POST", "/portfolio/orders/batched")
    assert reply.status == 201
    answers = body["orders"]
    assert len(answers) == len(items)
    ok = [a for a in answers if a["error"] is None]
    assert [(a["client_order_id"], a["order"]["status"]) for a in ok] == [("b-rest", "resting"), ("b-take", "executed")]
    assert [a["client_order_id"] for a in answers] == ["b-rest", None, "b-grid", "b-post", "b-poor", "b-rest", "b-take", None]
    errors = {i: (a["error"]["code"], a["order"]) for i, a in enumerate(answers) if a["error"] is not None}
    assert errors == {
        1: ("invalid_parameters", None), 2: ("invalid_price", None), 3: ("invalid_order", None),
        4: ("insufficient_balance", None), 5: ("order_already_exists", None), 7: ("invalid_parameters", None),
    }
    assert answers[3]["error"]["details"] == "post only cross"
    assert "need $" in answers[4]["error"]["details"]
    for answer in answers:
        if answer["error"] is not None:
            conforms_to(answer["error"], "ErrorResponse")
    # only the two good orders exist: 3 resting at 0.30, 2 bought at 0.60
    assert sorted(o["client_order_id"] for o in alice.orders(f"ticker={ticker}")) == ["b-rest", "b-take"]
    assert book(server, ticker) == {"yes_dollars": [["0.3000", "3.00"]], "no_dollars": []}
    assert alice.position(ticker)["position"] == 2  # type: ignore[index]


def test_v2_batch_create(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    bob.rest(ticker, "bid", "4.00", "0.55")
    base = {"ticker": ticker, "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross"}
    items = [
        {**base, "side": "ask", "count": "6.00", "price": "0.55", "client_order_id": "v-cross"},
        {**base, "side": "bid", "count": "1.00", "price": "0.10"},
        {**base, "side": "bid", "count": "1.00", "price": "0.10", "time_in_force": None},
        {**base, "side": "ask", "count": "1.00", "price": "1.00", "client_order_id": "v-price"},
    ]
    reply = alice.call("POST", "/portfolio/events/orders/batched", {"orders": items})
    assert reply.status == 201, reply
    answers = reply.json()["orders"]
    assert len(answers) == 4
    cross, plain, no_tif, bad_price = answers
    assert (cross["client_order_id"], cross["fill_count"], cross["remaining_count"], cross["average_fill_price"], cross["error"]) == (
        "v-cross", "4.00", "2.00", "0.5500", None)
    assert isinstance(cross["ts_ms"], int) and isinstance(cross["order_id"], str)
    assert plain["error"] is None and plain["client_order_id"] and plain["remaining_count"] == "1.00"
    assert no_tif["error"]["code"] == "missing_parameters" and "order_id" not in no_tif
    assert (bad_price["client_order_id"], bad_price["error"]["code"]) == ("v-price", "invalid_price")
    assert alice.order(cross["order_id"])["remaining_count_fp"] == "2.00"
    assert len(alice.orders(f"ticker={ticker}")) == 2


def test_a_batch_holds_one_to_twenty_orders(server: RunningServer, alice: Trader) -> None:
    [ticker] = make_markets(server)
    order = {"ticker": ticker, "side": "yes", "action": "buy", "count": 1, "yes_price": 5}
    full = alice.call("POST", "/portfolio/orders/batched", {"orders": [order] * 20})
    assert full.status == 201 and all(a["error"] is None for a in full.json()["orders"]), full
    for size in (0, 21):
        refused = alice.call("POST", "/portfolio/orders/batched", {"orders": [order] * size})
        conforms(refused, "POST", "/portfolio/orders/batched")
        assert refused.status == 400 and refused.error["code"] == "invalid_parameters", refused
        v2 = alice.call("POST", "/portfolio/events/orders/batched", {"orders": [{}] * size})
        assert v2.status == 400, v2
    assert alice.call("POST", "/portfolio/orders/batched", {"order": [order]}).status == 400
    assert len(alice.orders(f"ticker={ticker}")) == 20
    ids = [o["order_id"] for o in alice.orders(f"ticker={ticker}")]
    assert alice.call("DELETE", "/portfolio/orders/batched", {"ids": ids + ids[:1]}).status == 400
    assert alice.call("DELETE", "/portfolio/orders/batched", {"ids": ids}).status == 200
    assert alice.orders(f"ticker={ticker}&status=resting") == []


def test_legacy_batch_cancel_in_both_request_forms(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    mine = [alice.rest(ticker, "bid", "2.00", f"0.{20 + n}") for n in range(3)]
    done = alice.rest(ticker, "bid", "1.00", "0.10")
    assert alice.call("DELETE", f"/portfolio/orders/{done}").status == 200
    theirs = bob.rest(ticker, "bid", "1.00", "0.11")
    bob.rest(ticker, "ask", "1.00", "0.22")  # fills one of alice's 0.22 bid: one left
    reply = alice.call("DELETE", "/portfolio/orders/batched", {"ids": [mine[0], UNKNOWN_ORDER, theirs, done, mine[2], "garbage"]})
    body = conforms(reply, "DELETE", "/portfolio/orders/batched")
    answers = body["orders"]
    assert [a["order_id"] for a in answers] == [mine[0], UNKNOWN_ORDER, theirs, done, mine[2], "garbage"]
    assert [(a["reduced_by"], a["error"]["code"] if a["error"] else None) for a in answers] == [
        (2, None), (0, "not_found"), (0, "not_found"), (0, "not_found"), (1, None), (0, "not_found")]
    assert answers[0]["order"]["status"] == "canceled" and answers[4]["order"]["fill_count"] == 1
    assert answers[2]["order"] is None
    assert bob.order(theirs)["status"] == "resting"  # someone else's order is untouched
    # the newer form: {"orders": [{"order_id": ...}]}
    newer = alice.call("DELETE", "/portfolio/orders/batched", {"orders": [{"order_id": mine[1], "subaccount": 0}]})
    assert newer.status == 200 and newer.json()["orders"][0]["reduced_by_fp"] == "2.00", newer
    assert alice.orders(f"ticker={ticker}&status=resting") == []


def test_v2_batch_cancel(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    first = alice.rest(ticker, "ask", "3.00", "0.80", client_order_id="vc-1")
    theirs = bob.rest(ticker, "ask", "1.00", "0.81")
    reply = alice.call("DELETE", "/portfolio/events/orders/batched", {"orders": [{"order_id": first}, {"order_id": theirs}]})
    assert reply.status == 200, reply
    one, two = reply.json()["orders"]
    assert (one["order_id"], one["client_order_id"], one["reduced_by"], one["error"]) == (first, "vc-1", "3.00", None)
    assert isinstance(one["ts_ms"], int)
    assert (two["order_id"], two["reduced_by"], two["error"]["code"]) == (theirs, "0.00", "not_found")
    assert bob.order(theirs)["status"] == "resting"
    assert alice.call("DELETE", "/portfolio/events/orders/batched", {"orders": [{"id": first}]}).status == 400
