"""The order: its terms, its progress, its place in a book level and the collateral it holds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from predictex.core.book import Level
    from predictex.core.instruments import Market
    from predictex.core.ledger import Account, AccountMarket

# time in force (the wire's values)
GOOD_TILL_CANCELED: Final = "good_till_canceled"
IMMEDIATE_OR_CANCEL: Final = "immediate_or_cancel"
FILL_OR_KILL: Final = "fill_or_kill"
TIME_IN_FORCE: Final = (GOOD_TILL_CANCELED, IMMEDIATE_OR_CANCEL, FILL_OR_KILL)

# self-trade prevention
STP_TAKER_AT_CROSS: Final = "taker_at_cross"
STP_MAKER: Final = "maker"
STP_TYPES: Final = (STP_TAKER_AT_CROSS, STP_MAKER)

ORDER_TYPE_LIMIT: Final = "limit"
ORDER_TYPE_MARKET: Final = "market"
ORDER_TYPES: Final = (ORDER_TYPE_LIMIT, ORDER_TYPE_MARKET)

ACTION_BUY: Final = "buy"
ACTION_SELL: Final = "sell"

# status (the wire's values)
RESTING: Final = "resting"
CANCELED: Final = "canceled"
EXECUTED: Final = "executed"

# why an order stopped resting without being filled
REASON_CANCELED: Final = "canceled"  # by its owner
REASON_EXPIRED: Final = "expired"  # good-till-date passed
REASON_IMMEDIATE_OR_CANCEL: Final = "immediate_or_cancel"  # remainder of an IoC (or market) order
REASON_SELF_TRADE_TAKER: Final = "self_trade_taker"  # STP taker_at_cross cancelled the incoming order
REASON_SELF_TRADE_MAKER: Final = "self_trade_maker"  # STP maker cancelled the resting order
REASON_ORDER_GROUP: Final = "order_group"  # its group hit its limit, was triggered or deleted
REASON_MARKET_CLOSED: Final = "market_closed"
REASON_PAUSE: Final = "pause"  # cancel_order_on_pause when a pause began
REASON_MARKET_REACTIVATED: Final = "market_reactivated"  # inactive -> active cancels resting orders
REASON_DECREASED: Final = "decreased"  # decreased (or amended) to nothing left
REASON_CANCEL_ALL: Final = "cancel_all"
REASON_SETTLED: Final = "settled"


def outcome_side(is_bid: bool) -> str:
    """A bid buys YES; an ask buys NO (sells YES)."""
    return "yes" if is_bid else "no"


def book_side(is_bid: bool) -> str:
    return "bid" if is_bid else "ask"


def contract_side(is_bid: bool, action: str) -> str:
    """The contract an order buys or sells, in the member's own words: a bid buys YES or sells NO; an
    ask buys NO or sells YES."""
    if is_bid:
        return "yes" if action == ACTION_BUY else "no"
    return "no" if action == ACTION_BUY else "yes"


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
        time_in_force: str,
        expiration_ms: int,
        post_only: bool,
        reduce_only: bool,
        self_trade_prevention: str,
        order_type: str,
        cancel_on_pause: bool,
        client_order_id: str,
        order_group_id: int,
        action: str,
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
        self.status = RESTING
        self.close_reason = ""
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
