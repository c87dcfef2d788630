"""The FIX transport: one TCP listener per session kind (TLS when given a certificate), one
`Connection` per socket. A connection only moves bytes between the socket and its `Session` and hands
delivered application messages to the gateway. Bytes of a retransmitting session are written only
once the store has made its sequence numbers and messages durable. A peer that does not read (its
write buffer past the limit) is disconnected rather than allowed to hold memory. A session whose key
or member is revoked is logged out with the reason and closed, and nothing it sent after the
revocation reaches the gateway."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from typing import Any

from predictex.accounts import Watch
from predictex.core.limits import FIX_CONNECTIONS_MAX, FIX_WRITE_BUFFER_BYTES_MAX
from predictex.gateways.fix import drop_copy, order_entry, rfq
from predictex.gateways.fix import tags as t
from predictex.gateways.fix.gateway import FixGateway
from predictex.gateways.fix.kinds import RETRANSMITTING, SUPPORTED, Kind, session_config
from predictex.gateways.fix.peer import Principal
from predictex.gateways.fix.reports import ExecReport, render
from predictex.gateways.fix.session import Close, Deliver, LoggedOn, LogonRequest, Send, Session
from predictex.server.http import listening_port

log = logging.getLogger("predictex.fix")

TIMER_S = 0.25


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Connection(asyncio.Protocol):
    def __init__(self, acceptor: FixAcceptor, kind: Kind) -> None:
        self.acceptor = acceptor
        self.gateway = acceptor.gateway
        self.kind = kind
        self.session = Session(session_config(kind), self._authenticate, now_ms(), SUPPORTED[kind].__contains__)
        self.transport: asyncio.Transport | None = None
        self.principal: Principal | None = None
        self.flags: dict[int, bool] = {}
        self.use_dollars = False
        self.placed: set[int] = set()
        self.subscriptions = 0
        self.watch: Watch | None = None  # the revocation watch of the logon's key (set by the gateway)
        self._durable = kind in RETRANSMITTING
        self._deferred: list[bytes] = []
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self._timer: asyncio.TimerHandle | None = None
        self._closing = False

    @staticmethod
    def now_ms() -> int:
        return now_ms()

    # --- asyncio ---------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio.Transport subclasses
        if len(self.acceptor.connections) >= FIX_CONNECTIONS_MAX:
            self._abort()
            return
        self.acceptor.connections.add(self)
        self._timer = asyncio.get_running_loop().call_later(TIMER_S, self._tick)

    def data_received(self, data: bytes) -> None:
        try:
            self._handle(self.session.receive(data, now_ms()))
        except Exception:
            log.exception("FIX session failed on input; disconnecting")
            self._abort()
        self.gateway.flush()
        if self._durable:
            self.gateway.writer.flush_soon()  # received sequence numbers are durable soon, even if nothing is sent

    def connection_lost(self, exc: Exception | None) -> None:
        self.acceptor.connections.discard(self)
        if self._timer is not None:
            self._timer.cancel()
        self.session.disconnected()
        self.gateway.disconnected(self)
        if self._durable:
            self.gateway.writer.flush_soon()

    def _tick(self) -> None:
        try:
            self._handle(self.session.timer(now_ms()))
        except Exception:
            log.exception("FIX session timer failed; disconnecting")
            self._abort()
        if self.transport is not None and not self.transport.is_closing():
            self._timer = asyncio.get_running_loop().call_later(TIMER_S, self._tick)

    # --- session events --------------------------------------------------------------------------

    def _authenticate(self, request: LogonRequest) -> Any:
        return self.gateway.authenticate(self.kind, request)

    def _handle(self, events: list[Any]) -> None:
        for event in events:
            if self._closing and type(event) is Deliver:
                continue  # the session ended (revoked) while an earlier event of this batch was handled
            kind = type(event)
            if kind is Send:
                self._write(event.data)
            elif kind is Deliver:
                self._deliver(event.message)
            elif kind is LoggedOn:
                self.principal = event.grant.principal
                self.flags = event.flags
                self.use_dollars = bool(event.flags.get(t.USE_DOLLARS))
                self.gateway.logged_on(self)
            elif kind is Close:
                log.info("FIX %s session closed: %s", self.kind.value, event.reason)
                self._close()

    def _deliver(self, message: Any) -> None:
        watch = self.watch
        if watch is not None and watch.revoked is not None:  # revoked on another thread, not yet ended here
            self.revoked(watch.revoked.reason)
            return
        msg_type = message.msg_type
        gateway = self.gateway
        if self.kind in (Kind.ORDER_ENTRY, Kind.ORDER_ENTRY_RT):
            order_entry.handle(gateway, self, message, now_ms())
        elif self.kind is Kind.MARKET_DATA:
            gateway.market_data.handle(self, message)
        elif self.kind is Kind.RFQ:
            rfq.handle(gateway, self, message, now_ms())
        elif msg_type == t.EVENT_RESEND_REQUEST:
            drop_copy.handle(gateway, self, message)

    # --- output ----------------------------------------------------------------------------------

    def send(self, msg_type: bytes, body: bytes) -> None:
        """An application message from the gateway (dropped if the session is not active)."""
        if self._closing:
            return
        self._handle(self.session.send(msg_type, body, now_ms()))

    def send_report(self, report: ExecReport) -> None:
        self.send(t.EXECUTION_REPORT, render(report, self.use_dollars))

    def keep_report(self, report: ExecReport) -> bool:
        """An ExecutionReport for this retransmitting session after its connection has gone: numbered
        and stored for the peer's resend after it logs on again."""
        return self.session.keep(t.EXECUTION_REPORT, render(report, self.use_dollars), now_ms())

    def send_logout(self, text: str) -> None:
        self._handle(self.session.logout(text, now_ms()))

    def revoked(self, reason: str) -> None:
        """The logon's key (or its member) was revoked: Logout with the reason, then close; whatever
        the peer sends from now on is dropped unread."""
        self._handle(self.session.terminate(f"{reason}; this session is closed", now_ms()))
        self.gateway.flush()

    def _write(self, data: bytes) -> None:
        """Queue bytes for the socket; everything queued in one turn of the loop goes in one write."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self._durable:
            deferred = self._deferred
            deferred.append(data)
            if len(deferred) == 1:
                self.gateway.writer.durable().add_done_callback(self._flush_deferred)
            return
        out = self._out
        out.append(data)
        if len(out) == 1:
            self.gateway.touched.append(self)
            if not self._flush_scheduled:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        out = self._out
        if not out:
            return
        self._out = []
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.write(out[0] if len(out) == 1 else b"".join(out))
        if transport.get_write_buffer_size() > FIX_WRITE_BUFFER_BYTES_MAX:
            log.warning("FIX peer is not reading; disconnecting")
            self._abort()
        elif self._closing:
            transport.close()

    def _flush_deferred(self, future: asyncio.Future[None]) -> None:
        data, self._deferred = self._deferred, []
        transport = self.transport
        if future.cancelled() or future.exception() is not None:
            log.error("FIX session state could not be stored; disconnecting")
            self._abort()
            return
        if transport is not None and not transport.is_closing():
            transport.write(b"".join(data))
            if self._closing:
                transport.close()
            elif transport.get_write_buffer_size() > FIX_WRITE_BUFFER_BYTES_MAX:
                self._abort()

    def _close(self) -> None:
        self._closing = True
        if self.transport is not None and not self._deferred and not self._out:
            self.transport.close()

    def _abort(self) -> None:
        self._closing = True
        if self.transport is not None:
            self.transport.abort()


class FixAcceptor:
    """The listeners for the configured session kinds."""

    def __init__(self, gateway: FixGateway) -> None:
        self.gateway = gateway
        self.servers: dict[Kind, asyncio.base_events.Server] = {}
        self.connections: set[Connection] = set()

    async def start(self, host: str, ports: dict[Kind, int], tls: ssl.SSLContext | None = None) -> None:
        loop = asyncio.get_running_loop()
        for kind, port in ports.items():
            server = await loop.create_server(lambda kind=kind: Connection(self, kind), host, port, ssl=tls,
                                              reuse_address=True, backlog=256)
            self.servers[kind] = server
            log.info("FIX %s listening on %s:%d%s", kind.value, host, self.port(kind), " (TLS)" if tls else "")

    def port(self, kind: Kind) -> int:
        return listening_port(self.servers[kind])

    async def stop(self) -> None:
        """Stop listening, log every session out, and close the sockets once the store is durable."""
        for server in self.servers.values():
            server.close()
        for connection in list(self.connections):
            connection.send_logout("the exchange is shutting down")
        with contextlib.suppress(Exception):  # a store failure is already logged by the writer
            await self.gateway.writer.durable()
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.close()
        for server in self.servers.values():
            await server.wait_closed()


def tls_context(certificate: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, key or None)
    return context
