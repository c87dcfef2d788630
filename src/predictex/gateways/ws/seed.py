"""The seed's WebSocket API (`/v1/ws`), as its Node.js example uses it.

    -> {"type": "subscribe", "channels": ["orderbook:T", "trades:T", "market_status:T", "user_orders", "user_fills"]}
    <- {"type": "subscribed", "channels": [...]}
    <- {"type": "orderbook_update", "channel": "orderbook:T", "seq": 1, "data": {...}}
    -> {"type": "ping"}            <- {"type": "pong"}
    -> {"type": "unsubscribe", "channels": [...]}

Messages: `orderbook_update` (first the whole book with `"snapshot": true`, then one update per
command that changed it, each changed level with its new quantity, 0 when it is gone; `data.seq` is
the exchange's sequence number, the one GET /v1/markets/{ticker}/orderbook reports), `trade`,
`market_status` (the state when subscribed, then every change), `user_order` and `user_fill` (the
objects GET /v1/orders and GET /v1/portfolio/fills return). Every message carries its channel and a
per-channel `seq` counting from 1 without gaps. The user channels need the bearer token (or signed
headers) on the upgrade. Errors: `{"type": "error", "code": ..., "message": ..., "channel"?: ...}`;
the connection goes on. When the key, token or member of the upgrade is revoked (a deleted key, a
logout, a suspension), an error `credentials_revoked` is sent and the connection closed (1008).
"""

from __future__ import annotations

import functools
from typing import Any

import orjson

from predictex.core.limits import WS_SEED_CHANNEL_NAME_LENGTH_MAX
from predictex.gateways.shapes import seed as shapes
from predictex.gateways.ws import hub as h
from predictex.gateways.ws.connection import Connection
from predictex.gateways.ws.hub import Hub, Message, Subscription
from predictex.gateways.ws.limits import WsLimits

PATH = "/v1/ws"
MARKET_CHANNELS = {"orderbook": h.SEED_BOOK, "trades": h.TRADE, "market_status": h.SEED_STATUS}
USER_CHANNELS = {"user_orders": h.ORDER, "user_fills": h.FILL}


