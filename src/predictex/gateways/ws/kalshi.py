"""Kalshi's WebSocket API v2 (`/trade-api/ws/v2`, reference §9): commands in, subscriptions out.

Commands `subscribe`, `unsubscribe`, `update_subscription` (add_markets, delete_markets, get_snapshot)
and `list_subscriptions`, each answered with its `id`; one subscription (`sid`) per channel and
connection, so subscribing again to a channel adds its markets to the subscription it has (Kalshi's
idempotent subscribe). Sequenced channels number their messages per subscription from 1 without gaps;
`ok` replies repeat the last number sent and do not take one. Refusals are `error` messages with the
codes of §9.4, a refused command changes nothing, and the connection goes on.

Private channels need the connection to have been authenticated on the upgrade (error 9 otherwise);
so does `orderbook_delta`, as Kalshi's documentation says, except on a socket of this exchange's own
web page opened by a visitor who is not logged in (`page_visitor`): the book is public over REST. When that credential is revoked (its key
deleted, its session logged out, its member suspended) the connection gets error 9 with the reason
in `details`, then a Close frame (1008). The index feeds (cfbenchmarks, pyth) are
not offered (error 8). `multivariate_market_lifecycle` carries the lifecycle of combination markets
(multivariate event collections), which `market_lifecycle_v2` leaves to it.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

import orjson

from predictex.core.limits import WS_SHARD_FACTOR_MAX
from predictex.gateways.shapes import kalshi as shapes
from predictex.gateways.ws import hub as h
from predictex.gateways.ws.connection import Connection
from predictex.gateways.ws.hub import Hub, Message, Subscription
from predictex.gateways.ws.limits import WsLimits

log = logging.getLogger("predictex.ws")

PATH = "/trade-api/ws/v2"

ERRORS: dict[int, str] = {
    1: "Unable to process message",
    2: "Params required",
    3: "Channels required",
    4: "Subscription IDs required",
    5: "Unknown command",
    7: "Unknown subscription ID",
    8: "Unknown channel name",
    9: "Authentication required",
    10: "Channel error",
    11: "Invalid parameter",
    12: "Exactly one subscription ID is required",
    13: "Unsupported action",
    14: "Market Ticker required",
    15: "Action required",
    16: "Market not found",
    19: "shard_factor must be > 0",
    20: "shard_factor is required when shard_key is set",
    21: "shard_key must be >= 0 and < shard_factor",
    22: "shard_factor must be <= 100",
    25: "Subscription buffer overflow",
    26: "Subscription market limit exceeded",
    27: "Too many requests",
}


@dataclass(frozen=True)
class Channel:
    kind: str
    private: bool
    markets: str  # "required", "optional" (none: every market) or "ignored"
    sequenced: bool
    by_market_id: bool = False  # market_id / market_ids accepted (the ticker channel only)


CHANNELS: dict[str, Channel] = {
    "orderbook_delta": Channel(h.BOOK, True, "required", True),
    "ticker": Channel(h.TICKER, False, "optional", False, by_market_id=True),
    "trade": Channel(h.TRADE, False, "optional", True),
    "fill": Channel(h.FILL, True, "optional", False),
    "market_positions": Channel(h.POSITION, True, "optional", False),
    "user_orders": Channel(h.ORDER, True, "optional", False),
    "market_lifecycle_v2": Channel(h.LIFECYCLE, False, "ignored", True),
    "multivariate_market_lifecycle": Channel(h.MVE_LIFECYCLE, False, "ignored", True),
    "order_group_updates": Channel(h.GROUP, True, "ignored", True),
    "communications": Channel(h.COMMS, True, "ignored", True),
}
ACTIONS = ("add_markets", "delete_markets", "get_snapshot")


class Refusal(Exception):
    def __init__(self, code: int, details: str = "", **extra: Any) -> None:
        super().__init__(ERRORS[code])
        self.code = code
        self.details = details
        self.extra = extra


class KalshiSubscription(Subscription):
    __slots__ = ("channel", "name", "skip_ticker_ack", "use_yes_price")

    def __init__(self, connection: Connection, name: str, channel: Channel, sid: int, markets: set[str] | None,
                 account_id: int | None, member_uuid: str) -> None:
        super().__init__(connection, channel.kind, markets, account_id, member_uuid)
        self.name = name
        self.channel = channel
        self.sid = sid
        self.use_yes_price = False
        self.skip_ticker_ack = False

    def send(self, message: Message) -> None:
        if not self.active:
            return
        body = message.kalshi_body(self, self.use_yes_price)
        if self.channel.sequenced:
            self.seq = seq = self.seq + 1
            self.connection.push(b'{"type":"%b","sid":%d,"seq":%d,"msg":%b}' % (message.kalshi_type, self.sid, seq, body))
        else:
            self.connection.push(b'{"type":"%b","sid":%d,"msg":%b}' % (message.kalshi_type, self.sid, body))


class KalshiSession:
    """One connection's commands and subscriptions."""

    def __init__(self, hub: Hub, connection: Connection, limits: WsLimits, account_id: int | None, member_uuid: str) -> None:
        self.hub = hub
        self.connection = connection
        self.limits = limits
        self.account_id = account_id
        self.member_uuid = member_uuid
        self.page_visitor = False  # one of this exchange's pages, without a session: the public book's deltas are allowed
        self.subscriptions: dict[int, KalshiSubscription] = {}
        self.by_channel: dict[str, KalshiSubscription] = {}
        self.next_sid = 1

    # --- what the connection hands over ------------------------------------------------------------------

    def on_text(self, payload: bytes) -> None:
        command_id = 0
        try:
            command = orjson.loads(payload)
            if not isinstance(command, dict):
                raise Refusal(1, "a command is a JSON object")
            command_id = _command_id(command)
            if not self.connection.allow_command():
                raise Refusal(27, f"more than {self.limits.commands_per_second:g} commands a second")
            self._dispatch(command, command_id)
        except orjson.JSONDecodeError as error:
            self._error(0, Refusal(1, f"malformed JSON: {error}"))
        except Refusal as refusal:
            self._error(command_id, refusal)

    def on_binary(self, payload: bytes) -> None:
        self._error(0, Refusal(1, "commands are JSON text frames, not binary frames"))

    def on_too_big(self, size_bytes: int) -> None:
        self._error(0, Refusal(1, f"message of {size_bytes}+ bytes is larger than the limit of {self.limits.message_bytes_max}"))

    def on_violation(self, reason: str) -> None:
        self._error(0, Refusal(1, f"WebSocket protocol error: {reason}; closing"))
        self.hub.flush()

    def on_overflow(self) -> None:
        """The connection fell too far behind: every subscription ends (terminal error 25)."""
        for sub in list(self.subscriptions.values()):
            self._end(sub)
            self._send({"type": "error", "sid": sub.sid, "msg": {
                "code": 25, "msg": ERRORS[25], "details": "the connection read too slowly; subscribe again to resynchronise"}})

    def on_revoked(self, reason: str) -> None:
        """The credential of the upgrade was revoked: every subscription ends, then error 9 says why
        (the Close frame follows)."""
        self.closed()
        self._error(0, Refusal(9, f"{reason}; this connection is closed"))

    def closed(self) -> None:
        for sub in list(self.subscriptions.values()):
            self._end(sub)

    # --- commands ----------------------------------------------------------------------------------------

    def _dispatch(self, command: dict[str, Any], command_id: int) -> None:
        name = command.get("cmd")
        handler = _COMMANDS.get(name) if isinstance(name, str) else None
        if handler is None:
            raise Refusal(5, f"unknown command {name!r}; use subscribe, unsubscribe, update_subscription or list_subscriptions")
        params = command.get("params")
        if name != "list_subscriptions":
            if params is None:
                raise Refusal(2)
            if not isinstance(params, dict):
                raise Refusal(1, "params must be a JSON object")
        self.hub.drain()  # replies and snapshots meet the streams at one sequence point
        handler(self, params or {}, command_id)

    def _subscribe(self, params: dict[str, Any], command_id: int) -> None:
        channels = params.get("channels")
        if not isinstance(channels, list) or not channels or not all(isinstance(c, str) for c in channels):
            raise Refusal(3, "channels must be a non-empty list of channel names")
        if len(channels) > self.limits.items_per_command_max:
            raise Refusal(11, f"at most {self.limits.items_per_command_max} channels in one subscribe")
        for name in dict.fromkeys(channels):
            try:
                self._subscribe_one(name, params, command_id)
            except Refusal as refusal:
                self._error(command_id, refusal)

    def _subscribe_one(self, name: str, params: dict[str, Any], command_id: int) -> None:
        channel = CHANNELS.get(name)
        if channel is None:
            raise Refusal(8, f"no channel {name!r}; channels: {', '.join(CHANNELS)}")
        if channel.private and self.account_id is None and not (self.page_visitor and channel.kind == h.BOOK):
            raise Refusal(9, f"{name} is private: authenticate the connection with the KALSHI-ACCESS-* headers on the upgrade")
        if name == "communications":
            _check_shards(params)
        markets = self._markets(params, channel, required=channel.markets == "required")
        use_yes_price = _flag(params, "use_yes_price")
        snapshot = _flag(params, "send_initial_snapshot")
        skip_ack = _flag(params, "skip_ticker_ack")
        existing = self.by_channel.get(name)
        if existing is not None:
            added = self._add_markets(existing, markets)
            self._reply(command_id, "subscribed", {"channel": name, "sid": existing.sid})
            self._initial(existing, added, snapshot)
            return
        if len(self.subscriptions) >= self.limits.subscriptions_per_connection_max:
            raise Refusal(10, f"at most {self.limits.subscriptions_per_connection_max} subscriptions on one connection")
        sub = KalshiSubscription(self.connection, name, channel, self.next_sid, markets, self.account_id, self.member_uuid)
        sub.use_yes_price = use_yes_price
        sub.skip_ticker_ack = skip_ack
        sub.plain_book = channel.kind == h.BOOK and not use_yes_price
        self.next_sid += 1
        self.subscriptions[sub.sid] = sub
        self.by_channel[name] = sub
        self.hub.add(sub)
        self._reply(command_id, "subscribed", {"channel": name, "sid": sub.sid})
        self._initial(sub, sorted(markets) if markets is not None else [], snapshot)

    def _unsubscribe(self, params: dict[str, Any], command_id: int) -> None:
        sids = params.get("sids")
        if not isinstance(sids, list) or not sids:
            raise Refusal(4, "sids must be a non-empty list of subscription ids")
        if len(sids) > self.limits.items_per_command_max:
            raise Refusal(11, f"at most {self.limits.items_per_command_max} sids in one unsubscribe")
        for sid in sids:
            sub = self.subscriptions.get(sid) if _is_int(sid) else None
            if sub is None:
                self._error(command_id, Refusal(7, f"no subscription {sid!r} on this connection"))
                continue
            self._end(sub)
            self._send({"id": command_id, "sid": sub.sid, "seq": sub.seq + 1, "type": "unsubscribed"} if command_id
                       else {"sid": sub.sid, "seq": sub.seq + 1, "type": "unsubscribed"})

    def _update(self, params: dict[str, Any], command_id: int) -> None:
        sid = _one_sid(params)
        action = params.get("action")
        if action is None:
            raise Refusal(15)
        if action not in ACTIONS:
            raise Refusal(13, f"action must be one of {', '.join(ACTIONS)}")
        sub = self.subscriptions.get(sid)
        if sub is None:
            raise Refusal(7, f"no subscription {sid!r} on this connection")
        channel = sub.channel
        if action == "get_snapshot":
            if channel.kind != h.BOOK:
                raise Refusal(13, "get_snapshot is for orderbook_delta subscriptions")
            wanted = self._markets(params, channel, required=False)
            tickers = sorted(wanted if wanted is not None else (sub.markets or ()))
            outside = [t for t in tickers if sub.markets is not None and t not in sub.markets]
            if outside:
                raise Refusal(11, f"not in subscription {sub.sid}: {', '.join(outside)}", market_ticker=outside[0])
            self._snapshots(sub, tickers)
            return
        if channel.markets != "optional" and channel.markets != "required":
            raise Refusal(13, f"{sub.name} has no market filter to change")
        markets = self._markets(params, channel, required=True)
        assert markets is not None
        if action == "add_markets":
            added = self._add_markets(sub, markets)
        else:
            added = []
            self._delete_markets(sub, markets)
        self._ok(sub, command_id)
        self._initial(sub, added, _flag(params, "send_initial_snapshot"))

    def _list(self, params: dict[str, Any], command_id: int) -> None:
        listed = [{"channel": sub.name, "sid": sub.sid} for sub in sorted(self.subscriptions.values(), key=lambda s: s.sid)]
        self._reply(command_id, "ok", listed)

    # --- subscriptions ---------------------------------------------------------------------------------

    def _markets(self, params: dict[str, Any], channel: Channel, *, required: bool) -> set[str] | None:
        """The markets a command names (None: none named), each checked to exist."""
        if channel.markets == "ignored":
            return None
        given = [name for name in ("market_ticker", "market_tickers", "market_id", "market_ids") if params.get(name) is not None]
        if len(given) > 1:
            raise Refusal(11, f"give one of market_ticker, market_tickers, market_id, market_ids, not {', '.join(given)}")
        if not given:
            if required:
                raise Refusal(14, "name the markets with market_ticker or market_tickers")
            return None
        field = given[0]
        if field.startswith("market_id") and not channel.by_market_id:
            raise Refusal(11, f"{field} is for the ticker channel; use market_ticker or market_tickers")
        values = params[field] if field.endswith("s") else [params[field]]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values) or (field.endswith("s") and not values):
            raise Refusal(11, f"{field} must be {'a non-empty list of strings' if field.endswith('s') else 'a string'}")
        if len(values) > self.limits.markets_per_subscription_max:
            raise Refusal(26, f"at most {self.limits.markets_per_subscription_max} markets in one subscription")
        return self._known(field, values)

    def _known(self, field: str, values: list[str]) -> set[str]:
        markets = self.hub.exchange.live.markets
        tickers: set[str] = set()
        for value in values:
            if field.startswith("market_id"):
                market = self.hub.market_by_id(value)
                if market is None:
                    raise Refusal(16, f"no market with id {value!r}", market_id=value)
                tickers.add(market.ticker)
            elif value not in markets:
                raise Refusal(16, f"no market {value!r}", market_ticker=value)
            else:
                tickers.add(value)
        return tickers

    def _add_markets(self, sub: KalshiSubscription, markets: set[str] | None) -> list[str]:
        """Widen a subscription; returns the markets it did not have."""
        if sub.markets is None:
            return []
        if markets is None:
            self.hub.change_markets(sub, None)
            return []
        added = sorted(markets - sub.markets)
        if len(sub.markets) + len(added) > self.limits.markets_per_subscription_max:
            raise Refusal(26, f"at most {self.limits.markets_per_subscription_max} markets in one subscription")
        if added:
            self.hub.change_markets(sub, sub.markets | markets)
        return added

    def _delete_markets(self, sub: KalshiSubscription, markets: set[str]) -> None:
        if sub.markets is None:
            raise Refusal(11, f"subscription {sub.sid} is for every market; unsubscribe instead")
        self.hub.change_markets(sub, sub.markets - markets)

    def _initial(self, sub: KalshiSubscription, tickers: list[str], ticker_snapshot: bool) -> None:
        """What a subscription sends first: the books of its new markets; tickers if asked for."""
        if sub.channel.kind == h.BOOK:
            self._snapshots(sub, tickers)
        elif sub.channel.kind == h.TICKER and ticker_snapshot:
            markets = self.hub.exchange.live.markets
            for ticker in tickers:
                sub.send(self.hub.ticker_message(markets[ticker]))

    def _snapshots(self, sub: KalshiSubscription, tickers: list[str]) -> None:
        markets = self.hub.exchange.live.markets
        for ticker in tickers:
            build = functools.partial(shapes.book_snapshot, markets[ticker], self.hub.market_id(ticker), sub.use_yes_price)
            sub.send(Message(b"orderbook_snapshot", build))

    def _end(self, sub: KalshiSubscription) -> None:
        self.hub.remove(sub)
        self.subscriptions.pop(sub.sid, None)
        if self.by_channel.get(sub.name) is sub:
            del self.by_channel[sub.name]

    # --- replies ---------------------------------------------------------------------------------------

    def _send(self, obj: dict[str, Any]) -> None:
        self.connection.push(orjson.dumps(obj))

    def _reply(self, command_id: int, kind: str, msg: Any) -> None:
        self._send({"id": command_id, "type": kind, "msg": msg} if command_id else {"type": kind, "msg": msg})

    def _ok(self, sub: KalshiSubscription, command_id: int) -> None:
        reply: dict[str, Any] = {"id": command_id} if command_id else {}
        reply["sid"] = sub.sid
        if sub.seq:
            reply["seq"] = sub.seq
        reply["type"] = "ok"
        msg: dict[str, Any] = {}
        if not sub.skip_ticker_ack:
            tickers = sorted(sub.markets or ())
            msg["market_tickers"] = tickers
            if sub.channel.by_market_id:
                msg["market_ids"] = [self.hub.market_id(t) for t in tickers]
        reply["msg"] = msg
        self._send(reply)

    def _error(self, command_id: int, refusal: Refusal) -> None:
        msg: dict[str, Any] = {"code": refusal.code, "msg": ERRORS[refusal.code]}
        if refusal.details:
            msg["details"] = refusal.details
        msg.update(refusal.extra)
        self._send({"id": command_id, "type": "error", "msg": msg} if command_id else {"type": "error", "msg": msg})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _command_id(command: dict[str, Any]) -> int:
    value = command.get("id", 0)
    if value is None:
        return 0
    if not _is_int(value) or not 0 <= value < 1 << 63:
        raise Refusal(1, "id must be a whole number from 0 up")
    return int(value)


