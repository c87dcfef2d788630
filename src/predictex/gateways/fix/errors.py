"""The one table from engine refusals to FIX: OrdRejReason(103) for a refused order, CxlRejReason(102)
for a refused cancel or replace, and Kalshi's Text(58) code (reference §11.5). Every FIX answer to a
refusal goes through `reject_text`, `ord_rej_reason` and `cxl_rej_reason`."""

from __future__ import annotations

from predictex.core.orders import CloseReason
from predictex.core.rejects import Reject, RejectCode, Subject
from predictex.server import ids
from predictex.server.ids import Ids

# code -> (OrdRejReason, CxlRejReason, Text)
_TABLE: dict[RejectCode, tuple[int, int, str]] = {
    RejectCode.INVALID_PARAMETERS: (99, 99, "INVALID_ORDER"),
    RejectCode.ACCOUNT_NOT_FOUND: (15, 99, "CUSTOMER_ACCOUNT_NOT_FOUND"),
    RejectCode.MARKET_NOT_FOUND: (1, 99, "MARKET_NOT_FOUND"),
    RejectCode.EVENT_NOT_FOUND: (1, 99, "MARKET_NOT_FOUND"),
    RejectCode.SERIES_NOT_FOUND: (1, 99, "MARKET_NOT_FOUND"),
    RejectCode.ORDER_NOT_FOUND: (5, 1, "ORDER_NOT_FOUND"),
    RejectCode.ORDER_GROUP_NOT_FOUND: (99, 99, "ORDER_GROUP_NOT_FOUND"),
    RejectCode.WITHDRAWAL_NOT_FOUND: (99, 99, "INVALID_ORDER"),
    RejectCode.ALREADY_EXISTS: (6, 99, "ORDER_ALREADY_EXISTS"),
    RejectCode.INVALID_PRICE: (99, 99, "INVALID_ORDER"),
    RejectCode.INVALID_ORDER_SIZE: (13, 2, "INVALID_ORDER"),
    RejectCode.INVALID_EXPIRATION: (99, 99, "INVALID_ORDER"),
    RejectCode.INVALID_ORDER: (99, 99, "INVALID_ORDER"),
    RejectCode.ORDER_ALREADY_EXISTS: (6, 99, "ORDER_ALREADY_EXISTS"),
    RejectCode.ORDER_TICKER_MISMATCH: (99, 99, "INVALID_ORDER"),
    RejectCode.ORDER_SIDE_MISMATCH: (99, 99, "INVALID_ORDER"),
    RejectCode.ORDER_NOT_OPEN: (99, 0, "CANNOT_UPDATE_FILLED_ORDER"),
    RejectCode.INVALID_AMEND: (99, 2, "INVALID_AMEND_QTY_FOR_ORDER"),
    RejectCode.BATCH_TOO_LARGE: (99, 99, "INVALID_ORDER"),
    RejectCode.INSUFFICIENT_BALANCE: (3, 99, "INSUFFICIENT_BALANCE"),
    RejectCode.OPEN_ORDER_LIMIT: (3, 99, "INVALID_ORDER"),
    RejectCode.REDUCE_ONLY_NO_POSITION: (99, 99, "INVALID_ORDER"),
    RejectCode.SELL_POSITION_FLOOR: (3, 99, "EXCEEDED_SELL_POSITION_FLOOR"),
    RejectCode.ORDER_GROUP_LIMIT: (3, 99, "EXCEEDED_ORDER_GROUP_RISK_LIMIT"),
    RejectCode.ORDER_GROUP_COUNT_LIMIT: (3, 99, "INVALID_ORDER"),
    RejectCode.WITHDRAWAL_TOO_SMALL: (99, 99, "INVALID_ORDER"),
    RejectCode.POSITION_LIMIT: (3, 99, "EXCEEDED_POSITION_LIMIT"),
    RejectCode.MEMBER_NOT_ELIGIBLE: (99, 99, "MEMBER_NOT_ELIGIBLE"),
    RejectCode.POST_ONLY_CROSS: (99, 18, "POST_ONLY_CROSS"),
    RejectCode.FILL_OR_KILL_INSUFFICIENT_VOLUME: (99, 99, "FOK_INSUFFICIENT_VOLUME"),
    RejectCode.BUY_MAX_COST_EXCEEDED: (3, 99, "INVALID_ORDER"),
    RejectCode.MARKET_NOT_OPEN: (2, 99, "MARKET_INACTIVE"),
    RejectCode.MARKET_PAUSED: (2, 99, "TRADING_PAUSED"),
    RejectCode.MARKET_CLOSED: (2, 99, "MARKET_ALREADY_CLOSED"),
    RejectCode.TRADING_PAUSED: (2, 99, "TRADING_PAUSED"),
    RejectCode.EXCHANGE_PAUSED: (2, 99, "EXCHANGE_PAUSED"),
    RejectCode.INVALID_TRANSITION: (99, 99, "INVALID_ORDER"),
    RejectCode.RFQ_NOT_FOUND: (99, 99, "RFQ_NOT_FOUND"),
    RejectCode.QUOTE_NOT_FOUND: (99, 99, "QUOTE_NOT_FOUND"),
    RejectCode.BLOCK_TRADE_NOT_FOUND: (99, 99, "BLOCK_TRADE_NOT_FOUND"),
    RejectCode.OWN_RFQ: (99, 99, "INVALID_QUOTE"),
    RejectCode.RFQ_LIMIT: (99, 99, "RFQ_LIMIT_EXCEEDED"),
    RejectCode.QUOTE_NOT_OPEN: (99, 99, "INVALID_QUOTE_STATE"),
    RejectCode.CONFIRM_WINDOW_PASSED: (99, 99, "QUOTE_CONFIRM_EXPIRED"),
}

