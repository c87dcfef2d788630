"""The live part of the read model: what is true right now, as of the last committed command.

Built from committed events (never from the engine, which may be ahead of the journal), so every read
shows only durable state: open orders, balances, positions, order books with the sequence number
they reflect, market statistics, instruments, order groups and the exchange's switches. At start-up
it is loaded from the recovered engine (`load_from_engine`); the tests prove both ways agree. The
open RFQs, quotes and proposals are the exception: `ReadModel.open` loads them from their history
tables, which hold the times of their changes that the engine does not keep.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from predictex.core import events as ev
from predictex.core.engine import Engine
from predictex.core.instruments import DISPUTED, FINALIZED, INITIALIZED
from predictex.core.orders import REASON_NONE, RESTING, Action, CloseReason, Order, OrderStatus, TimeInForce
from predictex.core.units import PRICE_ONE_DOLLAR_CENTICENTS
from predictex.readmodel.communications import CommunicationsView
from predictex.readmodel.depth import DepthBook
from predictex.readmodel.schedules import Schedules


class OrderView:
    """An order as clients see it (open or just closed)."""

    def __init__(
        self, order_id: int, account_id: int, ticker: str, is_bid: bool, price_centicents: int,
        initial_count_centicontracts: int, remaining_centicontracts: int, filled_centicontracts: int,
        time_in_force: TimeInForce, expiration_ms: int, post_only: bool, reduce_only: bool, self_trade_prevention: str,
        order_type: str, cancel_on_pause: bool, client_order_id: str, order_group_id: int, action: Action,
        status: OrderStatus, close_reason: CloseReason, created_ms: int, updated_ms: int, taker_fill_cost_microdollars: int,
        maker_fill_cost_microdollars: int, taker_fees_microdollars: int, maker_fees_microdollars: int,
        canceled_centicontracts: int = 0,
    ) -> None:
        self.order_id = order_id
        self.account_id = account_id
        self.ticker = ticker
        self.is_bid = is_bid
        self.price_centicents = price_centicents
        self.initial_count_centicontracts = initial_count_centicontracts
        self.remaining_centicontracts = remaining_centicontracts
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
        self.status = status
        self.close_reason = close_reason
        self.created_ms = created_ms
        self.updated_ms = updated_ms
        self.taker_fill_cost_microdollars = taker_fill_cost_microdollars
        self.maker_fill_cost_microdollars = maker_fill_cost_microdollars
        self.taker_fees_microdollars = taker_fees_microdollars
        self.maker_fees_microdollars = maker_fees_microdollars
        self.canceled_centicontracts = canceled_centicontracts  # what was still open when it was cancelled

    @property
    def size_centicontracts(self) -> int:
        """The order's size as last set (placed, amended or decreased): filled + open + cancelled."""
        return self.filled_centicontracts + self.remaining_centicontracts + self.canceled_centicontracts

    @classmethod
    def accepted(cls, e: ev.OrderAccepted, time_ms: int) -> OrderView:
        return cls(
            e.order_id, e.account_id, e.ticker, e.is_bid, e.price_centicents, e.count_centicontracts,
            e.count_centicontracts, 0, e.time_in_force, e.expiration_ms, e.post_only, e.reduce_only,
            e.self_trade_prevention, e.order_type, e.cancel_on_pause, e.client_order_id, e.order_group_id, e.action,
            RESTING, REASON_NONE, time_ms, time_ms, 0, 0, 0, 0,
        )

    @classmethod
    def closed(cls, e: ev.OrderClosed, time_ms: int) -> OrderView:
        """The final state of an order that left the book (what a read of it answers from now on)."""
        return cls(
            e.order_id, e.account_id, e.ticker, e.is_bid, e.price_centicents, e.initial_count_centicontracts, 0,
            e.filled_centicontracts, e.time_in_force, e.expiration_ms, e.post_only, e.reduce_only, e.self_trade_prevention,
            e.order_type, e.cancel_on_pause, e.client_order_id, e.order_group_id, e.action, e.status, e.reason, e.created_ms,
            time_ms, e.taker_fill_cost_microdollars, e.maker_fill_cost_microdollars, e.taker_fees_microdollars,
            e.maker_fees_microdollars,
        )

    @classmethod
    def from_engine(cls, o: Order) -> OrderView:
        return cls(
            o.order_id, o.account_id, o.ticker, o.is_bid, o.price_centicents, o.initial_count_centicontracts,
            o.remaining_centicontracts, o.filled_centicontracts, o.time_in_force, o.expiration_ms, o.post_only,
            o.reduce_only, o.self_trade_prevention, o.order_type, o.cancel_on_pause, o.client_order_id,
            o.order_group_id, o.action, o.status, o.close_reason, o.created_ms, o.updated_ms,
            o.taker_fill_cost_microdollars, o.maker_fill_cost_microdollars, o.taker_fees_microdollars,
            o.maker_fees_microdollars,
        )

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.order_id, self.account_id, self.ticker, self.is_bid, self.price_centicents,
            self.initial_count_centicontracts, self.remaining_centicontracts, self.filled_centicontracts,
            self.time_in_force, self.expiration_ms, self.post_only, self.reduce_only, self.self_trade_prevention,
            self.order_type, self.cancel_on_pause, self.client_order_id, self.order_group_id, self.action, self.status,
            self.close_reason, self.created_ms, self.updated_ms, self.taker_fill_cost_microdollars,
            self.maker_fill_cost_microdollars, self.taker_fees_microdollars, self.maker_fees_microdollars,
            self.canceled_centicontracts,
        )


