"""The retry paths, against a running exchange: a create whose answer is lost is retried and leaves
exactly one order (whether the first attempt rested or filled), batches likewise; a cancel whose answer
is lost is not repeated; 429 waits for Retry-After (a scripted answer, and the server's real rate
limit); 5xx and broken connections are retried only where that is safe."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from integration.sdk_support import (
    AsyncLosingTransport,
    LosingTransport,
    ScriptedTransport,
    async_client_for,
    client_for,
    funded_member,
    new_markets,
    posts_to,
)
from integration.server_fixture import RunningServer, running_server
from predictex.client import Client, Count, RateLimited, RequestTimeout, ServerError, TransportError
from predictex.client.transport import HttpRequest, HttpResponse


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("sdk-retries")) as running:
        yield running


def no_wait(_: float) -> None:
    pass


def test_a_create_whose_answer_is_lost_is_retried_and_makes_one_order(server: RunningServer) -> None:
    [ticker] = new_markets(server)
    member = funded_member(server, "lost")
    transport = LosingTransport(posts_to("/portfolio/events/orders"))
    with client_for(server, member, transport=transport, sleep=no_wait) as client:
        ack = client.create_order(ticker, "bid", 2, "0.30")
        orders = list(client.orders(ticker=ticker))
    creates = [r for r in transport.sent if posts_to("/portfolio/events/orders")(r)]
    assert transport.lost == 1 and len(creates) == 2  # the first answer was lost, the create was sent again ...
    assert creates[0].body == creates[1].body  # ... with the same client_order_id
    assert [o.order_id for o in orders] == [ack.order_id]  # and exactly one order exists: the first one
    assert (ack.remaining_count, orders[0].remaining_count) == (Count(2), Count(2))


def test_a_create_that_filled_before_its_answer_was_lost_fills_once(server: RunningServer) -> None:
    [ticker] = new_markets(server)
    seller = funded_member(server, "seller")
    with client_for(server, seller) as maker:
        maker.create_order(ticker, "ask", 5, "0.50")
    transport = LosingTransport(posts_to("/portfolio/events/orders"))
    with client_for(server, funded_member(server, "taker"), transport=transport, sleep=no_wait) as taker:
        ack = taker.create_order(ticker, "bid", 3, "0.50")
        fills = list(taker.fills(ticker=ticker))
        [order] = list(taker.orders(ticker=ticker))
    assert transport.lost == 1
    assert (ack.order_id, ack.fill_count) == (order.order_id, Count(3))
    assert [f.count for f in fills] == [Count(3)]  # one fill of 3, not two
    with client_for(server, None) as public:
        assert public.orderbook(ticker).best_ask.count == Count(2)


def test_async_create_retry_makes_one_order(server: RunningServer) -> None:
    [ticker] = new_markets(server)
    member = funded_member(server, "async-lost")

    async def run() -> tuple[str, list[str]]:
        transport = AsyncLosingTransport(posts_to("/portfolio/events/orders"), times=2)

        async def no_sleep(_: float) -> None:
            return None

        async with async_client_for(server, member, transport=transport, sleep=no_sleep) as client:
            ack = await client.create_order(ticker, "bid", 1, "0.20")
            assert transport.lost == 2
            return ack.order_id, [o.order_id async for o in client.orders(ticker=ticker)]

    order_id, orders = asyncio.run(run())
    assert orders == [order_id]


def test_a_legacy_create_and_a_batch_are_protected_too(server: RunningServer) -> None:
    [ticker] = new_markets(server)
    transport = LosingTransport(lambda r: r.method == "POST" and "/portfolio/orders" in r.url, times=2)
    with client_for(server, funded_member(server, "legacy-lost"), transport=transport, sleep=no_wait) as client:
        legacy = client.create_order_legacy(ticker, "yes", "buy", 1, yes_price="0.11")  # first lost answer
        batch = client.batch_create_orders_legacy([
            {"ticker": ticker, "side": "yes", "action": "buy", "count": 1, "yes_price": f"0.{12 + i}"} for i in range(3)
        ])  # second lost answer: every item comes back as the order the first attempt made
        orders = list(client.orders(ticker=ticker))
    assert transport.lost == 2
    assert all(item.ok for item in batch)
    assert sorted(o.order_id for o in orders) == sorted([legacy.order_id] + [i.result.order_id for i in batch if i.result])
    assert len(orders) == 4


def test_a_v2_batch_whose_answer_is_lost_makes_each_order_once(server: RunningServer) -> None:
    [ticker] = new_markets(server)
    transport = LosingTransport(posts_to("/portfolio/events/orders/batched"))
    with client_for(server, funded_member(server, "batch-lost"), transport=transport, sleep=no_wait) as client:
        results = client.batch_create_orders([{"ticker": ticker, "side": "bid", "count": 1, "price": f"0.{20 + i}"} for i in range(22)])
        orders = list(client.orders(ticker=ticker))
    assert transport.lost == 1 and all(r.ok for r in results)
    assert len(orders) == 22 and {o.order_id for o in orders} == {r.result.order_id for r in results if r.result}


def test_a_cancel_whose_answer_is_lost_is_not_repeated(server: RunningServer) -> None:
    [ticker] = new_markets(server)
    transport = LosingTransport(lambda r: r.method == "DELETE")
    with client_for(server, funded_member(server, "cancel-lost"), transport=transport, sleep=no_wait) as client:
        ack = client.create_order(ticker, "bid", 1, "0.20")
        with pytest.raises(RequestTimeout):
            client.cancel_order(ack.order_id)
        assert [r.method for r in transport.sent].count("DELETE") == 1
        assert client.order(ack.order_id).status == "canceled"  # it had been applied: the caller reads to find out


def _scripted(*answers: HttpResponse) -> tuple[Client, ScriptedTransport, list[float]]:
    slept: list[float] = []
    transport = ScriptedTransport(list(answers))
    key = ed25519.Ed25519PrivateKey.generate()
    return Client("http://127.0.0.1:1", key_id="k", private_key=key, transport=transport, sleep=slept.append), transport, slept


OK_STATUS = HttpResponse(200, b'{"exchange_active": true, "trading_active": true}')


def test_429_waits_for_retry_after() -> None:
    client, transport, slept = _scripted(
        HttpResponse(429, b'{"error": "too many requests"}', {"retry-after": "2"}), OK_STATUS)
    assert client.exchange_status().trading_active
    assert slept == [2.0] and len(transport.sent) == 2


def test_429_is_retried_even_for_a_cancel_and_gives_up_after_the_last_attempt() -> None:
    limited = HttpResponse(429, b'{"error": "too many requests"}', {"retry-after": "1"})
    client, transport, slept = _scripted(limited, limited, limited, limited)
    with pytest.raises(RateLimited) as refused:
        client.cancel_order("00000000-0000-4000-8000-000000000001")
    assert (refused.value.status, refused.value.code, refused.value.retry_after_s) == (429, "too_many_requests", 1.0)
    assert len(transport.sent) == 4 and slept == [1.0, 1.0, 1.0]


def test_5xx_is_retried_for_reads_but_not_for_a_cancel() -> None:
    unavailable = HttpResponse(503, b'{"error": {"code": "service_unavailable", "message": "busy"}}')
    client, transport, _ = _scripted(unavailable, OK_STATUS)
    assert client.exchange_status().exchange_active and len(transport.sent) == 2
    client, transport, _ = _scripted(unavailable, OK_STATUS)
    with pytest.raises(ServerError) as failed:
        client.cancel_order("00000000-0000-4000-8000-000000000001")
    assert failed.value.code == "service_unavailable" and len(transport.sent) == 1


def test_a_broken_connection_is_retried_for_a_read() -> None:
    class Flaky:
        def __init__(self) -> None:
            self.calls = 0

        def send(self, request: HttpRequest) -> HttpResponse:
            self.calls += 1
            if self.calls == 1:
                raise TransportError("connection reset")
            return OK_STATUS

        def close(self) -> None:
            pass

    flaky = Flaky()
    assert Client("http://127.0.0.1:1", transport=flaky, sleep=no_wait).exchange_status().exchange_active
    assert flaky.calls == 2


def test_the_servers_rate_limit_is_waited_out(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A basic-tier member over its read budget gets 429 with Retry-After; the client waits and
    every call succeeds."""
    with running_server(tmp_path_factory.mktemp("sdk-limits"), rate_limits=True) as limited:
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            import time

            time.sleep(seconds)

        with client_for(limited, funded_member(limited, "hasty"), sleep=sleep) as client:
            balances = [client.balance() for _ in range(60)]  # 600 tokens against a bucket of 400
        assert len(balances) == 60 and slept and all(s >= 1.0 for s in slept)
