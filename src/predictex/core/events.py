"""Events: everything the engine changed, enough to drive every surface without asking it again.

Each event class lists its fields in `FIELDS` (the order of the constructor's arguments), which is all
a codec needs to turn it into a list and back. Money is in microdollars, prices in centicents, counts
in centicontracts, times in milliseconds; `is_bid` is the book side (True = bid = buys YES). An
order's time in force, status, action and close reason are core/orders.py's enums, and a market's status
core/instruments.py's; their values are what the journal stores (the codec turns them back into members).
"""

from __future__ import annotations

from typing import ClassVar

from predictex.core.instruments import MarketStatus
from predictex.core.orders import Action, CloseReason, OrderStatus, TimeInForce


class Event:
    TYPE: ClassVar[str] = ""
    FIELDS: ClassVar[tuple[str, ...]] = ()

    def values(self) -> list[object]:
        return [getattr(self, name) for name in self.FIELDS]

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and isinstance(other, type(self)) and self.values() == other.values()

    def __hash__(self) -> int:
        return hash((self.TYPE, repr(self.values())))

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"{type(self).__name__}({inner})"


# --- accounts and money ----------------------------------------------------------------------------


class AccountOpened(Event):
    TYPE = "account_opened"
    FIELDS = ("account_id",)

    def __init__(self, account_id: int) -> None:
        self.account_id = account_id

    def values(self) -> list[object]:
        return [self.account_id]


class Deposited(Event):
    TYPE = "deposited"
    FIELDS = ("account_id", "amount_microdollars", "reference")

    def __init__(self, account_id: int, amount_microdollars: int, reference: str) -> None:
        self.account_id = account_id
        self.amount_microdollars = amount_microdollars
        self.reference = reference

    def values(self) -> list[object]:
        return [self.account_id, self.amount_microdollars, self.reference]


class WithdrawalChanged(Event):
    """A withdrawal was requested (pending), completed (left the exchange) or cancelled (returned)."""

    TYPE = "withdrawal_changed"
    FIELDS = ("withdrawal_id", "account_id", "amount_microdollars", "status")

    def __init__(self, withdrawal_id: int, account_id: int, amount_microdollars: int, status: str) -> None:
        self.withdrawal_id = withdrawal_id
        self.account_id = account_id
        self.amount_microdollars = amount_microdollars
        self.status = status  # pending | completed | cancelled

    def values(self) -> list[object]:
        return [self.withdrawal_id, self.account_id, self.amount_microdollars, self.status]


class SubaccountCreated(Event):
    """The member whose primary account is `account_id` opened subaccount `subaccount_number`, held
    by the engine as account `subaccount_account_id` (an AccountOpened for it comes first)."""

    TYPE = "subaccount_created"
    FIELDS = ("account_id", "subaccount_number", "subaccount_account_id")

    def __init__(self, account_id: int, subaccount_number: int, subaccount_account_id: int) -> None:
        self.account_id = account_id
        self.subaccount_number = subaccount_number
        self.subaccount_account_id = subaccount_account_id

    def values(self) -> list[object]:
        return [self.account_id, self.subaccount_number, self.subaccount_account_id]


class SubaccountTransferred(Event):
    """Cash moved between two of a member's subaccounts (numbers; 0 = primary)."""

    TYPE = "subaccount_transferred"
    FIELDS = ("transfer_id", "account_id", "from_subaccount", "to_subaccount", "amount_microdollars", "client_transfer_id")

    def __init__(
        self, transfer_id: int, account_id: int, from_subaccount: int, to_subaccount: int, amount_microdollars: int,
        client_transfer_id: str,
    ) -> None:
        self.transfer_id = transfer_id
        self.account_id = account_id
        self.from_subaccount = from_subaccount
        self.to_subaccount = to_subaccount
        self.amount_microdollars = amount_microdollars
        self.client_transfer_id = client_transfer_id

    def values(self) -> list[object]:
        return [
            self.transfer_id, self.account_id, self.from_subaccount, self.to_subaccount, self.amount_microdollars,
            self.client_transfer_id,
        ]


class BalanceChanged(Event):
    """An account's balances after the command: available cash, cash locked by resting orders, and
    cash held for pending withdrawals."""

    TYPE = "balance_changed"
    FIELDS = ("account_id", "cash_microdollars", "locked_microdollars", "pending_withdrawal_microdollars")

    def __init__(self, account_id: int, cash_microdollars: int, locked_microdollars: int, pending_withdrawal_microdollars: int) -> None:
        self.account_id = account_id
        self.cash_microdollars = cash_microdollars
        self.locked_microdollars = locked_microdollars
        self.pending_withdrawal_microdollars = pending_withdrawal_microdollars

    def values(self) -> list[object]:
        return [self.account_id, self.cash_microdollars, self.locked_microdollars, self.pending_withdrawal_microdollars]


