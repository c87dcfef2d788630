"""The fan-out hub: committed events in, messages on every subscribed connection out.

The hub is a subscriber of the exchange's bus. It takes each committed batch in the commit step and
does nothing else there but keep it: the work runs a moment later on the event loop (`drain`), after
the batch's producers have had their answers, so order entry never waits for subscribers. Whoever
reads the read model for a snapshot (a subscribe command) drains first, so the snapshot and the
messages after it meet exactly at one sequence point: nothing missed, nothing twice.

Each message body is encoded once (per surface and variant) and shared by every subscription that
gets it; a subscription only splices its sid and seq around the shared bytes (`Subscription.send`).
Connections collect what they get and are flushed once per drain, one write each.

Routing: public kinds by market (`markets` None means every market), private kinds by account (then
by kind and market). Messages of one connection leave in commit order; a command's reply is queued
behind the messages drained before it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from predictex.core import events as ev
from predictex.core.communications import RFQ_OPEN
from predictex.core.orders import Action
from predictex.gateways.shapes import communications, kalshi, seed
from predictex.gateways.shapes.text import rfc3339
from predictex.gateways.ws.frames import CLOSE_INTERNAL_ERROR
from predictex.readmodel.live import MarketView, OrderView
from predictex.readmodel.queries import Queries, fill_row
from predictex.server import ids
from predictex.server.context import Exchange
from predictex.server.sequencer import Entry

if TYPE_CHECKING:
    from predictex.gateways.ws.connection import Connection

log = logging.getLogger("predictex.ws")

# What a subscription receives. Public kinds are routed by market, private ones by account.
BOOK = "book"  # Kalshi orderbook_delta: one message per level change
SEED_BOOK = "seed_book"  # the seed's orderbook_update: one message per command and market
TRADE = "trade"
TICKER = "ticker"
LIFECYCLE = "lifecycle"  # Kalshi market_lifecycle_v2 (every market)
SEED_STATUS = "seed_status"
SILENT = "silent"  # channels this exchange accepts but never has anything for
MVE_LIFECYCLE = "mve_lifecycle"  # Kalshi multivariate_market_lifecycle (combination markets)
FILL = "fill"
ORDER = "order"
POSITION = "position"
GROUP = "group"
COMMS = "comms"  # Kalshi communications: RFQs to every subscriber, quotes to their maker and requester
PUBLIC_KINDS = (BOOK, SEED_BOOK, TRADE, TICKER, LIFECYCLE, SEED_STATUS, SILENT, MVE_LIFECYCLE)
PRIVATE_KINDS = (FILL, ORDER, POSITION, GROUP, COMMS)


class Subscription:
    """One channel of one connection. `send` frames a message for the surface (sid/seq, envelope).
    A Kalshi orderbook subscription without options sets `plain_book` and `sid`: the hub frames its
    deltas itself, the fan-out's hot path."""

    __slots__ = ("account_id", "active", "connection", "kind", "markets", "member_uuid", "plain_book", "seq", "sid")

    def __init__(self, connection: Connection, kind: str, markets: set[str] | None, account_id: int | None,
                 member_uuid: str) -> None:
        self.connection = connection
        self.kind = kind
        self.markets = markets  # None: every market
        self.account_id = account_id  # the subscriber's engine account (None: not authenticated)
        self.member_uuid = member_uuid
        self.seq = 0
        self.sid = 0
        self.active = False
        self.plain_book = False

    def send(self, message: Message) -> None:
        raise NotImplementedError


class Message:
    """Something to tell subscribers, encoded at most once per surface."""

    __slots__ = ("_kalshi", "_kalshi_body", "_seed", "_seed_body", "kalshi_type", "seed_type")

    def __init__(self, kalshi_type: bytes, kalshi: Callable[[], dict[str, Any]] | None,
                 seed_type: bytes = b"", seed: Callable[[], dict[str, Any]] | None = None) -> None:
        self.kalshi_type = kalshi_type
        self.seed_type = seed_type
        self._kalshi = kalshi
        self._seed = seed
        self._kalshi_body: bytes | None = None
        self._seed_body: bytes | None = None

    def kalshi_body(self, sub: Subscription, use_yes_price: bool) -> bytes:
        body = self._kalshi_body
        if body is None:
            assert self._kalshi is not None
            body = self._kalshi_body = orjson.dumps(self._kalshi())
        return body

    def seed_body(self, sub: Subscription) -> bytes:
        body = self._seed_body
        if body is None:
            assert self._seed is not None
            body = self._seed_body = orjson.dumps(self._seed())
        return body


