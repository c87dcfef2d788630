"""Kalshi's official SDKs, unchanged, trading a full session against a running predictex exchange:
kalshi-python-sync and kalshi-python-async 3.34.0 on the current (V2) order endpoints, and 3.21.0
(the last release that has them) on the legacy `POST /portfolio/orders` family — see
kalshi_sdk_trading.py. Four sessions (two generations x sync/async), each with two members of its
own in a market of its own: fund, rest and cross, amend, decrease, cancel, batch create and cancel,
an order group that hits its limit, fills, positions, balance; the operator settles the market; the
settlement reads back. Every response must parse into the SDK's own model, and every number must
equal the hand calculation below, to the cent.

  deposits $100.00 each, series fee type quadratic (makers pay nothing)
  A bids 10 @ $0.40; B sells 4 into it (taker): B opens 4 NO at $0.60 = $2.40, fee
    0.07 x 4 x 0.4 x 0.6 = $0.0672 -> change -$2.4672 -> -$2.47 ($0.07 of fees, $0.0175 a contract);
    A pays $1.60 for 4 YES
  A amends to $0.42 (total 10), decreases by 2: 4 left; its queue position is 0
  A offers 5 YES @ $0.70 in a group limited to 3 contracts; B bids 5 @ $0.70 (taker): 3 fill, the
    group triggers and cancels A's offer; B closes 3 NO, each paying $0.30: +$0.90, fee
    0.07 x 3 x 0.7 x 0.3 = $0.0441 -> +$0.8559 -> +$0.85 ($0.05); realized 0.90 - 3/4 x 2.40 = -$0.90;
    A closes 3 YES at $0.70: +$2.10, realized 2.10 - 3/4 x 1.60 = +$0.90
  cancels: everything else. A: $100 - 1.60 + 2.10 = $100.50, +1 YES costing $0.40;
    B: $100 - 2.47 + 0.85 = $98.38, 1 NO costing $0.60, fees $0.12
  the market settles NO: B's NO pays $1.00 ($99.38); A's YES pays nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kalshi_sdk import SDK_VERSION, private_key_pem, sdk_or_fail
from kalshi_sdk_trading import LEGACY_SDK_VERSION, legacy_sdk_python, run_trading

from integration.server_fixture import V2, RunningServer, running_server
from integration.trading_helpers import make_markets, new_trader, settle

GENERATIONS = {"v2": SDK_VERSION, "legacy": LEGACY_SDK_VERSION}
SDKS = ("sync", "async")


@pytest.fixture(scope="module")
def pythons(python313: Path) -> dict[str, Path]:
    return {"v2": python313, "legacy": sdk_or_fail(legacy_sdk_python)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("sdk-trading"), environment="prod") as running:
        yield running


@pytest.fixture(scope="module")
def sessions(server: RunningServer, pythons: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """Both phases of every session: {"v2"|"legacy": {"trade": summary, "settled": summary, "setup": ...}}."""
    results: dict[str, dict[str, Any]] = {}
    for mode, python in pythons.items():
        context: dict[str, Any] = {"host": server.base_url + V2, "mode": mode}
        setup: dict[str, Any] = {}
        for sdk in SDKS:
            [ticker] = make_markets(server, prefix="KXSDK")
            a, b = (new_trader(server, f"{mode}-{sdk}-{who}", 10_000, key_type="rsa") for who in ("a", "b"))
            context[sdk] = {"ticker": ticker, "client_order_id": f"{mode}-{sdk}-first", "members": {
                "a": {"key_id": a.member.credentials.key_id, "private_key_pem": private_key_pem(a.member)},
                "b": {"key_id": b.member.credentials.key_id, "private_key_pem": private_key_pem(b.member)}}}
            setup[sdk] = {"ticker": ticker, "a": a, "b": b}
        trade = run_trading(python, {**context, "phase": "trade"})
        for sdk in SDKS:
            settle(server, setup[sdk]["ticker"], "no")
        results[mode] = {"trade": trade, "settled": run_trading(python, {**context, "phase": "settled"}), "setup": setup}
    return results


def _calls(sessions: dict[str, dict[str, Any]], mode: str, sdk: str, phase: str = "trade") -> dict[str, Any]:
    calls: dict[str, Any] = sessions[mode][phase][sdk]
    failed = {name: call for name, call in calls.items() if "error" in call}
    assert not failed, f"{mode} {sdk}: calls the SDK could not make or parse: {failed}"
    return calls


@pytest.mark.parametrize("mode", ["v2", "legacy"])
def test_the_sdk_versions_are_the_ones_named(sessions: dict[str, dict[str, Any]], mode: str) -> None:
    for phase in ("trade", "settled"):
        assert sessions[mode][phase]["versions"] == {"sync": GENERATIONS[mode], "async": GENERATIONS[mode]}


@pytest.mark.parametrize("sdk", SDKS)
def test_v2_order_entry(sessions: dict[str, dict[str, Any]], sdk: str) -> None:
    calls = _calls(sessions, "v2", sdk)
    assert calls["balance_before"]["data"]["balance"] == 10_000
    resting, crossing = calls["create_resting"], calls["create_crossing"]
    assert resting["model"] == "CreateOrderV2Response"
    assert (resting["data"]["fill_count"], resting["data"]["remaining_count"], resting["data"]["client_order_id"]) == (
        "0.00", "10.00", f"v2-{sdk}-first")
    assert (crossing["data"]["fill_count"], crossing["data"]["remaining_count"], crossing["data"]["average_fill_price"],
            crossing["data"]["average_fee_paid"]) == ("4.00", "0.00", "0.4000", "0.0175")
    assert calls["amend"]["model"] == "AmendOrderV2Response"
    assert (calls["amend"]["data"]["client_order_id"], calls["amend"]["data"]["remaining_count"]) == (f"v2-{sdk}-first-2", "6.00")
    assert (calls["decrease"]["model"], calls["decrease"]["data"]["remaining_count"]) == ("DecreaseOrderV2Response", "4.00")
    assert (calls["cancel"]["model"], calls["cancel"]["data"]["reduced_by"]) == ("CancelOrderV2Response", "4.00")
    assert calls["group_order"]["data"]["remaining_count"] == "5.00"
    assert (calls["group_lift"]["data"]["fill_count"], calls["group_lift"]["data"]["remaining_count"]) == ("3.00", "2.00")
    assert calls["b_cancel"] == {"model": None, "data": None}  # cancel-all: 204, no body
    batch = calls["batch_create"]
    assert batch["model"] == "BatchCreateOrdersV2Response"
    ok, bad = batch["data"]["orders"]
    assert (ok["client_order_id"], ok["remaining_count"], bad["client_order_id"], bad["error"]["code"]) == (
        "batch-ok", "2.00", "batch-bad", "invalid_price")
    [cancelled] = calls["batch_cancel"]["data"]["orders"]
    assert (cancelled["order_id"], cancelled["reduced_by"]) == (ok["order_id"], "2.00")


@pytest.mark.parametrize("sdk", SDKS)
def test_legacy_order_entry(sessions: dict[str, dict[str, Any]], sdk: str) -> None:
    calls = _calls(sessions, "legacy", sdk)
    resting, crossing = calls["create_resting"], calls["create_crossing"]
    assert resting["model"] == "CreateOrderResponse" and resting["data"]["order"]["status"] == "resting"
    order = crossing["data"]["order"]
    assert (order["status"], order["fill_count_fp"], order["taker_fees_dollars"], order["taker_fill_cost_dollars"], order["side"]) == (
        "executed", "4.00", "0.0700", "2.4000", "no")
    amended = calls["amend"]
    assert amended["model"] == "AmendOrderResponse"
    assert (amended["data"]["old_order"]["yes_price_dollars"], amended["data"]["order"]["yes_price_dollars"]) == ("0.4000", "0.4200")
    assert amended["data"]["order"]["client_order_id"] == f"legacy-{sdk}-first-2"
    assert (calls["decrease"]["model"], calls["decrease"]["data"]["order"]["remaining_count_fp"]) == ("DecreaseOrderResponse", "4.00")
    cancel = calls["cancel"]
    assert (cancel["model"], cancel["data"]["order"]["status"], cancel["data"]["order"]["fill_count_fp"]) == (
        "CancelOrderResponse", "canceled", "4.00")
    assert calls["group_order"]["data"]["order"]["status"] == "resting"
    assert calls["group_lift"]["data"]["order"]["fill_count_fp"] == "3.00"
    assert calls["b_cancel"]["data"]["order"]["status"] == "canceled"
    ok, bad = calls["batch_create"]["data"]["orders"]
    assert (ok["order"]["status"], bad.get("order"), bad["error"]["code"], bad["client_order_id"]) == (
        "resting", None, "invalid_price", "batch-bad")
    [cancelled] = calls["batch_cancel"]["data"]["orders"]
    assert (cancelled["order_id"], cancelled["order"]["status"]) == (ok["order"]["order_id"], "canceled")


@pytest.mark.parametrize("mode", ["v2", "legacy"])
@pytest.mark.parametrize("sdk", SDKS)
def test_groups_queues_and_reads(sessions: dict[str, dict[str, Any]], mode: str, sdk: str) -> None:
    calls = _calls(sessions, mode, sdk)
    ticker = sessions[mode]["setup"][sdk]["ticker"]
    assert calls["queue_position"]["data"]["queue_position_fp"] == "0.00"
    assert [q["market_ticker"] for q in calls["queue_positions"]["data"]["queue_positions"]] == [ticker]
    assert calls["group_create"]["model"] == "CreateOrderGroupResponse"
    group_id = calls["group_create"]["data"]["order_group_id"]
    assert calls["group_get"]["data"]["orders"] == []  # the limit was hit: its order is gone
    assert group_id in [g["id"] for g in calls["group_list"]["data"]["order_groups"]]
    for step in ("group_limit", "group_reset", "group_trigger", "group_delete"):
        assert "error" not in calls[step], step
    order = calls["get_order"]["data"]["order"]
    assert (order["status"], order["fill_count_fp"], order["remaining_count_fp"], order["yes_price_dollars"]) == (
        "canceled", "4.00", "0.00", "0.4200")
    assert (order["maker_fill_cost_dollars"], order["maker_fees_dollars"]) == ("1.6000", "0.0000")
    orders = calls["orders"]["data"]["orders"]
    assert len(orders) == 3 and all(o["ticker"] == ticker for o in orders)  # bid, group offer, batch offer
    assert len(calls["orders_canceled"]["data"]["orders"]) == 1 and calls["orders_canceled"]["data"]["cursor"]
    fills_a = [(f["count_fp"], f["yes_price_dollars"], f["is_taker"], f["fee_cost"]) for f in calls["fills_a"]["data"]["fills"]]
    assert fills_a == [("3.00", "0.7000", False, "0.0000"), ("4.00", "0.4000", False, "0.0000")]
    fills_b = [(f["count_fp"], f["outcome_side"], f["is_taker"], f["fee_cost"]) for f in calls["fills_b"]["data"]["fills"]]
    assert fills_b == [("3.00", "yes", True, "0.0500"), ("4.00", "no", True, "0.0700")]
    [position_a] = calls["positions_a"]["data"]["market_positions"]
    assert (position_a["position_fp"], position_a["market_exposure_dollars"], position_a["realized_pnl_dollars"],
            position_a["fees_paid_dollars"]) == ("1.00", "0.4000", "0.9000", "0.0000")
    [position_b] = calls["positions_b"]["data"]["market_positions"]
    assert (position_b["position_fp"], position_b["market_exposure_dollars"], position_b["realized_pnl_dollars"],
            position_b["fees_paid_dollars"]) == ("-1.00", "0.6000", "-0.9000", "0.1200")
    assert (calls["balance_a"]["data"]["balance"], calls["balance_b"]["data"]["balance"]) == (10_050, 9_838)


@pytest.mark.parametrize("mode", ["v2", "legacy"])
@pytest.mark.parametrize("sdk", SDKS)
def test_settlement_reads_back(sessions: dict[str, dict[str, Any]], mode: str, sdk: str) -> None:
    calls = _calls(sessions, mode, sdk, "settled")
    ticker = sessions[mode]["setup"][sdk]["ticker"]
    [a] = calls["settlements_a"]["data"]["settlements"]
    [b] = calls["settlements_b"]["data"]["settlements"]
    assert (a["ticker"], a["market_result"], a["yes_count_fp"], a["yes_total_cost_dollars"], a["revenue"]) == (ticker, "no", "1.00", "0.4000", 0)
    assert (b["market_result"], b["no_count_fp"], b["no_total_cost_dollars"], b["revenue"], b["fee_cost"]) == ("no", "1.00", "0.6000", 100, "0.1200")
    assert calls["unsettled_positions_a"]["data"]["market_positions"] == []
    if mode == "v2":
        [settled_a] = calls["settled_positions_a"]["data"]["market_positions"]
        [settled_b] = calls["settled_positions_b"]["data"]["market_positions"]
        # whole-life P&L: A +0.90 - 0.40 = +$0.50; B -0.90 + (1.00 - 0.60) = -$0.50
        assert (settled_a["realized_pnl_dollars"], settled_b["realized_pnl_dollars"]) == ("0.5000", "-0.5000")
    assert (calls["balance_a"]["data"]["balance"], calls["balance_b"]["data"]["balance"]) == (10_050, 9_938)


def test_the_server_agrees_over_plain_http(server: RunningServer, sessions: dict[str, dict[str, Any]]) -> None:
    """What the SDKs parsed is what the server holds (balances and positions read without an SDK)."""
    for mode in ("v2", "legacy"):
        for sdk in SDKS:
            setup = sessions[mode]["setup"][sdk]
            assert (setup["a"].cash_cents(), setup["b"].cash_cents()) == (10_050, 9_938)
            assert setup["b"].ok(f"/portfolio/settlements?ticker={setup['ticker']}")["settlements"][0]["revenue"] == 100
