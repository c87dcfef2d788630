"""A lean HTTP/1.1 server on asyncio + httptools (llhttp, a C parser), for the REST and WebSocket gateways.

What it guarantees:
- Keep-alive and pipelining: responses on a connection leave in request order, whatever order their
  handlers finish in; each response (or a run of ready ones) goes out in one `transport.write`.
- Every limit in `Limits` holds: an oversized body is refused (413) before the handler sees anything,
  so are oversized URLs (414) and header blocks (431); a slow or idle client is closed; a connection
  never has more than `pipelined_requests_max` handlers running (reading pauses instead).
- Malformed HTTP gets a 400 and the connection is closed; a handler exception gets a 500, is logged
  with its traceback, and the connection stays usable. Nothing a client sends can stop the server.
- As RFC 9112 requires: an HTTP/1.1 request without Host, any request with two Host lines or a Host
  that is no `host[:port]`, and a request line without a version (HTTP/0.9) get a 400; a version
  this server does not speak (HTTP/2 and later over this connection) gets a 505. HTTP/1.0 needs no
  Host and is answered.
- Every response carries Date and (except 1xx/204, which must not) Content-Length, and says
  `Connection: close` when the server closes after it.
- `stop(grace_s)` stops accepting, lets in-flight requests finish, closes idle keep-alive connections,
  and after the grace period closes whatever is left.
- A WebSocket upgrade (`Upgrade: websocket` with `Connection: Upgrade`) goes to the optional
  `upgrade_handler`, which answers the handshake and takes the connection with `HttpProtocol.detach`.

The parsing state lives in `HttpProtocol`; its only I/O is the transport it is given, so tests drive
it with a fake transport, one byte at a time. Handlers may be plain functions returning a `Response`
(served without creating a task) or coroutines.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from types import CoroutineType
from typing import Any, NoReturn, cast
from urllib.parse import parse_qs, unquote_to_bytes

import httptools
import orjson

from predictex.core.limits import (
    HTTP_BODY_BYTES_MAX,
    HTTP_CONNECTIONS_MAX,
    HTTP_HEADER_BYTES_MAX,
    HTTP_HEADER_COUNT_MAX,
    HTTP_PIPELINED_REQUESTS_MAX,
    HTTP_URL_BYTES_MAX,
)

__all__ = [
    "Handler",
    "HttpProtocol",
    "HttpServer",
    "Limits",
    "Request",
    "Response",
    "UpgradeHandler",
    "empty_response",
    "encode_response",
    "error_response",
    "json_response",
    "text_response",
    "use_uvloop",
]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limits:
    """Every bound the server enforces, in one place (the sizes default to core/limits.py's numbers)."""

    body_bytes_max: int = HTTP_BODY_BYTES_MAX  # larger request bodies: 413 and close
    header_bytes_max: int = HTTP_HEADER_BYTES_MAX  # names + values of all header lines: 431 and close
    header_count_max: int = HTTP_HEADER_COUNT_MAX  # header lines per request: 431 and close
    url_bytes_max: int = HTTP_URL_BYTES_MAX  # request target: 414 and close
    idle_timeout_s: float = 30.0  # a keep-alive connection with nothing to do is closed after this
    header_timeout_s: float = 10.0  # from a request's first byte to the end of its headers: 408 and close
    body_timeout_s: float = 30.0  # from the end of the headers to the end of the body: 408 and close
    connections_max: int = HTTP_CONNECTIONS_MAX  # past this, a new connection gets a 503 and is closed
    pipelined_requests_max: int = HTTP_PIPELINED_REQUESTS_MAX  # requests queued on one connection before reading pauses
    linger_s: float = 2.0  # after an error response, input is read and dropped this long before closing


@dataclass(slots=True)
class Request:
    """One parsed request. Header names in `headers` are lower-cased (the last of repeated headers
    wins); `raw_headers` keeps every header line as received, in order."""

    method: str
    path: str  # percent-decoded, without the query
    raw_path: bytes  # as received, still percent-encoded, without the query
    query: str  # raw, not decoded
    headers: dict[str, str]
    raw_headers: list[tuple[str, str]]
    body: bytes
    client: tuple[str, int] | None
    http_version: str = "1.1"

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def header_values(self, name: str) -> list[str]:
        """Every value of a (possibly repeated) header, in order."""
        wanted = name.lower()
        return [value for key, value in self.raw_headers if key.lower() == wanted]

    def query_params(self) -> dict[str, list[str]]:
        """Decoded query parameters; a repeated key keeps every value, `a=1,2` stays one value."""
        if not self.query:
            return {}
        return parse_qs(self.query, keep_blank_values=True)


@dataclass(slots=True)
class Response:
    """A complete response. The server adds Date, Content-Length and Connection: do not set them."""

    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = "application/json"


def json_response(status: int, obj: object, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, orjson.dumps(obj), headers if headers is not None else [])


def text_response(status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> Response:
    return Response(status, text.encode("utf-8"), [], content_type)


def empty_response(status: int = 204, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, b"", headers if headers is not None else [], None)


def error_response(status: int, code: str, message: str) -> Response:
    """The error body every server-made response uses: {"error": {"code": ..., "message": ...}}."""
    return json_response(status, {"error": {"code": code, "message": message}})


def _internal_error() -> Response:
    return error_response(500, "internal_error", "internal server error")


Handler = Callable[[Request], "Awaitable[Response] | Response"]
UpgradeHandler = Callable[[Request, asyncio.Transport, "HttpProtocol"], "Awaitable[Response | None] | Response | None"]


# ---------------------------------------------------------------------------------------------
# Encoding responses (pure)

_STATUS_LINES: dict[int, bytes] = {}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _Prefixes:
    """Status line + Date + Content-Type, built once per second for each (status, content type)."""

    __slots__ = ("by_kind", "date_line", "second")

    def __init__(self) -> None:
        self.second = -1
        self.date_line = b""
        self.by_kind: dict[tuple[int, str | None], bytes] = {}

    def get(self, status: int, content_type: str | None) -> bytes:
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.date_line = b"date: " + formatdate(now, usegmt=True).encode("ascii") + b"\r\n"
            self.by_kind.clear()
        key = (status, content_type)
        prefix = self.by_kind.get(key)
        if prefix is None:
            prefix = _status_line(status) + self.date_line
            if content_type is not None:
                prefix += _header_line("content-type", content_type)
            if len(self.by_kind) < 256:
                self.by_kind[key] = prefix
        return prefix


_PREFIXES = _Prefixes()


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        if not 100 <= status <= 599:
            raise ValueError(f"HTTP status out of range: {status}")
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Status"
        line = f"HTTP/1.1 {status} {phrase}\r\n".encode("ascii")
        _STATUS_LINES[status] = line
    return line


def _header_line(name: str, value: str) -> bytes:
    if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
        raise ValueError(f"header {name!r} would split the response")
    return f"{name}: {value}\r\n".encode("latin-1")


def encode_response(response: Response, *, close: bool, head: bool = False, http10: bool = False) -> bytes:
    """The bytes of `response` on the wire. `head` drops the body (keeping its Content-Length);
    `close` adds Connection: close; an HTTP/1.0 client that kept the connection is told keep-alive."""
    status = response.status
    body = response.body
    prefix = _PREFIXES.get(status, response.content_type)
    extra = b"".join([_header_line(name, value) for name, value in response.headers]) if response.headers else b""
    if close:
        extra += b"connection: close\r\n"
    elif http10:
        extra += b"connection: keep-alive\r\n"
    if status < 200 or status == 204:  # these must carry neither Content-Length nor a body
        return prefix + extra + b"\r\n"
    length = len(body)
    if head or status == 304:
        body = b""
    return b"%scontent-length: %d\r\n%s\r\n%s" % (prefix, length, extra, body)


# ---------------------------------------------------------------------------------------------
# Parsing helpers (pure)

_METHODS = {m.encode("ascii"): m for m in ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH")}
# Single bytes looked for in URLs, as integers: `b"?" in data` first tries to read b"?" as an integer
# and formats a TypeError message on the way, several times the cost of `63 in data`.
_QUERY_MARK = ord("?")
_FRAGMENT_MARK = ord("#")
_PERCENT = ord("%")


def _split_target(url: bytes) -> tuple[bytes, bytes]:
    """(raw path, raw query) of a request target; the fragment, if any, is dropped."""
    if not url.startswith(b"/"):
        if url.startswith((b"http://", b"https://")):  # absolute-form
            parsed = httptools.parse_url(url)
            return parsed.path or b"/", parsed.query or b""
        return url, b""  # "*" or authority-form
    raw_path, _, query = url.partition(b"?")
    if b"#" in url:
        raw_path = raw_path.partition(b"#")[0]
        query = query.partition(b"#")[0]
    return raw_path, query


def _decode_path(raw_path: bytes) -> str:
    if _PERCENT in raw_path:
        raw_path = unquote_to_bytes(raw_path)
    return raw_path.decode("utf-8", "replace")


# RFC 9112 §3.2 Host = uri-host [ ":" port ]; uri-host is an IP literal in brackets or a reg-name
# (unreserved, percent-encoded and sub-delims characters: letters, digits and IPv4 addresses included).
# An empty value is allowed (a target without an authority).
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+(?:%25[0-9A-Za-z._~-]+)?\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::[0-9]*)?")


def _content_length(value: str) -> int:
    try:
        return int(value)
    except ValueError:  # llhttp checks the digits already; this is the belt to its braces
        return -1


def _peer(transport: asyncio.BaseTransport) -> tuple[str, int] | None:
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return str(peer[0]), int(peer[1])
    return None


class _Reject(Exception):
    """Raised inside a parser callback to refuse the request with `status`; stops the parser."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class _Stop(Exception):
    """Raised inside a parser callback when the connection takes no more requests."""


class _Slot:
    """One request's place in the pipeline: its response bytes once ready."""

    __slots__ = ("close", "data", "request", "started", "upgrade")

    def __init__(self, request: Request | None, close: bool, data: bytes | None = None) -> None:
        self.request = request
        self.close = close
        self.data = data
        self.started = False
        self.upgrade = False


class _Suspended:
    """A handler coroutine that suspended on its first step, with what it is waiting for; awaiting
    this finishes it exactly as a task running it from the start would have."""

    __slots__ = ("context", "coroutine", "waiting_on")

    def __init__(self, coroutine: Coroutine[Any, Any, object], waiting_on: object, context: contextvars.Context) -> None:
        self.coroutine = coroutine
        self.waiting_on = waiting_on
        self.context = context

    def __await__(self) -> Generator[Any, Any, object]:
        return _resume(self.coroutine, self.waiting_on)


def _resume(coroutine: Coroutine[Any, Any, object], waiting_on: object) -> Generator[Any, Any, object]:
    # Hand the task the future the coroutine is blocked on; once it wakes us, delegate the rest.
    # A throw (cancellation) while blocked goes into the coroutine, as it would under `await`.
    while True:
        try:
            yield waiting_on
        except GeneratorExit:
            coroutine.close()
            raise
        except BaseException as exc:
            try:
                waiting_on = coroutine.throw(exc)
            except StopIteration as stop:
                return stop.value
            continue
        return (yield from coroutine.__await__())


async def _await(awaitable: Awaitable[object]) -> object:
    return await awaitable


# ---------------------------------------------------------------------------------------------
# The connection


class HttpProtocol(asyncio.Protocol):
    """One HTTP/1.1 connection: parses requests, runs the handler, writes responses in order."""

    __slots__ = (
        "_body",
        "_body_bytes",
        "_client",
        "_closing",
        "_continue_pending",
        "_done",
        "_eof",
        "_fresh",
        "_handler",
        "_header_bytes",
        "_header_chunk_bytes",
        "_headers",
        "_headers_done",
        "_hosts",
        "_in_message",
        "_limits",
        "_linger",
        "_loop",
        "_lost",
        "_method",
        "_parser",
        "_pipeline",
        "_raw_headers",
        "_reading_paused",
        "_receiver",
        "_reject",
        "_server",
        "_since",
        "_started",
        "_transport",
        "_upgrade_ready",
        "_upgrade_tail",
        "_upgrading",
        "_url",
        "_write_paused",
    )
    _transport: asyncio.Transport

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._limits = server.limits
        self._handler = server.handler
        self._loop = asyncio.get_running_loop()
        self._parser = httptools.HttpRequestParser(self)
        self._client: tuple[str, int] | None = None
        self._pipeline: deque[_Slot] = deque()
        self._started = 0  # slots at the head of the pipeline whose handler has been started
        self._since = server.now  # when the current phase (idle, headers, body) began
        self._closing = False  # takes no more requests
        self._done = False  # the transport is closed or closing
        self._lost = False
        self._eof = False
        self._linger = False  # closing after an error: half-close and drain input first
        self._reading_paused = False
        self._write_paused = False
        self._continue_pending = False
        self._reject: _Reject | None = None
        self._upgrading = False
        self._upgrade_ready = False
        self._upgrade_tail = b""
        self._receiver: asyncio.Protocol | None = None
        self._reset_message()
        self._in_message = False

    def _reset_message(self) -> None:
        self._url = b""
        self._headers: dict[str, str] = {}
        self._raw_headers: list[tuple[str, str]] = []
        self._header_bytes = 0
        self._header_chunk_bytes = 0
        self._fresh = True
        self._body: list[bytes] = []
        self._body_bytes = 0
        self._headers_done = False
        self._hosts = 0  # Host header lines
        self._method = "GET"

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._client = _peer(transport)
        if not self._server._admit(self):
            busy = error_response(503, "server_busy", "too many connections")
            busy.headers.append(("retry-after", "1"))
            self._transport.write(encode_response(busy, close=True))
            self._close()  # no lingering: the sweeper does not watch connections it never admitted

    def data_received(self, data: bytes) -> None:
        if self._receiver is not None:
            self._receiver.data_received(data)
            return
        if self._upgrading:
            self._upgrade_tail += data
            return
        if self._closing:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self._on_upgrade_offset(data, int(exc.args[0]))
            return
        except httptools.HttpParserError as exc:
            self._on_parse_error(exc)
            return
        if self._in_message and not self._headers_done:
            self._count_header_chunk(len(data))

    def eof_received(self) -> bool | None:
        if self._receiver is not None:
            return self._receiver.eof_received()
        if self._done:
            return None  # lingering after an error: the client is done too
        self._eof = True
        self._closing = True
        if self._pipeline or self._upgrading:
            return True  # keep the write side open to answer what was already asked
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = self._done = self._closing = True
        self._pipeline.clear()
        self._server._forget(self)
        if self._receiver is not None:
            self._receiver.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._receiver is not None:
            self._receiver.pause_writing()
            return
        self._write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        if self._receiver is not None:
            self._receiver.resume_writing()
            return
        self._write_paused = False
        self._update_reading()

    # -- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._closing:
            raise _Stop
        self._reset_message()
        self._in_message = True
        self._since = self._server.now

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > self._limits.url_bytes_max:
            self._refuse(414, "uri_too_long", f"the request target is longer than {self._limits.url_bytes_max} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value)
        limits = self._limits
        if len(self._raw_headers) >= limits.header_count_max or self._header_bytes > limits.header_bytes_max:
            self._refuse(431, "headers_too_large", "too many or too large request headers")
        key = name.decode("latin-1")
        text = value.decode("latin-1")
        self._raw_headers.append((key, text))
        lowered = key.lower()
        self._headers[lowered] = text
        if lowered == "host":
            self._hosts += 1

    def on_headers_complete(self) -> None:
        self._headers_done = True
        self._since = self._server.now
        self._check_version_and_host(self._parser.get_http_version())
        method = self._parser.get_method()
        self._method = _METHODS.get(method) or method.decode("ascii", "replace")
        length = self._headers.get("content-length")
        if length is not None and _content_length(length) > self._limits.body_bytes_max:
            self._refuse(413, "payload_too_large", f"the request body is larger than {self._limits.body_bytes_max} bytes")
        expect = self._headers.get("expect")
        if expect is not None and expect.lower() == "100-continue" and self._parser.get_http_version() == "1.1":
            if self._pipeline:
                self._continue_pending = True  # sent when the responses ahead of it are out
            else:
                self._transport.write(_CONTINUE)

    def _check_version_and_host(self, version: str) -> None:
        """RFC 9112 §2.3 and §3.2: the request line names HTTP/1.x, an HTTP/1.1 request carries one
        valid Host (so does an HTTP/1.0 request that sends one)."""
        if version != "1.1" and version != "1.0":
            if version.startswith("0."):
                self._refuse(400, "bad_request", "the request line has no HTTP version (HTTP/0.9): send "
                                                 "'METHOD /path HTTP/1.1' and a Host header")
            self._refuse(505, "http_version_not_supported", f"HTTP/{version} is not spoken here: use HTTP/1.1")
        if self._hosts == 0:
            if version == "1.1":
                self._refuse(400, "bad_request", "an HTTP/1.1 request needs a Host header (RFC 9112 §3.2)")
        elif self._hosts > 1:
            self._refuse(400, "bad_request", "a request may carry only one Host header (RFC 9112 §3.2)")
        elif _HOST.fullmatch(self._headers["host"]) is None:
            self._refuse(400, "bad_request", f"Host {self._headers['host'][:100]!a} is not host[:port] (RFC 9112 §3.2)")

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > self._limits.body_bytes_max:
            self._refuse(413, "payload_too_large", f"the request body is larger than {self._limits.body_bytes_max} bytes")
        self._body.append(body)

    def on_message_complete(self) -> None:
        request = self._build_request()
        self._in_message = False
        self._continue_pending = False
        parser = self._parser
        close = not parser.should_keep_alive()
        if parser.should_upgrade():
            self._queue_upgrade(request)
            return
        if close:
            self._closing = True
        if self._pipeline:  # answers are owed before this one
            self._pipeline.append(_Slot(request, close))
            self._advance()
        else:
            self._respond_first(request, close)

    def _queue_upgrade(self, request: Request) -> None:
        # Bytes after an upgrade request are not HTTP: this is the last request on the connection.
        self._closing = True
        slot = _Slot(request, close=True)
        slot.upgrade = self._upgrading = self._wants_upgrade(request)
        self._pipeline.append(slot)
        if not slot.upgrade:
            self._advance()  # nobody takes this upgrade: answer it as a plain request, then close

    # -- the pipeline ----------------------------------------------------------------------

    def _advance(self) -> None:
        """Write the finished responses at the head, start waiting requests, then settle reading."""
        self._write_ready()
        while self._start_waiting():
            self._write_ready()
        if self._done:
            return
        if not self._pipeline:
            self._since = self._server.now
            if self._continue_pending and self._in_message:
                self._continue_pending = False
                self._transport.write(_CONTINUE)
            if self._eof or (self._server.draining and not self._in_message):
                self._close()
                return
        self._update_reading()

    def _write_ready(self) -> None:
        pipeline = self._pipeline
        chunks: list[bytes] = []
        close = False
        while pipeline and pipeline[0].started and pipeline[0].data is not None:
            slot = pipeline.popleft()
            self._started -= 1
            chunks.append(cast(bytes, slot.data))
            if slot.close:
                close = True
                break
        if not chunks or self._done:
            return
        self._transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        if close:
            self._close()

    def _start_waiting(self) -> bool:
        """Start the handlers of queued requests, in order, up to the pipelining limit."""
        pipeline = self._pipeline
        limit = self._limits.pipelined_requests_max
        started_any = False
        while not self._done and self._started < len(pipeline) and self._started < limit:
            slot = pipeline[self._started]
            if slot.upgrade:
                if self._started != 0 or not self._upgrade_ready:
                    break  # the upgrade waits until every response before it is out
                slot.started = True
                self._started += 1
                self._run_upgrade(slot)
                return False
            slot.started = True
            self._started += 1
            if slot.data is None:
                self._run(slot)
            started_any = True
        return started_any

    def _respond_first(self, request: Request, close: bool) -> None:
        """The common case, nothing owed before this request: answer without queueing it."""
        result = self._call(request)
        if isinstance(result, _Suspended):
            slot = _Slot(request, close)
            slot.started = True
            self._started = 1
            self._pipeline.append(slot)
            self._server._spawn(self._finish(slot, result), result.context)
            self._update_reading()
            return
        if self._server.draining:
            close = self._closing = True
        self._transport.write(self._encode_result(result, close, request))
        if close:
            self._close()
        self._since = self._server.now

    def _run(self, slot: _Slot) -> None:
        result = self._call(cast(Request, slot.request))
        if isinstance(result, _Suspended):
            self._server._spawn(self._finish(slot, result), result.context)
        else:
            slot.data = self._encode(slot, result)

    def _call(self, request: Request) -> object:
        """Run the handler until it first suspends. Returns what it returned (a Response, unless the
        handler is buggy), or a `_Suspended` coroutine to finish in a task. A coroutine that never
        suspends (most reads) costs no task; it runs in a context of its own, as a task would."""
        try:
            result = self._handler(request)
            if type(result) is CoroutineType:
                context = contextvars.copy_context()
                try:
                    return _Suspended(result, context.run(result.send, None), context)
                except StopIteration as stop:
                    return stop.value
            if not isinstance(result, Response) and inspect.isawaitable(result):
                return _Suspended(_await(result), None, contextvars.copy_context())
            return result
        except Exception:
            _log.exception("handler failed on %s %s", request.method, request.path)
            return _internal_error()

    async def _finish(self, slot: _Slot, pending: _Suspended) -> None:
        try:
            response: object = await pending
        except Exception:
            request = cast(Request, slot.request)
            _log.exception("handler failed on %s %s", request.method, request.path)
            response = _internal_error()
        if self._lost:
            return
        slot.data = self._encode(slot, response)
        self._advance()

    def _encode(self, slot: _Slot, response: object) -> bytes:
        pipeline = self._pipeline
        if not slot.close and self._server.draining and not self._in_message and pipeline and slot is pipeline[-1]:
            slot.close = self._closing = True  # the last answer before a graceful stop says so
        return self._encode_result(response, slot.close, slot.request)

    @staticmethod
    def _encode_result(response: object, close: bool, request: Request | None) -> bytes:
        head = request is not None and request.method == "HEAD"
        http10 = request is not None and request.http_version == "1.0"
        try:
            if not isinstance(response, Response):
                raise TypeError(f"handler returned {type(response).__name__}, not a Response")
            return encode_response(response, close=close, head=head, http10=http10)
        except Exception:
            _log.exception("unusable response")
            return encode_response(_internal_error(), close=close, head=head)

    def _update_reading(self) -> None:
        if self._done:
            return
        pause = self._write_paused or self._upgrading or len(self._pipeline) >= self._limits.pipelined_requests_max
        if pause != self._reading_paused:
            self._reading_paused = pause
            if pause:
                self._transport.pause_reading()
            else:
                self._transport.resume_reading()

    # -- failures, timeouts, closing -------------------------------------------------------

    def _refuse(self, status: int, code: str, message: str) -> NoReturn:
        self._reject = _Reject(status, code, message)
        raise self._reject

    def _on_parse_error(self, exc: httptools.HttpParserError) -> None:
        reject, self._reject = self._reject, None
        if reject is not None:
            self._fail(reject.status, reject.code, reject.message)
        elif self._closing:
            return  # the parser was stopped on purpose, or the client sent bytes after Connection: close
        elif exc.__context__ is not None and not isinstance(exc.__context__, httptools.HttpParserError):
            _log.error("HTTP parser callback failed", exc_info=exc.__context__)
            self._fail(500, "internal_error", "internal server error")
        else:
            self._fail(400, "bad_request", f"malformed HTTP request: {exc}")

    def _fail(self, status: int, code: str, message: str) -> None:
        """Answer with an error after the responses already owed, then close."""
        self._closing = self._linger = True
        self._in_message = False
        slot = _Slot(None, close=True, data=encode_response(error_response(status, code, message), close=True))
        self._pipeline.append(slot)
        self._advance()

    def _count_header_chunk(self, size: int) -> None:
        # httptools buffers a header line until it ends, so a never-ending line is bounded here:
        # whole chunks received while still inside the header block count against the limit.
        if self._fresh:
            self._fresh = False
            return
        self._header_chunk_bytes += size
        if self._header_chunk_bytes > self._limits.header_bytes_max + self._limits.url_bytes_max:
            self._fail(431, "headers_too_large", "too many or too large request headers")

    def check_deadline(self, now: float) -> None:
        """Close a connection that has been idle, or slow to send a request, for too long."""
        limits = self._limits
        if self._done:
            if self._linger and not self._lost and now - self._since > limits.linger_s:
                self.abort()
            return
        if self._upgrading or self._receiver is not None:
            return
        if self._in_message:
            limit = limits.body_timeout_s if self._headers_done else limits.header_timeout_s
            if now - self._since > limit:
                self._fail(408, "request_timeout", "the request was not received in time")
        elif not self._pipeline and now - self._since > limits.idle_timeout_s:
            self._close()

    def drain(self) -> None:
        """Graceful stop: close now if idle; otherwise close after the responses owed."""
        if self._done and self._linger and not self._lost:
            self._transport.close()  # lingering after an error response: nothing more to wait for
        elif not (self._done or self._receiver is not None or self._pipeline or self._in_message or self._upgrading):
            self._close()

    def abort(self) -> None:
        if not self._lost:
            self._done = self._closing = True
            self._transport.abort()

    def _close(self) -> None:
        if self._done:
            return
        self._done = self._closing = True
        if self._linger and self._transport.can_write_eof():
            # Closing with unread input makes the kernel send RST, which can destroy the error
            # response before the client reads it: half-close, drop input, close on EOF or linger_s.
            self._transport.write_eof()
            self._since = self._server.now
        else:
            self._transport.close()

    # -- upgrades --------------------------------------------------------------------------

    def _wants_upgrade(self, request: Request) -> bool:
        # anything naming websocket goes to the handler, which checks it strictly and says what is wrong;
        # other upgrades (h2c) are ignored, as RFC 9110 §7.8 allows, and the request answered as it is
        return self._server.upgrade_handler is not None and "websocket" in request.headers.get("upgrade", "").lower()

    def _on_upgrade_offset(self, data: bytes, offset: int) -> None:
        if not self._upgrading:
            return  # an upgrade nobody takes: answered as a plain request, then closed
        self._upgrade_tail = data[offset:]
        self._upgrade_ready = True
        self._update_reading()
        self._advance()

    def _run_upgrade(self, slot: _Slot) -> None:
        upgrade_handler = cast(UpgradeHandler, self._server.upgrade_handler)
        try:
            result = upgrade_handler(cast(Request, slot.request), self._transport, self)
        except Exception:
            _log.exception("upgrade handler failed")
            result = _internal_error()
        if result is None or isinstance(result, Response):
            self._upgrade_answered(slot, result)
        else:
            self._server._spawn(self._finish_upgrade(slot, result))

    async def _finish_upgrade(self, slot: _Slot, pending: Awaitable[Response | None]) -> None:
        try:
            result = await pending
        except Exception:
            _log.exception("upgrade handler failed")
            result = _internal_error()
        if not self._lost:
            self._upgrade_answered(slot, result)

    def _upgrade_answered(self, slot: _Slot, result: Response | None) -> None:
        if self._receiver is not None:
            if result is not None:
                _log.error("upgrade handler took the connection and also returned a response; response dropped")
            return
        self._upgrading = False
        if result is None:
            _log.error("upgrade handler neither took the connection nor answered; closing it")
            self._close()
            return
        self._linger = True  # the client may already be sending frames
        slot.data = self._encode(slot, result)
        self._advance()

    def detach(self, receiver: asyncio.Protocol) -> None:
        """Hand the connection to `receiver` (called by the upgrade handler once it has written its
        101 response): from now on every byte, EOF, flow-control and close event goes to `receiver`,
        starting with any bytes the client sent right after the upgrade request."""
        if not self._upgrading or self._receiver is not None:
            raise RuntimeError("detach() is for the upgrade handler of this connection, once")
        self._receiver = receiver
        self._upgrading = False
        self._pipeline.clear()
        tail, self._upgrade_tail = self._upgrade_tail, b""
        self._loop.call_soon(self._hand_over, receiver, tail)

    def _hand_over(self, receiver: asyncio.Protocol, tail: bytes) -> None:
        if self._lost:
            return
        if tail:
            receiver.data_received(tail)
        if self._reading_paused and not self._lost:
            self._reading_paused = False
            self._transport.resume_reading()

    # -- building the request --------------------------------------------------------------

    def _build_request(self) -> Request:
        url = self._url
        if url[:1] == b"/" and _QUERY_MARK not in url and _FRAGMENT_MARK not in url:
            raw_path, query = url, ""
        else:
            raw_path, raw_query = _split_target(url)
            query = raw_query.decode("latin-1")
        body = self._body
        return Request(
            self._method,
            _decode_path(raw_path) if _PERCENT in raw_path else raw_path.decode("utf-8", "replace"),
            raw_path,
            query,
            self._headers,
            self._raw_headers,
            body[0] if len(body) == 1 else b"".join(body),
            self._client,
            self._parser.get_http_version(),
        )


# ---------------------------------------------------------------------------------------------
# The server


def listening_port(server: asyncio.AbstractServer) -> int:
    """The port a server listens on. Its sockets are a list under uvloop and a tuple under asyncio
    (typeshed says tuple, which compiled code would check): read through Any."""
    sockets = cast(Any, server).sockets
    return int(sockets[0].getsockname()[1])


class HttpServer:
    """Listens on one address and serves `handler`; see the module docstring for its guarantees."""

    def __init__(self, handler: Handler, *, limits: Limits | None = None, upgrade_handler: UpgradeHandler | None = None) -> None:
        self.handler = handler
        self.limits = limits if limits is not None else Limits()
        self.upgrade_handler = upgrade_handler
        self.draining = False
        self.now = 0.0  # the loop's clock, refreshed by the sweeper; precise to one tick
        self._connections: set[HttpProtocol] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.AbstractServer | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._quiet: asyncio.Event | None = None
        self._port = 0

    @property
    def port(self) -> int:
        """The bound port (useful after `start(port=0)`)."""
        return self._port

    @property
    def connections(self) -> int:
        return len(self._connections)

    async def start(self, host: str = "127.0.0.1", port: int = 0, *, reuse_port: bool = False, backlog: int = 2048) -> None:
        if self._server is not None:
            raise RuntimeError("server already started")
        loop = asyncio.get_running_loop()
        self.now = loop.time()
        self.draining = False
        self._server = await loop.create_server(
            lambda: HttpProtocol(self), host, port, reuse_port=reuse_port or None, backlog=backlog
        )
        self._port = listening_port(self._server)
        self._sweeper = loop.create_task(self._sweep())

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop accepting; let in-flight requests finish (up to `grace_s`); then close everything."""
        if self._server is None:
            return
        self.draining = True
        self._server.close()
        self._quiet = asyncio.Event()
        for connection in list(self._connections):
            connection.drain()
        try:
            await asyncio.wait_for(self._wait_quiet(self._quiet), grace_s)
        except TimeoutError:
            _log.warning("graceful stop: %d connections and %d handlers still busy after %.1f s",
                         len(self._connections), len(self._tasks), grace_s)
        await self._force_close()
        await self._server.wait_closed()
        self._server = None

    async def _wait_quiet(self, quiet: asyncio.Event) -> None:
        if self._connections:
            await quiet.wait()
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def _force_close(self) -> None:
        for connection in list(self._connections):
            connection.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        await asyncio.sleep(0)  # let the aborted transports report connection_lost

    async def _sweep(self) -> None:
        limits = self.limits
        shortest_s = min(limits.idle_timeout_s, limits.header_timeout_s, limits.body_timeout_s, limits.linger_s)
        tick_s = min(1.0, max(0.01, shortest_s / 4))
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(tick_s)
            self.now = now = loop.time()
            for connection in list(self._connections):
                connection.check_deadline(now)

    # -- called by HttpProtocol ------------------------------------------------------------

    def _admit(self, connection: HttpProtocol) -> bool:
        if len(self._connections) >= self.limits.connections_max:
            return False
        self._connections.add(connection)
        return True

    def _forget(self, connection: HttpProtocol) -> None:
        self._connections.discard(connection)
        if self._quiet is not None and not self._connections:
            self._quiet.set()

    def _spawn(self, coroutine: Coroutine[Any, Any, None], context: contextvars.Context | None = None) -> None:
        task = asyncio.get_running_loop().create_task(coroutine, context=context)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def use_uvloop() -> bool:
    """Make uvloop the event loop of `asyncio.run` if it is installed; True if it now is."""
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True
