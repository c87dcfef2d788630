"""Kalshi's official Python SDKs 3.34.0 (sync, then async), unchanged, through every communications
operation against a running predictex exchange: one member requests a quote, two members quote, the
requester accepts one, its maker confirms, and the trade executes; a block trade is proposed and
accepted; and the refusals: quoting or accepting one's own, an accept without collateral, a confirm
after the window, a quote whose RFQ expired.

Like kalshi_sdk_trading.py, this file runs inside the SDK virtualenv (`run_communications`, from
pytest, starts it) and prints, per SDK, each call's parsed model and its `to_dict()`, or the error the
SDK raised with its HTTP status. Nothing here imports predictex.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kalshi_sdk_runner as runner

MEMBERS = ("r", "m1", "m2", "p")  # the requester, two makers, a requester with too little cash

Step = runner.Step  # (who, SDK method or "sleep", keyword arguments)
Plan = Generator[Step, Any, None]


def run_communications(python: Path, context: dict[str, Any]) -> dict[str, Any]:
    """Run this file in the SDK virtualenv with `context` (JSON on stdin); its JSON summary."""
    return runner.run_script(python, __file__, context)


def plan(context: dict[str, Any], out: Any) -> Plan:
    ticker, block_ticker = context["ticker"], context["block_ticker"]
    out.keep("communications_id", (yield ("r", "get_communications_id", {})))
    out.keep("m1_communications_id", (yield ("m1", "get_communications_id", {})))
    rfq = out.keep("create_rfq", (yield ("r", "create_rfq", {"market_ticker": ticker, "contracts": 10, "rest_remainder": False})))
    out.keep("m1_sees_rfqs", (yield ("m1", "get_rfqs", {"market_ticker": ticker})))
    out.keep("get_rfq", (yield ("m1", "get_rfq", {"rfq_id": rfq.id})))
    out.keep("own_quote", (yield ("r", "create_quote", {"rfq_id": rfq.id, "yes_bid": "0.5000", "no_bid": "0.4000", "rest_remainder": False})))
    q1 = out.keep("create_quote_m1", (yield ("m1", "create_quote", {"rfq_id": rfq.id, "yes_bid": "0.5500", "no_bid": "0.4000",
                                                                     "rest_remainder": False})))
    q2 = out.keep("create_quote_m2", (yield ("m2", "create_quote", {"rfq_id": rfq.id, "yes_bid": "0.5200", "no_bid": "0.3500",
                                                                     "rest_remainder": False})))
    out.keep("r_sees_quotes", (yield ("r", "get_quotes", {"rfq_id": rfq.id})))
    out.keep("m2_sees_quotes", (yield ("m2", "get_quotes", {"rfq_id": rfq.id})))
    out.keep("m2_reads_m1_quote", (yield ("m2", "get_quote", {"quote_id": q1.id})))
    out.keep("maker_accepts_own", (yield ("m1", "accept_quote", {"quote_id": q1.id, "accepted_side": "yes"})))
    out.keep("accept", (yield ("r", "accept_rfq_quote", {"rfq_id": rfq.id, "quote_id": q1.id, "accepted_side": "no"})))
    out.keep("accepted_quote", (yield ("m1", "get_rfq_quote", {"rfq_id": rfq.id, "quote_id": q1.id})))
    out.keep("balance_after_accept", (yield ("r", "get_balance", {})))
    out.keep("confirm", (yield ("m1", "confirm_rfq_quote", {"rfq_id": rfq.id, "quote_id": q1.id})))
    out.keep("executed_quote", (yield ("r", "get_quote", {"quote_id": q1.id})))
    out.keep("passed_over_quote", (yield ("m2", "get_rfq_quote", {"rfq_id": rfq.id, "quote_id": q2.id})))
    out.keep("closed_rfq", (yield ("r", "get_rfq", {"rfq_id": rfq.id})))
    for who in ("r", "m1"):
        out.keep(f"{who}_balance", (yield (who, "get_balance", {})))
        out.keep(f"{who}_positions", (yield (who, "get_positions", {"ticker": ticker})))
        out.keep(f"{who}_fills", (yield (who, "get_fills", {"ticker": ticker})))

    # refusals
    poor = out.keep("poor_rfq", (yield ("p", "create_rfq", {"market_ticker": ticker, "contracts": 10, "rest_remainder": False})))
    poor_quote = out.keep("poor_quote", (yield ("m2", "create_quote", {"rfq_id": poor.id, "yes_bid": "0.5500", "no_bid": "0.4000",
                                                                        "rest_remainder": False})))
    out.keep("accept_without_collateral", (yield ("p", "accept_quote", {"quote_id": poor_quote.id, "accepted_side": "yes"})))
    out.keep("delete_quote", (yield ("m2", "delete_rfq_quote", {"rfq_id": poor.id, "quote_id": poor_quote.id})))
    out.keep("delete_rfq", (yield ("p", "delete_rfq", {"rfq_id": poor.id})))
    late = out.keep("late_rfq", (yield ("r", "create_rfq", {"market_ticker": ticker, "contracts": 2, "rest_remainder": True})))
    late_quote = out.keep("late_quote", (yield ("m2", "create_quote", {"rfq_id": late.id, "yes_bid": "0.5000", "no_bid": "0.4500",
                                                                        "rest_remainder": False})))
    out.keep("late_accept", (yield ("r", "accept_quote", {"quote_id": late_quote.id, "accepted_side": "yes"})))
    yield ("r", "sleep", {"seconds": context["confirm_window_s"] + 1})
    out.keep("late_confirm", (yield ("m2", "confirm_quote", {"quote_id": late_quote.id})))
    out.keep("lapsed_quote", (yield ("r", "get_quote", {"quote_id": late_quote.id})))
    requote = out.keep("requote", (yield ("m1", "create_quote", {"rfq_id": late.id, "yes_bid": "0.5000", "no_bid": "0.4500",
                                                                  "rest_remainder": False})))

    # a block trade on a market of its own: the requester buys 5 YES at $0.40 from the second maker
    expiration = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).replace(microsecond=0)
    proposed = out.keep("propose_block_trade", (yield ("r", "propose_block_trade", {
        "buyer_user_id": context["user_ids"]["r"], "seller_user_id": context["user_ids"]["m2"], "market_ticker": block_ticker,
        "price_centi_cents": 4000, "centicount": 500, "maker_side": "no", "expiration_ts": expiration})))
    out.keep("m2_sees_proposals", (yield ("m2", "get_block_trade_proposals", {"market_ticker": block_ticker})))
    out.keep("m1_sees_no_proposals", (yield ("m1", "get_block_trade_proposals", {})))
    out.keep("accept_block_trade", (yield ("m2", "accept_block_trade_proposal", {"block_trade_proposal_id": proposed.block_trade_proposal_id})))
    out.keep("executed_proposals", (yield ("r", "get_block_trade_proposals", {"market_ticker": block_ticker})))
    for who in ("r", "m2"):
        out.keep(f"{who}_block_positions", (yield (who, "get_positions", {"ticker": block_ticker})))
        out.keep(f"{who}_final_balance", (yield (who, "get_balance", {})))

    # the RFQ's lifetime runs out, and its quotes with it
    yield ("r", "sleep", {"seconds": context["rfq_lifetime_s"] + 1})
    out.keep("expired_rfq", (yield ("r", "get_rfq", {"rfq_id": late.id})))
    out.keep("accept_expired", (yield ("r", "accept_quote", {"quote_id": requote.id, "accepted_side": "yes"})))
    out.keep("m1_rfqs_after_expiry", (yield ("m1", "get_rfqs", {"market_ticker": ticker})))


class Recorder:
    """What each call parsed into: {"model", "data"} (the model's to_dict()) or {"error", "status", "body"}."""

    def __init__(self) -> None:
        self.calls: dict[str, Any] = {}

    def keep(self, name: str, result: Any) -> Any:
        if isinstance(result, Exception):
            self.calls[name] = {"error": type(result).__name__, "status": getattr(result, "status", None),
                                "body": str(getattr(result, "body", "") or "")[:500]}
        elif result is None:
            self.calls[name] = {"model": None, "data": None}
        else:
            self.calls[name] = {"model": type(result).__name__, "data": json.loads(json.dumps(result.to_dict(), default=str))}
        return result


def run_sync(context: dict[str, Any]) -> dict[str, Any]:
    import kalshi_python_sync as sdk

    out = Recorder()
    runner.drive_sync({who: runner.client(sdk, context, context["members"][who]) for who in MEMBERS}, plan(context, out))
    return out.calls


async def run_async(context: dict[str, Any]) -> dict[str, Any]:
    import kalshi_python_async as sdk

    out = Recorder()
    await runner.drive_async({who: runner.client(sdk, context, context["members"][who]) for who in MEMBERS}, plan(context, out))
    return out.calls


if __name__ == "__main__":
    runner.main(run_sync, run_async)
