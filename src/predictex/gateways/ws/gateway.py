"""The WebSocket gateway: the HTTP server's upgrade handler, one connection per upgraded socket, the
fan-out hub on the exchange's bus, and the timer that pings every connection.

Authentication happens once, on the upgrade request, exactly as for REST: Kalshi's signed headers
(signed path `/trade-api/ws/v2`), the seed's signed form, or a session's bearer token. Credentials
that fail are refused with the REST error (401/403) and no upgrade; no credentials at all make a
public connection, whose private subscriptions are refused on the socket. A browser cannot send
headers on an upgrade: the web pages' sockets are known by their session cookie, through the
`cookie_principal` the app gives (gateways/web; it checks the Origin too). A socket from one of those
pages without a session (a visitor who is not logged in, as `page_origin` says) may follow the public
order book's `orderbook_delta` too: the book is public over REST, and the page shows it live; any
other connection without credentials is refused that channel, as Kalshi does. An authenticated connection
watches its credential: when its key is deleted, its session logged out or its member suspended, it
is told why and closed at once (accounts/revocation.py). A connection opened with a session (a
bearer token or a web page's cookie) also ends when that session expires: the sweeper looks at the
session when its expiry comes, and closes the socket unless a refresh moved the expiry later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable

from predictex.gateways.rest.handlers import Principal, authenticate
from predictex.gateways.rest.wire import ApiError
from predictex.gateways.ws import frames, handshake, kalshi, seed
from predictex.gateways.ws.connection import Connection, Session
from predictex.gateways.ws.hub import Hub
from predictex.gateways.ws.limits import WsLimits
from predictex.server import ids
from predictex.server.context import Exchange
from predictex.server.http import HttpProtocol, Request, Response, error_response, json_response

log = logging.getLogger("predictex.ws")

SessionFactory = Callable[[Hub, Connection, WsLimits, "int | None", str], Session]
SURFACES: dict[str, SessionFactory] = {kalshi.PATH: kalshi.KalshiSession, seed.PATH: seed.SeedSession}
_CREDENTIAL_HEADERS = ("kalshi-access-key", "kalshi-access-signature", "kalshi-access-timestamp", "authorization")


class WebSocketGateway:
    def __init__(self, exchange: Exchange, limits: WsLimits | None = None,
                 cookie_principal: Callable[[Request], Principal | None] | None = None,
                 page_origin: Callable[[Request], bool] | None = None) -> None:
        self.exchange = exchange
        self.cookie_principal = cookie_principal
        self.page_origin = page_origin
        self.limits = limits or WsLimits()
        self.hub = Hub(exchange)
        self.accepting = True
        self._stop_listening = exchange.bus.subscribe(self.hub.committed)
        self._sweeper: asyncio.Task[None] | None = None
        self._expiring: dict[Connection, tuple[str, int]] = {}  # a session's connection: (session id, expiry ms)

    @property
    def connections(self) -> int:
        return len(self.hub.connections)

    def upgrade(self, request: Request, transport: asyncio.Transport, protocol: HttpProtocol) -> Response | None:
        """The HTTP server's upgrade handler: a Response refuses; None means the socket is ours."""
        session_factory = SURFACES.get(request.path.rstrip("/") or "/")
        if session_factory is None:
            return error_response(404, "not_found", f"no WebSocket endpoint at {request.path}; use {kalshi.PATH} or {seed.PATH}")
        try:
            key = handshake.client_key(request)
        except handshake.HandshakeError as error:
            return error.response
        if not self.accepting or len(self.hub.connections) >= self.limits.connections_max:
            busy = error_response(503, "server_busy", "no more WebSocket connections are taken right now")
            busy.headers.append(("retry-after", "1"))
            return busy
        principal = None
        if any(request.headers.get(name) for name in _CREDENTIAL_HEADERS):
            try:
                principal = authenticate(self.exchange, request, "read")
            except ApiError as error:
                return json_response(error.status, error.body(), error.headers)
        elif self.cookie_principal is not None:
            principal = self.cookie_principal(request)
        visitor = principal is None and self.page_origin is not None and self.page_origin(request)
        self._accept(request, transport, protocol, key, session_factory, principal, visitor)
        return None

    def _accept(self, request: Request, transport: asyncio.Transport, protocol: HttpProtocol, key: str,
                session_factory: SessionFactory, principal: Principal | None, visitor: bool = False) -> None:
        loop = asyncio.get_running_loop()
        self.hub.attach(loop)
        peer = f"{request.client[0]}:{request.client[1]}" if request.client else "?"
        connection = Connection(self.hub, self.limits, loop.time(), peer)
        account_id = principal.account_id if principal is not None else None
        member_uuid = self.exchange.ids.to_uuid(ids.MEMBER, principal.member.member_id) if principal is not None else ""
        connection.session = session_factory(self.hub, connection, self.limits, account_id, member_uuid)
        if visitor and isinstance(connection.session, kalshi.KalshiSession):
            connection.session.page_visitor = True
        if principal is not None:
            connection.watch = self.exchange.accounts.watch(principal.authenticated,
                                                            lambda revocation: connection.revoked(revocation.reason))
            session_id = principal.authenticated.session_id
            until_ms = self.exchange.accounts.sessions.live_until_ms(session_id) if session_id is not None else None
            if session_id is not None and until_ms is not None:
                self._expiring[connection] = (session_id, until_ms)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.limits.socket_send_buffer_bytes)
        transport.write(handshake.switching_protocols(key))
        protocol.detach(connection)
        connection.connection_made(transport)
        self.hub.connections.add(connection)
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = loop.create_task(self._sweep())

    async def _sweep(self) -> None:
        """Once a tick: pings, pong and close deadlines. Ends when no connection is left."""
        hub = self.hub
        while hub.connections:
            limits = self.limits
            await asyncio.sleep(max(0.01, min(1.0, limits.ping_interval_s / 4, limits.pong_timeout_s / 4, limits.close_timeout_s / 2)))
            now = hub.now()
            for connection in list(hub.connections):
                connection.tick(now)
            if self._expiring:
                self._end_expired_sessions()
        self._expiring.clear()

    def _end_expired_sessions(self) -> None:
        sessions = self.exchange.accounts.sessions
        now_ms = sessions.now_ms()
        for connection, (session_id, until_ms) in list(self._expiring.items()):
            if connection not in self.hub.connections:
                del self._expiring[connection]
            elif now_ms >= until_ms:
                later_ms = sessions.live_until_ms(session_id)
                if later_ms is None:
                    del self._expiring[connection]
                    connection.revoked("the session expired; log in again for a new token")
                else:
                    self._expiring[connection] = (session_id, later_ms)

    async def close(self, grace_s: float = 2.0) -> None:
        """Stop taking connections, say goodbye to every open one (1001), stop listening to the bus."""
        self.accepting = False
        for connection in list(self.hub.connections):
            connection.close(frames.CLOSE_GOING_AWAY, "server shutting down")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_s
        while self.hub.connections and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for connection in list(self.hub.connections):
            connection.abort()
        await asyncio.sleep(0)
        self._stop_listening()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
