"""Commands: what producers ask of the engine. Each carries only plain values (ints, strings, bools
and lists of them) in domain units, lists its fields in `FIELDS` for codecs, and is applied by
`Engine.apply(command, now_ms)`. Conventions for "not given": 0 for ids and times, "" for strings,
-1 where 0 is a meaningful value.
"""

from __future__ import annotations

from typing import ClassVar


class Command:
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


# --- time -----------------------------------------------------------------------------------------


class Tick(Command):
    """Advance time only: opens and closes markets, expires orders and settles markets that are due."""

    TYPE = "tick"


# --- accounts and money ----------------------------------------------------------------------------


class OpenAccount(Command):
    TYPE = "open_account"


class Deposit(Command):
    TYPE = "deposit"
    FIELDS = ("account_id", "amount_microdollars", "reference")

    def __init__(self, account_id: int, amount_microdollars: int, reference: str = "") -> None:
        self.account_id = account_id
        self.amount_microdollars = amount_microdollars
        self.reference = reference

    def values(self) -> list[object]:
        return [self.account_id, self.amount_microdollars, self.reference]


class RequestWithdrawal(Command):
    TYPE = "request_withdrawal"
    FIELDS = ("account_id", "amount_microdollars")

    def __init__(self, account_id: int, amount_microdollars: int) -> None:
        self.account_id = account_id
        self.amount_microdollars = amount_microdollars

    def values(self) -> list[object]:
        return [self.account_id, self.amount_microdollars]


class CompleteWithdrawal(Command):
    TYPE = "complete_withdrawal"
    FIELDS = ("withdrawal_id",)

    def __init__(self, withdrawal_id: int) -> None:
        self.withdrawal_id = withdrawal_id

    def values(self) -> list[object]:
        return [self.withdrawal_id]


class CancelWithdrawal(Command):
    TYPE = "cancel_withdrawal"
    FIELDS = ("withdrawal_id",)

    def __init__(self, withdrawal_id: int) -> None:
        self.withdrawal_id = withdrawal_id

    def values(self) -> list[object]:
        return [self.withdrawal_id]


class CreateSubaccount(Command):
    """Open the member's next numbered subaccount (1, 2, ...): an account of its own for cash, orders
    and positions, owned by the primary account `account_id`."""

    TYPE = "create_subaccount"
    FIELDS = ("account_id",)

    def __init__(self, account_id: int) -> None:
        self.account_id = account_id

    def values(self) -> list[object]:
        return [self.account_id]


class TransferBetweenSubaccounts(Command):
    """Move available cash between two of a member's subaccounts (0 = the primary account)."""

    TYPE = "transfer_between_subaccounts"
    FIELDS = ("account_id", "from_subaccount", "to_subaccount", "amount_microdollars", "client_transfer_id")

    def __init__(
        self, account_id: int, from_subaccount: int, to_subaccount: int, amount_microdollars: int, client_transfer_id: str,
    ) -> None:
        self.account_id = account_id
        self.from_subaccount = from_subaccount
        self.to_subaccount = to_subaccount
        self.amount_microdollars = amount_microdollars
        self.client_transfer_id = client_transfer_id

    def values(self) -> list[object]:
        return [self.account_id, self.from_subaccount, self.to_subaccount, self.amount_microdollars, self.client_transfer_id]


class SetNetting(Command):
    """Switch netting on or off for one of a member's subaccounts (0 = the primary account)."""

    TYPE = "set_netting"
    FIELDS = ("account_id", "subaccount_number", "enabled")

    def __init__(self, account_id: int, subaccount_number: int, enabled: bool) -> None:
        self.account_id = account_id
        self.subaccount_number = subaccount_number
        self.enabled = enabled

    def values(self) -> list[object]:
        return [self.account_id, self.subaccount_number, self.enabled]


# --- instruments (operator) ------------------------------------------------------------------------


