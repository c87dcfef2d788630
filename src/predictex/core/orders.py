"""The order: its terms, its progress, its place in a book level and the collateral it holds."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from predictex.core.book import Level
    from predictex.core.instruments import Market
    from predictex.core.ledger import Account, AccountMarket

class TimeInForce(enum.StrEnum):
    GOOD_TILL_CANCELED = "good_till_canceled"
    IMMEDIATE_OR_CANCEL = "immediate_or_cancel"  # what is left after matching is cancelled
    FILL_OR_KILL = "fill_or_kill"  # all at once or nothing


class Action(enum.StrEnum):
    """What the member asked to do with the contract it names (kept for presentation: the book side
    alone decides what the order does)."""

    BUY = "buy"
    SELL = "sell"


class BookSide(enum.StrEnum):
    """A side of the YES book: a bid buys YES, an ask sells YES (buys NO)."""

    BID = "bid"
    ASK = "ask"


class Side(enum.StrEnum):
    """A contract: YES or NO."""

    YES = "yes"
    NO = "no"


class OrderStatus(enum.StrEnum):
    RESTING = "resting"  # open: on the book (or being matched)
    CANCELED = "canceled"  # left the book unfilled or partly filled, for a CloseReason
    EXECUTED = "executed"  # fully filled


class CloseReason(enum.StrEnum):
    """Why an order left the book without filling (NONE: it is open, or was filled)."""

    NONE = ""
    CANCELED = "canceled"  # by its owner
    EXPIRED = "expired"  # good-till-date passed
    IMMEDIATE_OR_CANCEL = "immediate_or_cancel"  # remainder of an IoC (or market) order
    SELF_TRADE_TAKER = "self_trade_taker"  # STP taker_at_cross cancelled the incoming order
    SELF_TRADE_MAKER = "self_trade_maker"  # STP maker cancelled the resting order
    ORDER_GROUP = "order_group"  # its group hit its limit, was triggered or deleted
    MARKET_CLOSED = "market_closed"
    PAUSE = "pause"  # cancel_order_on_pause when a pause began
    MARKET_REACTIVATED = "market_reactivated"  # inactive -> active cancels resting orders
    DECREASED = "decreased"  # decreased (or amended) to nothing left
    CANCEL_ALL = "cancel_all"
    SETTLED = "settled"


# Each value as a name of its own: compiled code reads a module constant directly, where
# `OrderStatus.RESTING` is an attribute lookup on the class (the matching loop tests these per fill).
GOOD_TILL_CANCELED: Final = TimeInForce.GOOD_TILL_CANCELED
IMMEDIATE_OR_CANCEL: Final = TimeInForce.IMMEDIATE_OR_CANCEL
FILL_OR_KILL: Final = TimeInForce.FILL_OR_KILL
ACTION_BUY: Final = Action.BUY
ACTION_SELL: Final = Action.SELL
RESTING: Final = OrderStatus.RESTING
CANCELED: Final = OrderStatus.CANCELED
EXECUTED: Final = OrderStatus.EXECUTED
REASON_NONE: Final = CloseReason.NONE
REASON_CANCELED: Final = CloseReason.CANCELED
REASON_EXPIRED: Final = CloseReason.EXPIRED
REASON_IMMEDIATE_OR_CANCEL: Final = CloseReason.IMMEDIATE_OR_CANCEL
REASON_SELF_TRADE_TAKER: Final = CloseReason.SELF_TRADE_TAKER
REASON_SELF_TRADE_MAKER: Final = CloseReason.SELF_TRADE_MAKER
REASON_ORDER_GROUP: Final = CloseReason.ORDER_GROUP
REASON_MARKET_CLOSED: Final = CloseReason.MARKET_CLOSED
REASON_PAUSE: Final = CloseReason.PAUSE
REASON_MARKET_REACTIVATED: Final = CloseReason.MARKET_REACTIVATED
REASON_DECREASED: Final = CloseReason.DECREASED
REASON_CANCEL_ALL: Final = CloseReason.CANCEL_ALL
REASON_SETTLED: Final = CloseReason.SETTLED

# Commands carry an order's terms as the producer gave them, and a journal keeps them so (a refused
# request included, whatever it said): the engine reads them into these types here, refusing the rest.
TIME_IN_FORCE_BY_VALUE: Final[dict[str, TimeInForce]] = {member.value: member for member in TimeInForce}
ACTION_BY_VALUE: Final[dict[str, Action]] = {member.value: member for member in Action}
ORDER_STATUS_BY_VALUE: Final[dict[str, OrderStatus]] = {member.value: member for member in OrderStatus}
CLOSE_REASON_BY_VALUE: Final[dict[str, CloseReason]] = {member.value: member for member in CloseReason}

# self-trade prevention
STP_TAKER_AT_CROSS: Final = "taker_at_cross"
STP_MAKER: Final = "maker"
STP_TYPES: Final = (STP_TAKER_AT_CROSS, STP_MAKER)

ORDER_TYPE_LIMIT: Final = "limit"
ORDER_TYPE_MARKET: Final = "market"
ORDER_TYPES: Final = (ORDER_TYPE_LIMIT, ORDER_TYPE_MARKET)


def outcome_side(is_bid: bool) -> Side:
    """A bid buys YES; an ask buys NO (sells YES)."""
    return Side.YES if is_bid else Side.NO


def book_side(is_bid: bool) -> BookSide:
    return BookSide.BID if is_bid else BookSide.ASK


def contract_side(is_bid: bool, action: Action) -> Side:
    """The contract an order buys or sells, in the member's own words: a bid buys YES or sells NO; an
    ask buys NO or sells YES."""
    if is_bid:
        return Side.YES if action is Action.BUY else Side.NO
    return Side.NO if action is Action.BUY else Side.YES


class Order:
    """A limit order on one market's book. Prices are YES prices; counts are centicontracts."""

    def __init__(
        self,
        order_id: int,
        account: Account,
        market: Market,
        is_bid: bool,
        price_centicents: int,
        count_centicontracts: int,
        time_in_force: TimeInForce,
        expiration_ms: int,
        post_only: bool,
        reduce_only: bool,
        self_trade_prevention: str,
        order_type: str,
        cancel_on_pause: bool,
        client_order_id: str,
        order_group_id: int,
        action: Action,
        created_ms: int,
    ) -> None:
        self.order_id = order_id
        self.account = account
        self.account_id = account.account_id
        self.market = market
        ticker = market.ticker
        self.holder: AccountMarket | None = None  # the account's record in this market, while resting
        self.ticker = ticker
        self.is_bid = is_bid
        self.price_centicents = price_centicents
        self.initial_count_centicontracts = count_centicontracts
        self.remaining_centicontracts = count_centicontracts
        self.filled_centicontracts = 0
        self.time_in_force = time_in_force
        self.expiration_ms = expiration_ms  # 0 = no expiry
        self.post_only = post_only
        self.reduce_only = reduce_only
        self.self_trade_prevention = self_trade_prevention
        self.order_type = order_type
        self.cancel_on_pause = cancel_on_pause
        self.client_order_id = client_order_id
        self.order_group_id = order_group_id  # 0 = none
        self.action = action  # legacy presentation: what the member asked for (buy/sell)
        self.created_ms = created_ms
        self.updated_ms = created_ms
        self.status: OrderStatus = RESTING
        self.close_reason: CloseReason = REASON_NONE
        # place in the book: time priority and the level's FIFO links
        self.priority = 0
        self.level: Level | None = None
        self.prev: Order | None = None
        self.next: Order | None = None
        # collateral: how much of the remainder closes a position (the rest opens one), the cash
        # locked for it, and the order's balance-rounding accumulator
        self.closing_centicontracts = 0
        self.lock_microdollars = 0
        self.rounding_accumulator_microdollars = 0
        self.maker_fee_per_unit_microdollars = 0  # worst maker fee of one unit at its price, while resting
        # what its fills cost and paid, in the order's own outcome frame
        self.taker_fill_cost_microdollars = 0
        self.maker_fill_cost_microdollars = 0
        self.taker_fees_microdollars = 0
        self.maker_fees_microdollars = 0
        self.taker_filled_centicontracts = 0

    @property
    def total_count_centicontracts(self) -> int:
        """filled + remaining: the size an amend talks about."""
        return self.filled_centicontracts + self.remaining_centicontracts

    @property
    def is_open(self) -> bool:
        return self.status == RESTING

    def __repr__(self) -> str:
        side = "bid" if self.is_bid else "ask"
        return (
            f"Order(#{self.order_id} acct={self.account_id} {self.ticker} {side} "
            f"{self.remaining_centicontracts}@{self.price_centicents} {self.status})"
        )
