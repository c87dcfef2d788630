"""Subaccounts over real HTTP (Kalshi v2 paths and shapes; SDK 3.34.0's models): a member creates two,
moves cash into them, trades in one, and every figure per subaccount is checked to the cent: balances,
positions, fills and orders (labelled with their subaccount), settlements, the transfers' history,
idempotent retries of a transfer, netting switched per subaccount (YES and NO held apart when it is
off, to settlement), and clear refusals that change nothing.

The story: alice deposits $1,000.00 and opens subaccounts 1 and 2; moves $300.00 to 1 and $100.00 to 2.
Bob rests an ask of 10 at $0.40; alice's subaccount 1 buys them as taker: cost $4.00, fee
0.07 x 10 x 0.40 x 0.60 = $0.168, rounded up to $0.17: subaccount 1 holds $295.83 and 10 YES. Subaccount 2
rests a bid of 5 at $0.10 ($0.50 locked: no maker fee on a quadratic series). The market settles YES:
subaccount 1 is paid $10.00."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from integration.server_fixture import RunningServer
from integration.trading_helpers import Trader, make_markets, new_trader, prod_server, settle
from integration.ws_support import barrier, kalshi_ws, subscribe

server = prod_server("subaccounts")


def _transfer(alice: Trader, source: int, target: int, cents: int, client_id: str | None = None) -> Any:
    return alice.call("POST", "/portfolio/subaccounts/transfer", {
        "client_transfer_id": client_id or str(uuid.uuid4()), "from_subaccount": source, "to_subaccount": target, "amount_cents": cents,
    })


def _balances(alice: Trader) -> dict[int, str]:
    found = alice.ok("/portfolio/subaccounts/balances")["subaccount_balances"]
    assert all(entry["exchange_index"] == 0 and isinstance(entry["updated_ts"], int) for entry in found)
    return {entry["subaccount_number"]: entry["balance"] for entry in found}


@pytest.fixture(scope="module")
def story(server: RunningServer) -> dict[str, Any]:
    alice, bob = new_trader(server, "alice", 100_000), new_trader(server, "bob", 100_000)
    [ticker] = make_markets(server)
    assert _balances(alice) == {0: "1000.0000"}
    first = alice.call("POST", "/portfolio/subaccounts", {})
    second = alice.call("POST", "/portfolio/subaccounts", {"exchange_index": 0})
    assert (first.status, first.json(), second.status, second.json()) == (201, {"subaccount_number": 1}, 201, {"subaccount_number": 2})
    moved = [str(uuid.uuid4()), str(uuid.uuid4())]
    assert _transfer(alice, 0, 1, 30_000, moved[0]).json() == {}
    assert _transfer(alice, 0, 2, 10_000, moved[1]).status == 200
    bob.rest(ticker, "ask", "10", "0.4000")
    bought = alice.v2(ticker, "bid", "10", "0.4000", subaccount=1, client_order_id="sub1-buy")
    assert bought.status == 201, bought
    resting = alice.rest(ticker, "bid", "5", "0.1000", subaccount=2)
    return {"alice": alice, "bob": bob, "ticker": ticker, "moved": moved, "bought": bought.json()["order_id"], "resting": resting}


def test_each_subaccount_has_its_own_balance_to_the_cent(story: dict[str, Any]) -> None:
    alice: Trader = story["alice"]
    assert _balances(alice) == {0: "600.0000", 1: "295.8300", 2: "99.5000"}
    assert alice.ok("/portfolio/balance?subaccount=1")["balance"] == 29_583
    assert alice.ok("/portfolio/balance?subaccount=2")["balance_dollars"] == "99.5000"
    assert alice.ok("/portfolio/balance")["balance"] == 60_000  # the primary account, by default
    assert alice.ok("/portfolio/balance?subaccount=0")["balance"] == 60_000


def test_positions_belong_to_the_subaccount_that_traded(story: dict[str, Any]) -> None:
    alice: Trader = story["alice"]
    [held] = alice.ok("/portfolio/positions?subaccount=1")["market_positions"]
    assert (held["ticker"], held["position_fp"], held["market_exposure_dollars"], held["fees_paid_dollars"]) == (
        story["ticker"], "10.00", "4.0000", "0.1700")
    assert alice.ok("/portfolio/positions")["market_positions"] == []
    assert alice.ok("/portfolio/positions?subaccount=2")["market_positions"] == []


def test_fills_and_orders_carry_their_subaccount(story: dict[str, Any]) -> None:
    alice: Trader = story["alice"]
    fills = alice.fills()
    assert [(f["subaccount_number"], f["count_fp"], f["yes_price_dollars"], f["fee_cost"]) for f in fills] == [(1, "10.00", "0.4000", "0.1700")]
    assert alice.fills("subaccount=1") == fills
    assert alice.fills("subaccount=2") == [] and alice.fills("subaccount=0") == []
    orders = {o["order_id"]: o["subaccount_number"] for o in alice.orders()}
    assert orders == {story["bought"]: 1, story["resting"]: 2}
    assert [o["order_id"] for o in alice.orders("subaccount=2")] == [story["resting"]]
    assert alice.order(story["resting"])["subaccount_number"] == 2


def test_transfers_are_listed_newest_first_with_a_cursor(story: dict[str, Any]) -> None:
    alice: Trader = story["alice"]
    listed = alice.ok("/portfolio/subaccounts/transfers")
    assert [(t["from_subaccount"], t["to_subaccount"], t["amount_cents"], t["exchange_index"]) for t in listed["transfers"]] == [
        (0, 2, 10_000, 0), (0, 1, 30_000, 0)]
    assert "cursor" not in listed
    page = alice.ok("/portfolio/subaccounts/transfers?limit=1")
    assert len(page["transfers"]) == 1 and page["cursor"]
    rest = alice.ok(f"/portfolio/subaccounts/transfers?limit=1&cursor={page['cursor']}")
    assert [t["amount_cents"] for t in rest["transfers"]] == [30_000]
    assert story["bob"].ok("/portfolio/subaccounts/transfers") == {"transfers": []}


def test_a_retried_transfer_moves_nothing_and_a_reused_id_is_refused(story: dict[str, Any]) -> None:
    alice: Trader = story["alice"]
    before = _balances(alice)
    assert _transfer(alice, 0, 1, 30_000, story["moved"][0]).status == 200  # the same request again
    reused = _transfer(alice, 0, 1, 1, story["moved"][0])
    assert reused.status == 409 and reused.json()["error"]["code"] == "already_exists", reused
    assert _balances(alice) == before
    assert len(alice.ok("/portfolio/subaccounts/transfers")["transfers"]) == 2


@pytest.mark.parametrize(("body", "status"), [
    ({"from_subaccount": 0, "to_subaccount": 3, "amount_cents": 100}, 400),  # no subaccount 3
    ({"from_subaccount": 0, "to_subaccount": 64, "amount_cents": 100}, 400),
    ({"from_subaccount": 1, "to_subaccount": 1, "amount_cents": 100}, 400),
    ({"from_subaccount": 2, "to_subaccount": 0, "amount_cents": 10_000}, 400),  # $99.50 is available
    ({"from_subaccount": 0, "to_subaccount": 1, "amount_cents": 0}, 400),
    ({"from_subaccount": 0, "to_subaccount": 1, "amount_cents": "100"}, 400),
    ({"from_subaccount": 0, "to_subaccount": 1, "amount_cents": 100, "client_transfer_id": "not-a-uuid"}, 400),
    ({"from_subaccount": 0, "to_subaccount": 1, "amount_cents": 100, "exchange_index": 2}, 400),
    ({"from_subaccount": 0, "to_subaccount": 1, "amount_cents": 100, "surprise": 1}, 400),
    ({"to_subaccount": 1, "amount_cents": 100}, 400),
])
def test_bad_transfers_are_refused_and_change_nothing(story: dict[str, Any], body: dict[str, Any], status: int) -> None:
    alice: Trader = story["alice"]
    before = _balances(alice)
    reply = alice.call("POST", "/portfolio/subaccounts/transfer", {"client_transfer_id": str(uuid.uuid4()), **body})
    assert reply.status == status and reply.json()["error"]["message"], reply
    assert _balances(alice) == before


def test_subaccounts_start_at_the_advanced_tier(server: RunningServer) -> None:
    basic = new_trader(server, "basic", 100, tier="basic")
    reply = basic.call("POST", "/portfolio/subaccounts", {})
    assert reply.status == 403 and "Advanced" in reply.json()["error"]["details"], reply
    assert basic.ok("/portfolio/subaccounts/balances") == {"subaccount_balances": [
        {"subaccount_number": 0, "exchange_index": 0, "balance": "1.0000", "updated_ts": basic.ok("/portfolio/balance")["updated_ts"]}]}


def test_orders_name_only_existing_subaccounts(story: dict[str, Any]) -> None:
    alice: Trader = story["alice"]
    for subaccount in (3, 64, -1, "1"):
        reply = alice.v2(story["ticker"], "bid", "1", "0.1000", subaccount=subaccount)
        assert reply.status == 400, reply
    assert alice.call("GET", "/portfolio/balance?subaccount=3").status == 400


def test_netting_switches_per_subaccount_and_refuses_while_orders_rest(story: dict[str, Any]) -> None:
    alice: Trader = story["alice"]
    assert alice.ok("/portfolio/subaccounts/netting") == {"netting_configs": [
        {"subaccount_number": n, "enabled": True, "exchange_index": 0} for n in (0, 1, 2)]}
    assert alice.call("PUT", "/portfolio/subaccounts/netting", {"subaccount_number": 1, "enabled": True}).status == 200
    busy = alice.call("PUT", "/portfolio/subaccounts/netting", {"subaccount_number": 2, "enabled": False})
    assert busy.status == 400 and "open orders" in busy.json()["error"]["details"], busy  # subaccount 2 has a bid resting
    assert alice.call("PUT", "/portfolio/subaccounts/netting", {"subaccount_number": 5, "enabled": True}).status == 400
    assert alice.call("PUT", "/portfolio/subaccounts/netting", {"subaccount_number": 1}).status == 400
    assert all(config["enabled"] for config in alice.ok("/portfolio/subaccounts/netting")["netting_configs"])


def test_without_netting_a_subaccount_holds_yes_and_no_apart_to_settlement(server: RunningServer) -> None:
    """Erin's subaccount 1 switches netting off, buys 10 YES at $0.40 (fee $0.17) and then 10 NO at $0.45
    (a YES bid of $0.55 hit; fee 0.07 x 10 x 0.55 x 0.45 = $0.17325, $0.18): both held, both paid for
    ($50.00 - $4.17 - $4.68 = $41.15), and the stream's market_position gives each side as REST lists
    them. Switching netting back on is refused while both are held. YES
    settles: the 10 YES pay $10.00, the NO nothing, and the settlement lists both sides."""
    erin, frank = new_trader(server, "erin", 10_000), new_trader(server, "frank", 10_000)
    [ticker] = make_markets(server)
    assert erin.call("POST", "/portfolio/subaccounts", {}).status == 201
    assert _transfer(erin, 0, 1, 5_000).status == 200
    assert erin.call("PUT", "/portfolio/subaccounts/netting", {"subaccount_number": 1, "enabled": False}).status == 200
    assert erin.ok("/portfolio/subaccounts/netting")["netting_configs"] == [
        {"subaccount_number": 0, "enabled": True, "exchange_index": 0}, {"subaccount_number": 1, "enabled": False, "exchange_index": 0}]
    frank.rest(ticker, "ask", "10", "0.4000")
    assert erin.v2(ticker, "bid", "10", "0.4000", subaccount=1).status == 201
    frank.rest(ticker, "bid", "10", "0.5500")
    with kalshi_ws(server, erin.member) as ws:
        subscribe(ws, ["market_positions"], market_ticker=ticker)
        assert erin.v2(ticker, "ask", "10", "0.5500", subaccount=1).status == 201
        got = barrier(ws)
    streamed = [m["msg"] for m in got if m["type"] == "market_position"]
    assert [(p["subaccount"], p["position_fp"], p["position_cost_dollars"], p["fees_paid_dollars"]) for p in streamed] == [
        (1, "10.00", "4.0000", "0.3500"), (1, "-10.00", "4.5000", "0.0000")]  # one message per side, as REST lists them
    assert _balances(erin)[1] == "41.1500"
    held = erin.ok(f"/portfolio/positions?subaccount=1&ticker={ticker}")["market_positions"]
    assert [(p["position_fp"], p["market_exposure_dollars"], p["fees_paid_dollars"]) for p in held] == [
        ("10.00", "4.0000", "0.3500"), ("-10.00", "4.5000", "0.0000")]
    both = erin.call("PUT", "/portfolio/subaccounts/netting", {"subaccount_number": 1, "enabled": True})
    assert both.status == 400 and "both YES and NO" in both.json()["error"]["details"], both
    settle(server, ticker, "yes")
    [settled] = erin.ok("/portfolio/settlements?subaccount=1")["settlements"]
    assert (settled["yes_count_fp"], settled["no_count_fp"], settled["yes_total_cost_dollars"], settled["no_total_cost_dollars"],
            settled["revenue"]) == ("10.00", "10.00", "4.0000", "4.5000", 1000)
    assert _balances(erin)[1] == "51.1500"
    assert erin.call("PUT", "/portfolio/subaccounts/netting", {"subaccount_number": 1, "enabled": True}).status == 200


def test_an_order_in_a_subaccount_is_cancelled_by_its_id(story: dict[str, Any], server: RunningServer) -> None:
    alice: Trader = story["alice"]
    order_id = alice.rest(story["ticker"], "bid", "1", "0.0500", subaccount=2)
    assert _balances(alice)[2] == "99.4500"
    reply = alice.call("DELETE", f"/portfolio/events/orders/{order_id}")
    assert reply.status == 200, reply
    assert _balances(alice)[2] == "99.5000"
    assert story["bob"].call("DELETE", f"/portfolio/events/orders/{story['resting']}").status == 404


def test_the_members_stream_carries_its_subaccounts_trades(server: RunningServer) -> None:
    """The private channels are the member's: a subaccount's order, fill and position reach the
    member's WebSocket labelled with the subaccount, as REST labels them, and so does the book change
    its resting order made (orderbook_delta's `subaccount`, for the member who caused it)."""
    carol, dave = new_trader(server, "carol", 10_000), new_trader(server, "dave", 10_000)
    [ticker] = make_markets(server)
    assert carol.call("POST", "/portfolio/subaccounts", {}).status == 201
    assert _transfer(carol, 0, 1, 5_000).status == 200
    with kalshi_ws(server, carol.member) as ws:
        subscribe(ws, ["fill", "user_orders", "market_positions", "orderbook_delta"], market_ticker=ticker)
        dave.rest(ticker, "ask", "3", "0.6000")
        assert carol.v2(ticker, "bid", "3", "0.6000", subaccount=1).status == 201
        carol.rest(ticker, "bid", "2", "0.1000", subaccount=1)
        got = barrier(ws)
    deltas = [m["msg"] for m in got if m["type"] == "orderbook_delta"]
    # dave's ask and its fill are dave's; carol's resting bid is hers, from subaccount 1
    assert [(d["price_dollars"], d["delta_fp"], d.get("subaccount")) for d in deltas] == [
        ("0.4000", "3.00", None), ("0.4000", "-3.00", None), ("0.1000", "2.00", 1)]
    [fill] = [m["msg"] for m in got if m["type"] == "fill"]
    [rest_fill] = carol.fills()
    assert (fill["subaccount"], fill["subaccount_number"], fill["count_fp"]) == (1, 1, "3.00")
    assert {k: fill[k] for k in rest_fill} == rest_fill
    orders = [m["msg"] for m in got if m["type"] == "user_order"]
    assert orders and all(o["subaccount_number"] == 1 for o in orders)
    positions = [m["msg"] for m in got if m["type"] == "market_position"]
    assert [(p["subaccount"], p["position_fp"]) for p in positions] == [(1, "3.00")]


def test_settlement_pays_the_subaccount(story: dict[str, Any], server: RunningServer) -> None:
    alice: Trader = story["alice"]
    settle(server, story["ticker"], "yes")
    assert _balances(alice) == {0: "600.0000", 1: "305.8300", 2: "100.0000"}  # 2's resting bid was cancelled at the close
    [settled] = alice.ok("/portfolio/settlements")["settlements"]
    assert (settled["ticker"], settled["market_result"], settled["yes_count_fp"], settled["revenue"]) == (story["ticker"], "yes", "10.00", 1000)
    assert alice.ok("/portfolio/settlements?subaccount=1")["settlements"] == [settled]
    assert alice.ok("/portfolio/settlements?subaccount=2")["settlements"] == []


def test_fcm_operations_answer_as_kalshi_answers_a_member_who_is_not_an_fcm(server: RunningServer, story: dict[str, Any]) -> None:
    from predictex.gateways.rest.kalshi_v2.fcm import FCM_ROUTES

    alice: Trader = story["alice"]
    assert len(FCM_ROUTES) == 12
    for method, path in FCM_ROUTES:
        reply = alice.call(method, path, {} if method in ("POST", "PUT") else None)
        assert reply.status == 403 and reply.json()["error"]["code"] == "permission_denied", (method, path, reply)
        assert server.request(method, "/trade-api/v2" + path).status == 401, (method, path)


def test_one_instance_one_shard_moves_between_subaccounts_and_allocates_everything_to_shard_0(server: RunningServer) -> None:
    erin = new_trader(server, "erin", 10_000)
    assert erin.call("POST", "/portfolio/subaccounts", {}).status == 201
    body = {"source": "event_contract", "destination": "event_contract", "amount": 12_300, "destination_subaccount": 1}
    moved = erin.call("POST", "/portfolio/intra_exchange_instance_transfer", body)
    assert moved.status == 200, moved
    transfer_id = moved.json()["transfer_id"]
    assert _balances(erin) == {0: "98.7700", 1: "1.2300"}
    listed = erin.ok("/portfolio/intra_exchange_instance_transfers")["transfers"]
    expected = {"transfer_id": transfer_id, "source": "event_contract", "destination": "event_contract", "source_exchange_shard": 0,
                "destination_exchange_shard": 0, "amount": "1.2300", "status": "complete"}
    assert len(listed) == 1 and {k: listed[0][k] for k in expected} == expected
    assert erin.ok(f"/portfolio/intra_exchange_instance_transfers/{transfer_id}")["transfer"] == listed[0]
    assert erin.ok("/portfolio/subaccounts/transfers")["transfers"][0]["amount_cents"] == 123
    assert erin.call("GET", f"/portfolio/intra_exchange_instance_transfers/{uuid.uuid4()}").status == 404
    assert server.request("GET", f"/trade-api/v2/portfolio/intra_exchange_instance_transfers/{transfer_id}").status == 401
    for bad in ({**body, "destination": "margined"}, {**body, "destination_exchange_shard": 1}, {**body, "amount": 12_345},
                {**body, "destination_subaccount": 0}, {**body, "client_transfer_id": str(uuid.uuid4())},
                {**body, "amount": 1_000_000_000}, {**body, "destination_subaccount": 2}, {**body, "source": "spot"}):
        reply = erin.call("POST", "/portfolio/intra_exchange_instance_transfer", bad)
        assert reply.status == 400, (bad, reply)
    assert _balances(erin) == {0: "98.7700", 1: "1.2300"}
    assert erin.ok("/portfolio/target_balance_allocation") == {
        "allocations": [{"exchange_index": 0, "percent": 100}], "resting_margin_reservation": "sum"}
    allocate = "/portfolio/target_balance_allocation"
    assert erin.call("POST", allocate, {"allocations": [{"exchange_index": 0, "percent": 100}]}).status == 200
    assert erin.call("POST", allocate, {"allocations": [{"exchange_index": 0, "percent": 100}, {"exchange_index": 2, "percent": 0}],
                                        "resting_margin_reservation": "sum"}).status == 200
    for bad_allocation in ({"allocations": [{"exchange_index": 0, "percent": 60}, {"exchange_index": 1, "percent": 40}]},
                           {"allocations": [{"exchange_index": 0, "percent": 90}]}, {"allocations": []},
                           {"allocations": [{"exchange_index": 0, "percent": 100}], "resting_margin_reservation": "max"},
                           {"allocations": [{"exchange_index": 0, "percent": 100}], "resting_margin_reservation": "all"}):
        assert erin.call("POST", allocate, bad_allocation).status == 400, bad_allocation


def test_usage_level_volume_progress_and_the_upgrade_to_advanced(server: RunningServer, story: dict[str, Any]) -> None:
    """alice traded 10 contracts (in subaccount 1) against bob's 10: her 30-day volume is 10.00; the
    exchange's includes every test's trades in this module, and the goals are its 3.75% and 7.5%."""
    alice: Trader = story["alice"]
    [progress] = alice.ok("/account/api_usage_level/volume_progress")["volume_progress"]
    assert progress["trailing_30d_volume_fp"] == "10.00" and isinstance(progress["computed_ts"], int)
    exchange = server.app.exchange
    assert exchange is not None
    [(total,)] = exchange.store.query("SELECT SUM(count_centicontracts) FROM trades", [])
    def goal(numerator: int, denominator: int) -> str:  # centicontracts, rounded up, as a 2-decimal count
        centi = -(-total * numerator // denominator)
        return f"{centi // 100}.{centi % 100:02d}"

    assert total >= 1_000 and [(g["level"], g["earn_volume_goal_fp"], g["keep_volume_goal_fp"]) for g in progress["goals"]] == [
        ("premier", goal(3, 80), goal(3, 80)), ("prime", goal(3, 40), goal(3, 40))]
    newcomer = new_trader(server, "newcomer", 1_000, tier="basic")
    refused = newcomer.call("POST", "/account/api_usage_level/upgrade")
    assert refused.status == 403 and newcomer.ok("/account/limits")["usage_tier"] == "basic", refused
    [ticker] = make_markets(server)
    newcomer.rest(ticker, "bid", "1", "0.0100")
    assert newcomer.call("POST", "/account/api_usage_level/upgrade").status == 201
    assert newcomer.ok("/account/limits")["usage_tier"] == "advanced"
    assert newcomer.call("POST", "/account/api_usage_level/upgrade").status == 201  # already there: nothing changes
    assert alice.call("POST", "/account/api_usage_level/upgrade").status == 201
    assert alice.ok("/account/limits")["usage_tier"] == "prestige"