class MemberMessage(Message):
    """A private message whose Kalshi body names the member (user_id)."""

    __slots__ = ("_by_member", "_kalshi_for")

    def __init__(self, kalshi_type: bytes, kalshi_for: Callable[[str], dict[str, Any]],
                 seed_type: bytes = b"", seed: Callable[[], dict[str, Any]] | None = None) -> None:
        super().__init__(kalshi_type, None, seed_type, seed)
        self._kalshi_for = kalshi_for
        self._by_member: dict[str, bytes] = {}

    def kalshi_body(self, sub: Subscription, use_yes_price: bool) -> bytes:
        body = self._by_member.get(sub.member_uuid)
        if body is None:
            body = self._by_member[sub.member_uuid] = orjson.dumps(self._kalshi_for(sub.member_uuid))
        return body


class BookDelta(Message):
    """A Kalshi orderbook_delta: NO levels at the NO price or (use_yes_price) the YES price, and the
    client_order_id (and subaccount, for an order in a numbered one) only for the subscriber whose
    order caused it."""

    __slots__ = ("_drain", "_event", "_yes_price_body")

    def __init__(self, drain: _Drain, event: ev.BookChanged) -> None:
        super().__init__(b"orderbook_delta", None)
        self._drain = drain
        self._event = event
        self._yes_price_body: bytes | None = None

    @property
    def plain_frame(self) -> bytes:
        """The whole message for a subscriber without options, with %d for its sid and seq (the
        body's own % signs doubled)."""
        return b'{"type":"orderbook_delta","sid":%d,"seq":%d,"msg":' + self.kalshi_body_plain().replace(b"%", b"%%") + b"}"

    def kalshi_body_plain(self) -> bytes:
        body = self._kalshi_body
        if body is None:
            body = self._kalshi_body = self._build(False, "")
        return body

    def _build(self, use_yes_price: bool, client_order_id: str, subaccount: int = 0) -> bytes:
        drain = self._drain
        e = self._event
        return orjson.dumps(kalshi.book_delta(
            e, drain.hub.market_id(e.ticker), use_yes_price, client_order_id, drain.time_ms, drain.time_text(), subaccount,
        ))

    def kalshi_body(self, sub: Subscription, use_yes_price: bool) -> bytes:
        e = self._event
        drain = self._drain
        if sub.account_id == drain.member(e.account_id):
            client_order_id = drain.client_order_id(e.order_id)
            subaccount = drain.live.subaccount_number(e.account_id)
            if client_order_id or subaccount:
                return self._build(use_yes_price and not e.is_bid, client_order_id, subaccount)
        if use_yes_price and not e.is_bid:
            if self._yes_price_body is None:
                self._yes_price_body = self._build(True, "")
            return self._yes_price_body
        return self.kalshi_body_plain()


