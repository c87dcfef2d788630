"""Every bound the WebSocket gateway enforces, in one place.

Inbound sizes protect the server from a client (a frame or message past its limit is skipped and
answered with an error, never buffered); outbound sizes protect everyone else from a slow client (a
connection whose unsent bytes pass `outbound_bytes_max` loses its subscriptions, with an error that
says so, and one that passes `outbound_bytes_abort` is dropped); the timers keep dead peers from
holding resources.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WsLimits:
    # inbound
    message_bytes_max: int = 256 * 1024  # one client message (all its fragments): larger ones are skipped, error sent
    control_bytes_max: int = 125  # RFC 6455: ping, pong and close payloads
    commands_per_second: float = 50.0  # each connection's command rate, refilled continuously ...
    commands_burst: int = 200  # ... with this much credit; past it: error 27 (Too many requests)
    # outbound
    outbound_bytes_max: int = 1024 * 1024  # unsent bytes of one connection before its subscriptions are dropped
    outbound_bytes_abort: int = 8 * 1024 * 1024  # unsent bytes at which the connection itself is dropped
    # the kernel's send buffer of each socket (SO_SNDBUF), fixed so that it cannot grow by itself to
    # megabytes for a reader that has stopped: what a connection may hold is this plus the above
    socket_send_buffer_bytes: int = 256 * 1024
    # subscriptions
    connections_max: int = 5_000  # open WebSocket connections; past it, upgrades are refused with 503
    subscriptions_per_connection_max: int = 64
    items_per_command_max: int = 100  # channels in one subscribe, sids in one unsubscribe
    markets_per_subscription_max: int = 1_000  # error 26 past this
    # time
    ping_interval_s: float = 10.0  # the server pings every connection this often (payload "heartbeat")
    pong_timeout_s: float = 20.0  # a connection that has not answered a ping for this long is dropped
    close_timeout_s: float = 2.0  # after our Close frame, how long we wait for the peer's before dropping it