def _one_sid(params: dict[str, Any]) -> int:
    """The one subscription id of an update_subscription (as `sid`, or `sids` holding one)."""
    sid, sids = params.get("sid"), params.get("sids")
    if (sid is None) == (sids is None):
        raise Refusal(12, "give sid or sids (with one id), not both")
    if sids is not None:
        if not isinstance(sids, list) or len(sids) != 1:
            raise Refusal(12, "sids must hold exactly one subscription id")
        sid = sids[0]
    if not isinstance(sid, int) or isinstance(sid, bool):
        raise Refusal(7, f"no subscription {sid!r} on this connection")
    return sid


def _flag(params: dict[str, Any], name: str) -> bool:
    value = params.get(name, False)
    if not isinstance(value, bool):
        raise Refusal(11, f"{name} must be true or false")
    return value


def _check_shards(params: dict[str, Any]) -> None:
    factor, key = params.get("shard_factor"), params.get("shard_key")
    if factor is not None:
        if not _is_int(factor) or factor <= 0:
            raise Refusal(19)
        if factor > WS_SHARD_FACTOR_MAX:
            raise Refusal(22)
    if key is not None:
        if factor is None:
            raise Refusal(20)
        if not _is_int(key) or not 0 <= key < factor:
            raise Refusal(21)


_COMMANDS = {
    "subscribe": KalshiSession._subscribe,
    "unsubscribe": KalshiSession._unsubscribe,
    "update_subscription": KalshiSession._update,
    "list_subscriptions": KalshiSession._list,
}
