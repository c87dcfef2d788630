"""The HTTP/1.1 server and the router, as a client sees them: real sockets on 127.0.0.1 (under both
the default event loop and uvloop), plus the protocol fed bytes through a fake transport."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, NamedTuple

import orjson
import pytest

from predictex.server.http import (
    HttpProtocol,
    HttpServer,
    Limits,
    Request,
    Response,
    UpgradeHandler,
    empty_response,
    encode_response,
    json_response,
    text_response,
)
from predictex.server.router import Router

TIMEOUT_S = 5.0
CURRENT_USER: contextvars.ContextVar[str | None] = contextvars.ContextVar("CURRENT_USER", default=None)
LOOPS = ["asyncio"]
try:
    import uvloop

    LOOPS.append("uvloop")
except ImportError:  # the server falls back to the default loop; so do the tests
    uvloop = None  # type: ignore[assignment]


Run = Callable[[Callable[[], Awaitable[None]]], None]


@pytest.fixture(params=LOOPS)
def run(request: pytest.FixtureRequest) -> Iterator[Run]:
    factory = uvloop.new_event_loop if request.param == "uvloop" else asyncio.new_event_loop

    def runner(test: Callable[[], Awaitable[None]]) -> None:
        with asyncio.Runner(loop_factory=factory) as loop_runner:
            loop_runner.run(asyncio.wait_for(test(), 4 * TIMEOUT_S))

    yield runner


# -- client helpers ------------------------------------------------------------------------------


class Reply(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


async def read_reply(reader: asyncio.StreamReader, *, head: bool = False) -> Reply:
    block = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT_S)
    lines = block.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = b"" if head else await asyncio.wait_for(reader.readexactly(length), TIMEOUT_S)
    return Reply(status, headers, body)


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), TIMEOUT_S) == b""
    except ConnectionResetError:
        return True


async def wait_until(condition: Callable[[], bool]) -> None:
    """Poll a condition the test cannot await directly (bounded by TIMEOUT_S)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT_S
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def serving(
    handler: Callable[[Request], Awaitable[Response] | Response],
    limits: Limits | None = None,
    upgrade_handler: UpgradeHandler | None = None,
) -> AsyncIterator[HttpServer]:
    server = HttpServer(handler, limits=limits, upgrade_handler=upgrade_handler)
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.stop(grace_s=1.0)


async def connect(server: HttpServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)


async def echo(request: Request) -> Response:
    return json_response(200, {
        "method": request.method, "path": request.path, "query": request.query,
        "body": request.body.decode("latin-1"), "version": request.http_version,
    })


def get(path: str, *extra: str) -> bytes:
    return ("\r\n".join([f"GET {path} HTTP/1.1", "Host: test", *extra]) + "\r\n\r\n").encode()


def post(path: str, body: bytes, *extra: str) -> bytes:
    head = "\r\n".join([f"POST {path} HTTP/1.1", "Host: test", f"Content-Length: {len(body)}", *extra])
    return head.encode() + b"\r\n\r\n" + body


# -- round trips ---------------------------------------------------------------------------------


def test_get_round_trip_has_json_content_length_and_date(run: Run) -> None:
    async def test() -> None:
        async with serving(echo) as server:
            reader, writer = await connect(server)
            writer.write(get("/trade-api/v2/markets?status=open&tickers=A,B"))
            reply = await read_reply(reader)
            assert reply.status == 200
            assert reply.json() == {"method": "GET", "path": "/trade-api/v2/markets", "query": "status=open&tickers=A,B",
                                    "body": "", "version": "1.1"}
            assert reply.headers["content-type"] == "application/json"
            assert reply.headers["content-length"] == str(len(reply.body))
            assert reply.headers["date"].endswith(" GMT")
            assert "connection" not in reply.headers
            writer.close()
    run(test)


def test_post_body_reaches_the_handler(run: Run) -> None:
    async def test() -> None:
        async with serving(echo) as server:
            reader, writer = await connect(server)
            writer.write(post("/v1/orders", b'{"side":"yes"}', "Content-Type: application/json"))
            reply = await read_reply(reader)
            assert reply.json()["body"] == '{"side":"yes"}'
            assert reply.json()["method"] == "POST"
            writer.close()
    run(test)


