"""The history part of the read model: SQL tables of everything that happened, written from the events
in the same transaction as the journal batch that produced them (so history is never ahead of or
behind the journal), and rebuilt from the journal if it is missing.

Tables: fills (one row per side of a trade), trades, orders (closed orders: open ones are live),
settlements, money (deposits and withdrawals), subaccount transfers, one-minute candles (trade prices, best bid and
ask, volume, open interest) from which 60- and 1440-minute candles are aggregated, and every RFQ, quote and
block-trade proposal in its latest state (readmodel/communications.py).

Flags (is_bid, is_taker, post_only, ...) are SMALLINT 0/1, not BOOLEAN: SQLite stores a bool as the
integer anyway, but binds a Python bool only after looking for an adapter (Python's sqlite3 checks
exact int, str and float and adapts everything else): five flags made an order row cost 2.2 us to
bind instead of 1.2, on the journal writer's thread, holding the GIL. Readers take them with bool().
HISTORY_VERSION names this layout; a store holding another is dropped and rebuilt from the journal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from predictex.core import events as ev
from predictex.core.orders import Action, CloseReason, OrderStatus, TimeInForce
from predictex.journal.base import JournalStore, TableWrite
from predictex.readmodel.communications import COMMUNICATIONS_SCHEMA, COMMUNICATIONS_TABLES, CommunicationsRows
from predictex.readmodel.depth import DepthBook

HISTORY_TABLES = (
    "fills", "trades", "orders", "settlements", "money", "candles", "subaccount_transfers", "settlement_sides",
    *COMMUNICATIONS_TABLES,
)
HISTORY_VERSION = "4"  # 1: flags as BOOLEAN; 2: trades without is_block_trade; 3: without the communications tables
MINUTE_MS = 60_000

HISTORY_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS fills (
        trade_id BIGINT NOT NULL, is_taker SMALLINT NOT NULL, seq BIGINT NOT NULL, time_ms BIGINT NOT NULL,
        account_id BIGINT NOT NULL, order_id BIGINT NOT NULL, ticker TEXT NOT NULL, is_bid SMALLINT NOT NULL,
        price_centicents BIGINT NOT NULL, count_centicontracts BIGINT NOT NULL, fee_microdollars BIGINT NOT NULL,
        cash_delta_microdollars BIGINT NOT NULL, position_after_centicontracts BIGINT NOT NULL,
        PRIMARY KEY (trade_id, is_taker))""",
    "CREATE INDEX IF NOT EXISTS fills_by_account ON fills (account_id, trade_id)",
    """CREATE TABLE IF NOT EXISTS trades (
        trade_id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, time_ms BIGINT NOT NULL, ticker TEXT NOT NULL,
        price_centicents BIGINT NOT NULL, count_centicontracts BIGINT NOT NULL, taker_is_bid SMALLINT NOT NULL,
        is_block_trade SMALLINT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS trades_by_ticker ON trades (ticker, trade_id)",
    """CREATE TABLE IF NOT EXISTS orders (
        order_id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, account_id BIGINT NOT NULL, ticker TEXT NOT NULL,
        status TEXT NOT NULL, close_reason TEXT NOT NULL, reduced_by_centicontracts BIGINT NOT NULL,
        is_bid SMALLINT NOT NULL, price_centicents BIGINT NOT NULL, initial_count_centicontracts BIGINT NOT NULL,
        filled_centicontracts BIGINT NOT NULL, time_in_force TEXT NOT NULL, expiration_ms BIGINT NOT NULL,
        post_only SMALLINT NOT NULL, reduce_only SMALLINT NOT NULL, self_trade_prevention TEXT NOT NULL,
        order_type TEXT NOT NULL, cancel_on_pause SMALLINT NOT NULL, client_order_id TEXT NOT NULL,
        order_group_id BIGINT NOT NULL, action TEXT NOT NULL, created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL,
        taker_fill_cost_microdollars BIGINT NOT NULL, maker_fill_cost_microdollars BIGINT NOT NULL,
        taker_fees_microdollars BIGINT NOT NULL, maker_fees_microdollars BIGINT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS orders_by_account ON orders (account_id, created_ms, order_id)",
    """CREATE TABLE IF NOT EXISTS settlements (
        account_id BIGINT NOT NULL, ticker TEXT NOT NULL, seq BIGINT NOT NULL, time_ms BIGINT NOT NULL,
        result TEXT NOT NULL, position_centicontracts BIGINT NOT NULL, position_cost_microdollars BIGINT NOT NULL,
        payout_microdollars BIGINT NOT NULL, fees_paid_microdollars BIGINT NOT NULL, rounding_microdollars BIGINT NOT NULL,
        PRIMARY KEY (account_id, ticker))""",
    """CREATE TABLE IF NOT EXISTS money (
        seq BIGINT NOT NULL, position INTEGER NOT NULL, time_ms BIGINT NOT NULL, account_id BIGINT NOT NULL,
        kind TEXT NOT NULL, withdrawal_id BIGINT NOT NULL, amount_microdollars BIGINT NOT NULL, status TEXT NOT NULL,
        reference TEXT NOT NULL, PRIMARY KEY (seq, position))""",
    "CREATE INDEX IF NOT EXISTS money_by_account ON money (account_id, seq)",
    # added beside layout 2 without a new version: stores written before it held no transfers to list
    """CREATE TABLE IF NOT EXISTS subaccount_transfers (
        transfer_id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, time_ms BIGINT NOT NULL, account_id BIGINT NOT NULL,
        from_subaccount INTEGER NOT NULL, to_subaccount INTEGER NOT NULL, amount_microdollars BIGINT NOT NULL,
        client_transfer_id TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS subaccount_transfers_by_account ON subaccount_transfers (account_id, transfer_id)",
    # beside layout 4 without a new version, as the transfers: the two sides an account without netting
    # held when a market settled (its settlements row gives their difference and summed cost)
    """CREATE TABLE IF NOT EXISTS settlement_sides (
        account_id BIGINT NOT NULL, ticker TEXT NOT NULL, yes_centicontracts BIGINT NOT NULL,
        no_centicontracts BIGINT NOT NULL, yes_cost_microdollars BIGINT NOT NULL, no_cost_microdollars BIGINT NOT NULL,
        PRIMARY KEY (account_id, ticker))""",
    """CREATE TABLE IF NOT EXISTS candles (
        ticker TEXT NOT NULL, minute_ms BIGINT NOT NULL,
        price_open BIGINT NOT NULL, price_high BIGINT NOT NULL, price_low BIGINT NOT NULL, price_close BIGINT NOT NULL,
        price_sum_microdollars BIGINT NOT NULL, volume_centicontracts BIGINT NOT NULL,
        bid_open BIGINT NOT NULL, bid_high BIGINT NOT NULL, bid_low BIGINT NOT NULL, bid_close BIGINT NOT NULL,
        ask_open BIGINT NOT NULL, ask_high BIGINT NOT NULL, ask_low BIGINT NOT NULL, ask_close BIGINT NOT NULL,
        open_interest_centicontracts BIGINT NOT NULL,
        PRIMARY KEY (ticker, minute_ms))""",
    *COMMUNICATIONS_SCHEMA,
)

_FILL_COLUMNS = (
    "trade_id", "is_taker", "seq", "time_ms", "account_id", "order_id", "ticker", "is_bid", "price_centicents",
    "count_centicontracts", "fee_microdollars", "cash_delta_microdollars", "position_after_centicontracts",
)
_TRADE_COLUMNS = (
    "trade_id", "seq", "time_ms", "ticker", "price_centicents", "count_centicontracts", "taker_is_bid", "is_block_trade",
)
ORDER_COLUMNS = (
    "order_id", "seq", "account_id", "ticker", "status", "close_reason", "reduced_by_centicontracts", "is_bid",
    "price_centicents", "initial_count_centicontracts", "filled_centicontracts", "time_in_force", "expiration_ms",
    "post_only", "reduce_only", "self_trade_prevention", "order_type", "cancel_on_pause", "client_order_id",
    "order_group_id", "action", "created_ms", "updated_ms", "taker_fill_cost_microdollars",
    "maker_fill_cost_microdollars", "taker_fees_microdollars", "maker_fees_microdollars",
)
_SETTLEMENT_COLUMNS = (
    "account_id", "ticker", "seq", "time_ms", "result", "position_centicontracts", "position_cost_microdollars",
    "payout_microdollars", "fees_paid_microdollars", "rounding_microdollars",
)
SETTLEMENT_SIDES_COLUMNS = (
    "account_id", "ticker", "yes_centicontracts", "no_centicontracts", "yes_cost_microdollars", "no_cost_microdollars",
)
SUBACCOUNT_TRANSFER_COLUMNS = (
    "transfer_id", "seq", "time_ms", "account_id", "from_subaccount", "to_subaccount", "amount_microdollars",
    "client_transfer_id",
)
_MONEY_COLUMNS = ("seq", "position", "time_ms", "account_id", "kind", "withdrawal_id", "amount_microdollars", "status", "reference")
CANDLE_COLUMNS = (
    "ticker", "minute_ms", "price_open", "price_high", "price_low", "price_close", "price_sum_microdollars",
    "volume_centicontracts", "bid_open", "bid_high", "bid_low", "bid_close", "ask_open", "ask_high", "ask_low",
    "ask_close", "open_interest_centicontracts",
)


class Candle:
    """One market's one-minute candle being built. Prices are 0 until something happened."""

    def __init__(self, bid: int, ask: int, open_interest: int) -> None:
        self.price_open = self.price_high = self.price_low = self.price_close = 0
        self.price_sum_microdollars = 0
        self.volume_centicontracts = 0
        self.bid_open = self.bid_high = self.bid_low = self.bid_close = bid
        self.ask_open = self.ask_high = self.ask_low = self.ask_close = ask
        self.open_interest_centicontracts = open_interest

    def trade(self, price: int, count: int) -> None:
        if self.volume_centicontracts == 0:
            self.price_open = self.price_high = self.price_low = price
        self.price_high = max(self.price_high, price)
        self.price_low = min(self.price_low, price)
        self.price_close = price
        self.price_sum_microdollars += price * count
        self.volume_centicontracts += count

    def quote(self, bid: int, ask: int) -> None:
        self.bid_high = max(self.bid_high, bid)
        self.bid_low = min(self.bid_low, bid)
        self.bid_close = bid
        self.ask_high = max(self.ask_high, ask)
        self.ask_low = min(self.ask_low, ask)
        self.ask_close = ask

    def row(self, ticker: str, minute_ms: int) -> tuple[Any, ...]:
        """In CANDLE_COLUMNS order."""
        return (
            ticker, minute_ms, self.price_open, self.price_high, self.price_low, self.price_close,
            self.price_sum_microdollars, self.volume_centicontracts, self.bid_open, self.bid_high, self.bid_low,
            self.bid_close, self.ask_open, self.ask_high, self.ask_low, self.ask_close, self.open_interest_centicontracts,
        )

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Candle:
        """From a row in CANDLE_COLUMNS order."""
        candle = cls(0, 0, 0)
        (_, _, candle.price_open, candle.price_high, candle.price_low, candle.price_close, candle.price_sum_microdollars,
         candle.volume_centicontracts, candle.bid_open, candle.bid_high, candle.bid_low, candle.bid_close, candle.ask_open,
         candle.ask_high, candle.ask_low, candle.ask_close, candle.open_interest_centicontracts) = row
        return candle


class _MarketTape:
    """What the projector tracks per market to build candles: its depth, open interest and the candle
    of the current minute."""

    __slots__ = ("candle", "depth", "minute_ms", "open_interest")

    def __init__(self) -> None:
        self.depth = DepthBook()
        self.open_interest = 0
        self.minute_ms = -1
        self.candle: Candle | None = None

    def candle_at(self, minute_ms: int) -> Candle:
        if self.candle is None or minute_ms != self.minute_ms:
            self.candle = Candle(self.depth.best_bid, self.depth.best_ask, self.open_interest)
            self.minute_ms = minute_ms
        return self.candle


class HistoryProjector:
    """Events -> history rows. Runs on the journal writer thread, one batch at a time, in order."""

    def __init__(self) -> None:
        self.tapes: dict[str, _MarketTape] = {}
        self.positions: dict[tuple[int, str], int] = {}
        self.communications = CommunicationsRows()
        self.hedged: dict[tuple[int, str], int] = {}  # YES/NO pairs held apart (netting off), where any

    def prime(
        self, books: Iterable[tuple[str, dict[int, int], dict[int, int], int]], positions: dict[tuple[int, str], int],
        last_candles: Iterable[tuple[Any, ...]], store: JournalStore, hedged: dict[tuple[int, str], int] | None = None,
    ) -> None:
        """Start from the current books, open interest, positions, each market's latest candle and the
        open RFQs, quotes and proposals (at start-up), so the next batch continues exactly where the
        history left off."""
        self.communications.prime(store)
        for ticker, bids, asks, open_interest in books:
            tape = self._tape(ticker)
            for price, size in bids.items():
                tape.depth.set_level(True, price, size)
            for price, size in asks.items():
                tape.depth.set_level(False, price, size)
            tape.open_interest = open_interest
        self.positions = dict(positions)
        self.hedged = dict(hedged or {})
        for row in last_candles:
            tape = self._tape(row[0])
            tape.minute_ms = row[1]
            tape.candle = Candle.from_row(row)

    def writes(self, entries: Sequence[Any]) -> list[TableWrite]:
        """Rows for a batch of the sequencer's entries (each has seq, time_ms and outcome.events)."""
        return self.project([(entry.seq, entry.time_ms, entry.outcome.events) for entry in entries])

    def project(self, applied: Sequence[tuple[int, int, list[ev.Event]]]) -> list[TableWrite]:
        """Rows for commands applied in order: (seq, time_ms, events) each."""
        fills: list[tuple[Any, ...]] = []
        trades: list[tuple[Any, ...]] = []
        orders: list[tuple[Any, ...]] = []
        settlements: list[tuple[Any, ...]] = []
        money: list[tuple[Any, ...]] = []
        candles: dict[tuple[str, int], Candle] = {}
        moved: list[tuple[Any, ...]] = []
        communications: dict[tuple[str, int], tuple[Any, ...]] = {}
        sides: list[tuple[Any, ...]] = []
        for seq, time_ms, events in applied:
            self._project(seq, time_ms, events, fills, trades, orders, settlements, money, candles, moved, communications, sides)
        last_seq = applied[-1][0] if applied else 0
        return [
            TableWrite("fills", _FILL_COLUMNS, fills),
            TableWrite("trades", _TRADE_COLUMNS, trades),
            TableWrite("orders", ORDER_COLUMNS, orders, key=("order_id",)),
            TableWrite("settlements", _SETTLEMENT_COLUMNS, settlements, key=("account_id", "ticker")),
            TableWrite("money", _MONEY_COLUMNS, money),
            TableWrite("subaccount_transfers", SUBACCOUNT_TRANSFER_COLUMNS, moved),
            TableWrite("settlement_sides", SETTLEMENT_SIDES_COLUMNS, sides, key=("account_id", "ticker")),
            TableWrite("candles", CANDLE_COLUMNS, [c.row(t, m) for (t, m), c in candles.items()], key=("ticker", "minute_ms")),
            *CommunicationsRows.writes(communications),
            TableWrite("meta", ("key", "value"), [("history_seq", str(last_seq))] if applied else [], key=("key",)),
        ]

    def _project(
        self, seq: int, time_ms: int, events: list[ev.Event], fills: list[tuple[Any, ...]], trades: list[tuple[Any, ...]],
        orders: list[tuple[Any, ...]], settlements: list[tuple[Any, ...]], money: list[tuple[Any, ...]],
        candles: dict[tuple[str, int], Candle], moved: list[tuple[Any, ...]],
        communications: dict[tuple[str, int], tuple[Any, ...]], sides: list[tuple[Any, ...]],
    ) -> None:
        minute_ms = time_ms - time_ms % MINUTE_MS
        quoted: set[str] = set()
        off_book = 0  # the trade an OffBookTrade just announced (an RFQ's or a block trade's)
        for position, event in enumerate(events):
            if isinstance(event, ev.BookChanged):
                tape = self._tape(event.ticker)
                tape.depth.set_level(event.is_bid, event.price_centicents, event.size_after_centicontracts)
                quoted.add(event.ticker)
            elif isinstance(event, ev.Trade):
                _trade_rows(seq, time_ms, event, fills, trades, event.trade_id == off_book)
                candle = self._candle(event.ticker, minute_ms, candles)
                candle.trade(event.price_centicents, event.count_centicontracts)
                if event.trade_id == off_book:
                    self.communications.trade(event)
            elif isinstance(event, ev.OrderClosed):
                orders.append(_order_row(seq, time_ms, event))
            elif isinstance(event, ev.PositionChanged):
                self._open_interest(event, minute_ms, candles)
            elif isinstance(event, ev.PositionSides):
                self._hedged(event, minute_ms, candles)
            elif isinstance(event, ev.SidesSettled):
                sides.append((event.account_id, event.ticker, event.yes_centicontracts, event.no_centicontracts,
                              event.yes_cost_microdollars, event.no_cost_microdollars))
            elif isinstance(event, ev.PositionSettled):
                settlements.append((
                    event.account_id, event.ticker, seq, time_ms, event.result, event.position_centicontracts,
                    event.position_cost_microdollars, event.payout_microdollars, event.fees_paid_microdollars,
                    event.rounding_microdollars,
                ))
            elif isinstance(event, ev.Deposited):
                money.append((seq, position, time_ms, event.account_id, "deposit", 0, event.amount_microdollars, "completed", event.reference))
            elif isinstance(event, ev.WithdrawalChanged):
                money.append((seq, position, time_ms, event.account_id, "withdrawal", event.withdrawal_id,
                              event.amount_microdollars, event.status, ""))
            elif isinstance(event, ev.MarketCreated):
                self._tape(event.ticker)
            elif isinstance(event, ev.OffBookTrade):
                off_book = event.trade_id
                self.communications.event(seq, event, time_ms, communications)
            elif isinstance(event, (ev.RfqChanged, ev.QuoteChanged, ev.BlockTradeChanged)):
                self.communications.event(seq, event, time_ms, communications)
            elif isinstance(event, ev.SubaccountTransferred):
                moved.append((
                    event.transfer_id, seq, time_ms, event.account_id, event.from_subaccount, event.to_subaccount,
                    event.amount_microdollars, event.client_transfer_id,
                ))
        for ticker in quoted:
            depth = self.tapes[ticker].depth
            self._candle(ticker, minute_ms, candles).quote(depth.best_bid, depth.best_ask)

    def _tape(self, ticker: str) -> _MarketTape:
        tape = self.tapes.get(ticker)
        if tape is None:
            tape = self.tapes[ticker] = _MarketTape()
        return tape

    def _candle(self, ticker: str, minute_ms: int, candles: dict[tuple[str, int], Candle]) -> Candle:
        candle = self._tape(ticker).candle_at(minute_ms)
        candles[(ticker, minute_ms)] = candle
        return candle

    def _open_interest(self, event: ev.PositionChanged, minute_ms: int, candles: dict[tuple[str, int], Candle]) -> None:
        key = (event.account_id, event.ticker)
        before = self.positions.get(key, 0)
        self.positions[key] = event.position_centicontracts
        tape = self._tape(event.ticker)
        tape.open_interest += max(event.position_centicontracts, 0) - max(before, 0)
        candle = self._candle(event.ticker, minute_ms, candles)
        candle.open_interest_centicontracts = tape.open_interest


    def _hedged(self, event: ev.PositionSides, minute_ms: int, candles: dict[tuple[str, int], Candle]) -> None:
        """Pairs held apart are open interest beside the difference's YES."""
        key = (event.account_id, event.ticker)
        hedged = min(event.yes_centicontracts, event.no_centicontracts)
        before = self.hedged.pop(key, 0)
        if hedged:
            self.hedged[key] = hedged
        if hedged != before:
            tape = self._tape(event.ticker)
            tape.open_interest += hedged - before
            self._candle(event.ticker, minute_ms, candles).open_interest_centicontracts = tape.open_interest


def _trade_rows(seq: int, time_ms: int, event: ev.Trade, fills: list[tuple[Any, ...]], trades: list[tuple[Any, ...]],
                is_block_trade: bool) -> None:
    taker_is_bid = int(event.taker_is_bid)
    trades.append((event.trade_id, seq, time_ms, event.ticker, event.price_centicents, event.count_centicontracts, taker_is_bid,
                   int(is_block_trade)))
    taker_fee = event.taker_fee_microdollars + event.taker_rounding_microdollars - event.taker_rebate_microdollars
    maker_fee = event.maker_fee_microdollars + event.maker_rounding_microdollars - event.maker_rebate_microdollars
    fills.append((
        event.trade_id, 1, seq, time_ms, event.taker_account_id, event.taker_order_id, event.ticker, taker_is_bid,
        event.price_centicents, event.count_centicontracts, taker_fee, event.taker_cash_delta_microdollars,
        event.taker_position_centicontracts,
    ))
    fills.append((
        event.trade_id, 0, seq, time_ms, event.maker_account_id, event.maker_order_id, event.ticker, 1 - taker_is_bid,
        event.price_centicents, event.count_centicontracts, maker_fee, event.maker_cash_delta_microdollars,
        event.maker_position_centicontracts,
    ))


def _order_row(seq: int, time_ms: int, e: ev.OrderClosed) -> tuple[Any, ...]:
    text = _TEXT
    return (
        e.order_id, seq, e.account_id, e.ticker, text[e.status], text[e.reason], e.reduced_by_centicontracts, int(e.is_bid),
        e.price_centicents, e.initial_count_centicontracts, e.filled_centicontracts, text[e.time_in_force], e.expiration_ms,
        int(e.post_only), int(e.reduce_only), e.self_trade_prevention, e.order_type, int(e.cancel_on_pause), e.client_order_id,
        e.order_group_id, text[e.action], e.created_ms, time_ms, e.taker_fill_cost_microdollars, e.maker_fill_cost_microdollars,
        e.taker_fees_microdollars, e.maker_fees_microdollars,
    )


# An order's enums as the plain strings of their values: SQLite binds an exact str at once, a str
# subclass (an enum member) only after looking for an adapter (about 0.9 us each; see the flags above).
_TEXT: dict[str, str] = {
    member: member.value for kind in (OrderStatus, CloseReason, TimeInForce, Action) for member in kind
}