class PositionChanged(Event):
    """An account's position in one market after the command (signed: + YES, - NO)."""

    TYPE = "position_changed"
    FIELDS = (
        "account_id", "ticker", "position_centicontracts", "position_cost_microdollars",
        "realized_pnl_microdollars", "fees_paid_microdollars", "volume_centicontracts", "total_traded_microdollars",
    )

    def __init__(
        self, account_id: int, ticker: str, position_centicontracts: int, position_cost_microdollars: int,
        realized_pnl_microdollars: int, fees_paid_microdollars: int, volume_centicontracts: int,
        total_traded_microdollars: int,
    ) -> None:
        self.account_id = account_id
        self.ticker = ticker
        self.position_centicontracts = position_centicontracts
        self.position_cost_microdollars = position_cost_microdollars
        self.realized_pnl_microdollars = realized_pnl_microdollars
        self.fees_paid_microdollars = fees_paid_microdollars
        self.volume_centicontracts = volume_centicontracts
        self.total_traded_microdollars = total_traded_microdollars

    def values(self) -> list[object]:
        return [
            self.account_id, self.ticker, self.position_centicontracts, self.position_cost_microdollars,
            self.realized_pnl_microdollars, self.fees_paid_microdollars, self.volume_centicontracts,
            self.total_traded_microdollars,
        ]


class PositionSides(Event):
    """An account without netting: what it holds of each side in one market after the command (follows
    the PositionChanged that gives their difference and summed cost)."""

    TYPE = "position_sides"
    FIELDS = ("account_id", "ticker", "yes_centicontracts", "no_centicontracts", "yes_cost_microdollars", "no_cost_microdollars")

    def __init__(self, account_id: int, ticker: str, yes_centicontracts: int, no_centicontracts: int,
                 yes_cost_microdollars: int, no_cost_microdollars: int) -> None:
        self.account_id = account_id
        self.ticker = ticker
        self.yes_centicontracts = yes_centicontracts
        self.no_centicontracts = no_centicontracts
        self.yes_cost_microdollars = yes_cost_microdollars
        self.no_cost_microdollars = no_cost_microdollars

    def values(self) -> list[object]:
        return [self.account_id, self.ticker, self.yes_centicontracts, self.no_centicontracts, self.yes_cost_microdollars,
                self.no_cost_microdollars]


class SidesSettled(Event):
    """An account without netting at settlement: the two sides it held and their costs (the
    PositionSettled that follows sums them)."""

    TYPE = "sides_settled"
    FIELDS = PositionSides.FIELDS

    def __init__(self, account_id: int, ticker: str, yes_centicontracts: int, no_centicontracts: int,
                 yes_cost_microdollars: int, no_cost_microdollars: int) -> None:
        self.account_id = account_id
        self.ticker = ticker
        self.yes_centicontracts = yes_centicontracts
        self.no_centicontracts = no_centicontracts
        self.yes_cost_microdollars = yes_cost_microdollars
        self.no_cost_microdollars = no_cost_microdollars

    def values(self) -> list[object]:
        return [self.account_id, self.ticker, self.yes_centicontracts, self.no_centicontracts, self.yes_cost_microdollars,
                self.no_cost_microdollars]


class NettingChanged(Event):
    """Netting switched on or off for a member's subaccount (`account_id` is the subaccount's own
    account; `primary_account_id` and `subaccount_number` name it at the edges)."""

    TYPE = "netting_changed"
    FIELDS = ("account_id", "primary_account_id", "subaccount_number", "enabled")

    def __init__(self, account_id: int, primary_account_id: int, subaccount_number: int, enabled: bool) -> None:
        self.account_id = account_id
        self.primary_account_id = primary_account_id
        self.subaccount_number = subaccount_number
        self.enabled = enabled

    def values(self) -> list[object]:
        return [self.account_id, self.primary_account_id, self.subaccount_number, self.enabled]


# --- instruments and lifecycle --------------------------------------------------------------------


class SeriesCreated(Event):
    TYPE = "series_created"
    FIELDS = (
        "ticker", "title", "category", "frequency", "fee_type", "fee_multiplier_bps", "tags",
        "settlement_sources", "contract_url", "contract_terms_url",
    )

    def __init__(
        self, ticker: str, title: str, category: str, frequency: str, fee_type: str, fee_multiplier_bps: int,
        tags: list[str], settlement_sources: list[list[str]], contract_url: str, contract_terms_url: str,
    ) -> None:
        self.ticker = ticker
        self.title = title
        self.category = category
        self.frequency = frequency
        self.fee_type = fee_type
        self.fee_multiplier_bps = fee_multiplier_bps
        self.tags = tags
        self.settlement_sources = settlement_sources
        self.contract_url = contract_url
        self.contract_terms_url = contract_terms_url

    def values(self) -> list[object]:
        return [
            self.ticker, self.title, self.category, self.frequency, self.fee_type, self.fee_multiplier_bps, self.tags,
            self.settlement_sources, self.contract_url, self.contract_terms_url,
        ]