def test_keep_alive_serves_many_requests_on_one_connection(run: Run) -> None:
    async def test() -> None:
        async with serving(echo) as server:
            reader, writer = await connect(server)
            for n in range(5):
                writer.write(get(f"/n/{n}"))
                assert (await read_reply(reader)).json()["path"] == f"/n/{n}"
            assert server.connections == 1
            writer.close()
    run(test)


def test_pipelined_responses_keep_request_order_when_handlers_finish_out_of_order(run: Run) -> None:
    async def test() -> None:
        release_first = asyncio.Event()
        last_done = asyncio.Event()
        finished: list[str] = []

        async def handler(request: Request) -> Response:
            if request.path == "/1":
                await release_first.wait()
            finished.append(request.path)
            if request.path == "/3":
                last_done.set()
            return json_response(200, {"path": request.path})

        async with serving(handler) as server:
            reader, writer = await connect(server)
            writer.write(get("/1") + get("/2") + get("/3"))
            await asyncio.wait_for(last_done.wait(), TIMEOUT_S)
            release_first.set()
            paths = [(await read_reply(reader)).json()["path"] for _ in range(3)]
            assert finished == ["/2", "/3", "/1"]
            assert paths == ["/1", "/2", "/3"]
            writer.close()
    run(test)


def test_chunked_request_body_is_reassembled(run: Run) -> None:
    async def test() -> None:
        async with serving(echo) as server:
            reader, writer = await connect(server)
            writer.write(b"POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n")
            assert (await read_reply(reader)).json()["body"] == "hello, world"
            writer.write(get("/after"))
            assert (await read_reply(reader)).json()["path"] == "/after"
            writer.close()
    run(test)


def test_expect_100_continue_is_answered_before_the_body_is_sent(run: Run) -> None:
    async def test() -> None:
        async with serving(echo) as server:
            reader, writer = await connect(server)
            writer.write(b"POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
            interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT_S)
            assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
            writer.write(b"data")
            assert (await read_reply(reader)).json()["body"] == "data"
            writer.close()
    run(test)


def test_expect_100_continue_with_too_large_body_gets_413_not_100(run: Run) -> None:
    async def test() -> None:
        async with serving(echo, Limits(body_bytes_max=10)) as server:
            reader, writer = await connect(server)
            writer.write(b"POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n")
            reply = await read_reply(reader)
            assert reply.status == 413
            assert await closed_by_server(reader)
    run(test)


def test_head_sends_headers_only(run: Run) -> None:
    async def test() -> None:
        async with serving(echo) as server:
            reader, writer = await connect(server)
            writer.write(b"HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n" + get("/next"))
            head = await read_reply(reader, head=True)
            assert head.status == 200
            assert int(head.headers["content-length"]) > 0
            # had the HEAD response carried a body, this would read it instead of the next response
            assert (await read_reply(reader)).json()["path"] == "/next"
            writer.close()
    run(test)