class SeedRefusal(Exception):
    def __init__(self, code: str, message: str, channel: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.channel = channel


class SeedSubscription(Subscription):
    __slots__ = ("channel", "channel_json")

    def __init__(self, connection: Connection, channel: str, kind: str, markets: set[str] | None, account_id: int | None,
                 member_uuid: str) -> None:
        super().__init__(connection, kind, markets, account_id, member_uuid)
        self.channel = channel
        self.channel_json = orjson.dumps(channel)

    def send(self, message: Message) -> None:
        if not self.active:
            return
        self.seq = seq = self.seq + 1
        self.connection.push(b'{"type":"%b","channel":%b,"seq":%d,"data":%b}' % (
            message.seed_type, self.channel_json, seq, message.seed_body(self)))


class SeedSession:
    def __init__(self, hub: Hub, connection: Connection, limits: WsLimits, account_id: int | None, member_uuid: str) -> None:
        self.hub = hub
        self.connection = connection
        self.limits = limits
        self.account_id = account_id
        self.member_uuid = member_uuid
        self.subscriptions: dict[str, SeedSubscription] = {}

    def on_text(self, payload: bytes) -> None:
        request_id: Any = None
        try:
            request = orjson.loads(payload)
            if not isinstance(request, dict):
                raise SeedRefusal("invalid_message", "send a JSON object such as {\"type\": \"subscribe\", \"channels\": [...]}")
            request_id = request.get("id")
            if not self.connection.allow_command():
                raise SeedRefusal("too_many_requests", f"more than {self.limits.commands_per_second:g} messages a second")
            self._dispatch(request, request_id)
        except orjson.JSONDecodeError as error:
            self._error(None, SeedRefusal("invalid_json", f"malformed JSON: {error}"))
        except SeedRefusal as refusal:
            self._error(request_id, refusal)

    def on_binary(self, payload: bytes) -> None:
        self._error(None, SeedRefusal("invalid_message", "send JSON text frames, not binary frames"))

    def on_too_big(self, size_bytes: int) -> None:
        self._error(None, SeedRefusal("message_too_large", f"message of {size_bytes}+ bytes is larger than the limit of "
                                                           f"{self.limits.message_bytes_max}"))

    def on_violation(self, reason: str) -> None:
        self._error(None, SeedRefusal("protocol_error", f"WebSocket protocol error: {reason}; closing"))
        self.hub.flush()

    def on_overflow(self) -> None:
        dropped = list(self.subscriptions)
        self.closed()
        self._send({"type": "error", "code": "slow_consumer", "channels": dropped,
                    "message": "the connection read too slowly and its subscriptions were dropped; subscribe again to resynchronise"})

    def on_revoked(self, reason: str) -> None:
        """The credential of the upgrade was revoked: every subscription ends, and the client is told
        why before the Close frame."""
        self.closed()
        self._send({"type": "error", "code": "credentials_revoked", "message": f"{reason}; this connection is closed"})

    def closed(self) -> None:
        for sub in self.subscriptions.values():
            self.hub.remove(sub)
        self.subscriptions.clear()

    # --- requests ----------------------------------------------------------------------------------------

    def _dispatch(self, request: dict[str, Any], request_id: Any) -> None:
        kind = request.get("type")
        if kind == "ping":
            self.hub.drain()  # the pong comes after everything committed before the ping, as replies do on Kalshi's surface
            self._send(_with_id({"type": "pong"}, request_id))
            return
        if kind not in ("subscribe", "unsubscribe"):
            raise SeedRefusal("unknown_type", f"unknown message type {kind!r}; send subscribe, unsubscribe or ping")
        channels = request.get("channels")
        if not isinstance(channels, list) or not channels or not all(isinstance(c, str) and len(c) <= WS_SEED_CHANNEL_NAME_LENGTH_MAX for c in channels):
            raise SeedRefusal("invalid_channels", "channels must be a non-empty list of channel names such as \"orderbook:TICKER\"")
        if len(channels) > self.limits.items_per_command_max:
            raise SeedRefusal("invalid_channels", f"at most {self.limits.items_per_command_max} channels in one message")
        self.hub.drain()
        if kind == "subscribe":
            self._subscribe(list(dict.fromkeys(channels)), request_id)
        else:
            self._unsubscribe(list(dict.fromkeys(channels)), request_id)

    def _subscribe(self, channels: list[str], request_id: Any) -> None:
        accepted: list[SeedSubscription] = []
        for channel in channels:
            try:
                accepted.append(self._subscription(channel))
            except SeedRefusal as refusal:
                self._error(request_id, refusal)
        if not accepted:
            return
        self._send(_with_id({"type": "subscribed", "channels": [sub.channel for sub in accepted]}, request_id))
        markets = self.hub.exchange.live.markets
        for sub in accepted:
            if sub.kind == h.SEED_BOOK:  # the whole book first (again, on a repeated subscribe: a resync)
                market = markets[next(iter(sub.markets or ()))]
                sub.send(Message(b"", None, b"orderbook_update", functools.partial(shapes.book_snapshot, market)))
            elif sub.kind == h.SEED_STATUS:
                market = markets[next(iter(sub.markets or ()))]
                sub.send(Message(b"", None, b"market_status", functools.partial(shapes.status, market)))

    def _subscription(self, channel: str) -> SeedSubscription:
        existing = self.subscriptions.get(channel)
        if existing is not None:
            return existing
        prefix, colon, ticker = channel.partition(":")
        if colon and prefix in MARKET_CHANNELS:
            if ticker not in self.hub.exchange.live.markets:
                raise SeedRefusal("market_not_found", f"no market {ticker!r}", channel)
            kind, markets = MARKET_CHANNELS[prefix], {ticker}
        elif not colon and channel in USER_CHANNELS:
            if self.account_id is None:
                raise SeedRefusal("authentication_required", f"{channel} needs Authorization: Bearer <token> on the connection", channel)
            kind, markets = USER_CHANNELS[channel], None
        else:
            raise SeedRefusal("unknown_channel", f"no channel {channel!r}; channels: orderbook:<market>, trades:<market>, "
                                                 "market_status:<market>, user_orders, user_fills", channel)
        if len(self.subscriptions) >= self.limits.subscriptions_per_connection_max:
            raise SeedRefusal("too_many_subscriptions", f"at most {self.limits.subscriptions_per_connection_max} channels on one connection",
                              channel)
        sub = SeedSubscription(self.connection, channel, kind, markets, self.account_id, self.member_uuid)
        self.subscriptions[channel] = sub
        self.hub.add(sub)
        return sub

    def _unsubscribe(self, channels: list[str], request_id: Any) -> None:
        removed = []
        for channel in channels:
            sub = self.subscriptions.pop(channel, None)
            if sub is None:
                self._error(request_id, SeedRefusal("not_subscribed", f"not subscribed to {channel!r}", channel))
                continue
            self.hub.remove(sub)
            removed.append(channel)
        if removed:
            self._send(_with_id({"type": "unsubscribed", "channels": removed}, request_id))

    # --- replies ---------------------------------------------------------------------------------------

    def _send(self, obj: dict[str, Any]) -> None:
        self.connection.push(orjson.dumps(obj))

    def _error(self, request_id: Any, refusal: SeedRefusal) -> None:
        body: dict[str, Any] = {"type": "error", "code": refusal.code, "message": refusal.message}
        if refusal.channel is not None:
            body["channel"] = refusal.channel
        self._send(_with_id(body, request_id))


def _with_id(body: dict[str, Any], request_id: Any) -> dict[str, Any]:
    if isinstance(request_id, (int, str)) and not isinstance(request_id, bool):
        body["id"] = request_id
    return body
