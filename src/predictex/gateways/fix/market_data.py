"""Market data on FIX: MarketDataRequest (V) for a snapshot (W) or a snapshot and then incremental
refreshes (X), and SecurityStatusRequest (e) -> SecurityStatus (f) on pauses, resumptions,
determinations and settlements. Books are in the YES frame (bids are YES bids, offers YES asks);
prices are always dollars (reference §11.6). A subscription starts from the read model, which holds
exactly the state before the next batch the bus delivers, so no change is missed or repeated."""

from __future__ import annotations

from typing import TYPE_CHECKING

from predictex.core import events as ev
from predictex.core.instruments import ACTIVE, AMENDED, CLOSED, DETERMINED, DISPUTED, FINALIZED, INACTIVE
from predictex.core.limits import FIX_SUBSCRIPTIONS_PER_SESSION_MAX, FIX_SYMBOLS_PER_REQUEST_MAX
from predictex.core.units import format_count_fix as qty
from predictex.core.units import format_price_fix_dollars as dollars_price
from predictex.gateways.fix import tags as t
from predictex.gateways.fix.peer import Peer
from predictex.gateways.fix.session import Message, utc_timestamp

if TYPE_CHECKING:
    from predictex.server.context import Exchange

# MarketStatusChanged.status -> SecurityTradingStatus(326)
_TRADING_STATUS = {ACTIVE: b"3", INACTIVE: b"2", CLOSED: b"2", DETERMINED: b"100", AMENDED: b"100", DISPUTED: b"2",
                   FINALIZED: b"101"}


