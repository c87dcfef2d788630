"""Kalshi's communications objects (RFQ, Quote, BlockTradeProposal, as the official SDK 3.34.0's models
read them), for REST and the WebSocket, each written for one viewer: what Kalshi hides from the other
side stays hidden.

- A member's public communications id is pseudonymous: a hash of the exchange's instance id and the
  engine account, so it names nobody and reveals no account number, user id or email.
- An RFQ made with `obscure_creator_id` shows every viewer but its creator the shared placeholder (the
  SHA-256 of empty input) as its creator, in RFQs and in quotes, until a quote on it executes.
- Private fields (user ids, order ids, subaccounts, post_only) appear only for the member they belong to.
- A viewer is a member, named by its primary account; what any of its accounts (its subaccounts) made
  is its own, and shows which subaccount made it. Its communications id is the member's, whichever
  subaccount acts, and the counterparty never learns a subaccount.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from predictex.core.communications import QUOTE_EXECUTED, RFQ_CLOSED
from predictex.core.events import QuoteChanged, RfqChanged
from predictex.gateways.shapes.text import count_fp, dollars, money, optional_rfc3339, rfc3339
from predictex.readmodel.communications import ProposalView, QuoteView, RfqView
from predictex.server import ids
from predictex.server.ids import OBSCURED_COMMUNICATIONS_ID, Ids, communications_id

OBSCURED_ID = OBSCURED_COMMUNICATIONS_ID

Owners = Mapping[int, tuple[int, int]]  # a subaccount's engine account -> (its member's primary account, its number)


def member_of(owners: Owners, account_id: int) -> int:
    """The member (its primary account) an engine account belongs to."""
    found = owners.get(account_id)
    return account_id if found is None else found[0]


def subaccount_of(owners: Owners, account_id: int) -> int:
    """Which of its member's subaccounts an engine account is (0: the primary account)."""
    found = owners.get(account_id)
    return 0 if found is None else found[1]


def member_communications_id(identities: Ids, owners: Owners, account_id: int) -> str:
    return communications_id(identities, member_of(owners, account_id))


def _creator_id(identities: Ids, owners: Owners, rfq: RfqView | None, creator_account_id: int, viewer: int, executed: bool) -> str:
    creator = member_of(owners, creator_account_id)
    if rfq is not None and rfq.event.obscure_creator and viewer != creator and not executed:
        return OBSCURED_ID
    return communications_id(identities, creator)


def rfq_json(identities: Ids, owners: Owners, view: RfqView, viewer: int, viewer_user_id: str) -> dict[str, Any]:
    """`viewer`: the member asking (its primary account)."""
    e = view.event
    out: dict[str, Any] = {
        "id": identities.to_uuid(ids.RFQ, e.rfq_id),
        "creator_id": _creator_id(identities, owners, view, e.account_id, viewer, view.executed),
        "market_ticker": e.ticker,
        "contracts_fp": count_fp(e.count_centicontracts),
        "status": e.status,
        "created_ts": rfc3339(e.created_ms),
        "updated_ts": rfc3339(view.updated_ms),
        "rest_remainder": e.rest_remainder,
    }
    if e.target_cost_microdollars:
        out["target_cost_dollars"] = money(e.target_cost_microdollars)
        out["target_cost_excludes_fees"] = e.target_cost_excludes_fees
    if e.status == RFQ_CLOSED:
        out["cancellation_reason"] = "" if view.executed else view.closed_by
        if view.cancelled_ms:
            out["cancelled_ts"] = rfc3339(view.cancelled_ms)
    if viewer == member_of(owners, e.account_id):
        out["creator_user_id"] = viewer_user_id
        out["creator_subaccount"] = subaccount_of(owners, e.account_id)
    return out