class CreateSeries(Command):
    TYPE = "create_series"
    FIELDS = (
        "ticker", "title", "category", "frequency", "fee_type", "fee_multiplier_bps", "tags",
        "settlement_sources", "contract_url", "contract_terms_url",
    )

    def __init__(
        self, ticker: str, title: str, category: str = "", frequency: str = "", fee_type: str = "quadratic",
        fee_multiplier_bps: int = 10_000, tags: list[str] | None = None,
        settlement_sources: list[list[str]] | None = None, contract_url: str = "", contract_terms_url: str = "",
    ) -> None:
        self.ticker = ticker
        self.title = title
        self.category = category
        self.frequency = frequency
        self.fee_type = fee_type
        self.fee_multiplier_bps = fee_multiplier_bps
        self.tags = list(tags) if tags is not None else []
        self.settlement_sources = [list(s) for s in settlement_sources] if settlement_sources is not None else []
        self.contract_url = contract_url
        self.contract_terms_url = contract_terms_url

    def values(self) -> list[object]:
        return [
            self.ticker, self.title, self.category, self.frequency, self.fee_type, self.fee_multiplier_bps, self.tags,
            self.settlement_sources, self.contract_url, self.contract_terms_url,
        ]


class CreateEvent(Command):
    TYPE = "create_event"
    FIELDS = ("event_ticker", "series_ticker", "title", "sub_title", "mutually_exclusive", "strike_date_ms", "strike_period")

    def __init__(
        self, event_ticker: str, series_ticker: str, title: str, sub_title: str = "", mutually_exclusive: bool = False,
        strike_date_ms: int = 0, strike_period: str = "",
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


class CreateMarket(Command):
    TYPE = "create_market"
    FIELDS = (
        "ticker", "event_ticker", "market_type", "title", "subtitle", "yes_sub_title", "no_sub_title",
        "rules_primary", "rules_secondary", "open_time_ms", "close_time_ms", "expected_expiration_ms",
        "settlement_timer_s", "price_level_structure", "fractional_trading", "can_close_early", "strike_type",
        "floor_strike", "cap_strike", "fee_waiver_expiration_ms",
    )

    def __init__(
        self, ticker: str, event_ticker: str, title: str, open_time_ms: int, close_time_ms: int,
        market_type: str = "binary", subtitle: str = "", yes_sub_title: str = "", no_sub_title: str = "",
        rules_primary: str = "", rules_secondary: str = "", expected_expiration_ms: int = 0,
        settlement_timer_s: int = 0, price_level_structure: str = "linear_cent", fractional_trading: bool = False,
        can_close_early: bool = False, strike_type: str = "", floor_strike: str = "", cap_strike: str = "",
        fee_waiver_expiration_ms: int = 0,
    ) -> None:
        self.ticker = ticker
        self.event_ticker = event_ticker
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
            self.ticker, self.event_ticker, self.market_type, self.title, self.subtitle, self.yes_sub_title,
            self.no_sub_title, self.rules_primary, self.rules_secondary, self.open_time_ms, self.close_time_ms,
            self.expected_expiration_ms, self.settlement_timer_s, self.price_level_structure, self.fractional_trading,
            self.can_close_early, self.strike_type, self.floor_strike, self.cap_strike, self.fee_waiver_expiration_ms,
        ]


class SetMarketTimes(Command):
    """Move a market's open and/or close time (0 = unchanged). Moving the close time into the past
    closes the market; moving it into the future reopens a closed, undetermined market."""

    TYPE = "set_market_times"
    FIELDS = ("ticker", "open_time_ms", "close_time_ms")

    def __init__(self, ticker: str, open_time_ms: int = 0, close_time_ms: int = 0) -> None:
        self.ticker = ticker
        self.open_time_ms = open_time_ms
        self.close_time_ms = close_time_ms

    def values(self) -> list[object]:
        return [self.ticker, self.open_time_ms, self.close_time_ms]


class PauseMarket(Command):
    TYPE = "pause_market"
    FIELDS = ("ticker",)

    def __init__(self, ticker: str) -> None:
        self.ticker = ticker

    def values(self) -> list[object]:
        return [self.ticker]


class ResumeMarket(Command):
    TYPE = "resume_market"
    FIELDS = ("ticker",)

    def __init__(self, ticker: str) -> None:
        self.ticker = ticker

    def values(self) -> list[object]:
        return [self.ticker]


