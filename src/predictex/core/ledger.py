"""The ledger: accounts, their positions, and the collateral that backs every resting order.

Money moves between exactly four places, and their sum is always deposits minus withdrawals:
an account's free cash, cash locked behind its resting orders (and held for pending withdrawals),
the $1.00 held for every YES/NO pair outstanding in a market, and the exchange's revenue (fees).

Collateral. Per account, market and book side, the resting orders are taken in the order they would
fill (price, then time). The opposite position (NO contracts for bids, YES for asks) is assigned to
them first: those units close a position and need no cash. The remaining units open a position and
lock their worst-case cost: the price paid per contract plus the largest trade fee they could incur.
Per order, the lock is that bound minus its rounding accumulator, rounded up to the balance
increment; with Kalshi's rounding rules this is never less than what its fills can take, so cash never
goes negative. Because fills on one side happen in exactly that priority order, a fill only ever
consumes what was assigned to it, and every lock can only shrink as orders fill.

Netting. An account nets by default (Kalshi's netting on): its position in a market is one signed
count, and buying either contract first closes the other one held. An account with netting off keeps
its YES and NO holdings apart (`AccountMarket.yes_centicontracts` and `no_centicontracts`, each with
its own cost): a buy only opens, and only a sell closes what is held of the contract it sells (then,
past what is held, opens the other one, as a sell does on Kalshi). So only sell orders are assigned a
position to close; a YES/NO pair held stays in the market's pool until settlement pays its $1.00.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from predictex.core.fees import FeeTerms, worst_fee_price_centicents
from predictex.core.limits import BALANCE_INCREMENT_MICRODOLLARS
from predictex.core.orders import ACTION_SELL, Order
from predictex.core.units import PRICE_ONE_DOLLAR_CENTICENTS


class Account:
    def __init__(self, account_id: int, created_ms: int) -> None:
        self.account_id = account_id
        self.created_ms = created_ms
        self.cash_microdollars = 0  # available: free to trade or withdraw
        self.locked_microdollars = 0  # behind resting orders
        self.pending_withdrawal_microdollars = 0
        self.deposited_microdollars = 0
        self.withdrawn_microdollars = 0
        self.fees_paid_microdollars = 0
        self.open_order_count = 0
        self.open_client_order_ids: dict[str, int] = {}  # client_order_id -> order_id, open orders only
        self.markets: dict[str, AccountMarket] = {}
        self.order_group_count = 0
        self.open_rfq_count = 0  # RFQs it has open (communications)
        self.pending_proposal_count = 0  # block-trade proposals it made that are pending
        self.netting_enabled = True  # False: YES and NO held apart in every market (see the module's docstring)
        self.touched_epoch = 0  # bookkeeping for the command in flight (see Scope)


class AccountMarket:
    """One account in one market: its signed position, what it cost, and its resting orders."""

    def __init__(self, account: Account, ticker: str) -> None:
        self.account = account
        self.account_id = account.account_id
        self.ticker = ticker
        self.position_centicontracts = 0  # + YES, - NO (netting off: YES held less NO held)
        self.position_cost_microdollars = 0  # what the current position cost, in its own frame (netting off: both sides)
        # netting off only (zero otherwise): the contracts held of each side and what each cost
        self.yes_centicontracts = 0
        self.no_centicontracts = 0
        self.yes_cost_microdollars = 0
        self.no_cost_microdollars = 0
        self.realized_pnl_microdollars = 0
        self.fees_paid_microdollars = 0
        self.volume_centicontracts = 0
        self.total_traded_microdollars = 0
        # resting orders per side, kept in the order they would fill (best price first, then time)
        self.bids = RestingOrders(True)
        self.asks = RestingOrders(False)
        # how much of the position is assigned to closing resting orders, per side; while both the
        # position to close and this are zero, orders' locks are independent of each other
        self.bid_closing_centicontracts = 0
        self.ask_closing_centicontracts = 0
        self.updated_ms = 0
        self.touched_epoch = 0  # bookkeeping for the command in flight (see Scope)

    def orders(self, is_bid: bool) -> list[Order]:
        """This side's resting orders in fill order (a new list)."""
        return list((self.bids if is_bid else self.asks).ordered())

    def add_resting(self, order: Order) -> None:
        """File a resting order (its priority is the newest there is: see RestingOrders)."""
        (self.bids if order.is_bid else self.asks).add(order)
        order.holder = self

    def remove_resting(self, order: Order) -> None:
        (self.bids if order.is_bid else self.asks).remove(order)
        order.holder = None

    def closable_centicontracts(self, is_bid: bool) -> int:
        """The position a (sell, when netting is off) order on this side would close: NO held for a
        bid, YES for an ask."""
        if not self.account.netting_enabled:
            return self.no_centicontracts if is_bid else self.yes_centicontracts
        position = self.position_centicontracts
        if is_bid:
            return -position if position < 0 else 0
        return position if position > 0 else 0

    def hedged_centicontracts(self) -> int:
        """The YES/NO pairs held at once (netting off only; zero when netting)."""
        return self.yes_centicontracts if self.yes_centicontracts < self.no_centicontracts else self.no_centicontracts

    def is_idle(self) -> bool:
        return (self.position_centicontracts == 0 and self.yes_centicontracts == 0
                and not self.bids.orders and not self.asks.orders)


