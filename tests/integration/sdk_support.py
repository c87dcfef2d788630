"""Helpers for the SDK and trader CLI tests: funded members with SDK clients, markets of a test's own,
transports that lose answers on purpose, and a TCP proxy in front of the WebSocket that can drop one
message, freeze, or cut every connection, so the stream's recovery is tested through real sockets.

The proxy reads the server's WebSocket frames (unmasked, RFC 6455) after the HTTP upgrade, so it can
drop a chosen text message whole; everything else passes byte for byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from integration.server_fixture import Member, RunningServer, unique
from predictex.client import AsyncClient, Client
from predictex.client.errors import RequestTimeout
from predictex.client.transport import AsyncHttpxTransport, HttpRequest, HttpResponse, HttpxTransport

# --- members and markets --------------------------------------------------------------------------------


def funded_member(server: RunningServer, name: str, dollars: int = 10_000) -> Member:
    member = server.new_member(f"{unique(name)}@example.com")
    server.admin("POST", f"/members/{member.member_id}/deposits", {"amount_dollars": f"{dollars}.00"}, expect=None)
    return member


def client_for(server: RunningServer, member: Member | None, **options: Any) -> Client:
    if member is None:
        return Client(server.base_url, **options)
    return Client(server.base_url, key_id=member.credentials.key_id, private_key=member.credentials.private_key, **options)


def async_client_for(server: RunningServer, member: Member | None, **options: Any) -> AsyncClient:
    if member is None:
        return AsyncClient(server.base_url, **options)
    return AsyncClient(server.base_url, key_id=member.credentials.key_id, private_key=member.credentials.private_key, **options)


def new_markets(server: RunningServer, count: int = 1, prefix: str = "KXSDK") -> list[str]:
    series = unique(prefix)
    event = f"{series}-E"
    tickers = [f"{event}-M{index}" for index in range(count)]
    server.create_instruments(series, event, tickers)
    return tickers


# --- transports that lose answers -------------------------------------------------------------------------

@dataclass
class LosingTransport:
    """Sends every request for real; for the first `times` requests that `lose` matches, the answer is
    thrown away and the caller sees a timeout, as if the network had dropped it."""

    lose: Callable[[HttpRequest], bool]
    times: int = 1
    inner: HttpxTransport = field(default_factory=HttpxTransport)
    sent: list[HttpRequest] = field(default_factory=list)
    lost: int = 0

    def send(self, request: HttpRequest) -> HttpResponse:
        self.sent.append(request)
        response = self.inner.send(request)
        if self.lost < self.times and self.lose(request):
            self.lost += 1
            raise RequestTimeout(f"{request.method} {request.url}: answer lost on purpose")
        return response

    def close(self) -> None:
        self.inner.close()


@dataclass
class AsyncLosingTransport:
    lose: Callable[[HttpRequest], bool]
    times: int = 1
    inner: AsyncHttpxTransport = field(default_factory=AsyncHttpxTransport)
    sent: list[HttpRequest] = field(default_factory=list)
    lost: int = 0

    async def send(self, request: HttpRequest) -> HttpResponse:
        self.sent.append(request)
        response = await self.inner.send(request)
        if self.lost < self.times and self.lose(request):
            self.lost += 1
            raise RequestTimeout(f"{request.method} {request.url}: answer lost on purpose")
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class ScriptedTransport:
    """Answers from a list, in order, and records what was asked (for 429 and 5xx handling)."""

    answers: list[HttpResponse]
    sent: list[HttpRequest] = field(default_factory=list)

    def send(self, request: HttpRequest) -> HttpResponse:
        self.sent.append(request)
        return self.answers.pop(0)

    def close(self) -> None:
        pass


def posts_to(path: str) -> Callable[[HttpRequest], bool]:
    return lambda request: request.method == "POST" and request.url.split("?")[0].endswith(path)


# --- a WebSocket proxy that misbehaves on purpose ---------------------------------------------------------

def _frames(buffer: bytearray) -> Iterator[tuple[int, bytes, bytes]]:
    """Whole server frames at the front of `buffer` (removed): (opcode, payload, raw bytes)."""
    while len(buffer) >= 2:
        opcode, length = buffer[0] & 0x0F, buffer[1] & 0x7F
        offset = 2
        if length == 126:
            if len(buffer) < 4:
                return
            length, offset = struct.unpack("!H", buffer[2:4])[0], 4
        elif length == 127:
            if len(buffer) < 10:
                return
            length, offset = struct.unpack("!Q", buffer[2:10])[0], 10
        if len(buffer) < offset + length:
            return
        raw = bytes(buffer[:offset + length])
        payload = raw[offset:]
        del buffer[:offset + length]
        yield opcode, payload, raw


class WsProxy:
    """Listens on a port of its own and forwards to the server. `drop_next(predicate)` drops the next
    server text message the predicate accepts; `freeze()` stops forwarding anything (both ways) on the
    connections open now while keeping their sockets open (new connections flow); `cut()` aborts
    every connection."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.connections = 0
        self.dropped: list[dict[str, Any]] = []
        self._drops: list[Callable[[dict[str, Any]], bool]] = []
        self._frozen_upto = 0  # connections numbered up to this one are frozen
        self._writers: list[asyncio.StreamWriter] = []
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="ws-proxy", daemon=True)

    def __enter__(self) -> WsProxy:
        self._thread.start()
        assert self._started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def drop_next(self, predicate: Callable[[dict[str, Any]], bool]) -> None:
        self._loop.call_soon_threadsafe(self._drops.append, predicate)

    def freeze(self) -> None:
        self._frozen_upto = self.connections

    def cut(self) -> None:
        def abort() -> None:
            for writer in self._writers:
                writer.transport.abort()
            self._writers.clear()

        self._loop.call_soon_threadsafe(abort)

    def wait_for(self, condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("the proxy never saw what was waited for")
            time.sleep(0.01)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._started.set()
        self._loop.run_forever()
        server.close()
        tasks = asyncio.all_tasks(self._loop)
        for task in tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.close()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers += [client_writer, server_writer]
        upstream = asyncio.ensure_future(self._pipe(client_reader, server_writer, number))
        try:
            await self._downstream(server_reader, client_writer, number)
        finally:
            upstream.cancel()
            for writer in (client_writer, server_writer):
                with contextlib.suppress(Exception):
                    writer.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        while data := await reader.read(65536):
            while self._frozen_upto >= number:
                await asyncio.sleep(0.01)
            writer.write(data)

    async def _downstream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        head = await reader.readuntil(b"\r\n\r\n")  # the upgrade's answer
        writer.write(head)
        buffer = bytearray()
        while data := await reader.read(65536):
            buffer += data
            for opcode, payload, raw in _frames(buffer):
                while self._frozen_upto >= number:
                    await asyncio.sleep(0.01)
                if opcode == 0x1 and self._drops:
                    message = json.loads(payload)
                    matched = next((p for p in self._drops if p(message)), None)
                    if matched is not None:
                        self._drops.remove(matched)
                        self.dropped.append(message)
                        continue
                writer.write(raw)
