"""Order entry over real HTTP, both generations (reference §6.1-§6.3, §6.6-§6.7): the legacy
`POST /portfolio/orders` (side + action, cents or dollars, count or count_fp, limit or market, every
option) and the current `POST /portfolio/events/orders` (book side, strings, required time in force
and self-trade prevention); the Order object as the OpenAPI document and SDK 3.x describe it (the
union of legacy integers and `*_dollars`/`*_fp` strings); order reads with their filters and cursor;
queue positions.

One prod exchange (no demo liquidity, every member funded by the operator) serves the module; each
test trades in markets of its own."""

from __future__ import annotations

import time
from typing import Any

import pytest

from integration.server_fixture import RunningServer
from integration.trading_helpers import (
    V2_CREATE,
    Trader,
    book,
    conforms,
    event_of,
    has_fields,
    make_markets,
    new_trader,
    prod_server,
    trader_fixture,
)

ORDER_STRICT: dict[str, type] = {  # SDK 3.34.0's required Order fields, with their JSON types
    "order_id": str, "user_id": str, "client_order_id": str, "ticker": str, "outcome_side": str, "book_side": str, "type": str,
    "status": str, "yes_price_dollars": str, "no_price_dollars": str, "fill_count_fp": str, "remaining_count_fp": str,
    "initial_count_fp": str, "taker_fill_cost_dollars": str, "maker_fill_cost_dollars": str, "taker_fees_dollars": str,
    "maker_fees_dollars": str,
}


server = prod_server("orders")


alice = trader_fixture("alice", 1_000_000)


bob = trader_fixture("bob", 1_000_000)


def _created(reply: Any) -> dict[str, Any]:
    body = conforms(reply, "POST", "/portfolio/orders")
    assert reply.status == 201, reply
    order: dict[str, Any] = body["order"]
    has_fields(order, ORDER_STRICT)
    return order


# --- legacy create ------------------------------------------------------------------------------------------

def test_a_legacy_limit_order_rests_and_answers_201_with_the_whole_order(server: RunningServer, alice: Trader) -> None:
    [ticker] = make_markets(server)
    before = alice.balance()
    order = _created(alice.legacy(ticker, "yes", "buy", 10, 40, client_order_id="alice-first"))
    assert {k: order[k] for k in (
        "ticker", "side", "action", "outcome_side", "book_side", "type", "status", "yes_price", "no_price", "yes_price_dollars",
        "no_price_dollars", "fill_count", "remaining_count", "initial_count", "fill_count_fp", "remaining_count_fp",
        "initial_count_fp", "client_order_id", "user_id", "expiration_time", "order_group_id", "self_trade_prevention_type",
        "taker_fill_cost", "maker_fill_cost", "taker_fees", "maker_fees", "taker_fill_cost_dollars", "taker_fees_dollars",
    )} == {
        "ticker": ticker, "side": "yes", "action": "buy", "outcome_side": "yes", "book_side": "bid", "type": "limit",
        "status": "resting", "yes_price": 40, "no_price": 60, "yes_price_dollars": "0.4000", "no_price_dollars": "0.6000",
        "fill_count": 0, "remaining_count": 10, "initial_count": 10, "fill_count_fp": "0.00", "remaining_count_fp": "10.00",
        "initial_count_fp": "10.00", "client_order_id": "alice-first", "user_id": alice.member.member_id, "expiration_time": None,
        "order_group_id": None, "self_trade_prevention_type": "taker_at_cross", "taker_fill_cost": 0, "maker_fill_cost": 0,
        "taker_fees": 0, "maker_fees": 0, "taker_fill_cost_dollars": "0.0000", "taker_fees_dollars": "0.0000",
    }
    assert order["created_time"].endswith("Z") and order["last_update_time"] == order["created_time"]
    # the same object on GET, and $4.00 locked behind it (10 x $0.40; makers pay no fee on this series)
    fetched = conforms(alice.call("GET", f"/portfolio/orders/{order['order_id']}"), "GET", "/portfolio/orders/{order_id}")
    assert fetched["order"] == order
    after = alice.balance()
    assert after["balance"] == before["balance"] - 400
    assert after["locked_dollars"] == "4.0000"
    assert book(server, ticker) == {"yes_dollars": [["0.4000", "10.00"]], "no_dollars": []}


