"""A deliberately simple reference model of the exchange, written from docs/engine.md alone.

It shares no code with the engine (only the command classes, the unit constants and the reject codes)
and is built for being obviously right rather than fast: state is plain dicts and lists, a book is the
flat dict of open orders filtered and sorted on demand, every lock is recomputed from scratch whenever
it is needed, open interest is the sum of the YES positions, and a timer is a field that is scanned.
`ReferenceModel.apply(command, now_ms)` answers with a `RefOutcome`: the reject code, the id, the
trades, and one `RefOutcome` per batch item. `state()` gives everything the simulation compares.

Where docs/engine.md is silent (the order of checks outside CreateOrder, which commands return an id,
what an exchange pause refuses besides cancels and withdrawals), the model follows what the engine was
seen to do; each such place is marked "(engine choice)", so that the spec can be completed from them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from predictex.core import commands as c
from predictex.core.rejects import RejectCode
from predictex.core.units import (
    COUNT_ONE_CONTRACT_CENTICONTRACTS,
    MONEY_ONE_CENT_MICRODOLLARS,
    MONEY_ONE_CENTICENT_MICRODOLLARS,
    PAYOUT_PER_CENTICONTRACT_MICRODOLLARS,
    PRICE_ONE_DOLLAR_CENTICENTS,
)

ONE_DOLLAR_CENTICENTS = PRICE_ONE_DOLLAR_CENTICENTS
HALF_DOLLAR_CENTICENTS = PRICE_ONE_DOLLAR_CENTICENTS // 2
CENT_MICRODOLLARS = MONEY_ONE_CENT_MICRODOLLARS

# Limits the spec names ("at most the limit", "10,000 most recently closed", "1 to 20 items", ...).
ORDER_COUNT_MAX_CENTICONTRACTS = 100_000_000 * COUNT_ONE_CONTRACT_CENTICONTRACTS
OPEN_ORDERS_MAX = 200_000
RECENT_CLIENT_ORDER_IDS = 10_000
CLIENT_ORDER_ID_LENGTH_MAX = 64
BATCH_ITEMS_MAX = 20
WITHDRAWAL_MIN_MICRODOLLARS = 10 * 1_000_000
DEPOSIT_MAX_MICRODOLLARS = 1_000_000_000 * 1_000_000
ORDER_GROUP_WINDOW_MS = 15_000
SUBACCOUNTS_MAX = 63
CLIENT_TRANSFER_ID_LENGTH_MAX = 64
# communications (docs/engine.md, "Communications")
RFQ_LIFETIME_MS_MAX = 24 * 3600 * 1000  # "an expiration within a day"
RFQS_OPEN_MAX = 100  # "at most 100 open per account"
CONFIRM_WINDOW_MS_MAX = 30_000  # "at most 30 s away"
QUOTES_PER_RFQ_MAX = 1_000
BLOCK_TRADE_LIFETIME_MS_MAX = 7 * 24 * 3600 * 1000  # "within a week"
BLOCK_TRADES_PENDING_MAX = 1_000
TARGET_COST_MAX_MICRODOLLARS = ORDER_COUNT_MAX_CENTICONTRACTS * ONE_DOLLAR_CENTICENTS  # what the largest order costs at $1

GTC = "good_till_canceled"
IOC = "immediate_or_cancel"
FOK = "fill_or_kill"
TIMES_IN_FORCE = (GTC, IOC, FOK)
SELF_TRADE_MODES = ("taker_at_cross", "maker")
ORDER_TYPES = ("limit", "market")
ACTIONS = ("buy", "sell")
FEE_TYPES = ("quadratic", "quadratic_with_maker_fees", "quadratic_with_combo_maker_fees", "flat")
MAKER_FEE_TYPES = ("quadratic_with_maker_fees", "quadratic_with_combo_maker_fees")
RESULTS = ("yes", "no", "scalar", "void")

# Price grids as (start, end, step) bands in centicents (reference §3.2).
GRIDS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "linear_cent": ((0, 10_000, 100),),
    "deci_cent": ((0, 10_000, 10),),
    "tapered_deci_cent": ((0, 1_000, 10), (1_000, 9_000, 100), (9_000, 10_000, 10)),
    "center_whole_edge_half_cent": ((0, 1_000, 50), (1_000, 9_000, 100), (9_000, 10_000, 50)),
    "center_whole_edge_quint_cent": ((0, 1_000, 20), (1_000, 9_000, 100), (9_000, 10_000, 20)),
    "center_half_edge_half_cent": ((0, 10_000, 50),),
    "center_half_edge_quint_cent": ((0, 1_000, 20), (1_000, 9_000, 50), (9_000, 10_000, 20)),
    "center_half_edge_deci_cent": ((0, 1_000, 10), (1_000, 9_000, 50), (9_000, 10_000, 10)),
    "center_quint_edge_quint_cent": ((0, 10_000, 20),),
    "center_quint_edge_deci_cent": ((0, 1_000, 10), (1_000, 9_000, 20), (9_000, 10_000, 10)),
    "center_centi_edge_centi_cent": ((0, 10_000, 1),),
    "center_deci_edge_centi_cent": ((0, 100, 1), (100, 9_900, 10), (9_900, 10_000, 1)),
}


class Refused(Exception):
    def __init__(self, code: RejectCode) -> None:
        super().__init__(code.value)
        self.code = code


# --- pure money rules -------------------------------------------------------------------------------


def on_grid(structure: str, price_centicents: int) -> bool:
    if not 0 < price_centicents < ONE_DOLLAR_CENTICENTS:
        return False
    return any(start <= price_centicents <= end and (price_centicents - start) % step == 0 for start, end, step in GRIDS[structure])


def trade_fee_microdollars(fee_type: str, multiplier_bps: int, is_taker: bool, count_centicontracts: int, price_centicents: int) -> int:
    """coefficient x multiplier x C x P x (1 - P), rounded up to the centicent ($0.0001)."""
    if is_taker:
        numerator, denominator = 7, 100  # 0.07
    elif fee_type in MAKER_FEE_TYPES:
        numerator, denominator = 7, 400  # 0.0175
    else:
        return 0
    if fee_type == "flat":
        spread = ONE_DOLLAR_CENTICENTS * ONE_DOLLAR_CENTICENTS // 4
    else:
        spread = price_centicents * (ONE_DOLLAR_CENTICENTS - price_centicents)
    # dollars = n/d x bps/1e4 x count/1e2 x spread/1e8; in centicents of money (1e-4 $): / (d x 1e10)
    exact = numerator * multiplier_bps * count_centicontracts * spread
    scale = denominator * 10**10
    return -(-exact // scale) * MONEY_ONE_CENTICENT_MICRODOLLARS


def ceil_to_cent(amount_microdollars: int) -> int:
    return -(-amount_microdollars // CENT_MICRODOLLARS) * CENT_MICRODOLLARS


def order_lock_microdollars(
    unit_centicontracts: int, is_bid: bool, price_centicents: int, fee_per_unit_microdollars: int,
    opening_centicontracts: int, closing_centicontracts: int, accumulator_microdollars: int,
) -> int:
    price_cost = price_centicents if is_bid else ONE_DOLLAR_CENTICENTS - price_centicents
    close_revenue = ONE_DOLLAR_CENTICENTS - price_centicents if is_bid else price_centicents
    bound = (
        opening_centicontracts * price_cost
        + (opening_centicontracts // unit_centicontracts) * fee_per_unit_microdollars
        + (closing_centicontracts // unit_centicontracts)
        * max(0, fee_per_unit_microdollars - unit_centicontracts * close_revenue)
    )
    return ceil_to_cent(max(0, bound - accumulator_microdollars))


# --- state ------------------------------------------------------------------------------------------


@dataclass
class Order:
    order_id: int
    account_id: int
    ticker: str
    is_bid: bool
    price_centicents: int
    remaining_centicontracts: int
    time_in_force: str
    expiration_ms: int
    post_only: bool
    self_trade_prevention: str
    cancel_on_pause: bool
    client_order_id: str
    order_group_id: int
    priority: int
    filled_centicontracts: int = 0
    rounding_accumulator_microdollars: int = 0
    expiry_sequence: int = 0
    closed: bool = False
    sells: bool = False  # its action is sell: with netting off, only a sell closes what is held


@dataclass
class Market:
    ticker: str
    number: int
    fee_type: str
    fee_multiplier_bps: int
    structure: str
    fractional: bool
    open_time_ms: int
    close_time_ms: int
    settlement_timer_s: int
    fee_waiver_expiration_ms: int
    status: str = "initialized"
    result: str = ""
    settlement_value_centicents: int = -1
    settle_at_ms: int = 0
    open_sequence: int = 0
    close_sequence: int = 0
    settle_sequence: int = 0

    @property
    def unit_centicontracts(self) -> int:
        return 1 if self.fractional else COUNT_ONE_CONTRACT_CENTICONTRACTS


@dataclass
class Account:
    account_id: int
    total_microdollars: int = 0  # cash + locked: the locked part is derived from the resting orders
    pending_withdrawal_microdollars: int = 0
    closed_client_order_ids: list[str] = field(default_factory=list)
    netting: bool = True  # off: YES and NO held apart (Position.yes / .no)


@dataclass
class Position:
    position_centicontracts: int = 0
    cost_microdollars: int = 0
    realized_pnl_microdollars: int = 0
    fees_paid_microdollars: int = 0
    # netting off only: what is held of each side and what it cost (the position is their difference)
    yes_centicontracts: int = 0
    no_centicontracts: int = 0
    yes_cost_microdollars: int = 0
    no_cost_microdollars: int = 0


@dataclass
class Group:
    account_id: int
    limit_centicontracts: int
    triggered: bool = False
    window: list[tuple[int, int]] = field(default_factory=list)  # (fill time, count)


class RefTrade(NamedTuple):
    """A trade, field for field as the engine's `Trade` event."""

    trade_id: int
    ticker: str
    price_centicents: int
    count_centicontracts: int
    taker_is_bid: bool
    taker_order_id: int
    taker_account_id: int
    maker_order_id: int
    maker_account_id: int
    taker_fee_microdollars: int
    maker_fee_microdollars: int
    taker_rounding_microdollars: int
    maker_rounding_microdollars: int
    taker_rebate_microdollars: int
    maker_rebate_microdollars: int
    taker_cash_delta_microdollars: int
    maker_cash_delta_microdollars: int
    taker_position_centicontracts: int
    maker_position_centicontracts: int


