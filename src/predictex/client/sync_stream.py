"""`Stream`: the WebSocket client for synchronous programs. It runs an `AsyncStream` on an event loop
in a background thread, so the connection keeps answering heartbeats, reconnecting and keeping books
in sync while the program does something else; `LiveBook` reads are safe from any thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable, Iterator
from typing import Any, TypeVar

from predictex.client.models import Fill
from predictex.client.signing import Signer
from predictex.client.stream import AsyncStream, LiveBook
from predictex.client.stream_state import Data, Gap

T = TypeVar("T")


class Stream:
    def __init__(self, url: str, signer: Signer | None = None, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="predictex-stream", daemon=True)
        self._thread.start()
        self.stream = AsyncStream(url, signer, **options)

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout_s)

    def __enter__(self) -> Stream:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self._run(self.stream.start())

    def close(self) -> None:
        if self._thread.is_alive():
            self._run(self.stream.close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    @property
    def reconnects(self) -> int:
        return self.stream.reconnects

    @property
    def gaps(self) -> list[Gap]:
        return self.stream.gaps

    def drop_connection(self) -> None:
        self._loop.call_soon_threadsafe(self.stream.drop_connection)

    def book(self, ticker: str, timeout_s: float = 10.0) -> LiveBook:
        return self._run(self.stream.book(ticker, timeout_s))

    def subscribe(self, channel: str, tickers: Iterable[str] | None = None, *, timeout_s: float | None = None,
                  **params: Any) -> Iterator[Data]:
        """Subscribe; the iterator yields the channel's messages (each wait bounded by `timeout_s`)."""
        listener = self._run(self.stream.subscribe(channel, tickers, **params))
        return self._iterate(listener, timeout_s)

    def fills(self, tickers: Iterable[str] | None = None, *, timeout_s: float | None = None) -> Iterator[Fill]:
        fills = self._run(self.stream.fills(tickers))
        return self._iterate(fills, timeout_s)

    def _iterate(self, source: Any, timeout_s: float | None) -> Iterator[Any]:
        while True:
            yield self._run(source.__anext__(), timeout_s)