class EventCreated(Event):
    TYPE = "event_created"
    FIELDS = ("event_ticker", "series_ticker", "title", "sub_title", "mutually_exclusive", "strike_date_ms", "strike_period")

    def __init__(
        self, event_ticker: str, series_ticker: str, title: str, sub_title: str, mutually_exclusive: bool,
        strike_date_ms: int, strike_period: str,
    ) -> None:
        self.event_ticker = event_ticker
        self.series_ticker = series_ticker
        self.title = title
        self.sub_title = sub_title
        self.mutually_exclusive = mutually_exclusive
        self.strike_date_ms = strike_date_ms
        self.strike_period = strike_period

    def values(self) -> list[object]:
        return [
            self.event_ticker, self.series_ticker, self.title, self.sub_title, self.mutually_exclusive,
            self.strike_date_ms, self.strike_period,
        ]


class MarketCreated(Event):
    TYPE = "market_created"
    FIELDS = (
        "ticker", "market_number", "event_ticker", "series_ticker", "market_type", "title", "subtitle",
        "yes_sub_title", "no_sub_title", "rules_primary", "rules_secondary", "open_time_ms", "close_time_ms",
        "expected_expiration_ms", "settlement_timer_s", "price_level_structure", "fractional_trading",
        "can_close_early", "strike_type", "floor_strike", "cap_strike", "fee_waiver_expiration_ms",
    )

    def __init__(
        self, ticker: str, market_number: int, event_ticker: str, series_ticker: str, market_type: str, title: str,
        subtitle: str, yes_sub_title: str, no_sub_title: str, rules_primary: str, rules_secondary: str,
        open_time_ms: int, close_time_ms: int, expected_expiration_ms: int, settlement_timer_s: int,
        price_level_structure: str, fractional_trading: bool, can_close_early: bool, strike_type: str,
        floor_strike: str, cap_strike: str, fee_waiver_expiration_ms: int,
    ) -> None:
        self.ticker = ticker
        self.market_number = market_number
        self.event_ticker = event_ticker
        self.series_ticker = series_ticker
        self.market_type = market_type
        self.title = title
        self.subtitle = subtitle
        self.yes_sub_title = yes_sub_title
        self.no_sub_title = no_sub_title
        self.rules_primary = rules_primary
        self.rules_secondary = rules_secondary
        self.open_time_ms = open_time_ms
        self.close_time_ms = close_time_ms
        self.expected_expiration_ms = expected_expiration_ms
        self.settlement_timer_s = settlement_timer_s
        self.price_level_structure = price_level_structure
        self.fractional_trading = fractional_trading
        self.can_close_early = can_close_early
        self.strike_type = strike_type
        self.floor_strike = floor_strike
        self.cap_strike = cap_strike
        self.fee_waiver_expiration_ms = fee_waiver_expiration_ms

    def values(self) -> list[object]:
        return [
            self.ticker, self.market_number, self.event_ticker, self.series_ticker, self.market_type, self.title,
            self.subtitle, self.yes_sub_title, self.no_sub_title, self.rules_primary, self.rules_secondary,
            self.open_time_ms, self.close_time_ms, self.expected_expiration_ms, self.settlement_timer_s,
            self.price_level_structure, self.fractional_trading, self.can_close_early, self.strike_type,
            self.floor_strike, self.cap_strike, self.fee_waiver_expiration_ms,
        ]


class MarketTimesChanged(Event):
    TYPE = "market_times_changed"
    FIELDS = ("ticker", "open_time_ms", "close_time_ms")

    def __init__(self, ticker: str, open_time_ms: int, close_time_ms: int) -> None:
        self.ticker = ticker
        self.open_time_ms = open_time_ms
        self.close_time_ms = close_time_ms

    def values(self) -> list[object]:
        return [self.ticker, self.open_time_ms, self.close_time_ms]


class MarketStatusChanged(Event):
    """A lifecycle transition. `reason` says what drove it (open_time, close_time, paused, resumed,
    reopened, determined, disputed, amended, finalized)."""

    TYPE = "market_status_changed"
    FIELDS = ("ticker", "previous_status", "status", "reason")

    def __init__(self, ticker: str, previous_status: MarketStatus, status: MarketStatus, reason: str) -> None:
        self.ticker = ticker
        self.previous_status = previous_status
        self.status = status
        self.reason = reason

    def values(self) -> list[object]:
        return [self.ticker, self.previous_status, self.status, self.reason]


class MarketDetermined(Event):
    """A result was set (or amended). `settlement_value_centicents` is the YES payout (-1 for void:
    positions are refunded at cost); `settle_at_ms` is when the settlement timer runs out."""

    TYPE = "market_determined"
    FIELDS = ("ticker", "result", "settlement_value_centicents", "source", "settle_at_ms")

    def __init__(self, ticker: str, result: str, settlement_value_centicents: int, source: str, settle_at_ms: int) -> None:
        self.ticker = ticker
        self.result = result
        self.settlement_value_centicents = settlement_value_centicents
        self.source = source
        self.settle_at_ms = settle_at_ms

    def values(self) -> list[object]:
        return [self.ticker, self.result, self.settlement_value_centicents, self.source, self.settle_at_ms]