def test_a_client_order_id_is_generated_when_none_is_given(server: RunningServer, alice: Trader) -> None:
    [ticker] = make_markets(server)
    first = _created(alice.legacy(ticker, "yes", "buy", 1, 10))
    second = _created(alice.legacy(ticker, "yes", "buy", 1, 10))
    assert first["client_order_id"] and second["client_order_id"] and first["client_order_id"] != second["client_order_id"]


@pytest.mark.parametrize(("side", "action", "price_field", "price", "book_side", "yes_price"), [
    ("yes", "buy", "yes_price", 30, "bid", 30),
    ("no", "sell", "no_price", 60, "bid", 40),
    ("no", "buy", "no_price_dollars", "0.2500", "ask", 75),
    ("yes", "sell", "yes_price_dollars", "0.8000", "ask", 80),
])
def test_the_four_legacy_directions_land_on_one_book(server: RunningServer, alice: Trader, side: str, action: str, price_field: str,
                                                     price: Any, book_side: str, yes_price: int) -> None:
    [ticker] = make_markets(server)
    order = _created(alice.legacy(ticker, side, action, 3, None, **{price_field: price}))
    assert (order["side"], order["action"], order["book_side"]) == (side, action, book_side)
    assert order["outcome_side"] == ("yes" if book_side == "bid" else "no")
    assert (order["yes_price"], order["no_price"]) == (yes_price, 100 - yes_price)
    # the book is kept in YES bids and NO bids (reference §5.4): an ask at p shows as a NO bid at 1 - p
    levels = book(server, ticker)
    if book_side == "bid":
        assert levels == {"yes_dollars": [[f"0.{yes_price:02d}00", "3.00"]], "no_dollars": []}
    else:
        assert levels == {"yes_dollars": [], "no_dollars": [[f"0.{100 - yes_price:02d}00", "3.00"]]}


def test_count_and_count_fp_may_both_be_given_when_they_agree(server: RunningServer, alice: Trader) -> None:
    [ticker] = make_markets(server)
    assert _created(alice.legacy(ticker, "yes", "buy", 4, 20, count_fp="4.00"))["remaining_count_fp"] == "4.00"
    only_fp = alice.call("POST", "/portfolio/orders", {"ticker": ticker, "side": "yes", "action": "buy", "count_fp": "7", "yes_price": 20})
    assert _created(only_fp)["initial_count"] == 7
    disagree = alice.legacy(ticker, "yes", "buy", 4, 20, count_fp="5.00")
    assert disagree.status == 400 and disagree.error["code"] == "invalid_parameters", disagree
    neither = alice.call("POST", "/portfolio/orders", {"ticker": ticker, "side": "yes", "action": "buy", "yes_price": 20})
    assert neither.status == 400 and neither.error["code"] == "missing_parameters", neither