assert set(_TABLE) == set(RejectCode), "every refusal needs a FIX answer"

# why an order was cancelled (OrderClosed.reason) -> Text(58) on the cancel report
CLOSE_TEXT: dict[CloseReason, str] = {
    CloseReason.NONE: "", CloseReason.CANCELED: "", CloseReason.EXPIRED: "EXPIRED",
    CloseReason.IMMEDIATE_OR_CANCEL: "IMMEDIATE_OR_CANCELLED",
    CloseReason.SELF_TRADE_TAKER: "TAKER_CANCEL_FOR_SELF_TRADE_PREVENTION",
    CloseReason.SELF_TRADE_MAKER: "MAKER_CANCEL_FOR_SELF_TRADE_PREVENTION", CloseReason.ORDER_GROUP: "ORDER_GROUP_CANCEL",
    CloseReason.MARKET_CLOSED: "MARKET_ALREADY_CLOSED", CloseReason.PAUSE: "TRADING_PAUSED",
    CloseReason.MARKET_REACTIVATED: "MARKET_REACTIVATED", CloseReason.DECREASED: "DECREASED",
    CloseReason.CANCEL_ALL: "MASS_CANCEL", CloseReason.SETTLED: "SETTLED",
}

assert set(CLOSE_TEXT) == set(CloseReason), "every close reason needs a FIX text"


# what a refusal can name, as the kind of wire id (OrderID, the order group's id) clients know it by
_ID_KINDS: dict[Subject, int] = {Subject.ORDER: ids.ORDER, Subject.ORDER_GROUP: ids.ORDER_GROUP, Subject.WITHDRAWAL: ids.WITHDRAWAL,
    Subject.RFQ: ids.RFQ, Subject.QUOTE: ids.QUOTE, Subject.BLOCK_TRADE: ids.BLOCK_TRADE,
}

assert set(_ID_KINDS) == set(Subject), "everything a refusal names needs a wire id"

# refusals whose Text says something does not exist: BusinessRejectReason (380) 1, unknown ID
_NOT_FOUND = frozenset(code for code, (_, _, text) in _TABLE.items() if text.endswith("_NOT_FOUND"))


def reject_text(reject: Reject, identities: Ids) -> str:
    """Kalshi's code, then the engine's detail ("INSUFFICIENT_BALANCE: need $6.50, have $3.20"), with
    what it names written as the wire id (an order's OrderID)."""
    code = _TABLE[reject.code][2]
    detail = reject.describe(lambda subject, number: identities.to_uuid(_ID_KINDS[subject], number))
    return f"{code}: {detail}" if detail else code


def ord_rej_reason(reject: Reject) -> int:
    return _TABLE[reject.code][0]


def cxl_rej_reason(reject: Reject) -> int:
    return _TABLE[reject.code][1]


def business_reject_reason(reject: Reject) -> int:
    """BusinessRejectReason (380): 1 (unknown ID) when what the request names does not exist, else 0."""
    return 1 if reject.code in _NOT_FOUND else 0
