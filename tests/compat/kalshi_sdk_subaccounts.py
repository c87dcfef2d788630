"""Kalshi's official Python SDK 3.34.0 (sync and async, unchanged) working with subaccounts on a running
predictex exchange: the script side of test_kalshi_sdk_subaccounts.py.

Run inside the SDK's virtualenv (kalshi_sdk.py makes it), it drives each SDK through one plan for two
members, A and B, in a market of their own, with kalshi_sdk_trading.py's drivers, and prints, for every
call, the SDK model it parsed into and that model's `to_dict()`. Nothing here imports predictex.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kalshi_sdk_runner as runner
import kalshi_sdk_trading as trading
from kalshi_sdk_trading import Plan, Recorder, _ok


def run_subaccounts(python: Path, context: dict[str, Any]) -> dict[str, Any]:
    """Run this file in the SDK virtualenv with `context` (JSON on stdin); its JSON summary."""
    return runner.run_script(python, __file__, context)


def plan_subaccounts(context: dict[str, Any], out: Recorder) -> Plan:
    """A opens subaccount 1 and moves $30.00 into it (then retries the same transfer); B offers 10 YES at
    $0.40; A's subaccount 1 buys them; then every read, per subaccount and for all of them."""
    ticker = context["ticker"]
    created = out.keep("create_subaccount", (yield ("a", "create_subaccount", {})))
    number = created.subaccount_number if _ok(created) else 1
    transfer = {"client_transfer_id": context["client_transfer_id"], "from_subaccount": 0, "to_subaccount": number, "amount_cents": 3000}
    out.keep("transfer", (yield ("a", "apply_subaccount_transfer", transfer)))
    out.keep("transfer_again", (yield ("a", "apply_subaccount_transfer", transfer)))
    out.keep("offer", (yield ("b", "create_order_v2", {
        "ticker": ticker, "side": "ask", "count": "10.00", "price": "0.4000", "time_in_force": "good_till_canceled",
        "self_trade_prevention_type": "taker_at_cross"})))
    out.keep("buy", (yield ("a", "create_order_v2", {
        "ticker": ticker, "side": "bid", "count": "10.00", "price": "0.4000", "time_in_force": "immediate_or_cancel",
        "self_trade_prevention_type": "taker_at_cross", "subaccount": number, "client_order_id": context["client_order_id"]})))
    out.keep("balances", (yield ("a", "get_subaccount_balances", {})))
    out.keep("balance_sub", (yield ("a", "get_balance", {"subaccount": number})))
    out.keep("balance_primary", (yield ("a", "get_balance", {})))
    out.keep("positions_sub", (yield ("a", "get_positions", {"subaccount": number, "ticker": ticker})))
    out.keep("positions_primary", (yield ("a", "get_positions", {"ticker": ticker})))
    out.keep("fills_all", (yield ("a", "get_fills", {"ticker": ticker})))
    out.keep("fills_primary", (yield ("a", "get_fills", {"ticker": ticker, "subaccount": 0})))
    out.keep("orders_sub", (yield ("a", "get_orders", {"ticker": ticker, "subaccount": number})))
    out.keep("transfers", (yield ("a", "get_subaccount_transfers", {})))
    out.keep("netting", (yield ("a", "get_subaccount_netting", {})))
    out.keep("netting_on", (yield ("a", "update_subaccount_netting", {"subaccount_number": number, "enabled": True})))
    out.keep("netting_off", (yield ("a", "update_subaccount_netting", {"subaccount_number": number, "enabled": False})))
    out.keep("netting_apart", (yield ("a", "get_subaccount_netting", {})))
    # netting off: buying 10 NO does not close the 10 YES held; both are held, each paid for
    out.keep("bid", (yield ("b", "create_order_v2", {
        "ticker": ticker, "side": "bid", "count": "10.00", "price": "0.5500", "time_in_force": "good_till_canceled",
        "self_trade_prevention_type": "taker_at_cross"})))
    out.keep("buy_no", (yield ("a", "create_order_v2", {
        "ticker": ticker, "side": "ask", "count": "10.00", "price": "0.5500", "time_in_force": "immediate_or_cancel",
        "self_trade_prevention_type": "taker_at_cross", "subaccount": number})))
    out.keep("positions_apart", (yield ("a", "get_positions", {"subaccount": number, "ticker": ticker})))
    out.keep("balances_apart", (yield ("a", "get_subaccount_balances", {})))
    out.keep("netting_on_refused", (yield ("a", "update_subaccount_netting", {"subaccount_number": number, "enabled": True})))
    out.keep("transfer_too_much", (yield ("a", "apply_subaccount_transfer", {
        **transfer, "client_transfer_id": str(uuid.uuid5(uuid.NAMESPACE_URL, context["client_transfer_id"])), "amount_cents": 10_000})))
    # one exchange instance with one shard: a move between subaccounts, its history, the one allocation
    moved = out.keep("intra_transfer", (yield ("a", "intra_exchange_instance_transfer", {
        "source": "event_contract", "destination": "event_contract", "amount": 100, "source_subaccount": number,
        "destination_subaccount": 0})))
    out.keep("intra_transfers", (yield ("a", "get_intra_exchange_instance_transfers", {})))
    out.keep("intra_transfer_one", (yield ("a", "get_intra_exchange_instance_transfer", {
        "transfer_id": moved.transfer_id if _ok(moved) else "none"})))
    out.keep("allocation", (yield ("a", "get_target_balance_allocation", {})))
    out.keep("allocation_set", (yield ("a", "set_target_balance_allocation", {
        "allocations": [{"exchange_index": 0, "percent": 100}], "resting_margin_reservation": "sum"})))
    out.keep("volume_progress", (yield ("a", "get_account_api_usage_level_volume_progress", {})))
    out.keep("upgrade", (yield ("a", "upgrade_account_api_usage_level", {})))
    # what Kalshi answers a member who is not an FCM
    out.keep("fcm_resting_value", (yield ("a", "get_portfolio_resting_order_total_value", {})))
    out.keep("fcm_subtraders", (yield ("a", "list_fcm_subtraders", {})))
    # an RFQ from subaccount 1: B quotes, A accepts (in the subaccount that asked), B confirms
    rfq = out.keep("rfq_sub", (yield ("a", "create_rfq", {"market_ticker": ticker, "contracts": 5, "rest_remainder": False,
                                                          "subaccount": number})))
    rfq_id = rfq.id if _ok(rfq) else "none"
    quote = out.keep("quote_for_sub", (yield ("b", "create_quote", {"rfq_id": rfq_id, "yes_bid": "0.3000", "no_bid": "0.6000",
                                                                    "rest_remainder": False})))
    quote_id = quote.id if _ok(quote) else "none"
    out.keep("accept_sub", (yield ("a", "accept_rfq_quote", {"rfq_id": rfq_id, "quote_id": quote_id, "accepted_side": "yes"})))
    out.keep("confirm_for_sub", (yield ("b", "confirm_rfq_quote", {"rfq_id": rfq_id, "quote_id": quote_id})))
    out.keep("rfq_sub_read", (yield ("a", "get_rfq", {"rfq_id": rfq_id})))
    out.keep("quote_sub_read", (yield ("a", "get_quote", {"quote_id": quote_id})))
    out.keep("quote_maker_read", (yield ("b", "get_quote", {"quote_id": quote_id})))
    out.keep("rfqs_sub", (yield ("a", "get_rfqs", {"subaccount": number, "status": "closed"})))
    out.keep("rfqs_primary", (yield ("a", "get_rfqs", {"subaccount": 0, "status": "closed"})))
    out.keep("balance_sub_after_rfq", (yield ("a", "get_balance", {"subaccount": number})))


if __name__ == "__main__":
    trading.PHASES["subaccounts"] = plan_subaccounts
    trading.main()