def test_fractional_counts_need_a_market_that_allows_them(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [whole] = make_markets(server)
    [fractional] = make_markets(server, fractional=True, structure="deci_cent")
    refused = alice.legacy(whole, "yes", "buy", None, 20, count_fp="2.50")  # type: ignore[arg-type]
    assert refused.status == 400 and refused.error["code"] == "invalid_order_size", refused
    order = _created(alice.call("POST", "/portfolio/orders", {
        "ticker": fractional, "side": "yes", "action": "buy", "count_fp": "2.50", "yes_price_dollars": "0.3330"}))
    assert (order["remaining_count_fp"], order["yes_price_dollars"], order["no_price_dollars"]) == ("2.50", "0.3330", "0.6670")
    assert order["remaining_count"] == 2  # the legacy integer is whole contracts, rounded down
    sold = bob.v2(fractional, "ask", "1.25", "0.3330", time_in_force="immediate_or_cancel")
    assert sold.status == 201 and sold.json()["fill_count"] == "1.25", sold
    assert alice.order(order["order_id"])["fill_count_fp"] == "1.25"


def test_a_v2_order_that_closes_on_entry_answers_with_its_client_order_id_and_nothing_left(
        server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    alice.rest(ticker, "bid", "2.00", "0.4000")
    taken = bob.v2(ticker, "ask", "3.00", "0.4000", time_in_force="immediate_or_cancel", client_order_id="ioc-closes")
    assert taken.status == 201, taken
    body = taken.json()
    assert (body["client_order_id"], body["fill_count"], body["remaining_count"]) == ("ioc-closes", "2.00", "0.00")
    assert bob.order(body["order_id"])["client_order_id"] == "ioc-closes"
    unnamed = bob.v2(ticker, "ask", "1.00", "0.4000", time_in_force="immediate_or_cancel").json()
    assert (unnamed["fill_count"], unnamed["remaining_count"]) == ("0.00", "0.00")
    assert unnamed["client_order_id"] == bob.order(unnamed["order_id"])["client_order_id"] != ""  # the one the exchange made
    resting = alice.v2(ticker, "bid", "1.00", "0.3000", client_order_id="rests").json()
    assert (resting["client_order_id"], resting["remaining_count"]) == ("rests", "1.00")
    cancelled = alice.call("DELETE", "/portfolio/events/orders/batched", {"ids": [resting["order_id"]]}).json()["orders"]
    assert [(o["client_order_id"], o["reduced_by"], o["error"]) for o in cancelled] == [("rests", "1.00", None)]


def test_a_market_order_takes_the_best_prices_and_never_rests(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    bob.rest(ticker, "ask", "2.00", "0.4500")
    bob.rest(ticker, "ask", "2.00", "0.4700")
    order = _created(alice.legacy(ticker, "yes", "buy", 5, type="market"))
    assert (order["type"], order["status"], order["fill_count"], order["remaining_count"]) == ("market", "canceled", 4, 0)
    assert order["taker_fill_cost_dollars"] == "1.8400"  # 2 x 0.45 + 2 x 0.47
    assert book(server, ticker) == {"yes_dollars": [], "no_dollars": []}
    # a market sell of NO with a price limit is immediate-or-cancel at that price
    bob.rest(ticker, "bid", "3.00", "0.5000")
    capped = _created(alice.legacy(ticker, "no", "buy", 5, 40, type="market"))  # NO at 0.40 = YES ask at 0.60: no bid there
    assert (capped["status"], capped["fill_count"]) == ("canceled", 0)
    assert book(server, ticker)["yes_dollars"] == [["0.5000", "3.00"]]


def test_immediate_or_cancel_and_fill_or_kill(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    bob.rest(ticker, "ask", "3.00", "0.5500")
    ioc = _created(alice.legacy(ticker, "yes", "buy", 5, 55, time_in_force="immediate_or_cancel"))
    assert (ioc["status"], ioc["fill_count"], ioc["remaining_count"], ioc["initial_count"]) == ("canceled", 3, 0, 5)
    bob.rest(ticker, "ask", "3.00", "0.5500")
    fok = _created(alice.legacy(ticker, "yes", "buy", 3, 56, time_in_force="fill_or_kill"))
    assert (fok["status"], fok["fill_count"], fok["yes_price"]) == ("executed", 3, 56)
    assert fok["taker_fill_cost"] == 165  # filled at the resting 0.55, not its own 0.56


def test_buy_max_cost_fills_everything_within_the_budget(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    bob.rest(ticker, "ask", "2.00", "0.3000")
    bob.rest(ticker, "ask", "2.00", "0.3500")
    order = _created(alice.legacy(ticker, "yes", "buy", 4, 40, buy_max_cost=130))  # 2 x 0.30 + 2 x 0.35 = $1.30
    assert (order["status"], order["fill_count"], order["taker_fill_cost"]) == ("executed", 4, 130)


def test_an_order_with_an_expiration_time_rests_until_then(server: RunningServer, alice: Trader) -> None:
    [ticker] = make_markets(server)
    expires_s = int(time.time()) + 2
    order = _created(alice.legacy(ticker, "yes", "buy", 2, 20, expiration_ts=expires_s))
    assert order["status"] == "resting"
    assert order["expiration_time"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires_s))
    deadline = time.monotonic() + 15
    while alice.order(order["order_id"])["status"] == "resting":
        assert time.monotonic() < deadline, "the order did not expire"
        time.sleep(0.1)
    assert alice.order(order["order_id"])["status"] == "canceled"
    assert book(server, ticker)["yes_dollars"] == []
    past = alice.legacy(ticker, "yes", "buy", 2, 20, expiration_ts=int(time.time()) - 5)
    assert past.status == 400 and past.error["code"] == "invalid_parameters", past


def test_options_are_echoed_on_the_order(server: RunningServer, alice: Trader) -> None:
    [ticker] = make_markets(server)
    group = alice.call("POST", "/portfolio/order_groups/create", {"contracts_limit": 50}).json()["order_group_id"]
    order = _created(alice.legacy(ticker, "no", "buy", 2, 70, post_only=True, self_trade_prevention_type="maker",
                                  cancel_order_on_pause=True, order_group_id=group, subaccount=0, exchange_index=0))
    assert (order["post_only"], order["self_trade_prevention_type"], order["cancel_order_on_pause"], order["order_group_id"]) == (
        True, "maker", True, group)


def test_legacy_requests_that_are_malformed(server: RunningServer, alice: Trader) -> None:
    [ticker] = make_markets(server)
    base = {"ticker": ticker, "side": "yes", "action": "buy", "count": 1, "yes_price": 50}
    cases: list[tuple[dict[str, Any], str]] = [
        ({**base, "side": "maybe"}, "invalid_parameters"),
        ({**base, "action": "hold"}, "invalid_parameters"),
        ({**base, "no_price": 50}, "invalid_parameters"),  # two prices
        ({**base, "yes_price": 100}, "invalid_parameters"),
        ({**base, "yes_price": "50"}, "invalid_parameters"),
        ({**base, "count": 0}, "invalid_parameters"),
        ({**base, "time_in_force": "good_till_date"}, "invalid_parameters"),
        ({**base, "self_trade_prevention_type": "both"}, "invalid_parameters"),
        ({**base, "surprise": True}, "invalid_parameters"),
        ({**base, "subaccount": 3}, "invalid_parameters"),
        ({**base, "sell_position_floor": 5}, "invalid_parameters"),
        ({**base, "time_in_force": "immediate_or_cancel", "expiration_ts": int(time.time()) + 600}, "invalid_parameters"),
        ({**base, "yes_price_dollars": "0.501", "yes_price": None}, "invalid_price"),
        ({k: v for k, v in base.items() if k != "side"}, "missing_parameters"),
        ({k: v for k, v in base.items() if k != "yes_price"}, "missing_parameters"),
        ({**base, "ticker": "NO-SUCH-MARKET"}, "market_not_found"),
    ]
    for body, code in cases:
        reply = alice.call("POST", "/portfolio/orders", body)
        assert reply.status in (400, 404) and reply.error["code"] == code, (body, reply)
        conforms(reply, "POST", "/portfolio/orders") if reply.status != 404 else None
    assert alice.orders(f"ticker={ticker}") == []


# --- current (V2) create ---------------------------------------------------------------------------------------

def test_a_v2_order_rests_and_answers_the_light_shape(server: RunningServer, alice: Trader) -> None:
    [ticker] = make_markets(server)
    reply = alice.v2(ticker, "bid", "5.00", "0.42", client_order_id="v2-rest")
    assert reply.status == 201, reply
    body = reply.json()
    has_fields(body, V2_CREATE)
    assert (body["client_order_id"], body["fill_count"], body["remaining_count"]) == ("v2-rest", "0.00", "5.00")
    assert "average_fill_price" not in body and "average_fee_paid" not in body  # only when something filled
    assert abs(body["ts_ms"] - time.time() * 1000) < 60_000
    order = alice.order(body["order_id"])
    assert (order["book_side"], order["outcome_side"], order["side"], order["action"], order["yes_price_dollars"]) == (
        "bid", "yes", "yes", "buy", "0.4200")


def test_a_v2_order_that_crosses_reports_its_fills_and_fees(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    bob.rest(ticker, "bid", "4.00", "0.6000")
    bob.rest(ticker, "bid", "4.00", "0.5000")
    reply = alice.v2(ticker, "ask", "10", "0.50")
    assert reply.status == 201, reply
    body = reply.json()
    # 4 at 0.60 and 4 at 0.50 (average 0.55); fees per fill: 0.07 x 4 x 0.6 x 0.4 = 0.0672 -> cash -2.6672 -> -2.67
    # (0.07 of fee), and 0.07 x 4 x 0.5 x 0.5 = 0.07 -> -2.07 (0.07): $0.14 over 8 contracts = $0.0175 each
    assert (body["fill_count"], body["remaining_count"], body["average_fill_price"], body["average_fee_paid"]) == (
        "8.00", "2.00", "0.5500", "0.0175")
    assert book(server, ticker) == {"yes_dollars": [], "no_dollars": [["0.5000", "2.00"]]}
    order = alice.order(body["order_id"])
    assert (order["side"], order["action"], order["taker_fees_dollars"], order["taker_fill_cost_dollars"]) == (
        "no", "buy", "0.1400", "3.6000")  # NO bought at 0.40 and 0.50


@pytest.mark.parametrize("missing", ["time_in_force", "self_trade_prevention_type", "price", "count", "side", "ticker"])
def test_v2_required_fields(server: RunningServer, alice: Trader, missing: str) -> None:
    body = {"ticker": "ANY", "side": "bid", "count": "1.00", "price": "0.50", "time_in_force": "good_till_canceled",
            "self_trade_prevention_type": "maker"}
    del body[missing]
    reply = alice.call("POST", "/portfolio/events/orders", body)
    assert reply.status == 400 and reply.error["code"] == "missing_parameters" and missing in reply.error["message"], reply


def test_v2_refuses_legacy_spellings_and_wrong_types(server: RunningServer, alice: Trader) -> None:
    [ticker] = make_markets(server)
    base = {"ticker": ticker, "side": "bid", "count": "1.00", "price": "0.50", "time_in_force": "good_till_canceled",
            "self_trade_prevention_type": "maker"}
    for change in ({"side": "yes"}, {"count": 1}, {"price": 50}, {"yes_price": 50}, {"expiration_ts": 1}, {"post_only": "yes"}):
        reply = alice.call("POST", "/portfolio/events/orders", {**base, **change})
        assert reply.status == 400 and reply.error["code"] == "invalid_parameters", (change, reply)
    assert alice.orders(f"ticker={ticker}") == []


# --- reads ------------------------------------------------------------------------------------------------------

def test_list_orders_filters_and_pages(server: RunningServer, alice: Trader, bob: Trader) -> None:
    first, second = make_markets(server, 2)
    [other] = make_markets(server)
    resting = [alice.rest(first, "bid", "1.00", f"0.{10 + n}") for n in range(5)]
    canceled = alice.rest(second, "bid", "1.00", "0.10")
    assert alice.call("DELETE", f"/portfolio/orders/{canceled}").status == 200
    bob.rest(other, "ask", "1.00", "0.30")
    executed = alice.rest(other, "bid", "1.00", "0.30")
    listed = conforms(alice.call("GET", f"/portfolio/orders?event_ticker={event_of(first)},{event_of(other)}"), "GET", "/portfolio/orders")
    ids = [o["order_id"] for o in listed["orders"]]
    assert ids == [executed, canceled, *reversed(resting)]  # newest first
    assert listed["cursor"] == ""
    assert [o["order_id"] for o in alice.orders(f"ticker={first}&status=resting")] == list(reversed(resting))
    assert [o["order_id"] for o in alice.orders(f"ticker={second},{other}")] == [executed, canceled]
    assert [o["order_id"] for o in alice.orders(f"event_ticker={event_of(first)}&status=canceled")] == [canceled]
    assert [(o["order_id"], o["status"]) for o in alice.orders(f"ticker={other}&status=executed")] == [(executed, "executed")]
    # pages of two, without gaps or repeats
    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        page = alice.ok(f"/portfolio/orders?event_ticker={event_of(first)}&limit=2{'&cursor=' + cursor if cursor else ''}")
        assert len(page["orders"]) <= 2
        seen += [o["order_id"] for o in page["orders"]]
        cursor = page["cursor"]
        if not cursor:
            break
    assert seen == [canceled, *reversed(resting)]
    # time filters are Unix seconds over creation times
    created = alice.order(resting[0])["created_time"]
    created_s = int(time.mktime(time.strptime(created[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone)
    assert alice.orders(f"ticker={first}&max_ts={created_s - 1}") == []
    assert len(alice.orders(f"ticker={first}&min_ts={created_s}")) == 5
    assert alice.call("GET", "/portfolio/orders?status=open").status == 400
    assert alice.call("GET", "/portfolio/orders?cursor=not-a-cursor").status == 400


def test_orders_of_another_account_are_not_found(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    mine = alice.rest(ticker, "bid", "1.00", "0.20")
    reply = bob.call("GET", f"/portfolio/orders/{mine}")
    conforms(reply, "GET", "/portfolio/orders/{order_id}")
    assert reply.status == 404 and reply.error["code"] == "not_found", reply
    assert bob.orders(f"ticker={ticker}") == []
    unknown = bob.call("GET", "/portfolio/orders/00000000-0000-4000-8000-000000000000")
    assert unknown.status == 404, unknown


def test_queue_positions(server: RunningServer, alice: Trader, bob: Trader) -> None:
    first, second = make_markets(server, 2)
    bob.rest(first, "bid", "7.00", "0.33")
    ahead = alice.rest(first, "bid", "2.00", "0.33")
    behind = bob.rest(first, "bid", "1.00", "0.33")
    later = alice.rest(first, "bid", "4.00", "0.33")
    other = alice.rest(second, "ask", "1.00", "0.90")
    one = conforms(alice.call("GET", f"/portfolio/orders/{later}/queue_position"), "GET", "/portfolio/orders/{order_id}/queue_position")
    assert (one["queue_position_fp"], one["queue_position"]) == ("10.00", 10)  # 7 + 2 + 1 ahead
    assert alice.ok(f"/portfolio/orders/{ahead}/queue_position")["queue_position_fp"] == "7.00"
    assert alice.call("GET", f"/portfolio/orders/{behind}/queue_position").status == 404  # bob's
    listed = conforms(alice.call("GET", f"/portfolio/orders/queue_positions?market_tickers={first},{second}"),
                      "GET", "/portfolio/orders/queue_positions")
    assert sorted((q["order_id"], q["market_ticker"], q["queue_position_fp"]) for q in listed["queue_positions"]) == sorted([
        (ahead, first, "7.00"), (later, first, "10.00"), (other, second, "0.00")])
    by_event = alice.ok(f"/portfolio/orders/queue_positions?event_ticker={event_of(first)}")["queue_positions"]
    assert len(by_event) == 3
    assert alice.call("GET", "/portfolio/orders/queue_positions").status == 400
    # a filled order has no place in a queue
    filler = new_trader(server, "filler", 100_000)
    assert filler.v2(second, "bid", "1.00", "0.90").status == 201
    gone = alice.call("GET", f"/portfolio/orders/{other}/queue_position")
    assert gone.status == 404 and "not resting" in gone.json()["error"]["details"], gone
