"""The WebSocket client against a running exchange, through a proxy that misbehaves on purpose: live
books equal the REST book after every change; a connection cut mid-stream is made again with every
subscription; a dropped delta is seen as a `seq` gap and repaired by a fresh snapshot; a frozen
connection is found by the heartbeat; fills stream in; refusals raise. The sync `Stream` is the same
client on a background thread."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from integration.sdk_support import WsProxy, async_client_for, client_for, funded_member, new_markets
from integration.server_fixture import RunningServer, running_server
from predictex.client import AsyncClient, Client, Count, LiveBook, Price, StreamError
from predictex.client.environments import websocket_url
from predictex.client.models import Orderbook

TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("sdk-stream"), rate_limits=False) as running:
        yield running


@pytest.fixture
def proxy(server: RunningServer) -> Iterator[WsProxy]:
    with WsProxy(server.port) as running:
        yield running


def levels(book: Orderbook) -> tuple[Any, ...]:
    return tuple((level.price, level.count) for level in book.yes), tuple((level.price, level.count) for level in book.no)


async def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.01)


async def in_sync(book: LiveBook, client: AsyncClient) -> None:
    """The live book equals the REST book (read after the live book stopped changing)."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        rest = await client.orderbook(book.ticker)
        if book.fresh and levels(book.snapshot()) == levels(rest):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"live book {book.snapshot()} never matched REST {rest}")
        await asyncio.sleep(0.02)


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 60))


def through(proxy: WsProxy) -> str:
    """The stream's URL through the proxy (REST goes straight to the server)."""
    return websocket_url(proxy.base_url)


def test_a_live_book_follows_every_change_and_fills_stream_in(server: RunningServer) -> None:
    [ticker] = new_markets(server)
    maker, taker = funded_member(server, "maker"), funded_member(server, "taker")

    async def scenario() -> None:
        async with async_client_for(server, maker) as m, async_client_for(server, taker) as t, t.stream() as stream:
            book = await stream.book(ticker)
            assert book.fresh and book.best_bid is None and book.best_ask is None  # a new market: empty
            fills = await stream.fills()
            for price in ("0.40", "0.41", "0.42"):
                await m.create_order(ticker, "bid", 3, price)
            await m.create_order(ticker, "ask", 5, "0.60")
            await in_sync(book, t)
            assert book.best_bid.price == Price("0.42") and book.best_ask.price == Price("0.60")
            ack = await t.create_order(ticker, "ask", 4, "0.41", client_order_id="stream-fill")  # takes 3 @ 0.42, 1 @ 0.41
            got = [await asyncio.wait_for(fills.__anext__(), TIMEOUT_S) for _ in range(2)]
            assert [(f.count, f.yes_price, f.order_id, f.client_order_id) for f in got] == [
                (Count(3), Price("0.42"), ack.order_id, "stream-fill"), (Count(1), Price("0.41"), ack.order_id, "stream-fill")]
            assert got[-1].post_position == Count(-4)
            await in_sync(book, t)
            assert (book.best_bid.price, book.best_bid.count) == (Price("0.41"), Count(2))
            assert stream.gaps == [] and stream.reconnects == 0

    run(scenario())


def test_any_channel_can_be_subscribed(server: RunningServer) -> None:
    [ticker] = new_markets(server)
    member = funded_member(server, "channels")

    async def scenario() -> None:
        async with async_client_for(server, member) as client, client.stream() as stream:
            trades = await stream.subscribe("trade", [ticker])
            tickers = await stream.subscribe("ticker", [ticker])
            await client.create_order(ticker, "bid", 1, "0.30")
            await client.create_order(ticker, "ask", 1, "0.30")  # self-trade prevention cancels ...
            other = funded_member(server, "counterparty")
            async with async_client_for(server, other) as counterparty:
                await counterparty.create_order(ticker, "ask", 1, "0.30")  # ... so trade with someone else
            trade = await asyncio.wait_for(trades.__anext__(), TIMEOUT_S)
            assert (trade.type, trade.channel, trade.msg["market_ticker"], trade.seq) == ("trade", "trade", ticker, 1)
            update = await asyncio.wait_for(tickers.__anext__(), TIMEOUT_S)
            assert update.type == "ticker" and update.msg["market_ticker"] == ticker
            with pytest.raises(StreamError) as refused:
                await stream.subscribe("no_such_channel")
            assert refused.value.code == 8

    run(scenario())


