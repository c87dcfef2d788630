"""The simulated traders' HTTP: a small HTTP/1.1 client on asyncio's streams, given to the SDK's
`AsyncClient` as its transport (the SDK still builds, signs and reads every request; this only moves
the bytes).

Why: the simulator sends a request or more per trader every step, and the SDK's default transport
(httpx over httpcore and anyio) spent some 2 ms of CPU on each, most of the simulator's CPU and
more than the decisions, the signatures and the JSON together. Here a request is one write of its
bytes and a response is read by its Content-Length (or its chunks), on a kept-alive connection.

- One origin per transport (the exchange's URL); connections are kept alive and reused while idle
  less than `IDLE_MAX_S` (shorter than servers' usual idle timeouts, so a reused connection is very
  unlikely to be one the server is closing); one request at a time on a connection, a new connection
  when all are busy.
- A response is read whole; `Connection: close` (or HTTP/1.0 without keep-alive, or a body that
  runs to the end of the stream) closes the connection afterwards.
- No answer within the request's timeout raises `RequestTimeout`; a broken connection or an answer
  that is not HTTP raises `TransportError`: the SDK's retry rules then decide, as with its default
  transport (only reads and creates with a client order id are sent again).
- Proxies are not used: with a proxy set in the environment (HTTP_PROXY, HTTPS_PROXY...), or for a
  URL that is neither http nor https, `transport_for` gives the SDK's default transport instead.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import urllib.request
from urllib.parse import urlsplit

from predictex.client.environments import root_url
from predictex.client.errors import RequestTimeout, TransportError
from predictex.client.transport import AsyncHttpxTransport, AsyncTransport, HttpRequest, HttpResponse

IDLE_MAX_S = 4.0  # a connection idle this long is closed rather than reused
HEAD_MAX_BYTES = 64 * 1024  # a response's status line and headers
NO_BODY_STATUSES = (204, 304)


def transport_for(base_url: str) -> AsyncTransport:
    """The simulator's transport for an exchange at `base_url` (a URL; the SDK's default where this one does not fit)."""
    try:
        parts = urlsplit(root_url(base_url))
    except ValueError:
        return AsyncHttpxTransport()  # the SDK says what is wrong with it
    if parts.scheme not in ("http", "https") or not parts.hostname or urllib.request.getproxies():
        return AsyncHttpxTransport()
    return KeepAliveTransport(parts.geturl())


class _Connection:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def usable(self, now: float) -> bool:
        return now - self.idle_since < IDLE_MAX_S and not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


class KeepAliveTransport:
    """HTTP/1.1 with kept-alive connections to the origin of `base_url` (http or https)."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http or https URL: {base_url!r}")
        self.secure = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.secure else 80)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self._host_line = f"Host: {parts.netloc}\r\n"
        self._ssl: ssl.SSLContext | None = ssl.create_default_context() if self.secure else None
        self._idle: list[_Connection] = []
        self.opened = 0  # connections made, for tests and the log

    async def send(self, request: HttpRequest) -> HttpResponse:
        target = self._target(request.url)
        head = [f"{request.method} {target} HTTP/1.1\r\n", self._host_line]
        for name, value in request.headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
                raise TransportError(f"{request.method} {request.url}: header {name!r} would split the request")
            head.append(f"{name}: {value}\r\n")
        body = request.body
        if body is not None:
            head.append(f"Content-Length: {len(body)}\r\n")
        head.append("\r\n")
        data = "".join(head).encode("latin-1") + (body or b"")
        connection: _Connection | None = None
        try:
            async with asyncio.timeout(request.timeout_s):
                connection = await self._connection()
                connection.writer.write(data)
                await connection.writer.drain()
                response, keep = await _read_response(connection.reader)
        except TimeoutError as error:
            _close(connection)
            raise RequestTimeout(f"{request.method} {request.url}: no answer within {request.timeout_s:g} s") from error
        except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
            _close(connection)
            raise TransportError(f"{request.method} {request.url}: {type(error).__name__}: {error}") from error
        except BaseException:  # cancelled midway: what the connection carries next is unknown
            _close(connection)
            raise
        assert connection is not None
        if keep:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            connection.close()
        return response

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _target(self, url: str) -> str:
        if url.startswith(self.origin):
            rest = url[len(self.origin):]
            if not rest or rest[0] in "/?":
                return rest if rest.startswith("/") else "/" + rest
        raise TransportError(f"{url} is not on {self.origin}, the origin this transport serves")

    async def _connection(self) -> _Connection:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.usable(now):
                return connection
            connection.close()
        reader, writer = await asyncio.open_connection(self.host, self.port, ssl=self._ssl, limit=HEAD_MAX_BYTES,
                                                       server_hostname=self.host if self.secure else None)
        self.opened += 1
        return _Connection(reader, writer)


def _close(connection: _Connection | None) -> None:
    if connection is not None:
        connection.close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[HttpResponse, bool]:
    """One response (skipping any 1xx), and whether the connection may carry another."""
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head[:-4].decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise ValueError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        status = int(code)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                raise ValueError(f"not a header line: {line[:80]!r}")
            name = name.strip().lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if 100 <= status < 200:
            continue
        break
    connection = headers.get("connection", "").lower()
    keep = "close" not in connection and (version == "HTTP/1.1" or "keep-alive" in connection)
    if status in NO_BODY_STATUSES:
        return HttpResponse(status, b"", headers), keep
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if length < 0:
            raise ValueError(f"a negative Content-Length: {length}")
        body = await reader.readexactly(length)
    else:  # the body runs to the end of the stream
        body = await reader.read()
        keep = False
    return HttpResponse(status, body, headers), keep


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, up to the empty line
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise ValueError("a chunk not followed by CRLF")
