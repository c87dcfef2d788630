"""The WebSocket protocol without I/O (reference §9): what to send to subscribe, and what each
message received means: a subscription acknowledged, a book snapshot or delta applied to the local
books, a `seq` gap found, a subscription the server ended. It takes decoded messages and time in and
gives commands out; the connection (stream.py) only moves them.

Guarantees:
- Every sequenced message is checked against its subscription's `seq` (+1 each, from 1). A gap marks
  the subscription's books stale and asks for fresh snapshots (`update_subscription` `get_snapshot`;
  if the server refuses that, unsubscribe and subscribe again). Deltas for a stale book are ignored
  until its snapshot comes, so a book is never built on a missed message.
- A book that stops making sense (a level below zero, YES and NO bids that cross) is treated as a gap.
- After a reconnect, `resubscribe()` gives the commands that restore every subscription; books stay
  stale until their new snapshots arrive.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from predictex.client import _wire as w
from predictex.client.models import Level, Orderbook
from predictex.client.units import ONE_DOLLAR, Count, Price

BOOK_CHANNEL = "orderbook_delta"
CONTROL_TYPES = frozenset({"subscribed", "ok", "error", "unsubscribed"})
# Kalshi error codes after which a subscription is gone and must be made again (§9.4)
TERMINAL_CODES = frozenset({10, 25})


@dataclass
class Subscription:
    channel: str
    tickers: set[str] | None  # None: every market (or a channel without a market filter)
    params: dict[str, Any] = field(default_factory=dict)
    sid: int | None = None
    last_seq: int = 0


@dataclass(frozen=True)
class Gap:
    """A subscription's messages skipped from `expected` to `received`."""

    channel: str
    sid: int
    expected: int
    received: int


@dataclass(frozen=True)
class Refused:
    """The server refused a command (its error message's code and text)."""

    command_id: int
    code: int
    message: str
    channel: str = ""


@dataclass(frozen=True)
class Data:
    """A message for the program: its type, channel, and body."""

    type: str
    channel: str
    msg: Mapping[str, Any]
    sid: int | None = None
    seq: int | None = None


class LocalBook:
    """One market's order book, built from a snapshot and deltas. Bids only on each side, as Kalshi
    sends them (NO levels at NO prices). Readable from any thread at any moment."""

    def __init__(self, ticker: str) -> None:
        self.ticker = ticker
        self.yes: dict[int, int] = {}  # price centicents -> count centicontracts
        self.no: dict[int, int] = {}
        self.fresh = False  # a snapshot has been applied since the last gap or reconnect
        self.snapshots = 0
        self.deltas = 0
        self._lock = threading.Lock()
        self._cached: Orderbook | None = None

    def apply_snapshot(self, msg: Mapping[str, Any]) -> None:
        with self._lock:
            self.yes = _side_levels(msg, "yes")
            self.no = _side_levels(msg, "no")
            self.fresh = True
            self.snapshots += 1
            self._cached = None

    def apply_delta(self, msg: Mapping[str, Any]) -> bool:
        """Apply one delta; False when the book no longer makes sense (the caller resynchronises)."""
        side = self.yes if msg.get("side") == "yes" else self.no
        level_price = w.price(msg, "price").centicents
        change = _delta(msg)
        with self._lock:
            size = side.get(level_price, 0) + change
            self._cached = None
            self.deltas += 1
            if size < 0:
                return False
            if size == 0:
                side.pop(level_price, None)
            else:
                side[level_price] = size
            return self._uncrossed()

    def _uncrossed(self) -> bool:
        if not self.yes or not self.no:
            return True
        return max(self.yes) + max(self.no) < ONE_DOLLAR.centicents

    def orderbook(self) -> Orderbook:
        """The book now, as an immutable `Orderbook`."""
        with self._lock:
            if self._cached is None:
                self._cached = Orderbook(self.ticker, _levels(self.yes), _levels(self.no))
            return self._cached


def _side_levels(msg: Mapping[str, Any], side: str) -> dict[int, int]:
    for key in (f"{side}_dollars_fp", f"{side}_dollars", side):
        if msg.get(key) is not None:
            return {p.centicents: c.centicontracts for p, c in w.levels(msg[key]) if c.centicontracts > 0}
    return {}


def _delta(msg: Mapping[str, Any]) -> int:
    text = msg.get("delta_fp")
    if isinstance(text, str):
        return Count(text).centicontracts
    legacy = msg.get("delta")
    return Count(int(legacy)).centicontracts if isinstance(legacy, int) else 0


def _levels(side: dict[int, int]) -> tuple[Level, ...]:
    return tuple(Level(Price.of_units(p), Count.of_units(c)) for p, c in sorted(side.items()))