class Hub:
    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.public: dict[str, dict[str, dict[Subscription, None]]] = {kind: {} for kind in PUBLIC_KINDS}
        self.public_all: dict[str, dict[Subscription, None]] = {kind: {} for kind in PUBLIC_KINDS}
        self.private: dict[int, dict[Subscription, None]] = {}
        self.connections: set[Connection] = set()
        self._pending: list[Entry] = []
        self._drain_scheduled = False
        self._dirty: list[Connection] = []
        self._flush_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._market_ids: dict[str, str] = {}
        self._ticker_states: dict[str, tuple[int, ...]] = {}
        self._last_trade_sizes: dict[str, int] = {}
        self.drained_seq = exchange.live.seq  # every entry up to here has been fanned out

    def now(self) -> float:
        return self._loop.time() if self._loop is not None else time.monotonic()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    # --- the bus ---------------------------------------------------------------------------------------

    def committed(self, entries: Sequence[Entry]) -> None:
        """The bus subscriber: keep the batch, fan it out once its producers have been answered."""
        if not self.connections:  # nobody to tell; what the caches knew may be stale from now on
            self.drained_seq = entries[-1].seq
            self._ticker_states.clear()
            self._last_trade_sizes.clear()
            return
        self._pending.extend(entries)
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        if not self._drain_scheduled:
            self._drain_scheduled = True
            # two hops: the producers' wake-ups, queued after this call, run before the drain
            self._loop.call_soon(self._loop.call_soon, self._scheduled_drain)

    def _scheduled_drain(self) -> None:
        self._drain_scheduled = False
        self.drain()

    def drain(self) -> None:
        """Fan out every committed entry not yet sent; afterwards the read model and the streams agree."""
        entries = self._pending
        if not entries:
            return
        self._pending = []
        try:
            work = _Drain(self, entries)
            for entry in entries:
                work.entry(entry)
            work.finish()
        except Exception:
            # a bug: the streams can no longer be trusted to be whole, so nobody is left believing them
            log.exception("fan-out failed at sequence %d-%d; closing every WebSocket connection", entries[0].seq, entries[-1].seq)
            for connection in list(self.connections):
                connection.close(CLOSE_INTERNAL_ERROR, "internal error: reconnect and subscribe again")
        self.drained_seq = entries[-1].seq
        self.flush()

    # --- subscriptions ---------------------------------------------------------------------------------

    def add(self, sub: Subscription) -> None:
        sub.active = True
        self._route(sub)

    def remove(self, sub: Subscription) -> None:
        if not sub.active:
            return
        sub.active = sub.plain_book = False
        self._unroute_all(sub)

    def change_markets(self, sub: Subscription, markets: set[str] | None) -> None:
        """Give an active subscription a new market filter."""
        self._unroute_all(sub)
        sub.markets = markets
        self._route(sub)

    def _route(self, sub: Subscription) -> None:
        if sub.kind in PRIVATE_KINDS:
            assert sub.account_id is not None
            self.private.setdefault(sub.account_id, {})[sub] = None
        elif sub.markets is None:
            self.public_all[sub.kind][sub] = None
        else:
            by_market = self.public[sub.kind]
            for ticker in sub.markets:
                by_market.setdefault(ticker, {})[sub] = None

    def _unroute_all(self, sub: Subscription) -> None:
        if sub.kind in PRIVATE_KINDS:
            assert sub.account_id is not None
            subs = self.private.get(sub.account_id)
            if subs is not None:
                subs.pop(sub, None)
                if not subs:
                    del self.private[sub.account_id]
        elif sub.markets is None:
            self.public_all[sub.kind].pop(sub, None)
        else:
            self._unroute(sub, sub.markets)

    def _unroute(self, sub: Subscription, tickers: Iterable[str]) -> None:
        by_market = self.public[sub.kind]
        for ticker in tickers:
            subs = by_market.get(ticker)
            if subs is not None:
                subs.pop(sub, None)
                if not subs:
                    del by_market[ticker]

    # --- connections and output ------------------------------------------------------------------------

    def forget(self, connection: Connection) -> None:
        self.connections.discard(connection)

    def mark_dirty(self, connection: Connection) -> None:
        self._dirty.append(connection)
        if not self._flush_scheduled and self._loop is not None:
            self._flush_scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        while self._dirty:
            dirty, self._dirty = self._dirty, []
            for connection in dirty:
                connection.flush()

    # --- what subscriptions read ----------------------------------------------------------------------

    def market_id(self, ticker: str) -> str:
        found = self._market_ids.get(ticker)
        if found is None:
            market = self.exchange.live.markets[ticker]
            found = self._market_ids[ticker] = self.exchange.ids.to_uuid(ids.MARKET, market.definition.market_number)
        return found

    def market_by_id(self, market_id: str) -> MarketView | None:
        number = self.exchange.ids.from_uuid(ids.MARKET, market_id)
        if number is None:
            return None
        for market in self.exchange.live.markets.values():
            if market.definition.market_number == number:
                return market
        return None

    def last_trade_size(self, ticker: str) -> int:
        size = self._last_trade_sizes.get(ticker)
        if size is None:
            rows = self.exchange.store.query(
                "SELECT count_centicontracts FROM trades WHERE ticker = ? ORDER BY trade_id DESC LIMIT 1", [ticker])
            size = self._last_trade_sizes[ticker] = int(rows[0][0]) if rows else 0
        return size

    def ticker_message(self, market: MarketView) -> Message:
        live = self.exchange.live
        size = self.last_trade_size(market.ticker)
        self._ticker_states[market.ticker] = kalshi.ticker_state(market, size)
        market_id = self.market_id(market.ticker)
        time_ms = live.time_ms
        return Message(b"ticker", lambda: kalshi.ticker(market, market_id, size, time_ms))

    def ticker_changed(self, market: MarketView) -> bool:
        size = self.last_trade_size(market.ticker)
        return self._ticker_states.get(market.ticker) != kalshi.ticker_state(market, size)


