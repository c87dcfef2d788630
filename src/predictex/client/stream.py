"""`AsyncStream`: the WebSocket client (reference §9). One connection, every channel, and everything
other clients leave to their users:

- Heartbeats: the client pings every `heartbeat_s` and drops a connection whose pong does not come
  within `heartbeat_timeout_s` (and answers the server's own pings); a frozen connection is noticed
  in seconds, not never.
- Reconnect: a dropped connection is made again (backoff up to `reconnect_backoff_max_s`) and every
  subscription with it; books are stale until their fresh snapshots arrive.
- Sequence gaps: per-subscription `seq` is checked; a gap (or a book that stops making sense) asks for
  fresh snapshots at once (see stream_state.py).
- Local books: `await stream.book(ticker)` returns a `LiveBook`, kept in sync, readable at any moment.

    async with client.stream() as stream:
        book = await stream.book("INXCHI-25JAN31-T69.5")
        fills = await stream.fills()
        async for fill in fills: ...
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from predictex.client.errors import StreamError
from predictex.client.models import Fill, Level, Orderbook
from predictex.client.signing import Signer
from predictex.client.stream_state import BOOK_CHANNEL, Data, Gap, LocalBook, Refused, StreamState
from predictex.client.units import Price

log = logging.getLogger("predictex.client.stream")

LISTENER_QUEUE_MAX = 100_000  # messages one listener may fall behind by; past it the oldest are dropped
MESSAGE_BYTES_MAX = 16 * 1024 * 1024
Connector = Callable[..., Awaitable[ClientConnection]]


class LiveBook:
    """A market's book, kept in sync by the stream. Every read is of the book as it is now."""

    def __init__(self, local: LocalBook) -> None:
        self._local = local

    @property
    def ticker(self) -> str:
        return self._local.ticker

    @property
    def fresh(self) -> bool:
        """False between a gap or reconnect and the fresh snapshot that follows it."""
        return self._local.fresh

    def snapshot(self) -> Orderbook:
        return self._local.orderbook()

    @property
    def best_bid(self) -> Level | None:
        return self.snapshot().best_bid

    @property
    def best_ask(self) -> Level | None:
        return self.snapshot().best_ask

    @property
    def spread(self) -> Price | None:
        return self.snapshot().spread

    def __repr__(self) -> str:
        return f"LiveBook({self.ticker!r}, bid={self.best_bid}, ask={self.best_ask}, fresh={self.fresh})"


class Listener:
    """Messages of some channels, in order, as an async iterator."""

    def __init__(self, channels: frozenset[str] | None, types: frozenset[str] | None) -> None:
        self.channels = channels
        self.types = types
        self.queue: asyncio.Queue[Data] = asyncio.Queue()
        self.dropped = 0

    def wants(self, data: Data) -> bool:
        return (self.channels is None or data.channel in self.channels) and (self.types is None or data.type in self.types)

    def put(self, data: Data) -> None:
        if self.queue.qsize() >= LISTENER_QUEUE_MAX:
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(data)

    def clear(self) -> None:
        """Forget the messages waiting (those already reflected in the books, say)."""
        while not self.queue.empty():
            self.queue.get_nowait()

    def __aiter__(self) -> Listener:
        return self

    async def __anext__(self) -> Data:
        return await self.queue.get()


class Fills:
    """Your fills as they happen, as `Fill` objects."""

    def __init__(self, listener: Listener) -> None:
        self._listener = listener

    def __aiter__(self) -> Fills:
        return self

    async def __anext__(self) -> Fill:
        return Fill.from_wire((await self._listener.__anext__()).msg)