class PositionSettled(Event):
    """One account's settlement record: the position it held, what it had paid for it, what it was paid
    and the trade fees it had paid in the market."""

    TYPE = "position_settled"
    FIELDS = (
        "account_id", "ticker", "result", "position_centicontracts", "position_cost_microdollars",
        "payout_microdollars", "fees_paid_microdollars", "rounding_microdollars",
    )

    def __init__(
        self, account_id: int, ticker: str, result: str, position_centicontracts: int, position_cost_microdollars: int,
        payout_microdollars: int, fees_paid_microdollars: int, rounding_microdollars: int,
    ) -> None:
        self.account_id = account_id
        self.ticker = ticker
        self.result = result
        self.position_centicontracts = position_centicontracts
        self.position_cost_microdollars = position_cost_microdollars
        self.payout_microdollars = payout_microdollars
        self.fees_paid_microdollars = fees_paid_microdollars
        self.rounding_microdollars = rounding_microdollars

    def values(self) -> list[object]:
        return [
            self.account_id, self.ticker, self.result, self.position_centicontracts, self.position_cost_microdollars,
            self.payout_microdollars, self.fees_paid_microdollars, self.rounding_microdollars,
        ]


class ExchangeStatusChanged(Event):
    TYPE = "exchange_status_changed"
    FIELDS = ("exchange_active", "trading_active")

    def __init__(self, exchange_active: bool, trading_active: bool) -> None:
        self.exchange_active = exchange_active
        self.trading_active = trading_active

    def values(self) -> list[object]:
        return [self.exchange_active, self.trading_active]


class FeeChangeScheduled(Event):
    """The operator scheduled a series fee change (`event_ticker` empty) or an event fee override
    ("" / -1 in an override: cleared, the series' applies). It takes effect at `effective_ms`."""

    TYPE = "fee_change_scheduled"
    FIELDS = ("change_id", "series_ticker", "event_ticker", "fee_type", "fee_multiplier_bps", "effective_ms")

    def __init__(
        self, change_id: int, series_ticker: str, event_ticker: str, fee_type: str, fee_multiplier_bps: int, effective_ms: int,
    ) -> None:
        self.change_id = change_id
        self.series_ticker = series_ticker
        self.event_ticker = event_ticker
        self.fee_type = fee_type
        self.fee_multiplier_bps = fee_multiplier_bps
        self.effective_ms = effective_ms

    def values(self) -> list[object]:
        return [self.change_id, self.series_ticker, self.event_ticker, self.fee_type, self.fee_multiplier_bps, self.effective_ms]


class FeeChangeApplied(Event):
    """A scheduled fee change took effect (its markets' fee terms are the new ones from here on)."""

    TYPE = "fee_change_applied"
    FIELDS = ("change_id", "series_ticker", "event_ticker", "fee_type", "fee_multiplier_bps")

    def __init__(self, change_id: int, series_ticker: str, event_ticker: str, fee_type: str, fee_multiplier_bps: int) -> None:
        self.change_id = change_id
        self.series_ticker = series_ticker
        self.event_ticker = event_ticker
        self.fee_type = fee_type
        self.fee_multiplier_bps = fee_multiplier_bps

    def values(self) -> list[object]:
        return [self.change_id, self.series_ticker, self.event_ticker, self.fee_type, self.fee_multiplier_bps]


class ComboMarketCreated(Event):
    """A combination market was made (its EventCreated, when new, and MarketCreated come first)."""

    TYPE = "combo_market_created"
    FIELDS = ("collection_ticker", "event_ticker", "market_ticker", "legs")

    def __init__(self, collection_ticker: str, event_ticker: str, market_ticker: str, legs: list[list[str]]) -> None:
        self.collection_ticker = collection_ticker
        self.event_ticker = event_ticker
        self.market_ticker = market_ticker
        self.legs = legs

    def values(self) -> list[object]:
        return [self.collection_ticker, self.event_ticker, self.market_ticker, self.legs]


class MarketTermsChanged(Event):
    """A market's terms changed: [field, new value] pairs (a price_level_structure among them: a new grid)."""

    TYPE = "market_terms_changed"
    FIELDS = ("ticker", "changes")

    def __init__(self, ticker: str, changes: list[list[str]]) -> None:
        self.ticker = ticker
        self.changes = changes

    def values(self) -> list[object]:
        return [self.ticker, self.changes]


class ContentPublished(Event):
    """A document the operator published (an empty body: withdrawn)."""

    TYPE = "content_published"
    FIELDS = ("kind", "key", "body")

    def __init__(self, kind: str, key: str, body: str) -> None:
        self.kind = kind
        self.key = key
        self.body = body

    def values(self) -> list[object]:
        return [self.kind, self.key, self.body]