class SetExchangeStatus(Command):
    """exchange_active=False: nothing is allowed (maintenance). trading_active=False: cancels are
    allowed, nothing new."""

    TYPE = "set_exchange_status"
    FIELDS = ("exchange_active", "trading_active")

    def __init__(self, exchange_active: bool, trading_active: bool) -> None:
        self.exchange_active = exchange_active
        self.trading_active = trading_active

    def values(self) -> list[object]:
        return [self.exchange_active, self.trading_active]


class DetermineMarket(Command):
    """Set a closed market's result: yes, no, void (refund at cost) or scalar with the YES payout."""

    TYPE = "determine_market"
    FIELDS = ("ticker", "result", "settlement_value_centicents", "source")

    def __init__(self, ticker: str, result: str, settlement_value_centicents: int = -1, source: str = "") -> None:
        self.ticker = ticker
        self.result = result
        self.settlement_value_centicents = settlement_value_centicents
        self.source = source

    def values(self) -> list[object]:
        return [self.ticker, self.result, self.settlement_value_centicents, self.source]


class DisputeMarket(Command):
    TYPE = "dispute_market"
    FIELDS = ("ticker", "reason")

    def __init__(self, ticker: str, reason: str = "") -> None:
        self.ticker = ticker
        self.reason = reason

    def values(self) -> list[object]:
        return [self.ticker, self.reason]


class AmendMarketResult(Command):
    TYPE = "amend_market_result"
    FIELDS = ("ticker", "result", "settlement_value_centicents", "source")

    def __init__(self, ticker: str, result: str, settlement_value_centicents: int = -1, source: str = "") -> None:
        self.ticker = ticker
        self.result = result
        self.settlement_value_centicents = settlement_value_centicents
        self.source = source

    def values(self) -> list[object]:
        return [self.ticker, self.result, self.settlement_value_centicents, self.source]


class FinalizeMarket(Command):
    """Settle a determined market now, without waiting for its settlement timer."""

    TYPE = "finalize_market"
    FIELDS = ("ticker",)

    def __init__(self, ticker: str) -> None:
        self.ticker = ticker

    def values(self) -> list[object]:
        return [self.ticker]


class ScheduleFeeChange(Command):
    """A series fee change (`event_ticker` empty) or an event fee override (fee_type "" and/or
    multiplier -1 clear that part of the override), effective at `effective_ms` (now if past)."""

    TYPE = "schedule_fee_change"
    FIELDS = ("series_ticker", "event_ticker", "fee_type", "fee_multiplier_bps", "effective_ms")

    def __init__(self, series_ticker: str, event_ticker: str, fee_type: str, fee_multiplier_bps: int, effective_ms: int) -> None:
        self.series_ticker = series_ticker
        self.event_ticker = event_ticker
        self.fee_type = fee_type
        self.fee_multiplier_bps = fee_multiplier_bps
        self.effective_ms = effective_ms

    def values(self) -> list[object]:
        return [self.series_ticker, self.event_ticker, self.fee_type, self.fee_multiplier_bps, self.effective_ms]


class CreateComboMarket(Command):
    """A combination market in a multivariate event collection: its event (made if new) in the
    collection's series, the market, and its legs ([market ticker, side]); it settles from them."""

    TYPE = "create_combo_market"
    FIELDS = ("collection_ticker", "series_ticker", "event_ticker", "market_ticker", "title", "close_time_ms", "legs")

    def __init__(
        self, collection_ticker: str, series_ticker: str, event_ticker: str, market_ticker: str, title: str,
        close_time_ms: int, legs: list[list[str]],
    ) -> None:
        self.collection_ticker = collection_ticker
        self.series_ticker = series_ticker
        self.event_ticker = event_ticker
        self.market_ticker = market_ticker
        self.title = title
        self.close_time_ms = close_time_ms
        self.legs = [list(leg) for leg in legs]

    def values(self) -> list[object]:
        return [
            self.collection_ticker, self.series_ticker, self.event_ticker, self.market_ticker, self.title,
            self.close_time_ms, self.legs,
        ]


class UpdateMarketTerms(Command):
    """Change a market's descriptive terms or its price grid: `changes` is [field, new value] pairs
    (core/market_terms.py lists the fields). Resting orders off a new grid are cancelled."""

    TYPE = "update_market_terms"
    FIELDS = ("ticker", "changes")

    def __init__(self, ticker: str, changes: list[list[str]]) -> None:
        self.ticker = ticker
        self.changes = [list(change) for change in changes]

    def values(self) -> list[object]:
        return [self.ticker, self.changes]