class MarketData:
    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.books: dict[str, list[tuple[Peer, bytes]]] = {}  # ticker -> (session, MDReqID)
        self.statuses: dict[str, list[tuple[Peer, bytes]]] = {}  # ticker -> (session, SecurityStatusReqID)

    @property
    def active(self) -> bool:
        return bool(self.books or self.statuses)

    # --- requests --------------------------------------------------------------------------------

    def handle(self, connection: Peer, message: Message) -> None:
        if message.msg_type == t.MARKET_DATA_REQUEST:
            self._market_data_request(connection, message)
        else:
            self._status_request(connection, message)

    def _market_data_request(self, connection: Peer, message: Message) -> None:
        request_id = message.get(t.MD_REQ_ID) or b""
        kind = message.get(t.SUBSCRIPTION_REQUEST_TYPE)
        if kind == b"2":
            self._remove(connection, request_id, self.books)
            return
        symbols = [value.decode("utf-8", "replace") for tag, value in message.fields if tag == t.SYMBOL]
        if not symbols or len(symbols) > FIX_SYMBOLS_PER_REQUEST_MAX:
            self._reject(connection, request_id, b"0", f"name 1 to {FIX_SYMBOLS_PER_REQUEST_MAX} symbols in NoRelatedSym (146)")
            return
        depth_text = message.get(t.MARKET_DEPTH) or b"0"
        depth = int(depth_text) if depth_text.lstrip(b"-").isdigit() else 0
        if depth < 0:
            self._reject(connection, request_id, b"5", "MarketDepth (264) must be 0 (full book) or a positive number of levels")
            return
        if kind == b"1":
            if any(request_id == rid for subs in self.books.values() for conn, rid in subs if conn is connection):
                self._reject(connection, request_id, b"1", "duplicate MDReqID")
                return
            if connection.subscriptions + len(symbols) > FIX_SUBSCRIPTIONS_PER_SESSION_MAX:
                self._reject(connection, request_id, b"2", f"at most {FIX_SUBSCRIPTIONS_PER_SESSION_MAX} subscriptions per session")
                return
        for symbol in symbols:
            self._snapshot(connection, request_id, symbol, depth)
            if kind == b"1":
                self.books.setdefault(symbol, []).append((connection, request_id))
                connection.subscriptions += 1

    def _status_request(self, connection: Peer, message: Message) -> None:
        request_id = message.get(t.SECURITY_STATUS_REQ_ID) or b""
        kind = message.get(t.SUBSCRIPTION_REQUEST_TYPE)
        if kind == b"2":
            self._remove(connection, request_id, self.statuses)
            return
        symbol = message.text(t.SYMBOL)
        market = self.exchange.live.markets.get(symbol)
        if market is not None:
            status = _TRADING_STATUS.get(market.status, b"2")
            connection.send(t.SECURITY_STATUS, self._status_body(request_id, symbol, status, self.exchange.clock.now_ms()))
        if kind == b"1" and symbol and connection.subscriptions < FIX_SUBSCRIPTIONS_PER_SESSION_MAX:
            self.statuses.setdefault(symbol, []).append((connection, request_id))
            connection.subscriptions += 1

    def _snapshot(self, connection: Peer, request_id: bytes, symbol: str, depth: int) -> None:
        """W: bids best first, then offers best first (unknown symbols get an empty snapshot)."""
        market = self.exchange.live.markets.get(symbol)
        entries: list[bytes] = []
        if market is not None:
            bids = sorted(market.book.bids.items(), reverse=True)
            asks = sorted(market.book.asks.items())
            if depth:
                bids, asks = bids[:depth], asks[:depth]
            entries += [b"269=0\x01270=" + dollars_price(p) + b"\x01271=" + qty(s) + b"\x01" for p, s in bids]
            entries += [b"269=1\x01270=" + dollars_price(p) + b"\x01271=" + qty(s) + b"\x01" for p, s in asks]
        body = (b"262=" + request_id + b"\x0155=" + symbol.encode("utf-8") + b"\x01268=%d\x01" % len(entries) + b"".join(entries))
        connection.send(t.MARKET_DATA_SNAPSHOT, body)

    def _reject(self, connection: Peer, request_id: bytes, reason: bytes, text: str) -> None:
        body = b"262=" + (request_id or b"NONE") + b"\x01281=" + reason + b"\x0158=" + text.encode() + b"\x01"
        connection.send(t.MARKET_DATA_REQUEST_REJECT, body)

    def _remove(self, connection: Peer, request_id: bytes, table: dict[str, list[tuple[Peer, bytes]]]) -> None:
        for symbol in list(table):
            kept = [(conn, rid) for conn, rid in table[symbol] if not (conn is connection and rid == request_id)]
            connection.subscriptions -= len(table[symbol]) - len(kept)
            if kept:
                table[symbol] = kept
            else:
                del table[symbol]

    def drop(self, connection: Peer) -> None:
        for table in (self.books, self.statuses):
            for symbol in list(table):
                kept = [(conn, rid) for conn, rid in table[symbol] if conn is not connection]
                if kept:
                    table[symbol] = kept
                else:
                    del table[symbol]

    # --- committed events ------------------------------------------------------------------------

    def book_changed(self, event: ev.BookChanged, time_ms: int) -> None:
        subscribers = self.books.get(event.ticker)
        if not subscribers:
            return
        size = event.size_after_centicontracts
        action = b"2" if size == 0 else b"0" if size == event.delta_centicontracts else b"1"
        entry = (b"268=1\x01279=" + action + b"\x01269=" + (b"0" if event.is_bid else b"1") + b"\x0155="
                 + event.ticker.encode("utf-8") + b"\x01270=" + dollars_price(event.price_centicents)
                 + b"\x01271=" + qty(size) + b"\x01")
        for connection, request_id in subscribers:
            connection.send(t.MARKET_DATA_INCREMENTAL, b"262=" + request_id + b"\x01" + entry)

    def trade(self, event: ev.Trade, time_ms: int) -> None:
        subscribers = self.books.get(event.ticker)
        if not subscribers:
            return
        entry = (b"268=1\x01279=0\x01269=2\x0155=" + event.ticker.encode("utf-8") + b"\x01270="
                 + dollars_price(event.price_centicents) + b"\x01271=" + qty(event.count_centicontracts) + b"\x01")
        aggressor = b"2446=" + (b"1" if event.taker_is_bid else b"2") + b"\x01"
        for connection, request_id in subscribers:
            fixt = connection.session.begin_string == t.FIXT11
            connection.send(t.MARKET_DATA_INCREMENTAL, b"262=" + request_id + b"\x01" + entry + (aggressor if fixt else b""))

    def status_changed(self, event: ev.MarketStatusChanged, time_ms: int) -> None:
        status = _TRADING_STATUS.get(event.status)
        if status is None or (event.status == ACTIVE and event.previous_status != INACTIVE):
            return  # scheduled opens and closes are not sent (reference §11.6)
        if event.status == CLOSED and event.reason == "close_time":
            return
        for connection, request_id in self.statuses.get(event.ticker, ()):
            connection.send(t.SECURITY_STATUS, self._status_body(request_id, event.ticker, status, time_ms))
        seen = {id(conn) for conn, _ in self.statuses.get(event.ticker, ())}
        for connection, _ in self.books.get(event.ticker, ()):
            if id(connection) not in seen:
                seen.add(id(connection))
                connection.send(t.SECURITY_STATUS, self._status_body(b"", event.ticker, status, time_ms))

    @staticmethod
    def _status_body(request_id: bytes, symbol: str, status: bytes, time_ms: int) -> bytes:
        body = b"324=" + request_id + b"\x01" if request_id else b""
        return body + b"55=" + symbol.encode("utf-8") + b"\x01326=" + status + b"\x0160=" + utc_timestamp(time_ms) + b"\x01"
