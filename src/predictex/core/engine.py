"""The engine: a deterministic state machine, `apply(command, now_ms) -> Outcome`.

It holds every book, account and market and turns commands into events. No I/O, no clocks, no
randomness: ids come from counters, time is passed in (and never runs backwards), and every
container it iterates is insertion-ordered, so the same commands always give the same events and
the same state. A refused command returns a Reject and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from predictex.core import commands as c
from predictex.core import position_limits
from predictex.core.combos import Combos
from predictex.core.communications import Communications
from predictex.core.content import Content
from predictex.core.events import (
    AccountOpened,
    ArchiveCutoffChanged,
    BalanceChanged,
    ComboMarketCreated,
    ContentPublished,
    Deposited,
    Event,
    EventCreated,
    ExchangeStatusChanged,
    MarketCreated,
    MarketDetermined,
    MarketStatusChanged,
    MarketTermsChanged,
    MarketTimesChanged,
    PositionChanged,
    PositionLimitSet,
    PositionSides,
    SeriesCreated,
    TradingEligibilityChanged,
    WithdrawalChanged,
)
from predictex.core.fee_changes import FeeSchedule
from predictex.core.instruments import (
    ACTIVE,
    AMENDED,
    CLOSED,
    DETERMINED,
    DISPUTED,
    FINALIZED,
    INACTIVE,
    INITIALIZED,
    RESULT_SCALAR,
    RESULT_VOID,
    RESULT_YES,
    RESULTS,
    Market,
    MarketStatus,
)
from predictex.core.ledger import Account, Ledger, Withdrawal
from predictex.core.lifecycle import check_transition
from predictex.core.limits import (
    ACCOUNTS_MAX,
    BALANCE_INCREMENT_MICRODOLLARS,
    BATCH_ORDERS_MAX,
    DEPOSIT_MICRODOLLARS_MAX,
    MARKETS_PER_EVENT_MAX,
    TEXT_LENGTH_MAX,
    WITHDRAWAL_MICRODOLLARS_MIN,
)
from predictex.core.market_terms import apply_changes, check_changes
from predictex.core.markets import Markets, check_text, check_ticker, check_time
from predictex.core.orders import (
    REASON_CANCEL_ALL,
    REASON_CANCELED,
    REASON_MARKET_CLOSED,
    REASON_MARKET_REACTIVATED,
    REASON_PAUSE,
)
from predictex.core.rejects import Reject, RejectCode, Rejected, Subject, naming
from predictex.core.scope import Scope
from predictex.core.settlement import settle_market
from predictex.core.subaccounts import create_subaccount, refuse_money_movement, set_netting, transfer
from predictex.core.timers import APPLY_FEE_CHANGE, CLOSE_MARKET, EXPIRE_ORDER, EXPIRE_RFQ, OPEN_MARKET, SETTLE_MARKET, Timers
from predictex.core.trading import Trading
from predictex.core.units import (
    COUNT_ONE_CONTRACT_CENTICONTRACTS,
    PRICE_ONE_DOLLAR_CENTICENTS,
    format_count_fp,
    format_money_dollars,
)


class Outcome:
    """What one command did: its events (everything, in order), the refusal if it was refused, the id
    it created or acted on (`value`), and for batches one Outcome per item."""

    def __init__(self, events: list[Event]) -> None:
        self.events = events
        self.reject: Reject | None = None
        self.value = 0
        self.items: list[Outcome] = []

    @property
    def ok(self) -> bool:
        return self.reject is None

    def __repr__(self) -> str:
        status = "ok" if self.reject is None else repr(self.reject)
        return f"Outcome({status}, value={self.value}, events={len(self.events)}, items={len(self.items)})"


Handler = Callable[[c.Command, Outcome], None]


class Engine:
    def __init__(self) -> None:
        self.scope = Scope()
        self.ledger = Ledger()
        self.markets = Markets()
        self.timers = Timers()
        self.trading = Trading(self.scope, self.ledger, self.markets, self.timers)
        self.combos = Combos(self.markets)
        self.communications = Communications(self.scope, self.ledger, self.markets, self.timers, self.trading, self.combos)
        self.fees = FeeSchedule(self.scope, self.markets, self.trading, self.timers)
        self.content = Content()
        self.now_ms = 0
        self._handlers: dict[type[c.Command], Handler] = {
            c.Tick: self._tick,
            c.OpenAccount: self._open_account,
            c.Deposit: self._deposit,
            c.RequestWithdrawal: self._request_withdrawal,
            c.CompleteWithdrawal: self._complete_withdrawal,
            c.CancelWithdrawal: self._cancel_withdrawal,
            c.CreateSubaccount: self._create_subaccount,
            c.TransferBetweenSubaccounts: self._transfer_between_subaccounts,
            c.SetNetting: self._set_netting,
            c.CreateSeries: self._create_series,
            c.CreateEvent: self._create_event,
            c.CreateMarket: self._create_market,
            c.SetMarketTimes: self._set_market_times,
            c.PauseMarket: self._pause_market,
            c.ResumeMarket: self._resume_market,
            c.SetExchangeStatus: self._set_exchange_status,
            c.DetermineMarket: self._determine_market,
            c.DisputeMarket: self._dispute_market,
            c.AmendMarketResult: self._amend_market_result,
            c.FinalizeMarket: self._finalize_market,
            c.CreateOrder: self._create_order,
            c.CancelOrder: self._cancel_order,
            c.AmendOrder: self._amend_order,
            c.DecreaseOrder: self._decrease_order,
            c.BatchCreateOrders: self._batch_create_orders,
            c.BatchCancelOrders: self._batch_cancel_orders,
            c.CancelAllOrders: self._cancel_all_orders,
            c.CreateOrderGroup: self._create_order_group,
            c.ChangeOrderGroup: self._change_order_group,
            c.ScheduleFeeChange: self._schedule_fee_change,
            c.SetArchiveCutoff: self._set_archive_cutoff,
            c.PublishContent: self._publish_content,
            c.CreateComboMarket: self._create_combo_market,
            c.UpdateMarketTerms: self._update_market_terms,
            c.CreateRfq: self._create_rfq,
            c.DeleteRfq: self._delete_rfq,
            c.CreateQuote: self._create_quote,
            c.DeleteQuote: self._delete_quote,
            c.AcceptQuote: self._accept_quote,
            c.ConfirmQuote: self._confirm_quote,
            c.ProposeBlockTrade: self._propose_block_trade,
            c.AcceptBlockTrade: self._accept_block_trade,
            c.RejectBlockTrade: self._reject_block_trade,
            c.SetPositionLimit: self._set_position_limit,
            c.SetTradingEligibility: self._set_trading_eligibility,
        }

    # --- the one entry point --------------------------------------------------------------------

    def apply(self, command: c.Command, now_ms: int) -> Outcome:
        if now_ms < self.now_ms:
            now_ms = self.now_ms
        events: list[Event] = []
        outcome = Outcome(events)
        scope = self.scope
        scope.begin(events)
        if now_ms >= self.timers.next_due_ms:
            self._advance(now_ms)
        scope.now_ms = now_ms
        self.now_ms = now_ms
        try:
            # the hot commands first, without a lookup
            if isinstance(command, c.AmendOrder):
                outcome.value = self.trading.amend(command).order_id
            elif isinstance(command, c.CreateOrder):
                outcome.value = self.trading.create(command).order_id
            elif isinstance(command, c.CancelOrder):
                outcome.value = self.trading.cancel(command.account_id, command.order_id, REASON_CANCELED).order_id
            else:
                handler = self._handlers.get(type(command))
                if handler is None:
                    raise Rejected(RejectCode.INVALID_PARAMETERS, f"unknown command {type(command).__name__}")
                handler(command, outcome)
        except Rejected as refusal:
            outcome.reject = refusal.reject()
        self._report_touched()
        return outcome

    def next_deadline_ms(self) -> int:
        """When something will next happen because time passed (a Tick is due then)."""
        return self.timers.next_due_ms

    def _report_touched(self) -> None:
        scope = self.scope
        for account in scope.accounts:
            scope.emit(BalanceChanged(
                account.account_id, account.cash_microdollars, account.locked_microdollars,
                account.pending_withdrawal_microdollars,
            ))
        for am in scope.positions:
            scope.emit(PositionChanged(
                am.account_id, am.ticker, am.position_centicontracts, am.position_cost_microdollars,
                am.realized_pnl_microdollars, am.fees_paid_microdollars, am.volume_centicontracts,
                am.total_traded_microdollars,
            ))
            if not am.account.netting_enabled:
                scope.emit(PositionSides(
                    am.account_id, am.ticker, am.yes_centicontracts, am.no_centicontracts, am.yes_cost_microdollars,
                    am.no_cost_microdollars,
                ))

    def _advance(self, now_ms: int) -> None:
        """Everything that falls due up to now, in due order, each at its own time."""
        timers = self.timers
        markets = self.markets.markets
        while True:
            entry = timers.pop_due(now_ms)
            if entry is None:
                return
            due_ms, _, kind, order_id, ticker = entry
            self.scope.now_ms = due_ms
            self.now_ms = due_ms
            if kind == EXPIRE_ORDER:
                self.trading.expire(order_id, due_ms)
                continue
            if kind == APPLY_FEE_CHANGE:
                self.fees.apply(order_id)
                continue
            if kind >= EXPIRE_RFQ:
                self.communications.on_timer(kind, order_id, due_ms)
                continue
            market = markets[ticker]
            if kind == OPEN_MARKET:
                if market.status == INITIALIZED and market.open_time_ms == due_ms:
                    self._transition(market, ACTIVE, "open_time")
            elif kind == CLOSE_MARKET:
                if (market.status == ACTIVE or market.status == INACTIVE) and market.close_time_ms == due_ms:
                    self._close(market, "close_time")
            elif kind == SETTLE_MARKET:
                if (market.status == DETERMINED or market.status == AMENDED) and market.settle_at_ms == due_ms:
                    self._finalize(market)

    def _tick(self, command: c.Command, outcome: Outcome) -> None:
        return None

    # --- accounts and money ---------------------------------------------------------------------

    def _account(self, account_id: int) -> Account:
        return self.trading.account(account_id)

    def _open_account(self, command: c.Command, outcome: Outcome) -> None:
        ledger = self.ledger
        if len(ledger.accounts) >= ACCOUNTS_MAX:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"the exchange holds {ACCOUNTS_MAX} accounts already")
        account = Account(ledger.next_account_id, self.now_ms)
        ledger.next_account_id += 1
        ledger.accounts[account.account_id] = account
        self.scope.emit(AccountOpened(account.account_id))
        self.scope.touch(account)
        outcome.value = account.account_id

    def _deposit(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.Deposit)
        account = self._account(command.account_id)
        refuse_money_movement(self.ledger, account.account_id, "a deposit")
        amount = command.amount_microdollars
        if not 0 < amount <= DEPOSIT_MICRODOLLARS_MAX:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"a deposit must be positive and at most ${format_money_dollars(DEPOSIT_MICRODOLLARS_MAX)}")
        if amount % BALANCE_INCREMENT_MICRODOLLARS:
            raise Rejected(RejectCode.INVALID_PARAMETERS, "a deposit is a whole number of cents")
        if len(command.reference) > TEXT_LENGTH_MAX:
            raise Rejected(RejectCode.INVALID_PARAMETERS, "reference is too long")
        account.cash_microdollars += amount
        account.deposited_microdollars += amount
        self.ledger.deposited_microdollars += amount
        self.scope.emit(Deposited(account.account_id, amount, command.reference))
        self.scope.touch(account)
        outcome.value = account.account_id

    def _request_withdrawal(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.RequestWithdrawal)
        account = self._account(command.account_id)
        refuse_money_movement(self.ledger, account.account_id, "a withdrawal")
        amount = command.amount_microdollars
        if not self.markets.exchange_active:
            raise Rejected(RejectCode.EXCHANGE_PAUSED, "no changes are accepted until it resumes")
        if amount % BALANCE_INCREMENT_MICRODOLLARS:
            raise Rejected(RejectCode.INVALID_PARAMETERS, "a withdrawal is a whole number of cents")
        if amount < WITHDRAWAL_MICRODOLLARS_MIN:
            raise Rejected(RejectCode.WITHDRAWAL_TOO_SMALL, f"the minimum withdrawal is ${format_money_dollars(WITHDRAWAL_MICRODOLLARS_MIN)}")
        if amount > account.cash_microdollars:
            raise Rejected(
                RejectCode.INSUFFICIENT_BALANCE,
                f"need ${format_money_dollars(amount)}, have ${format_money_dollars(account.cash_microdollars)}",
            )
        ledger = self.ledger
        withdrawal = Withdrawal(ledger.next_withdrawal_id, account.account_id, amount)
        ledger.next_withdrawal_id += 1
        ledger.withdrawals[withdrawal.withdrawal_id] = withdrawal
        account.cash_microdollars -= amount
        account.pending_withdrawal_microdollars += amount
        self.scope.emit(WithdrawalChanged(withdrawal.withdrawal_id, account.account_id, amount, "pending"))
        self.scope.touch(account)
        outcome.value = withdrawal.withdrawal_id

    def _pending_withdrawal(self, withdrawal_id: int) -> tuple[Withdrawal, Account]:
        withdrawal = self.ledger.withdrawals.get(withdrawal_id)
        if withdrawal is None:
            raise naming(RejectCode.WITHDRAWAL_NOT_FOUND, "no pending withdrawal ", Subject.WITHDRAWAL, withdrawal_id)
        return withdrawal, self.ledger.accounts[withdrawal.account_id]

    def _complete_withdrawal(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.CompleteWithdrawal)
        withdrawal, account = self._pending_withdrawal(command.withdrawal_id)
        amount = withdrawal.amount_microdollars
        del self.ledger.withdrawals[withdrawal.withdrawal_id]
        account.pending_withdrawal_microdollars -= amount
        account.withdrawn_microdollars += amount
        self.ledger.withdrawn_microdollars += amount
        self.scope.emit(WithdrawalChanged(withdrawal.withdrawal_id, account.account_id, amount, "completed"))
        self.scope.touch(account)
        outcome.value = withdrawal.withdrawal_id

    def _cancel_withdrawal(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.CancelWithdrawal)
        withdrawal, account = self._pending_withdrawal(command.withdrawal_id)
        amount = withdrawal.amount_microdollars
        del self.ledger.withdrawals[withdrawal.withdrawal_id]
        account.pending_withdrawal_microdollars -= amount
        account.cash_microdollars += amount
        self.scope.emit(WithdrawalChanged(withdrawal.withdrawal_id, account.account_id, amount, "cancelled"))
        self.scope.touch(account)
        outcome.value = withdrawal.withdrawal_id

    def _set_trading_eligibility(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.SetTradingEligibility)
        if command.account_id not in self.ledger.accounts:
            raise Rejected(RejectCode.ACCOUNT_NOT_FOUND, f"no account {command.account_id}")
        if command.account_id in self.ledger.subaccounts.owner:
            raise Rejected(RejectCode.INVALID_PARAMETERS, "eligibility is a member's: name its primary account")
        check_text(command.reason, "reason")
        if command.reason:
            self.trading.not_eligible[command.account_id] = command.reason
        else:
            self.trading.not_eligible.pop(command.account_id, None)
        self.scope.emit(TradingEligibilityChanged(command.account_id, command.reason))

    def _set_position_limit(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.SetPositionLimit)
        market_limit, event_limit = command.market_limit_centicontracts, command.event_limit_centicontracts
        if command.scope == position_limits.SERIES:
            if command.ticker not in self.markets.series:
                raise Rejected(RejectCode.SERIES_NOT_FOUND, f"no series {command.ticker}")
        elif command.scope == position_limits.MARKET:
            self.markets.market(command.ticker)
            if event_limit:
                raise Rejected(RejectCode.INVALID_PARAMETERS, "a market's limit is per market: set per-event limits on its series")
        else:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"scope must be one of {', '.join(position_limits.SCOPES)}")
        for name, value in (("market limit", market_limit), ("event limit", event_limit)):
            if not 0 <= value <= position_limits.POSITION_LIMIT_CENTICONTRACTS_MAX or value % COUNT_ONE_CONTRACT_CENTICONTRACTS:
                raise Rejected(RejectCode.INVALID_PARAMETERS, (
                    f"{name} must be a whole number of contracts from 0 (none) to "
                    f"{format_count_fp(position_limits.POSITION_LIMIT_CENTICONTRACTS_MAX)}"))
        self.trading.position_limits.set(command.scope, command.ticker, market_limit, event_limit)
        self.scope.emit(PositionLimitSet(command.scope, command.ticker, market_limit, event_limit))

    def _create_subaccount(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.CreateSubaccount)
        outcome.value = create_subaccount(self.ledger, self.scope, command, self.now_ms)

    def _transfer_between_subaccounts(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.TransferBetweenSubaccounts)
        if not self.markets.exchange_active:
            raise Rejected(RejectCode.EXCHANGE_PAUSED, "no changes are accepted until it resumes")
        outcome.value = transfer(self.ledger, self.scope, command)

    def _set_netting(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.SetNetting)
        if not self.markets.exchange_active:
            raise Rejected(RejectCode.EXCHANGE_PAUSED, "no changes are accepted until it resumes")
        outcome.value = set_netting(self.ledger, self.scope, command)

    # --- instruments ----------------------------------------------------------------------------

    def _create_series(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.CreateSeries)
        s = self.markets.create_series(command, self.now_ms)
        self.scope.emit(SeriesCreated(
            s.ticker, s.title, s.category, s.frequency, s.fee_type, s.fee_multiplier_bps, list(s.tags),
            [list(source) for source in s.settlement_sources], s.contract_url, s.contract_terms_url,
        ))

    def _create_event(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.CreateEvent)
        e = self.markets.create_event(command, self.now_ms)
        self.scope.emit(EventCreated(
            e.event_ticker, e.series_ticker, e.title, e.sub_title, e.mutually_exclusive, e.strike_date_ms, e.strike_period,
        ))

    def _create_market(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.CreateMarket)
        m = self.markets.create_market(command, self.now_ms)
        self.scope.emit(MarketCreated(
            m.ticker, m.market_number, m.event_ticker, m.series_ticker, m.market_type, m.title, m.subtitle,
            m.yes_sub_title, m.no_sub_title, m.rules_primary, m.rules_secondary, m.open_time_ms, m.close_time_ms,
            m.expected_expiration_ms, m.settlement_timer_s, m.price_level_structure, m.fractional_trading,
            m.can_close_early, m.strike_type, m.floor_strike, m.cap_strike, m.fee_waiver_expiration_ms,
        ))
        outcome.value = m.market_number
        if m.open_time_ms <= self.now_ms:
            self._transition(m, ACTIVE, "open_time")
        else:
            self.timers.schedule(m.open_time_ms, OPEN_MARKET, 0, m.ticker)
        self.timers.schedule(m.close_time_ms, CLOSE_MARKET, 0, m.ticker)

    def _schedule_fee_change(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.ScheduleFeeChange)
        outcome.value = self.fees.schedule(
            command.series_ticker, command.event_ticker, command.fee_type, command.fee_multiplier_bps,
            command.effective_ms, self.now_ms,
        ).change_id

    def _create_combo_market(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.CreateComboMarket)
        markets = self.markets
        legs = self.combos.check_legs(command.legs)
        check_ticker(command.event_ticker, "event ticker")
        check_ticker(command.market_ticker, "market ticker")
        check_text(command.title, "title")
        check_time(command.close_time_ms, "close_time")
        if command.market_ticker in markets.markets:
            raise Rejected(RejectCode.ALREADY_EXISTS, f"market {command.market_ticker} was created before")
        event = markets.events.get(command.event_ticker)
        if event is None and command.series_ticker not in markets.series:
            raise Rejected(RejectCode.SERIES_NOT_FOUND, f"no series {command.series_ticker!r}")
        if event is not None and event.series_ticker != command.series_ticker:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"event {event.event_ticker} is not in series {command.series_ticker}")
        if event is not None and len(event.market_tickers) >= MARKETS_PER_EVENT_MAX:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"event {event.event_ticker} has {MARKETS_PER_EVENT_MAX} markets already")
        if command.close_time_ms <= self.now_ms:
            raise Rejected(RejectCode.INVALID_PARAMETERS, "the collection is closed: close_time must be in the future")
        if event is None:
            self._create_event(c.CreateEvent(command.event_ticker, command.series_ticker, command.title), outcome)
        self._create_market(c.CreateMarket(
            command.market_ticker, command.event_ticker, command.title, self.now_ms, command.close_time_ms,
        ), outcome)
        self.combos.add(command.collection_ticker, command.market_ticker, legs)
        self.scope.emit(ComboMarketCreated(
            command.collection_ticker, command.event_ticker, command.market_ticker, [[t, side] for t, side in legs],
        ))

    def _decide_combinations(self, leg: Market) -> None:
        """Settle the combinations a leg's settlement decides (their own settlement timers apply)."""
        for combination, result in self.combos.decided(leg.ticker):
            if combination.status == ACTIVE or combination.status == INACTIVE:
                self._close(combination, "legs_decided")
            if combination.status == CLOSED:
                self._set_result(combination, result, -1, f"legs of {combination.ticker}", DETERMINED)

    def _update_market_terms(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.UpdateMarketTerms)
        market = self.markets.market(command.ticker)
        check_changes(market, command.changes)
        self.scope.emit(MarketTermsChanged(market.ticker, [list(change) for change in command.changes]))
        apply_changes(market, command.changes, self.trading, self.now_ms)

    def _publish_content(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.PublishContent)
        self.content.publish(command.kind, command.key, command.body)
        self.scope.emit(ContentPublished(command.kind, command.key, command.body))

    def _set_archive_cutoff(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.SetArchiveCutoff)
        markets = self.markets
        wanted = [command.market_settled_ms, command.trades_created_ms, command.orders_updated_ms]
        for ms, before, what in zip(wanted, markets.archive_cutoff_ms, ("market_settled", "trades_created", "orders_updated"), strict=True):
            check_time(ms, what)
            if ms > self.now_ms:
                raise Rejected(RejectCode.INVALID_PARAMETERS, f"the {what} cutoff cannot be in the future")
            if ms < before:
                raise Rejected(RejectCode.INVALID_PARAMETERS, f"the {what} cutoff only moves forward: what is archived stays archived")
        markets.archive_cutoff_ms = wanted
        self.scope.emit(ArchiveCutoffChanged(wanted[0], wanted[1], wanted[2]))

    # --- lifecycle ------------------------------------------------------------------------------

    def _transition(self, market: Market, status: MarketStatus, reason: str) -> None:
        check_transition(market, status)
        previous = market.status
        market.status = status
        market.updated_ms = self.now_ms
        self.scope.emit(MarketStatusChanged(market.ticker, previous, status, reason))

    def _close(self, market: Market, reason: str) -> None:
        self._transition(market, CLOSED, reason)
        market.closed_ms = self.now_ms
        self.trading.cancel_where(self.trading.market_orders(market.ticker, False), REASON_MARKET_CLOSED)

    def _set_market_times(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.SetMarketTimes)
        market = self.markets.market(command.ticker)
        if market.status not in (INITIALIZED, ACTIVE, INACTIVE, CLOSED):
            raise Rejected(RejectCode.INVALID_TRANSITION, f"market {market.ticker} is {market.status}; its times are final")
        open_ms = command.open_time_ms or market.open_time_ms
        close_ms = command.close_time_ms or market.close_time_ms
        check_time(command.open_time_ms, "open_time")
        check_time(command.close_time_ms, "close_time")
        if close_ms <= open_ms:
            if market.status == INITIALIZED or open_ms != market.open_time_ms:
                raise Rejected(RejectCode.INVALID_PARAMETERS, "close_time must be after open_time")
            close_ms = max(self.now_ms, open_ms)  # an opened market told to close before it opened closes now
        if open_ms != market.open_time_ms and market.status != INITIALIZED:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"market {market.ticker} has opened; its open time is final")
        now = self.now_ms
        market.open_time_ms = open_ms
        market.close_time_ms = close_ms
        market.updated_ms = now
        self.scope.emit(MarketTimesChanged(market.ticker, open_ms, close_ms))
        if market.status == INITIALIZED:
            if open_ms <= now:
                self._transition(market, ACTIVE, "open_time")
            else:
                self.timers.schedule(open_ms, OPEN_MARKET, 0, market.ticker)
        if market.status == CLOSED and close_ms > now:
            self._transition(market, ACTIVE, "reopened")
        if close_ms <= now and (market.status == ACTIVE or market.status == INACTIVE):
            self._close(market, "close_time")
        elif market.status != CLOSED:
            self.timers.schedule(close_ms, CLOSE_MARKET, 0, market.ticker)

    def _pause_market(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.PauseMarket)
        market = self.markets.market(command.ticker)
        self._transition(market, INACTIVE, "paused")
        self.trading.cancel_where(self.trading.market_orders(market.ticker, True), REASON_PAUSE)

    def _resume_market(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.ResumeMarket)
        market = self.markets.market(command.ticker)
        if market.status != INACTIVE:
            raise Rejected(RejectCode.INVALID_TRANSITION, f"market {market.ticker} is {market.status}, not paused")
        self._transition(market, ACTIVE, "resumed")
        self.trading.cancel_where(self.trading.market_orders(market.ticker, False), REASON_MARKET_REACTIVATED)

    def _set_exchange_status(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.SetExchangeStatus)
        markets = self.markets
        pausing = (markets.exchange_active and not command.exchange_active) or (
            markets.trading_active and not command.trading_active
        )
        markets.exchange_active = command.exchange_active
        markets.trading_active = command.trading_active
        self.scope.emit(ExchangeStatusChanged(command.exchange_active, command.trading_active))
        if pausing:
            victims = [order for order in self.trading.orders.values() if order.cancel_on_pause]
            self.trading.cancel_where(victims, REASON_PAUSE)

    def _check_result(self, market: Market, result: str, value: int) -> int:
        """The YES payout in centicents for a result (-1 for void)."""
        if result not in RESULTS:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"result must be one of {', '.join(RESULTS)}")
        if result == RESULT_VOID:
            return -1
        if result == RESULT_SCALAR:
            if not 0 <= value <= PRICE_ONE_DOLLAR_CENTICENTS:
                raise Rejected(RejectCode.INVALID_PARAMETERS, "a scalar result needs a settlement value between $0 and $1")
            return value
        payout = PRICE_ONE_DOLLAR_CENTICENTS if result == RESULT_YES else 0
        if value >= 0 and value != payout:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"result {result} settles at {payout}, not {value}")
        return payout

    def _set_result(self, market: Market, result: str, value: int, source: str, status: MarketStatus) -> None:
        if len(source) > TEXT_LENGTH_MAX:
            raise Rejected(RejectCode.INVALID_PARAMETERS, "source is too long")
        check_transition(market, status)
        payout = self._check_result(market, result, value)
        market.result = result
        market.settlement_value_centicents = payout
        market.settlement_source = source
        market.determined_ms = self.now_ms
        market.settle_at_ms = self.now_ms + market.settlement_timer_s * 1000
        self.scope.emit(MarketDetermined(market.ticker, result, payout, source, market.settle_at_ms))
        self._transition(market, status, status.value)  # the reason: determined or amended
        if market.settle_at_ms <= self.now_ms:
            self._finalize(market)
        else:
            self.timers.schedule(market.settle_at_ms, SETTLE_MARKET, 0, market.ticker)

    def _determine_market(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.DetermineMarket)
        market = self.markets.market(command.ticker)
        self._set_result(market, command.result, command.settlement_value_centicents, command.source, DETERMINED)

    def _dispute_market(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.DisputeMarket)
        market = self.markets.market(command.ticker)
        if len(command.reason) > TEXT_LENGTH_MAX:
            raise Rejected(RejectCode.INVALID_PARAMETERS, "reason is too long")
        self._transition(market, DISPUTED, command.reason or "disputed")
        market.settle_at_ms = 0

    def _amend_market_result(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.AmendMarketResult)
        market = self.markets.market(command.ticker)
        self._set_result(market, command.result, command.settlement_value_centicents, command.source, AMENDED)

    def _finalize_market(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.FinalizeMarket)
        market = self.markets.market(command.ticker)
        check_transition(market, FINALIZED)
        self._finalize(market)

    def _finalize(self, market: Market) -> None:
        self._transition(market, FINALIZED, "settled")
        market.settle_at_ms = 0
        market.settled_ms = self.now_ms
        settle_market(self.ledger, self.scope, market)
        if market.ticker in self.combos.of_leg:
            self._decide_combinations(market)

    # --- orders ---------------------------------------------------------------------------------

    def _create_order(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.CreateOrder)
        outcome.value = self.trading.create(command).order_id

    def _cancel_order(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.CancelOrder)
        outcome.value = self.trading.cancel(command.account_id, command.order_id, REASON_CANCELED).order_id

    def _amend_order(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.AmendOrder)
        outcome.value = self.trading.amend(command).order_id

    def _decrease_order(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.DecreaseOrder)
        outcome.value = self.trading.decrease(command).order_id

    def _check_batch(self, account_id: int, size: int) -> None:
        self._account(account_id)
        if size == 0 or size > BATCH_ORDERS_MAX:
            raise Rejected(RejectCode.BATCH_TOO_LARGE, f"a batch holds 1 to {BATCH_ORDERS_MAX} orders, not {size}")

    def _batch_create_orders(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.BatchCreateOrders)
        self._check_batch(command.account_id, len(command.orders))
        for item in command.orders:
            sub = Outcome(outcome.events)
            start = len(outcome.events)
            try:
                if item.account_id != command.account_id:
                    raise Rejected(RejectCode.INVALID_PARAMETERS, "every item of a batch belongs to the batch's account")
                sub.value = self.trading.create(item).order_id
            except Rejected as refusal:
                sub.reject = refusal.reject()
            sub.events = outcome.events[start:]
            outcome.items.append(sub)

    def _batch_cancel_orders(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.BatchCancelOrders)
        self._check_batch(command.account_id, len(command.order_ids))
        for order_id in command.order_ids:
            sub = Outcome(outcome.events)
            start = len(outcome.events)
            try:
                sub.value = self.trading.cancel(command.account_id, order_id, REASON_CANCELED).order_id
            except Rejected as refusal:
                sub.reject = refusal.reject()
            sub.events = outcome.events[start:]
            outcome.items.append(sub)

    def _cancel_all_orders(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.CancelAllOrders)
        outcome.value = self.trading.cancel_all(command.account_id, command.ticker, REASON_CANCEL_ALL)

    def _create_order_group(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.CreateOrderGroup)
        outcome.value = self.trading.create_group(command.account_id, command.contracts_limit_centicontracts).order_group_id

    def _change_order_group(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.ChangeOrderGroup)
        group = self.trading.change_group(
            command.account_id, command.order_group_id, command.change, command.contracts_limit_centicontracts,
        )
        outcome.value = group.order_group_id

    # --- communications: RFQs, quotes, block trades ----------------------------------------------

    def _create_rfq(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.CreateRfq)
        outcome.value = self.communications.create_rfq(command).rfq_id

    def _delete_rfq(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.DeleteRfq)
        outcome.value = self.communications.delete_rfq(command).rfq_id

    def _create_quote(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.CreateQuote)
        outcome.value = self.communications.create_quote(command).quote_id

    def _delete_quote(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.DeleteQuote)
        outcome.value = self.communications.delete_quote(command).quote_id

    def _accept_quote(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.AcceptQuote)
        outcome.value = self.communications.accept_quote(command).quote_id

    def _confirm_quote(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.ConfirmQuote)
        outcome.value = self.communications.confirm_quote(command).quote_id

    def _propose_block_trade(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.ProposeBlockTrade)
        outcome.value = self.communications.propose_block_trade(command).proposal_id

    def _accept_block_trade(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.AcceptBlockTrade)
        outcome.value = self.communications.accept_block_trade(command).proposal_id

    def _reject_block_trade(self, command: c.Command, outcome: Outcome) -> None:
        assert isinstance(command, c.RejectBlockTrade)
        outcome.value = self.communications.reject_block_trade(command).proposal_id

    # --- queries (safe between commands) --------------------------------------------------------

    def queue_position(self, order_id: int) -> int:
        return self.trading.queue_position(order_id)