class PublishContent(Command):
    """Publish (or, with an empty body, withdraw) a document of a kind under a key: JSON text whose
    shape the operator's API checked (core/content.py)."""

    TYPE = "publish_content"
    FIELDS = ("kind", "key", "body")

    def __init__(self, kind: str, key: str, body: str) -> None:
        self.kind = kind
        self.key = key
        self.body = body

    def values(self) -> list[object]:
        return [self.kind, self.key, self.body]


class SetArchiveCutoff(Command):
    """Move the historical tier's boundaries (ms). They only move forward and never past now."""

    TYPE = "set_archive_cutoff"
    FIELDS = ("market_settled_ms", "trades_created_ms", "orders_updated_ms")

    def __init__(self, market_settled_ms: int, trades_created_ms: int, orders_updated_ms: int) -> None:
        self.market_settled_ms = market_settled_ms
        self.trades_created_ms = trades_created_ms
        self.orders_updated_ms = orders_updated_ms

    def values(self) -> list[object]:
        return [self.market_settled_ms, self.trades_created_ms, self.orders_updated_ms]


# --- orders ---------------------------------------------------------------------------------------


class CreateOrder(Command):
    """A limit order on one market's book, in YES terms: `is_bid` buys YES at `price_centicents`, an
    ask sells YES there (buys NO at $1 - price). `action` is the member's own word for it (buy/sell),
    kept for legacy presentation. `sell_position_floor` refuses an order larger than the position it
    sells; `buy_max_cost_microdollars` (> 0) bounds the cost of the contracts and makes it fill-or-kill."""

    TYPE = "create_order"
    FIELDS = (
        "account_id", "ticker", "is_bid", "price_centicents", "count_centicontracts", "time_in_force",
        "expiration_ms", "post_only", "reduce_only", "self_trade_prevention", "order_type", "cancel_on_pause",
        "client_order_id", "order_group_id", "action", "sell_position_floor", "buy_max_cost_microdollars",
    )

    def __init__(
        self, account_id: int, ticker: str, is_bid: bool, price_centicents: int, count_centicontracts: int,
        time_in_force: str = "good_till_canceled", expiration_ms: int = 0, post_only: bool = False,
        reduce_only: bool = False, self_trade_prevention: str = "taker_at_cross", order_type: str = "limit",
        cancel_on_pause: bool = False, client_order_id: str = "", order_group_id: int = 0, action: str = "buy",
        sell_position_floor: bool = False, buy_max_cost_microdollars: int = 0,
    ) -> None:
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
        self.sell_position_floor = sell_position_floor
        self.buy_max_cost_microdollars = buy_max_cost_microdollars

    def values(self) -> list[object]:
        return [
            self.account_id, self.ticker, self.is_bid, self.price_centicents, self.count_centicontracts,
            self.time_in_force, self.expiration_ms, self.post_only, self.reduce_only, self.self_trade_prevention,
            self.order_type, self.cancel_on_pause, self.client_order_id, self.order_group_id, self.action,
            self.sell_position_floor, self.buy_max_cost_microdollars,
        ]


class CancelOrder(Command):
    TYPE = "cancel_order"
    FIELDS = ("account_id", "order_id")

    def __init__(self, account_id: int, order_id: int) -> None:
        self.account_id = account_id
        self.order_id = order_id

    def values(self) -> list[object]:
        return [self.account_id, self.order_id]


class AmendOrder(Command):
    """Change price and/or total size (filled + remaining). 0 keeps price or size; `ticker` and `side`
    ("bid"/"ask"), when given, must match the order; `expiration_ms` -1 keeps it, 0 removes it."""

    TYPE = "amend_order"
    FIELDS = (
        "account_id", "order_id", "ticker", "side", "price_centicents", "total_count_centicontracts",
        "updated_client_order_id", "expiration_ms",
    )

    def __init__(
        self, account_id: int, order_id: int, ticker: str = "", side: str = "", price_centicents: int = 0,
        total_count_centicontracts: int = 0, updated_client_order_id: str = "", expiration_ms: int = -1,
    ) -> None:
        self.account_id = account_id
        self.order_id = order_id
        self.ticker = ticker
        self.side = side
        self.price_centicents = price_centicents
        self.total_count_centicontracts = total_count_centicontracts
        self.updated_client_order_id = updated_client_order_id
        self.expiration_ms = expiration_ms

    def values(self) -> list[object]:
        return [
            self.account_id, self.order_id, self.ticker, self.side, self.price_centicents,
            self.total_count_centicontracts, self.updated_client_order_id, self.expiration_ms,
        ]


