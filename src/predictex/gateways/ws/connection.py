"""One WebSocket connection after the handshake: frames in and out, keep-alive, closing, and the
bounded outbound buffer.

The transport only moves bytes; what the bytes mean is the frame parser's job (frames.py) and what
the messages mean is the session's (kalshi.py, seed.py). Outbound messages are appended to a list and
written with one `transport.write` per flush (the hub flushes every connection it touched once per
batch of committed commands, so a connection receives a batch in one write, not one per message).

Bounds: bytes not yet taken by the peer (our list plus the transport's buffer) past
`outbound_bytes_max` is an overflow: the session drops its subscriptions and says so (Kalshi error 25),
so a slow reader costs nobody else anything; past `outbound_bytes_abort` the connection is dropped.
A connection that leaves a ping unanswered for `pong_timeout_s` is dropped; one that breaks the
framing rules is told why (an error message, then a Close frame with RFC 6455's code); one whose
credential is revoked likewise (an error, then Close 1008).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from predictex.accounts import Watch
from predictex.gateways.ws import frames
from predictex.gateways.ws.limits import WsLimits

log = logging.getLogger("predictex.ws")

HEARTBEAT = b"heartbeat"
_HEADERS_CACHED = 4096
_HEADERS = tuple(frames.text_header(size) for size in range(_HEADERS_CACHED))  # frame headers of the usual sizes, made once


class Session(Protocol):
    """What a surface (Kalshi v2, the seed's) does with a connection's messages."""

    def on_text(self, payload: bytes) -> None: ...
    def on_binary(self, payload: bytes) -> None: ...
    def on_too_big(self, size_bytes: int) -> None: ...
    def on_violation(self, reason: str) -> None: ...
    def on_overflow(self) -> None: ...
    def on_revoked(self, reason: str) -> None: ...
    def closed(self) -> None: ...


class Keeper(Protocol):
    """What a connection needs of the hub that keeps it (the hub provides it; this module does not
    import the hub, so the two do not import each other)."""

    def now(self) -> float: ...
    def forget(self, connection: Connection) -> None: ...
    def mark_dirty(self, connection: Connection) -> None: ...


class Connection(asyncio.Protocol):
    __slots__ = (
        "_close_deadline", "_closing", "_command_credit", "_command_refill_at", "_last_ping", "_overflowing", "_parser",
        "_ping_outstanding_since", "buffered", "dirty", "hub", "limits", "lost", "out", "out_bytes", "peer",
        "session", "transport", "watch",
    )

    def __init__(self, hub: Keeper, limits: WsLimits, now: float, peer: str) -> None:
        self.hub = hub
        self.limits = limits
        self.peer = peer
        self.session: Session | None = None
        self.watch: Watch | None = None  # the revocation watch of the upgrade's credential (None: public)
        self.transport: asyncio.Transport | None = None
        self._parser = frames.FrameParser(expect_masked=True, message_bytes_max=limits.message_bytes_max)
        self.out: list[bytes] = []
        self.out_bytes = 0  # payload bytes in `out`
        self.buffered = 0  # the transport's unsent bytes, as of its last pause or resume
        self.dirty = False
        self.lost = False
        self._closing = False  # our Close frame is out: nothing more is sent
        self._close_deadline = 0.0
        self._overflowing = False
        self._last_ping = now
        self._ping_outstanding_since: float | None = None
        self._command_credit = float(limits.commands_burst)
        self._command_refill_at = now

    # --- asyncio.Protocol -------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        # the transport says when its buffer passes the bound (pause_writing), so no write asks
        transport.set_write_buffer_limits(high=self.limits.outbound_bytes_max, low=self.limits.outbound_bytes_max // 4)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        for event in self._parser.feed(data):
            if self.lost:  # an earlier event ended the connection
                return
            self._on_event(event)

    def eof_received(self) -> bool | None:
        return None  # the peer is gone: let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        if self.lost:
            return
        self.lost = self._closing = True
        self.out.clear()
        if self.watch is not None:
            self.watch.cancel()
        if self.session is not None:
            self.session.closed()
        self.hub.forget(self)

    # --- inbound ---------------------------------------------------------------------------------------

    def _on_event(self, event: frames.Event) -> None:
        session = self.session
        assert session is not None
        if isinstance(event, frames.Text):
            if self.watch is not None and self.watch.revoked is not None:  # revoked in another thread, not yet closed
                self.revoked(self.watch.revoked.reason)
            elif not self._closing:
                session.on_text(event.payload)
        elif isinstance(event, frames.Ping):
            self.push_frame(frames.frame(frames.OP_PONG, event.payload))
            self.flush()
        elif isinstance(event, frames.Pong):
            self._ping_outstanding_since = None
        elif isinstance(event, frames.Close):
            self._on_close(event)
        elif isinstance(event, frames.Binary):
            if not self._closing:
                session.on_binary(event.payload)
        elif isinstance(event, frames.TooBig):
            session.on_too_big(event.size_bytes)
        else:
            session.on_violation(event.reason)
            self.close(event.code, event.reason)

    def _on_close(self, event: frames.Close) -> None:
        if not self._closing:
            code = event.code if event.code != frames.CLOSE_NO_STATUS else frames.CLOSE_NORMAL
            self._closing = True
            self._send_now(frames.frame(frames.OP_CLOSE, frames.close_payload(code)))
        if self.transport is not None:
            self.transport.close()  # RFC 6455 §7.1.1: the server closes the TCP connection first

    def allow_command(self) -> bool:
        """Charge one command to the connection's rate limit; False when it has no credit left."""
        limits = self.limits
        now = self.hub.now()
        self._command_credit = min(float(limits.commands_burst), self._command_credit + (now - self._command_refill_at) * limits.commands_per_second)
        self._command_refill_at = now
        if self._command_credit < 1.0:
            return False
        self._command_credit -= 1.0
        return True

    # --- outbound --------------------------------------------------------------------------------------

    def push(self, payload: bytes) -> None:
        """Queue one text message (its JSON bytes); written at the next flush. (The fan-out's hot
        path: one call per message and subscriber.)"""
        if self._closing:  # also set once the connection is lost
            return
        size = len(payload)
        self.out.append((_HEADERS[size] if size < _HEADERS_CACHED else frames.text_header(size)) + payload)
        self.out_bytes += size
        if not self.dirty:
            self.dirty = True
            self.hub.mark_dirty(self)
        if self.out_bytes + self.buffered > self.limits.outbound_bytes_max:
            self._overflow()

    def push_frame(self, data: bytes) -> None:
        """Queue a whole frame (a control frame)."""
        if self._closing or self.lost:
            return
        self.out.append(data)
        self.out_bytes += len(data)
        if not self.dirty:
            self.dirty = True
            self.hub.mark_dirty(self)

    def flush(self) -> None:
        self.dirty = False
        out = self.out
        if not out or self.lost or self.transport is None:
            out.clear()
            return
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        self.out_bytes = 0
        self.transport.write(data)  # past the buffer's bound, this calls pause_writing: an overflow

    def pause_writing(self) -> None:
        if self.transport is not None:
            self.buffered = self.transport.get_write_buffer_size()
        self._overflow()

    def resume_writing(self) -> None:
        self.buffered = self.transport.get_write_buffer_size() if self.transport is not None else 0
        self._overflowing = False

    def _send_now(self, data: bytes) -> None:
        if self.lost or self.transport is None:
            return
        self.out.append(data)
        self.flush()

    def _overflow(self) -> None:
        if self.transport is not None:
            self.buffered = self.transport.get_write_buffer_size()
        if self.buffered + self.out_bytes > self.limits.outbound_bytes_abort:
            log.warning("dropping WebSocket connection %s: %d bytes unsent", self.peer, self.buffered + self.out_bytes)
            self.abort()
            return
        if self._overflowing:
            return
        self._overflowing = True
        log.info("WebSocket connection %s is too slow: %d bytes unsent; its subscriptions end", self.peer, self.buffered + self.out_bytes)
        if self.session is not None:
            self.session.on_overflow()

    # --- keep-alive and closing ---------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Called about once a second: pings, the pong deadline, the close deadline."""
        if self.lost:
            return
        if self._closing:
            if now > self._close_deadline:
                self.abort()
            return
        since = self._ping_outstanding_since
        if since is not None and now - since > self.limits.pong_timeout_s:
            log.info("WebSocket connection %s did not answer a ping for %.0f s; dropping it", self.peer, now - since)
            self._closing = True
            if self.transport is not None:
                self.out.clear()
                self.transport.write(frames.frame(frames.OP_CLOSE, frames.close_payload(frames.CLOSE_INTERNAL_ERROR, "keepalive ping timeout")))
            self.abort()
            return
        if now - self._last_ping >= self.limits.ping_interval_s:
            self._last_ping = now
            if since is None:
                self._ping_outstanding_since = now
            self.push_frame(frames.frame(frames.OP_PING, HEARTBEAT))
            self.flush()

    def close(self, code: int, reason: str = "") -> None:
        """Start the closing handshake: our Close frame goes out after what is queued; the peer has
        `close_timeout_s` to answer with its own before the connection is dropped."""
        if self._closing or self.lost:
            return
        self.out.append(frames.frame(frames.OP_CLOSE, frames.close_payload(code, reason)))
        self.flush()
        self._closing = True
        self._close_deadline = self.hub.now() + self.limits.close_timeout_s
        if self.session is not None:
            self.session.closed()

    def revoked(self, reason: str) -> None:
        """The credential the connection was opened with was revoked: the session ends its
        subscriptions and says why, then the Close frame (1008, policy violation) goes out."""
        if self._closing or self.lost:
            return
        if self.session is not None:
            self.session.on_revoked(reason)
        self.close(frames.CLOSE_POLICY, "credentials revoked")

    def abort(self) -> None:
        if self.lost:
            return
        self._closing = True
        if self.transport is not None:
            self.transport.abort()