def test_http_1_0_closes_unless_keep_alive_is_asked(run: Run) -> None:
    async def test() -> None:
        async with serving(echo) as server:
            reader, writer = await connect(server)
            writer.write(b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            reply = await read_reply(reader)
            assert reply.json()["version"] == "1.0"
            assert reply.headers["connection"] == "keep-alive"
            writer.write(b"GET /old2 HTTP/1.0\r\n\r\n")
            reply = await read_reply(reader)
            assert reply.headers["connection"] == "close"
            assert await closed_by_server(reader)
    run(test)


def test_connection_close_is_honoured(run: Run) -> None:
    async def test() -> None:
        async with serving(echo) as server:
            reader, writer = await connect(server)
            writer.write(get("/bye", "Connection: close"))
            assert (await read_reply(reader)).headers["connection"] == "close"
            assert await closed_by_server(reader)
    run(test)


def test_204_has_neither_body_nor_content_length(run: Run) -> None:
    async def test() -> None:
        async with serving(lambda request: empty_response(204)) as server:
            reader, writer = await connect(server)
            writer.write(get("/x") + get("/y"))
            for _ in range(2):
                reply = await read_reply(reader)
                assert reply.status == 204
                assert "content-length" not in reply.headers
            writer.close()
    run(test)


# -- limits and errors ---------------------------------------------------------------------------


def test_oversized_body_gets_413_and_never_reaches_the_handler(run: Run) -> None:
    async def test() -> None:
        seen: list[Request] = []

        def handler(request: Request) -> Response:
            seen.append(request)
            return json_response(200, {})

        async with serving(handler, Limits(body_bytes_max=1000)) as server:
            reader, writer = await connect(server)
            writer.write(post("/big", b"x" * 5000))
            reply = await read_reply(reader)
            assert reply.status == 413
            assert reply.json()["error"]["code"] == "payload_too_large"
            assert reply.headers["connection"] == "close"
            assert await closed_by_server(reader)

            reader, writer = await connect(server)  # chunked: no length to check up front
            chunk = b"x" * 600
            writer.write(b"POST /big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                         + (b"258\r\n" + chunk + b"\r\n") * 2 + b"0\r\n\r\n")
            assert (await read_reply(reader)).status == 413
            assert await closed_by_server(reader)
        assert seen == []
    run(test)


def test_too_many_headers_get_431_and_long_url_gets_414(run: Run) -> None:
    async def test() -> None:
        async with serving(echo, Limits(header_count_max=10, url_bytes_max=100)) as server:
            reader, writer = await connect(server)
            writer.write(get("/h", *[f"X-H{n}: v" for n in range(20)]))
            reply = await read_reply(reader)
            assert reply.status == 431
            assert await closed_by_server(reader)

            reader, writer = await connect(server)
            writer.write(get("/" + "a" * 200))
            assert (await read_reply(reader)).status == 414
            assert await closed_by_server(reader)
    run(test)


def test_malformed_request_gets_400_and_other_connections_are_served(run: Run) -> None:
    async def test() -> None:
        async with serving(echo) as server:
            reader, writer = await connect(server)
            writer.write(b"GARBAGE\x01 / HTTP/1.1\r\n\r\n")
            reply = await read_reply(reader)
            assert reply.status == 400
            assert reply.json()["error"]["code"] == "bad_request"
            assert await closed_by_server(reader)

            reader, writer = await connect(server)
            writer.write(get("/fine"))
            assert (await read_reply(reader)).status == 200
            writer.close()
    run(test)


@pytest.mark.parametrize(("request_bytes", "status", "words"), [
    (b"GET /\r\n\r\n", 400, "no HTTP version (HTTP/0.9)"),  # an HTTP/0.9 request line
    (b"GET / HTTP/0.9\r\nHost: t\r\n\r\n", 400, "no HTTP version (HTTP/0.9)"),
    (b"GET / HTTP/1.1\r\n\r\n", 400, "needs a Host header"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "only one Host header"),
    (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "is not host[:port]"),
    (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "is not host[:port]"),
    (b"GET / HTTP/1.1\r\nHost: \xb2\xb3\r\n\r\n", 400, "is not host[:port]"),
    (b"GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400, "only one Host header"),
    (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "HTTP/2.0 is not spoken here"),
])
def test_requests_http_1_1_does_not_allow_are_refused_and_closed(run: Run, request_bytes: bytes, status: int, words: str) -> None:
    """RFC 9112 §3.2: a 400 for an HTTP/1.1 request without Host, with two, or with one that is no
    host[:port]; a request line without a version is HTTP/0.9, which is not HTTP/1.1."""
    async def test() -> None:
        async with serving(echo) as server:
            reader, writer = await connect(server)
            writer.write(request_bytes)
            reply = await read_reply(reader)
            assert reply.status == status, reply
            assert words in reply.json()["error"]["message"], reply
            assert await closed_by_server(reader)
    run(test)


@pytest.mark.parametrize("request_bytes", [
    b"GET /ok HTTP/1.0\r\n\r\n",  # HTTP/1.0 needs no Host
    b"GET /ok HTTP/1.1\r\nHost: \r\n\r\n",  # an empty Host: a target without an authority
    b"GET /ok HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n",
    b"GET /ok HTTP/1.1\r\nHost: [::1]:8000\r\n\r\n",
    b"GET /ok HTTP/1.1\r\nHost: exchange.example-1.com\r\n\r\n",
    b"GET http://other.example/ok HTTP/1.1\r\nHost: exchange.example\r\n\r\n",  # absolute form
])
def test_requests_with_what_http_needs_are_answered(run: Run, request_bytes: bytes) -> None:
    async def test() -> None:
        async with serving(echo) as server:
            reader, writer = await connect(server)
            writer.write(request_bytes)
            assert (await read_reply(reader)).status == 200
            writer.close()
    run(test)


def test_handler_exception_gets_500_and_the_connection_stays_usable(run: Run, caplog: pytest.LogCaptureFixture) -> None:
    async def handler(request: Request) -> Response:
        if request.path == "/boom":
            raise RuntimeError("kaboom")
        return json_response(200, {"ok": True})

    def sync_handler(request: Request) -> Response:
        if request.path == "/boom":
            raise RuntimeError("kaboom")
        return json_response(200, {"ok": True})

    async def test() -> None:
        for chosen in (handler, sync_handler):
            async with serving(chosen) as server:
                reader, writer = await connect(server)
                writer.write(get("/boom"))
                reply = await read_reply(reader)
                assert reply.status == 500
                assert reply.json()["error"]["code"] == "internal_error"
                writer.write(get("/ok"))
                assert (await read_reply(reader)).status == 200
                writer.close()

    with caplog.at_level(logging.ERROR, logger="predictex.server.http"):
        run(test)
    assert any("kaboom" in (record.exc_text or "") for record in caplog.records)


def test_idle_keep_alive_connection_is_closed_after_the_timeout(run: Run) -> None:
    async def test() -> None:
        async with serving(echo, Limits(idle_timeout_s=0.2)) as server:
            reader, writer = await connect(server)
            writer.write(get("/once"))
            assert (await read_reply(reader)).status == 200
            assert await closed_by_server(reader)
            assert server.connections == 0
    run(test)


def test_slow_request_headers_get_408_and_close(run: Run) -> None:
    async def test() -> None:
        async with serving(echo, Limits(header_timeout_s=0.2)) as server:
            reader, writer = await connect(server)
            writer.write(b"GET /slow HTTP/1.1\r\nHost: t\r\n")  # never finishes its headers
            reply = await read_reply(reader)
            assert reply.status == 408
            assert await closed_by_server(reader)
    run(test)


def test_connections_past_the_maximum_are_refused_with_503(run: Run) -> None:
    async def test() -> None:
        async with serving(echo, Limits(connections_max=1)) as server:
            reader1, writer1 = await connect(server)
            writer1.write(get("/first"))
            assert (await read_reply(reader1)).status == 200
            reader2, _writer2 = await connect(server)
            reply = await read_reply(reader2)
            assert reply.status == 503
            assert reply.headers["retry-after"] == "1"
            assert await closed_by_server(reader2)
            writer1.write(get("/still"))
            assert (await read_reply(reader1)).status == 200
            writer1.close()
    run(test)


def test_pipelining_beyond_the_limit_runs_at_most_that_many_handlers(run: Run) -> None:
    async def test() -> None:
        running = 0
        most_running = 0
        gate = asyncio.Event()
        two_running = asyncio.Event()

        async def handler(request: Request) -> Response:
            nonlocal running, most_running
            running += 1
            most_running = max(most_running, running)
            if running == 2:
                two_running.set()
            await gate.wait()
            running -= 1
            return json_response(200, {"path": request.path})

        async with serving(handler, Limits(pipelined_requests_max=2)) as server:
            reader, writer = await connect(server)
            writer.write(b"".join(get(f"/{n}") for n in range(6)))
            await asyncio.wait_for(two_running.wait(), TIMEOUT_S)
            gate.set()
            paths = [(await read_reply(reader)).json()["path"] for _ in range(6)]
            assert paths == [f"/{n}" for n in range(6)]
            assert most_running == 2
            writer.close()
    run(test)


def test_handlers_run_in_their_own_context_even_without_a_task(run: Run) -> None:
    async def test() -> None:
        seen: list[str | None] = []

        async def handler(request: Request) -> Response:
            seen.append(CURRENT_USER.get())
            CURRENT_USER.set(request.path)  # must not leak into the next request on this connection
            if request.path == "/suspends":
                await asyncio.sleep(0)
                seen.append(CURRENT_USER.get())
            return json_response(200, {})

        async with serving(handler) as server:
            reader, writer = await connect(server)
            for path in ("/a", "/suspends", "/b"):
                writer.write(get(path))
                assert (await read_reply(reader)).status == 200
            assert seen == [None, None, "/suspends", None]
            writer.close()
    run(test)


def test_a_handler_returning_something_else_than_a_response_gets_500(run: Run, caplog: pytest.LogCaptureFixture) -> None:
    async def test() -> None:
        async with serving(lambda request: {"not": "a response"}) as server:  # type: ignore[arg-type,return-value]
            reader, writer = await connect(server)
            writer.write(get("/x"))
            assert (await read_reply(reader)).status == 500
            writer.close()

    with caplog.at_level(logging.ERROR, logger="predictex.server.http"):
        run(test)


def test_a_client_that_half_closes_still_gets_its_answers(run: Run) -> None:
    async def test() -> None:
        release = asyncio.Event()

        async def handler(request: Request) -> Response:
            await release.wait()
            return json_response(200, {"path": request.path})

        async with serving(handler) as server:
            reader, writer = await connect(server)
            writer.write(get("/1") + get("/2"))
            writer.write_eof()
            release.set()
            assert [(await read_reply(reader)).json()["path"] for _ in range(2)] == ["/1", "/2"]
            assert await closed_by_server(reader)
    run(test)


def test_a_client_leaving_mid_request_does_not_cancel_the_handler(run: Run) -> None:
    async def test() -> None:
        entered = asyncio.Event()
        release = asyncio.Event()
        finished = asyncio.Event()

        async def handler(request: Request) -> Response:
            entered.set()
            await release.wait()
            finished.set()  # e.g. an order already handed to the sequencer: let it complete
            return json_response(200, {})

        async with serving(handler) as server:
            _reader, writer = await connect(server)
            writer.write(get("/order"))
            await asyncio.wait_for(entered.wait(), TIMEOUT_S)
            writer.close()
            await writer.wait_closed()
            release.set()
            await asyncio.wait_for(finished.wait(), TIMEOUT_S)
            # EOF may be a half-close, so the server answers, then closes
            await wait_until(lambda: server.connections == 0)
    run(test)


# -- graceful stop -------------------------------------------------------------------------------


def test_graceful_stop_finishes_in_flight_requests_and_closes_idle_connections(run: Run) -> None:
    async def test() -> None:
        entered = asyncio.Event()
        release = asyncio.Event()

        async def handler(request: Request) -> Response:
            if request.path == "/slow":
                entered.set()
                await release.wait()
            return json_response(200, {"path": request.path})

        server = HttpServer(handler)
        await server.start("127.0.0.1", 0)
        idle_reader, idle_writer = await connect(server)
        idle_writer.write(get("/quick"))
        assert (await read_reply(idle_reader)).status == 200
        busy_reader, busy_writer = await connect(server)
        busy_writer.write(get("/slow"))
        await asyncio.wait_for(entered.wait(), TIMEOUT_S)

        stopping = asyncio.create_task(server.stop(grace_s=TIMEOUT_S))
        assert await closed_by_server(idle_reader)  # idle keep-alive: closed at once
        with pytest.raises(OSError):
            await connect(server)  # no longer accepting
        assert not stopping.done()  # still waiting for /slow
        release.set()
        reply = await read_reply(busy_reader)
        assert reply.json() == {"path": "/slow"}
        assert reply.headers["connection"] == "close"
        await asyncio.wait_for(stopping, TIMEOUT_S)
        assert server.connections == 0
    run(test)


def test_stop_after_the_grace_period_cancels_stuck_handlers(run: Run) -> None:
    async def test() -> None:
        entered = asyncio.Event()
        cancelled = asyncio.Event()

        async def handler(request: Request) -> Response:
            entered.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return json_response(200, {})

        server = HttpServer(handler)
        await server.start("127.0.0.1", 0)
        reader, writer = await connect(server)
        writer.write(get("/stuck"))
        await asyncio.wait_for(entered.wait(), TIMEOUT_S)
        await server.stop(grace_s=0.05)
        assert cancelled.is_set()
        assert await closed_by_server(reader)
        assert server.connections == 0
    run(test)


# -- upgrade -------------------------------------------------------------------------------------


class Receiver(asyncio.Protocol):
    def __init__(self) -> None:
        self.data = bytearray()
        self.got: asyncio.Queue[bytes] = asyncio.Queue()
        self.lost = asyncio.Event()

    def data_received(self, data: bytes) -> None:
        self.data += data
        self.got.put_nowait(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set()

    async def wait_for(self, expected: bytes) -> None:
        while bytes(self.data) != expected:
            await asyncio.wait_for(self.got.get(), TIMEOUT_S)


UPGRADE = b"GET /trade-api/ws/v2 HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: k\r\n\r\n"


def test_upgrade_handler_takes_the_connection_and_gets_every_later_byte(run: Run) -> None:
    async def test() -> None:
        receiver = Receiver()
        seen: list[Request] = []

        def upgrade(request: Request, transport: asyncio.Transport, protocol: HttpProtocol) -> None:
            seen.append(request)
            transport.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
            protocol.detach(receiver)

        async with serving(echo, upgrade_handler=upgrade) as server:
            reader, writer = await connect(server)
            writer.write(get("/before") + UPGRADE + b"frame-1")  # pipelined request, then bytes after the upgrade
            assert (await read_reply(reader)).json()["path"] == "/before"
            switching = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT_S)
            assert switching.startswith(b"HTTP/1.1 101 ")
            await receiver.wait_for(b"frame-1")
            writer.write(b"GET / HTTP/1.1\r\n\r\n")  # no longer parsed as HTTP
            await receiver.wait_for(b"frame-1GET / HTTP/1.1\r\n\r\n")
            assert seen[0].path == "/trade-api/ws/v2"
            assert seen[0].headers["sec-websocket-key"] == "k"
            writer.close()
            await asyncio.wait_for(receiver.lost.wait(), TIMEOUT_S)
    run(test)


def test_upgrade_handler_may_refuse_with_a_response(run: Run) -> None:
    async def test() -> None:
        async def upgrade(request: Request, transport: asyncio.Transport, protocol: HttpProtocol) -> Response:
            return json_response(401, {"error": {"code": "unauthorized", "message": "no"}})

        async with serving(echo, upgrade_handler=upgrade) as server:
            reader, writer = await connect(server)
            writer.write(UPGRADE)
            reply = await read_reply(reader)
            assert reply.status == 401
            assert reply.headers["connection"] == "close"
            assert await closed_by_server(reader)
    run(test)


def test_upgrade_without_an_upgrade_handler_is_a_plain_request_then_close(run: Run) -> None:
    async def test() -> None:
        async with serving(echo) as server:
            reader, writer = await connect(server)
            writer.write(UPGRADE)
            reply = await read_reply(reader)
            assert reply.json()["path"] == "/trade-api/ws/v2"
            assert reply.headers["connection"] == "close"
            assert await closed_by_server(reader)
    run(test)


# -- the protocol fed bytes directly -------------------------------------------------------------


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.out = bytearray()
        self.writes = 0
        self.closed = False
        self.paused = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.out += data
        self.writes += 1

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def can_write_eof(self) -> bool:
        return False

    def is_reading(self) -> bool:
        return not self.paused

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default


CONVERSATION = (
    get("/a?x=1&x=2")
    + post("/b", b"0123456789")
    + b"POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    + b"HEAD /d HTTP/1.1\r\nHost: t\r\n\r\n"
    + get("/e", "Connection: close")
)


def _feed(chunks: list[bytes]) -> tuple[bytes, FakeTransport]:
    async def main() -> tuple[bytes, FakeTransport]:
        protocol = HttpProtocol(HttpServer(echo))
        transport = FakeTransport()
        protocol.connection_made(transport)
        for chunk in chunks:
            protocol.data_received(chunk)
        return re.sub(rb"date: [^\r]*\r\n", b"", bytes(transport.out)), transport

    return asyncio.run(main())


def test_one_byte_at_a_time_gives_the_same_bytes_as_all_at_once() -> None:
    whole, transport = _feed([CONVERSATION])
    bytewise, _ = _feed([CONVERSATION[i:i + 1] for i in range(len(CONVERSATION))])
    assert bytewise == whole
    assert whole.count(b"HTTP/1.1 200 OK") == 5
    assert b'"body":"abcde"' in whole and b'"body":"0123456789"' in whole
    assert transport.closed  # after the Connection: close request


def test_a_header_line_that_never_ends_gets_431() -> None:
    async def main() -> None:
        protocol = HttpProtocol(HttpServer(echo, limits=Limits(header_bytes_max=1000, url_bytes_max=100)))
        transport = FakeTransport()
        protocol.connection_made(transport)
        protocol.data_received(b"GET / HTTP/1.1\r\nX-Long: ")
        for _ in range(6):  # httptools would buffer this line forever; the server counts it
            protocol.data_received(b"v" * 200)
        assert transport.out.startswith(b"HTTP/1.1 431 ")
        assert transport.closed

    asyncio.run(main())


def test_reading_pauses_while_too_many_requests_are_outstanding() -> None:
    async def main() -> None:
        gate = asyncio.Event()

        async def handler(request: Request) -> Response:
            await gate.wait()
            return json_response(200, {})

        protocol = HttpProtocol(HttpServer(handler, limits=Limits(pipelined_requests_max=3)))
        transport = FakeTransport()
        protocol.connection_made(transport)
        protocol.data_received(get("/1") + get("/2"))
        assert transport.is_reading()
        protocol.data_received(get("/3"))
        assert not transport.is_reading()
        gate.set()
        while transport.out.count(b"HTTP/1.1 200") < 3:
            await asyncio.sleep(0)  # let the handler tasks run (the loop's own turn, not a timed wait)
        assert transport.is_reading()
        assert transport.writes <= 3

    asyncio.run(main())


# -- pure helpers --------------------------------------------------------------------------------


def test_request_helpers() -> None:
    request = Request("GET", "/m", b"/m", "tickers=A,B&status=open&status=closed&empty=", {"x-key": "2"},
                      [("X-Key", "1"), ("x-key", "2")], b"", None)
    assert request.query_params() == {"tickers": ["A,B"], "status": ["open", "closed"], "empty": [""]}
    assert request.header("X-KEY") == "2"
    assert request.header("missing") is None
    assert request.header_values("X-Key") == ["1", "2"]


def test_encode_response_refuses_header_injection_and_text_response_works() -> None:
    with pytest.raises(ValueError):
        encode_response(Response(200, b"", [("x-evil", "a\r\nset-cookie: b")]), close=False)
    wire = encode_response(text_response(200, "hé"), close=True)
    assert b"content-type: text/plain; charset=utf-8\r\n" in wire
    assert b"content-length: 3\r\n" in wire and b"connection: close\r\n" in wire
    assert wire.endswith(b"\r\n\r\nh\xc3\xa9")


# -- router --------------------------------------------------------------------------------------


def _router() -> Router:
    router = Router()

    def make(name: str) -> Callable[[Request, dict[str, str]], Response]:
        return lambda request, params: json_response(200, {"route": name, "params": params})

    router.add("GET", "/trade-api/v2/markets", make("markets"))
    router.add("GET", "/trade-api/v2/markets/{ticker}", make("market"))
    router.add("GET", "/trade-api/v2/markets/{ticker}/orderbook", make("orderbook"))
    router.add("GET", "/trade-api/v2/markets/trades", make("trades"))
    router.add("POST", "/trade-api/v2/portfolio/orders", make("create"))
    router.add("GET", "/trade-api/v2/portfolio/orders/{order_id}", make("order"))
    router.add("DELETE", "/trade-api/v2/portfolio/orders/{order_id}", make("cancel"))
    router.add("POST", "/trade-api/v2/portfolio/orders/{order_id}/amend", make("amend"))
    router.add("GET", "/", make("root"))
    return router


def _route(router: Router, method: str, path: bytes) -> tuple[str | None, dict[str, str], tuple[str, ...]]:
    handler, params, allowed = router.match(method, path)
    if handler is None:
        return None, params, allowed
    body = handler(Request(method, "", path, "", {}, [], b"", None), params)
    assert isinstance(body, Response)
    return orjson.loads(body.body)["route"], params, allowed


def test_router_static_and_parameter_routes() -> None:
    router = _router()
    assert _route(router, "GET", b"/trade-api/v2/markets") == ("markets", {}, ())
    assert _route(router, "GET", b"/trade-api/v2/markets/KX-1") == ("market", {"ticker": "KX-1"}, ())
    assert _route(router, "GET", b"/trade-api/v2/markets/KX-1/orderbook") == ("orderbook", {"ticker": "KX-1"}, ())
    assert _route(router, "POST", b"/trade-api/v2/portfolio/orders/o-9/amend") == ("amend", {"order_id": "o-9"}, ())
    assert _route(router, "GET", b"/") == ("root", {}, ())


def test_router_unknown_path_and_wrong_method() -> None:
    router = _router()
    assert _route(router, "GET", b"/nope") == (None, {}, ())
    assert _route(router, "GET", b"/trade-api/v2/markets/KX/nope") == (None, {}, ())
    assert _route(router, "GET", b"/trade-api/v2/markets//orderbook") == (None, {}, ())  # empty parameter
    assert _route(router, "PUT", b"/trade-api/v2/portfolio/orders/o-1") == (None, {}, ("DELETE", "GET", "HEAD"))
    assert _route(router, "DELETE", b"/trade-api/v2/markets") == (None, {}, ("GET", "HEAD"))


def test_router_trailing_slash_head_and_percent_decoding() -> None:
    router = _router()
    assert _route(router, "GET", b"/trade-api/v2/markets/")[0] == "markets"
    assert _route(router, "GET", b"/trade-api/v2/markets/KX-1/orderbook/")[0] == "orderbook"
    assert _route(router, "HEAD", b"/trade-api/v2/markets")[0] == "markets"
    assert _route(router, "GET", b"/trade-api/v2/markets/A%20B%2FC%C3%A9") == ("market", {"ticker": "A B/Cé"}, ())
    assert _route(router, "GET", b"/trade-api/v2/%6Darkets")[0] == "markets"


def test_router_prefers_exact_segments_and_falls_back_to_parameters() -> None:
    router = _router()
    assert _route(router, "GET", b"/trade-api/v2/markets/trades")[0] == "trades"
    # "trades" has no orderbook route: the parameter branch takes it
    assert _route(router, "GET", b"/trade-api/v2/markets/trades/orderbook") == ("orderbook", {"ticker": "trades"}, ())


def test_router_rejects_bad_and_duplicate_routes() -> None:
    router = _router()
    with pytest.raises(ValueError):
        router.add("GET", "/trade-api/v2/markets", lambda request, params: json_response(200, {}))
    for bad in ("markets", "/a/{b}{c}", "/a/x{b}", "/a/{b}/{b}", "/a//b"):
        with pytest.raises(ValueError):
            Router().add("GET", bad, lambda request, params: json_response(200, {}))


def test_router_serves_404_and_405_with_allow_over_http(run: Run) -> None:
    async def test() -> None:
        async with serving(_router()) as server:
            reader, writer = await connect(server)
            writer.write(get("/trade-api/v2/markets/KX%2D1/orderbook"))
            reply = await read_reply(reader)
            assert reply.json() == {"route": "orderbook", "params": {"ticker": "KX-1"}}
            writer.write(get("/missing"))
            reply = await read_reply(reader)
            assert reply.status == 404
            assert reply.json()["error"]["code"] == "not_found"
            writer.write(post("/trade-api/v2/markets", b"{}"))
            reply = await read_reply(reader)
            assert reply.status == 405
            assert reply.headers["allow"] == "GET, HEAD"
            writer.close()
    run(test)