@dataclass
class Rfq:
    rfq_id: int
    account_id: int
    ticker: str
    count_centicontracts: int  # 0 when sized by target cost
    target_cost_microdollars: int  # 0 when sized by count
    excludes_fees: bool
    expiration_ms: int
    expiry_sequence: int
    quote_ids: list[int] = field(default_factory=list)  # held: open, accepted, or lapsed (awaiting the close)


@dataclass
class Quote:
    quote_id: int
    rfq_id: int
    account_id: int
    rfq_account_id: int
    ticker: str
    yes_bid_centicents: int
    no_bid_centicents: int
    yes_count_centicontracts: int  # what accepting each side trades (0: the side is declined or buys nothing)
    no_count_centicontracts: int
    status: str = "open"  # open | accepted | cancelled (lapsed)
    side: str = ""
    deadline_ms: int = 0
    deadline_sequence: int = 0


@dataclass
class Proposal:
    proposal_id: int
    proposer: int
    buyer: int
    seller: int
    ticker: str
    price_centicents: int
    count_centicontracts: int
    maker_side: str
    expiration_ms: int
    expiry_sequence: int
    buyer_accepted: bool
    seller_accepted: bool


@dataclass
class RefOutcome:
    reject: RejectCode | None = None
    value: int = 0
    trades: list[RefTrade] = field(default_factory=list)
    items: list[RefOutcome] = field(default_factory=list)


@dataclass
class _SideFill:
    fee_microdollars: int
    rounding_microdollars: int
    rebate_microdollars: int
    cash_delta_microdollars: int
    position_centicontracts: int


# --- the model --------------------------------------------------------------------------------------


