"""Order groups over real HTTP (reference §4.4): create (201), list, get (with its orders), limit,
trigger, reset, delete; a contracts limit over a rolling 15 seconds of matched contracts that, once
reached, caps the fill that reaches it, cancels every order in the group and refuses new ones
(409 `order_group_limit`) until the group is reset. Someone else's group does not exist."""

from __future__ import annotations

from integration.server_fixture import RunningServer
from integration.trading_helpers import Trader, book, conforms, make_markets, prod_server, seen_by, trader_fixture

GROUPS = "/portfolio/order_groups"


server = prod_server("groups")


alice = trader_fixture("alice", 1_000_000)


bob = trader_fixture("bob", 1_000_000)


def _create(trader: Trader, body: dict[str, object]) -> str:
    reply = trader.call("POST", GROUPS + "/create", body)
    created = conforms(reply, "POST", GROUPS + "/create")
    assert reply.status == 201 and created["subaccount"] == 0, reply
    return str(created["order_group_id"])


def test_create_list_get_and_change_the_limit(server: RunningServer, alice: Trader) -> None:
    [ticker] = make_markets(server)
    group = _create(alice, {"contracts_limit": 5})
    other = _create(alice, {"contracts_limit_fp": "2.50"})
    listed = conforms(alice.call("GET", GROUPS), "GET", GROUPS)["order_groups"]
    assert {(g["id"], g["contracts_limit_fp"], g["contracts_limit"], g["is_auto_cancel_enabled"]) for g in listed} == {
        (group, "5.00", 5, True), (other, "2.50", 2, True)}
    first = alice.rest(ticker, "bid", "1.00", "0.10", order_group_id=group)
    second = alice.rest(ticker, "bid", "1.00", "0.11", order_group_id=group)
    alice.rest(ticker, "bid", "1.00", "0.12")
    got = conforms(alice.call("GET", f"{GROUPS}/{group}"), "GET", GROUPS + "/{order_group_id}")
    assert (sorted(got["orders"]), got["contracts_limit_fp"], got["is_auto_cancel_enabled"]) == (sorted([first, second]), "5.00", True)
    changed = alice.call("PUT", f"{GROUPS}/{group}/limit", {"contracts_limit_fp": "12.00"})
    assert (changed.status, changed.json()) == (200, {}), changed
    assert alice.ok(f"{GROUPS}/{group}")["contracts_limit_fp"] == "12.00"
    assert alice.call("PUT", f"{GROUPS}/{group}/limit", {"contracts_limit": 3}).status == 200
    assert alice.ok(f"{GROUPS}/{group}")["contracts_limit"] == 3
    for bad in ({}, {"contracts_limit": 0}, {"contracts_limit_fp": "-1.00"}, {"contracts_limit": "5"}):
        refused = alice.call("POST", GROUPS + "/create", bad)
        conforms(refused, "POST", GROUPS + "/create")
        assert refused.status == 400, (bad, refused)
        assert alice.call("PUT", f"{GROUPS}/{group}/limit", bad).status == 400
    assert alice.call("PUT", f"{GROUPS}/{group}/reset", {"unexpected": 1}).status == 400


def test_reaching_the_limit_cancels_the_group_and_refuses_new_orders_until_reset(server: RunningServer, alice: Trader,
                                                                                 bob: Trader) -> None:
    [ticker] = make_markets(server)
    group = _create(alice, {"contracts_limit": 5})
    high = alice.rest(ticker, "bid", "3.00", "0.40", order_group_id=group)
    low = alice.rest(ticker, "bid", "4.00", "0.30", order_group_id=group)
    outside = alice.rest(ticker, "bid", "2.00", "0.20")
    sold = bob.v2(ticker, "ask", "6.00", "0.30")
    assert sold.status == 201, sold
    # 3 at 0.40, then the fill at 0.30 is capped at the 2 left of the limit: the group is done
    assert (sold.json()["fill_count"], sold.json()["remaining_count"]) == ("5.00", "1.00")
    assert (alice.order(high)["status"], alice.order(low)["status"], alice.order(low)["fill_count_fp"]) == ("executed", "canceled", "2.00")
    assert alice.order(outside)["status"] == "resting"
    assert alice.ok(f"{GROUPS}/{group}")["orders"] == []
    assert book(server, ticker) == {"yes_dollars": [["0.2000", "2.00"]], "no_dollars": [["0.7000", "1.00"]]}
    # refused while triggered, and nothing changes
    before = seen_by(alice, ticker)
    for refused in (alice.v2(ticker, "bid", "1.00", "0.10", order_group_id=group),
                    alice.legacy(ticker, "yes", "buy", 1, 10, order_group_id=group)):
        assert refused.status == 409 and refused.error["code"] == "order_group_limit", refused
    assert seen_by(alice, ticker) == before
    # reset (PUT, and POST as SDK 2.x sends it) opens it again
    reset = alice.call("PUT", f"{GROUPS}/{group}/reset", {})
    conforms(reset, "PUT", GROUPS + "/{order_group_id}/reset")
    assert reset.json() == {}
    assert alice.v2(ticker, "bid", "1.00", "0.10", order_group_id=group).status == 201
    assert alice.call("POST", f"{GROUPS}/{group}/reset").status == 200


def test_trigger_and_delete_cancel_the_groups_orders(server: RunningServer, alice: Trader) -> None:
    [ticker] = make_markets(server)
    group = _create(alice, {"contracts_limit": 100})
    order = alice.rest(ticker, "ask", "2.00", "0.90", order_group_id=group)
    triggered = alice.call("PUT", f"{GROUPS}/{group}/trigger", {})
    assert (triggered.status, triggered.json()) == (200, {}), triggered
    assert alice.order(order)["status"] == "canceled"
    assert alice.v2(ticker, "ask", "1.00", "0.90", order_group_id=group).status == 409
    assert alice.call("PUT", f"{GROUPS}/{group}/reset").status == 200
    again = alice.rest(ticker, "ask", "1.00", "0.90", order_group_id=group)
    deleted = alice.call("DELETE", f"{GROUPS}/{group}")
    conforms(deleted, "DELETE", GROUPS + "/{order_group_id}")
    assert (deleted.status, deleted.json()) == (200, {})
    assert alice.order(again)["status"] == "canceled"
    missing = alice.call("GET", f"{GROUPS}/{group}")
    conforms(missing, "GET", GROUPS + "/{order_group_id}")
    assert missing.status == 404, missing
    assert alice.call("DELETE", f"{GROUPS}/{group}").status == 404
    assert alice.v2(ticker, "ask", "1.00", "0.90", order_group_id=group).status == 404


def test_someone_elses_group_does_not_exist(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    group = _create(alice, {"contracts_limit": 10})
    assert group not in [g["id"] for g in bob.ok(GROUPS)["order_groups"]]
    for method, path in (("GET", f"{GROUPS}/{group}"), ("DELETE", f"{GROUPS}/{group}"), ("PUT", f"{GROUPS}/{group}/reset"),
                         ("PUT", f"{GROUPS}/{group}/trigger")):
        reply = bob.call(method, path, {} if method == "PUT" else None)
        assert reply.status == 404 and reply.error["code"] == "not_found", (method, path, reply)
    assert bob.call("PUT", f"{GROUPS}/{group}/limit", {"contracts_limit": 1}).status == 404
    used = bob.v2(ticker, "bid", "1.00", "0.10", order_group_id=group)
    assert used.status == 404 and used.error["code"] == "not_found", used
    assert bob.orders(f"ticker={ticker}") == []
    assert alice.ok(f"{GROUPS}/{group}")["contracts_limit"] == 10
