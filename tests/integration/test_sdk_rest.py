"""Every REST method of the SDK against a running exchange, through real HTTP, once with `Client` and
once with `AsyncClient` (driven through a small adapter that awaits each call and collects async
iterators), checking typed results to the exact cent and contract."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from integration.sdk_support import async_client_for, client_for, funded_member, new_markets
from integration.server_fixture import DEMO_TICKER, RunningServer, running_server
from predictex.client import (
    ApiError,
    AsyncClient,
    AuthenticationError,
    BadRequest,
    BatchItem,
    Client,
    Conflict,
    Count,
    Money,
    NotFound,
    Price,
)
from predictex.client.transport import HttpRequest, HttpResponse, HttpxTransport


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("sdk-rest"), rate_limits=False) as running:
        yield running


class AwaitEach:
    """An AsyncClient driven from synchronous test code: each coroutine is awaited, each async
    iterator collected into a list, on one event loop of its own."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._loop = asyncio.new_event_loop()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            if inspect.isawaitable(result):
                return self._loop.run_until_complete(result)
            if hasattr(result, "__aiter__"):
                return self._loop.run_until_complete(_collect(result))
            return result

        return call

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()


async def _collect(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make_client(server: RunningServer, member: Any, flavour: str, **options: Any) -> Any:
    if flavour == "sync":
        return client_for(server, member, **options)
    return AwaitEach(async_client_for(server, member, **options))


@pytest.fixture
def trader(server: RunningServer, flavour: str) -> Iterator[Any]:
    client = make_client(server, funded_member(server, "trader"), flavour)
    yield client
    client.close()


def test_the_twins_have_the_same_methods_with_the_same_arguments() -> None:
    public = {name for name in dir(Client) if not name.startswith("_")} - {"close"}
    assert public == {name for name in dir(AsyncClient) if not name.startswith("_")} - {"aclose"}
    for name in public:
        ours, theirs = getattr(Client, name), getattr(AsyncClient, name)
        if callable(ours):
            assert list(inspect.signature(ours).parameters) == list(inspect.signature(theirs).parameters), name


def test_market_data(server: RunningServer, flavour: str) -> None:
    client = make_client(server, None, flavour)  # public data needs no key
    try:
        status = client.exchange_status()
        assert status.exchange_active and status.trading_active
        assert client.exchange_schedule()["standard_hours"]
        market = client.market(DEMO_TICKER)
        assert (market.yes_bid, market.yes_ask, market.yes_bid_size) == (Price("0.49"), Price("0.51"), Count(100))
        assert market.no_bid == Price("0.49") and market.status == "active"
        book = client.orderbook(DEMO_TICKER)
        assert [(level.price, level.count) for level in book.bids] == [(Price(f"0.{p}"), Count(100)) for p in (49, 48, 47, 46, 45)]
        assert [level.price for level in book.asks] == [Price(f"0.{p}") for p in (51, 52, 53, 54, 55)]
        assert book.spread == Price("0.02")
        assert client.orderbook(DEMO_TICKER, depth=2).bids == book.bids[:2]
        assert [b.ticker for b in client.orderbooks([DEMO_TICKER])] == [DEMO_TICKER]
        every = list(client.markets())
        paged = list(client.markets(limit=1))  # one market a page: the iterator follows every cursor
        assert [m.ticker for m in paged] == [m.ticker for m in every] and len(every) >= 2
        page = client.markets_page(limit=1)
        assert len(page) == 1 and page.cursor
        event = client.event(market.event_ticker)
        assert DEMO_TICKER in [m.ticker for m in event.markets]
        assert [e.event_ticker for e in client.events(limit=1)] == [e.event_ticker for e in client.events()]
        series = client.series_list()
        assert client.series(series[0].ticker).ticker == series[0].ticker
        with pytest.raises(NotFound) as missing:
            client.market("NO-SUCH-MARKET")
        assert (missing.value.status, missing.value.code) == (404, "market_not_found")
    finally:
        client.close()


def test_orders_current_endpoints(server: RunningServer, trader: Any) -> None:
    [ticker] = new_markets(server)
    ack = trader.create_order(ticker, "bid", 3, "0.40", client_order_id="rest-1")
    assert (ack.client_order_id, ack.fill_count, ack.remaining_count) == ("rest-1", Count(0), Count(3))
    order = trader.order(ack.order_id)
    assert (order.ticker, order.book_side, order.yes_price, order.no_price, order.status) == (ticker, "bid", Price("0.40"),
                                                                                                Price("0.60"), "resting")
    amended = trader.amend_order(ack.order_id, ticker=ticker, side="bid", price=Price("0.41"), count=5)
    assert amended.remaining_count == Count(5)
    assert trader.decrease_order(ack.order_id, reduce_by=1).remaining_count == Count(4)
    assert trader.decrease_order(ack.order_id, reduce_to="2").remaining_count == Count("2.00")
    assert trader.queue_position(ack.order_id).queue_position == Count(0)
    assert [q.order_id for q in trader.queue_positions(market_tickers=[ticker])] == [ack.order_id]
    assert trader.orderbook(ticker).best_bid.count == Count(2)
    assert trader.cancel_order(ack.order_id).reduced_by == Count(2)
    assert trader.order(ack.order_id).status == "canceled"
    assert [o.order_id for o in trader.orders(ticker=ticker)] == [ack.order_id]
    assert [o.order_id for o in trader.orders(ticker=ticker, status="resting")] == []
    with pytest.raises(ApiError) as twice:
        trader.cancel_order(ack.order_id)
    assert twice.value.status in (404, 409)


def test_a_cross_fills_and_the_portfolio_shows_it_to_the_cent(server: RunningServer, trader: Any) -> None:
    before = trader.balance().balance
    ack = trader.create_order(DEMO_TICKER, "bid", 10, "0.51")  # takes 10 of the 100 at 0.51
    assert (ack.fill_count, ack.remaining_count, ack.average_fill_price) == (Count(10), Count(0), Money("0.51"))
    fee = Money("0.18")  # 0.07 x 10 x 0.51 x 0.49 = 0.17493, rounded up
    assert ack.average_fee_paid == Money("0.018")
    [fill] = list(trader.fills(ticker=DEMO_TICKER))
    assert (fill.order_id, fill.count, fill.yes_price, fill.no_price, fill.is_taker, fill.fee_cost) == (
        ack.order_id, Count(10), Price("0.51"), Price("0.49"), True, fee)
    assert list(trader.fills(order_id=ack.order_id)) == [fill]
    assert trader.balance().balance == before - Price("0.51") * Count(10) - fee
    [position] = list(trader.positions())
    assert (position.ticker, position.position, position.market_exposure, position.fees_paid) == (
        DEMO_TICKER, Count(10), Money("5.10"), fee)
    assert trader.positions_page().event_positions[0].total_cost_shares == Count(10)
    assert any(t.count == Count(10) and t.yes_price == Price("0.51") for t in trader.trades(ticker=DEMO_TICKER))
    assert isinstance(trader.candlesticks("INXCHI", DEMO_TICKER, start_ts=int(time.time()) - 3600, end_ts=int(time.time()),
                                          period_interval=1), list)


def test_batches_are_chunked_to_20_and_answer_each_order(server: RunningServer, trader: Any) -> None:
    [ticker] = new_markets(server)
    orders = [{"ticker": ticker, "side": "bid", "count": 1, "price": f"0.{10 + i:02d}"} for i in range(25)]
    orders[3]["price"] = "0.001"  # off the grid: refused alone
    results = trader.batch_create_orders(orders)
    assert len(results) == 25 and all(isinstance(r, BatchItem) for r in results)
    assert [r.ok for r in results] == [i != 3 for i in range(25)]
    assert results[3].error is not None and results[3].error.code == "invalid_price"
    ids = [r.result.order_id for r in results if r.result is not None]
    assert len({o.order_id for o in trader.orders(ticker=ticker, status="resting")}) == 24
    cancels = trader.batch_cancel_orders([*ids[:21], "00000000-0000-4000-8000-000000000000"])
    assert [c.ok for c in cancels] == [True] * 21 + [False]
    assert all(c.result.reduced_by == Count(1) for c in cancels[:21] if c.result)
    trader.cancel_all_orders()
    assert list(trader.orders(ticker=ticker, status="resting")) == []


def test_orders_legacy_endpoints(server: RunningServer, trader: Any) -> None:
    [ticker] = new_markets(server)
    order = trader.create_order_legacy(ticker, "no", "buy", 2, no_price="0.70")  # buy NO at 0.70 = ask YES at 0.30
    assert (order.book_side, order.yes_price, order.no_price, order.side, order.action) == ("ask", Price("0.30"), Price("0.70"),
                                                                                            "no", "buy")
    amended = trader.amend_order_legacy(order.order_id, ticker=ticker, side="no", action="buy", count=4, no_price="0.69")
    assert (amended.old_order.remaining_count, amended.order.remaining_count, amended.order.no_price) == (
        Count(2), Count(4), Price("0.69"))
    assert trader.decrease_order_legacy(order.order_id, reduce_by=1).remaining_count == Count(3)
    cancel = trader.cancel_order_legacy(order.order_id)
    assert (cancel.reduced_by, cancel.order.status) == (Count(3), "canceled")
    made = trader.batch_create_orders_legacy([
        {"ticker": ticker, "side": "yes", "action": "buy", "count": 1, "yes_price": "0.20"},
        {"ticker": ticker, "side": "yes", "action": "buy", "count": 1, "yes_price": "0.21"},
    ])
    assert [m.result.yes_price for m in made if m.result] == [Price("0.20"), Price("0.21")]
    cancels = trader.batch_cancel_orders_legacy([m.result.order_id for m in made if m.result])
    assert [c.result.order.status for c in cancels if c.result] == ["canceled", "canceled"]


def test_order_groups(server: RunningServer, trader: Any) -> None:
    [ticker] = new_markets(server)
    group_id = trader.create_order_group(5)
    assert group_id in [g.order_group_id for g in trader.order_groups()]
    ack = trader.create_order(ticker, "bid", 1, "0.30", order_group_id=group_id)
    group = trader.order_group(group_id)
    assert (group.contracts_limit, group.orders) == (Count(5), (ack.order_id,))
    trader.update_order_group_limit(group_id, 7)
    assert trader.order_group(group_id).contracts_limit == Count(7)
    trader.trigger_order_group(group_id)
    assert trader.order(ack.order_id).status == "canceled"
    with pytest.raises(ApiError):
        trader.create_order(ticker, "bid", 1, "0.30", order_group_id=group_id)  # triggered: refused until reset
    trader.reset_order_group(group_id)
    trader.create_order(ticker, "bid", 1, "0.30", order_group_id=group_id)
    trader.delete_order_group(group_id)
    assert group_id not in [g.order_group_id for g in trader.order_groups()]


def test_settlement_after_the_operator_settles(server: RunningServer, trader: Any) -> None:
    [ticker] = new_markets(server)
    other = client_for(server, funded_member(server, "other"))
    other.create_order(ticker, "ask", 4, "0.60")
    trader.create_order(ticker, "bid", 4, "0.60")
    opened_s = trader.market(ticker).open_time.timestamp()
    server.admin("POST", f"/markets/{ticker}/times", {"close_time": max(int(time.time()), int(opened_s) + 1)}, expect=200)
    deadline = time.monotonic() + 10
    while trader.market(ticker).status != "closed":  # closes at the next whole second
        assert time.monotonic() < deadline, "the market never closed"
        time.sleep(0.02)
    server.admin("POST", f"/markets/{ticker}/determine", {"result": "yes"}, expect=200)
    deadline = time.monotonic() + 10  # no settlement timer: paid at the exchange's next tick
    while trader.market(ticker).status != "finalized":
        assert time.monotonic() < deadline, "the market was never settled"
        time.sleep(0.02)
    [settlement] = list(trader.settlements(ticker=ticker))
    assert (settlement.market_result, settlement.yes_count, settlement.revenue) == ("yes", Count(4), Money("4.00"))
    assert trader.market(ticker).result == "yes"
    other.close()


def test_refusals_carry_the_servers_code_message_and_status(server: RunningServer, flavour: str) -> None:
    poor = make_client(server, funded_member(server, "poor", dollars=1), flavour)
    try:
        with pytest.raises(BadRequest) as refused:
            poor.create_order(DEMO_TICKER, "bid", 100_000, "0.45")  # $45,000 of a demo account's $10,000
        assert (refused.value.status, refused.value.code) == (400, "insufficient_balance")
        assert "insufficient" in str(refused.value)
        poor.create_order(DEMO_TICKER, "bid", 1, "0.10", client_order_id="mine")
        with pytest.raises(Conflict) as duplicate:  # a first attempt with a used id is the caller's mistake: raised
            poor.create_order(DEMO_TICKER, "bid", 1, "0.10", client_order_id="mine")
        assert duplicate.value.code == "order_already_exists"
        with pytest.raises(TypeError, match="ambiguous"):
            poor.create_order(DEMO_TICKER, "bid", 1, 45)  # 45 what? cents or dollars: refused before sending
        with pytest.raises(TypeError):
            poor.create_order(DEMO_TICKER, "bid", 1, 0.45)
    finally:
        poor.close()


def test_a_wrong_key_is_an_authentication_error(server: RunningServer, flavour: str) -> None:
    member = funded_member(server, "wrong")
    impostor = make_client(server, None, flavour, key_id=member.credentials.key_id, private_key=ed25519.Ed25519PrivateKey.generate())
    try:
        with pytest.raises(AuthenticationError) as refused:
            impostor.balance()
        assert refused.value.status == 401 and refused.value.code == "authentication_error"
    finally:
        impostor.close()


def test_keys_and_limits(server: RunningServer, trader: Any) -> None:
    assert trader.account_limits().usage_tier == "basic"
    generated = trader.generate_api_key("second", "ed25519")
    assert generated.private_key_pem.startswith("-----BEGIN PRIVATE KEY-----")
    public = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    registered = trader.create_api_key("third", public, scopes=["read"])
    names = {k.api_key_id: k for k in trader.api_keys()}
    assert {generated.api_key_id, registered} <= set(names) and names[registered].scopes == ("read",)
    with Client(server.base_url, key_id=generated.api_key_id, private_key=generated.private_key_pem) as second:
        assert second.balance().balance == trader.balance().balance  # the new key (PEM text) speaks for the same member
    trader.delete_api_key(registered)
    assert registered not in {k.api_key_id for k in trader.api_keys()}


class Recording(HttpxTransport):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[HttpRequest] = []

    def send(self, request: HttpRequest) -> HttpResponse:
        self.sent.append(request)
        return super().send(request)


def test_a_session_token_is_renewed_before_it_expires(server: RunningServer) -> None:
    member = funded_member(server, "session")
    now = [time.time()]
    transport = Recording()
    client = client_for(server, member, use_session=True, transport=transport, clock=lambda: now[0])
    client.balance()
    login, first = transport.sent
    assert login.url.endswith("/v1/log_in") and "KALSHI-ACCESS-SIGNATURE" in login.headers
    assert first.headers["Authorization"].startswith("Bearer ") and "KALSHI-ACCESS-SIGNATURE" not in first.headers
    token = first.headers["Authorization"]
    now[0] += 26 * 60  # four minutes before the 30-minute token ends: renewed with itself first
    client.balance()
    refresh, second = transport.sent[2:]
    assert refresh.url.endswith("/v1/log_in") and refresh.headers["Authorization"] == token
    assert "KALSHI-ACCESS-SIGNATURE" not in refresh.headers and second.headers["Authorization"] == token
    now[0] += 60 * 60  # long past its end: a new login, signed
    client.balance()
    relogin = transport.sent[4]
    assert relogin.url.endswith("/v1/log_in") and "KALSHI-ACCESS-SIGNATURE" in relogin.headers
    client.close()


def test_a_password_session(server: RunningServer, flavour: str) -> None:
    member = funded_member(server, "password")
    client = make_client(server, None, flavour)
    try:
        token = client.log_in_with_password(member.email, member.password)
        assert token.member_id == member.member_id
        assert client.balance().balance == Money("20000.00")  # a demo account's $10,000 and the test's deposit
    finally:
        client.close()


def test_pages_sessions_sign_up_and_raw_calls(server: RunningServer, flavour: str) -> None:
    member = funded_member(server, "pages")
    client = make_client(server, member, flavour)
    try:
        [ticker] = new_markets(server)
        acks = [client.create_order(ticker, "bid", 1, f"0.{20 + i}") for i in range(3)]
        first = client.orders_page(ticker=ticker, limit=2)
        second = client.orders_page(first.cursor, ticker=ticker, limit=2)
        assert [o.order_id for o in (*first, *second)] == [a.order_id for a in reversed(acks)] and second.cursor == ""
        assert client.find_order(ticker, acks[1].client_order_id).order_id == acks[1].order_id
        assert client.find_order(ticker, "never-used") is None
        assert len(client.events_page(limit=1)) == 1
        assert client.fills_page().items == () and client.settlements_page().items == ()
        assert client.trades_page(ticker=ticker).cursor == ""
        token = client.log_in()  # from now on the session's token, not a signature per request
        assert token.member_id == member.member_id and token.expires is not None
        assert client.request("GET", "/portfolio/balance")["balance_dollars"] == str(client.balance().balance)
        assert client.request("GET", "/exchange/status", auth=False)["exchange_active"] is True
        public = make_client(server, None, flavour)
        assert public.sign_up(f"signed-{member.email}", "a long password")["email"] == f"signed-{member.email}"
        public.close()
    finally:
        client.close()