class DecreaseOrder(Command):
    """Reduce the remaining count by `reduce_by` or to `reduce_to` (exactly one; -1 = not given).
    Keeps priority; reducing to zero cancels."""

    TYPE = "decrease_order"
    FIELDS = ("account_id", "order_id", "reduce_by_centicontracts", "reduce_to_centicontracts")

    def __init__(self, account_id: int, order_id: int, reduce_by_centicontracts: int = -1, reduce_to_centicontracts: int = -1) -> None:
        self.account_id = account_id
        self.order_id = order_id
        self.reduce_by_centicontracts = reduce_by_centicontracts
        self.reduce_to_centicontracts = reduce_to_centicontracts

    def values(self) -> list[object]:
        return [self.account_id, self.order_id, self.reduce_by_centicontracts, self.reduce_to_centicontracts]


class BatchCreateOrders(Command):
    TYPE = "batch_create_orders"
    FIELDS = ("account_id", "orders")

    def __init__(self, account_id: int, orders: list[CreateOrder]) -> None:
        self.account_id = account_id
        self.orders = orders

    def values(self) -> list[object]:
        return [self.account_id, self.orders]


class BatchCancelOrders(Command):
    TYPE = "batch_cancel_orders"
    FIELDS = ("account_id", "order_ids")

    def __init__(self, account_id: int, order_ids: list[int]) -> None:
        self.account_id = account_id
        self.order_ids = order_ids

    def values(self) -> list[object]:
        return [self.account_id, self.order_ids]


class CancelAllOrders(Command):
    """Cancel every open order of the account (in one market when `ticker` is given)."""

    TYPE = "cancel_all_orders"
    FIELDS = ("account_id", "ticker")

    def __init__(self, account_id: int, ticker: str = "") -> None:
        self.account_id = account_id
        self.ticker = ticker

    def values(self) -> list[object]:
        return [self.account_id, self.ticker]


# --- order groups ---------------------------------------------------------------------------------


class CreateOrderGroup(Command):
    TYPE = "create_order_group"
    FIELDS = ("account_id", "contracts_limit_centicontracts")

    def __init__(self, account_id: int, contracts_limit_centicontracts: int) -> None:
        self.account_id = account_id
        self.contracts_limit_centicontracts = contracts_limit_centicontracts

    def values(self) -> list[object]:
        return [self.account_id, self.contracts_limit_centicontracts]


class ChangeOrderGroup(Command):
    """reset | trigger | delete | limit (with `contracts_limit_centicontracts`)."""

    TYPE = "change_order_group"
    FIELDS = ("account_id", "order_group_id", "change", "contracts_limit_centicontracts")

    def __init__(self, account_id: int, order_group_id: int, change: str, contracts_limit_centicontracts: int = 0) -> None:
        self.account_id = account_id
        self.order_group_id = order_group_id
        self.change = change
        self.contracts_limit_centicontracts = contracts_limit_centicontracts

    def values(self) -> list[object]:
        return [self.account_id, self.order_group_id, self.change, self.contracts_limit_centicontracts]


# --- communications: requests for quotes, quotes and block trades ---------------------------------


