"""Kalshi's official Python SDK 3.34.0 (sync and async, unchanged) with subaccounts on predictex: a member
creates a subaccount, moves cash into it, trades in it, and reads balances, positions, fills, orders,
transfers and netting per subaccount; every answer parses into the SDK's own model and every figure is
the hand calculation below, to the cent.

  A and B deposit $100.00 each (series fee type quadratic: makers pay nothing)
  A opens subaccount 1 and moves $30.00 into it (and retries that transfer: nothing moves again)
  B offers 10 YES at $0.40; A's subaccount 1 buys them (taker): $4.00, fee 0.07 x 10 x 0.4 x 0.6 = $0.168
    -> $0.17; subaccount 1 holds $25.83 and 10 YES costing $4.00; the primary account $70.00 and nothing.
  A switches subaccount 1's netting off; B bids 10 at $0.55 and subaccount 1 buys 10 NO at $0.45 (taker,
    fee 0.07 x 10 x 0.55 x 0.45 = $0.17325 -> $0.18): it holds 10 YES costing $4.00 and 10 NO costing $4.50
    (two MarketPositions) and $25.83 - $4.68 = $21.15; switching netting back on is refused while both are
    held. A transfer of $100.00 from the primary account (it holds $70.00) is refused; FCM operations
    answer 403, as Kalshi answers a member who is not an FCM.
  Subaccount 1 asks for a quote on 5; B quotes YES at $0.30; A accepts (no subaccount on the accept: the
    RFQ's), B confirms: subaccount 1 pays $1.50 + $0.08; A sees creator_subaccount 1, B does not.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kalshi_sdk import private_key_pem
from kalshi_sdk_subaccounts import run_subaccounts

from integration.server_fixture import V2, RunningServer, running_server
from integration.trading_helpers import make_markets, new_trader


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("sdk-subaccounts"), environment="prod") as running:
        yield running


@pytest.fixture(scope="module")
def summary(server: RunningServer, python313: Path) -> dict[str, Any]:
    context: dict[str, Any] = {"host": server.base_url + V2, "mode": "v2", "phase": "subaccounts"}
    for sdk in ("sync", "async"):
        [ticker] = make_markets(server, prefix="KXSUB")
        a, b = (new_trader(server, f"sub-{sdk}-{who}", 10_000) for who in ("a", "b"))
        context[sdk] = {"ticker": ticker, "client_order_id": f"sub-{sdk}", "client_transfer_id": str(uuid.uuid4()), "members": {
            who: {"key_id": t.member.credentials.key_id, "private_key_pem": private_key_pem(t.member)} for who, t in (("a", a), ("b", b))}}
    return run_subaccounts(python313, context)


@pytest.mark.parametrize("sdk", ["sync", "async"])
def test_a_subaccount_trades_with_its_own_cash_to_the_cent(summary: dict[str, Any], sdk: str) -> None:
    calls = summary[sdk]
    refused = ("netting_on_refused", "transfer_too_much", "fcm_resting_value", "fcm_subtraders")
    errors = {name: call for name, call in calls.items() if "error" in call and name not in refused}
    assert errors == {}, errors
    assert calls["create_subaccount"] == {"model": "CreateSubaccountResponse", "data": {"subaccount_number": 1}}
    assert calls["transfer"]["data"] == {} and calls["transfer_again"]["data"] == {}
    balances = calls["balances"]
    assert balances["model"] == "GetSubaccountBalancesResponse"
    assert [(b["subaccount_number"], b["balance"], b["exchange_index"]) for b in balances["data"]["subaccount_balances"]] == [
        (0, "70.0000", 0), (1, "25.8300", 0)]
    assert (calls["balance_sub"]["data"]["balance"], calls["balance_primary"]["data"]["balance"]) == (2583, 7000)
    [held] = calls["positions_sub"]["data"]["market_positions"]
    assert (held["position_fp"], held["market_exposure_dollars"], held["fees_paid_dollars"]) == ("10.00", "4.0000", "0.1700")
    assert calls["positions_primary"]["data"]["market_positions"] == []
    [fill] = calls["fills_all"]["data"]["fills"]
    assert (fill["subaccount_number"], fill["count_fp"], fill["yes_price_dollars"], fill["fee_cost"], fill["is_taker"]) == (
        1, "10.00", "0.4000", "0.1700", True)
    assert calls["fills_primary"]["data"]["fills"] == []
    [order] = calls["orders_sub"]["data"]["orders"]
    assert (order["subaccount_number"], order["status"], order["client_order_id"]) == (1, "executed", f"sub-{sdk}")
    assert calls["transfers"]["model"] == "GetSubaccountTransfersResponse"
    [moved] = calls["transfers"]["data"]["transfers"]
    assert (moved["from_subaccount"], moved["to_subaccount"], moved["amount_cents"]) == (0, 1, 3000)
    assert calls["netting"]["data"] == {"netting_configs": [
        {"subaccount_number": 0, "enabled": True, "exchange_index": 0}, {"subaccount_number": 1, "enabled": True, "exchange_index": 0}]}
    assert calls["netting_on"]["model"] is None and calls["netting_off"]["model"] is None
    assert calls["netting_apart"]["data"]["netting_configs"][1] == {"subaccount_number": 1, "enabled": False, "exchange_index": 0}
    assert calls["positions_apart"]["model"] == "GetPositionsResponse"
    apart = calls["positions_apart"]["data"]["market_positions"]
    assert [(p["position_fp"], p["market_exposure_dollars"], p["fees_paid_dollars"]) for p in apart] == [
        ("10.00", "4.0000", "0.3500"), ("-10.00", "4.5000", "0.0000")]
    assert [b["balance"] for b in calls["balances_apart"]["data"]["subaccount_balances"]] == ["70.0000", "21.1500"]
    assert calls["netting_on_refused"]["status"] == 400 and calls["transfer_too_much"]["status"] == 400
    assert calls["intra_transfer"]["model"] == "IntraExchangeInstanceTransferResponse"
    [intra, *_] = calls["intra_transfers"]["data"]["transfers"]  # newest first: the $0.01 back to the primary account
    assert (intra["transfer_id"], intra["amount"], intra["status"], intra["source"]) == (
        calls["intra_transfer"]["data"]["transfer_id"], "0.0100", "complete", "event_contract")
    assert calls["intra_transfer_one"]["data"]["transfer"] == intra
    assert calls["allocation"] == {"model": "GetTargetBalanceAllocationResponse", "data": {
        "allocations": [{"exchange_index": 0, "percent": 100}], "resting_margin_reservation": "sum"}}
    assert calls["allocation_set"]["data"] == {}
    [progress] = calls["volume_progress"]["data"]["volume_progress"]
    assert progress["trailing_30d_volume_fp"] == "20.00" and [g["level"] for g in progress["goals"]] == ["premier", "prime"]
    assert calls["upgrade"] == {"model": None, "data": None}
    assert calls["fcm_resting_value"]["status"] == calls["fcm_subtraders"]["status"] == 403
    assert "ForbiddenException" in calls["fcm_resting_value"]["error"]
    # the RFQ from subaccount 1: 5 YES at $0.30, taker fee 0.07 x 5 x 0.3 x 0.7 = $0.0735 -> $0.08, from
    # the $21.14 left there after the $0.01 moved back to the primary account
    assert calls["accept_sub"]["model"] is None and calls["confirm_for_sub"]["model"] is None
    rfq = calls["rfq_sub_read"]["data"]["rfq"]
    assert (rfq["creator_subaccount"], rfq["status"]) == (1, "closed")
    assert calls["quote_sub_read"]["data"]["quote"]["rfq_creator_subaccount"] == 1
    assert "rfq_creator_subaccount" not in calls["quote_maker_read"]["data"]["quote"]  # the other side never sees it
    assert calls["quote_maker_read"]["data"]["quote"]["creator_subaccount"] == 0
    assert [r["id"] for r in calls["rfqs_sub"]["data"]["rfqs"]] == [calls["rfq_sub"]["data"]["id"]]
    assert calls["rfqs_primary"]["data"]["rfqs"] == []
    assert calls["balance_sub_after_rfq"]["data"]["balance"] == 2114 - 150 - 8