class AsyncStream:
    def __init__(self, url: str, signer: Signer | None = None, *, bearer_token: str | None = None, heartbeat_s: float = 5.0,
                 heartbeat_timeout_s: float = 10.0, reconnect_backoff_s: float = 0.1,
                 reconnect_backoff_max_s: float = 5.0, connect: Connector | None = None, open_timeout_s: float = 10.0) -> None:
        self.url = url
        self.signer = signer
        self.bearer_token = bearer_token
        self.heartbeat_s = heartbeat_s
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.reconnect_backoff_s = reconnect_backoff_s
        self.reconnect_backoff_max_s = reconnect_backoff_max_s
        self.open_timeout_s = open_timeout_s
        self._connect: Connector = connect or websockets.connect
        self.state = StreamState()
        self.connections = 0  # connections made (1 + reconnects)
        self.refusals: list[Refused] = []
        self._listeners: list[Listener] = []
        self._socket: ClientConnection | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._failure: BaseException | None = None
        self._book_waiters: dict[str, asyncio.Event] = {}
        self._answers: dict[int, asyncio.Future[Refused | None]] = {}

    async def __aenter__(self) -> AsyncStream:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def reconnects(self) -> int:
        return max(0, self.connections - 1)

    @property
    def connected(self) -> bool:
        """Whether a connection is up (False from a loss until the reconnect has resubscribed)."""
        return self._connected.is_set()

    @property
    def gaps(self) -> list[Gap]:
        return self.state.gaps

    async def start(self) -> None:
        """Connect (waits for the first connection; later ones are made in the background)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        await self._wait_connected()

    async def _wait_connected(self) -> None:
        waiter = asyncio.ensure_future(self._connected.wait())
        assert self._task is not None
        done, _ = await asyncio.wait({waiter, self._task}, timeout=self.open_timeout_s, return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            waiter.cancel()
            if self._failure is not None:
                raise StreamError(f"cannot connect to {self.url}: {self._failure}") from self._failure
            raise StreamError(f"no WebSocket connection to {self.url} within {self.open_timeout_s:g} s")

    async def close(self) -> None:
        self._closed = True
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await self._socket.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def drop_connection(self) -> None:
        """Break the current connection at once (as a network failure would); the stream reconnects."""
        if self._socket is not None and self._socket.transport is not None:
            self._socket.transport.abort()

    # --- subscribing ----------------------------------------------------------------------------------

    async def subscribe(self, channel: str, tickers: Iterable[str] | None = None, **params: Any) -> Listener:
        """Subscribe to any channel (for `tickers`, or every market); the returned listener yields its
        messages (`Data`), starting after the server has acknowledged the subscription."""
        listener = self.listen([channel])
        command = self.state.subscribe(channel, tickers, **params)
        await self._send_and_wait(command)
        return listener

    def listen(self, channels: Iterable[str] | None = None, types: Iterable[str] | None = None) -> Listener:
        """Messages of these channels (and/or types) from now on, without subscribing."""
        listener = Listener(frozenset(channels) if channels is not None else None, frozenset(types) if types is not None else None)
        self._listeners.append(listener)
        return listener

    async def book(self, ticker: str, timeout_s: float = 10.0) -> LiveBook:
        """The market's book, once its snapshot has arrived; it then follows every delta."""
        subscribed = self.state.subscriptions.get(BOOK_CHANNEL)
        if subscribed is None or subscribed.tickers is None or ticker not in subscribed.tickers:
            await self._send_and_wait(self.state.subscribe(BOOK_CHANNEL, [ticker]))
        local = self.state.books[ticker]
        await self.wait_fresh(ticker, timeout_s)
        return LiveBook(local)

    async def wait_fresh(self, ticker: str, timeout_s: float = 10.0) -> None:
        """Until the market's book has its snapshot (after a subscribe, a gap or a reconnect)."""
        local = self.state.books[ticker]
        if local.fresh:
            return
        waiter = self._book_waiters.setdefault(ticker, asyncio.Event())
        try:
            await asyncio.wait_for(waiter.wait(), timeout_s)
        except TimeoutError as error:
            raise StreamError(f"no snapshot of {ticker} within {timeout_s:g} s") from error

    async def fills(self, tickers: Iterable[str] | None = None) -> Fills:
        """Subscribe to your fills; returns once the server has acknowledged, so none is missed."""
        return Fills(await self.subscribe("fill", tickers))

    async def _send_and_wait(self, command: dict[str, Any], timeout_s: float = 10.0) -> None:
        """Send a command and wait for its answer (subscribed, ok or error); an error raises."""
        command_id = command["id"]
        if self._socket is None:
            await self._wait_connected()
            return  # the connection's resubscription carries it
        answered = asyncio.get_running_loop().create_future()
        self._answers[command_id] = answered
        socket = self._socket
        try:
            await socket.send(json.dumps(command))
            refusal = await asyncio.wait_for(answered, timeout_s)
        except websockets.ConnectionClosed:
            return  # the connection broke: the reconnect subscribes again
        except TimeoutError as error:
            if self._socket is not socket:
                return  # reconnected meanwhile: the new connection carried the subscription
            raise StreamError(f"no answer to {command['cmd']} within {timeout_s:g} s") from error
        finally:
            self._answers.pop(command_id, None)
        if refusal is not None:
            raise StreamError(f"{command['cmd']} refused: {refusal.message} (code {refusal.code})", refusal.code)

    # --- the connection -------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        if self.signer is not None:
            from urllib.parse import urlsplit

            return self.signer.headers("GET", urlsplit(self.url).path)
        if self.bearer_token:
            return {"Authorization": f"Bearer {self.bearer_token}"}
        return {}

    async def _run(self) -> None:
        backoff = self.reconnect_backoff_s
        while not self._closed:
            try:
                socket = await self._connect(
                    self.url, additional_headers=self._headers(), ping_interval=self.heartbeat_s,
                    ping_timeout=self.heartbeat_timeout_s, open_timeout=self.open_timeout_s, compression=None,
                    max_size=MESSAGE_BYTES_MAX, close_timeout=2.0,
                )
            except (OSError, TimeoutError, websockets.InvalidHandshake) as error:
                if self.connections == 0 and isinstance(error, websockets.InvalidStatus):
                    self._failure = error  # refused credentials do not get better by retrying
                    return
                log.info("WebSocket connect to %s failed (%s); retrying in %.1f s", self.url, error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(self.reconnect_backoff_max_s, backoff * 2)
                continue
            backoff = self.reconnect_backoff_s
            await self._serve(socket)

    async def _serve(self, socket: ClientConnection) -> None:
        self._socket = socket
        self.connections += 1
        try:
            for command in self.state.resubscribe():
                await socket.send(json.dumps(command))
            self._connected.set()
            while True:
                raw = await socket.recv()
                await self._handle(socket, json.loads(raw))
        except (websockets.ConnectionClosed, TimeoutError, OSError, ValueError) as error:
            log.info("WebSocket connection to %s lost (%s); reconnecting", self.url, type(error).__name__)
        finally:
            self._socket = None
            self._connected.clear()
            for answered in self._answers.values():
                if not answered.done():
                    answered.set_result(None)
            socket.transport.abort()

    async def _handle(self, socket: ClientConnection, message: Any) -> None:
        if not isinstance(message, dict):
            return
        command_id = message.get("id")
        if isinstance(command_id, int) and command_id in self._answers and message.get("type") in ("subscribed", "ok", "error"):
            answered = self._answers[command_id]
            if not answered.done():
                error = message.get("msg") or {}
                answered.set_result(Refused(command_id, int(error.get("code") or 0), str(error.get("msg", "")))
                                    if message.get("type") == "error" else None)
        events, commands = self.state.receive(message)
        for command in commands:
            await socket.send(json.dumps(command))
        for event in events:
            if isinstance(event, Data):
                self._deliver(event)
            elif isinstance(event, Refused):
                self.refusals.append(event)
                log.warning("WebSocket command refused: %s", event)
            else:
                log.warning("WebSocket sequence gap on %s: expected %d, got %d; resynchronising", event.channel, event.expected,
                            event.received)

    def _deliver(self, data: Data) -> None:
        if data.type == "orderbook_snapshot":
            waiter = self._book_waiters.pop(str(data.msg.get("market_ticker")), None)
            if waiter is not None:
                waiter.set()
        for listener in self._listeners:
            if listener.wants(data):
                listener.put(data)