class RestingOrders:
    """One account's resting orders on one side of one market, in time priority: an order is always
    filed with the newest priority there is (new orders, and amends that lose priority), so a dict's
    insertion order is time order, and filing or removing costs one dict operation. Fill order (best
    price first, then time) is built by a stable sort the first time a caller asks for it (while a
    position is being closed), and from then on kept up to date: a binary search by price, a short scan
    over the account's orders at that price, and a list insert or delete."""

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.orders: dict[Order, None] = {}  # keyed by the order itself: identity hashing, no boxed ids
        self._in_fill_order: list[Order] | None = None

    def __len__(self) -> int:
        return len(self.orders)

    def add(self, order: Order) -> None:
        """File an order whose priority is newer than every order already filed."""
        self.orders[order] = None
        ordered = self._in_fill_order
        if ordered is not None:
            key = _fill_price_key(order)
            ordered.insert(bisect_right(ordered, key, key=_fill_price_key), order)

    def remove(self, order: Order) -> None:
        del self.orders[order]
        ordered = self._in_fill_order
        if ordered is not None:
            index = bisect_left(ordered, _fill_price_key(order), key=_fill_price_key)
            while ordered[index] is not order:
                index += 1
            del ordered[index]

    def kept_fill_order(self) -> list[Order] | None:
        """The fill order kept so far, None until a caller first asked for it (for the invariants)."""
        return self._in_fill_order

    def ordered(self) -> list[Order]:
        """The orders in fill order. The list is the one kept here: read it, never change it."""
        ordered = self._in_fill_order
        if ordered is None:
            ordered = list(self.orders)
            ordered.sort(key=_fill_price_key)
            self._in_fill_order = ordered
        return ordered


def _fill_price_key(order: Order) -> int:
    """Best price first: bids by descending price, asks by ascending price."""
    return -order.price_centicents if order.is_bid else order.price_centicents


def worst_fee_per_unit(terms: FeeTerms, is_bid: bool, price_centicents: int, is_taker: bool) -> int:
    return terms.fee_per_unit(is_taker, worst_fee_price_centicents(is_bid, price_centicents, is_taker))