def quote_json(identities: Ids, owners: Owners, view: QuoteView, rfq: RfqView | None, viewer: int, viewer_user_id: str) -> dict[str, Any]:
    """`viewer`: the member asking (its primary account)."""
    e = view.event
    executed = e.status == QUOTE_EXECUTED
    side = e.accepted_side
    if side:
        count = e.yes_count_centicontracts if side == "yes" else e.no_count_centicontracts
    else:
        count = e.yes_count_centicontracts or e.no_count_centicontracts
    out: dict[str, Any] = {
        "id": identities.to_uuid(ids.QUOTE, e.quote_id),
        "rfq_id": identities.to_uuid(ids.RFQ, e.rfq_id),
        "creator_id": member_communications_id(identities, owners, e.account_id),
        "rfq_creator_id": _creator_id(identities, owners, rfq, e.rfq_account_id, viewer, executed),
        "market_ticker": e.ticker,
        "contracts_fp": count_fp(count),
        "yes_bid_dollars": dollars(e.yes_bid_centicents),
        "no_bid_dollars": dollars(e.no_bid_centicents),
        "yes_contracts_fp": count_fp(e.yes_count_centicontracts),
        "no_contracts_fp": count_fp(e.no_count_centicontracts),
        "created_ts": rfc3339(e.created_ms),
        "updated_ts": rfc3339(view.updated_ms),
        "status": e.status,
        "rest_remainder": e.rest_remainder,
    }
    if side:
        out["accepted_side"] = side
    for name, ms in (("accepted_ts", view.accepted_ms), ("confirmed_ts", view.executed_ms), ("executed_ts", view.executed_ms),
                     ("cancelled_ts", view.cancelled_ms)):
        text = optional_rfc3339(ms)
        if text is not None:
            out[name] = text
    if view.cancellation_reason:
        out["cancellation_reason"] = view.cancellation_reason
    if rfq is not None and rfq.event.target_cost_microdollars:
        out["rfq_target_cost_dollars"] = money(rfq.event.target_cost_microdollars)
        out["target_cost_excludes_fees"] = rfq.event.target_cost_excludes_fees
    if viewer == member_of(owners, e.account_id):
        out["creator_user_id"] = viewer_user_id
        out["post_only"] = e.post_only
        out["creator_subaccount"] = subaccount_of(owners, e.account_id)
        if view.maker_order_id:
            out["creator_order_id"] = identities.to_uuid(ids.ORDER, view.maker_order_id)
    if viewer == member_of(owners, e.rfq_account_id):
        out["rfq_creator_user_id"] = viewer_user_id
        out["rfq_creator_subaccount"] = subaccount_of(owners, e.rfq_account_id)
        if view.requester_order_id:
            out["rfq_creator_order_id"] = identities.to_uuid(ids.ORDER, view.requester_order_id)
    return out


def proposal_json(identities: Ids, owners: Owners, view: ProposalView, viewer: int, user_ids: dict[int, str]) -> dict[str, Any]:
    """`user_ids`: the member (user) id of each party's account; a party sees only its own side's.
    `viewer`: the member asking (its primary account)."""
    e = view.event
    is_buyer = viewer == member_of(owners, e.buyer_account_id)
    is_seller = viewer == member_of(owners, e.seller_account_id)
    out: dict[str, Any] = {
        "id": identities.to_uuid(ids.BLOCK_TRADE, e.proposal_id),
        "proposer_user_id": user_ids.get(e.proposer_account_id, ""),
        "buyer_user_id": user_ids.get(e.buyer_account_id, "") if is_buyer else "",
        "seller_user_id": user_ids.get(e.seller_account_id, "") if is_seller else "",
        "market_ticker": e.ticker,
        "price_centi_cents": e.price_centicents,
        "centicount": e.count_centicontracts,
        "maker_side": e.maker_side,
        "expiration_ts": rfc3339(e.expiration_ms),
        "status": e.status,
        "created_ts": rfc3339(e.created_ms),
        "updated_ts": rfc3339(view.updated_ms),
        "buyer_accepted": e.buyer_accepted_ms > 0,
        "seller_accepted": e.seller_accepted_ms > 0,
    }
    for name, ms in (("buyer_accepted_ts", e.buyer_accepted_ms), ("seller_accepted_ts", e.seller_accepted_ms),
                     ("executed_ts", view.executed_ms)):
        text = optional_rfc3339(ms)
        if text is not None:
            out[name] = text
    if is_buyer and view.buyer_order_id:
        out["buyer_order_id"] = identities.to_uuid(ids.ORDER, view.buyer_order_id)
    if is_seller and view.seller_order_id:
        out["seller_order_id"] = identities.to_uuid(ids.ORDER, view.seller_order_id)
    return out