class Holding:
    """An account's position in one market. With netting off the account holds YES and NO apart:
    `yes_centicontracts` and `no_centicontracts` (each with its cost) are what it holds of each side,
    and the position is their difference; with netting on they stay zero."""

    __slots__ = (
        "fees_paid_microdollars", "no_centicontracts", "no_cost_microdollars", "position_centicontracts",
        "position_cost_microdollars", "realized_pnl_microdollars", "total_traded_microdollars", "updated_ms",
        "volume_centicontracts", "yes_centicontracts", "yes_cost_microdollars",
    )

    def __init__(self) -> None:
        self.position_centicontracts = 0
        self.position_cost_microdollars = 0
        self.realized_pnl_microdollars = 0
        self.fees_paid_microdollars = 0
        self.volume_centicontracts = 0
        self.total_traded_microdollars = 0
        self.updated_ms = 0
        self.yes_centicontracts = 0
        self.no_centicontracts = 0
        self.yes_cost_microdollars = 0
        self.no_cost_microdollars = 0

    def hedged_centicontracts(self) -> int:
        """The YES/NO pairs held at once (netting off only)."""
        return min(self.yes_centicontracts, self.no_centicontracts)

    def sides(self) -> list[tuple[int, int]]:
        """What is held as (signed count, its cost) per side: one entry for a netted position, two
        when YES and NO are both held (netting off)."""
        if self.hedged_centicontracts() == 0:
            return [(self.position_centicontracts, self.position_cost_microdollars)]
        return [(self.yes_centicontracts, self.yes_cost_microdollars), (-self.no_centicontracts, self.no_cost_microdollars)]


class Balance:
    __slots__ = ("cash_microdollars", "locked_microdollars", "pending_withdrawal_microdollars", "updated_ms")

    def __init__(self) -> None:
        self.cash_microdollars = 0
        self.locked_microdollars = 0
        self.pending_withdrawal_microdollars = 0
        self.updated_ms = 0


class Rolling24h:
    """A market's last 24 hours, minute by minute (from its trades and quotes), for `volume_24h` and
    the `previous_*` values (as they were 24 hours ago)."""

    __slots__ = ("minutes", "previous", "volume_centicontracts")

    WINDOW_MS = 24 * 3600 * 1000

    def __init__(self) -> None:
        # [minute_ms, volume, bid close, ask close, last trade price]; only minutes with activity
        self.minutes: deque[list[int]] = deque()
        self.previous = (0, 0, 0)  # bid, ask, price as of the newest minute that left the window
        self.volume_centicontracts = 0

    def _minute(self, minute_ms: int, bid: int, ask: int) -> list[int]:
        minutes = self.minutes
        if minutes and minutes[-1][0] == minute_ms:
            return minutes[-1]
        price = minutes[-1][4] if minutes else self.previous[2]
        entry = [minute_ms, 0, bid, ask, price]
        minutes.append(entry)
        return entry

    def trade(self, minute_ms: int, bid: int, ask: int, price: int, count: int) -> None:
        entry = self._minute(minute_ms, bid, ask)
        entry[1] += count
        entry[4] = price
        self.volume_centicontracts += count

    def quote(self, minute_ms: int, bid: int, ask: int) -> None:
        entry = self._minute(minute_ms, bid, ask)
        entry[2] = bid
        entry[3] = ask

    def prune(self, now_ms: int) -> None:
        horizon = now_ms - self.WINDOW_MS
        minutes = self.minutes
        while minutes and minutes[0][0] <= horizon:
            gone = minutes.popleft()
            self.volume_centicontracts -= gone[1]
            self.previous = (gone[2], gone[3], gone[4])


