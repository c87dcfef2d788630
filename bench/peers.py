"""One interface over predictex and four matching engines from PyPI, so that the differential test
(tests/sim/test_differential.py) and the benchmark (bench/engine.py) can feed all of them the same
stream of orders and compare what comes out.

The interface (`Matcher`), in the stream's own units: a price is an integer number of ticks (cents
in the differential test), a count is whole contracts, an order id is the caller's integer.

    add(order_id, is_bid, price, count) -> fills      a good-till-canceled limit order
    ioc(order_id, is_bid, price, count) -> fills      immediate-or-cancel: what does not fill is dropped
    cancel(order_id) -> bool                          True if a resting order was removed
    move(order_id, price) -> fills                    new price, same remaining count

A fill is `(maker_order_id, taker_order_id, price, count)` and fills come in execution order. Every
adapter gives the same semantics, which are predictex's: price-time priority, trades at the resting
(maker) order's price; a move leaves the book and re-enters at the back of its new price level,
trading first (as the taker, under the same order id) if it now crosses; a move to the price the
order already has changes nothing (predictex refuses it as `invalid_amend`; the libraries would
re-queue it). Cancelling or moving an order that is no longer resting (filled, cancelled, unknown)
does nothing and returns False / [].

Self-trade prevention differs between the libraries (liquibook and lightmatchingengine have none,
obook cancels the newest order, pyclob skips same-account makers, predictex cancels the taker by
default), so the adapters place every bid from bid-only accounts and every ask from ask-only
accounts: no order can ever meet one of its own account's, and STP never fires.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Protocol

from predictex.core import commands as c
from predictex.core.engine import Engine, Outcome
from predictex.core.events import Trade

Fill = tuple[int, int, int, int]  # (maker_order_id, taker_order_id, price, count)

START_MS = 1_700_000_000_000
_FAR_FUTURE_MS = START_MS + 10 * 365 * 24 * 3600 * 1000
_CENTICONTRACTS_PER_CONTRACT = 100


class Matcher(Protocol):
    name: str

    def add(self, order_id: int, is_bid: bool, price: int, count: int) -> list[Fill]: ...

    def ioc(self, order_id: int, is_bid: bool, price: int, count: int) -> list[Fill]: ...

    def cancel(self, order_id: int) -> bool: ...

    def move(self, order_id: int, price: int) -> list[Fill]: ...


# --- predictex ------------------------------------------------------------------------------------


class PredictexMatcher:
    """The real predictex `Engine`, driven only through commands (CreateOrder, CancelOrder,
    AmendOrder), with validation, collateral, fees and events as in production.

    One market on a fresh engine, opened at creation. `tick_centicents` converts stream prices (ticks)
    to YES prices: 100 on the cent grid (`linear_cent`), 10 on the tenth-of-a-cent grid (`deci_cent`).
    Counts are whole contracts (x100 centicontracts). Bids come from `accounts_per_side` bid-only
    accounts and asks from as many ask-only ones, chosen by order id; each gets a deposit large
    enough that collateral never refuses an order. A move is `AmendOrder` with a new price and the
    total count left as is, so the remaining count is kept and priority is lost. Engine order ids
    are mapped to the caller's; with `record` set, every command applied after setup is kept in
    `commands`, so a fresh matcher (same arguments) plus those commands reproduces the run exactly.
    """

    name = "predictex"

    def __init__(
        self, *, tick_centicents: int = 100, price_level_structure: str = "linear_cent", accounts_per_side: int = 1,
        deposit_microdollars: int = 100_000_000 * 1_000_000, fee_type: str = "quadratic", record: bool = False,
    ) -> None:
        self.engine = Engine()
        self.now_ms = START_MS
        self.ticker = "BENCH-M"
        self.tick_centicents = tick_centicents
        self.record = record
        self.commands: list[c.Command] = []
        self._open_market(price_level_structure, fee_type)
        self.bid_accounts = [self._open_account(deposit_microdollars) for _ in range(accounts_per_side)]
        self.ask_accounts = [self._open_account(deposit_microdollars) for _ in range(accounts_per_side)]
        self._engine_ids: dict[int, tuple[int, int]] = {}  # our order id -> (engine order id, account id)
        self._our_ids: dict[int, int] = {}  # engine order id -> our order id

    # --- setup ------------------------------------------------------------------------------------

    def _setup(self, command: c.Command) -> Outcome:
        outcome = self.engine.apply(command, self.now_ms)
        if outcome.reject is not None:
            raise RuntimeError(f"setup command {command!r} refused: {outcome.reject}")
        return outcome

    def _open_market(self, price_level_structure: str, fee_type: str) -> None:
        self._setup(c.CreateSeries("BENCH", "benchmark series", fee_type=fee_type))
        self._setup(c.CreateEvent("BENCH-E", "BENCH", "benchmark event"))
        self._setup(c.CreateMarket(
            self.ticker, "BENCH-E", "benchmark market", START_MS, _FAR_FUTURE_MS,
            price_level_structure=price_level_structure,
        ))

    def _open_account(self, deposit_microdollars: int) -> int:
        account_id: int = self._setup(c.OpenAccount()).value
        self._setup(c.Deposit(account_id, deposit_microdollars))
        return account_id

    # --- commands ---------------------------------------------------------------------------------

    def account_for(self, order_id: int, is_bid: bool) -> int:
        accounts = self.bid_accounts if is_bid else self.ask_accounts
        return accounts[order_id % len(accounts)]

    def apply(self, command: c.Command) -> Outcome:
        if self.record:
            self.commands.append(command)
        return self.engine.apply(command, self.now_ms)

    def _fills(self, outcome: Outcome) -> list[Fill]:
        ours = self._our_ids
        tick = self.tick_centicents
        return [
            (ours[e.maker_order_id], ours[e.taker_order_id], e.price_centicents // tick,
             e.count_centicontracts // _CENTICONTRACTS_PER_CONTRACT)
            for e in outcome.events if type(e) is Trade
        ]

    def _create(self, order_id: int, is_bid: bool, price: int, count: int, time_in_force: str) -> list[Fill]:
        account_id = self.account_for(order_id, is_bid)
        outcome = self.apply(c.CreateOrder(
            account_id, self.ticker, is_bid, price * self.tick_centicents, count * _CENTICONTRACTS_PER_CONTRACT,
            time_in_force=time_in_force,
        ))
        if outcome.reject is not None:
            raise RuntimeError(f"order {order_id} refused: {outcome.reject}")
        self._engine_ids[order_id] = (outcome.value, account_id)
        self._our_ids[outcome.value] = order_id
        return self._fills(outcome)

    def add(self, order_id: int, is_bid: bool, price: int, count: int) -> list[Fill]:
        return self._create(order_id, is_bid, price, count, "good_till_canceled")

    def ioc(self, order_id: int, is_bid: bool, price: int, count: int) -> list[Fill]:
        return self._create(order_id, is_bid, price, count, "immediate_or_cancel")

    def cancel(self, order_id: int) -> bool:
        known = self._engine_ids.get(order_id)
        if known is None:
            return False
        return self.apply(c.CancelOrder(known[1], known[0])).reject is None

    def move(self, order_id: int, price: int) -> list[Fill]:
        known = self._engine_ids.get(order_id)
        if known is None:
            return []
        outcome = self.apply(c.AmendOrder(known[1], known[0], price_centicents=price * self.tick_centicents))
        return self._fills(outcome) if outcome.reject is None else []

    # --- reading (for stream generators) ----------------------------------------------------------

    def resting(self, order_id: int) -> tuple[bool, int, int] | None:
        """(is_bid, price, remaining count) of a resting order, None if it is not resting."""
        known = self._engine_ids.get(order_id)
        order = self.engine.trading.orders.get(known[0]) if known is not None else None
        if order is None or order.level is None:
            return None
        return order.is_bid, order.price_centicents // self.tick_centicents, order.remaining_centicontracts // _CENTICONTRACTS_PER_CONTRACT

    def best_prices(self) -> tuple[int, int]:
        """(best bid, best ask) in ticks, 0 for an empty side."""
        book = self.engine.markets.markets[self.ticker].book
        return book.bids.best_price() // self.tick_centicents, book.asks.best_price() // self.tick_centicents


# --- liquibook ------------------------------------------------------------------------------------


def _liquibook_listener(liquibook: Any, fills: list[Fill], our_ids: dict[int, int]) -> Any:
    class Listener(liquibook.OrderListener):  # type: ignore[misc]
        # Every OrderListener method is pure virtual in C++: each must exist here, or the SWIG
        # director raises on the first callback of that kind.
        def on_accept(self, order: Any) -> None:
            pass

        def on_reject(self, order: Any, reason: str) -> None:
            pass

        def on_trigger_stop(self, order: Any) -> None:
            pass

        def on_cancel(self, order: Any) -> None:
            pass

        def on_cancel_reject(self, order: Any, reason: str) -> None:
            pass

        def on_replace(self, order: Any, size_delta: int, new_price: int) -> None:
            # The book never updates the SimpleOrder (the binding has no SimpleOrderBook) yet later
            # reads its price to find it and as the trade price when it rests: apply the change here,
            # before the fill callbacks of the re-match.
            order.replace(size_delta, new_price)

        def on_replace_reject(self, order: Any, reason: str) -> None:
            pass

        def on_fill(self, inbound: Any, matched: Any, count: int, price: int) -> None:
            # inbound is the taker, matched the resting maker (the package README names them the
            # other way round)
            fills.append((our_ids[matched.order_id_], our_ids[inbound.order_id_], price, count))

    return Listener()


class LiquibookMatcher:
    """liquibook 2.0.1: SWIG bindings over the C++ liquibook (`OrderBook<shared_ptr<SimpleOrder>>`).

    Quirks: use `liquibook_book_OrderBook` (the plain matcher), not `DepthOrderBook`; fills arrive
    through the listener's `on_fill(inbound, matched, qty, price)` (inbound = taker). The book never
    updates a `SimpleOrder` itself: after `add` the order must be `accept()`ed, or its own
    `replace()` ignores changes, and `on_replace` must call `order.replace(delta, new_price)`. The
    `SimpleOrder` constructor's `conditions` argument is ignored: IOC works only as
    `book.add(order, oc_immediate_or_cancel)`. `replace(order, size_delta, new_price)` takes a delta
    of the open count and always re-queues the order at the back. `cancel` returns nothing (the
    outcome comes through `on_cancel` / `on_cancel_reject`). `SimpleOrder.order_id_` comes from a
    process-wide counter, so the adapter maps it to the caller's id, and it tracks open counts itself
    to know which orders still rest.
    """

    name = "liquibook"

    def __init__(self) -> None:
        import liquibook

        self._liquibook = liquibook
        self._book = liquibook.liquibook_book_OrderBook()
        self._fills: list[Fill] = []
        self._our_ids: dict[int, int] = {}  # SimpleOrder.order_id_ -> our order id
        self._listener = _liquibook_listener(liquibook, self._fills, self._our_ids)
        self._book.set_order_listener(self._listener)
        self._resting: dict[int, list[Any]] = {}  # our id -> [SimpleOrder, open count]
        self._ioc = liquibook.oc_immediate_or_cancel

    def _take_fills(self) -> list[Fill]:
        fills = self._fills
        if not fills:
            return []
        taken = fills[:]
        fills.clear()
        resting = self._resting
        for maker, _taker, _price, count in taken:
            record = resting[maker]
            record[1] -= count
            if record[1] == 0:
                del resting[maker]
        return taken

    def _enter(self, order_id: int, is_bid: bool, price: int, count: int, conditions: int) -> tuple[Any, list[Fill]]:
        order = self._liquibook.SimpleOrder(is_bid, price, count)
        self._our_ids[order.order_id_] = order_id
        self._book.add(order, conditions)
        return order, self._take_fills()

    def add(self, order_id: int, is_bid: bool, price: int, count: int) -> list[Fill]:
        order, fills = self._enter(order_id, is_bid, price, count, 0)
        left = count - sum(fill[3] for fill in fills)
        if left:
            order.accept()
            self._resting[order_id] = [order, left]
        return fills

    def ioc(self, order_id: int, is_bid: bool, price: int, count: int) -> list[Fill]:
        return self._enter(order_id, is_bid, price, count, self._ioc)[1]

    def cancel(self, order_id: int) -> bool:
        record = self._resting.pop(order_id, None)
        if record is None:
            return False
        self._book.cancel(record[0])
        return True

    def move(self, order_id: int, price: int) -> list[Fill]:
        record = self._resting.get(order_id)
        if record is None or record[0].price() == price:
            return []
        del self._resting[order_id]
        self._book.replace(record[0], 0, price)
        fills = self._take_fills()  # the moved order is the taker of every one of them
        left = record[1] - sum(fill[3] for fill in fills)
        if left:
            record[1] = left
            self._resting[order_id] = record
        return fills


# --- obook ----------------------------------------------------------------------------------------


class ObookMatcher:
    """obook 0.1.0: ctypes bindings over a Go engine (C ABI 1).

    Quirks: `Book(max_orders)` sizes the engine up front; `submit` returns the engine's own order id
    and a status, trades come separately from `events()` (which must be drained, or they pile up);
    `replace` is cancel + new order under a new engine id (so it loses priority) and needs the side
    and full new count, returning id 0 if the cancel half was refused; `cancel` needs the owning user.
    Its self-trade prevention cancels the newest order of a user that meets itself (never here: one
    user per side). The adapter tracks each resting order's engine id, side, open count and price.
    """

    name = "obook"

    _BID_USER = 1
    _ASK_USER = 2

    def __init__(self, max_orders: int = 1_000_000) -> None:
        import obook

        self._obook = obook
        self._book = obook.Book(max_orders=max_orders)
        self._our_ids: dict[int, int] = {}  # engine id -> our id
        self._resting: dict[int, list[Any]] = {}  # our id -> [engine id, is_bid, open count, price]
        self._live = (obook.Status.NEW, obook.Status.PARTIALLY_FILLED)

    def _user(self, is_bid: bool) -> int:
        return self._BID_USER if is_bid else self._ASK_USER

    def _take_fills(self) -> list[Fill]:
        ours = self._our_ids
        trade = self._obook.EventKind.TRADE
        fills = [(ours[e.maker_id], ours[e.taker_id], e.price, e.qty) for e in self._book.events() if e.kind == trade]
        resting = self._resting
        for maker, _taker, _price, count in fills:
            record = resting[maker]
            record[2] -= count
            if record[2] == 0:
                del resting[maker]
        return fills

    def _track(self, order_id: int, engine_id: int, status: Any, is_bid: bool, price: int, count: int, fills: list[Fill]) -> None:
        self._our_ids[engine_id] = order_id
        if status == self._obook.Status.REJECTED:
            raise RuntimeError(f"obook refused order {order_id}")
        left = count - sum(fill[3] for fill in fills if fill[1] == order_id)
        if status in self._live and left:
            self._resting[order_id] = [engine_id, is_bid, left, price]

    def _submit(self, order_id: int, is_bid: bool, price: int, count: int, time_in_force: int) -> list[Fill]:
        obook = self._obook
        side = obook.BUY if is_bid else obook.SELL
        result = self._book.submit(user=self._user(is_bid), side=side, price=price, qty=count, tif=time_in_force)
        self._our_ids[result.order_id] = order_id  # before the events name it
        fills = self._take_fills()
        if time_in_force == obook.GTC:
            self._track(order_id, result.order_id, result.status, is_bid, price, count, fills)
        return fills

    def add(self, order_id: int, is_bid: bool, price: int, count: int) -> list[Fill]:
        return self._submit(order_id, is_bid, price, count, self._obook.GTC)

    def ioc(self, order_id: int, is_bid: bool, price: int, count: int) -> list[Fill]:
        return self._submit(order_id, is_bid, price, count, self._obook.IOC)

    def cancel(self, order_id: int) -> bool:
        record = self._resting.pop(order_id, None)
        if record is None:
            return False
        result = self._book.cancel(record[0], user=self._user(record[1]))
        self._book.events()  # drain the CANCELED event
        return bool(result.status == self._obook.Status.CANCELLED)

    def move(self, order_id: int, price: int) -> list[Fill]:
        record = self._resting.get(order_id)
        if record is None or record[3] == price:
            return []
        del self._resting[order_id]
        engine_id, is_bid, count, _ = record
        obook = self._obook
        side = obook.BUY if is_bid else obook.SELL
        result = self._book.replace(engine_id, self._user(is_bid), side, price, count)
        if result.order_id == 0:
            raise RuntimeError(f"obook refused to replace resting order {order_id}")
        self._our_ids[result.order_id] = order_id
        fills = self._take_fills()
        self._track(order_id, result.order_id, result.status, is_bid, price, count, fills)
        return fills


# --- pyclob ---------------------------------------------------------------------------------------


class PyclobMatcher:
    """pyclob 0.1.2: a pure-Python book for binary contracts.

    Quirks: prices are whole cents 1..99 and counts at least 1 (`Order` raises otherwise), so it can
    only join streams on the cent grid; every order needs an `Account` (in a dict passed to each
    call) whose bankroll covers the order's reserve; order ids are strings; cancelling an unknown,
    filled or cancelled order raises `ValueError`. It has no IOC and no replace: IOC is place then
    cancel what rests (nothing can come between), a move is cancel then place again under the same
    id (pyclob keys orders by id, so the new order replaces the dead one). Its self-trade prevention
    skips makers of the taker's own account (never here: one account per side).
    """

    name = "pyclob"

    def __init__(self) -> None:
        import pyclob

        self._pyclob = pyclob
        self._book = pyclob.OrderBook("BENCH-M")
        bankroll_cents = 10**15
        self._accounts = {
            "bids": pyclob.Account("bids", starting_bankroll_c=bankroll_cents),
            "asks": pyclob.Account("asks", starting_bankroll_c=bankroll_cents),
        }
        self._orders: dict[int, Any] = {}  # our id -> its latest pyclob Order
        self._live = (pyclob.OrderStatus.OPEN, pyclob.OrderStatus.PARTIAL)

    def _place(self, order_id: int, is_bid: bool, price: int, count: int) -> tuple[Any, list[Fill]]:
        pyclob = self._pyclob
        order = pyclob.Order(
            account_id="bids" if is_bid else "asks", side=pyclob.Side.BUY if is_bid else pyclob.Side.SELL,
            price=price, qty=count, id=str(order_id),
        )
        fills = self._book.place_order(order, self._accounts)
        self._orders[order_id] = order
        return order, [(int(f.maker_order_id), int(f.taker_order_id), f.price, f.qty) for f in fills]

    def _resting(self, order_id: int) -> Any:
        order = self._orders.get(order_id)
        return order if order is not None and order.status in self._live else None

    def add(self, order_id: int, is_bid: bool, price: int, count: int) -> list[Fill]:
        return self._place(order_id, is_bid, price, count)[1]

    def ioc(self, order_id: int, is_bid: bool, price: int, count: int) -> list[Fill]:
        order, fills = self._place(order_id, is_bid, price, count)
        if order.remaining_qty:
            self._book.cancel_order(order.id, self._accounts)
        return fills

    def cancel(self, order_id: int) -> bool:
        order = self._resting(order_id)
        if order is None:
            return False
        self._book.cancel_order(order.id, self._accounts)
        return True

    def move(self, order_id: int, price: int) -> list[Fill]:
        order = self._resting(order_id)
        if order is None or order.price == price:
            return []
        count = order.remaining_qty  # cancel_order zeroes it
        self._book.cancel_order(order.id, self._accounts)
        return self._place(order_id, order.side is self._pyclob.Side.BUY, price, count)[1]


# --- lightmatchingengine --------------------------------------------------------------------------


class LightMatchingEngineMatcher:
    """lightmatchingengine 2019.1.4: a pure-Python engine of dicts and lists.

    Quirks: `add_order(instrument, price, qty, side)` returns the order and, per price level it
    trades at, one aggregated trade for the taker followed by one per maker (the taker's are
    dropped here); order ids come from the engine's own counter. It has no IOC and no replace: IOC
    is add then cancel what rests, a move is cancel then add again (a new engine id). Filled orders
    are never removed from its id map (the map grows for ever), and `cancel_order` on a filled order
    can fail an assertion, so the adapter tracks which orders still rest. `cancel_order` asserts the
    instrument exists, so the book is created up front. No self-trade prevention.
    """

    name = "lightmatchingengine"

    _INSTRUMENT = "BENCH-M"

    def __init__(self) -> None:
        from lightmatchingengine.lightmatchingengine import LightMatchingEngine, OrderBook, Side

        self._engine = LightMatchingEngine()
        self._engine.order_books[self._INSTRUMENT] = OrderBook()
        self._buy, self._sell = Side.BUY, Side.SELL
        self._our_ids: dict[int, int] = {}  # engine id -> our id
        self._resting: dict[int, Any] = {}  # our id -> the engine's Order

    def _enter(self, order_id: int, is_bid: bool, price: int, count: int) -> tuple[Any, list[Fill]]:
        side = self._buy if is_bid else self._sell
        order, trades = self._engine.add_order(self._INSTRUMENT, price, count, side)
        ours = self._our_ids
        ours[order.order_id] = order_id
        if not trades:
            return order, []
        fills = [(ours[t.order_id], order_id, t.trade_price, t.trade_qty) for t in trades if t.trade_side != side]
        resting = self._resting
        for maker, _taker, _price, _count in fills:
            maker_order = resting.get(maker)
            if maker_order is not None and maker_order.leaves_qty == 0:
                del resting[maker]
        return order, fills

    def add(self, order_id: int, is_bid: bool, price: int, count: int) -> list[Fill]:
        order, fills = self._enter(order_id, is_bid, price, count)
        if order.leaves_qty:
            self._resting[order_id] = order
        return fills

    def ioc(self, order_id: int, is_bid: bool, price: int, count: int) -> list[Fill]:
        order, fills = self._enter(order_id, is_bid, price, count)
        if order.leaves_qty:
            self._engine.cancel_order(order.order_id, self._INSTRUMENT)
        return fills

    def cancel(self, order_id: int) -> bool:
        order = self._resting.pop(order_id, None)
        if order is None:
            return False
        return self._engine.cancel_order(order.order_id, self._INSTRUMENT) is not None

    def move(self, order_id: int, price: int) -> list[Fill]:
        order = self._resting.get(order_id)
        if order is None or order.price == price:
            return []
        del self._resting[order_id]
        count = order.leaves_qty  # cancel_order zeroes it
        self._engine.cancel_order(order.order_id, self._INSTRUMENT)
        return self.add(order_id, order.side == self._buy, price, count)


# --- discovery ------------------------------------------------------------------------------------

PEERS: dict[str, tuple[str, type[Any]]] = {  # name -> (module to import, adapter)
    "liquibook": ("liquibook", LiquibookMatcher),
    "obook": ("obook", ObookMatcher),
    "pyclob": ("pyclob", PyclobMatcher),
    "lightmatchingengine": ("lightmatchingengine", LightMatchingEngineMatcher),
}


def peer_available(name: str) -> bool:
    """Whether a peer's package can be imported here."""
    return importlib.util.find_spec(PEERS[name][0]) is not None