class CreateRfq(Command):
    """Ask every member for a quote on `count_centicontracts` of a market, or on as many as
    `target_cost_microdollars` buys (exactly one of the two; 0 = not given). `expiration_ms` (from
    the gateway's configured lifetime) closes it if nothing executed by then; `replace_existing`
    deletes the account's other open RFQs first."""

    TYPE = "create_rfq"
    FIELDS = (
        "account_id", "ticker", "count_centicontracts", "target_cost_microdollars", "target_cost_excludes_fees",
        "rest_remainder", "replace_existing", "obscure_creator", "expiration_ms",
    )

    def __init__(
        self, account_id: int, ticker: str, count_centicontracts: int, target_cost_microdollars: int = 0,
        target_cost_excludes_fees: bool = False, rest_remainder: bool = False, replace_existing: bool = False,
        obscure_creator: bool = False, expiration_ms: int = 0,
    ) -> None:
        self.account_id = account_id
        self.ticker = ticker
        self.count_centicontracts = count_centicontracts
        self.target_cost_microdollars = target_cost_microdollars
        self.target_cost_excludes_fees = target_cost_excludes_fees
        self.rest_remainder = rest_remainder
        self.replace_existing = replace_existing
        self.obscure_creator = obscure_creator
        self.expiration_ms = expiration_ms

    def values(self) -> list[object]:
        return [
            self.account_id, self.ticker, self.count_centicontracts, self.target_cost_microdollars,
            self.target_cost_excludes_fees, self.rest_remainder, self.replace_existing, self.obscure_creator,
            self.expiration_ms,
        ]


class DeleteRfq(Command):
    TYPE = "delete_rfq"
    FIELDS = ("account_id", "rfq_id")

    def __init__(self, account_id: int, rfq_id: int) -> None:
        self.account_id = account_id
        self.rfq_id = rfq_id

    def values(self) -> list[object]:
        return [self.account_id, self.rfq_id]


class CreateQuote(Command):
    """A maker's answer to an RFQ: the YES price it pays (`yes_bid`) and the NO price it pays
    (`no_bid`), in centicents, 0 declining that side (not both). A new quote replaces the maker's open
    quote on the same RFQ. `expiration_ms` (the gateway's configured lifetime) withdraws it."""

    TYPE = "create_quote"
    FIELDS = ("account_id", "rfq_id", "yes_bid_centicents", "no_bid_centicents", "rest_remainder", "post_only", "expiration_ms")

    def __init__(
        self, account_id: int, rfq_id: int, yes_bid_centicents: int, no_bid_centicents: int, rest_remainder: bool = False,
        post_only: bool = False, expiration_ms: int = 0,
    ) -> None:
        self.account_id = account_id
        self.rfq_id = rfq_id
        self.yes_bid_centicents = yes_bid_centicents
        self.no_bid_centicents = no_bid_centicents
        self.rest_remainder = rest_remainder
        self.post_only = post_only
        self.expiration_ms = expiration_ms

    def values(self) -> list[object]:
        return [
            self.account_id, self.rfq_id, self.yes_bid_centicents, self.no_bid_centicents, self.rest_remainder,
            self.post_only, self.expiration_ms,
        ]


class DeleteQuote(Command):
    TYPE = "delete_quote"
    FIELDS = ("account_id", "quote_id")

    def __init__(self, account_id: int, quote_id: int) -> None:
        self.account_id = account_id
        self.quote_id = quote_id

    def values(self) -> list[object]:
        return [self.account_id, self.quote_id]


class AcceptQuote(Command):
    """The requester takes one side of a quote ("yes": buys YES at the quote's yes_bid; "no": buys NO
    at its no_bid). The maker must confirm before `confirm_deadline_ms` (the gateway's window)."""

    TYPE = "accept_quote"
    FIELDS = ("account_id", "quote_id", "accepted_side", "confirm_deadline_ms")

    def __init__(self, account_id: int, quote_id: int, accepted_side: str, confirm_deadline_ms: int) -> None:
        self.account_id = account_id
        self.quote_id = quote_id
        self.accepted_side = accepted_side
        self.confirm_deadline_ms = confirm_deadline_ms

    def values(self) -> list[object]:
        return [self.account_id, self.quote_id, self.accepted_side, self.confirm_deadline_ms]


class ConfirmQuote(Command):
    """The maker confirms an accepted quote: it executes at once, off the book."""

    TYPE = "confirm_quote"
    FIELDS = ("account_id", "quote_id")

    def __init__(self, account_id: int, quote_id: int) -> None:
        self.account_id = account_id
        self.quote_id = quote_id

    def values(self) -> list[object]:
        return [self.account_id, self.quote_id]


