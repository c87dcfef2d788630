"""Refusals are data: one enum of stable codes, grouped by the subsystem that refuses.

A refused command changes nothing. Each gateway maps a code to its own wire form (an HTTP status and
error body, a WebSocket error, a FIX reject) through one table of its own; the engine never knows
about wires. A refusal that names an order, an order group or a withdrawal carries it as data (its
kind and engine number), so a gateway writes it in its own ids; the detail's text is for people and
is never parsed. A broken invariant is not a refusal: it is a bug and raises `InvariantViolation`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable


class RejectCode(enum.Enum):
    # validation: the command is malformed or names something that does not exist
    INVALID_PARAMETERS = "invalid_parameters"
    ACCOUNT_NOT_FOUND = "account_not_found"
    MARKET_NOT_FOUND = "market_not_found"
    EVENT_NOT_FOUND = "event_not_found"
    SERIES_NOT_FOUND = "series_not_found"
    ORDER_NOT_FOUND = "order_not_found"
    ORDER_GROUP_NOT_FOUND = "order_group_not_found"
    WITHDRAWAL_NOT_FOUND = "withdrawal_not_found"
    ALREADY_EXISTS = "already_exists"
    INVALID_PRICE = "invalid_price"
    INVALID_ORDER_SIZE = "invalid_order_size"
    INVALID_EXPIRATION = "invalid_expiration"
    INVALID_ORDER = "invalid_order"
    ORDER_ALREADY_EXISTS = "order_already_exists"
    ORDER_TICKER_MISMATCH = "order_ticker_mismatch"
    ORDER_SIDE_MISMATCH = "order_side_mismatch"
    ORDER_NOT_OPEN = "order_not_open"
    INVALID_AMEND = "invalid_amend"
    BATCH_TOO_LARGE = "batch_too_large"
    RFQ_NOT_FOUND = "rfq_not_found"
    QUOTE_NOT_FOUND = "quote_not_found"
    BLOCK_TRADE_NOT_FOUND = "block_trade_not_found"
    OWN_RFQ = "own_rfq"
    # risk: the account may not take this on
    INSUFFICIENT_BALANCE = "insufficient_balance"
    OPEN_ORDER_LIMIT = "open_order_limit"
    REDUCE_ONLY_NO_POSITION = "reduce_only_no_position"
    SELL_POSITION_FLOOR = "sell_position_floor"
    ORDER_GROUP_LIMIT = "order_group_limit"
    ORDER_GROUP_COUNT_LIMIT = "order_group_count_limit"
    WITHDRAWAL_TOO_SMALL = "withdrawal_too_small"
    POSITION_LIMIT = "position_limit"
    MEMBER_NOT_ELIGIBLE = "member_not_eligible"
    RFQ_LIMIT = "rfq_limit"
    # matching: the book refuses the order as placed
    POST_ONLY_CROSS = "post_only_cross"
    FILL_OR_KILL_INSUFFICIENT_VOLUME = "fill_or_kill_insufficient_volume"
    BUY_MAX_COST_EXCEEDED = "buy_max_cost_exceeded"
    # lifecycle: the market or exchange is not in a state that allows it
    MARKET_NOT_OPEN = "market_not_open"
    MARKET_PAUSED = "market_paused"
    MARKET_CLOSED = "market_closed"
    TRADING_PAUSED = "trading_paused"
    EXCHANGE_PAUSED = "exchange_paused"
    INVALID_TRANSITION = "invalid_transition"
    QUOTE_NOT_OPEN = "quote_not_open"
    CONFIRM_WINDOW_PASSED = "confirm_window_passed"

    @property
    def subsystem(self) -> str:
        return _SUBSYSTEM[self]


_VALIDATION = {
    RejectCode.INVALID_PARAMETERS, RejectCode.ACCOUNT_NOT_FOUND, RejectCode.MARKET_NOT_FOUND,
    RejectCode.EVENT_NOT_FOUND, RejectCode.SERIES_NOT_FOUND, RejectCode.ORDER_NOT_FOUND,
    RejectCode.ORDER_GROUP_NOT_FOUND, RejectCode.WITHDRAWAL_NOT_FOUND, RejectCode.ALREADY_EXISTS,
    RejectCode.INVALID_PRICE, RejectCode.INVALID_ORDER_SIZE, RejectCode.INVALID_EXPIRATION,
    RejectCode.INVALID_ORDER, RejectCode.ORDER_ALREADY_EXISTS, RejectCode.ORDER_TICKER_MISMATCH,
    RejectCode.ORDER_SIDE_MISMATCH, RejectCode.ORDER_NOT_OPEN, RejectCode.INVALID_AMEND,
    RejectCode.BATCH_TOO_LARGE, RejectCode.RFQ_NOT_FOUND, RejectCode.QUOTE_NOT_FOUND, RejectCode.BLOCK_TRADE_NOT_FOUND,
    RejectCode.OWN_RFQ,
}
_RISK = {
    RejectCode.INSUFFICIENT_BALANCE, RejectCode.OPEN_ORDER_LIMIT, RejectCode.REDUCE_ONLY_NO_POSITION,
    RejectCode.SELL_POSITION_FLOOR, RejectCode.ORDER_GROUP_LIMIT, RejectCode.ORDER_GROUP_COUNT_LIMIT,
    RejectCode.WITHDRAWAL_TOO_SMALL, RejectCode.RFQ_LIMIT, RejectCode.POSITION_LIMIT,
    RejectCode.MEMBER_NOT_ELIGIBLE,
}
_MATCHING = {
    RejectCode.POST_ONLY_CROSS, RejectCode.FILL_OR_KILL_INSUFFICIENT_VOLUME,
    RejectCode.BUY_MAX_COST_EXCEEDED,
}
_SUBSYSTEM: dict[RejectCode, str] = {}
for _code in RejectCode:
    if _code in _VALIDATION:
        _SUBSYSTEM[_code] = "validation"
    elif _code in _RISK:
        _SUBSYSTEM[_code] = "risk"
    elif _code in _MATCHING:
        _SUBSYSTEM[_code] = "matching"
    else:
        _SUBSYSTEM[_code] = "lifecycle"


class Subject(enum.Enum):
    """What a refusal can name by the engine's number; clients know these by the gateway's own ids."""

    ORDER = "order"
    ORDER_GROUP = "order_group"
    WITHDRAWAL = "withdrawal"
    RFQ = "rfq"
    QUOTE = "quote"
    BLOCK_TRADE = "block_trade"


class Reject:
    """A refusal: a stable code and the detail a client needs ("need $6.50, have $3.20").

    When the detail names something (`subject`, by its engine `number`), `before` and `after` are the
    text around the name and `detail` is that text with the number in it ("no open order 24");
    `describe` writes the name another way (a gateway's wire id) without looking into the text."""

    def __init__(
        self, code: RejectCode, detail: str, subject: Subject | None = None, number: int = 0, before: str = "", after: str = "",
    ) -> None:
        self.code = code
        self.detail = detail
        self.subject = subject
        self.number = number
        self.before = before
        self.after = after

    def describe(self, name: Callable[[Subject, int], str]) -> str:
        """The detail, with what it names written by `name(subject, number)`."""
        if self.subject is None:
            return self.detail
        return self.before + name(self.subject, self.number) + self.after

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reject) and other.code is self.code and other.detail == self.detail

    def __hash__(self) -> int:
        return hash((self.code, self.detail))

    def __repr__(self) -> str:
        return f"Reject({self.code.value}: {self.detail})"


class Rejected(Exception):
    """Raised inside the engine before anything has changed; `Engine.apply` turns it into a Reject.
    `naming` makes one whose detail names an order, order group or withdrawal."""

    def __init__(
        self, code: RejectCode, detail: str, subject: Subject | None = None, number: int = 0, before: str = "", after: str = "",
    ) -> None:
        super().__init__(f"{code.value}: {detail}")
        self.code = code
        self.detail = detail
        self.subject = subject
        self.number = number
        self.before = before
        self.after = after

    def reject(self) -> Reject:
        return Reject(self.code, self.detail, self.subject, self.number, self.before, self.after)


def naming(code: RejectCode, before: str, subject: Subject, number: int, after: str = "") -> Rejected:
    """A refusal whose detail is `before`, the subject's number, then `after` ("no open order 24")."""
    return Rejected(code, f"{before}{number}{after}", subject, number, before, after)


class InvariantViolation(Exception):
    """A conservation law or structural invariant does not hold: a bug, never a refusal."""
