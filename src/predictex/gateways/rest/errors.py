"""The one table from engine refusals to HTTP: status, Kalshi's error code, and a short message; the
refusal's own detail becomes `details`, with what it names written as wire UUIDs. Every REST gateway
answers refusals through `reject_error`."""

from __future__ import annotations

from predictex.core.rejects import Reject, RejectCode, Subject
from predictex.gateways.rest.wire import ApiError
from predictex.server import ids
from predictex.server.ids import Ids

_TABLE: dict[RejectCode, tuple[int, str, str]] = {
    RejectCode.INVALID_PARAMETERS: (400, "invalid_parameters", "invalid parameters"),
    RejectCode.ACCOUNT_NOT_FOUND: (404, "not_found", "account not found"),
    RejectCode.MARKET_NOT_FOUND: (404, "market_not_found", "market not found"),
    RejectCode.EVENT_NOT_FOUND: (404, "not_found", "event not found"),
    RejectCode.SERIES_NOT_FOUND: (404, "not_found", "series not found"),
    RejectCode.ORDER_NOT_FOUND: (404, "not_found", "order not found"),
    RejectCode.ORDER_GROUP_NOT_FOUND: (404, "not_found", "order group not found"),
    RejectCode.WITHDRAWAL_NOT_FOUND: (404, "not_found", "withdrawal not found"),
    RejectCode.ALREADY_EXISTS: (409, "already_exists", "already exists"),
    RejectCode.INVALID_PRICE: (400, "invalid_price", "invalid price"),
    RejectCode.INVALID_ORDER_SIZE: (400, "invalid_order_size", "invalid order size"),
    RejectCode.INVALID_EXPIRATION: (400, "invalid_parameters", "invalid expiration"),
    RejectCode.INVALID_ORDER: (400, "invalid_order", "invalid order"),
    RejectCode.ORDER_ALREADY_EXISTS: (409, "order_already_exists", "order already exists"),
    RejectCode.ORDER_TICKER_MISMATCH: (400, "order_ticker_mismatch", "order ticker mismatch"),
    RejectCode.ORDER_SIDE_MISMATCH: (400, "order_side_mismatch", "order side mismatch"),
    RejectCode.ORDER_NOT_OPEN: (409, "order_not_open", "order is not open"),
    RejectCode.INVALID_AMEND: (400, "invalid_order", "invalid amend"),
    RejectCode.BATCH_TOO_LARGE: (400, "invalid_parameters", "batch too large"),
    RejectCode.INSUFFICIENT_BALANCE: (400, "insufficient_balance", "insufficient balance"),
    RejectCode.OPEN_ORDER_LIMIT: (400, "open_order_limit", "too many open orders"),
    RejectCode.REDUCE_ONLY_NO_POSITION: (400, "invalid_order", "reduce-only order without a position"),
    RejectCode.SELL_POSITION_FLOOR: (400, "invalid_order", "exceeds sell position floor"),
    RejectCode.ORDER_GROUP_LIMIT: (409, "order_group_limit", "order group limit reached"),
    RejectCode.ORDER_GROUP_COUNT_LIMIT: (400, "invalid_parameters", "too many order groups"),
    RejectCode.WITHDRAWAL_TOO_SMALL: (400, "invalid_parameters", "withdrawal too small"),
    RejectCode.POSITION_LIMIT: (400, "position_limit_exceeded", "position limit exceeded"),
    RejectCode.MEMBER_NOT_ELIGIBLE: (403, "member_not_eligible", "the member may not trade"),
    RejectCode.POST_ONLY_CROSS: (400, "invalid_order", "invalid order"),
    RejectCode.FILL_OR_KILL_INSUFFICIENT_VOLUME: (400, "invalid_order", "fill or kill could not fill"),
    RejectCode.BUY_MAX_COST_EXCEEDED: (400, "invalid_order", "buy max cost exceeded"),
    RejectCode.MARKET_NOT_OPEN: (409, "market_not_open", "market is not open"),
    RejectCode.MARKET_PAUSED: (409, "trading_is_paused", "trading is paused"),
    RejectCode.MARKET_CLOSED: (409, "market_closed", "market closed"),
    RejectCode.TRADING_PAUSED: (409, "trading_is_paused", "trading is paused"),
    RejectCode.EXCHANGE_PAUSED: (503, "service_unavailable", "exchange is paused"),
    RejectCode.INVALID_TRANSITION: (409, "invalid_transition", "not allowed in the market's current state"),
    RejectCode.RFQ_NOT_FOUND: (404, "not_found", "rfq not found"),
    RejectCode.QUOTE_NOT_FOUND: (404, "not_found", "quote not found"),
    RejectCode.BLOCK_TRADE_NOT_FOUND: (404, "not_found", "block trade proposal not found"),
    RejectCode.OWN_RFQ: (400, "invalid_parameters", "not allowed on your own rfq"),
    RejectCode.RFQ_LIMIT: (409, "conflict", "too many open rfqs"),
    RejectCode.QUOTE_NOT_OPEN: (409, "conflict", "not allowed in the quote's current state"),
    RejectCode.CONFIRM_WINDOW_PASSED: (409, "conflict", "the confirmation window has passed"),
}

# Kalshi's batch items and post-only refusals spell details this way (reference §6.2, §6.5)
_DETAILS: dict[RejectCode, str] = {RejectCode.POST_ONLY_CROSS: "post only cross"}

assert set(_TABLE) == set(RejectCode), "every refusal needs an HTTP answer"


# what a refusal can name, as the kind of wire id clients know it by
_ID_KINDS: dict[Subject, int] = {Subject.ORDER: ids.ORDER, Subject.ORDER_GROUP: ids.ORDER_GROUP, Subject.WITHDRAWAL: ids.WITHDRAWAL,
    Subject.RFQ: ids.RFQ, Subject.QUOTE: ids.QUOTE, Subject.BLOCK_TRADE: ids.BLOCK_TRADE,
}

assert set(_ID_KINDS) == set(Subject), "everything a refusal names needs a wire id"


def public_details(reject: Reject, identities: Ids | None) -> str:
    """A refusal's detail with what it names (an order, order group or withdrawal) as its wire UUID."""
    if identities is None:
        return reject.detail
    return reject.describe(lambda subject, number: identities.to_uuid(_ID_KINDS[subject], number))


def reject_error(reject: Reject, identities: Ids | None = None) -> ApiError:
    status, code, message = _TABLE[reject.code]
    return ApiError(status, code, message, _DETAILS.get(reject.code) or public_details(reject, identities))


def reject_body(reject: Reject, identities: Ids | None = None) -> dict[str, str]:
    """The flat `{code, message, details}` a batch item carries."""
    status, code, message = _TABLE[reject.code]
    del status
    return {"code": code, "message": message, "details": _DETAILS.get(reject.code) or public_details(reject, identities)}