class ArchiveCutoffChanged(Event):
    """The historical tier's boundaries (ms; 0 = nothing archived): markets settled, trades made and
    orders closed before them are served under /historical and leave the live listings."""

    TYPE = "archive_cutoff_changed"
    FIELDS = ("market_settled_ms", "trades_created_ms", "orders_updated_ms")

    def __init__(self, market_settled_ms: int, trades_created_ms: int, orders_updated_ms: int) -> None:
        self.market_settled_ms = market_settled_ms
        self.trades_created_ms = trades_created_ms
        self.orders_updated_ms = orders_updated_ms

    def values(self) -> list[object]:
        return [self.market_settled_ms, self.trades_created_ms, self.orders_updated_ms]


# --- orders, trades and the book ------------------------------------------------------------------


class OrderAccepted(Event):
    TYPE = "order_accepted"
    FIELDS = (
        "order_id", "account_id", "ticker", "is_bid", "price_centicents", "count_centicontracts",
        "time_in_force", "expiration_ms", "post_only", "reduce_only", "self_trade_prevention", "order_type",
        "cancel_on_pause", "client_order_id", "order_group_id", "action",
    )

    def __init__(
        self, order_id: int, account_id: int, ticker: str, is_bid: bool, price_centicents: int,
        count_centicontracts: int, time_in_force: TimeInForce, expiration_ms: int, post_only: bool, reduce_only: bool,
        self_trade_prevention: str, order_type: str, cancel_on_pause: bool, client_order_id: str,
        order_group_id: int, action: Action,
    ) -> None:
        self.order_id = order_id
        self.account_id = account_id
        self.ticker = ticker
        self.is_bid = is_bid
        self.price_centicents = price_centicents
        self.count_centicontracts = count_centicontracts
        self.time_in_force = time_in_force
        self.expiration_ms = expiration_ms
        self.post_only = post_only
        self.reduce_only = reduce_only
        self.self_trade_prevention = self_trade_prevention
        self.order_type = order_type
        self.cancel_on_pause = cancel_on_pause
        self.client_order_id = client_order_id
        self.order_group_id = order_group_id
        self.action = action

    def values(self) -> list[object]:
        return [
            self.order_id, self.account_id, self.ticker, self.is_bid, self.price_centicents,
            self.count_centicontracts, self.time_in_force, self.expiration_ms, self.post_only, self.reduce_only,
            self.self_trade_prevention, self.order_type, self.cancel_on_pause, self.client_order_id,
            self.order_group_id, self.action,
        ]


class OrderAmended(Event):
    """An order's terms after an amend or decrease. `priority_kept` is False when it went to the back
    of the queue (price changed or size grew)."""

    TYPE = "order_amended"
    FIELDS = (
        "order_id", "account_id", "ticker", "price_centicents", "remaining_centicontracts",
        "client_order_id", "expiration_ms", "priority_kept",
    )

    def __init__(
        self, order_id: int, account_id: int, ticker: str, price_centicents: int, remaining_centicontracts: int,
        client_order_id: str, expiration_ms: int, priority_kept: bool,
    ) -> None:
        self.order_id = order_id
        self.account_id = account_id
        self.ticker = ticker
        self.price_centicents = price_centicents
        self.remaining_centicontracts = remaining_centicontracts
        self.client_order_id = client_order_id
        self.expiration_ms = expiration_ms
        self.priority_kept = priority_kept

    def values(self) -> list[object]:
        return [
            self.order_id, self.account_id, self.ticker, self.price_centicents, self.remaining_centicontracts,
            self.client_order_id, self.expiration_ms, self.priority_kept,
        ]


