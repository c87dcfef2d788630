"""Every bound the WebSocket gateway enforces, as one configurable value; the defaults are the
numbers core/limits.py states (the RFC's own bound on control frames is the frame parser's).

Inbound sizes protect the server from a client (a frame or message past its limit is skipped and
answered with an error, never buffered); outbound sizes protect everyone else from a slow client (a
connection whose unsent bytes pass `outbound_bytes_max` loses its subscriptions, with an error that
says so, and one that passes `outbound_bytes_abort` is dropped); the timers keep dead peers from
holding resources.
"""

from __future__ import annotations

from dataclasses import dataclass

from predictex.core.limits import (
    WS_COMMANDS_BURST,
    WS_COMMANDS_PER_SECOND,
    WS_CONNECTIONS_MAX,
    WS_ITEMS_PER_COMMAND_MAX,
    WS_MARKETS_PER_SUBSCRIPTION_MAX,
    WS_MESSAGE_BYTES_MAX,
    WS_OUTBOUND_BYTES_ABORT,
    WS_OUTBOUND_BYTES_MAX,
    WS_SOCKET_SEND_BUFFER_BYTES,
    WS_SUBSCRIPTIONS_PER_CONNECTION_MAX,
)


@dataclass(frozen=True, slots=True)
class WsLimits:
    # inbound
    message_bytes_max: int = WS_MESSAGE_BYTES_MAX  # one client message (all its fragments): larger ones are skipped, error sent
    commands_per_second: float = WS_COMMANDS_PER_SECOND  # each connection's command rate, refilled continuously ...
    commands_burst: int = WS_COMMANDS_BURST  # ... with this much credit; past it: error 27 (Too many requests)
    # outbound
    outbound_bytes_max: int = WS_OUTBOUND_BYTES_MAX  # unsent bytes of one connection before its subscriptions are dropped
    outbound_bytes_abort: int = WS_OUTBOUND_BYTES_ABORT  # unsent bytes at which the connection itself is dropped
    # the kernel's send buffer of each socket (SO_SNDBUF), fixed so that it cannot grow by itself to
    # megabytes for a reader that has stopped: what a connection may hold is this plus the above
    socket_send_buffer_bytes: int = WS_SOCKET_SEND_BUFFER_BYTES
    # subscriptions
    connections_max: int = WS_CONNECTIONS_MAX  # open WebSocket connections; past it, upgrades are refused with 503
    subscriptions_per_connection_max: int = WS_SUBSCRIPTIONS_PER_CONNECTION_MAX
    items_per_command_max: int = WS_ITEMS_PER_COMMAND_MAX  # channels in one subscribe, sids in one unsubscribe
    markets_per_subscription_max: int = WS_MARKETS_PER_SUBSCRIPTION_MAX  # error 26 past this
    # time
    ping_interval_s: float = 10.0  # the server pings every connection this often (payload "heartbeat")
    pong_timeout_s: float = 20.0  # a connection that has not answered a ping for this long is dropped
    close_timeout_s: float = 2.0  # after our Close frame, how long we wait for the peer's before dropping it