def test_a_connection_cut_mid_stream_is_made_again_with_its_subscriptions(server: RunningServer, proxy: WsProxy) -> None:
    [ticker] = new_markets(server)
    member = funded_member(server, "cut")

    async def scenario() -> None:
        async with async_client_for(server, member) as client, client.stream(through(proxy)) as stream:
            book = await stream.book(ticker)
            fills = await stream.fills()
            await client.create_order(ticker, "bid", 2, "0.30")
            await in_sync(book, client)
            proxy.cut()  # the network fails: every socket through the proxy is aborted
            await eventually(lambda: stream.connections == 2 and book.fresh, "reconnected with a fresh snapshot")
            await client.create_order(ticker, "bid", 1, "0.35")
            await in_sync(book, client)
            assert book.best_bid.price == Price("0.35") and stream.reconnects == 1
            async with async_client_for(server, funded_member(server, "hitter")) as hitter:
                await hitter.create_order(ticker, "ask", 1, "0.35")
            fill = await asyncio.wait_for(fills.__anext__(), TIMEOUT_S)  # the fill subscription came back too
            assert fill.count == Count(1) and fill.yes_price == Price("0.35")

    run(scenario())


def test_a_dropped_message_is_a_gap_repaired_by_a_fresh_snapshot(server: RunningServer, proxy: WsProxy) -> None:
    [ticker] = new_markets(server)
    member = funded_member(server, "gap")

    async def scenario() -> None:
        async with async_client_for(server, member) as client, client.stream(through(proxy)) as stream:
            book = await stream.book(ticker)
            proxy.drop_next(lambda m: m.get("type") == "orderbook_delta" and m["msg"]["price_dollars"] == "0.3100")
            await client.create_order(ticker, "bid", 2, "0.31")  # its delta never arrives ...
            await eventually(lambda: len(proxy.dropped) == 1, "the proxy dropped the delta")
            await client.create_order(ticker, "bid", 1, "0.32")  # ... the next one shows the gap
            await eventually(lambda: len(stream.gaps) == 1, "the gap was seen")
            gap = stream.gaps[0]
            assert (gap.channel, gap.received) == ("orderbook_delta", gap.expected + 1)
            await in_sync(book, client)  # the fresh snapshot has the level the lost delta carried
            assert [(level.price, level.count) for level in book.snapshot().bids] == [(Price("0.32"), Count(1)),
                                                                                      (Price("0.31"), Count(2))]
            assert stream.reconnects == 0 and stream.state.resyncs == 1

    run(scenario())


def test_a_frozen_connection_is_found_by_the_heartbeat(server: RunningServer, proxy: WsProxy) -> None:
    [ticker] = new_markets(server)
    member = funded_member(server, "frozen")

    async def scenario() -> None:
        async with async_client_for(server, member) as client, client.stream(
                through(proxy), heartbeat_s=0.2, heartbeat_timeout_s=0.5) as stream:
            book = await stream.book(ticker)
            proxy.freeze()  # the socket stays open but nothing moves: no error, no close, just silence
            await client.create_order(ticker, "bid", 4, "0.44")
            await eventually(lambda: stream.connections == 2, "the silent connection was replaced")
            await in_sync(book, client)
            assert book.best_bid.count == Count(4)

    run(scenario())


def test_the_sync_stream(server: RunningServer) -> None:
    [ticker] = new_markets(server)
    member = funded_member(server, "sync-stream")
    with client_for(server, member) as client, client.stream() as stream:
        book = stream.book(ticker)
        fills = stream.fills(timeout_s=TIMEOUT_S)
        client.create_order(ticker, "ask", 2, "0.70")
        with Client(server.base_url, key_id=None) as public:
            deadline = time.monotonic() + TIMEOUT_S
            while levels(book.snapshot()) != levels(public.orderbook(ticker)):
                assert time.monotonic() < deadline, "the sync stream's book never caught up"
                time.sleep(0.02)
        assert book.best_ask.price == Price("0.70")
        with client_for(server, funded_member(server, "sync-hitter")) as hitter:
            hitter.create_order(ticker, "bid", 1, "0.70")
        fill = next(fills)
        assert (fill.count, fill.book_side) == (Count(1), "ask")


def test_credentials_that_fail_refuse_the_connection(tmp_path_factory: pytest.TempPathFactory) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    with running_server(tmp_path_factory.mktemp("sdk-stream-auth")) as running:
        member = running.new_member("ws-wrong@example.com")

        async def scenario() -> None:
            client = AsyncClient(running.base_url, key_id=member.credentials.key_id, private_key=ed25519.Ed25519PrivateKey.generate())
            with pytest.raises(StreamError, match="cannot connect"):
                async with client.stream(open_timeout_s=5):
                    pass
            await client.aclose()

        run(scenario())
