"""Typed results. Every value that is a price, a count or money is a `Price`, `Count` or `Money`
(exact fixed-point, see units.py); times are aware UTC datetimes. Each object keeps the JSON it came
from in `raw` (not compared, not shown), so a field this SDK does not model is still one lookup away.

Objects read the current wire fields (`*_dollars`, `*_fp`) and fall back to the legacy integers, so
they parse answers from predictex and from Kalshi of every era."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from predictex.client import _wire as w
from predictex.client.errors import ApiError, error_from_response
from predictex.client.units import Count, Money, Price

T = TypeVar("T")
Raw = Mapping[str, Any]


# --- market data ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExchangeStatus:
    exchange_active: bool
    trading_active: bool
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> ExchangeStatus:
        return cls(w.flag(body, "exchange_active"), w.flag(body, "trading_active"), body)


@dataclass(frozen=True)
class Series:
    ticker: str
    title: str
    category: str
    frequency: str
    fee_type: str
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> Series:
        return cls(w.text(body, "ticker"), w.text(body, "title"), w.text(body, "category"), w.text(body, "frequency"),
                   w.text(body, "fee_type"), body)


@dataclass(frozen=True)
class Market:
    ticker: str
    event_ticker: str
    title: str
    status: str
    yes_bid: Price
    yes_ask: Price
    no_bid: Price
    no_ask: Price
    yes_bid_size: Count
    yes_ask_size: Count
    last_price: Price
    volume: Count
    volume_24h: Count
    open_interest: Count
    open_time: dt.datetime | None
    close_time: dt.datetime | None
    result: str
    price_level_structure: str
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> Market:
        return cls(
            w.text(body, "ticker"), w.text(body, "event_ticker"), w.text(body, "title"), w.text(body, "status"),
            w.price(body, "yes_bid"), w.price(body, "yes_ask"), w.price(body, "no_bid"), w.price(body, "no_ask"),
            w.count(body, "yes_bid_size"), w.count(body, "yes_ask_size"), w.price(body, "last_price"),
            w.count(body, "volume"), w.count(body, "volume_24h"), w.count(body, "open_interest"),
            w.time(body.get("open_time")), w.time(body.get("close_time")), w.text(body, "result"),
            w.text(body, "price_level_structure"), body,
        )


@dataclass(frozen=True)
class Event:
    event_ticker: str
    series_ticker: str
    title: str
    sub_title: str
    mutually_exclusive: bool
    markets: tuple[Market, ...]
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw, markets: Any = None) -> Event:
        nested = body.get("markets") if markets is None else markets
        return cls(
            w.text(body, "event_ticker"), w.text(body, "series_ticker"), w.text(body, "title"), w.text(body, "sub_title"),
            w.flag(body, "mutually_exclusive"), tuple(Market.from_wire(m) for m in nested or ()), body,
        )


@dataclass(frozen=True)
class Level:
    price: Price
    count: Count


@dataclass(frozen=True)
class Orderbook:
    """Bids only on each side, ascending by price, best last, as Kalshi sends them: `yes` holds
    YES bids, `no` holds NO bids (at NO prices). A NO bid at p is a YES ask at 1 - p, so the YES asks
    are `asks` (best first). `seq` is the sequence point the book reflects, when the server says."""

    ticker: str
    yes: tuple[Level, ...]
    no: tuple[Level, ...]
    seq: int | None = None

    @classmethod
    def from_wire(cls, ticker: str, body: Raw) -> Orderbook:
        book = body.get("orderbook_fp")
        if isinstance(book, Mapping):
            yes, no = w.levels(book.get("yes_dollars")), w.levels(book.get("no_dollars"))
        else:
            legacy = body.get("orderbook") or {}
            yes, no = w.levels(legacy.get("yes")), w.levels(legacy.get("no"))
        seq = body.get("seq")
        return cls(ticker, tuple(Level(p, c) for p, c in yes), tuple(Level(p, c) for p, c in no),
                   seq if isinstance(seq, int) else None)

    @property
    def best_bid(self) -> Level | None:
        """The best YES bid."""
        return self.yes[-1] if self.yes else None

    @property
    def best_ask(self) -> Level | None:
        """The best YES ask (from the best NO bid)."""
        return self.asks[0] if self.no else None

    @property
    def bids(self) -> tuple[Level, ...]:
        """YES bids, best first."""
        return tuple(reversed(self.yes))

    @property
    def asks(self) -> tuple[Level, ...]:
        """YES asks, best (lowest) first."""
        return tuple(Level(level.price.complement(), level.count) for level in reversed(self.no))

    @property
    def spread(self) -> Price | None:
        bid, ask = self.best_bid, self.best_ask
        return ask.price - bid.price if bid and ask else None


@dataclass(frozen=True)
class Trade:
    trade_id: str
    ticker: str
    count: Count
    yes_price: Price
    no_price: Price
    taker_outcome_side: str
    taker_book_side: str
    created_time: dt.datetime | None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> Trade:
        return cls(
            w.text(body, "trade_id"), w.text(body, "ticker") or w.text(body, "market_ticker"), w.count(body, "count"),
            w.price(body, "yes_price"), w.price(body, "no_price"),
            w.text(body, "taker_outcome_side") or w.text(body, "taker_side"),
            w.text(body, "taker_book_side") or ("bid" if w.text(body, "taker_side") == "yes" else "ask"),
            w.time(body.get("created_time")), body,
        )


@dataclass(frozen=True)
class Candlestick:
    end_period_ts: int
    close: Price | None  # last trade price in the period (None: no trade)
    yes_bid_close: Price
    yes_ask_close: Price
    volume: Count
    open_interest: Count
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> Candlestick:
        price = body.get("price") or {}
        return cls(
            w.integer(body, "end_period_ts"), w.price_or_none(price, "close"), w.price(body.get("yes_bid") or {}, "close"),
            w.price(body.get("yes_ask") or {}, "close"), w.count(body, "volume"), w.count(body, "open_interest"), body,
        )


# --- orders -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Order:
    order_id: str
    client_order_id: str
    ticker: str
    status: str  # resting, canceled, executed
    book_side: str  # bid (buys YES) or ask (sells YES, i.e. buys NO)
    outcome_side: str
    side: str  # legacy: yes / no
    action: str  # legacy: buy / sell
    yes_price: Price
    no_price: Price
    fill_count: Count
    remaining_count: Count
    initial_count: Count
    taker_fill_cost: Money
    maker_fill_cost: Money
    taker_fees: Money
    maker_fees: Money
    created_time: dt.datetime | None
    last_update_time: dt.datetime | None
    expiration_time: dt.datetime | None
    order_group_id: str | None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> Order:
        side, action = w.text(body, "side"), w.text(body, "action")
        book_side = w.text(body, "book_side") or ("bid" if (side == "yes") == (action != "sell") else "ask")
        return cls(
            w.text(body, "order_id"), w.text(body, "client_order_id"), w.text(body, "ticker"), w.text(body, "status"),
            book_side, w.text(body, "outcome_side") or ("yes" if book_side == "bid" else "no"), side, action,
            w.price(body, "yes_price"), w.price(body, "no_price"), w.count(body, "fill_count"), w.count(body, "remaining_count"),
            w.count(body, "initial_count"), w.money(body, "taker_fill_cost"), w.money(body, "maker_fill_cost"),
            w.money(body, "taker_fees"), w.money(body, "maker_fees"), w.time(body.get("created_time")),
            w.time(body.get("last_update_time")), w.time(body.get("expiration_time")), body.get("order_group_id") or None, body,
        )

    @property
    def is_open(self) -> bool:
        return self.status == "resting"


@dataclass(frozen=True)
class OrderAck:
    """The current (V2) answer to a create or amend: how much filled at once and how much rests."""

    order_id: str
    client_order_id: str
    fill_count: Count
    remaining_count: Count
    average_fill_price: Money | None  # per contract, YES price; may carry 6 decimals
    average_fee_paid: Money | None  # per contract
    ts_ms: int
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> OrderAck:
        return cls(
            w.text(body, "order_id"), w.text(body, "client_order_id"), w.count(body, "fill_count"),
            w.count(body, "remaining_count"), w.money_string(body, "average_fill_price"), w.money_string(body, "average_fee_paid"),
            w.integer(body, "ts_ms"), body,
        )

    @classmethod
    def from_order(cls, order: Order) -> OrderAck:
        """What a create would have answered, from the order itself (a retried create that found its
        first attempt had gone through)."""
        return cls(order.order_id, order.client_order_id, order.fill_count, order.remaining_count, None, None, 0, order.raw)


@dataclass(frozen=True)
class CancelAck:
    order_id: str
    client_order_id: str
    reduced_by: Count
    ts_ms: int
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> CancelAck:
        return cls(w.text(body, "order_id"), w.text(body, "client_order_id"), w.count(body, "reduced_by"), w.integer(body, "ts_ms"), body)


@dataclass(frozen=True)
class DecreaseAck:
    order_id: str
    client_order_id: str
    remaining_count: Count
    ts_ms: int
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> DecreaseAck:
        return cls(w.text(body, "order_id"), w.text(body, "client_order_id"), w.count(body, "remaining_count"),
                   w.integer(body, "ts_ms"), body)


@dataclass(frozen=True)
class LegacyCancel:
    order: Order
    reduced_by: Count

    @classmethod
    def from_wire(cls, body: Raw) -> LegacyCancel:
        return cls(Order.from_wire(body["order"]), w.count(body, "reduced_by"))


@dataclass(frozen=True)
class LegacyAmend:
    old_order: Order
    order: Order

    @classmethod
    def from_wire(cls, body: Raw) -> LegacyAmend:
        return cls(Order.from_wire(body["old_order"]), Order.from_wire(body["order"]))


@dataclass(frozen=True)
class BatchItem(Generic[T]):
    """One item of a batch: its result, or the error the server gave that item alone."""

    result: T | None
    error: ApiError | None
    client_order_id: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def of(cls, body: Raw, parse: Any, status: int = 400) -> BatchItem[Any]:
        error = body.get("error")
        if error:
            failure = error_from_response(status, b"") if not isinstance(error, Mapping) else ApiError(
                status, str(error.get("code", "error")), str(error.get("message", "")), str(error.get("details") or ""), dict(error))
            return BatchItem(None, failure, w.text(body, "client_order_id"))
        return BatchItem(parse(body), None, w.text(body, "client_order_id"))


@dataclass(frozen=True)
class QueuePosition:
    order_id: str
    market_ticker: str
    queue_position: Count  # contracts ahead at the same price

    @classmethod
    def from_wire(cls, body: Raw, order_id: str = "") -> QueuePosition:
        return cls(w.text(body, "order_id") or order_id, w.text(body, "market_ticker"), w.count(body, "queue_position"))


@dataclass(frozen=True)
class OrderGroup:
    order_group_id: str
    contracts_limit: Count | None
    is_auto_cancel_enabled: bool
    orders: tuple[str, ...]
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw, order_group_id: str = "") -> OrderGroup:
        return cls(
            w.text(body, "id") or w.text(body, "order_group_id") or order_group_id, w.count_or_none(body, "contracts_limit"),
            w.flag(body, "is_auto_cancel_enabled"), tuple(str(o) for o in body.get("orders") or ()), body,
        )


# --- portfolio --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Balance:
    balance: Money  # available cash
    portfolio_value: Money
    updated_ts: int
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> Balance:
        return cls(w.money(body, "balance"), w.money(body, "portfolio_value"), w.integer(body, "updated_ts"), body)


@dataclass(frozen=True)
class MarketPosition:
    ticker: str
    position: Count  # signed: > 0 long YES, < 0 long NO
    total_traded: Money
    market_exposure: Money
    realized_pnl: Money
    fees_paid: Money
    last_updated: dt.datetime | None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> MarketPosition:
        return cls(
            w.text(body, "ticker"), w.count(body, "position"), w.money(body, "total_traded"), w.money(body, "market_exposure"),
            w.money(body, "realized_pnl"), w.money(body, "fees_paid"), w.time(body.get("last_updated_ts")), body,
        )


@dataclass(frozen=True)
class EventPosition:
    event_ticker: str
    total_cost: Money
    total_cost_shares: Count
    event_exposure: Money
    realized_pnl: Money
    fees_paid: Money
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> EventPosition:
        return cls(
            w.text(body, "event_ticker"), w.money(body, "total_cost"), w.count(body, "total_cost_shares"),
            w.money(body, "event_exposure"), w.money(body, "realized_pnl"), w.money(body, "fees_paid"), body,
        )


@dataclass(frozen=True)
class Positions:
    market_positions: tuple[MarketPosition, ...]
    event_positions: tuple[EventPosition, ...]
    cursor: str = ""


@dataclass(frozen=True)
class Fill:
    fill_id: str
    order_id: str
    ticker: str
    book_side: str
    outcome_side: str
    side: str
    action: str
    count: Count
    yes_price: Price
    no_price: Price
    is_taker: bool
    fee_cost: Money
    created_time: dt.datetime | None
    client_order_id: str = ""
    post_position: Count | None = None  # WebSocket fills: the position after this fill
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> Fill:
        ts_ms = body.get("ts_ms")
        created = w.time(body.get("created_time"))
        if created is None and isinstance(ts_ms, int):
            created = dt.datetime.fromtimestamp(ts_ms // 1000, dt.UTC) + dt.timedelta(milliseconds=ts_ms % 1000)
        yes_price = w.price(body, "yes_price")
        no_price = w.price_or_none(body, "no_price")
        return cls(
            w.text(body, "fill_id") or w.text(body, "trade_id"), w.text(body, "order_id"),
            w.text(body, "ticker") or w.text(body, "market_ticker"), w.text(body, "book_side"), w.text(body, "outcome_side"),
            w.text(body, "side"), w.text(body, "action"), w.count(body, "count"), yes_price,
            no_price if no_price is not None else yes_price.complement(), w.flag(body, "is_taker"),
            Money(body["fee_cost"]) if isinstance(body.get("fee_cost"), str) else Money.of_units(0), created,
            w.text(body, "client_order_id"), w.count_or_none(body, "post_position"), body,
        )


@dataclass(frozen=True)
class Settlement:
    ticker: str
    event_ticker: str
    market_result: str
    yes_count: Count
    no_count: Count
    yes_total_cost: Money
    no_total_cost: Money
    revenue: Money
    fee_cost: Money
    settled_time: dt.datetime | None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> Settlement:
        return cls(
            w.text(body, "ticker"), w.text(body, "event_ticker"), w.text(body, "market_result"), w.count(body, "yes_count"),
            w.count(body, "no_count"), w.money(body, "yes_total_cost"), w.money(body, "no_total_cost"), w.money(body, "revenue"),
            Money(body["fee_cost"]) if isinstance(body.get("fee_cost"), str) else Money.of_units(0),
            w.time(body.get("settled_time")), body,
        )


# --- keys, limits, sessions ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ApiKey:
    api_key_id: str
    name: str
    scopes: tuple[str, ...]
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> ApiKey:
        return cls(w.text(body, "api_key_id"), w.text(body, "name"), tuple(body.get("scopes") or ()), body)


@dataclass(frozen=True)
class GeneratedKey:
    api_key_id: str
    private_key_pem: str = field(repr=False)
    key_type: str = "rsa"

    @classmethod
    def from_wire(cls, body: Raw) -> GeneratedKey:
        return cls(w.text(body, "api_key_id"), w.text(body, "private_key"), w.text(body, "key_type", "rsa"))


@dataclass(frozen=True)
class Bucket:
    refill_rate: int
    bucket_capacity: int


@dataclass(frozen=True)
class AccountLimits:
    usage_tier: str
    read: Bucket
    write: Bucket
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> AccountLimits:
        def bucket(name: str) -> Bucket:
            part = body.get(name) or {}
            return Bucket(w.integer(part, "refill_rate"), w.integer(part, "bucket_capacity"))

        return cls(w.text(body, "usage_tier"), bucket("read"), bucket("write"), body)


@dataclass(frozen=True)
class SessionToken:
    token: str = field(repr=False)
    member_id: str
    expires: dt.datetime | None

    @classmethod
    def from_wire(cls, body: Raw) -> SessionToken:
        return cls(w.text(body, "token"), w.text(body, "member_id"), w.time(body.get("expires_time")))


# --- pages ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the cursor of the next ("" at the end)."""

    items: tuple[T, ...]
    cursor: str

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
