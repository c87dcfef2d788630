"""The detectors: a pure, deterministic reading of committed events (sequence number, time, events),
in sequence, that raises alerts of wash trading, spoofing and layering, marking the close and unusual
concentration. Nothing here reads a clock or a store: the same events and links give the same alerts,
so a restart rebuilds them by reading the journal again, and a test feeds the engine's events directly.

Members, not accounts: a subaccount counts as its member's primary account (from `SubaccountCreated`),
and members the operator linked count as one (`link`, effective after a sequence number, so a replay
applies it exactly where the live consumer did). Accounts `excluded` (the simulator's traders) are left
out of every statistic and are never alerted on; their counterparties still are.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from predictex.core import events as e
from predictex.core.instruments import CLOSED
from predictex.core.orders import CloseReason, OrderStatus
from predictex.surveillance.config import Thresholds

WASH = "wash_trade"
SPOOFING = "spoofing"
LAYERING = "layering"
MARKING_THE_CLOSE = "marking_the_close"
CONCENTRATION = "concentration"
KINDS = (WASH, SPOOFING, LAYERING, MARKING_THE_CLOSE, CONCENTRATION)

OPEN = "open"
DISMISSED = "dismissed"
ESCALATED = "escalated"
STATES = (OPEN, DISMISSED, ESCALATED)

EVIDENCE_MAX = 200  # items kept per alert (the count goes on)
ALERTS_MAX = 100_000  # alerts kept in memory; the oldest closed ones go first
_MEMBER_CANCELS = (CloseReason.CANCELED, CloseReason.CANCEL_ALL, CloseReason.DECREASED)
_BPS = 10_000


class Evidence:
    """One order event or trade an alert rests on, by the sequence number that committed it."""

    __slots__ = ("account_id", "item_id", "seq", "what")

    def __init__(self, seq: int, what: str, item_id: int, account_id: int) -> None:
        self.seq = seq
        self.what = what  # order_placed | order_canceled | trade
        self.item_id = item_id  # the order id, or the trade id
        self.account_id = account_id

    def as_tuple(self) -> tuple[int, str, int, int]:
        return (self.seq, self.what, self.item_id, self.account_id)


class Alert:
    __slots__ = ("accounts", "created_ms", "evidence", "evidence_count", "key", "kind", "last_seq", "note",
                 "state", "state_changed_ms", "summary", "ticker", "updated_ms")

    def __init__(self, key: str, kind: str, ticker: str, accounts: Iterable[int], time_ms: int, summary: str) -> None:
        self.key = key
        self.kind = kind
        self.ticker = ticker
        self.accounts = sorted(set(accounts))  # members' primary accounts
        self.created_ms = time_ms
        self.updated_ms = time_ms
        self.summary = summary
        self.evidence: list[Evidence] = []
        self.evidence_count = 0
        self.last_seq = 0
        self.state = OPEN
        self.note = ""
        self.state_changed_ms = 0

    def add(self, items: Iterable[Evidence]) -> None:
        known = {(x.seq, x.what, x.item_id) for x in self.evidence}
        for item in items:
            if (item.seq, item.what, item.item_id) in known:
                continue
            known.add((item.seq, item.what, item.item_id))
            self.evidence_count += 1
            self.last_seq = max(self.last_seq, item.seq)
            if len(self.evidence) < EVIDENCE_MAX:
                self.evidence.append(item)

    def signature(self) -> tuple[Any, ...]:
        """What the detectors decided (not the operator's state): equal for two runs over one journal."""
        return (self.key, self.kind, self.ticker, tuple(self.accounts), self.created_ms, self.summary,
                tuple(x.as_tuple() for x in self.evidence), self.evidence_count)


class _Order:
    __slots__ = ("account_id", "is_bid", "near_touch", "placed_ms", "seq")

    def __init__(self, account_id: int, is_bid: bool, near_touch: bool, placed_ms: int, seq: int) -> None:
        self.account_id = account_id
        self.is_bid = is_bid
        self.near_touch = near_touch
        self.placed_ms = placed_ms
        self.seq = seq


class _Trade:
    __slots__ = ("count", "price", "seq", "taker", "taker_account", "taker_is_bid", "time_ms", "trade_id")

    def __init__(self, seq: int, time_ms: int, trade: e.Trade, taker: int) -> None:
        self.seq = seq
        self.time_ms = time_ms
        self.trade_id = trade.trade_id
        self.price = trade.price_centicents
        self.count = trade.count_centicontracts
        self.taker_is_bid = trade.taker_is_bid
        self.taker_account = trade.taker_account_id
        self.taker = taker  # the taker's member group


class _Episode:
    """Spoofing candidates of one member on one side of one market: cancels after the other side filled."""

    __slots__ = ("alert", "canceled_centicontracts", "evidence", "orders", "start_ms")

    def __init__(self, start_ms: int) -> None:
        self.start_ms = start_ms
        self.orders = 0
        self.canceled_centicontracts = 0
        self.evidence: list[Evidence] = []
        self.alert: Alert | None = None


class _CloseWindow:
    __slots__ = ("close_ms", "trades")

    def __init__(self, close_ms: int, trades: list[_Trade]) -> None:
        self.close_ms = close_ms
        self.trades = trades


class _Market:
    __slots__ = ("asks", "bids", "recent", "side_trades", "sides", "volume", "wash")

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.recent: collections.deque[_Trade] = collections.deque()  # trades within the close window of the newest
        self.volume = 0  # contracts traded with a member not excluded on at least one side
        self.sides: dict[int, int] = {}  # member group -> contracts traded it was a side of
        self.side_trades: dict[int, list[Evidence]] = {}
        self.wash: dict[int, Alert] = {}  # member group -> its open wash episode's alert


class Detector:
    def __init__(self, thresholds: Thresholds, excluded: Callable[[int], bool] = lambda account: False) -> None:
        self.thresholds = thresholds
        self._excluded_account = excluded
        self._excluded: dict[int, bool] = {}
        self._primary: dict[int, int] = {}
        self._parent: dict[int, int] = {}  # union-find over primary accounts: the links in force
        self._links: list[tuple[int, int, int]] = []  # (after_seq, a, b), not yet in force
        self._markets: dict[str, _Market] = {}
        self._orders: dict[int, _Order] = {}
        self._last_fill: dict[tuple[int, str, bool], tuple[int, int, int, int]] = {}  # (member, ticker, side) -> ms, seq, trade, account
        self._episodes: dict[tuple[int, str, bool], _Episode] = {}
        self._closed_windows: dict[str, _CloseWindow] = {}  # closed, not yet determined: the last minutes' trades
        self.alerts: dict[str, Alert] = {}
        self.processed_seq = 0
        self.events_seen = 0
        self._handlers = self._handler_table()

    def _handler_table(self) -> dict[type, Callable[[int, int, Any], None]]:
        return {
            e.SubaccountCreated: self._subaccount, e.BookChanged: self._book, e.OrderAccepted: self._accepted,
            e.OrderClosed: self._closed, e.Trade: self._trade, e.MarketStatusChanged: self._status,
            e.MarketDetermined: self._determined,
        }

    # --- a checkpoint (monitor.py) --------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        """Everything the detectors decided from the entries so far; not the thresholds, the operator's
        test of who is excluded, or the handlers (given again by `restored`)."""
        state = dict(self.__dict__)
        for name in ("thresholds", "_excluded_account", "_handlers"):
            del state[name]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def restored(self, thresholds: Thresholds, excluded: Callable[[int], bool]) -> Detector:
        """This unpickled state made a working detector again (as one built with these thresholds)."""
        self.thresholds, self._excluded_account, self._handlers = thresholds, excluded, self._handler_table()
        return self

    # --- who is who -----------------------------------------------------------------------------------

    def link(self, after_seq: int, account_a: int, account_b: int) -> None:
        """Count two members (primary accounts) as one from the entry after `after_seq` on."""
        self._links.append((after_seq, account_a, account_b))
        self._links.sort()

    def member(self, account_id: int) -> int:
        return self._primary.get(account_id, account_id)

    def group(self, account_id: int) -> int:
        node = self.member(account_id)
        while self._parent.get(node, node) != node:
            node = self._parent[node]
        return node

    def excluded(self, account_id: int) -> bool:
        member = self.member(account_id)
        known = self._excluded.get(member)
        if known is None:
            known = self._excluded[member] = self._excluded_account(member)
        return known

    def _apply_links(self, seq: int) -> None:
        while self._links and self._links[0][0] < seq:
            _, a, b = self._links.pop(0)
            root_a, root_b = self.group(a), self.group(b)
            if root_a != root_b:
                self._parent[max(root_a, root_b)] = min(root_a, root_b)

    def group_members(self, group: int) -> list[int]:
        members = {group} | {m for m in self._parent if self.group(m) == group}
        return sorted(members)

    # --- feeding --------------------------------------------------------------------------------------

    def feed(self, seq: int, time_ms: int, events: Sequence[e.Event]) -> None:
        """One committed entry's events, in sequence (an entry at or before `processed_seq` is ignored)."""
        if seq <= self.processed_seq:
            return
        if self._links:
            self._apply_links(seq)
        handlers = self._handlers
        for event in events:
            handler = handlers.get(type(event))
            if handler is not None:
                handler(seq, time_ms, event)
        self.events_seen += len(events)
        self.processed_seq = seq

    def _market(self, ticker: str) -> _Market:
        market = self._markets.get(ticker)
        if market is None:
            market = self._markets[ticker] = _Market()
        return market

    def _raise(self, alert: Alert) -> Alert:
        if len(self.alerts) >= ALERTS_MAX:
            oldest = next((k for k, a in self.alerts.items() if a.state != OPEN), next(iter(self.alerts)))
            del self.alerts[oldest]
        self.alerts[alert.key] = alert
        return alert

    def _subaccount(self, seq: int, time_ms: int, event: e.SubaccountCreated) -> None:
        self._primary[event.subaccount_account_id] = event.account_id

    def _book(self, seq: int, time_ms: int, event: e.BookChanged) -> None:
        side = self._market(event.ticker).bids if event.is_bid else self._market(event.ticker).asks
        if event.size_after_centicontracts:
            side[event.price_centicents] = event.size_after_centicontracts
        else:
            side.pop(event.price_centicents, None)

    # --- spoofing and layering ------------------------------------------------------------------------

    def _accepted(self, seq: int, time_ms: int, event: e.OrderAccepted) -> None:
        market = self._market(event.ticker)
        side = market.bids if event.is_bid else market.asks
        if not side:
            distance = 0
        elif event.is_bid:
            distance = max(0, max(side) - event.price_centicents)
        else:
            distance = max(0, event.price_centicents - min(side))
        near = distance <= self.thresholds.spoof_touch_distance_centicents
        self._orders[event.order_id] = _Order(event.account_id, event.is_bid, near, time_ms, seq)

    def _closed(self, seq: int, time_ms: int, event: e.OrderClosed) -> None:
        order = self._orders.pop(event.order_id, None)
        t = self.thresholds
        if (order is None or not order.near_touch or event.status != OrderStatus.CANCELED or event.reason not in _MEMBER_CANCELS
                or event.reduced_by_centicontracts < t.spoof_order_min_centicontracts):
            return
        if event.filled_centicontracts * _BPS > t.spoof_filled_max_bps * event.initial_count_centicontracts:
            return
        member = self.member(event.account_id)
        fill = self._last_fill.get((member, event.ticker, not event.is_bid))
        if fill is None or fill[1] <= order.seq or time_ms - fill[0] > t.spoof_cancel_window_ms or self.excluded(member):
            return
        key = (member, event.ticker, event.is_bid)
        episode = self._episodes.get(key)
        if episode is None or time_ms - episode.start_ms > t.spoof_cancel_window_ms:
            episode = self._episodes[key] = _Episode(time_ms)
        episode.orders += 1
        episode.canceled_centicontracts += event.reduced_by_centicontracts
        episode.evidence += [Evidence(order.seq, "order_placed", event.order_id, event.account_id),
                             Evidence(fill[1], "trade", fill[2], fill[3]),
                             Evidence(seq, "order_canceled", event.order_id, event.account_id)]
        if episode.canceled_centicontracts < t.spoof_size_min_centicontracts:
            return
        kind = SPOOFING if episode.orders == 1 else LAYERING
        side = "bid" if event.is_bid else "ask"
        summary = (f"{episode.orders} order(s) on the {side}, {episode.canceled_centicontracts} centicontracts, "
                   f"cancelled within {t.spoof_cancel_window_ms} ms of a fill on the other side")
        if episode.alert is None:
            episode.alert = self._raise(Alert(f"spoof-{seq}", kind, event.ticker, [member], time_ms, summary))
        alert = episode.alert
        alert.kind, alert.summary, alert.updated_ms = kind, summary, time_ms
        alert.add(episode.evidence)
        episode.evidence = []

    # --- trades: wash, fills, the close window, concentration -------------------------------------------

    def _trade(self, seq: int, time_ms: int, trade: e.Trade) -> None:
        t = self.thresholds
        market = self._market(trade.ticker)
        taker_member, maker_member = self.member(trade.taker_account_id), self.member(trade.maker_account_id)
        taker, maker = self.group(taker_member), self.group(maker_member)
        self._last_fill[(taker_member, trade.ticker, trade.taker_is_bid)] = (time_ms, seq, trade.trade_id, trade.taker_account_id)
        self._last_fill[(maker_member, trade.ticker, not trade.taker_is_bid)] = (time_ms, seq, trade.trade_id, trade.maker_account_id)
        evidence = Evidence(seq, "trade", trade.trade_id, trade.taker_account_id)
        taker_out, maker_out = self.excluded(taker_member), self.excluded(maker_member)
        if taker == maker and not taker_out and not maker_out:
            self._wash(market, seq, time_ms, trade, taker, evidence)
        recent = market.recent
        recent.append(_Trade(seq, time_ms, trade, -1 if taker_out else taker))
        while recent and recent[0].time_ms < time_ms - t.close_window_ms:
            recent.popleft()
        if taker_out and maker_out:
            return
        market.volume += trade.count_centicontracts
        for group, out in ((taker, taker_out), (maker, maker_out) if maker != taker else (maker, True)):
            if out:
                continue
            market.sides[group] = market.sides.get(group, 0) + trade.count_centicontracts
            kept = market.side_trades.setdefault(group, [])
            if len(kept) < EVIDENCE_MAX:
                kept.append(evidence)

    def _wash(self, market: _Market, seq: int, time_ms: int, trade: e.Trade, group: int, evidence: Evidence) -> None:
        alert = market.wash.get(group)
        if alert is None or time_ms - alert.created_ms > self.thresholds.wash_window_ms:
            accounts = {self.member(trade.taker_account_id), self.member(trade.maker_account_id)}
            alert = market.wash[group] = self._raise(Alert(f"wash-{seq}", WASH, trade.ticker, accounts, time_ms, ""))
        alert.accounts = sorted(set(alert.accounts) | {self.member(trade.taker_account_id), self.member(trade.maker_account_id)})
        alert.add([evidence])
        alert.updated_ms = time_ms
        alert.summary = f"{alert.evidence_count} trade(s) between accounts of one member or linked members"

    def _status(self, seq: int, time_ms: int, event: e.MarketStatusChanged) -> None:
        if event.status != CLOSED:
            return
        market = self._markets.pop(event.ticker, None)
        if market is None:
            return
        window = self._close_window(market, time_ms)
        if window is not None:
            self._closed_windows[event.ticker] = window
        self._concentration(market, event.ticker, time_ms)
        for key in [k for k in self._last_fill if k[1] == event.ticker]:
            del self._last_fill[key]
        for key in [k for k in self._episodes if k[1] == event.ticker]:
            del self._episodes[key]

    def _close_window(self, market: _Market, close_ms: int) -> _CloseWindow | None:
        """The trades of the last minutes before the close."""
        start = close_ms - self.thresholds.close_window_ms
        window = [trade for trade in market.recent if trade.time_ms >= start]
        return _CloseWindow(close_ms, window) if window else None

    def _determined(self, seq: int, time_ms: int, event: e.MarketDetermined) -> None:
        """Judge the last minutes before the close once the market's value is known: a member's taking
        trades that moved the price toward where the market settled are informed, not marking."""
        closed = self._closed_windows.pop(event.ticker, None)
        if closed is None:
            return
        t = self.thresholds
        takers: dict[int, list[_Trade]] = {}
        started_at: dict[int, int] = {}  # member group -> the price of its first trade in the window
        traded_before: list[int] = []  # contracts traded in the window before each trade
        traded = 0
        for trade in closed.trades:
            if trade.taker >= 0:
                takers.setdefault(trade.taker, []).append(trade)
                started_at.setdefault(trade.taker, trade.price)
            traded_before.append(traded)
            traded += trade.count
        position = {id(trade): index for index, trade in enumerate(closed.trades)}
        for group, trades in sorted(takers.items()):
            buying = trades[0].taker_is_bid  # how far the member's own trades took the price, at their furthest
            move = (max(x.price for x in trades) if buying else min(x.price for x in trades)) - started_at[group]
            toward_value = event.settlement_value_centicents - started_at[group]
            if abs(move) < t.close_move_min_centicents or ((toward_value > 0) == (move > 0) and toward_value != 0):
                continue
            if len({x.seq for x in trades}) < t.close_trades_min or any(x.taker_is_bid != (move > 0) for x in trades):
                continue
            first, last = position[id(trades[0])], position[id(trades[-1])]
            while_trading = traded_before[last] + trades[-1].count - traded_before[first]  # from its first trade to its last
            if sum(x.count for x in trades) * _BPS < t.close_share_min_bps * while_trading:
                continue
            alert = self._raise(Alert(
                f"close-{event.ticker}-{group}", MARKING_THE_CLOSE, event.ticker, self.group_members(group), closed.close_ms,
                f"{len({x.seq for x in trades})} taking order(s) in the last {t.close_window_ms // 1000} s moved the price "
                f"{move:+d} centicents, away from the settlement value {event.settlement_value_centicents}"))
            alert.add(Evidence(x.seq, "trade", x.trade_id, x.taker_account) for x in trades)

    def _concentration(self, market: _Market, ticker: str, close_ms: int) -> None:
        t = self.thresholds
        if market.volume < t.concentration_volume_min_centicontracts:
            return
        for group, contracts in sorted(market.sides.items()):
            if contracts * _BPS < t.concentration_share_min_bps * market.volume:
                continue
            share_bps = contracts * _BPS // market.volume
            alert = self._raise(Alert(
                f"concentration-{ticker}-{group}", CONCENTRATION, ticker, self.group_members(group), close_ms,
                f"a side of {share_bps} bps of the {market.volume} centicontracts traded"))
            alert.add(market.side_trades.get(group, []))