class MarketView:
    """A market's definition (from MarketCreated) and its live state."""

    def __init__(self, created: ev.MarketCreated, time_ms: int) -> None:
        self.definition = created
        self.ticker = created.ticker
        self.event_ticker = created.event_ticker
        self.series_ticker = created.series_ticker
        self.open_time_ms = created.open_time_ms
        self.close_time_ms = created.close_time_ms
        self.created_ms = time_ms
        self.updated_ms = time_ms
        self.status = INITIALIZED
        self.result = ""
        self.settlement_value_centicents = -1
        self.settlement_source = ""
        self.determined_ms = 0
        self.settled_ms = 0
        self.settle_at_ms = 0
        self.last_price_centicents = 0
        self.volume_centicontracts = 0
        self.open_interest_centicontracts = 0
        self.book = DepthBook()
        # a multivariate combination's collection and legs (event, market, side); None for other markets
        self.combination: tuple[str, list[tuple[str, str, str]]] | None = None
        # price -> the open orders at that price in time priority (what queue positions are counted
        # from), keyed by the view itself: identity hashing, no boxed ids
        self.bid_queues: dict[int, dict[OrderView, None]] = {}
        self.ask_queues: dict[int, dict[OrderView, None]] = {}
        self.day = Rolling24h()


class LiveState:
    def __init__(self) -> None:
        self.seq = 0
        self.time_ms = 0
        self.exchange_active = True
        self.trading_active = True
        self.series: dict[str, ev.SeriesCreated] = {}
        self.events: dict[str, ev.EventCreated] = {}
        self.event_markets: dict[str, list[str]] = {}
        self.markets: dict[str, MarketView] = {}
        self.orders: dict[int, OrderView] = {}  # open orders
        self.orders_by_account: dict[int, dict[int, OrderView]] = {}
        self.balances: dict[int, Balance] = {}
        self.holdings: dict[int, dict[str, Holding]] = {}
        self.order_groups: dict[int, tuple[int, int, bool]] = {}  # id -> (account, limit, triggered)
        self.schedules = Schedules()  # fee changes and the archive cutoff
        self.subaccounts: dict[int, dict[int, int]] = {}  # primary account -> {subaccount number -> account}
        self.subaccount_of: dict[int, tuple[int, int]] = {}  # a subaccount's account -> (primary account, number)
        # the operator's position limits (core/position_limits.py): series -> (per market, per event), market -> per market
        self.position_limits_by_series: dict[str, tuple[int, int]] = {}
        self.position_limits_by_market: dict[str, int] = {}
        self.not_eligible: dict[int, str] = {}  # primary account -> why its member may not place orders
        self.netting_off: set[int] = set()  # accounts holding YES and NO apart
        self.communications = CommunicationsView()  # RFQs, quotes, block-trade proposals

    # --- applying committed events --------------------------------------------------------------

    def apply(self, seq: int, time_ms: int, events: list[ev.Event]) -> None:
        """Apply one command's events. The events of order entry come first, most frequent first: an
        isinstance test and a direct call each (a table of handlers cost a generic call per event)."""
        self.seq = seq
        self.time_ms = time_ms
        for event in events:
            if isinstance(event, ev.BookChanged):
                self._book_changed(event, seq, time_ms)
            elif isinstance(event, ev.BalanceChanged):
                self._balance_changed(event, seq, time_ms)
            elif isinstance(event, ev.OrderAccepted):
                self._order_accepted(event, seq, time_ms)
            elif isinstance(event, ev.OrderClosed):
                self._order_closed(event, seq, time_ms)
            elif isinstance(event, ev.OrderAmended):
                self._order_amended(event, seq, time_ms)
            elif isinstance(event, ev.PositionChanged):
                self._position_changed(event, seq, time_ms)
            elif isinstance(event, ev.Trade):
                self._trade(event, seq, time_ms)
                if self.communications.awaits_trade:
                    self.communications.trade(event)
            elif isinstance(event, ev.AccountOpened):
                self._account_opened(event, seq, time_ms)
            elif isinstance(event, ev.SeriesCreated):
                self._series_created(event, seq, time_ms)
            elif isinstance(event, ev.EventCreated):
                self._event_created(event, seq, time_ms)
            elif isinstance(event, ev.MarketCreated):
                self._market_created(event, seq, time_ms)
            elif isinstance(event, ev.MarketTimesChanged):
                self._market_times(event, seq, time_ms)
            elif isinstance(event, ev.MarketStatusChanged):
                self._market_status(event, seq, time_ms)
            elif isinstance(event, ev.MarketDetermined):
                self._market_determined(event, seq, time_ms)
            elif isinstance(event, ev.PositionSettled):
                self._position_settled(event, seq, time_ms)
            elif isinstance(event, ev.ExchangeStatusChanged):
                self._exchange_status(event, seq, time_ms)
            elif isinstance(event, ev.OrderGroupChanged):
                self._order_group(event, seq, time_ms)
            elif isinstance(event, ev.FeeChangeScheduled):
                self.schedules.fee_change_scheduled(event)
            elif isinstance(event, ev.FeeChangeApplied):
                self._fee_change_applied(event, time_ms)
            elif isinstance(event, ev.ArchiveCutoffChanged):
                self.schedules.archive_cutoff_changed(event)
            elif isinstance(event, ev.ContentPublished):
                self.schedules.content_published(event)
            elif isinstance(event, ev.ComboMarketCreated):
                self.schedules.combo_market_created(event)
                self._combination(event.market_ticker, event.collection_ticker, event.legs)
            elif isinstance(event, ev.MarketTermsChanged):
                self._market_terms(event, time_ms)
            elif isinstance(event, ev.SubaccountCreated):
                self._subaccount_created(event.account_id, event.subaccount_number, event.subaccount_account_id)
            elif isinstance(event, ev.PositionSides):
                self._position_sides(event)
            elif isinstance(event, ev.NettingChanged):
                self._netting_changed(event)
            elif isinstance(event, ev.TradingEligibilityChanged):
                if event.reason:
                    self.not_eligible[event.account_id] = event.reason
                else:
                    self.not_eligible.pop(event.account_id, None)
            elif isinstance(event, ev.PositionLimitSet):
                self._position_limit_set(event.scope, event.ticker, event.market_limit_centicontracts, event.event_limit_centicontracts)
            elif isinstance(event, (ev.QuoteChanged, ev.RfqChanged, ev.OffBookTrade, ev.BlockTradeChanged)):
                self.communications.apply(event, time_ms)

    def _position_limit_set(self, scope: str, ticker: str, market_limit: int, event_limit: int) -> None:
        if scope == "series":
            if market_limit or event_limit:
                self.position_limits_by_series[ticker] = (market_limit, event_limit)
            else:
                self.position_limits_by_series.pop(ticker, None)
        elif market_limit:
            self.position_limits_by_market[ticker] = market_limit
        else:
            self.position_limits_by_market.pop(ticker, None)

    def position_limits_for(self, ticker: str) -> tuple[int, int]:
        """(per-market, per-event) position limits in force for a market (0: none)."""
        market = self.markets.get(ticker)
        series_market, series_event = self.position_limits_by_series.get(market.series_ticker, (0, 0)) if market else (0, 0)
        return self.position_limits_by_market.get(ticker, series_market), series_event

    def _order_accepted(self, e: ev.OrderAccepted, seq: int, time_ms: int) -> None:
        view = OrderView.accepted(e, time_ms)
        self.orders[e.order_id] = view
        mine = self.orders_by_account.get(e.account_id)
        if mine is None:
            mine = self.orders_by_account[e.account_id] = {}
        mine[e.order_id] = view
        self._enqueue(view)

    def _queues(self, view: OrderView) -> dict[int, dict[OrderView, None]]:
        market = self.markets[view.ticker]
        return market.bid_queues if view.is_bid else market.ask_queues

    def _enqueue(self, view: OrderView) -> None:
        """At the back of its price level (an order joins its level when it is accepted: if it rests,
        nothing joins ahead of it within the same command)."""
        queues = self._queues(view)
        level = queues.get(view.price_centicents)
        if level is None:
            level = queues[view.price_centicents] = {}
        level[view] = None

    def _dequeue(self, view: OrderView) -> None:
        queues = self._queues(view)
        level = queues[view.price_centicents]
        del level[view]
        if not level:
            del queues[view.price_centicents]

    def queue_position(self, order_id: int) -> int | None:
        """Contracts (centicontracts) resting ahead of an open order at its price, or None."""
        view = self.orders.get(order_id)
        if view is None:
            return None
        ahead = 0
        for other in self._queues(view)[view.price_centicents]:
            if other is view:
                return ahead
            ahead += other.remaining_centicontracts
        return ahead

    def _order_amended(self, e: ev.OrderAmended, seq: int, time_ms: int) -> None:
        view = self.orders[e.order_id]
        if not e.priority_kept:
            self._dequeue(view)
            view.price_centicents = e.price_centicents
            self._enqueue(view)
        view.price_centicents = e.price_centicents
        view.remaining_centicontracts = e.remaining_centicontracts
        view.client_order_id = e.client_order_id
        view.expiration_ms = e.expiration_ms
        view.updated_ms = time_ms

    def _order_closed(self, e: ev.OrderClosed, seq: int, time_ms: int) -> None:
        view = self.orders.pop(e.order_id)
        del self.orders_by_account[e.account_id][e.order_id]
        self._dequeue(view)
        view.status = e.status
        view.close_reason = e.reason
        view.canceled_centicontracts = e.reduced_by_centicontracts
        view.remaining_centicontracts = 0
        view.updated_ms = time_ms

    def _trade(self, e: ev.Trade, seq: int, time_ms: int) -> None:
        count = e.count_centicontracts
        for order_id, is_taker, fee in ((e.taker_order_id, True, e.taker_fee_microdollars + e.taker_rounding_microdollars - e.taker_rebate_microdollars),
                                        (e.maker_order_id, False, e.maker_fee_microdollars + e.maker_rounding_microdollars - e.maker_rebate_microdollars)):
            view = self.orders[order_id]
            own_price = e.price_centicents if view.is_bid else PRICE_ONE_DOLLAR_CENTICENTS - e.price_centicents
            view.remaining_centicontracts -= count
            view.filled_centicontracts += count
            view.updated_ms = time_ms
            if is_taker:
                view.taker_fill_cost_microdollars += own_price * count
                view.taker_fees_microdollars += fee
            else:
                view.maker_fill_cost_microdollars += own_price * count
                view.maker_fees_microdollars += fee
        market = self.markets[e.ticker]
        market.last_price_centicents = e.price_centicents
        market.volume_centicontracts += count
        book = market.book
        market.day.trade(time_ms - time_ms % 60_000, book.best_bid, book.best_ask, e.price_centicents, count)

    def _book_changed(self, e: ev.BookChanged, seq: int, time_ms: int) -> None:
        market = self.markets[e.ticker]
        book = market.book
        book.set_level(e.is_bid, e.price_centicents, e.size_after_centicontracts)
        book.seq = seq
        market.day.quote(time_ms - time_ms % 60_000, book.best_bid, book.best_ask)

    def _balance_changed(self, e: ev.BalanceChanged, seq: int, time_ms: int) -> None:
        balance = self.balances.get(e.account_id)
        if balance is None:
            balance = self.balances[e.account_id] = Balance()
        balance.cash_microdollars = e.cash_microdollars
        balance.locked_microdollars = e.locked_microdollars
        balance.pending_withdrawal_microdollars = e.pending_withdrawal_microdollars
        balance.updated_ms = time_ms

    def _position_changed(self, e: ev.PositionChanged, seq: int, time_ms: int) -> None:
        holdings = self.holdings.get(e.account_id)
        if holdings is None:
            holdings = self.holdings[e.account_id] = {}
        holding = holdings.get(e.ticker)
        before = 0 if holding is None else holding.position_centicontracts
        market = self.markets[e.ticker]
        market.open_interest_centicontracts += max(e.position_centicontracts, 0) - max(before, 0)
        if holding is None:
            holding = holdings[e.ticker] = Holding()
        holding.position_centicontracts = e.position_centicontracts
        holding.position_cost_microdollars = e.position_cost_microdollars
        holding.realized_pnl_microdollars = e.realized_pnl_microdollars
        holding.fees_paid_microdollars = e.fees_paid_microdollars
        holding.volume_centicontracts = e.volume_centicontracts
        holding.total_traded_microdollars = e.total_traded_microdollars
        holding.updated_ms = time_ms
        if market.status == FINALIZED and e.position_centicontracts == 0:
            del holdings[e.ticker]

    def _position_sides(self, e: ev.PositionSides) -> None:
        """The two sides of a holding kept apart (after its PositionChanged, which set the difference):
        the pairs held count in the open interest beside the difference's YES."""
        holding = self.holdings.get(e.account_id, {}).get(e.ticker)
        if holding is None:
            return  # settled: the PositionChanged before it dropped the holding
        before = holding.hedged_centicontracts()
        holding.yes_centicontracts = e.yes_centicontracts
        holding.no_centicontracts = e.no_centicontracts
        holding.yes_cost_microdollars = e.yes_cost_microdollars
        holding.no_cost_microdollars = e.no_cost_microdollars
        self.markets[e.ticker].open_interest_centicontracts += holding.hedged_centicontracts() - before

    def _netting_changed(self, e: ev.NettingChanged) -> None:
        if e.enabled:
            self.netting_off.discard(e.account_id)
            for holding in self.holdings.get(e.account_id, {}).values():
                holding.yes_centicontracts = holding.no_centicontracts = 0  # never both held when switched on
                holding.yes_cost_microdollars = holding.no_cost_microdollars = 0
        else:
            self.netting_off.add(e.account_id)

    def netting_enabled(self, account_id: int) -> bool:
        return account_id not in self.netting_off

    def _subaccount_created(self, primary: int, number: int, account_id: int) -> None:
        self.subaccounts.setdefault(primary, {})[number] = account_id
        self.subaccount_of[account_id] = (primary, number)

    def member_accounts(self, primary: int) -> dict[int, int]:
        """A member's accounts by subaccount number: 0 (the primary account) first, then 1, 2, ..."""
        return {0: primary, **self.subaccounts.get(primary, {})}

    def subaccount_number(self, account_id: int) -> int:
        """Which of its member's subaccounts an account is (0 for a primary account)."""
        found = self.subaccount_of.get(account_id)
        return 0 if found is None else found[1]

    def _account_opened(self, e: ev.AccountOpened, seq: int, time_ms: int) -> None:
        self.balances[e.account_id] = Balance()

    def _series_created(self, e: ev.SeriesCreated, seq: int, time_ms: int) -> None:
        self.series[e.ticker] = e

    def _event_created(self, e: ev.EventCreated, seq: int, time_ms: int) -> None:
        self.events[e.event_ticker] = e
        self.event_markets[e.event_ticker] = []

    def _market_created(self, e: ev.MarketCreated, seq: int, time_ms: int) -> None:
        self.markets[e.ticker] = MarketView(e, time_ms)
        self.event_markets[e.event_ticker].append(e.ticker)

    def _market_times(self, e: ev.MarketTimesChanged, seq: int, time_ms: int) -> None:
        market = self.markets[e.ticker]
        market.open_time_ms = e.open_time_ms
        market.close_time_ms = e.close_time_ms
        market.updated_ms = time_ms

    def _market_status(self, e: ev.MarketStatusChanged, seq: int, time_ms: int) -> None:
        market = self.markets[e.ticker]
        market.status = e.status
        market.updated_ms = time_ms
        if e.status == FINALIZED:
            market.settled_ms = time_ms
            market.settle_at_ms = 0
            market.open_interest_centicontracts = 0
        elif e.status == DISPUTED:
            market.settle_at_ms = 0

    def _market_determined(self, e: ev.MarketDetermined, seq: int, time_ms: int) -> None:
        market = self.markets[e.ticker]
        market.result = e.result
        market.settlement_value_centicents = e.settlement_value_centicents
        market.settlement_source = e.source
        market.determined_ms = time_ms
        market.settle_at_ms = e.settle_at_ms

    def _position_settled(self, e: ev.PositionSettled, seq: int, time_ms: int) -> None:
        self.holdings.get(e.account_id, {}).pop(e.ticker, None)

    def _exchange_status(self, e: ev.ExchangeStatusChanged, seq: int, time_ms: int) -> None:
        self.exchange_active = e.exchange_active
        self.trading_active = e.trading_active

    def _order_group(self, e: ev.OrderGroupChanged, seq: int, time_ms: int) -> None:
        if e.change == "deleted":
            self.order_groups.pop(e.order_group_id, None)
        else:
            triggered = e.change == "triggered" or (e.change != "reset" and self.order_groups.get(e.order_group_id, (0, 0, False))[2])
            self.order_groups[e.order_group_id] = (e.account_id, e.contracts_limit_centicontracts, triggered)

    def _combination(self, ticker: str, collection_ticker: str, legs: list[list[str]]) -> None:
        self.markets[ticker].combination = (
            collection_ticker, [(self.markets[leg].event_ticker, leg, side) for leg, side in legs],
        )

    def _market_terms(self, e: ev.MarketTermsChanged, time_ms: int) -> None:
        market = self.markets[e.ticker]
        values: dict[str, Any] = dict(zip(ev.MarketCreated.FIELDS, market.definition.values(), strict=True))
        values.update({field: value for field, value in e.changes})
        market.definition = ev.MarketCreated(**values)
        market.updated_ms = time_ms

    def _fee_change_applied(self, e: ev.FeeChangeApplied, time_ms: int) -> None:
        self.schedules.fee_change_applied(e)
        if not e.event_ticker:
            s = self.series[e.series_ticker]
            self.series[s.ticker] = ev.SeriesCreated(
                s.ticker, s.title, s.category, s.frequency, e.fee_type, e.fee_multiplier_bps, s.tags, s.settlement_sources,
                s.contract_url, s.contract_terms_url,
            )

    # --- loading from a recovered engine --------------------------------------------------------

    def restore_balance_times(self, changed: list[tuple[Any, ...]], transfers: list[tuple[Any, ...]]) -> None:
        """When each balance last changed, which an engine snapshot does not hold: `changed` is
        (account id, last time) from the history of fills, orders, money and settlements, `transfers`
        (member's primary account, from number, to number, last time) from the subaccount transfers."""
        last: dict[int, int] = {int(account_id): int(time_ms) for account_id, time_ms in changed}
        for primary, from_number, to_number, time_ms in transfers:
            accounts = self.member_accounts(int(primary))
            for number in (int(from_number), int(to_number)):
                account_id = accounts.get(number)
                if account_id is not None:
                    last[account_id] = max(last.get(account_id, 0), int(time_ms))
        for account_id, balance in self.balances.items():
            balance.updated_ms = last.get(account_id, balance.updated_ms)

    def load_day(self, rows: list[tuple[Any, ...]], now_ms: int) -> None:
        """Seed each market's last 24 hours from one-minute candles (ticker, minute, volume, bid close,
        ask close, price close), oldest first."""
        for ticker, minute_ms, volume, bid, ask, price in rows:
            market = self.markets.get(ticker)
            if market is None:
                continue
            day = market.day
            if volume:
                day.trade(minute_ms, bid, ask, price, volume)
            day.quote(minute_ms, bid, ask)
        for market in self.markets.values():
            market.day.prune(now_ms)

    @classmethod
    def load_from_engine(cls, engine: Engine, seq: int, time_ms: int) -> LiveState:
        state = cls()
        state.seq = seq
        state.time_ms = time_ms
        state.exchange_active = engine.markets.exchange_active
        state.trading_active = engine.markets.trading_active
        _load_instruments(state, engine)
        state.schedules = Schedules.load_from_engine(engine)
        for ticker, (collection, legs) in state.schedules.combos.items():
            state._combination(ticker, collection, legs)
        for order in sorted(engine.trading.orders.values(), key=_priority):
            view = OrderView.from_engine(order)
            state.orders[order.order_id] = view
            state.orders_by_account.setdefault(order.account_id, {})[order.order_id] = view
            state._enqueue(view)
        for account in engine.ledger.accounts.values():
            balance = state.balances[account.account_id] = Balance()
            balance.cash_microdollars = account.cash_microdollars
            balance.locked_microdollars = account.locked_microdollars
            balance.pending_withdrawal_microdollars = account.pending_withdrawal_microdollars
            if not account.netting_enabled:
                state.netting_off.add(account.account_id)
            for ticker, am in account.markets.items():
                if am.volume_centicontracts == 0 and am.position_centicontracts == 0 and am.yes_centicontracts == 0:
                    continue
                holding = state.holdings.setdefault(account.account_id, {})[ticker] = Holding()
                holding.position_centicontracts = am.position_centicontracts
                holding.position_cost_microdollars = am.position_cost_microdollars
                holding.realized_pnl_microdollars = am.realized_pnl_microdollars
                holding.fees_paid_microdollars = am.fees_paid_microdollars
                holding.volume_centicontracts = am.volume_centicontracts
                holding.total_traded_microdollars = am.total_traded_microdollars
                holding.updated_ms = am.updated_ms
                holding.yes_centicontracts = am.yes_centicontracts
                holding.no_centicontracts = am.no_centicontracts
                holding.yes_cost_microdollars = am.yes_cost_microdollars
                holding.no_cost_microdollars = am.no_cost_microdollars
        for group in engine.trading.groups.values():
            state.order_groups[group.order_group_id] = (group.account_id, group.contracts_limit_centicontracts, group.triggered)
        for primary, numbered in engine.ledger.subaccounts.by_primary.items():
            for number, account_id in numbered.items():
                state._subaccount_created(primary, number, account_id)
        state.not_eligible = dict(engine.trading.not_eligible)
        state.position_limits_by_series = dict(engine.trading.position_limits.by_series)
        state.position_limits_by_market = dict(engine.trading.position_limits.by_market)
        return state