class StreamState:
    def __init__(self) -> None:
        self.subscriptions: dict[str, Subscription] = {}  # by channel: Kalshi keeps one per channel and connection
        self.by_sid: dict[int, Subscription] = {}
        self.books: dict[str, LocalBook] = {}
        self.pending: dict[int, tuple[str, str]] = {}  # command id -> (command, channel)
        self.gaps: list[Gap] = []
        self.resyncs = 0
        self._next_id = 1

    # --- commands out -----------------------------------------------------------------------------

    def _command(self, cmd: str, channel: str, params: dict[str, Any]) -> dict[str, Any]:
        command_id = self._next_id
        self._next_id += 1
        self.pending[command_id] = (cmd, channel)
        return {"id": command_id, "cmd": cmd, "params": params}

    def subscribe(self, channel: str, tickers: Iterable[str] | None = None, **params: Any) -> dict[str, Any]:
        """Subscribe to `channel` (for `tickers`, or every market); subscribing again adds markets."""
        wanted = set(tickers) if tickers is not None else None
        sub = self.subscriptions.get(channel)
        if sub is None:
            sub = self.subscriptions[channel] = Subscription(channel, wanted, dict(params))
        elif sub.tickers is not None:
            sub.tickers = None if wanted is None else sub.tickers | wanted
        if channel == BOOK_CHANNEL:
            for ticker in wanted or ():
                self.books.setdefault(ticker, LocalBook(ticker))
        return self._subscribe_command(sub, wanted)

    def _subscribe_command(self, sub: Subscription, tickers: set[str] | None) -> dict[str, Any]:
        params: dict[str, Any] = {"channels": [sub.channel], **sub.params}
        if tickers:
            params["market_tickers"] = sorted(tickers)
        return self._command("subscribe", sub.channel, params)

    def resubscribe(self) -> list[dict[str, Any]]:
        """After a reconnect: the commands that make every subscription again (new sids, seq from 1)."""
        self.by_sid.clear()
        self.pending.clear()
        for book in self.books.values():
            book.fresh = False
        commands = []
        for sub in self.subscriptions.values():
            sub.sid = None
            sub.last_seq = 0
            commands.append(self._subscribe_command(sub, sub.tickers))
        return commands

    def _resync(self, sub: Subscription) -> list[dict[str, Any]]:
        """Fresh snapshots for a subscription's books after a gap (or a book that stopped making sense)."""
        self.resyncs += 1
        for ticker in sub.tickers or ():
            if ticker in self.books:
                self.books[ticker].fresh = False
        if sub.channel != BOOK_CHANNEL or sub.sid is None:
            return []
        return [self._command("update_subscription", sub.channel, {"sid": sub.sid, "action": "get_snapshot"})]

    def _remake(self, sub: Subscription) -> list[dict[str, Any]]:
        """Unsubscribe (if it still exists) and subscribe again."""
        commands = []
        if sub.sid is not None:
            self.by_sid.pop(sub.sid, None)
            commands.append(self._command("unsubscribe", sub.channel, {"sids": [sub.sid]}))
        sub.sid = None
        sub.last_seq = 0
        for ticker in sub.tickers or ():
            if ticker in self.books:
                self.books[ticker].fresh = False
        commands.append(self._subscribe_command(sub, sub.tickers))
        return commands

    # --- messages in ------------------------------------------------------------------------------

    def receive(self, message: Mapping[str, Any]) -> tuple[list[Data | Gap | Refused], list[dict[str, Any]]]:
        """What one message means for the program, and the commands to send because of it."""
        kind = str(message.get("type", ""))
        if kind in CONTROL_TYPES:
            return self._control(kind, message)
        sid = message.get("sid")
        sub = self.by_sid.get(sid) if isinstance(sid, int) else None
        seq = message.get("seq")
        msg = message.get("msg") or {}
        events: list[Data | Gap | Refused] = []
        commands: list[dict[str, Any]] = []
        if sub is not None and isinstance(seq, int):
            if sub.last_seq and seq != sub.last_seq + 1:
                gap = Gap(sub.channel, sub.sid or 0, sub.last_seq + 1, seq)
                self.gaps.append(gap)
                events.append(gap)
                commands += self._resync(sub)
            sub.last_seq = seq
        channel = sub.channel if sub is not None else ""
        ticker = str(msg.get("market_ticker", ""))
        if kind == "orderbook_snapshot":
            self.books.setdefault(ticker, LocalBook(ticker)).apply_snapshot(msg)
        elif kind == "orderbook_delta":
            book = self.books.get(ticker)
            if book is not None and book.fresh and not book.apply_delta(msg) and sub is not None:
                commands += self._resync(sub)
        events.append(Data(kind, channel, msg, sid if isinstance(sid, int) else None, seq if isinstance(seq, int) else None))
        return events, commands

    def _control(self, kind: str, message: Mapping[str, Any]) -> tuple[list[Data | Gap | Refused], list[dict[str, Any]]]:
        command_id = message.get("id")
        pending = self.pending.pop(command_id, None) if isinstance(command_id, int) else None
        msg = message.get("msg")
        if kind == "subscribed" and isinstance(msg, Mapping):
            sub = self.subscriptions.get(str(msg.get("channel")))
            sid = msg.get("sid")
            if sub is not None and isinstance(sid, int) and sub.sid != sid:
                sub.sid, sub.last_seq = sid, 0
                self.by_sid[sid] = sub
            return [], []
        if kind == "error" and isinstance(msg, Mapping):
            return self._error(message, msg, pending)
        return [], []

    def _error(self, message: Mapping[str, Any], msg: Mapping[str, Any], pending: tuple[str, str] | None,
               ) -> tuple[list[Data | Gap | Refused], list[dict[str, Any]]]:
        code = int(msg.get("code") or 0)
        command_id = int(message.get("id") or 0)
        refusal = Refused(command_id, code, str(msg.get("msg", "")), pending[1] if pending else "")
        sid = message.get("sid")
        if isinstance(sid, int) and code in TERMINAL_CODES and sid in self.by_sid:
            return [refusal], self._remake(self.by_sid[sid])  # the server ended the subscription
        if pending is not None and pending[0] == "update_subscription":
            sub = self.subscriptions.get(pending[1])
            if sub is not None:  # no get_snapshot on this server: make the subscription again
                return [], self._remake(sub)
        return [refusal], []
