"""Order entry and matching: create, amend, decrease, cancel, order groups, and the match loop that
turns a crossing order into trades at the resting orders' prices, in price-time priority.

Every entry point validates everything first and raises `Rejected` before touching any state; after
the first mutation nothing can be refused any more.
"""

from __future__ import annotations

from collections import deque

from predictex.core.book import Book, BookSide, Level
from predictex.core.commands import AmendOrder, CreateOrder, DecreaseOrder
from predictex.core.events import BookChanged, OrderAccepted, OrderAmended, OrderClosed, OrderGroupChanged, Trade
from predictex.core.fees import FeeTerms, apply_balance_rounding
from predictex.core.instruments import ACTIVE, CLOSED, INACTIVE, INITIALIZED, Market, is_price_valid
from predictex.core.ledger import Account, AccountMarket, Ledger, apply_fill_to_position, worst_fee_per_unit
from predictex.core.limits import (
    CLIENT_ORDER_ID_LENGTH_MAX,
    OPEN_ORDERS_PER_ACCOUNT_MAX,
    ORDER_COUNT_CENTICONTRACTS_MAX,
    ORDER_GROUP_CONTRACTS_LIMIT_MAX_CENTICONTRACTS,
    ORDER_GROUP_WINDOW_MS,
    ORDER_GROUPS_PER_ACCOUNT_MAX,
    RECENT_CLIENT_ORDER_IDS_PER_ACCOUNT,
    TIME_MS_MAX,
)
from predictex.core.markets import Markets
from predictex.core.orders import (
    ACTION_BUY,
    ACTION_BY_VALUE,
    ACTION_SELL,
    CANCELED,
    EXECUTED,
    FILL_OR_KILL,
    GOOD_TILL_CANCELED,
    IMMEDIATE_OR_CANCEL,
    ORDER_TYPE_LIMIT,
    ORDER_TYPE_MARKET,
    ORDER_TYPES,
    REASON_DECREASED,
    REASON_EXPIRED,
    REASON_IMMEDIATE_OR_CANCEL,
    REASON_NONE,
    REASON_ORDER_GROUP,
    REASON_SELF_TRADE_MAKER,
    REASON_SELF_TRADE_TAKER,
    RESTING,
    STP_MAKER,
    STP_TAKER_AT_CROSS,
    STP_TYPES,
    TIME_IN_FORCE_BY_VALUE,
    Action,
    CloseReason,
    Order,
    OrderStatus,
    TimeInForce,
    book_side,
)
from predictex.core.position_limits import PositionLimits
from predictex.core.rejects import InvariantViolation, RejectCode, Rejected, Subject, naming
from predictex.core.scope import Scope
from predictex.core.timers import EXPIRE_ORDER, Timers
from predictex.core.units import PRICE_ONE_DOLLAR_CENTICENTS, format_count_fp, format_money_dollars, format_price_dollars


class OrderGroup:
    """Orders that share a contract limit over a rolling window: once the contracts matched in the
    window reach the limit, every order in the group is cancelled and the group refuses new orders
    until it is reset."""

    def __init__(self, order_group_id: int, account_id: int, contracts_limit_centicontracts: int) -> None:
        self.order_group_id = order_group_id
        self.account_id = account_id
        self.contracts_limit_centicontracts = contracts_limit_centicontracts
        self.triggered = False
        self.window: deque[tuple[int, int]] = deque()  # (ms, contracts matched then)
        self.window_total_centicontracts = 0
        self.order_ids: dict[int, None] = {}  # open orders in the group, in arrival order

    def prune(self, now_ms: int) -> None:
        horizon = now_ms - ORDER_GROUP_WINDOW_MS
        window = self.window
        while window and window[0][0] <= horizon:
            self.window_total_centicontracts -= window.popleft()[1]

    def allowance(self, now_ms: int) -> int:
        self.prune(now_ms)
        left = self.contracts_limit_centicontracts - self.window_total_centicontracts
        return left if left > 0 else 0

    def record(self, now_ms: int, count_centicontracts: int) -> None:
        window = self.window
        if window and window[-1][0] == now_ms:
            window[-1] = (now_ms, window[-1][1] + count_centicontracts)
        else:
            window.append((now_ms, count_centicontracts))
        self.window_total_centicontracts += count_centicontracts


def _crosses(book: Book, is_bid: bool, price_centicents: int) -> bool:
    if is_bid:
        best_ask = book.asks.best_price()
        return best_ask != 0 and price_centicents >= best_ask
    best_bid = book.bids.best_price()
    return best_bid != 0 and price_centicents <= best_bid


def _no_more_orders(market: Market) -> str:
    """A closed market's refusal detail (the code already says "closed": the detail says what else)."""
    if market.status == CLOSED:
        return f"{market.ticker} takes no more orders"
    return f"{market.ticker} is {market.status}: it takes no more orders"


def _dollars(amount_microdollars: int) -> str:
    return "$" + format_money_dollars(amount_microdollars)


class RecentIds:
    """The client_order_ids an account's most recently closed orders released, oldest first, at most
    RECENT_CLIENT_ORDER_IDS_PER_ACCOUNT of them, with O(1) membership."""

    def __init__(self, ids: list[str] | None = None) -> None:
        self.order: deque[str] = deque()
        self.members: set[str] = set()
        for client_order_id in ids or []:
            self.add(client_order_id)

    def __contains__(self, client_order_id: str) -> bool:
        return client_order_id in self.members

    def add(self, client_order_id: str) -> None:
        self.order.append(client_order_id)
        self.members.add(client_order_id)
        if len(self.order) > RECENT_CLIENT_ORDER_IDS_PER_ACCOUNT:
            self.members.discard(self.order.popleft())

    def ids(self) -> list[str]:
        return list(self.order)