def _priority(order: Order) -> int:
    return order.priority


def _load_instruments(state: LiveState, engine: Engine) -> None:
    for s in engine.markets.series.values():
        state.series[s.ticker] = ev.SeriesCreated(
            s.ticker, s.title, s.category, s.frequency, s.fee_type, s.fee_multiplier_bps, list(s.tags),
            [list(src) for src in s.settlement_sources], s.contract_url, s.contract_terms_url,
        )
    for e in engine.markets.events.values():
        state.events[e.event_ticker] = ev.EventCreated(
            e.event_ticker, e.series_ticker, e.title, e.sub_title, e.mutually_exclusive, e.strike_date_ms, e.strike_period,
        )
        state.event_markets[e.event_ticker] = list(e.market_tickers)
    for m in engine.markets.markets.values():
        created = ev.MarketCreated(
            m.ticker, m.market_number, m.event_ticker, m.series_ticker, m.market_type, m.title, m.subtitle,
            m.yes_sub_title, m.no_sub_title, m.rules_primary, m.rules_secondary, m.open_time_ms, m.close_time_ms,
            m.expected_expiration_ms, m.settlement_timer_s, m.price_level_structure, m.fractional_trading,
            m.can_close_early, m.strike_type, m.floor_strike, m.cap_strike, m.fee_waiver_expiration_ms,
        )
        view = MarketView(created, m.created_ms)
        view.open_time_ms = m.open_time_ms
        view.close_time_ms = m.close_time_ms
        view.updated_ms = m.updated_ms
        view.status = m.status
        view.result = m.result
        view.settlement_value_centicents = m.settlement_value_centicents
        view.settlement_source = m.settlement_source
        view.determined_ms = m.determined_ms
        view.settled_ms = m.settled_ms
        view.settle_at_ms = m.settle_at_ms
        view.last_price_centicents = m.last_price_centicents
        view.volume_centicontracts = m.volume_centicontracts
        view.open_interest_centicontracts = m.open_interest_centicontracts
        for price, level in m.book.bids.levels.items():
            view.book.set_level(True, price, level.total_centicontracts)
        for price, level in m.book.asks.levels.items():
            view.book.set_level(False, price, level.total_centicontracts)
        view.book.seq = state.seq
        state.markets[m.ticker] = view