class ReferenceModel:
    def __init__(self) -> None:
        self.now_ms = 0
        self.exchange_active = True
        self.trading_active = True
        self.series: dict[str, tuple[str, int]] = {}  # ticker -> (fee type, multiplier)
        self.events: dict[str, str] = {}  # event ticker -> series ticker
        self.markets: dict[str, Market] = {}
        self.accounts: dict[int, Account] = {}
        self.positions: dict[tuple[int, str], Position] = {}
        self.orders: dict[int, Order] = {}  # open orders
        self.groups: dict[int, Group] = {}
        self.withdrawals: dict[int, tuple[int, int, str]] = {}  # id -> (account, amount, status)
        self.revenue_microdollars = 0
        self.deposited_microdollars = 0
        self.withdrawn_microdollars = 0
        self.next_account_id = 1
        self.next_order_id = 1
        self.next_trade_id = 1
        self.next_group_id = 1
        self.next_withdrawal_id = 1
        # subaccounts: primary -> {number -> account}, account -> (primary, number), and each member's
        # client_transfer_id -> (transfer id, from, to, amount)
        self.subaccounts: dict[int, dict[int, int]] = {}
        self.subaccount_owner: dict[int, tuple[int, int]] = {}
        self.transfer_ids: dict[int, dict[str, tuple[int, int, int, int]]] = {}
        self.next_transfer_id = 1
        self.next_market_number = 1
        self.next_priority = 1
        self.next_timer_sequence = 1
        self.rfqs: dict[int, Rfq] = {}  # open
        self.quotes: dict[int, Quote] = {}  # held by open RFQs
        self.proposals: dict[int, Proposal] = {}  # pending
        self.next_rfq_id = 1
        self.next_quote_id = 1
        self.next_proposal_id = 1
        self._trades: list[RefTrade] = []
        self._handlers: dict[type[c.Command], Callable[[Any], int]] = {
            c.Tick: lambda _: 0,
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
            c.CancelOrder: lambda cmd: self._cancel_order(cmd.account_id, cmd.order_id),
            c.AmendOrder: self._amend_order,
            c.DecreaseOrder: self._decrease_order,
            c.CancelAllOrders: self._cancel_all_orders,
            c.CreateOrderGroup: self._create_order_group,
            c.ChangeOrderGroup: self._change_order_group,
            c.CreateRfq: self._create_rfq,
            c.DeleteRfq: self._delete_rfq,
            c.CreateQuote: self._create_quote,
            c.DeleteQuote: self._delete_quote,
            c.AcceptQuote: self._accept_quote,
            c.ConfirmQuote: self._confirm_quote,
            c.ProposeBlockTrade: self._propose_block_trade,
            c.AcceptBlockTrade: self._accept_block_trade,
            c.RejectBlockTrade: self._reject_block_trade,
        }

    # --- entry point ------------------------------------------------------------------------------

    def apply(self, command: c.Command, now_ms: int) -> RefOutcome:
        now_ms = max(now_ms, self.now_ms)
        self._advance(now_ms)
        self.now_ms = now_ms
        if isinstance(command, c.BatchCreateOrders):
            return self._batch(command.account_id, command.orders, self._batch_create_item)
        if isinstance(command, c.BatchCancelOrders):
            return self._batch(command.account_id, command.order_ids, self._batch_cancel_item)
        return self._single(lambda: self._dispatch(command))

    def _single(self, handler: Callable[[], int]) -> RefOutcome:
        self._trades = []
        outcome = RefOutcome()
        try:
            outcome.value = handler()
        except Refused as refusal:
            outcome.reject = refusal.code
            outcome.value = 0
        outcome.trades = self._trades
        self._trades = []
        return outcome

    def _batch(self, account_id: int, items: list[Any], handle: Callable[[int, Any], int]) -> RefOutcome:
        outcome = RefOutcome()
        if account_id not in self.accounts:  # (engine choice) the batch's account first, then its size
            outcome.reject = RejectCode.ACCOUNT_NOT_FOUND
            return outcome
        if not 1 <= len(items) <= BATCH_ITEMS_MAX:
            outcome.reject = RejectCode.BATCH_TOO_LARGE
            return outcome
        for item in items:
            result = self._single(functools.partial(handle, account_id, item))
            outcome.items.append(result)
            outcome.trades.extend(result.trades)
        return outcome

    def _batch_create_item(self, account_id: int, order: c.CreateOrder) -> int:
        if order.account_id != account_id:
            raise Refused(RejectCode.INVALID_PARAMETERS)
        return self._create_order(order)

    def _batch_cancel_item(self, account_id: int, order_id: int) -> int:
        return self._cancel_order(account_id, order_id)

    def _dispatch(self, command: c.Command) -> int:
        handler = self._handlers.get(type(command))
        if handler is None:
            raise Refused(RejectCode.INVALID_PARAMETERS)
        return handler(command)

    # --- time -------------------------------------------------------------------------------------

    def _timer_sequence(self) -> int:
        self.next_timer_sequence += 1
        return self.next_timer_sequence

    def _due_things(self, now_ms: int) -> list[tuple[int, int, str, Any]]:
        """Everything due at or before now: (due time, scheduling sequence, kind, subject)."""
        due: list[tuple[int, int, str, Any]] = []
        for market in self.markets.values():
            if market.status == "initialized" and market.open_time_ms <= now_ms:
                due.append((market.open_time_ms, market.open_sequence, "open", market))
            if market.status in ("active", "inactive") and market.close_time_ms <= now_ms:
                due.append((market.close_time_ms, market.close_sequence, "close", market))
            if market.status in ("determined", "amended") and market.settle_at_ms <= now_ms:
                due.append((market.settle_at_ms, market.settle_sequence, "settle", market))
        for order in self.orders.values():
            if order.expiration_ms and order.expiration_ms <= now_ms:
                due.append((order.expiration_ms, order.expiry_sequence, "expire", order))
        for rfq in self.rfqs.values():
            if rfq.expiration_ms <= now_ms:
                due.append((rfq.expiration_ms, rfq.expiry_sequence, "rfq", rfq))
        for quote in self.quotes.values():
            if quote.status == "accepted" and quote.deadline_ms <= now_ms:
                due.append((quote.deadline_ms, quote.deadline_sequence, "confirm", quote))
        for proposal in self.proposals.values():
            if proposal.expiration_ms <= now_ms:
                due.append((proposal.expiration_ms, proposal.expiry_sequence, "proposal", proposal))
        return due

    def _advance(self, now_ms: int) -> None:
        while True:
            due = self._due_things(now_ms)
            if not due:
                return
            due_ms, _, kind, subject = min(due, key=lambda entry: (entry[0], entry[1]))
            self.now_ms = max(self.now_ms, due_ms)
            if kind == "open":
                subject.status = "active"
            elif kind == "close":
                self._close_market(subject)
            elif kind == "settle":
                self._finalize(subject)
            elif kind == "rfq":
                self._close_rfq(subject)
            elif kind == "confirm":
                subject.status = "cancelled"  # lapsed: kept until its RFQ closes
            elif kind == "proposal":
                del self.proposals[subject.proposal_id]
            else:
                self._close_order(subject)

    # --- accounts and money -----------------------------------------------------------------------

    def _account(self, account_id: int) -> Account:
        account = self.accounts.get(account_id)
        if account is None:
            raise Refused(RejectCode.ACCOUNT_NOT_FOUND)
        return account

    # (engine choice) an exchange pause refuses a member's RequestWithdrawal; the operator's OpenAccount,
    # Deposit and completing or cancelling a withdrawal are accepted. Money moves in whole cents.

    def _open_account(self, command: c.OpenAccount) -> int:
        account_id = self.next_account_id
        self.next_account_id += 1
        self.accounts[account_id] = Account(account_id)
        return account_id

    def _deposit(self, command: c.Deposit) -> int:
        account = self._account(command.account_id)
        if account.account_id in self.subaccount_owner:  # money enters through the primary account
            raise Refused(RejectCode.INVALID_PARAMETERS)
        if not 0 < command.amount_microdollars <= DEPOSIT_MAX_MICRODOLLARS:
            raise Refused(RejectCode.INVALID_PARAMETERS)
        if command.amount_microdollars % CENT_MICRODOLLARS:
            raise Refused(RejectCode.INVALID_PARAMETERS)
        account.total_microdollars += command.amount_microdollars
        self.deposited_microdollars += command.amount_microdollars
        return account.account_id

    def _request_withdrawal(self, command: c.RequestWithdrawal) -> int:
        account = self._account(command.account_id)
        if account.account_id in self.subaccount_owner:  # and leaves through it
            raise Refused(RejectCode.INVALID_PARAMETERS)
        if not self.exchange_active:
            raise Refused(RejectCode.EXCHANGE_PAUSED)
        if command.amount_microdollars % CENT_MICRODOLLARS:
            raise Refused(RejectCode.INVALID_PARAMETERS)
        if command.amount_microdollars < WITHDRAWAL_MIN_MICRODOLLARS:
            raise Refused(RejectCode.WITHDRAWAL_TOO_SMALL)
        if command.amount_microdollars > self.cash_microdollars(account.account_id):
            raise Refused(RejectCode.INSUFFICIENT_BALANCE)
        account.total_microdollars -= command.amount_microdollars
        account.pending_withdrawal_microdollars += command.amount_microdollars
        withdrawal_id = self.next_withdrawal_id
        self.next_withdrawal_id += 1
        self.withdrawals[withdrawal_id] = (account.account_id, command.amount_microdollars, "pending")
        return withdrawal_id

    # Subaccounts (docs/engine.md): numbered 1 to 63 under a primary account, each an account of its own;
    # a transfer moves available cash between two of one member's accounts (0 = the primary account).

    def _primary(self, account_id: int) -> Account:
        account = self._account(account_id)
        if account_id in self.subaccount_owner:
            raise Refused(RejectCode.INVALID_PARAMETERS)
        return account

    def _numbered(self, primary: int, number: int) -> Account:
        if number == 0:
            return self._primary(primary)
        account_id = self.subaccounts.get(primary, {}).get(number)
        if account_id is None:
            raise Refused(RejectCode.ACCOUNT_NOT_FOUND)
        return self.accounts[account_id]

    def _create_subaccount(self, command: c.CreateSubaccount) -> int:
        self._primary(command.account_id)
        mine = self.subaccounts.get(command.account_id, {})
        if len(mine) >= SUBACCOUNTS_MAX:
            raise Refused(RejectCode.INVALID_PARAMETERS)
        number = len(mine) + 1
        account_id = self._open_account(c.OpenAccount())
        self.subaccounts.setdefault(command.account_id, {})[number] = account_id
        self.subaccount_owner[account_id] = (command.account_id, number)
        return number

    def _transfer_between_subaccounts(self, command: c.TransferBetweenSubaccounts) -> int:
        if not self.exchange_active:
            raise Refused(RejectCode.EXCHANGE_PAUSED)
        self._primary(command.account_id)
        amount = command.amount_microdollars
        if not 0 < amount <= DEPOSIT_MAX_MICRODOLLARS or amount % CENT_MICRODOLLARS:
            raise Refused(RejectCode.INVALID_PARAMETERS)
        if not 0 < len(command.client_transfer_id) <= CLIENT_TRANSFER_ID_LENGTH_MAX:
            raise Refused(RejectCode.INVALID_PARAMETERS)
        if command.from_subaccount == command.to_subaccount:
            raise Refused(RejectCode.INVALID_PARAMETERS)
        source = self._numbered(command.account_id, command.from_subaccount)
        target = self._numbered(command.account_id, command.to_subaccount)
        earlier = self.transfer_ids.get(command.account_id, {}).get(command.client_transfer_id)
        if earlier is not None:
            if earlier[1:] != (command.from_subaccount, command.to_subaccount, amount):
                raise Refused(RejectCode.ALREADY_EXISTS)
            return earlier[0]  # the same transfer again: nothing moves
        if amount > self.cash_microdollars(source.account_id):
            raise Refused(RejectCode.INSUFFICIENT_BALANCE)
        source.total_microdollars -= amount
        target.total_microdollars += amount
        transfer_id = self.next_transfer_id
        self.next_transfer_id += 1
        self.transfer_ids.setdefault(command.account_id, {})[command.client_transfer_id] = (
            transfer_id, command.from_subaccount, command.to_subaccount, amount)
        return transfer_id

    def _set_netting(self, command: c.SetNetting) -> int:
        """Netting on or off for one of the member's accounts: not with resting orders, and not on while a
        market is held on both sides; a one-sided position changes form, nothing else moves."""
        if not self.exchange_active:
            raise Refused(RejectCode.EXCHANGE_PAUSED)
        self._primary(command.account_id)
        account = self._numbered(command.account_id, command.subaccount_number)
        if account.netting == command.enabled:
            return command.subaccount_number
        if any(o.account_id == account.account_id for o in self.orders.values()):
            raise Refused(RejectCode.INVALID_PARAMETERS)
        mine = [p for (a, _), p in sorted(self.positions.items()) if a == account.account_id]
        if command.enabled and any(p.yes_centicontracts and p.no_centicontracts for p in mine):
            raise Refused(RejectCode.INVALID_PARAMETERS)
        account.netting = command.enabled
        for p in mine:
            size = p.position_centicontracts
            if command.enabled:
                p.yes_centicontracts = p.no_centicontracts = p.yes_cost_microdollars = p.no_cost_microdollars = 0
            else:
                p.yes_centicontracts, p.no_centicontracts = max(size, 0), max(-size, 0)
                p.yes_cost_microdollars = p.cost_microdollars if size > 0 else 0
                p.no_cost_microdollars = p.cost_microdollars if size < 0 else 0
        return command.subaccount_number

    def _take_pending_withdrawal(self, withdrawal_id: int) -> tuple[Account, int]:
        entry = self.withdrawals.get(withdrawal_id)
        if entry is None or entry[2] != "pending":
            raise Refused(RejectCode.WITHDRAWAL_NOT_FOUND)
        account = self.accounts[entry[0]]
        account.pending_withdrawal_microdollars -= entry[1]
        return account, entry[1]

    def _complete_withdrawal(self, command: c.CompleteWithdrawal) -> int:
        account, amount = self._take_pending_withdrawal(command.withdrawal_id)
        self.withdrawn_microdollars += amount
        self.withdrawals[command.withdrawal_id] = (account.account_id, amount, "completed")
        return command.withdrawal_id

    def _cancel_withdrawal(self, command: c.CancelWithdrawal) -> int:
        account, amount = self._take_pending_withdrawal(command.withdrawal_id)
        account.total_microdollars += amount
        self.withdrawals[command.withdrawal_id] = (account.account_id, amount, "cancelled")
        return command.withdrawal_id

    # --- instruments ------------------------------------------------------------------------------

    def _create_series(self, command: c.CreateSeries) -> int:
        if not command.ticker or command.fee_type not in FEE_TYPES or command.fee_multiplier_bps < 0:
            raise Refused(RejectCode.INVALID_PARAMETERS)
        if command.ticker in self.series:
            raise Refused(RejectCode.ALREADY_EXISTS)
        self.series[command.ticker] = (command.fee_type, command.fee_multiplier_bps)
        return 0

    def _create_event(self, command: c.CreateEvent) -> int:
        if command.series_ticker not in self.series:
            raise Refused(RejectCode.SERIES_NOT_FOUND)
        if command.event_ticker in self.events:
            raise Refused(RejectCode.ALREADY_EXISTS)
        self.events[command.event_ticker] = command.series_ticker
        return 0

    def _create_market(self, command: c.CreateMarket) -> int:
        series_ticker = self.events.get(command.event_ticker)
        if series_ticker is None:
            raise Refused(RejectCode.EVENT_NOT_FOUND)
        if command.ticker in self.markets:
            raise Refused(RejectCode.ALREADY_EXISTS)
        if (
            command.close_time_ms <= self.now_ms or command.price_level_structure not in GRIDS
            or command.market_type not in ("binary", "scalar") or command.open_time_ms >= command.close_time_ms
        ):
            raise Refused(RejectCode.INVALID_PARAMETERS)
        fee_type, multiplier_bps = self.series[series_ticker]
        market = Market(
            command.ticker, self.next_market_number, fee_type, multiplier_bps, command.price_level_structure,
            command.fractional_trading, command.open_time_ms, command.close_time_ms, command.settlement_timer_s,
            command.fee_waiver_expiration_ms, open_sequence=self._timer_sequence(), close_sequence=self._timer_sequence(),
        )
        self.next_market_number += 1
        self.markets[market.ticker] = market
        if market.open_time_ms <= self.now_ms:
            market.status = "active"
        return market.number

    def _market(self, ticker: str) -> Market:
        market = self.markets.get(ticker)
        if market is None:
            raise Refused(RejectCode.MARKET_NOT_FOUND)
        return market

    def _set_market_times(self, command: c.SetMarketTimes) -> int:
        market = self._market(command.ticker)
        if market.status not in ("initialized", "active", "inactive", "closed"):
            raise Refused(RejectCode.INVALID_TRANSITION)
        # (engine choice) an open time may only move before opening; one already past opens the market now
        if command.open_time_ms and market.status != "initialized":
            raise Refused(RejectCode.INVALID_PARAMETERS)
        open_ms = command.open_time_ms or market.open_time_ms
        close_ms = command.close_time_ms or market.close_time_ms
        if close_ms <= open_ms:
            if market.status == "initialized":
                raise Refused(RejectCode.INVALID_PARAMETERS)
            close_ms = max(self.now_ms, open_ms)  # (engine choice) an opened market told to close before it opened closes now
        if command.open_time_ms:
            market.open_time_ms = open_ms
            market.open_sequence = self._timer_sequence()
            if open_ms <= self.now_ms:
                market.status = "active"
        if command.close_time_ms:
            market.close_time_ms = close_ms
            market.close_sequence = self._timer_sequence()
            if close_ms <= self.now_ms and market.status in ("active", "inactive"):
                self._close_market(market)
            elif close_ms > self.now_ms and market.status == "closed":
                market.status = "active"
        return 0

    # (engine choice) only CreateMarket answers with the market number; the other operator commands on a
    # market answer 0.

    def _transition(self, market: Market, allowed_from: tuple[str, ...], status: str) -> None:
        if market.status not in allowed_from:
            raise Refused(RejectCode.INVALID_TRANSITION)
        market.status = status

    def _pause_market(self, command: c.PauseMarket) -> int:
        market = self._market(command.ticker)
        self._transition(market, ("active",), "inactive")
        for order in self._orders_where(lambda o: o.ticker == market.ticker and o.cancel_on_pause):
            self._close_order(order)
        return 0

    def _resume_market(self, command: c.ResumeMarket) -> int:
        market = self._market(command.ticker)
        self._transition(market, ("inactive",), "active")
        for order in self._orders_where(lambda o: o.ticker == market.ticker):
            self._close_order(order)
        return 0

    def _close_market(self, market: Market) -> None:
        market.status = "closed"
        for order in self._orders_where(lambda o: o.ticker == market.ticker):
            self._close_order(order)

    def _set_exchange_status(self, command: c.SetExchangeStatus) -> int:
        switched_off = (self.exchange_active and not command.exchange_active) or (self.trading_active and not command.trading_active)
        self.exchange_active = command.exchange_active
        self.trading_active = command.trading_active
        if switched_off:
            for order in self._orders_where(lambda o: o.cancel_on_pause):
                self._close_order(order)
        return 0

    def _check_result(self, result: str, value_centicents: int) -> int:
        if result == "scalar":
            if not 0 <= value_centicents <= ONE_DOLLAR_CENTICENTS:
                raise Refused(RejectCode.INVALID_PARAMETERS)
            return value_centicents
        if result not in RESULTS or value_centicents != -1:
            raise Refused(RejectCode.INVALID_PARAMETERS)
        return {"yes": ONE_DOLLAR_CENTICENTS, "no": 0, "void": -1}[result]

    def _set_result(self, market: Market, result: str, value_centicents: int, status: str) -> None:
        market.status = status
        market.result = result
        market.settlement_value_centicents = value_centicents
        market.settle_at_ms = self.now_ms + market.settlement_timer_s * 1000
        market.settle_sequence = self._timer_sequence()
        if market.settle_at_ms <= self.now_ms:
            self._finalize(market)

    def _determine_market(self, command: c.DetermineMarket) -> int:
        market = self._market(command.ticker)
        if market.status != "closed":
            raise Refused(RejectCode.INVALID_TRANSITION)
        value = self._check_result(command.result, command.settlement_value_centicents)
        self._set_result(market, command.result, value, "determined")
        return 0

    def _dispute_market(self, command: c.DisputeMarket) -> int:
        market = self._market(command.ticker)
        self._transition(market, ("determined", "amended"), "disputed")
        return 0

    def _amend_market_result(self, command: c.AmendMarketResult) -> int:
        market = self._market(command.ticker)
        if market.status != "disputed":
            raise Refused(RejectCode.INVALID_TRANSITION)
        value = self._check_result(command.result, command.settlement_value_centicents)
        self._set_result(market, command.result, value, "amended")
        return 0

    def _finalize_market(self, command: c.FinalizeMarket) -> int:
        market = self._market(command.ticker)
        if market.status not in ("determined", "amended"):
            raise Refused(RejectCode.INVALID_TRANSITION)
        self._finalize(market)
        return 0

    def _finalize(self, market: Market) -> None:
        """Settle: pay each position, floor each payout to the cent; the pool less the payouts is revenue."""
        market.status = "finalized"
        pool = self.open_interest_centicontracts(market.ticker) * PAYOUT_PER_CENTICONTRACT_MICRODOLLARS
        paid = 0
        for (account_id, ticker), position in sorted(self.positions.items()):
            if ticker != market.ticker:
                continue
            payout = self._payout_microdollars(market, position)
            floored = payout // CENT_MICRODOLLARS * CENT_MICRODOLLARS
            self.accounts[account_id].total_microdollars += floored
            paid += floored
            del self.positions[(account_id, ticker)]
        self.revenue_microdollars += pool - paid

    def _payout_microdollars(self, market: Market, position: Position) -> int:
        """Netted: the one side held; held apart: YES pays the value and NO the rest of the dollar each."""
        yes, no = self._held(position)
        if market.result == "void":
            return position.cost_microdollars
        value = market.settlement_value_centicents
        return yes * value + no * (ONE_DOLLAR_CENTICENTS - value)

    @staticmethod
    def _held(position: Position) -> tuple[int, int]:
        """(YES held, NO held): the sides when held apart, else the signed position's one side."""
        if position.yes_centicontracts or position.no_centicontracts:
            return position.yes_centicontracts, position.no_centicontracts
        size = position.position_centicontracts
        return max(size, 0), max(-size, 0)

    # --- reading state ----------------------------------------------------------------------------

    def _orders_where(self, keep: Callable[[Order], bool]) -> list[Order]:
        return sorted((o for o in self.orders.values() if keep(o)), key=lambda o: o.order_id)

    def position(self, account_id: int, ticker: str) -> Position:
        return self.positions.get((account_id, ticker)) or Position()

    def open_interest_centicontracts(self, ticker: str) -> int:
        """Every YES held (a pair held apart counts too)."""
        return sum(self._held(p)[0] for (_, t), p in self.positions.items() if t == ticker)

    def closable_centicontracts(self, account_id: int, ticker: str, is_bid: bool, sells: bool = True) -> int:
        """The position an order on this side would close: NO held for a bid, YES held for an ask; with
        netting off, only for a sell."""
        if not self.accounts[account_id].netting and not sells:
            return 0
        yes, no = self._held(self.position(account_id, ticker))
        return no if is_bid else yes

    def locked_by_account(self, only_account_id: int = 0) -> dict[int, int]:
        """Every account's locked cash (or one account's), recomputed from its resting orders."""
        sides: dict[tuple[int, str, bool], list[Order]] = {}
        for o in self.orders.values():
            if not only_account_id or o.account_id == only_account_id:
                sides.setdefault((o.account_id, o.ticker, o.is_bid), []).append(o)
        locked = {only_account_id: 0} if only_account_id else dict.fromkeys(self.accounts, 0)
        for (account_id, ticker, is_bid), orders in sides.items():
            entries = [(o, False) for o in sorted(orders, key=_fill_key)]
            locked[account_id] += self._side_lock(account_id, self.markets[ticker], is_bid, entries)
        return locked

    def cash_microdollars(self, account_id: int) -> int:
        return self.accounts[account_id].total_microdollars - self.locked_by_account(account_id)[account_id]

    def _resting_entries(self, account_id: int, ticker: str, is_bid: bool, leave_out: int = 0) -> list[tuple[Order, bool]]:
        """The account's resting orders on one side, in fill order, each marked as not crossing."""
        mine = [o for o in self.orders.values() if o.account_id == account_id and o.ticker == ticker and o.is_bid == is_bid and o.order_id != leave_out]
        return [(o, False) for o in sorted(mine, key=_fill_key)]

    def _side_lock(self, account_id: int, market: Market, is_bid: bool, entries: list[tuple[Order, bool]]) -> int:
        """The total lock of one side's orders taken in the given order: the position they would close
        goes to the first ones."""
        unclaimed = self.closable_centicontracts(account_id, market.ticker, is_bid)
        netting = self.accounts[account_id].netting
        total = 0
        for order, crossing in entries:
            closing = min(order.remaining_centicontracts, unclaimed) if netting or order.sells else 0
            unclaimed -= closing
            total += order_lock_microdollars(
                market.unit_centicontracts, is_bid, order.price_centicents, self._fee_per_unit(market, order, crossing),
                order.remaining_centicontracts - closing, closing, order.rounding_accumulator_microdollars,
            )
        return total

    def _fee_per_unit(self, market: Market, order: Order, crossing: bool) -> int:
        """The fee of one unit at the worst price it could fill at: its own (maker) price when resting; its
        limit clamped toward $0.50 (taker) when it crosses."""
        price = order.price_centicents
        if crossing:
            price = min(price, HALF_DOLLAR_CENTICENTS) if order.is_bid else max(price, HALF_DOLLAR_CENTICENTS)
        return trade_fee_microdollars(market.fee_type, market.fee_multiplier_bps, crossing, market.unit_centicontracts, price)

    def state(self) -> dict[str, Any]:
        """Everything the simulation compares, in plain data."""
        locked = self.locked_by_account()
        open_interest = dict.fromkeys(self.markets, 0)
        for (_, ticker), p in self.positions.items():
            open_interest[ticker] += self._held(p)[0]
        return {
            "accounts": {
                a.account_id: (a.total_microdollars - locked[a.account_id], locked[a.account_id], a.pending_withdrawal_microdollars)
                for a in self.accounts.values()
            },
            "positions": {
                key: (p.position_centicontracts, p.cost_microdollars, p.realized_pnl_microdollars, p.fees_paid_microdollars)
                for key, p in self.positions.items()
                if (p.position_centicontracts, p.cost_microdollars, p.realized_pnl_microdollars, p.fees_paid_microdollars) != (0, 0, 0, 0)
            },
            "markets": {
                m.ticker: (m.status, m.result, m.settlement_value_centicents, open_interest[m.ticker])
                for m in self.markets.values()
                if m.status != "finalized"
            },
            "finalized": sum(1 for m in self.markets.values() if m.status == "finalized"),
            "books": self.books(),
            "orders": {o.order_id: o.remaining_centicontracts for o in self.orders.values()},
            "money": (self.revenue_microdollars, self.deposited_microdollars, self.withdrawn_microdollars),
            "subaccounts": (self.subaccounts, self.next_transfer_id),
            "netting_off": sorted(a.account_id for a in self.accounts.values() if not a.netting),
            "sides": {
                key: (p.yes_centicontracts, p.no_centicontracts, p.yes_cost_microdollars, p.no_cost_microdollars)
                for key, p in self.positions.items() if p.yes_centicontracts or p.no_centicontracts
            },
            "rfqs": {r.rfq_id: (r.account_id, r.ticker, r.count_centicontracts, r.target_cost_microdollars, tuple(r.quote_ids))
                     for r in self.rfqs.values()},
            "quotes": {q.quote_id: (q.account_id, q.status, q.side, q.deadline_ms, q.yes_count_centicontracts, q.no_count_centicontracts)
                       for q in self.quotes.values()},
            "proposals": {p.proposal_id: (p.buyer_accepted, p.seller_accepted) for p in self.proposals.values()},
        }

    def books(self) -> dict[str, tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]]:
        """Per market with resting orders: (bids, asks), each as (price, total) ascending by price."""
        levels: dict[tuple[str, bool], dict[int, int]] = {}
        for o in self.orders.values():
            side = levels.setdefault((o.ticker, o.is_bid), {})
            side[o.price_centicents] = side.get(o.price_centicents, 0) + o.remaining_centicontracts
        tickers = sorted({ticker for ticker, _ in levels})
        return {
            t: (tuple(sorted(levels.get((t, True), {}).items())), tuple(sorted(levels.get((t, False), {}).items())))
            for t in tickers
        }

    # --- orders: checks ---------------------------------------------------------------------------

    def _check_trading(self, market: Market) -> None:
        if not self.exchange_active:
            raise Refused(RejectCode.EXCHANGE_PAUSED)
        if not self.trading_active:
            raise Refused(RejectCode.TRADING_PAUSED)
        if market.status == "initialized":
            raise Refused(RejectCode.MARKET_NOT_OPEN)
        if market.status == "inactive":
            raise Refused(RejectCode.MARKET_PAUSED)
        if market.status != "active":
            raise Refused(RejectCode.MARKET_CLOSED)

    def _check_count(self, market: Market, count_centicontracts: int) -> None:
        if not 0 < count_centicontracts <= ORDER_COUNT_MAX_CENTICONTRACTS or count_centicontracts % market.unit_centicontracts:
            raise Refused(RejectCode.INVALID_ORDER_SIZE)

    def _client_order_id_taken(self, account_id: int, client_order_id: str) -> bool:
        if not client_order_id:
            return False
        if any(o.account_id == account_id and o.client_order_id == client_order_id for o in self.orders.values()):
            return True
        return client_order_id in self.accounts[account_id].closed_client_order_ids

    def _check_terms(self, command: c.CreateOrder, market: Market) -> None:
        """Step 3 of the create checks."""
        if not on_grid(market.structure, command.price_centicents):
            raise Refused(RejectCode.INVALID_PRICE)
        self._check_count(market, command.count_centicontracts)
        if (
            command.time_in_force not in TIMES_IN_FORCE or command.self_trade_prevention not in SELF_TRADE_MODES
            or command.order_type not in ORDER_TYPES or command.action not in ACTIONS
        ):
            raise Refused(RejectCode.INVALID_PARAMETERS)
        if command.expiration_ms and (
            command.time_in_force != GTC or command.order_type != "limit" or command.expiration_ms <= self.now_ms
        ):
            raise Refused(RejectCode.INVALID_EXPIRATION)
        if command.buy_max_cost_microdollars < 0 or len(command.client_order_id) > CLIENT_ORDER_ID_LENGTH_MAX:
            raise Refused(RejectCode.INVALID_PARAMETERS)
        if self._client_order_id_taken(command.account_id, command.client_order_id):
            raise Refused(RejectCode.ORDER_ALREADY_EXISTS)
        if sum(1 for o in self.orders.values() if o.account_id == command.account_id) >= OPEN_ORDERS_MAX:
            raise Refused(RejectCode.OPEN_ORDER_LIMIT)

    def _check_group(self, account_id: int, group_id: int) -> None:
        if not group_id:
            return
        group = self.groups.get(group_id)
        if group is None or group.account_id != account_id:
            raise Refused(RejectCode.ORDER_GROUP_NOT_FOUND)
        if group.triggered:
            raise Refused(RejectCode.ORDER_GROUP_LIMIT)

    def _opposite(self, ticker: str, is_bid: bool, limit_centicents: int) -> list[Order]:
        """Resting orders an incoming order at this limit would trade against, best first."""
        if is_bid:
            found = [o for o in self.orders.values() if o.ticker == ticker and not o.is_bid and o.price_centicents <= limit_centicents]
        else:
            found = [o for o in self.orders.values() if o.ticker == ticker and o.is_bid and o.price_centicents >= limit_centicents]
        return sorted(found, key=_fill_key)

    def _check_fill_or_kill(self, command: c.CreateOrder, count_centicontracts: int) -> None:
        makers = self._opposite(command.ticker, command.is_bid, command.price_centicents)
        if sum(o.remaining_centicontracts for o in makers) < count_centicontracts:
            raise Refused(RejectCode.FILL_OR_KILL_INSUFFICIENT_VOLUME)
        if command.buy_max_cost_microdollars <= 0:
            return
        left = count_centicontracts
        cost = 0
        for maker in makers:
            take = min(left, maker.remaining_centicontracts)
            paid = maker.price_centicents if command.is_bid else ONE_DOLLAR_CENTICENTS - maker.price_centicents
            cost += take * paid
            left -= take
        if cost > command.buy_max_cost_microdollars:
            raise Refused(RejectCode.BUY_MAX_COST_EXCEEDED)

    def _check_collateral(self, market: Market, candidate: Order, crossing: bool, replacing: int = 0) -> None:
        """new total lock of the side - current total lock of the side <= cash, with the candidate first
        when it crosses, else at its priority."""
        account_id = candidate.account_id
        current = self._side_lock(account_id, market, candidate.is_bid, self._resting_entries(account_id, market.ticker, candidate.is_bid))
        others = self._resting_entries(account_id, market.ticker, candidate.is_bid, leave_out=replacing)
        if crossing:
            entries = [(candidate, True), *others]
        else:
            entries = sorted([*others, (candidate, False)], key=lambda entry: _fill_key(entry[0]))
        need = self._side_lock(account_id, market, candidate.is_bid, entries) - current
        if need > self.cash_microdollars(account_id):
            raise Refused(RejectCode.INSUFFICIENT_BALANCE)

    # --- orders: create ---------------------------------------------------------------------------

    def _create_order(self, command: c.CreateOrder) -> int:
        self._account(command.account_id)
        market = self._market(command.ticker)
        self._check_trading(market)
        self._check_terms(command, market)
        self._check_group(command.account_id, command.order_group_id)
        count = command.count_centicontracts
        time_in_force = command.time_in_force
        if command.order_type == "market":
            time_in_force = IOC
        closable = self.closable_centicontracts(command.account_id, command.ticker, command.is_bid, command.action == "sell")
        if command.reduce_only:
            if closable == 0:
                raise Refused(RejectCode.REDUCE_ONLY_NO_POSITION)
            count = min(count, closable)
            time_in_force = IOC
        if command.sell_position_floor and count > closable:
            raise Refused(RejectCode.SELL_POSITION_FLOOR)
        crossing = bool(self._opposite(command.ticker, command.is_bid, command.price_centicents))
        if command.post_only and crossing:
            raise Refused(RejectCode.POST_ONLY_CROSS)
        if command.buy_max_cost_microdollars > 0:
            time_in_force = FOK
        if time_in_force == FOK:
            self._check_fill_or_kill(command, count)
        order = Order(
            self.next_order_id, command.account_id, command.ticker, command.is_bid, command.price_centicents, count,
            time_in_force, command.expiration_ms, command.post_only, command.self_trade_prevention,
            command.cancel_on_pause, command.client_order_id, command.order_group_id, self.next_priority,
            sells=command.action == "sell",
        )
        self._check_collateral(market, order, crossing)
        self.next_order_id += 1
        self.next_priority += 1
        if order.expiration_ms:
            order.expiry_sequence = self._timer_sequence()
        self._enter(market, order)
        return order.order_id

    def _enter(self, market: Market, order: Order) -> None:
        """Trade what crosses; rest what is left if good-till-canceled, else cancel it."""
        self._match(market, order)
        if order.closed:
            return
        if order.remaining_centicontracts == 0:
            self._close_order(order)
        elif order.time_in_force == GTC:
            self.orders[order.order_id] = order
        else:
            self._close_order(order)

    def _close_order(self, order: Order) -> None:
        """The order leaves the book (filled, cancelled or expired); its client order id is remembered."""
        if order.closed:
            return
        order.closed = True
        self.orders.pop(order.order_id, None)
        self._remember_client_order_id(order.account_id, order.client_order_id)

    def _remember_client_order_id(self, account_id: int, client_order_id: str) -> None:
        """The 10,000 ids most recently released by closed orders (an order without one releases none)."""
        if not client_order_id:
            return
        recent = self.accounts[account_id].closed_client_order_ids
        recent.append(client_order_id)
        if len(recent) > RECENT_CLIENT_ORDER_IDS:
            del recent[0]

    # --- matching ---------------------------------------------------------------------------------

    def _match(self, market: Market, taker: Order) -> None:
        while taker.remaining_centicontracts > 0 and not taker.closed:
            makers = self._opposite(market.ticker, taker.is_bid, taker.price_centicents)
            if not makers:
                return
            maker = makers[0]
            if maker.account_id == taker.account_id:
                if taker.self_trade_prevention == "taker_at_cross":
                    self._close_order(taker)
                    return
                self._close_order(maker)
                continue
            count = min(taker.remaining_centicontracts, maker.remaining_centicontracts)
            exhausted = []
            for group_id in (taker.order_group_id, maker.order_group_id):
                if group_id:
                    allowance = self._group_allowance(group_id)
                    allowance -= allowance % market.unit_centicontracts  # a cap never splits a whole contract
                    count = min(count, allowance)
                    if allowance == 0:
                        exhausted.append(group_id)
            if exhausted:
                for group_id in exhausted:
                    self._trigger(group_id, taker)
                continue
            self._fill(market, taker, maker, count)
            for group_id in (taker.order_group_id, maker.order_group_id):
                if group_id:
                    group = self.groups[group_id]
                    group.window.append((self.now_ms, count))
                    if self._group_allowance(group_id) == 0:
                        self._trigger(group_id, taker)

    def _fill(self, market: Market, taker: Order, maker: Order, count: int) -> None:
        price = maker.price_centicents
        waived = self.now_ms < market.fee_waiver_expiration_ms
        taker_fee = 0 if waived else trade_fee_microdollars(market.fee_type, market.fee_multiplier_bps, True, count, price)
        maker_fee = 0 if waived else trade_fee_microdollars(market.fee_type, market.fee_multiplier_bps, False, count, price)
        taker_side = self._fill_side(taker, count, price, taker_fee)
        maker_side = self._fill_side(maker, count, price, maker_fee)
        self._trades.append(RefTrade(
            self.next_trade_id, market.ticker, price, count, taker.is_bid, taker.order_id, taker.account_id,
            maker.order_id, maker.account_id, taker_side.fee_microdollars, maker_side.fee_microdollars,
            taker_side.rounding_microdollars, maker_side.rounding_microdollars, taker_side.rebate_microdollars,
            maker_side.rebate_microdollars, taker_side.cash_delta_microdollars, maker_side.cash_delta_microdollars,
            taker_side.position_centicontracts, maker_side.position_centicontracts,
        ))
        self.next_trade_id += 1
        if maker.remaining_centicontracts == 0:
            self._close_order(maker)

    def _fill_side(self, order: Order, count: int, price: int, fee_microdollars: int) -> _SideFill:
        """One side of a fill: close what it can of the opposite position, open the rest; round the
        balance change down to the cent, keeping the difference in the order's accumulator."""
        key = (order.account_id, order.ticker)
        position = self.positions.setdefault(key, Position())
        closing = min(count, self.closable_centicontracts(order.account_id, order.ticker, order.is_bid, order.sells))
        opening = count - closing
        close_pays = ONE_DOLLAR_CENTICENTS - price if order.is_bid else price
        open_costs = price if order.is_bid else ONE_DOLLAR_CENTICENTS - price
        change = closing * close_pays - opening * open_costs - fee_microdollars
        floored = change // CENT_MICRODOLLARS * CENT_MICRODOLLARS
        rounding = change - floored
        accumulator = order.rounding_accumulator_microdollars + rounding
        rebate = CENT_MICRODOLLARS if accumulator >= CENT_MICRODOLLARS else 0
        order.rounding_accumulator_microdollars = accumulator - rebate
        cash_delta = floored + rebate
        self.accounts[order.account_id].total_microdollars += cash_delta
        self.revenue_microdollars += fee_microdollars + rounding - rebate
        if not self.accounts[order.account_id].netting:
            self._fill_apart(position, order.is_bid, closing, opening, close_pays, open_costs)
        else:
            if closing:
                size = abs(position.position_centicontracts)
                released = position.cost_microdollars if closing == size else position.cost_microdollars * closing // size
                position.cost_microdollars -= released
                position.realized_pnl_microdollars += closing * close_pays - released
            position.cost_microdollars += opening * open_costs
        position.position_centicontracts += count if order.is_bid else -count
        position.fees_paid_microdollars += fee_microdollars + rounding - rebate
        order.remaining_centicontracts -= count
        order.filled_centicontracts += count
        return _SideFill(fee_microdollars, rounding, rebate, cash_delta, position.position_centicontracts)

    @staticmethod
    def _fill_apart(position: Position, is_bid: bool, closing: int, opening: int, close_pays: int, open_costs: int) -> None:
        """Netting off: a bid closes NO held (a sell of NO) and opens YES; an ask closes YES and opens NO."""
        held = position.no_centicontracts if is_bid else position.yes_centicontracts
        held_cost = position.no_cost_microdollars if is_bid else position.yes_cost_microdollars
        released = held_cost if closing == held else held_cost * closing // held if closing else 0
        position.realized_pnl_microdollars += closing * close_pays - released
        if is_bid:
            position.no_centicontracts -= closing
            position.no_cost_microdollars -= released
            position.yes_centicontracts += opening
            position.yes_cost_microdollars += opening * open_costs
        else:
            position.yes_centicontracts -= closing
            position.yes_cost_microdollars -= released
            position.no_centicontracts += opening
            position.no_cost_microdollars += opening * open_costs
        position.cost_microdollars = position.yes_cost_microdollars + position.no_cost_microdollars

    # --- order groups -----------------------------------------------------------------------------

    def _group_allowance(self, group_id: int) -> int:
        group = self.groups[group_id]
        since = self.now_ms - ORDER_GROUP_WINDOW_MS
        used = sum(count for at_ms, count in group.window if at_ms > since)
        return max(0, group.limit_centicontracts - used)

    def _trigger(self, group_id: int, taker: Order | None = None) -> None:
        self.groups[group_id].triggered = True
        self._cancel_group_orders(group_id, taker)

    def _cancel_group_orders(self, group_id: int, taker: Order | None = None) -> None:
        for order in self._orders_where(lambda o: o.order_group_id == group_id):
            self._close_order(order)
        if taker is not None and taker.order_group_id == group_id:
            self._close_order(taker)

    def _owned_group(self, account_id: int, group_id: int) -> Group:
        group = self.groups.get(group_id)
        if group is None or group.account_id != account_id:
            raise Refused(RejectCode.ORDER_GROUP_NOT_FOUND)
        return group

    def _create_order_group(self, command: c.CreateOrderGroup) -> int:
        self._account(command.account_id)
        if not self.exchange_active:
            raise Refused(RejectCode.EXCHANGE_PAUSED)
        if command.contracts_limit_centicontracts <= 0:
            raise Refused(RejectCode.INVALID_PARAMETERS)
        group_id = self.next_group_id
        self.next_group_id += 1
        self.groups[group_id] = Group(command.account_id, command.contracts_limit_centicontracts)
        return group_id

    def _change_order_group(self, command: c.ChangeOrderGroup) -> int:
        self._account(command.account_id)
        group = self._owned_group(command.account_id, command.order_group_id)
        # (engine choice) an exchange pause refuses changing a group, as it refuses creating one
        if not self.exchange_active:
            raise Refused(RejectCode.EXCHANGE_PAUSED)
        if command.change == "reset":
            group.triggered = False
            group.window = []
        elif command.change == "trigger":
            self._trigger(command.order_group_id)
        elif command.change == "delete":
            self._cancel_group_orders(command.order_group_id)
            del self.groups[command.order_group_id]
        elif command.change == "limit" and command.contracts_limit_centicontracts > 0:
            group.limit_centicontracts = command.contracts_limit_centicontracts
        else:
            raise Refused(RejectCode.INVALID_PARAMETERS)
        return command.order_group_id

    # --- orders: cancel, amend, decrease ----------------------------------------------------------

    def _own_open_order(self, account_id: int, order_id: int) -> Order:
        """(engine choice) the account is looked up first, then the order."""
        self._account(account_id)
        order = self.orders.get(order_id)
        if order is None or order.account_id != account_id:
            raise Refused(RejectCode.ORDER_NOT_FOUND)
        return order

    def _cancel_order(self, account_id: int, order_id: int) -> int:
        order = self._own_open_order(account_id, order_id)  # (engine choice) before the exchange pause
        if not self.exchange_active:
            raise Refused(RejectCode.EXCHANGE_PAUSED)
        self._close_order(order)
        return order_id

    def _cancel_all_orders(self, command: c.CancelAllOrders) -> int:
        self._account(command.account_id)
        if not self.exchange_active:
            raise Refused(RejectCode.EXCHANGE_PAUSED)
        if command.ticker:
            self._market(command.ticker)
        mine = self._orders_where(lambda o: o.account_id == command.account_id and (not command.ticker or o.ticker == command.ticker))
        for order in mine:
            self._close_order(order)
        return len(mine)

    def _decrease_order(self, command: c.DecreaseOrder) -> int:
        order = self._own_open_order(command.account_id, command.order_id)
        market = self.markets[order.ticker]
        if not self.exchange_active:
            raise Refused(RejectCode.EXCHANGE_PAUSED)
        # (engine choice) a negative value is "not given"; reduce_by 0 is a bad size
        by, to = command.reduce_by_centicontracts, command.reduce_to_centicontracts
        if (by < 0) == (to < 0):
            raise Refused(RejectCode.INVALID_PARAMETERS)
        if by >= 0 and (by == 0 or by % market.unit_centicontracts):
            raise Refused(RejectCode.INVALID_ORDER_SIZE)
        if to >= 0 and (to >= order.remaining_centicontracts or to % market.unit_centicontracts):
            raise Refused(RejectCode.INVALID_ORDER_SIZE)
        remaining = max(0, order.remaining_centicontracts - by) if by >= 0 else to
        if remaining == 0:
            self._close_order(order)
        else:
            order.remaining_centicontracts = remaining
        return order.order_id

    def _amend_order(self, command: c.AmendOrder) -> int:
        # (engine choice) the order, then trading, then ticker and side, then the new terms in create order
        order = self._own_open_order(command.account_id, command.order_id)
        market = self.markets[order.ticker]
        self._check_trading(market)
        if command.ticker and command.ticker != order.ticker:
            raise Refused(RejectCode.ORDER_TICKER_MISMATCH)
        if command.side and command.side != ("bid" if order.is_bid else "ask"):
            raise Refused(RejectCode.ORDER_SIDE_MISMATCH)
        price = command.price_centicents or order.price_centicents
        if not on_grid(market.structure, price):
            raise Refused(RejectCode.INVALID_PRICE)
        total = command.total_count_centicontracts or order.filled_centicontracts + order.remaining_centicontracts
        self._check_count(market, total)
        if total < order.filled_centicontracts:
            raise Refused(RejectCode.INVALID_AMEND)
        expiration = {-1: order.expiration_ms}.get(command.expiration_ms, command.expiration_ms)
        if expiration != order.expiration_ms and expiration and expiration <= self.now_ms:
            raise Refused(RejectCode.INVALID_EXPIRATION)
        client_order_id = command.updated_client_order_id or order.client_order_id
        if len(client_order_id) > CLIENT_ORDER_ID_LENGTH_MAX:
            raise Refused(RejectCode.INVALID_PARAMETERS)
        if client_order_id != order.client_order_id and self._client_order_id_taken(order.account_id, client_order_id):
            raise Refused(RejectCode.ORDER_ALREADY_EXISTS)
        remaining = total - order.filled_centicontracts
        if (price, remaining, expiration, client_order_id) == (
            order.price_centicents, order.remaining_centicontracts, order.expiration_ms, order.client_order_id
        ):
            raise Refused(RejectCode.INVALID_AMEND)
        if remaining == 0:
            self._close_order(order)
            return order.order_id
        if price == order.price_centicents and remaining <= order.remaining_centicontracts:
            self._amend_in_place(order, remaining, expiration, client_order_id)
        else:
            self._amend_and_reenter(market, order, price, remaining, expiration, client_order_id)
        return order.order_id

    def _replace_client_order_id(self, order: Order, client_order_id: str) -> None:
        """(engine choice) an id replaced by an amend stays taken, like the id of a closed order."""
        if order.client_order_id and client_order_id != order.client_order_id:
            self._remember_client_order_id(order.account_id, order.client_order_id)
        order.client_order_id = client_order_id

    def _amend_in_place(self, order: Order, remaining: int, expiration_ms: int, client_order_id: str) -> None:
        self._replace_client_order_id(order, client_order_id)
        order.remaining_centicontracts = remaining
        if expiration_ms != order.expiration_ms:
            order.expiry_sequence = self._timer_sequence()
        order.expiration_ms = expiration_ms

    def _amend_and_reenter(self, market: Market, order: Order, price: int, remaining: int, expiration_ms: int, client_order_id: str) -> None:
        crossing = bool(self._opposite(market.ticker, order.is_bid, price))
        if order.post_only and crossing:
            raise Refused(RejectCode.POST_ONLY_CROSS)
        candidate = Order(
            order.order_id, order.account_id, order.ticker, order.is_bid, price, remaining, order.time_in_force,
            expiration_ms, order.post_only, order.self_trade_prevention, order.cancel_on_pause, client_order_id,
            order.order_group_id, self.next_priority, order.filled_centicontracts, order.rounding_accumulator_microdollars,
            sells=order.sells,
        )
        self._check_collateral(market, candidate, crossing, replacing=order.order_id)
        self._replace_client_order_id(order, client_order_id)
        self.next_priority += 1
        del self.orders[order.order_id]
        candidate.expiry_sequence = self._timer_sequence() if expiration_ms else 0
        self._enter(market, candidate)

    # --- communications: RFQs, quotes, block trades (docs/engine.md, "Communications") -----------------

    def _expiry(self, expiration_ms: int, longest_ms: int) -> None:
        if not self.now_ms < expiration_ms <= self.now_ms + longest_ms:
            raise Refused(RejectCode.INVALID_EXPIRATION)

    def _create_rfq(self, command: c.CreateRfq) -> int:
        self._account(command.account_id)
        market = self._market(command.ticker)
        self._check_trading(market)
        if (command.count_centicontracts != 0) == (command.target_cost_microdollars != 0):
            raise Refused(RejectCode.INVALID_PARAMETERS)  # exactly one of a count and a target cost
        if command.count_centicontracts:
            self._check_count(market, command.count_centicontracts)
            if command.target_cost_excludes_fees:
                raise Refused(RejectCode.INVALID_PARAMETERS)  # a flag of target costs only (engine choice)
        elif not 0 < command.target_cost_microdollars <= TARGET_COST_MAX_MICRODOLLARS:
            raise Refused(RejectCode.INVALID_PARAMETERS)
        self._expiry(command.expiration_ms, RFQ_LIFETIME_MS_MAX)
        mine = [r for r in self.rfqs.values() if r.account_id == command.account_id]
        replaced = mine if command.replace_existing else []
        if len(mine) - len(replaced) >= RFQS_OPEN_MAX:
            raise Refused(RejectCode.RFQ_LIMIT)
        for old in replaced:
            self._close_rfq(old)
        rfq = Rfq(self.next_rfq_id, command.account_id, market.ticker, command.count_centicontracts,
                  command.target_cost_microdollars, command.target_cost_excludes_fees, command.expiration_ms, self._timer_sequence())
        self.next_rfq_id += 1
        self.rfqs[rfq.rfq_id] = rfq
        return rfq.rfq_id

    def _close_rfq(self, rfq: Rfq) -> None:
        for quote_id in rfq.quote_ids:
            del self.quotes[quote_id]
        del self.rfqs[rfq.rfq_id]

    def _delete_rfq(self, command: c.DeleteRfq) -> int:
        rfq = self.rfqs.get(command.rfq_id)
        if rfq is None or rfq.account_id != command.account_id:
            self._account(command.account_id)
            raise Refused(RejectCode.RFQ_NOT_FOUND)
        self._close_rfq(rfq)
        return rfq.rfq_id

    def _create_quote(self, command: c.CreateQuote) -> int:
        self._account(command.account_id)
        rfq = self.rfqs.get(command.rfq_id)
        if rfq is None:
            raise Refused(RejectCode.RFQ_NOT_FOUND)
        if self._member(rfq.account_id) == self._member(command.account_id):  # "no account of a member"
            raise Refused(RejectCode.OWN_RFQ)
        market = self.markets[rfq.ticker]
        self._check_trading(market)
        yes, no = command.yes_bid_centicents, command.no_bid_centicents
        if yes == 0 and no == 0:
            raise Refused(RejectCode.INVALID_PRICE)
        for price in (yes, no):
            if price:
                _check_price(market, price)
        if command.expiration_ms:
            raise Refused(RejectCode.INVALID_PARAMETERS)  # not modelled: the workload sends none
        yes_count = self._side_count(market, rfq, yes, yes)
        no_count = self._side_count(market, rfq, no, ONE_DOLLAR_CENTICENTS - no)
        if yes_count == 0 and no_count == 0:
            raise Refused(RejectCode.INVALID_PRICE)  # the target cost buys no whole contract on either side
        replaced = None
        for quote_id in rfq.quote_ids:
            held = self.quotes[quote_id]
            if held.account_id == command.account_id and held.status != "cancelled":
                if held.status == "accepted":
                    raise Refused(RejectCode.QUOTE_NOT_OPEN)
                replaced = held
        if replaced is None and len(rfq.quote_ids) >= QUOTES_PER_RFQ_MAX:
            raise Refused(RejectCode.RFQ_LIMIT)
        if replaced is not None:
            self._drop_quote(replaced)
        quote = Quote(self.next_quote_id, rfq.rfq_id, command.account_id, rfq.account_id, rfq.ticker, yes, no, yes_count, no_count)
        self.next_quote_id += 1
        self.quotes[quote.quote_id] = quote
        rfq.quote_ids.append(quote.quote_id)
        return quote.quote_id

    def _side_count(self, market: Market, rfq: Rfq, own_price: int, yes_price: int) -> int:
        """What accepting one side of a quote trades: the RFQ's count, or for a target cost "the most
        whole units the requester's price (and fee) fits in the target": counted down from what the
        price alone allows until principal plus the taker fee (unless excluded) fits."""
        if own_price == 0:
            return 0
        if rfq.count_centicontracts:
            return rfq.count_centicontracts
        unit = market.unit_centicontracts
        count = rfq.target_cost_microdollars // own_price
        count -= count % unit
        while count > 0:
            fee = 0 if rfq.excludes_fees else trade_fee_microdollars(market.fee_type, market.fee_multiplier_bps, True, count, yes_price)
            if own_price * count + fee <= rfq.target_cost_microdollars:
                return count
            count -= unit
        return 0

    def _drop_quote(self, quote: Quote) -> None:
        del self.quotes[quote.quote_id]
        self.rfqs[quote.rfq_id].quote_ids.remove(quote.quote_id)

    def _delete_quote(self, command: c.DeleteQuote) -> int:
        quote = self.quotes.get(command.quote_id)
        if quote is None or quote.account_id != command.account_id or quote.status == "cancelled":
            self._account(command.account_id)
            raise Refused(RejectCode.QUOTE_NOT_FOUND)
        self._drop_quote(quote)
        return quote.quote_id

    def _off_book_candidate(self, account_id: int, ticker: str, is_bid: bool, price: int, count: int) -> Order:
        return Order(self.next_order_id, account_id, ticker, is_bid, price, count, FOK, 0, False, "taker_at_cross", False, "", 0,
                     self.next_priority)

    def _check_off_book(self, market: Market, account_id: int, is_bid: bool, price: int, count: int, is_taker: bool) -> None:
        self._check_collateral(market, self._off_book_candidate(account_id, market.ticker, is_bid, price, count), is_taker)

    def _execute_off_book(self, market: Market, taker_id: int, taker_is_bid: bool, maker_id: int, price: int, count: int) -> None:
        """Each side an order of its own (taker's first), filled in full at once against the other."""
        orders = []
        for account_id, is_bid in ((taker_id, taker_is_bid), (maker_id, not taker_is_bid)):
            orders.append(self._off_book_candidate(account_id, market.ticker, is_bid, price, count))
            self.next_order_id += 1
            self.next_priority += 1
        taker, maker = orders
        self._fill(market, taker, maker, count)
        taker.closed = maker.closed = True

    def _accept_quote(self, command: c.AcceptQuote) -> int:
        self._account(command.account_id)
        quote = self.quotes.get(command.quote_id)
        if quote is None or command.account_id not in (quote.rfq_account_id, quote.account_id):
            raise Refused(RejectCode.QUOTE_NOT_FOUND)
        if quote.account_id == command.account_id:
            raise Refused(RejectCode.OWN_RFQ)
        if quote.status != "open":
            raise Refused(RejectCode.QUOTE_NOT_OPEN)
        if any(self.quotes[other].status == "accepted" for other in self.rfqs[quote.rfq_id].quote_ids):
            raise Refused(RejectCode.QUOTE_NOT_OPEN)
        if command.accepted_side not in ("yes", "no"):
            raise Refused(RejectCode.INVALID_PARAMETERS)
        market = self.markets[quote.ticker]
        self._check_trading(market)
        buys_yes, yes_price, own_price = _terms(quote, command.accepted_side)
        if own_price == 0:
            raise Refused(RejectCode.INVALID_PRICE)
        count = _side_count_of(quote, command.accepted_side)
        if count == 0:
            raise Refused(RejectCode.INVALID_ORDER_SIZE)  # the target cost buys nothing on this side
        self._expiry(command.confirm_deadline_ms, CONFIRM_WINDOW_MS_MAX)
        self._check_off_book(market, command.account_id, buys_yes, yes_price, count, True)
        quote.status = "accepted"
        quote.side = command.accepted_side
        quote.deadline_ms = command.confirm_deadline_ms
        quote.deadline_sequence = self._timer_sequence()
        return quote.quote_id

    def _confirm_quote(self, command: c.ConfirmQuote) -> int:
        self._account(command.account_id)
        quote = self.quotes.get(command.quote_id)
        if quote is None or quote.account_id != command.account_id:
            raise Refused(RejectCode.QUOTE_NOT_FOUND)
        if quote.status == "cancelled":
            raise Refused(RejectCode.CONFIRM_WINDOW_PASSED)
        if quote.status != "accepted":
            raise Refused(RejectCode.QUOTE_NOT_OPEN)
        market = self.markets[quote.ticker]
        self._check_trading(market)
        buys_yes, yes_price, _ = _terms(quote, quote.side)
        count = _side_count_of(quote, quote.side)
        try:
            self._check_off_book(market, quote.rfq_account_id, buys_yes, yes_price, count, True)
        except Refused as refusal:
            raise Refused(RejectCode.INSUFFICIENT_BALANCE) from refusal
        self._check_off_book(market, quote.account_id, not buys_yes, yes_price, count, False)
        self._execute_off_book(market, quote.rfq_account_id, buys_yes, quote.account_id, yes_price, count)
        rfq = self.rfqs[quote.rfq_id]
        rfq.quote_ids.remove(quote.quote_id)
        del self.quotes[quote.quote_id]
        self._close_rfq(rfq)
        return quote.quote_id

    def _propose_block_trade(self, command: c.ProposeBlockTrade) -> int:
        for account_id in (command.account_id, command.buyer_account_id, command.seller_account_id):
            self._account(account_id)
        if self._member(command.buyer_account_id) == self._member(command.seller_account_id):
            raise Refused(RejectCode.INVALID_PARAMETERS)
        if command.account_id not in (command.buyer_account_id, command.seller_account_id):
            raise Refused(RejectCode.INVALID_PARAMETERS)
        market = self._market(command.ticker)
        self._check_trading(market)
        _check_price(market, command.price_centicents)
        self._check_count(market, command.count_centicontracts)
        if command.maker_side not in ("yes", "no"):
            raise Refused(RejectCode.INVALID_PARAMETERS)
        self._expiry(command.expiration_ms, BLOCK_TRADE_LIFETIME_MS_MAX)
        if sum(1 for p in self.proposals.values() if p.proposer == command.account_id) >= BLOCK_TRADES_PENDING_MAX:
            raise Refused(RejectCode.RFQ_LIMIT)
        proposal = Proposal(
            self.next_proposal_id, command.account_id, command.buyer_account_id, command.seller_account_id, market.ticker,
            command.price_centicents, command.count_centicontracts, command.maker_side, command.expiration_ms, self._timer_sequence(),
            command.account_id == command.buyer_account_id, command.account_id == command.seller_account_id,
        )
        self.next_proposal_id += 1
        self.proposals[proposal.proposal_id] = proposal
        return proposal.proposal_id

    def _member(self, account_id: int) -> int:
        """The member an account belongs to, named by its primary account."""
        owner = self.subaccount_owner.get(account_id)
        return account_id if owner is None else owner[0]

    def _party_proposal(self, account_id: int, proposal_id: int) -> Proposal:
        """A pending proposal whose buyer or seller is the account's member (any of its accounts)."""
        proposal = self.proposals.get(proposal_id)
        if proposal is None or self._member(account_id) not in (self._member(proposal.buyer), self._member(proposal.seller)):
            self._account(account_id)
            raise Refused(RejectCode.BLOCK_TRADE_NOT_FOUND)
        return proposal

    def _accept_block_trade(self, command: c.AcceptBlockTrade) -> int:
        proposal = self._party_proposal(command.account_id, command.proposal_id)
        as_buyer = self._member(command.account_id) == self._member(proposal.buyer)
        if proposal.buyer_accepted if as_buyer else proposal.seller_accepted:
            raise Refused(RejectCode.QUOTE_NOT_OPEN)
        market = self.markets[proposal.ticker]
        self._check_trading(market)
        # the acceptor trades in the account it accepts as (the proposal named its member)
        buyer = command.account_id if as_buyer else proposal.buyer
        seller = proposal.seller if as_buyer else command.account_id
        buyer_is_maker = proposal.maker_side == "yes"
        price, count = proposal.price_centicents, proposal.count_centicontracts
        for account_id, is_bid in ((buyer, True), (seller, False)):
            try:
                self._check_off_book(market, account_id, is_bid, price, count, buyer_is_maker != is_bid)
            except Refused as refusal:
                if account_id == command.account_id:
                    raise
                raise Refused(RejectCode.INSUFFICIENT_BALANCE) from refusal
        del self.proposals[proposal.proposal_id]
        taker, maker = (seller, buyer) if buyer_is_maker else (buyer, seller)
        self._execute_off_book(market, taker, taker == buyer, maker, price, count)
        return proposal.proposal_id

    def _reject_block_trade(self, command: c.RejectBlockTrade) -> int:
        proposal = self._party_proposal(command.account_id, command.proposal_id)
        del self.proposals[proposal.proposal_id]
        return proposal.proposal_id


def _fill_key(order: Order) -> tuple[int, int]:
    """Fill order: best price first (highest bid, lowest ask), then time."""
    return (-order.price_centicents if order.is_bid else order.price_centicents, order.priority)


def _check_price(market: Market, price: int) -> None:
    if not on_grid(market.structure, price):
        raise Refused(RejectCode.INVALID_PRICE)

def _side_count_of(quote: Quote, side: str) -> int:
    return quote.yes_count_centicontracts if side == "yes" else quote.no_count_centicontracts


def _terms(quote: Quote, side: str) -> tuple[bool, int, int]:
    """(the requester buys YES, the YES price, the requester's own price)."""
    if side == "yes":
        return True, quote.yes_bid_centicents, quote.yes_bid_centicents
    return False, ONE_DOLLAR_CENTICENTS - quote.no_bid_centicents, quote.no_bid_centicents