def _send_all(message: Message, *groups: dict[Subscription, None] | None) -> None:
    for subs in groups:
        if subs:
            for sub in tuple(subs):
                sub.send(message)


class _Drain:
    """The work of one drain: the entries' events turned into messages, with what they share."""

    def __init__(self, hub: Hub, entries: list[Entry]) -> None:
        self.hub = hub
        self.entries = entries
        self.live = hub.exchange.live
        self.identities = hub.exchange.ids
        self.seq = 0
        self.time_ms = 0
        self._time_text_ms = -1
        self._time_text = ""
        self._closed_client_ids: dict[int, str] | None = None
        self.closed: dict[int, ev.OrderClosed] = {}
        self.closed_ms: dict[int, int] = {}
        self.touched_orders: dict[tuple[int, int], None] = {}
        self.touched_markets: set[str] = set()
        self.seed_levels: dict[str, dict[tuple[bool, int], int]] = {}
        self.seed_statuses: dict[str, list[Any]] = {}
        self.off_book: set[int] = set()  # trades announced by an OffBookTrade (RFQs, block trades)
        self.apart: dict[tuple[int, str], ev.PositionChanged] = {}  # netting off: awaiting its PositionSides

    def time_text(self) -> str:
        if self._time_text_ms != self.time_ms:
            self._time_text_ms = self.time_ms
            self._time_text = rfc3339(self.time_ms)
        return self._time_text

    def member(self, account_id: int) -> int:
        """The primary account of the member an account belongs to (private streams are the member's:
        they carry what every one of its subaccounts does)."""
        found = self.live.subaccount_of.get(account_id)
        return account_id if found is None else found[0]

    def client_order_id(self, order_id: int) -> str:
        view = self.live.orders.get(order_id)
        if view is not None:
            return view.client_order_id
        found = self._closed_client_ids
        if found is None:  # an order that left the book in this drain: its OrderClosed says
            found = self._closed_client_ids = {
                event.order_id: event.client_order_id
                for entry in self.entries for event in entry.outcome.events if type(event) is ev.OrderClosed
            }
        return found.get(order_id, "")

    # --- per entry ------------------------------------------------------------------------------------

    def entry(self, entry: Entry) -> None:
        events = entry.outcome.events
        if not events:
            return
        self.seq = entry.seq
        self.time_ms = entry.time_ms
        for event in events:
            handler = _HANDLERS.get(type(event))
            if handler is not None:
                handler(self, event)
        if self.seed_levels:
            self._seed_books()
        if self.seed_statuses:
            self._seed_statuses()

    def _book(self, e: ev.BookChanged) -> None:
        hub = self.hub
        subs = hub.public[BOOK].get(e.ticker)
        if subs:
            message = BookDelta(self, e)
            plain = message.plain_frame
            account_id = self.member(e.account_id)
            for sub in tuple(subs):
                if sub.plain_book and sub.account_id != account_id:
                    # the usual case, written out here (the loop runs once per delta and subscriber):
                    # the shared body, this subscription's sid and next seq around it
                    sub.seq = seq = sub.seq + 1
                    sub.connection.push(plain % (sub.sid, seq))
                else:
                    sub.send(message)
        if e.ticker in hub.public[SEED_BOOK]:
            self.seed_levels.setdefault(e.ticker, {})[(e.is_bid, e.price_centicents)] = e.size_after_centicontracts
        self.touched_markets.add(e.ticker)

    def _trade(self, e: ev.Trade) -> None:
        hub = self.hub
        ticker = e.ticker
        hub._last_trade_sizes[ticker] = e.count_centicontracts
        self.touched_markets.add(ticker)
        specific = hub.public[TRADE].get(ticker)
        every = hub.public_all[TRADE]
        if specific or every:
            identities, time_ms = self.identities, self.time_ms
            block = e.trade_id in self.off_book
            message = Message(b"trade", lambda: kalshi.trade_message(e, identities, time_ms, block),
                              b"trade", lambda: seed.trade_message(e, identities, time_ms))
            _send_all(message, specific, every)
        if hub.private:
            self._fill(e, True, e.taker_account_id, e.taker_order_id)
            self._fill(e, False, e.maker_account_id, e.maker_order_id)

    def _fill(self, e: ev.Trade, is_taker: bool, account_id: int, order_id: int) -> None:
        member = self.member(account_id)
        subs = self.hub.private.get(member)
        if not subs:
            return
        self.touched_orders[(member, order_id)] = None
        exchange, identities, time_ms = self.hub.exchange, self.identities, self.time_ms
        client_order_id = self.client_order_id(order_id)
        subaccount = self.live.subaccount_number(account_id)
        message = Message(b"fill", lambda: kalshi.fill_message(e, is_taker, identities, client_order_id, time_ms, subaccount),
                          b"user_fill", lambda: seed.fill(fill_row(e, is_taker, time_ms), identities, _action_of(exchange, order_id)))
        _send_private(message, subs, FILL, e.ticker)

    def _order_event(self, e: ev.OrderAccepted | ev.OrderAmended) -> None:
        member = self.member(e.account_id)
        if member in self.hub.private:
            self.touched_orders[(member, e.order_id)] = None

    def _order_closed(self, e: ev.OrderClosed) -> None:
        member = self.member(e.account_id)
        if member in self.hub.private:
            self.closed[e.order_id] = e
            self.closed_ms[e.order_id] = self.time_ms
            self.touched_orders[(member, e.order_id)] = None

    def _position(self, e: ev.PositionChanged) -> None:
        self.touched_markets.add(e.ticker)
        subs = self.hub.private.get(self.member(e.account_id))
        if subs:
            if not self.live.netting_enabled(e.account_id):
                self.apart[(e.account_id, e.ticker)] = e  # its PositionSides comes next and sends it
                return
            subaccount = self.live.subaccount_number(e.account_id)
            message = MemberMessage(b"market_position", lambda member: kalshi.position_message(e, member, subaccount))
            _send_private(message, subs, POSITION, e.ticker)

    def _sides(self, e: ev.PositionSides) -> None:
        """An account without netting: its position as one message, or one per side when it holds both."""
        changed = self.apart.pop((e.account_id, e.ticker), None)
        subs = self.hub.private.get(self.member(e.account_id))
        if changed is None or not subs:
            return
        subaccount = self.live.subaccount_number(e.account_id)
        for index in range(2 if min(e.yes_centicontracts, e.no_centicontracts) else 1):
            message = MemberMessage(b"market_position", functools.partial(_side_message, changed, e, subaccount, index))
            _send_private(message, subs, POSITION, e.ticker)

    def _group(self, e: ev.OrderGroupChanged) -> None:
        subs = self.hub.private.get(self.member(e.account_id))
        if subs:
            identities, time_ms = self.identities, self.time_ms
            message = Message(b"order_group_updates", lambda: kalshi.order_group_update(e, identities, time_ms))
            _send_private(message, subs, GROUP, None)

    def _event_ticker(self, ticker: str) -> str:
        market = self.live.markets.get(ticker)
        return market.event_ticker if market is not None else ""

    def _rfq(self, e: ev.RfqChanged) -> None:
        """rfq_created / rfq_deleted to every communications subscriber; only its creator sees an
        obscured creator's id."""
        private = self.hub.private
        if not private:
            return
        identities, time_ms, event_ticker = self.identities, self.time_ms, self._event_ticker(e.ticker)
        kind = b"rfq_created" if e.status == RFQ_OPEN else b"rfq_deleted"
        owners = self.live.subaccount_of
        creator = self.member(e.account_id)
        for_others = Message(kind, lambda: communications.rfq_message(identities, owners, e, event_ticker, 0, time_ms))
        for_creator = Message(kind, lambda: communications.rfq_message(identities, owners, e, event_ticker, creator, time_ms))
        for account, subs in tuple(private.items()):
            _send_private(for_creator if account == creator else for_others, subs, COMMS, None)

    def _off_book(self, e: ev.OffBookTrade) -> None:
        self.off_book.add(e.trade_id)

    def _quote(self, e: ev.QuoteChanged) -> None:
        """quote_created / quote_accepted / quote_executed to the quote's maker and its requester (each
        with its own order once executed)."""
        kind = _QUOTE_MESSAGES.get(e.change)
        if kind is None:
            return
        private = self.hub.private
        rfq = self.live.communications.rfqs.get(e.rfq_id)
        view = self.live.communications.quotes.get(e.quote_id)
        target = rfq.event.target_cost_microdollars if rfq is not None else 0
        obscure = rfq is not None and rfq.event.obscure_creator
        identities, time_ms, event_ticker = self.identities, self.time_ms, self._event_ticker(e.ticker)
        owners = self.live.subaccount_of
        for viewer in (e.account_id, e.rfq_account_id):
            subs = private.get(self.member(viewer))
            if not subs:
                continue
            order_id = 0
            if view is not None:
                order_id = view.maker_order_id if viewer == e.account_id else view.requester_order_id

            client_order_id = self.client_order_id(order_id) if order_id else ""

            def body(viewer: int = viewer, order_id: int = order_id, client_order_id: str = client_order_id) -> dict[str, Any]:
                return communications.quote_message(identities, owners, e, event_ticker, target, obscure, viewer, time_ms,
                                                    order_id, client_order_id)
            _send_private(Message(kind, body), subs, COMMS, None)

    def _lifecycle(self, kind: bytes, build: Callable[[], dict[str, Any] | None], channel: str = LIFECYCLE) -> None:
        subs = self.hub.public_all[channel]
        if subs:
            body = build()
            if body is not None:
                _send_all(Message(kind, lambda: body), subs)

    def _market_lifecycle(self, ticker: str, build: Callable[[], dict[str, Any] | None]) -> None:
        """A market's lifecycle message: on multivariate_market_lifecycle for a combination, else on
        market_lifecycle_v2 (the read model has applied the whole batch: a new combination is known)."""
        market = self.live.markets.get(ticker)
        if market is not None and market.combination is not None:
            self._lifecycle(b"multivariate_market_lifecycle", build, MVE_LIFECYCLE)
        else:
            self._lifecycle(b"market_lifecycle_v2", build)

    def _market_created(self, e: ev.MarketCreated) -> None:
        self._market_lifecycle(e.ticker, lambda: kalshi.market_created(e))

    def _event_created(self, e: ev.EventCreated) -> None:
        self._lifecycle(b"event_lifecycle", lambda: kalshi.event_created(e))

    def _status(self, e: ev.MarketStatusChanged) -> None:
        time_ms = self.time_ms
        self._market_lifecycle(e.ticker, lambda: kalshi.status_changed(e, time_ms))
        self._seed_status(e.ticker, 0, e)

    def _determined(self, e: ev.MarketDetermined) -> None:
        time_ms = self.time_ms
        self._market_lifecycle(e.ticker, lambda: kalshi.determined(e, time_ms))
        self._seed_status(e.ticker, 1, e)

    def _times(self, e: ev.MarketTimesChanged) -> None:
        self._market_lifecycle(e.ticker, lambda: kalshi.times_changed(e))

    def _terms(self, e: ev.MarketTermsChanged) -> None:
        for body in kalshi.terms_changed(e):
            self._market_lifecycle(e.ticker, functools.partial(_same, body))

    def _fee_change(self, e: ev.FeeChangeApplied) -> None:
        if e.event_ticker:  # an event override; series changes have no message of their own
            self._lifecycle(b"event_fee_update", lambda: kalshi.event_fee_update(e))

    def _seed_status(self, ticker: str, slot: int, event: ev.Event) -> None:
        if ticker in self.hub.public[SEED_STATUS]:
            self.seed_statuses.setdefault(ticker, [None, None])[slot] = event

    # --- once per entry, once per drain -------------------------------------------------------------------

    def _seed_books(self) -> None:
        seq = self.seq
        for ticker, changed in self.seed_levels.items():
            message = Message(b"", None, b"orderbook_update", functools.partial(seed.book_update, ticker, changed, seq))
            _send_all(message, self.hub.public[SEED_BOOK].get(ticker))
        self.seed_levels = {}

    def _seed_statuses(self) -> None:
        time_ms = self.time_ms
        for ticker, (status, determined) in self.seed_statuses.items():
            current = self.live.markets[ticker].status
            message = Message(b"", None, b"market_status",
                              functools.partial(seed.status_change, ticker, status, determined, time_ms, current))
            _send_all(message, self.hub.public[SEED_STATUS].get(ticker))
        self.seed_statuses = {}

    def finish(self) -> None:
        hub = self.hub
        if self.touched_markets and (hub.public[TICKER] or hub.public_all[TICKER]):
            markets = self.live.markets
            for ticker in sorted(self.touched_markets):
                specific = hub.public[TICKER].get(ticker)
                every = hub.public_all[TICKER]
                if (specific or every) and hub.ticker_changed(markets[ticker]):
                    _send_all(hub.ticker_message(markets[ticker]), specific, every)
        for account_id, order_id in self.touched_orders:
            subs = hub.private.get(account_id)
            if subs:
                self._user_order(subs, order_id)

    def _user_order(self, subs: dict[Subscription, None], order_id: int) -> None:
        view = self.live.orders.get(order_id)
        if view is None:
            closed = self.closed.get(order_id)
            if closed is None:
                return
            view = OrderView.closed(closed, self.closed_ms[order_id])
        found = view
        exchange = self.hub.exchange
        subaccount = self.live.subaccount_number(view.account_id)
        message = MemberMessage(b"user_order", lambda member: kalshi.user_order(found, member, exchange.ids, subaccount),
                                b"user_order", lambda: seed.order(found, exchange.ids))
        _send_private(message, subs, ORDER, view.ticker)