class OrderClosed(Event):
    """An order left the book: `executed` (fully filled) or `canceled` with a reason; `reduced_by` is
    the count that was still open when it was cancelled. It carries the order's final state, so a
    history of orders needs nothing else."""

    TYPE = "order_closed"
    FIELDS = (
        "order_id", "account_id", "ticker", "status", "reason", "reduced_by_centicontracts", "is_bid",
        "price_centicents", "initial_count_centicontracts", "filled_centicontracts", "time_in_force",
        "expiration_ms", "post_only", "reduce_only", "self_trade_prevention", "order_type", "cancel_on_pause",
        "client_order_id", "order_group_id", "action", "created_ms", "taker_fill_cost_microdollars",
        "maker_fill_cost_microdollars", "taker_fees_microdollars", "maker_fees_microdollars",
    )

    def __init__(
        self, order_id: int, account_id: int, ticker: str, status: OrderStatus, reason: CloseReason,
        reduced_by_centicontracts: int, is_bid: bool, price_centicents: int, initial_count_centicontracts: int,
        filled_centicontracts: int, time_in_force: TimeInForce, expiration_ms: int, post_only: bool, reduce_only: bool,
        self_trade_prevention: str, order_type: str, cancel_on_pause: bool, client_order_id: str, order_group_id: int,
        action: Action,
        created_ms: int, taker_fill_cost_microdollars: int, maker_fill_cost_microdollars: int,
        taker_fees_microdollars: int, maker_fees_microdollars: int,
    ) -> None:
        self.order_id = order_id
        self.account_id = account_id
        self.ticker = ticker
        self.status = status
        self.reason = reason
        self.reduced_by_centicontracts = reduced_by_centicontracts
        self.is_bid = is_bid
        self.price_centicents = price_centicents
        self.initial_count_centicontracts = initial_count_centicontracts
        self.filled_centicontracts = filled_centicontracts
        self.time_in_force = time_in_force
        self.expiration_ms = expiration_ms
        self.post_only = post_only
        self.reduce_only = reduce_only
        self.self_trade_prevention = self_trade_prevention
        self.order_type = order_type
        self.cancel_on_pause = cancel_on_pause
        self.client_order_id = client_order_id
        self.order_group_id = order_group_id
        self.action = action
        self.created_ms = created_ms
        self.taker_fill_cost_microdollars = taker_fill_cost_microdollars
        self.maker_fill_cost_microdollars = maker_fill_cost_microdollars
        self.taker_fees_microdollars = taker_fees_microdollars
        self.maker_fees_microdollars = maker_fees_microdollars

    def values(self) -> list[object]:
        return [
            self.order_id, self.account_id, self.ticker, self.status, self.reason, self.reduced_by_centicontracts,
            self.is_bid, self.price_centicents, self.initial_count_centicontracts, self.filled_centicontracts,
            self.time_in_force, self.expiration_ms, self.post_only, self.reduce_only, self.self_trade_prevention,
            self.order_type, self.cancel_on_pause, self.client_order_id, self.order_group_id, self.action,
            self.created_ms, self.taker_fill_cost_microdollars, self.maker_fill_cost_microdollars,
            self.taker_fees_microdollars, self.maker_fees_microdollars,
        ]


class Trade(Event):
    """A match between a taker and a resting maker, with both sides' fills: the YES price, the count,
    each side's trade fee, balance-rounding fee and rebate, its cash change and position after."""

    TYPE = "trade"
    FIELDS = (
        "trade_id", "ticker", "price_centicents", "count_centicontracts", "taker_is_bid",
        "taker_order_id", "taker_account_id", "maker_order_id", "maker_account_id",
        "taker_fee_microdollars", "maker_fee_microdollars", "taker_rounding_microdollars",
        "maker_rounding_microdollars", "taker_rebate_microdollars", "maker_rebate_microdollars",
        "taker_cash_delta_microdollars", "maker_cash_delta_microdollars",
        "taker_position_centicontracts", "maker_position_centicontracts",
    )

    def __init__(
        self, trade_id: int, ticker: str, price_centicents: int, count_centicontracts: int, taker_is_bid: bool,
        taker_order_id: int, taker_account_id: int, maker_order_id: int, maker_account_id: int,
        taker_fee_microdollars: int, maker_fee_microdollars: int, taker_rounding_microdollars: int,
        maker_rounding_microdollars: int, taker_rebate_microdollars: int, maker_rebate_microdollars: int,
        taker_cash_delta_microdollars: int, maker_cash_delta_microdollars: int,
        taker_position_centicontracts: int, maker_position_centicontracts: int,
    ) -> None:
        self.trade_id = trade_id
        self.ticker = ticker
        self.price_centicents = price_centicents
        self.count_centicontracts = count_centicontracts
        self.taker_is_bid = taker_is_bid
        self.taker_order_id = taker_order_id
        self.taker_account_id = taker_account_id
        self.maker_order_id = maker_order_id
        self.maker_account_id = maker_account_id
        self.taker_fee_microdollars = taker_fee_microdollars
        self.maker_fee_microdollars = maker_fee_microdollars
        self.taker_rounding_microdollars = taker_rounding_microdollars
        self.maker_rounding_microdollars = maker_rounding_microdollars
        self.taker_rebate_microdollars = taker_rebate_microdollars
        self.maker_rebate_microdollars = maker_rebate_microdollars
        self.taker_cash_delta_microdollars = taker_cash_delta_microdollars
        self.maker_cash_delta_microdollars = maker_cash_delta_microdollars
        self.taker_position_centicontracts = taker_position_centicontracts
        self.maker_position_centicontracts = maker_position_centicontracts

    def values(self) -> list[object]:
        return [
            self.trade_id, self.ticker, self.price_centicents, self.count_centicontracts, self.taker_is_bid,
            self.taker_order_id, self.taker_account_id, self.maker_order_id, self.maker_account_id,
            self.taker_fee_microdollars, self.maker_fee_microdollars, self.taker_rounding_microdollars,
            self.maker_rounding_microdollars, self.taker_rebate_microdollars, self.maker_rebate_microdollars,
            self.taker_cash_delta_microdollars, self.maker_cash_delta_microdollars,
            self.taker_position_centicontracts, self.maker_position_centicontracts,
        ]

    def fee_paid_microdollars(self, is_taker: bool) -> int:
        """What one side paid on this trade: its trade fee and balance rounding, less its rebate (what
        the fills history records as the fill's fee)."""
        if is_taker:
            return self.taker_fee_microdollars + self.taker_rounding_microdollars - self.taker_rebate_microdollars
        return self.maker_fee_microdollars + self.maker_rounding_microdollars - self.maker_rebate_microdollars