def order_lock_microdollars(
    unit_centicontracts: int, is_bid: bool, price_centicents: int, fee_per_unit: int,
    opening_centicontracts: int, closing_centicontracts: int, rounding_accumulator_microdollars: int,
) -> int:
    """The cash an order (or the part of one still to fill) must hold.

    Opening units cost their price (YES price for a bid, NO price for an ask) plus the worst trade fee
    per unit; closing units are paid the opposite price, and need cash only where the fee could
    exceed that (sub-penny prices on tiny units)."""
    unit = unit_centicontracts
    cost_per_centicontract = price_centicents if is_bid else PRICE_ONE_DOLLAR_CENTICENTS - price_centicents
    revenue_per_unit = (PRICE_ONE_DOLLAR_CENTICENTS - cost_per_centicontract) * unit
    bound = opening_centicontracts * cost_per_centicontract + (opening_centicontracts // unit) * fee_per_unit
    if fee_per_unit > revenue_per_unit:
        bound += (closing_centicontracts // unit) * (fee_per_unit - revenue_per_unit)
    bound -= rounding_accumulator_microdollars
    if bound <= 0:
        return 0
    step = BALANCE_INCREMENT_MICRODOLLARS
    return -((-bound) // step) * step


def fill_priority_key(order: Order) -> tuple[int, int]:
    """Sort key putting a side's orders in the order they fill: best price first, then time."""
    return (_fill_price_key(order), order.priority)


def designate_closing(orders_in_priority: list[Order], closable_centicontracts: int, netting: bool = True) -> list[int]:
    """How much of each order's remainder closes the position, assigned in fill order (without
    netting, to sell orders only)."""
    left = closable_centicontracts
    closing: list[int] = []
    for order in orders_in_priority:
        take = order.remaining_centicontracts if order.remaining_centicontracts < left else left
        if not netting and order.action is not ACTION_SELL:
            take = 0
        closing.append(take)
        left -= take
    return closing


class Withdrawal:
    def __init__(self, withdrawal_id: int, account_id: int, amount_microdollars: int) -> None:
        self.withdrawal_id = withdrawal_id
        self.account_id = account_id
        self.amount_microdollars = amount_microdollars


class SubaccountIndex:
    """Which accounts are numbered subaccounts of which primary account, and the transfers between
    them. A subaccount is an Account like any other (its own cash, locks, orders and positions);
    only this index ties it to its member. Members who never opened one are not listed."""

    def __init__(self) -> None:
        self.by_primary: dict[int, dict[int, int]] = {}  # primary account -> {subaccount number -> account}
        self.owner: dict[int, tuple[int, int]] = {}  # subaccount's account -> (primary account, number)
        # primary account -> {client_transfer_id -> (transfer id, from, to, amount)}: a retried transfer
        # with the same terms is answered with the first one's number and moves nothing again
        self.client_transfer_ids: dict[int, dict[str, tuple[int, int, int, int]]] = {}
        self.next_transfer_id = 1

    def is_empty(self) -> bool:
        return not self.by_primary and self.next_transfer_id == 1


class FillSide:
    """What one fill did to one side's position: the signed cash it brings in before fees (negative
    when it buys), and how many contracts it opened."""

    def __init__(self, revenue: int, opened: int, closed: int) -> None:
        self.revenue_microdollars = revenue
        self.opened_centicontracts = opened
        self.closed_centicontracts = closed


def apply_fill_to_position(am: AccountMarket, is_bid: bool, sells: bool, price_centicents: int, count_centicontracts: int) -> FillSide:
    """Move a position by one fill and book its cost basis and realized P&L.

    A bid buys YES at p: it first closes NO held (a YES/NO pair pays $1.00 back, so each closed
    contract brings 1 - p), then opens YES at p. An ask is the mirror image. Without netting, only a
    sell (`sells`: a bid selling NO, an ask selling YES) closes, and only the contract it sells."""
    if not am.account.netting_enabled:
        return _apply_fill_apart(am, is_bid, sells, price_centicents, count_centicontracts)
    position = am.position_centicontracts
    own_price = price_centicents if is_bid else PRICE_ONE_DOLLAR_CENTICENTS - price_centicents
    held_opposite = (-position if position < 0 else 0) if is_bid else (position if position > 0 else 0)
    closing = count_centicontracts if count_centicontracts < held_opposite else held_opposite
    opening = count_centicontracts - closing
    proceeds = (PRICE_ONE_DOLLAR_CENTICENTS - own_price) * closing
    if closing:
        if closing == held_opposite:
            released = am.position_cost_microdollars
        else:
            released = am.position_cost_microdollars * closing // held_opposite
        am.position_cost_microdollars -= released
        am.realized_pnl_microdollars += proceeds - released
    cost = own_price * opening
    am.position_cost_microdollars += cost
    am.position_centicontracts = position + count_centicontracts if is_bid else position - count_centicontracts
    am.volume_centicontracts += count_centicontracts
    am.total_traded_microdollars += own_price * count_centicontracts
    return FillSide(proceeds - cost, opening, closing)


def _apply_fill_apart(am: AccountMarket, is_bid: bool, sells: bool, price_centicents: int, count_centicontracts: int) -> FillSide:
    """A fill on an account that keeps YES and NO apart: a sell closes the contract it sells (NO for
    a bid, YES for an ask) as far as it is held, and the rest of any fill opens the contract bought."""
    own_price = price_centicents if is_bid else PRICE_ONE_DOLLAR_CENTICENTS - price_centicents
    held = (am.no_centicontracts if is_bid else am.yes_centicontracts) if sells else 0
    closing = count_centicontracts if count_centicontracts < held else held
    opening = count_centicontracts - closing
    proceeds = (PRICE_ONE_DOLLAR_CENTICENTS - own_price) * closing
    if closing:
        held_cost = am.no_cost_microdollars if is_bid else am.yes_cost_microdollars
        released = held_cost if closing == held else held_cost * closing // held
        if is_bid:
            am.no_centicontracts -= closing
            am.no_cost_microdollars -= released
        else:
            am.yes_centicontracts -= closing
            am.yes_cost_microdollars -= released
        am.realized_pnl_microdollars += proceeds - released
    cost = own_price * opening
    if is_bid:
        am.yes_centicontracts += opening
        am.yes_cost_microdollars += cost
    else:
        am.no_centicontracts += opening
        am.no_cost_microdollars += cost
    am.position_centicontracts = am.yes_centicontracts - am.no_centicontracts
    am.position_cost_microdollars = am.yes_cost_microdollars + am.no_cost_microdollars
    am.volume_centicontracts += count_centicontracts
    am.total_traded_microdollars += own_price * count_centicontracts
    return FillSide(proceeds - cost, opening, closing)


def hold_apart(am: AccountMarket) -> None:
    """Netting switched off: the signed position becomes the holding of its one side."""
    position = am.position_centicontracts
    am.yes_centicontracts = position if position > 0 else 0
    am.no_centicontracts = -position if position < 0 else 0
    am.yes_cost_microdollars = am.position_cost_microdollars if position > 0 else 0
    am.no_cost_microdollars = am.position_cost_microdollars if position < 0 else 0


def net_again(am: AccountMarket) -> None:
    """Netting switched back on (never with both sides held): the one side held is the position."""
    am.yes_centicontracts = 0
    am.no_centicontracts = 0
    am.yes_cost_microdollars = 0
    am.no_cost_microdollars = 0


class Ledger:
    """Accounts and the money that moves between them, the market pools and the exchange."""

    def __init__(self) -> None:
        self.accounts: dict[int, Account] = {}
        self.withdrawals: dict[int, Withdrawal] = {}  # pending only
        self.market_positions: dict[str, dict[int, AccountMarket]] = {}  # who holds or traded what
        self.deposited_microdollars = 0
        self.withdrawn_microdollars = 0
        self.revenue_microdollars = 0  # fees and settlement rounding, less void refunds beyond the pool
        self.next_account_id = 1
        self.next_withdrawal_id = 1
        self.subaccounts = SubaccountIndex()

    def account_market(self, account: Account, ticker: str) -> AccountMarket:
        am = account.markets.get(ticker)
        if am is None:
            am = AccountMarket(account, ticker)
            account.markets[ticker] = am
            holders = self.market_positions.get(ticker)
            if holders is None:
                holders = {}
                self.market_positions[ticker] = holders
            holders[account.account_id] = am
        return am

    def forget_if_idle(self, account: Account, am: AccountMarket) -> None:
        """Drop a record that holds nothing; its history lives in the events."""
        if am.is_idle() and am.realized_pnl_microdollars == 0 and am.volume_centicontracts == 0:
            del account.markets[am.ticker]
            holders = self.market_positions.get(am.ticker)
            if holders is not None:
                holders.pop(account.account_id, None)

    # --- collateral -----------------------------------------------------------------------------

    def relock_side(self, account: Account, am: AccountMarket, is_bid: bool, terms: FeeTerms, changed: Order | None = None) -> None:
        """Bring the locks of this side's resting orders up to date, moving the difference between free
        cash and locked cash. While no position is being closed on this side, an order's lock depends
        on that order alone, so only `changed` (the order just placed, moved, shrunk or filled) is
        recomputed; otherwise the position is re-assigned in fill order and every order recomputed."""
        closable = am.closable_centicontracts(is_bid)
        assigned = am.bid_closing_centicontracts if is_bid else am.ask_closing_centicontracts
        if closable == 0 and assigned == 0:
            if changed is not None and changed.level is not None:
                self._set_lock(account, changed, terms, 0)
            return
        left = closable
        netting = account.netting_enabled
        for order in (am.bids if is_bid else am.asks).ordered():
            close = order.remaining_centicontracts if order.remaining_centicontracts < left else left
            if not netting and order.action is not ACTION_SELL:
                close = 0  # a buy never closes without netting
            left -= close
            self._set_lock(account, order, terms, close)
        self._set_assigned(am, is_bid, closable - left)

    @staticmethod
    def _set_assigned(am: AccountMarket, is_bid: bool, closing_centicontracts: int) -> None:
        if is_bid:
            am.bid_closing_centicontracts = closing_centicontracts
        else:
            am.ask_closing_centicontracts = closing_centicontracts

    @staticmethod
    def _set_lock(account: Account, order: Order, terms: FeeTerms, closing_centicontracts: int) -> None:
        lock = order_lock_microdollars(
            terms.unit_centicontracts, order.is_bid, order.price_centicents, order.maker_fee_per_unit_microdollars,
            order.remaining_centicontracts - closing_centicontracts, closing_centicontracts,
            order.rounding_accumulator_microdollars,
        )
        order.closing_centicontracts = closing_centicontracts
        delta = lock - order.lock_microdollars
        if delta:
            order.lock_microdollars = lock
            account.cash_microdollars -= delta
            account.locked_microdollars += delta

    def unlock_order(self, account: Account, am: AccountMarket | None, order: Order) -> None:
        """Release an order's lock (it is leaving the book, changing, or about to fill)."""
        lock = order.lock_microdollars
        if lock:
            account.cash_microdollars += lock
            account.locked_microdollars -= lock
            order.lock_microdollars = 0
        closing = order.closing_centicontracts
        if closing:
            order.closing_centicontracts = 0
            if am is not None:
                if order.is_bid:
                    am.bid_closing_centicontracts -= closing
                else:
                    am.ask_closing_centicontracts -= closing

    def collateral_needed(
        self, am: AccountMarket | None, is_bid: bool, sells: bool, price_centicents: int, remaining_centicontracts: int,
        rounding_accumulator_microdollars: int, is_taker: bool, replacing: Order | None, terms: FeeTerms,
    ) -> int:
        """How much more the account's locks on this side would hold if an order with these terms
        joined it (taking the place of `replacing`, for an amend). A crossing order fills before any of
        the account's own resting orders on its side, so it is assigned the position to close first.
        Without netting only sell orders (`sells`, for the new one) are assigned a position to close."""
        closable = am.closable_centicontracts(is_bid) if am is not None else 0
        assigned = 0
        if am is not None:
            assigned = am.bid_closing_centicontracts if is_bid else am.ask_closing_centicontracts
        released = replacing.lock_microdollars if replacing is not None else 0
        unit = terms.unit_centicontracts
        own_fee = worst_fee_per_unit(terms, is_bid, price_centicents, is_taker)
        if am is None or (closable == 0 and assigned == 0):
            own = order_lock_microdollars(
                unit, is_bid, price_centicents, own_fee, remaining_centicontracts, 0, rounding_accumulator_microdollars,
            )
            return own - released
        left = closable
        old_total = released
        new_total = 0
        netting = am.account.netting_enabled
        own_closes = netting or sells
        pending = True  # the incoming order, not yet placed in the walk
        for order in (am.bids if is_bid else am.asks).ordered():
            if order is replacing:
                continue
            old_total += order.lock_microdollars
            if pending and (is_taker or (order.price_centicents < price_centicents if is_bid else order.price_centicents > price_centicents)):
                close = (remaining_centicontracts if remaining_centicontracts < left else left) if own_closes else 0
                left -= close
                new_total += order_lock_microdollars(
                    unit, is_bid, price_centicents, own_fee, remaining_centicontracts - close, close,
                    rounding_accumulator_microdollars,
                )
                pending = False
            remaining = order.remaining_centicontracts
            close = remaining if remaining < left else left
            if not netting and order.action is not ACTION_SELL:
                close = 0
            left -= close
            new_total += order_lock_microdollars(
                unit, is_bid, order.price_centicents, order.maker_fee_per_unit_microdollars, remaining - close, close,
                order.rounding_accumulator_microdollars,
            )
        if pending:
            close = (remaining_centicontracts if remaining_centicontracts < left else left) if own_closes else 0
            new_total += order_lock_microdollars(
                unit, is_bid, price_centicents, own_fee, remaining_centicontracts - close, close,
                rounding_accumulator_microdollars,
            )
        return new_total - old_total