def _action_of(exchange: Exchange, order_id: int) -> Action:
    """How the member placed an order (buy or sell), open or closed: a seed fill is in those words."""
    return Queries(exchange.live, exchange.store).order_labels([order_id]).get(order_id, (Action.BUY, ""))[0]


def _send_private(message: Message, subs: dict[Subscription, None], kind: str, ticker: str | None) -> None:
    for sub in tuple(subs):
        if sub.kind == kind and (ticker is None or sub.markets is None or ticker in sub.markets):
            sub.send(message)


def _same(body: dict[str, Any]) -> dict[str, Any]:
    return body


def _side_message(changed: ev.PositionChanged, sides: ev.PositionSides, subaccount: int, index: int, member: str) -> dict[str, Any]:
    return kalshi.position_side_messages(changed, sides, member, subaccount)[index]


_HANDLERS: dict[type[ev.Event], Callable[[_Drain, Any], None]] = {
    ev.BookChanged: _Drain._book,
    ev.Trade: _Drain._trade,
    ev.OrderAccepted: _Drain._order_event,
    ev.OrderAmended: _Drain._order_event,
    ev.OrderClosed: _Drain._order_closed,
    ev.PositionChanged: _Drain._position,
    ev.PositionSides: _Drain._sides,
    ev.OrderGroupChanged: _Drain._group,
    ev.MarketCreated: _Drain._market_created,
    ev.EventCreated: _Drain._event_created,
    ev.MarketStatusChanged: _Drain._status,
    ev.MarketDetermined: _Drain._determined,
    ev.MarketTimesChanged: _Drain._times,
    ev.FeeChangeApplied: _Drain._fee_change,
    ev.MarketTermsChanged: _Drain._terms,
    ev.RfqChanged: _Drain._rfq,
    ev.OffBookTrade: _Drain._off_book,
    ev.QuoteChanged: _Drain._quote,
}

_QUOTE_MESSAGES = {"created": b"quote_created", "accepted": b"quote_accepted", "executed": b"quote_executed"}