class Trading:
    def __init__(self, scope: Scope, ledger: Ledger, markets: Markets, timers: Timers) -> None:
        self.scope = scope
        self.ledger = ledger
        self.markets = markets
        self.timers = timers
        self.orders: dict[int, Order] = {}  # open orders
        self.groups: dict[int, OrderGroup] = {}
        self.recent_client_order_ids: dict[int, RecentIds] = {}  # per account, closed orders' ids
        self.next_order_id = 1
        self.next_trade_id = 1
        self.next_group_id = 1
        self.next_priority = 1
        self.position_limits = PositionLimits()
        self.not_eligible: dict[int, str] = {}  # primary account -> why its member may not place orders

    # --- lookups and state checks ---------------------------------------------------------------

    def account(self, account_id: int) -> Account:
        account = self.ledger.accounts.get(account_id)
        if account is None:
            raise Rejected(RejectCode.ACCOUNT_NOT_FOUND, f"no account {account_id}")
        return account

    def own_open_order(self, account_id: int, order_id: int) -> tuple[Account, Order]:
        order = self.orders.get(order_id)
        if order is None or order.account_id != account_id:
            self.account(account_id)
            raise naming(RejectCode.ORDER_NOT_FOUND, "no open order ", Subject.ORDER, order_id)
        return order.account, order

    def require_trading(self, market: Market) -> None:
        """New risk (create, amend) needs an open exchange and an active market."""
        if not self.markets.exchange_active:
            raise Rejected(RejectCode.EXCHANGE_PAUSED, "no changes are accepted until it resumes")
        if not self.markets.trading_active:
            raise Rejected(RejectCode.TRADING_PAUSED, "only cancels are accepted until it resumes")
        status = market.status
        if status == ACTIVE:
            return
        if status == INITIALIZED:
            raise Rejected(RejectCode.MARKET_NOT_OPEN, f"{market.ticker} takes no orders before its opening time")
        if status == INACTIVE:
            raise Rejected(RejectCode.MARKET_PAUSED, f"{market.ticker} takes only cancels until it resumes")
        raise Rejected(RejectCode.MARKET_CLOSED, _no_more_orders(market))

    def require_reductions(self, market: Market) -> None:
        """Cancels and decreases work during trading pauses, not during an exchange pause or after close."""
        if not self.markets.exchange_active:
            raise Rejected(RejectCode.EXCHANGE_PAUSED, "no changes are accepted until it resumes")
        if market.status != ACTIVE and market.status != INACTIVE:
            raise Rejected(RejectCode.MARKET_CLOSED, _no_more_orders(market))

    def _check_client_order_id(self, account: Account, client_order_id: str) -> None:
        if len(client_order_id) > CLIENT_ORDER_ID_LENGTH_MAX:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"client_order_id is longer than {CLIENT_ORDER_ID_LENGTH_MAX} characters")
        if not client_order_id:
            return
        if client_order_id in account.open_client_order_ids:
            raise Rejected(RejectCode.ORDER_ALREADY_EXISTS, f"client_order_id {client_order_id!r} is in use by an open order")
        recent = self.recent_client_order_ids.get(account.account_id)
        if recent is not None and client_order_id in recent:
            raise Rejected(
                RejectCode.ORDER_ALREADY_EXISTS,
                f"client_order_id {client_order_id!r} was used recently; pick a new one for a new order",
            )

    def _check_price(self, market: Market, price_centicents: int) -> None:
        if not is_price_valid(market.price_table, price_centicents):
            raise Rejected(
                RejectCode.INVALID_PRICE,
                f"{format_price_dollars(price_centicents)} is not on the {market.price_level_structure} grid of {market.ticker}",
            )

    def _check_count(self, market: Market, count_centicontracts: int, what: str) -> None:
        if count_centicontracts <= 0 or count_centicontracts > ORDER_COUNT_CENTICONTRACTS_MAX:
            raise Rejected(RejectCode.INVALID_ORDER_SIZE, f"{what} must be positive and at most {format_count_fp(ORDER_COUNT_CENTICONTRACTS_MAX)}")
        if count_centicontracts % market.unit_centicontracts:
            raise Rejected(
                RejectCode.INVALID_ORDER_SIZE,
                f"{what} {format_count_fp(count_centicontracts)} is fractional; {market.ticker} trades whole contracts",
            )

    def _group_for_order(self, account: Account, order_group_id: int) -> OrderGroup | None:
        if order_group_id == 0:
            return None
        group = self.groups.get(order_group_id)
        if group is None or group.account_id != account.account_id:
            raise naming(RejectCode.ORDER_GROUP_NOT_FOUND, "none has the id ", Subject.ORDER_GROUP, order_group_id)
        if group.triggered:
            raise naming(RejectCode.ORDER_GROUP_LIMIT, "", Subject.ORDER_GROUP, order_group_id, " must be reset before it takes new orders")
        return group

    def _check_terms(self, cmd: CreateOrder, market: Market, account: Account) -> tuple[TimeInForce, Action]:
        """Everything about an order's terms that can be refused, in this order; its time in force and
        action read into their types."""
        self._check_price(market, cmd.price_centicents)
        self._check_count(market, cmd.count_centicontracts, "count")
        time_in_force = TIME_IN_FORCE_BY_VALUE.get(cmd.time_in_force)
        if time_in_force is None:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"time_in_force must be one of {', '.join(TIME_IN_FORCE_BY_VALUE)}")
        if cmd.self_trade_prevention not in STP_TYPES:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"self_trade_prevention_type must be one of {', '.join(STP_TYPES)}")
        if cmd.order_type not in ORDER_TYPES:
            raise Rejected(RejectCode.INVALID_PARAMETERS, "type must be limit or market")
        action = ACTION_BY_VALUE.get(cmd.action)
        if action is None:
            raise Rejected(RejectCode.INVALID_PARAMETERS, "action must be buy or sell")
        if cmd.expiration_ms != 0:
            if time_in_force is not GOOD_TILL_CANCELED or cmd.order_type == ORDER_TYPE_MARKET:
                raise Rejected(RejectCode.INVALID_EXPIRATION, "only good-till-canceled limits can carry one")
            if cmd.expiration_ms <= self.scope.now_ms or cmd.expiration_ms > TIME_MS_MAX:
                raise Rejected(RejectCode.INVALID_EXPIRATION, "expiration_time must be in the future (and before the year 10000)")
        if cmd.buy_max_cost_microdollars < 0:
            raise Rejected(RejectCode.INVALID_PARAMETERS, "buy_max_cost must not be negative")
        self._check_client_order_id(account, cmd.client_order_id)
        if account.open_order_count >= OPEN_ORDERS_PER_ACCOUNT_MAX:
            raise Rejected(RejectCode.OPEN_ORDER_LIMIT, f"the most an account may have is {OPEN_ORDERS_PER_ACCOUNT_MAX}")
        return time_in_force, action

    def _check_fill_or_kill(self, book: Book, is_bid: bool, price: int, count: int, max_cost: int) -> None:
        opposite = book.asks if is_bid else book.bids
        available = opposite.volume_crossing(price)
        if available < count:
            raise Rejected(
                RejectCode.FILL_OR_KILL_INSUFFICIENT_VOLUME,
                f"only {format_count_fp(available)} of {format_count_fp(count)} available at that price",
            )
        if max_cost > 0:
            cost = _cost_to_fill(opposite, is_bid, count)
            if cost > max_cost:
                raise Rejected(
                    RejectCode.BUY_MAX_COST_EXCEEDED,
                    f"filling {format_count_fp(count)} takes {_dollars(cost)}, above buy_max_cost {_dollars(max_cost)}",
                )

    def _check_collateral(self, account: Account, am: AccountMarket | None, is_bid: bool, sells: bool, price: int, remaining: int,
                          accumulator: int, is_taker: bool, replacing: Order | None, terms: FeeTerms) -> None:
        needed = self.ledger.collateral_needed(am, is_bid, sells, price, remaining, accumulator, is_taker, replacing, terms)
        if needed > account.cash_microdollars:
            raise Rejected(
                RejectCode.INSUFFICIENT_BALANCE,
                f"need {_dollars(needed)}, have {_dollars(account.cash_microdollars)}",
            )

    # --- create ---------------------------------------------------------------------------------

    def _check_eligible(self, account: Account) -> None:
        if not self.not_eligible:
            return
        owner = self.ledger.subaccounts.owner.get(account.account_id)
        reason = self.not_eligible.get(account.account_id if owner is None else owner[0])
        if reason:
            raise Rejected(RejectCode.MEMBER_NOT_ELIGIBLE, reason)

    def create(self, cmd: CreateOrder) -> Order:
        account = self.account(cmd.account_id)
        self._check_eligible(account)
        market = self.markets.market(cmd.ticker)
        self.require_trading(market)
        time_in_force, action = self._check_terms(cmd, market, account)
        group = self._group_for_order(account, cmd.order_group_id)
        is_bid = cmd.is_bid
        count = cmd.count_centicontracts
        if cmd.order_type == ORDER_TYPE_MARKET:
            time_in_force = IMMEDIATE_OR_CANCEL
        am = account.markets.get(cmd.ticker)
        closable = am.closable_centicontracts(is_bid) if am is not None else 0
        if not account.netting_enabled and action is ACTION_BUY:
            closable = 0  # without netting a buy closes nothing
        if cmd.reduce_only:
            if closable == 0:
                raise Rejected(RejectCode.REDUCE_ONLY_NO_POSITION, f"the account holds no {'NO' if is_bid else 'YES'} contracts for it to close")
            if count > closable:
                count = closable
            time_in_force = IMMEDIATE_OR_CANCEL
        if cmd.sell_position_floor and count > closable:
            raise Rejected(
                RejectCode.SELL_POSITION_FLOOR,
                f"selling {format_count_fp(count)} would go past the position of {format_count_fp(closable)}",
            )
        book = market.book
        crosses = _crosses(book, is_bid, cmd.price_centicents)
        if cmd.post_only and crosses:
            raise Rejected(RejectCode.POST_ONLY_CROSS, "the price would trade against the book at once")
        if cmd.buy_max_cost_microdollars > 0:
            time_in_force = FILL_OR_KILL
        if time_in_force is FILL_OR_KILL:
            self._check_fill_or_kill(book, is_bid, cmd.price_centicents, count, cmd.buy_max_cost_microdollars)
        self._check_collateral(
            account, am, is_bid, action is ACTION_SELL, cmd.price_centicents, count, 0, crosses, None, market.fee_terms,
        )
        self.position_limits.check(self.ledger, self.markets.markets, account, market, is_bid, count)
        # --- nothing below refuses ---
        order = Order(
            self.next_order_id, account, market, is_bid, cmd.price_centicents, count, time_in_force,
            cmd.expiration_ms, cmd.post_only, cmd.reduce_only, cmd.self_trade_prevention, cmd.order_type,
            cmd.cancel_on_pause, cmd.client_order_id, cmd.order_group_id, action, self.scope.now_ms,
        )
        order.priority = self.next_priority
        self.next_order_id += 1
        self.next_priority += 1
        self._register(account, order, group)
        self.scope.emit(OrderAccepted(
            order.order_id, order.account_id, order.ticker, is_bid, order.price_centicents, count, time_in_force,
            order.expiration_ms, order.post_only, order.reduce_only, order.self_trade_prevention, order.order_type,
            order.cancel_on_pause, order.client_order_id, order.order_group_id, order.action,
        ))
        if crosses:
            self._match(account, order, market, book)
            am = None  # the fills may have created the account's record in this market
        self._after_entry(account, order, market, am)
        return order

    def _register(self, account: Account, order: Order, group: OrderGroup | None) -> None:
        self.orders[order.order_id] = order
        account.open_order_count += 1
        if order.client_order_id:
            account.open_client_order_ids[order.client_order_id] = order.order_id
        if group is not None:
            group.order_ids[order.order_id] = None
        self.scope.touch(account)

    def _after_entry(self, account: Account, order: Order, market: Market, am: AccountMarket | None) -> None:
        """Rest what is left of a good-till-canceled order, cancel the rest of any other, and settle
        the account's collateral on that market."""
        if order.status == RESTING:
            if order.time_in_force == GOOD_TILL_CANCELED:
                am = self._rest(account, order, market, am)
            else:
                self.close(order, CANCELED, REASON_IMMEDIATE_OR_CANCEL)
        if am is None:
            am = account.markets.get(order.ticker)
        if am is not None:
            terms = market.fee_terms
            self.ledger.relock_side(account, am, order.is_bid, terms, order)
            if order.filled_centicontracts:
                self.ledger.relock_side(account, am, not order.is_bid, terms)
            self._assert_solvent(account)

    def _rest(self, account: Account, order: Order, market: Market, am: AccountMarket | None) -> AccountMarket:
        level = market.book.side(order.is_bid).append(order)
        if am is None:
            am = self.ledger.account_market(account, order.ticker)
        order.maker_fee_per_unit_microdollars = worst_fee_per_unit(market.fee_terms, order.is_bid, order.price_centicents, False)
        am.add_resting(order)
        self.scope.emit(BookChanged(
            order.ticker, order.is_bid, order.price_centicents, level.total_centicontracts,
            order.remaining_centicontracts, order.order_id, order.account_id,
        ))
        if order.expiration_ms:
            self.timers.schedule(order.expiration_ms, EXPIRE_ORDER, order.order_id, order.ticker)
        return am

    @staticmethod
    def _assert_solvent(account: Account) -> None:
        if account.cash_microdollars < 0:
            raise InvariantViolation(f"account {account.account_id} cash went negative: {account.cash_microdollars}")

    # --- matching -------------------------------------------------------------------------------

    def _match(self, taker_account: Account, taker: Order, market: Market, book: Book) -> None:
        """Trade `taker` against the opposite side while it crosses, best price first, oldest first."""
        is_bid = taker.is_bid
        side = book.asks if is_bid else book.bids
        limit = taker.price_centicents
        while taker.remaining_centicontracts > 0 and taker.status == RESTING:
            level = side.best_level()
            if level is None:
                break
            price = level.price_centicents
            if (price > limit) if is_bid else (price < limit):
                break
            maker = level.head
            assert maker is not None
            if maker.account_id == taker.account_id:
                if taker.self_trade_prevention == STP_MAKER:
                    self.close(maker, CANCELED, REASON_SELF_TRADE_MAKER)
                    continue
                self.close(taker, CANCELED, REASON_SELF_TRADE_TAKER)
                break
            self._fill(taker_account, taker, maker, market, side, level)

    def _fill(self, taker_account: Account, taker: Order, maker: Order, market: Market, side: BookSide, level: Level) -> None:
        count = taker.remaining_centicontracts
        if maker.remaining_centicontracts < count:
            count = maker.remaining_centicontracts
        now = self.scope.now_ms
        taker_group = self.groups.get(taker.order_group_id) if taker.order_group_id else None
        if taker_group is not None:
            allowance = taker_group.allowance(now)
            allowance -= allowance % market.unit_centicontracts  # never split a contract the market trades whole
            if allowance == 0:
                self._trigger(taker_group)
                return
            if allowance < count:
                count = allowance
        maker_group = self.groups.get(maker.order_group_id) if maker.order_group_id else None
        if maker_group is not None:
            allowance = maker_group.allowance(now)
            allowance -= allowance % market.unit_centicontracts
            if allowance == 0:
                self._trigger(maker_group)
                return
            if allowance < count:
                count = allowance
        self._execute(taker_account, taker, maker, market, level, count)
        if taker_group is not None:
            self._record_group_fill(taker_group, count)
        if maker_group is not None and maker_group is not taker_group:
            self._record_group_fill(maker_group, count)

    def _execute(self, taker_account: Account, taker: Order, maker: Order, market: Market, level: Level | None, count: int) -> None:
        """One trade at the maker's price: positions, cash, fees, order progress and the book (`level`
        None: a trade off the book, between two orders that never rested)."""
        ledger = self.ledger
        ticker = market.ticker
        price = maker.price_centicents
        maker_account = maker.account
        maker_am = maker.holder
        if maker_am is None:
            assert level is None, "a resting maker has its account's record"
            maker_am = ledger.account_market(maker_account, ticker)
        taker_am = ledger.account_market(taker_account, ticker)
        ledger.unlock_order(maker_account, maker_am, maker)
        now = self.scope.now_ms
        if market.fee_waiver_expiration_ms > now:
            taker_fee = 0
            maker_fee = 0
        else:
            terms = market.fee_terms
            taker_fee = terms.trade_fee(True, count, price)
            maker_fee = terms.trade_fee(False, count, price)
        taker_side = apply_fill_to_position(taker_am, taker.is_bid, taker.action is ACTION_SELL, price, count)
        maker_side = apply_fill_to_position(maker_am, maker.is_bid, maker.action is ACTION_SELL, price, count)
        taker_balance = apply_balance_rounding(taker_side.revenue_microdollars, taker_fee, taker.rounding_accumulator_microdollars)
        maker_balance = apply_balance_rounding(maker_side.revenue_microdollars, maker_fee, maker.rounding_accumulator_microdollars)
        taker.rounding_accumulator_microdollars = taker_balance.accumulator_microdollars
        maker.rounding_accumulator_microdollars = maker_balance.accumulator_microdollars
        taker_account.cash_microdollars += taker_balance.cash_delta_microdollars
        maker_account.cash_microdollars += maker_balance.cash_delta_microdollars
        taker_net_fee = taker_fee + taker_balance.rounding_fee_microdollars - taker_balance.rebate_microdollars
        maker_net_fee = maker_fee + maker_balance.rounding_fee_microdollars - maker_balance.rebate_microdollars
        ledger.revenue_microdollars += taker_net_fee + maker_net_fee
        taker_account.fees_paid_microdollars += taker_net_fee
        maker_account.fees_paid_microdollars += maker_net_fee
        taker_am.fees_paid_microdollars += taker_net_fee
        maker_am.fees_paid_microdollars += maker_net_fee
        taker_am.updated_ms = now
        maker_am.updated_ms = now
        if taker.is_bid:
            market.open_interest_centicontracts += taker_side.opened_centicontracts - maker_side.closed_centicontracts
        else:
            market.open_interest_centicontracts += maker_side.opened_centicontracts - taker_side.closed_centicontracts
        _progress(taker, count, price, taker_net_fee, True, now)
        _progress(maker, count, price, maker_net_fee, False, now)
        if level is not None:
            level.total_centicontracts -= count
        market.last_price_centicents = price
        market.volume_centicontracts += count
        market.trade_count += 1
        trade_id = self.next_trade_id
        self.next_trade_id += 1
        scope = self.scope
        scope.emit(Trade(
            trade_id, ticker, price, count, taker.is_bid, taker.order_id, taker.account_id, maker.order_id,
            maker.account_id, taker_fee, maker_fee, taker_balance.rounding_fee_microdollars,
            maker_balance.rounding_fee_microdollars, taker_balance.rebate_microdollars,
            maker_balance.rebate_microdollars, taker_balance.cash_delta_microdollars,
            maker_balance.cash_delta_microdollars, taker_am.position_centicontracts, maker_am.position_centicontracts,
        ))
        if level is not None:
            scope.emit(BookChanged(ticker, maker.is_bid, price, level.total_centicontracts, -count, maker.order_id, maker.account_id))
        scope.touch(taker_account)
        scope.touch(maker_account)
        scope.touch_position(taker_am)
        scope.touch_position(maker_am)
        if maker.remaining_centicontracts == 0:
            self.close(maker, EXECUTED, REASON_NONE)
        ledger.relock_side(maker_account, maker_am, maker.is_bid, market.fee_terms, maker)
        ledger.relock_side(maker_account, maker_am, not maker.is_bid, market.fee_terms)
        self._assert_solvent(maker_account)
        if taker.remaining_centicontracts == 0:
            self.close(taker, EXECUTED, REASON_NONE)

    # --- trades off the book (RFQs and block trades) ------------------------------------------------

    def check_off_book(self, account: Account, market: Market, is_bid: bool, price: int, count: int, is_taker: bool) -> None:
        """Refuse unless the account's free cash covers its side of a trade off the book (price plus
        the worst fee, less what closing a position it holds brings in) and the trade keeps its member
        within the position limits (core/position_limits.py: every execution counts, not only orders)."""
        self._check_collateral(account, account.markets.get(market.ticker), is_bid, False, price, count, 0, is_taker, None, market.fee_terms)
        self.position_limits.check(self.ledger, self.markets.markets, account, market, is_bid, count, "this trade")

    def execute_off_book(self, taker_account: Account, taker_is_bid: bool, maker_account: Account, market: Market,
                         price: int, count: int, client_order_id: str) -> tuple[Order, Order]:
        """One trade at `price` between two accounts, away from the book: each side gets a fill-or-kill
        order of its own (as Kalshi books RFQ and block executions), which fills in full at once and
        closes as executed; fees as for any trade (taker's and maker's). Both orders carry
        `client_order_id` (named after the quote or proposal; the engine makes no random ids), which
        never enters the accounts' index of open ids: an order of the member's own may hold it.
        Checked by the caller first (`require_trading`, `check_off_book` for both): nothing here refuses."""
        taker = self._off_book_order(taker_account, market, taker_is_bid, price, count, client_order_id)
        maker = self._off_book_order(maker_account, market, not taker_is_bid, price, count, client_order_id)
        self._execute(taker_account, taker, maker, market, None, count)
        terms = market.fee_terms
        for account in (taker_account, maker_account):
            am = account.markets[market.ticker]
            self.ledger.relock_side(account, am, True, terms)
            self.ledger.relock_side(account, am, False, terms)
            self._assert_solvent(account)
        return taker, maker

    def _off_book_order(self, account: Account, market: Market, is_bid: bool, price: int, count: int, client_order_id: str) -> Order:
        order = Order(
            self.next_order_id, account, market, is_bid, price, count, FILL_OR_KILL, 0, False, False, STP_TAKER_AT_CROSS,
            ORDER_TYPE_LIMIT, False, client_order_id, 0, ACTION_BUY, self.scope.now_ms,
        )
        order.priority = self.next_priority
        self.next_order_id += 1
        self.next_priority += 1
        self.orders[order.order_id] = order
        account.open_order_count += 1
        self.scope.touch(account)
        self.scope.emit(OrderAccepted(
            order.order_id, order.account_id, order.ticker, is_bid, price, count, FILL_OR_KILL, 0, False, False,
            STP_TAKER_AT_CROSS, ORDER_TYPE_LIMIT, False, client_order_id, 0, ACTION_BUY,
        ))
        return order

    # --- closing orders -------------------------------------------------------------------------

    def close(self, order: Order, status: OrderStatus, reason: CloseReason) -> None:
        """Take an order out of the book and the account's open orders: `executed` when fully
        filled, `canceled` with a reason otherwise. Releases its collateral."""
        account = order.account
        reduced_by = order.remaining_centicontracts if status == CANCELED else 0
        am = order.holder
        if order.level is not None:
            level = order.market.book.side(order.is_bid).unlink(order)
            if reduced_by:
                self.scope.emit(BookChanged(
                    order.ticker, order.is_bid, order.price_centicents, level.total_centicontracts, -reduced_by,
                    order.order_id, order.account_id,
                ))
        if am is not None:
            am.remove_resting(order)
        self.ledger.unlock_order(account, am, order)
        order.status = status
        order.close_reason = reason
        order.remaining_centicontracts = 0
        order.updated_ms = self.scope.now_ms
        del self.orders[order.order_id]
        account.open_order_count -= 1
        cid = order.client_order_id
        if cid:
            if account.open_client_order_ids.get(cid) == order.order_id:
                del account.open_client_order_ids[cid]
            self._remember_client_order_id(account.account_id, cid)
        if order.order_group_id:
            group = self.groups.get(order.order_group_id)
            if group is not None:
                group.order_ids.pop(order.order_id, None)
        self.scope.emit(OrderClosed(
            order.order_id, order.account_id, order.ticker, status, reason, reduced_by, order.is_bid,
            order.price_centicents, order.initial_count_centicontracts, order.filled_centicontracts,
            order.time_in_force, order.expiration_ms, order.post_only, order.reduce_only, order.self_trade_prevention,
            order.order_type, order.cancel_on_pause, order.client_order_id, order.order_group_id, order.action,
            order.created_ms, order.taker_fill_cost_microdollars, order.maker_fill_cost_microdollars,
            order.taker_fees_microdollars, order.maker_fees_microdollars,
        ))
        self.scope.touch(account)
        if am is not None and reduced_by:
            self.ledger.relock_side(account, am, order.is_bid, order.market.fee_terms)
            self.ledger.forget_if_idle(account, am)

    def _remember_client_order_id(self, account_id: int, client_order_id: str) -> None:
        recent = self.recent_client_order_ids.get(account_id)
        if recent is None:
            recent = self.recent_client_order_ids[account_id] = RecentIds()
        recent.add(client_order_id)

    def cancel(self, account_id: int, order_id: int, reason: CloseReason) -> Order:
        _, order = self.own_open_order(account_id, order_id)
        self.require_reductions(order.market)
        self.close(order, CANCELED, reason)
        return order

    def cancel_all(self, account_id: int, ticker: str, reason: CloseReason) -> int:
        account = self.account(account_id)
        if not self.markets.exchange_active:
            raise Rejected(RejectCode.EXCHANGE_PAUSED, "no changes are accepted until it resumes")
        if ticker:
            self.markets.market(ticker)
        victims: list[Order] = []
        for am in account.markets.values():
            if ticker and am.ticker != ticker:
                continue
            victims.extend(am.orders(True))
            victims.extend(am.orders(False))
        for order in victims:
            self.close(order, CANCELED, reason)
        return len(victims)

    def cancel_where(self, orders: list[Order], reason: CloseReason) -> None:
        for order in orders:
            if order.status == RESTING:
                self.close(order, CANCELED, reason)

    def market_orders(self, ticker: str, only_cancel_on_pause: bool) -> list[Order]:
        """Every order resting in a market, bids then asks, in price then time order."""
        book = self.markets.markets[ticker].book
        found: list[Order] = []
        for side in (book.bids, book.asks):
            for price in list(side.prices):
                for order in side.levels[price].orders():
                    if not only_cancel_on_pause or order.cancel_on_pause:
                        found.append(order)
        return found

    def expire(self, order_id: int, due_ms: int) -> None:
        order = self.orders.get(order_id)
        if order is not None and order.expiration_ms == due_ms:
            self.close(order, CANCELED, REASON_EXPIRED)

    # --- amend and decrease ---------------------------------------------------------------------

    def amend(self, cmd: AmendOrder) -> Order:
        account, order = self.own_open_order(cmd.account_id, cmd.order_id)
        market = order.market
        self.require_trading(market)
        if cmd.ticker and cmd.ticker != order.ticker:
            raise naming(RejectCode.ORDER_TICKER_MISMATCH, "", Subject.ORDER, order.order_id, f" is on {order.ticker}, not {cmd.ticker}")
        if cmd.side and cmd.side != book_side(order.is_bid):
            raise naming(RejectCode.ORDER_SIDE_MISMATCH, "", Subject.ORDER, order.order_id, f" is a {book_side(order.is_bid)}, not a {cmd.side}")
        price = cmd.price_centicents or order.price_centicents
        self._check_price(market, price)
        total = cmd.total_count_centicontracts or order.total_count_centicontracts
        self._check_count(market, total, "count")
        if total < order.filled_centicontracts:
            raise Rejected(
                RejectCode.INVALID_AMEND,
                f"new total {format_count_fp(total)} is below the {format_count_fp(order.filled_centicontracts)} already filled",
            )
        remaining = total - order.filled_centicontracts
        client_order_id = cmd.updated_client_order_id or order.client_order_id
        if client_order_id != order.client_order_id:
            self._check_client_order_id(account, client_order_id)
        expiration = order.expiration_ms if cmd.expiration_ms < 0 else cmd.expiration_ms
        if expiration and expiration != order.expiration_ms and not self.scope.now_ms < expiration <= TIME_MS_MAX:
            raise Rejected(RejectCode.INVALID_EXPIRATION, "expiration_time must be in the future (and before the year 10000)")
        if (price == order.price_centicents and remaining == order.remaining_centicontracts
                and client_order_id == order.client_order_id and expiration == order.expiration_ms):
            raise Rejected(RejectCode.INVALID_AMEND, "nothing would change")
        if remaining == 0:
            self.close(order, CANCELED, REASON_DECREASED)
            return order
        if price == order.price_centicents and remaining <= order.remaining_centicontracts:
            self._change_in_place(account, order, remaining, client_order_id, expiration)
            return order
        self._requeue(account, order, market, price, remaining, client_order_id, expiration)
        return order

    def _requeue(self, account: Account, order: Order, market: Market, price: int, remaining: int,
                 client_order_id: str, expiration: int) -> None:
        """An amend that loses priority: out of the book, new terms, back in at the end of the queue
        (trading first if it now crosses)."""
        book = market.book
        crosses = _crosses(book, order.is_bid, price)
        if order.post_only and crosses:
            raise Rejected(RejectCode.POST_ONLY_CROSS, "the price would trade against the book at once")
        am = order.holder
        self._check_collateral(
            account, am, order.is_bid, order.action is ACTION_SELL, price, remaining, order.rounding_accumulator_microdollars,
            crosses, order, market.fee_terms,
        )
        if remaining > order.remaining_centicontracts:
            self.position_limits.check(self.ledger, self.markets.markets, account, market, order.is_bid,
                                       remaining - order.remaining_centicontracts)
        # --- nothing below refuses ---
        side = book.side(order.is_bid)
        level = side.unlink(order)
        self.scope.emit(BookChanged(
            order.ticker, order.is_bid, order.price_centicents, level.total_centicontracts,
            -order.remaining_centicontracts, order.order_id, order.account_id,
        ))
        if am is not None:
            am.remove_resting(order)
        self.ledger.unlock_order(account, am, order)
        self._rename(account, order, client_order_id)
        order.price_centicents = price
        order.remaining_centicontracts = remaining
        order.expiration_ms = expiration
        order.priority = self.next_priority
        order.updated_ms = self.scope.now_ms
        self.next_priority += 1
        self.scope.emit(OrderAmended(
            order.order_id, order.account_id, order.ticker, price, remaining, client_order_id, expiration, False,
        ))
        self.scope.touch(account)
        if crosses:
            self._match(account, order, market, book)
            am = None
        self._after_entry(account, order, market, am)

    def _change_in_place(self, account: Account, order: Order, remaining: int, client_order_id: str, expiration: int) -> None:
        """Shrink and/or relabel an order without losing its place in the queue."""
        reduced_by = order.remaining_centicontracts - remaining
        if reduced_by:
            level = order.level
            assert level is not None
            level.total_centicontracts -= reduced_by
            order.remaining_centicontracts = remaining
            self.scope.emit(BookChanged(
                order.ticker, order.is_bid, order.price_centicents, level.total_centicontracts, -reduced_by,
                order.order_id, order.account_id,
            ))
        self._rename(account, order, client_order_id)
        if expiration != order.expiration_ms:
            order.expiration_ms = expiration
            if expiration:
                self.timers.schedule(expiration, EXPIRE_ORDER, order.order_id, order.ticker)
        order.updated_ms = self.scope.now_ms
        self.scope.emit(OrderAmended(
            order.order_id, order.account_id, order.ticker, order.price_centicents, remaining, client_order_id,
            order.expiration_ms, True,
        ))
        self.scope.touch(account)
        am = order.holder
        assert am is not None
        self.ledger.relock_side(account, am, order.is_bid, order.market.fee_terms, order)

    def _rename(self, account: Account, order: Order, client_order_id: str) -> None:
        if client_order_id == order.client_order_id:
            return
        old = order.client_order_id
        if old and account.open_client_order_ids.get(old) == order.order_id:
            del account.open_client_order_ids[old]
            self._remember_client_order_id(account.account_id, old)
        order.client_order_id = client_order_id
        if client_order_id:
            account.open_client_order_ids[client_order_id] = order.order_id

    def decrease(self, cmd: DecreaseOrder) -> Order:
        account, order = self.own_open_order(cmd.account_id, cmd.order_id)
        market = order.market
        self.require_reductions(market)
        by_given = cmd.reduce_by_centicontracts >= 0
        to_given = cmd.reduce_to_centicontracts >= 0
        if by_given == to_given:
            raise Rejected(RejectCode.INVALID_PARAMETERS, "give exactly one of reduce_by and reduce_to")
        unit = market.unit_centicontracts
        remaining = order.remaining_centicontracts
        if by_given:
            by = cmd.reduce_by_centicontracts
            if by == 0 or by % unit:
                raise Rejected(RejectCode.INVALID_ORDER_SIZE, f"reduce_by {format_count_fp(by)} must be a positive tradable count")
            target = remaining - by if by < remaining else 0
        else:
            target = cmd.reduce_to_centicontracts
            if target % unit or target >= remaining:
                raise Rejected(
                    RejectCode.INVALID_ORDER_SIZE,
                    f"reduce_to {format_count_fp(target)} must be a tradable count below the remaining {format_count_fp(remaining)}",
                )
        if target == 0:
            self.close(order, CANCELED, REASON_DECREASED)
        else:
            self._change_in_place(account, order, target, order.client_order_id, order.expiration_ms)
        return order

    # --- order groups ---------------------------------------------------------------------------

    def create_group(self, account_id: int, contracts_limit_centicontracts: int) -> OrderGroup:
        account = self.account(account_id)
        if not self.markets.exchange_active:
            raise Rejected(RejectCode.EXCHANGE_PAUSED, "no changes are accepted until it resumes")
        self._check_group_limit(contracts_limit_centicontracts)
        if account.order_group_count >= ORDER_GROUPS_PER_ACCOUNT_MAX:
            raise Rejected(RejectCode.ORDER_GROUP_COUNT_LIMIT, f"the most an account may have is {ORDER_GROUPS_PER_ACCOUNT_MAX}")
        group = OrderGroup(self.next_group_id, account_id, contracts_limit_centicontracts)
        self.next_group_id += 1
        self.groups[group.order_group_id] = group
        account.order_group_count += 1
        self.scope.emit(OrderGroupChanged(group.order_group_id, account_id, "created", contracts_limit_centicontracts))
        return group

    @staticmethod
    def _check_group_limit(contracts_limit_centicontracts: int) -> None:
        if not 0 < contracts_limit_centicontracts <= ORDER_GROUP_CONTRACTS_LIMIT_MAX_CENTICONTRACTS:
            raise Rejected(
                RejectCode.INVALID_PARAMETERS,
                f"contracts_limit must be between 0.01 and {format_count_fp(ORDER_GROUP_CONTRACTS_LIMIT_MAX_CENTICONTRACTS)}",
            )

    def change_group(self, account_id: int, order_group_id: int, change: str, contracts_limit_centicontracts: int) -> OrderGroup:
        account = self.account(account_id)
        group = self.groups.get(order_group_id)
        if group is None or group.account_id != account_id:
            raise naming(RejectCode.ORDER_GROUP_NOT_FOUND, "none has the id ", Subject.ORDER_GROUP, order_group_id)
        if not self.markets.exchange_active:
            raise Rejected(RejectCode.EXCHANGE_PAUSED, "no changes are accepted until it resumes")
        if change == "reset":
            group.triggered = False
            group.window.clear()
            group.window_total_centicontracts = 0
            self.scope.emit(OrderGroupChanged(order_group_id, account_id, "reset", group.contracts_limit_centicontracts))
        elif change == "trigger":
            self._trigger(group)
        elif change == "delete":
            self._cancel_group_orders(group)
            del self.groups[order_group_id]
            account.order_group_count -= 1
            self.scope.emit(OrderGroupChanged(order_group_id, account_id, "deleted", group.contracts_limit_centicontracts))
        elif change == "limit":
            self._check_group_limit(contracts_limit_centicontracts)
            group.contracts_limit_centicontracts = contracts_limit_centicontracts
            self.scope.emit(OrderGroupChanged(order_group_id, account_id, "limit_updated", contracts_limit_centicontracts))
        else:
            raise Rejected(RejectCode.INVALID_PARAMETERS, "change must be reset, trigger, delete or limit")
        return group

    def _trigger(self, group: OrderGroup) -> None:
        group.triggered = True
        self._cancel_group_orders(group)
        self.scope.emit(OrderGroupChanged(group.order_group_id, group.account_id, "triggered", group.contracts_limit_centicontracts))

    def _cancel_group_orders(self, group: OrderGroup) -> None:
        for order_id in list(group.order_ids):
            order = self.orders.get(order_id)
            if order is not None:
                self.close(order, CANCELED, REASON_ORDER_GROUP)

    def _record_group_fill(self, group: OrderGroup, count_centicontracts: int) -> None:
        now = self.scope.now_ms
        group.prune(now)
        group.record(now, count_centicontracts)
        if group.window_total_centicontracts >= group.contracts_limit_centicontracts and not group.triggered:
            self._trigger(group)

    # --- queries --------------------------------------------------------------------------------

    def queue_position(self, order_id: int) -> int:
        """Contracts ahead of an open order at its price level."""
        order = self.orders.get(order_id)
        if order is None or order.level is None:
            raise naming(RejectCode.ORDER_NOT_FOUND, "no open order ", Subject.ORDER, order_id)
        ahead = 0
        node = order.level.head
        while node is not None and node is not order:
            ahead += node.remaining_centicontracts
            node = node.next
        return ahead


def _progress(order: Order, count: int, price: int, net_fee: int, is_taker: bool, now_ms: int) -> None:
    own_price = price if order.is_bid else PRICE_ONE_DOLLAR_CENTICENTS - price
    order.remaining_centicontracts -= count
    order.filled_centicontracts += count
    order.updated_ms = now_ms
    if is_taker:
        order.taker_fill_cost_microdollars += own_price * count
        order.taker_fees_microdollars += net_fee
        order.taker_filled_centicontracts += count
    else:
        order.maker_fill_cost_microdollars += own_price * count
        order.maker_fees_microdollars += net_fee


def _cost_to_fill(opposite: BookSide, is_bid: bool, count: int) -> int:
    """What buying `count` from the best of the opposite side costs, in the buyer's own frame."""
    cost = 0
    left = count
    prices = reversed(opposite.prices) if opposite.is_bid else iter(opposite.prices)
    for price in prices:
        take = opposite.levels[price].total_centicontracts
        if take > left:
            take = left
        own = price if is_bid else PRICE_ONE_DOLLAR_CENTICENTS - price
        cost += own * take
        left -= take
        if left == 0:
            break
    return cost