# --- the WebSocket `communications` channel (Kalshi's AsyncAPI: rfq_created, rfq_deleted, quote_created,
# quote_accepted, quote_executed), each body written for one viewer ------------------------------------

def _target(cost_microdollars: int, out: dict[str, Any], name: str) -> None:
    if cost_microdollars:
        out[name] = money(cost_microdollars)


def rfq_message(identities: Ids, owners: Owners, e: RfqChanged, event_ticker: str, viewer: int, time_ms: int) -> dict[str, Any]:
    """rfq_created (status open) or rfq_deleted (closed, for any reason); `viewer`: the member (its
    primary account), 0 for every member but the creator."""
    executed = e.change == "executed"
    creator = member_of(owners, e.account_id)
    obscured = e.obscure_creator and viewer != creator and not executed
    out: dict[str, Any] = {
        "id": identities.to_uuid(ids.RFQ, e.rfq_id),
        "creator_id": OBSCURED_ID if obscured else communications_id(identities, creator),
        "market_ticker": e.ticker,
        "event_ticker": event_ticker,
        "contracts_fp": count_fp(e.count_centicontracts),
    }
    _target(e.target_cost_microdollars, out, "target_cost_dollars")
    if e.status == RFQ_CLOSED:
        out["deleted_ts"] = rfc3339(time_ms)
    else:
        out["created_ts"] = rfc3339(e.created_ms)
    return out


def quote_message(identities: Ids, owners: Owners, e: QuoteChanged, event_ticker: str, rfq_target_cost: int,
                  obscure_requester: bool, viewer: int, time_ms: int, order_id: int = 0, client_order_id: str = "") -> dict[str, Any]:
    """quote_created, quote_accepted or quote_executed (by the quote's change), for the quote's maker or
    its requester (`viewer`: the engine account of that side); an executed one carries the viewer's own
    order, and `subaccount` (Kalshi's AsyncAPI: the viewer's own, never the counterparty's) appears when
    the viewer's side is a subaccount."""
    hidden = obscure_requester and viewer != e.rfq_account_id and e.status != QUOTE_EXECUTED
    out: dict[str, Any] = {
        "quote_id": identities.to_uuid(ids.QUOTE, e.quote_id),
        "rfq_id": identities.to_uuid(ids.RFQ, e.rfq_id),
        "quote_creator_id": member_communications_id(identities, owners, e.account_id),
        "rfq_creator_id": OBSCURED_ID if hidden else member_communications_id(identities, owners, e.rfq_account_id),
        "market_ticker": e.ticker,
    }
    subaccount = subaccount_of(owners, viewer)
    if e.status == QUOTE_EXECUTED:
        out["order_id"] = identities.to_uuid(ids.ORDER, order_id) if order_id else ""
        out["client_order_id"] = client_order_id
        out["executed_ts"] = rfc3339(time_ms)
        if subaccount:
            out["subaccount"] = subaccount
        return out
    out["event_ticker"] = event_ticker
    out["yes_bid_dollars"] = dollars(e.yes_bid_centicents)
    out["no_bid_dollars"] = dollars(e.no_bid_centicents)
    if e.accepted_side:
        out["accepted_side"] = e.accepted_side
        out["contracts_accepted_fp"] = count_fp(e.yes_count_centicontracts if e.accepted_side == "yes" else e.no_count_centicontracts)
    out["yes_contracts_offered_fp"] = count_fp(e.yes_count_centicontracts)
    out["no_contracts_offered_fp"] = count_fp(e.no_count_centicontracts)
    _target(rfq_target_cost, out, "rfq_target_cost_dollars")
    if not e.accepted_side:
        out["created_ts"] = rfc3339(e.created_ms)
    if subaccount:
        out["subaccount"] = subaccount
    return out