class BookChanged(Event):
    """One price level changed by `delta` to `size_after`; `order_id`/`account_id` name the order
    whose change caused it (so a subscriber can tell its own)."""

    TYPE = "book_changed"
    FIELDS = ("ticker", "is_bid", "price_centicents", "size_after_centicontracts", "delta_centicontracts", "order_id", "account_id")

    def __init__(
        self, ticker: str, is_bid: bool, price_centicents: int, size_after_centicontracts: int,
        delta_centicontracts: int, order_id: int, account_id: int,
    ) -> None:
        self.ticker = ticker
        self.is_bid = is_bid
        self.price_centicents = price_centicents
        self.size_after_centicontracts = size_after_centicontracts
        self.delta_centicontracts = delta_centicontracts
        self.order_id = order_id
        self.account_id = account_id

    def values(self) -> list[object]:
        return [
            self.ticker, self.is_bid, self.price_centicents, self.size_after_centicontracts,
            self.delta_centicontracts, self.order_id, self.account_id,
        ]


# --- order groups ---------------------------------------------------------------------------------


class OrderGroupChanged(Event):
    """created | triggered | reset | deleted | limit_updated (the WS `order_group_updates` event types)."""

    TYPE = "order_group_changed"
    FIELDS = ("order_group_id", "account_id", "change", "contracts_limit_centicontracts")

    def __init__(self, order_group_id: int, account_id: int, change: str, contracts_limit_centicontracts: int) -> None:
        self.order_group_id = order_group_id
        self.account_id = account_id
        self.change = change
        self.contracts_limit_centicontracts = contracts_limit_centicontracts

    def values(self) -> list[object]:
        return [self.order_group_id, self.account_id, self.change, self.contracts_limit_centicontracts]


# --- communications: requests for quotes, quotes and block trades ---------------------------------


class RfqChanged(Event):
    """An RFQ's whole state after a change: created, or closed (deleted, replaced, expired, executed,
    market_closed). `status` is open or closed."""

    TYPE = "rfq_changed"
    FIELDS = (
        "rfq_id", "account_id", "ticker", "count_centicontracts", "target_cost_microdollars",
        "target_cost_excludes_fees", "rest_remainder", "obscure_creator", "expiration_ms", "created_ms", "status",
        "change",
    )

    def __init__(
        self, rfq_id: int, account_id: int, ticker: str, count_centicontracts: int, target_cost_microdollars: int,
        target_cost_excludes_fees: bool, rest_remainder: bool, obscure_creator: bool, expiration_ms: int,
        created_ms: int, status: str, change: str,
    ) -> None:
        self.rfq_id = rfq_id
        self.account_id = account_id
        self.ticker = ticker
        self.count_centicontracts = count_centicontracts
        self.target_cost_microdollars = target_cost_microdollars
        self.target_cost_excludes_fees = target_cost_excludes_fees
        self.rest_remainder = rest_remainder
        self.obscure_creator = obscure_creator
        self.expiration_ms = expiration_ms
        self.created_ms = created_ms
        self.status = status
        self.change = change

    def values(self) -> list[object]:
        return [
            self.rfq_id, self.account_id, self.ticker, self.count_centicontracts, self.target_cost_microdollars,
            self.target_cost_excludes_fees, self.rest_remainder, self.obscure_creator, self.expiration_ms,
            self.created_ms, self.status, self.change,
        ]


class QuoteChanged(Event):
    """A quote's whole state after a change: created, accepted, executed, or cancelled (deleted,
    replaced, expired, confirm_timeout, rfq_closed). `yes_count`/`no_count` are the contracts each side
    would trade (the RFQ's count, or what its target cost buys at that side's price)."""

    TYPE = "quote_changed"
    FIELDS = (
        "quote_id", "rfq_id", "account_id", "rfq_account_id", "ticker", "yes_bid_centicents", "no_bid_centicents",
        "yes_count_centicontracts", "no_count_centicontracts", "rest_remainder", "post_only", "expiration_ms",
        "created_ms", "status", "accepted_side", "confirm_deadline_ms", "change",
    )

    def __init__(
        self, quote_id: int, rfq_id: int, account_id: int, rfq_account_id: int, ticker: str, yes_bid_centicents: int,
        no_bid_centicents: int, yes_count_centicontracts: int, no_count_centicontracts: int, rest_remainder: bool,
        post_only: bool, expiration_ms: int, created_ms: int, status: str, accepted_side: str,
        confirm_deadline_ms: int, change: str,
    ) -> None:
        self.quote_id = quote_id
        self.rfq_id = rfq_id
        self.account_id = account_id
        self.rfq_account_id = rfq_account_id
        self.ticker = ticker
        self.yes_bid_centicents = yes_bid_centicents
        self.no_bid_centicents = no_bid_centicents
        self.yes_count_centicontracts = yes_count_centicontracts
        self.no_count_centicontracts = no_count_centicontracts
        self.rest_remainder = rest_remainder
        self.post_only = post_only
        self.expiration_ms = expiration_ms
        self.created_ms = created_ms
        self.status = status
        self.accepted_side = accepted_side
        self.confirm_deadline_ms = confirm_deadline_ms
        self.change = change

    def values(self) -> list[object]:
        return [
            self.quote_id, self.rfq_id, self.account_id, self.rfq_account_id, self.ticker, self.yes_bid_centicents,
            self.no_bid_centicents, self.yes_count_centicontracts, self.no_count_centicontracts, self.rest_remainder,
            self.post_only, self.expiration_ms, self.created_ms, self.status, self.accepted_side,
            self.confirm_deadline_ms, self.change,
        ]


