"""Fees over time: a series' fee change or an event's fee override, scheduled by the operator and
applied by the engine when it falls due (a timer, like a market's close), so replay applies it at the
same point in the command stream.

A series change sets the series' fee type and multiplier. An event override replaces either or both
for that event's markets; a cleared override ("" for the type, -1 for the multiplier) falls back to
the series. A market's fee terms are always its event's override, else its series', as of the last
change applied.

Changing a market's terms changes what its resting orders hold for their worst maker fee, so every
resting order there is re-locked at the new terms. An account whose free cash cannot cover a higher
lock has its orders in that market cancelled (reason `canceled`): the fee change is the operator's,
and the book never holds an order its owner cannot pay for.
"""

from __future__ import annotations

from predictex.core.events import FeeChangeApplied, FeeChangeScheduled
from predictex.core.fees import FEE_MULTIPLIER_ONE_BPS, FEE_TYPES, FeeTerms
from predictex.core.instruments import FINALIZED, Market
from predictex.core.ledger import Account, worst_fee_per_unit
from predictex.core.limits import FEE_CHANGES_MAX, FEE_MULTIPLIER_BPS_MAX
from predictex.core.markets import Markets, check_time
from predictex.core.orders import REASON_CANCELED
from predictex.core.rejects import RejectCode, Rejected
from predictex.core.scope import Scope
from predictex.core.timers import APPLY_FEE_CHANGE, Timers
from predictex.core.trading import Trading

NO_MULTIPLIER = -1  # an event override that leaves (or clears) the multiplier


class FeeChange:
    """One scheduled change. `event_ticker` empty: the series' own fee; else the event's override."""

    def __init__(
        self, change_id: int, series_ticker: str, event_ticker: str, fee_type: str, fee_multiplier_bps: int,
        effective_ms: int, scheduled_ms: int,
    ) -> None:
        self.change_id = change_id
        self.series_ticker = series_ticker
        self.event_ticker = event_ticker
        self.fee_type = fee_type
        self.fee_multiplier_bps = fee_multiplier_bps
        self.effective_ms = effective_ms
        self.scheduled_ms = scheduled_ms
        self.applied = False

    def as_list(self) -> list[object]:
        return [
            self.change_id, self.series_ticker, self.event_ticker, self.fee_type, self.fee_multiplier_bps,
            self.effective_ms, self.scheduled_ms, self.applied,
        ]


class FeeSchedule:
    """Every fee change the operator scheduled (applied or not), and applying them."""

    def __init__(self, scope: Scope, markets: Markets, trading: Trading, timers: Timers) -> None:
        self.scope = scope
        self.markets = markets
        self.trading = trading
        self.timers = timers
        self.changes: dict[int, FeeChange] = {}
        self.next_change_id = 1

    def schedule(
        self, series_ticker: str, event_ticker: str, fee_type: str, fee_multiplier_bps: int, effective_ms: int, now_ms: int,
    ) -> FeeChange:
        series_ticker = self._check(series_ticker, event_ticker, fee_type, fee_multiplier_bps, effective_ms)
        if len(self.changes) >= FEE_CHANGES_MAX:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"the exchange holds {FEE_CHANGES_MAX} fee changes already")
        change = FeeChange(
            self.next_change_id, series_ticker, event_ticker, fee_type, fee_multiplier_bps, max(effective_ms, now_ms), now_ms,
        )
        self.next_change_id += 1
        self.changes[change.change_id] = change
        self.scope.emit(FeeChangeScheduled(
            change.change_id, change.series_ticker, change.event_ticker, change.fee_type, change.fee_multiplier_bps,
            change.effective_ms,
        ))
        if change.effective_ms <= now_ms:
            self.apply(change.change_id)
        else:
            self.timers.schedule(change.effective_ms, APPLY_FEE_CHANGE, change.change_id, "")
        return change

    def _check(self, series_ticker: str, event_ticker: str, fee_type: str, fee_multiplier_bps: int, effective_ms: int) -> str:
        check_time(effective_ms, "effective time")
        if fee_multiplier_bps > FEE_MULTIPLIER_BPS_MAX or fee_multiplier_bps < NO_MULTIPLIER:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"fee multiplier must be between 0 and {FEE_MULTIPLIER_BPS_MAX // FEE_MULTIPLIER_ONE_BPS}")
        if fee_type and fee_type not in FEE_TYPES:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"fee_type must be one of {', '.join(FEE_TYPES)}")
        if event_ticker:
            event = self.markets.events.get(event_ticker)
            if event is None:
                raise Rejected(RejectCode.EVENT_NOT_FOUND, f"no event {event_ticker!r}")
            if series_ticker and series_ticker != event.series_ticker:
                raise Rejected(RejectCode.INVALID_PARAMETERS, f"event {event_ticker} is in series {event.series_ticker}, not {series_ticker}")
            return event.series_ticker
        if series_ticker not in self.markets.series:
            raise Rejected(RejectCode.SERIES_NOT_FOUND, f"no series {series_ticker!r}")
        if not fee_type or fee_multiplier_bps == NO_MULTIPLIER:
            raise Rejected(RejectCode.INVALID_PARAMETERS, "a series fee change names a fee type and a multiplier")
        return series_ticker

    def apply(self, change_id: int) -> None:
        """Apply a change that fell due (a stale timer, for a change already applied, does nothing)."""
        change = self.changes.get(change_id)
        if change is None or change.applied:
            return
        change.applied = True
        markets = self.markets
        if change.event_ticker:
            event = markets.events[change.event_ticker]
            event.fee_type_override = change.fee_type
            event.fee_multiplier_override_bps = change.fee_multiplier_bps
            tickers = list(event.market_tickers)
        else:
            series = markets.series[change.series_ticker]
            series.fee_type = change.fee_type
            series.fee_multiplier_bps = change.fee_multiplier_bps
            series.updated_ms = self.scope.now_ms
            tickers = [t for e in markets.events.values() if e.series_ticker == series.ticker for t in e.market_tickers]
        self.scope.emit(FeeChangeApplied(
            change.change_id, change.series_ticker, change.event_ticker, change.fee_type, change.fee_multiplier_bps,
        ))
        for ticker in tickers:
            market = markets.markets[ticker]
            if market.status != FINALIZED:
                self._reprice(market)

    def _reprice(self, market: Market) -> None:
        event = self.markets.events[market.event_ticker]
        series = self.markets.series[market.series_ticker]
        fee_type = event.fee_type_override or series.fee_type
        multiplier = event.fee_multiplier_override_bps
        if multiplier == NO_MULTIPLIER:
            multiplier = series.fee_multiplier_bps
        if fee_type == market.fee_type and multiplier == market.fee_multiplier_bps:
            return
        market.fee_type = fee_type
        market.fee_multiplier_bps = multiplier
        terms = FeeTerms(fee_type, multiplier, market.unit_centicontracts)
        market.fee_terms = terms
        resting = self.trading.market_orders(market.ticker, False)
        for order in resting:
            order.maker_fee_per_unit_microdollars = worst_fee_per_unit(terms, order.is_bid, order.price_centicents, False)
        short: dict[int, Account] = {}
        ledger = self.trading.ledger
        for order in resting:
            am = order.holder
            account = order.account
            if am is not None:
                ledger.relock_side(account, am, order.is_bid, terms, order)
            self.scope.touch(account)
            if account.cash_microdollars < 0:
                short[account.account_id] = account
        for account in short.values():
            self.trading.cancel_where([o for o in resting if o.account is account], REASON_CANCELED)
