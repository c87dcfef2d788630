"""Kalshi's official SDK 3.34.0 (sync and async), unchanged, through every communications operation
(kalshi_sdk_communications.py runs them). Every answer must parse into the SDK's own model and every
figure must equal the hand calculation, to the cent:

  deposits $100.00 each (the poor requester $2.00); series fee type quadratic_with_maker_fees
  R asks for 10; M1 quotes yes $0.55 / no $0.40, M2 yes $0.52 / no $0.35; R accepts M1's NO side:
    R buys 10 NO at $0.40 (the trade's YES price $0.60), the taker: $4.00 + fee 0.07 x 10 x 0.6 x 0.4
    = $0.168 -> -$4.17; M1 buys 10 YES at $0.60, the maker: $6.00 + 0.0175 x 10 x 0.24 = $0.042 -> -$6.05
  a block trade in another market: R buys 5 YES at $0.40 from M2, maker side "no" (M2 the maker):
    R $2.00 + 0.07 x 5 x 0.4 x 0.6 = $0.084 -> -$2.09; M2 buys 5 NO at $0.60: $3.00 + $0.021 -> -$3.03
  R: $100 - 4.17 - 2.09 = $93.74; M1: $93.95; M2: $96.97
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kalshi_sdk import SDK_VERSION, private_key_pem
from kalshi_sdk_communications import MEMBERS, run_communications

from integration.server_fixture import V2, RunningServer, running_server
from integration.trading_helpers import make_markets, new_trader

SDKS = ("sync", "async")
CONFIRM_WINDOW_S = 2
RFQ_LIFETIME_S = 12
OBSCURED = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("sdk-communications"), environment="prod",
                        quote_confirm_window_ms=CONFIRM_WINDOW_S * 1000, rfq_lifetime_ms=RFQ_LIFETIME_S * 1000) as running:
        yield running


@pytest.fixture(scope="module")
def summary(server: RunningServer, python313: Path) -> dict[str, Any]:
    context: dict[str, Any] = {"host": server.base_url + V2, "confirm_window_s": CONFIRM_WINDOW_S, "rfq_lifetime_s": RFQ_LIFETIME_S}
    for sdk in SDKS:
        ticker, block_ticker = make_markets(server, 2, prefix="KXRFQ", fee_type="quadratic_with_maker_fees")
        traders = {who: new_trader(server, f"rfq-{sdk}-{who}", 200 if who == "p" else 10_000, key_type="rsa") for who in MEMBERS}
        context[sdk] = {
            "ticker": ticker, "block_ticker": block_ticker,
            "members": {who: {"key_id": t.member.credentials.key_id, "private_key_pem": private_key_pem(t.member)} for who, t in traders.items()},
            "user_ids": {who: t.member.member_id for who, t in traders.items()},
        }
    result = run_communications(python313, context)
    result["context"] = context
    return result


def _calls(summary: dict[str, Any], sdk: str) -> dict[str, Any]:
    calls: dict[str, Any] = summary[sdk]
    return calls


def _ok(calls: dict[str, Any], name: str, model: str | None) -> dict[str, Any]:
    call = calls[name]
    assert "error" not in call, f"{name}: {call}"
    assert call["model"] == model, f"{name}: {call}"
    data: dict[str, Any] = call["data"]
    return data


def _refused(calls: dict[str, Any], name: str, status: int, code: str) -> None:
    call = calls[name]
    assert call.get("status") == status and f'"code":"{code}"' in call["body"].replace(" ", ""), f"{name}: {call}"


def test_the_sdk_versions_are_the_ones_named(summary: dict[str, Any]) -> None:
    assert summary["versions"] == {"sync": SDK_VERSION, "async": SDK_VERSION}


@pytest.mark.parametrize("sdk", SDKS)
def test_one_requests_two_quote_the_requester_accepts_the_maker_confirms(summary: dict[str, Any], sdk: str) -> None:
    calls = _calls(summary, sdk)
    me = _ok(calls, "communications_id", "GetCommunicationsIDResponse")["communications_id"]
    maker = _ok(calls, "m1_communications_id", "GetCommunicationsIDResponse")["communications_id"]
    assert len(me) == 32 and me != maker
    rfq_id = _ok(calls, "create_rfq", "CreateRFQResponse")["id"]
    seen = _ok(calls, "m1_sees_rfqs", "GetRFQsResponse")["rfqs"]
    assert [(r["id"], r["creator_id"], r["contracts_fp"], r["status"]) for r in seen] == [(rfq_id, me, "10.00", "open")]
    assert "creator_user_id" not in seen[0], "a member's user id is private"
    assert _ok(calls, "get_rfq", "GetRFQResponse")["rfq"]["id"] == rfq_id
    _refused(calls, "own_quote", 400, "invalid_parameters")
    q1 = _ok(calls, "create_quote_m1", "CreateQuoteResponse")["id"]
    q2 = _ok(calls, "create_quote_m2", "CreateQuoteResponse")["id"]
    assert {q["id"] for q in _ok(calls, "r_sees_quotes", "GetQuotesResponse")["quotes"]} == {q1, q2}
    assert [q["id"] for q in _ok(calls, "m2_sees_quotes", "GetQuotesResponse")["quotes"]] == [q2], "makers never see each other's quotes"
    _refused(calls, "m2_reads_m1_quote", 404, "not_found")
    _refused(calls, "maker_accepts_own", 400, "invalid_parameters")
    assert _ok(calls, "accept", None) is None
    accepted = _ok(calls, "accepted_quote", "GetQuoteResponse")["quote"]
    assert (accepted["status"], accepted["accepted_side"], accepted["creator_id"], accepted["rfq_creator_id"]) == ("accepted", "no", maker, me)
    assert _ok(calls, "balance_after_accept", "GetBalanceResponse")["balance"] == 10_000, "accepting moves no money"
    assert _ok(calls, "confirm", None) is None
    executed = _ok(calls, "executed_quote", "GetQuoteResponse")["quote"]
    assert (executed["status"], executed["yes_bid_dollars"], executed["no_bid_dollars"], executed["contracts_fp"]) == (
        "executed", "0.5500", "0.4000", "10.00")
    assert executed.get("rfq_creator_order_id") and "creator_order_id" not in executed
    passed = _ok(calls, "passed_over_quote", "GetQuoteResponse")["quote"]
    assert (passed["status"], passed["cancellation_reason"]) == ("cancelled", "rfq_closed")
    assert _ok(calls, "closed_rfq", "GetRFQResponse")["rfq"]["status"] == "closed"
    assert _ok(calls, "r_balance", "GetBalanceResponse")["balance"] == 10_000 - 417
    assert _ok(calls, "m1_balance", "GetBalanceResponse")["balance"] == 10_000 - 605
    [r_position] = _ok(calls, "r_positions", "GetPositionsResponse")["market_positions"]
    [m_position] = _ok(calls, "m1_positions", "GetPositionsResponse")["market_positions"]
    assert (r_position["position_fp"], r_position["fees_paid_dollars"]) == ("-10.00", "0.1700")
    assert (m_position["position_fp"], m_position["fees_paid_dollars"]) == ("10.00", "0.0500")
    [r_fill] = _ok(calls, "r_fills", "GetFillsResponse")["fills"]
    [m_fill] = _ok(calls, "m1_fills", "GetFillsResponse")["fills"]
    assert (r_fill["count_fp"], r_fill["yes_price_dollars"], r_fill["is_taker"], r_fill["fee_cost"]) == ("10.00", "0.6000", True, "0.1700")
    assert (m_fill["count_fp"], m_fill["is_taker"], m_fill["fee_cost"]) == ("10.00", False, "0.0500")
    assert r_fill["order_id"] == executed["rfq_creator_order_id"]


@pytest.mark.parametrize("sdk", SDKS)
def test_refusals_collateral_confirm_window_and_expiry(summary: dict[str, Any], sdk: str) -> None:
    calls = _calls(summary, sdk)
    _refused(calls, "accept_without_collateral", 400, "insufficient_balance")
    assert _ok(calls, "delete_quote", None) is None and _ok(calls, "delete_rfq", None) is None
    assert _ok(calls, "late_accept", None) is None
    _refused(calls, "late_confirm", 409, "conflict")
    lapsed = _ok(calls, "lapsed_quote", "GetQuoteResponse")["quote"]
    assert (lapsed["status"], lapsed["cancellation_reason"]) == ("cancelled", "confirm_timeout")
    _ok(calls, "requote", "CreateQuoteResponse")
    expired = _ok(calls, "expired_rfq", "GetRFQResponse")["rfq"]
    assert (expired["status"], expired["cancellation_reason"], expired["rest_remainder"]) == ("closed", "expired", True)
    _refused(calls, "accept_expired", 404, "not_found")
    assert _ok(calls, "m1_rfqs_after_expiry", "GetRFQsResponse")["rfqs"] == []


@pytest.mark.parametrize("sdk", SDKS)
def test_a_block_trade_is_proposed_and_accepted(summary: dict[str, Any], sdk: str) -> None:
    calls = _calls(summary, sdk)
    users = summary["context"][sdk]["user_ids"]
    proposal = _ok(calls, "propose_block_trade", "ProposeBlockTradeResponse")["block_trade_proposal_id"]
    [pending] = _ok(calls, "m2_sees_proposals", "GetBlockTradeProposalsResponse")["block_trade_proposals"]
    assert (pending["id"], pending["status"], pending["proposer_user_id"], pending["buyer_user_id"], pending["seller_user_id"]) == (
        proposal, "pending", users["r"], "", users["m2"])
    assert (pending["buyer_accepted"], pending["seller_accepted"], pending["price_centi_cents"], pending["centicount"]) == (True, False, 4000, 500)
    assert _ok(calls, "m1_sees_no_proposals", "GetBlockTradeProposalsResponse")["block_trade_proposals"] == []
    assert _ok(calls, "accept_block_trade", None) is None
    [done] = _ok(calls, "executed_proposals", "GetBlockTradeProposalsResponse")["block_trade_proposals"]
    assert (done["status"], done["seller_accepted"], done["seller_user_id"]) == ("executed", True, "")
    assert done.get("buyer_order_id") and "seller_order_id" not in done
    [r_position] = _ok(calls, "r_block_positions", "GetPositionsResponse")["market_positions"]
    [m_position] = _ok(calls, "m2_block_positions", "GetPositionsResponse")["market_positions"]
    assert (r_position["position_fp"], r_position["fees_paid_dollars"]) == ("5.00", "0.0900")
    assert (m_position["position_fp"], m_position["fees_paid_dollars"]) == ("-5.00", "0.0300")
    assert _ok(calls, "r_final_balance", "GetBalanceResponse")["balance"] == 10_000 - 417 - 209
    assert _ok(calls, "m2_final_balance", "GetBalanceResponse")["balance"] == 10_000 - 303