class BlockTradeChanged(Event):
    """A block-trade proposal's whole state after a change: proposed, accepted (by one side),
    executed, rejected or expired."""

    TYPE = "block_trade_changed"
    FIELDS = (
        "proposal_id", "proposer_account_id", "buyer_account_id", "seller_account_id", "ticker", "price_centicents",
        "count_centicontracts", "maker_side", "expiration_ms", "created_ms", "buyer_accepted_ms",
        "seller_accepted_ms", "status", "change",
    )

    def __init__(
        self, proposal_id: int, proposer_account_id: int, buyer_account_id: int, seller_account_id: int, ticker: str,
        price_centicents: int, count_centicontracts: int, maker_side: str, expiration_ms: int, created_ms: int,
        buyer_accepted_ms: int, seller_accepted_ms: int, status: str, change: str,
    ) -> None:
        self.proposal_id = proposal_id
        self.proposer_account_id = proposer_account_id
        self.buyer_account_id = buyer_account_id
        self.seller_account_id = seller_account_id
        self.ticker = ticker
        self.price_centicents = price_centicents
        self.count_centicontracts = count_centicontracts
        self.maker_side = maker_side
        self.expiration_ms = expiration_ms
        self.created_ms = created_ms
        self.buyer_accepted_ms = buyer_accepted_ms
        self.seller_accepted_ms = seller_accepted_ms
        self.status = status
        self.change = change

    def values(self) -> list[object]:
        return [
            self.proposal_id, self.proposer_account_id, self.buyer_account_id, self.seller_account_id, self.ticker,
            self.price_centicents, self.count_centicontracts, self.maker_side, self.expiration_ms, self.created_ms,
            self.buyer_accepted_ms, self.seller_accepted_ms, self.status, self.change,
        ]


class OffBookTrade(Event):
    """The trade just before it was executed off the book: `kind` is rfq (source: the quote) or block
    (source: the proposal)."""

    TYPE = "off_book_trade"
    FIELDS = ("trade_id", "kind", "source_id")

    def __init__(self, trade_id: int, kind: str, source_id: int) -> None:
        self.trade_id = trade_id
        self.kind = kind
        self.source_id = source_id

    def values(self) -> list[object]:
        return [self.trade_id, self.kind, self.source_id]


class PositionLimitSet(Event):
    """The position limits of a series or market, as set (0: none)."""

    TYPE = "position_limit_set"
    FIELDS = ("scope", "ticker", "market_limit_centicontracts", "event_limit_centicontracts")

    def __init__(self, scope: str, ticker: str, market_limit_centicontracts: int, event_limit_centicontracts: int) -> None:
        self.scope = scope
        self.ticker = ticker
        self.market_limit_centicontracts = market_limit_centicontracts
        self.event_limit_centicontracts = event_limit_centicontracts

    def values(self) -> list[object]:
        return [self.scope, self.ticker, self.market_limit_centicontracts, self.event_limit_centicontracts]


class TradingEligibilityChanged(Event):
    """A member may (reason "") or may not place orders."""

    TYPE = "trading_eligibility_changed"
    FIELDS = ("account_id", "reason")

    def __init__(self, account_id: int, reason: str) -> None:
        self.account_id = account_id
        self.reason = reason

    def values(self) -> list[object]:
        return [self.account_id, self.reason]


EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls
    for cls in (
        AccountOpened, Deposited, WithdrawalChanged, BalanceChanged, PositionChanged, PositionSides, SidesSettled,
        NettingChanged, SeriesCreated, EventCreated,
        MarketCreated, MarketTimesChanged, MarketStatusChanged, MarketDetermined, PositionSettled,
        ExchangeStatusChanged, OrderAccepted, OrderAmended, OrderClosed, Trade, BookChanged, OrderGroupChanged,
        FeeChangeScheduled, FeeChangeApplied, ArchiveCutoffChanged, ContentPublished, ComboMarketCreated,
        MarketTermsChanged,
        RfqChanged, QuoteChanged, BlockTradeChanged, OffBookTrade,
        SubaccountCreated, SubaccountTransferred, PositionLimitSet,
        TradingEligibilityChanged,
    )
}