class ProposeBlockTrade(Command):
    """A bilateral trade off the book: the buyer buys YES from the seller at `price_centicents`;
    `maker_side` ("yes": the buyer, "no": the seller) pays the maker fee, the other the taker fee. The
    proposer is one of the two and counts as accepting; the other accepts or rejects before
    `expiration_ms`."""

    TYPE = "propose_block_trade"
    FIELDS = (
        "account_id", "buyer_account_id", "seller_account_id", "ticker", "price_centicents", "count_centicontracts",
        "maker_side", "expiration_ms",
    )

    def __init__(
        self, account_id: int, buyer_account_id: int, seller_account_id: int, ticker: str, price_centicents: int,
        count_centicontracts: int, maker_side: str, expiration_ms: int,
    ) -> None:
        self.account_id = account_id
        self.buyer_account_id = buyer_account_id
        self.seller_account_id = seller_account_id
        self.ticker = ticker
        self.price_centicents = price_centicents
        self.count_centicontracts = count_centicontracts
        self.maker_side = maker_side
        self.expiration_ms = expiration_ms

    def values(self) -> list[object]:
        return [
            self.account_id, self.buyer_account_id, self.seller_account_id, self.ticker, self.price_centicents,
            self.count_centicontracts, self.maker_side, self.expiration_ms,
        ]


class AcceptBlockTrade(Command):
    TYPE = "accept_block_trade"
    FIELDS = ("account_id", "proposal_id")

    def __init__(self, account_id: int, proposal_id: int) -> None:
        self.account_id = account_id
        self.proposal_id = proposal_id

    def values(self) -> list[object]:
        return [self.account_id, self.proposal_id]


class RejectBlockTrade(Command):
    TYPE = "reject_block_trade"
    FIELDS = ("account_id", "proposal_id")

    def __init__(self, account_id: int, proposal_id: int) -> None:
        self.account_id = account_id
        self.proposal_id = proposal_id

    def values(self) -> list[object]:
        return [self.account_id, self.proposal_id]


class SetPositionLimit(Command):
    """The operator's position limits (core/position_limits.py) for a series (`scope` "series": per
    market and per event) or a market ("market": per market only; event limit 0). 0 lifts a limit."""

    TYPE = "set_position_limit"
    FIELDS = ("scope", "ticker", "market_limit_centicontracts", "event_limit_centicontracts")

    def __init__(self, scope: str, ticker: str, market_limit_centicontracts: int, event_limit_centicontracts: int = 0) -> None:
        self.scope = scope
        self.ticker = ticker
        self.market_limit_centicontracts = market_limit_centicontracts
        self.event_limit_centicontracts = event_limit_centicontracts

    def values(self) -> list[object]:
        return [self.scope, self.ticker, self.market_limit_centicontracts, self.event_limit_centicontracts]


class SetTradingEligibility(Command):
    """Whether a member (its primary account, and so its subaccounts) may place orders: `reason` says
    why not, "" lets it trade. The accounts decide (verification, state of residence); the engine
    refuses orders (`member_not_eligible`) with the reason."""

    TYPE = "set_trading_eligibility"
    FIELDS = ("account_id", "reason")

    def __init__(self, account_id: int, reason: str) -> None:
        self.account_id = account_id
        self.reason = reason

    def values(self) -> list[object]:
        return [self.account_id, self.reason]


COMMAND_TYPES: dict[str, type[Command]] = {
    cls.TYPE: cls
    for cls in (
        Tick, OpenAccount, Deposit, RequestWithdrawal, CompleteWithdrawal, CancelWithdrawal, CreateSubaccount,
        TransferBetweenSubaccounts, SetNetting, CreateSeries,
        CreateEvent, CreateMarket, SetMarketTimes, PauseMarket, ResumeMarket, SetExchangeStatus, DetermineMarket,
        DisputeMarket, AmendMarketResult, FinalizeMarket, CreateOrder, CancelOrder, AmendOrder, DecreaseOrder,
        BatchCreateOrders, BatchCancelOrders, CancelAllOrders, CreateOrderGroup, ChangeOrderGroup,
        CreateRfq, DeleteRfq, CreateQuote, DeleteQuote, AcceptQuote, ConfirmQuote, ProposeBlockTrade, AcceptBlockTrade,
        RejectBlockTrade,
        ScheduleFeeChange, SetArchiveCutoff, PublishContent, CreateComboMarket, UpdateMarketTerms, SetPositionLimit,
        SetTradingEligibility,
    )
}
