"""The simulator's HTTP transport (predictex.sim.http) against a scripted server on a local socket:
what it sends, the answers it reads (Content-Length, chunked, to the end of the stream, after a 1xx),
kept-alive connections reused and idle ones dropped, and errors the SDK can act on (a timeout, a
broken or non-HTTP answer, a URL on another origin)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from predictex.client import AsyncClient
from predictex.client.errors import RequestTimeout, TransportError
from predictex.client.transport import AsyncHttpxTransport, HttpRequest
from predictex.sim import http
from predictex.sim.http import KeepAliveTransport, transport_for

Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]


class Scripted:
    """A server that reads each request (head and Content-Length body) and lets `answer` write what it likes."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                await self.answer(request, writer)
                await writer.drain()
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


def ok(body: bytes, extra: bytes = b"") -> Answer:
    async def answer(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), extra, body))
    return answer


def request(url: str, method: str = "GET", body: bytes | None = None, timeout_s: float = 2.0) -> HttpRequest:
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    return HttpRequest(method, url, headers, body, timeout_s)


def run(coroutine: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coroutine
    return asyncio.run(main())


def test_a_request_is_sent_whole_and_its_connection_kept_for_the_next() -> None:
    async def scenario() -> None:
        server = Scripted(ok(b'{"ok":true}'))
        async with server as url:
            transport = KeepAliveTransport(url)
            first = await transport.send(request(url + "/trade-api/v2/portfolio/orders?limit=5", "POST", b'{"a":1}'))
            second = await transport.send(request(url + "/trade-api/v2/exchange/status"))
            await transport.aclose()
        assert first.status == second.status == 200 and first.body == b'{"ok":true}'
        assert first.headers["content-type"] == "application/json"
        assert server.connections == 1 and transport.opened == 1
        sent = server.requests[0]
        assert sent.startswith(b"POST /trade-api/v2/portfolio/orders?limit=5 HTTP/1.1\r\n")
        assert b"\r\nHost: 127.0.0.1:" in sent and b"\r\nContent-Length: 7\r\n" in sent and sent.endswith(b'\r\n\r\n{"a":1}')
        assert server.requests[1].startswith(b"GET /trade-api/v2/exchange/status HTTP/1.1\r\n")
        assert b"Content-Length" not in server.requests[1]
    run(scenario())


def test_chunked_answers_answers_to_the_end_of_the_stream_and_1xx_are_read() -> None:
    async def chunked(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"4\r\n{\"a\"\r\n3;ext=1\r\n:1}\r\n0\r\nx-trailer: 1\r\n\r\n")

    async def to_the_end(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.0 200 OK\r\n\r\nall of it")
        writer.close()

    async def scenario() -> None:
        server = Scripted(chunked)
        async with server as url:
            transport = KeepAliveTransport(url)
            answer = await transport.send(request(url + "/x"))
            again = await transport.send(request(url + "/y"))
        assert (answer.status, answer.body, again.body) == (201, b'{"a":1}', b'{"a":1}') and server.connections == 1
        closing = Scripted(to_the_end)
        async with closing as url:
            transport = KeepAliveTransport(url)
            first = await transport.send(request(url + "/x"))
            second = await transport.send(request(url + "/x"))
        assert first.body == second.body == b"all of it" and closing.connections == 2  # not reused: the body ran to the end
    run(scenario())


def test_connection_close_and_idle_connections_are_not_reused() -> None:
    async def scenario() -> None:
        server = Scripted(ok(b"{}", b"Connection: close\r\n"))
        async with server as url:
            transport = KeepAliveTransport(url)
            for _ in range(3):
                assert (await transport.send(request(url + "/x"))).status == 200
        assert server.connections == 3
        kept = Scripted(ok(b"{}"))
        async with kept as url:
            transport = KeepAliveTransport(url)
            await transport.send(request(url + "/x"))
            for connection in transport._idle:
                connection.idle_since -= http.IDLE_MAX_S  # as if it had waited that long
            await transport.send(request(url + "/x"))
            await transport.aclose()
        assert kept.connections == 2
    run(scenario())


def test_no_answer_in_time_a_broken_answer_and_another_origin_are_errors_the_sdk_knows() -> None:
    async def silent(request: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async def broken(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort")
        writer.close()

    async def gibberish(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")

    async def scenario() -> None:
        async with Scripted(silent) as url:
            with pytest.raises(RequestTimeout):
                await KeepAliveTransport(url).send(request(url + "/x", timeout_s=0.2))
        for answer in (broken, gibberish):
            server = Scripted(answer)
            async with server as url:
                transport = KeepAliveTransport(url)
                with pytest.raises(TransportError):
                    await transport.send(request(url + "/x"))
                assert transport._idle == []  # a connection in an unknown state is never used again
        with pytest.raises(TransportError, match="not on"):
            await KeepAliveTransport("http://127.0.0.1:1").send(request("http://example.com/x"))
        with pytest.raises(TransportError):  # nobody listening
            await KeepAliveTransport("http://127.0.0.1:1").send(request("http://127.0.0.1:1/x"))
    run(scenario())


def test_the_sdk_sends_through_it_and_odd_urls_or_a_proxy_get_the_default_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        server = Scripted(ok(b'{"exchange_active":true,"trading_active":true}'))
        async with server as url, AsyncClient(url, transport=transport_for(url)) as client:
            status = await client.exchange_status()
        assert status.trading_active and server.requests[0].startswith(b"GET /trade-api/v2/exchange/status HTTP/1.1")
    run(scenario())
    assert isinstance(transport_for("http://127.0.0.1:8000"), KeepAliveTransport)
    assert isinstance(transport_for("local"), KeepAliveTransport)
    assert isinstance(transport_for("not a url"), AsyncHttpxTransport)
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    assert isinstance(transport_for("http://127.0.0.1:8000"), AsyncHttpxTransport)
