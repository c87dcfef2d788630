"""`Client`: the synchronous REST client. Its twin `AsyncClient` (async_client.py) has the same
methods with the same arguments; both only send the `Call`s that calls.py builds and read the answers
with _core.py, so they cannot drift apart in what they send or how they read it.

    with Client("http://127.0.0.1:8000", key_id=KEY_ID, private_key="~/.predictex/key.pem") as client:
        book = client.orderbook("INXCHI-25JAN31-T69.5")
        client.create_order("INXCHI-25JAN31-T69.5", "bid", count=1, price="0.45")
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from predictex.client import _core, calls
from predictex.client import models as m
from predictex.client.calls import Call, CountLike, PriceLike
from predictex.client.environments import LOCAL, websocket_url
from predictex.client.errors import AuthenticationError, PredictexError
from predictex.client.signing import PrivateKey
from predictex.client.sync_stream import Stream
from predictex.client.transport import HttpxTransport, Transport

T = TypeVar("T")


class Client:
    def __init__(self, base_url: str = LOCAL, *, key_id: str | None = None, private_key: PrivateKey | str | bytes | Path | None = None,
                 use_session: bool = False, transport: Transport | None = None, timeout_s: float = 10.0,
                 retry: _core.RetryPolicy | None = None, clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], None] | None = None, user_agent: str | None = None) -> None:
        """`base_url`: a URL or "local", "demo", "production". `private_key`: a key object, PEM text
        or a file path (RSA or Ed25519). `use_session`: trade on a session token from /v1/log_in
        (renewed before it expires) instead of signing every request. `user_agent`: the User-Agent
        header (default predictex-python/VERSION)."""
        self._core = _core.ClientCore(base_url, key_id=key_id, private_key=private_key, use_session=use_session,
                                      timeout_s=timeout_s, retry=retry, clock=clock,
                                      user_agent=user_agent or _core.USER_AGENT)
        self._transport: Transport = transport or HttpxTransport()
        self._sleep = sleep or time.sleep

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    @property
    def base_url(self) -> str:
        return self._core.root

    @property
    def key_id(self) -> str | None:
        return self._core.signer.key_id if self._core.signer else None

    def stream(self, url: str | None = None, **options: Any) -> Stream:
        """A WebSocket stream to the same exchange, authenticated with the same key, run on a
        background thread (see sync_stream.py and stream.py)."""
        session = self._core.session
        return Stream(url or websocket_url(self._core.root), self._core.signer,
                      bearer_token=session.token if session is not None and self._core.signer is None else None, **options)

    # --- sending ---------------------------------------------------------------------------------------

    def call(self, call: Call[T]) -> T:
        """Send one call (from calls.py), with the retries its safety allows."""
        return self._call_counted(call)[0]

    def _call_counted(self, call: Call[T]) -> tuple[T, bool]:
        """The result, and whether an earlier attempt may have been applied (its answer was lost)."""
        attempt = 0
        uncertain = False
        self._ensure_session(call)
        while True:
            try:
                return self._send(call), uncertain
            except PredictexError as error:
                if _core.is_duplicate(call, error, uncertain):
                    assert call.duplicate is not None
                    return _core.recovered(call, self.find_order(call.duplicate.ticker, call.duplicate.client_order_id), error), uncertain
                if self._core.relogin_after(error, attempt):
                    self._ensure_session(call)
                    attempt += 1
                    continue
                delay = self._core.retry_delay(call, attempt, error)
                if delay is None:
                    raise
                uncertain = uncertain or _core.outcome_unknown(error)
            attempt += 1
            self._sleep(delay)

    def _send(self, call: Call[T]) -> T:
        return self._core.result(call, self._transport.send(self._core.request(call, self._core.auth_headers(call))))

    def _ensure_session(self, call: Call[Any]) -> None:
        step = self._core.session_step(call)
        if step is None:
            return
        try:
            token = self._send(step)
        except AuthenticationError:
            if self._core.session is None:
                raise
            self._core.session = None  # the refresh was refused: log in afresh
            step = self._core.session_step(call)
            assert step is not None
            token = self._send(step)
        self._core.keep_session(token)

    def _pages(self, make: Callable[[str], Call[m.Page[T]]]) -> Iterator[T]:
        cursor = ""
        while True:
            page = self.call(make(cursor))
            yield from page.items
            if not page.cursor or page.cursor == cursor:
                return
            cursor = page.cursor

    def find_order(self, ticker: str, client_order_id: str) -> m.Order | None:
        """The order with this client_order_id in `ticker`, if any (searched newest first)."""
        for index, order in enumerate(self._pages(lambda cursor: calls.orders_page(cursor, ticker=ticker, limit=200))):
            if order.client_order_id == client_order_id:
                return order
            if index >= 200 * _core.DUPLICATE_LOOKUP_PAGES_MAX:
                break
        return None

    # --- sessions and keys -----------------------------------------------------------------------------

    def log_in(self) -> m.SessionToken:
        """Buy a session token with the API key (`POST /v1/log_in`); later calls use it, renewed before expiry."""
        self._core.use_session = True
        self._core.session = None
        token = self._send(calls.log_in())
        self._core.keep_session(token)
        return token

    def log_in_with_password(self, email: str, password: str) -> m.SessionToken:
        """The legacy email and password login; later calls use its token (and log in again when it ends)."""
        token = self._send(calls.password_login(email, password))
        self._core.password = (email, password)
        self._core.keep_session(token)
        return token

    def sign_up(self, email: str, password: str) -> dict[str, Any]:
        return self.call(calls.sign_up(email, password))

    def api_keys(self) -> list[m.ApiKey]:
        return self.call(calls.api_keys())

    def create_api_key(self, name: str, public_key_pem: str, scopes: Iterable[str] | None = None) -> str:
        return self.call(calls.create_api_key(name, public_key_pem, scopes))

    def generate_api_key(self, name: str, key_type: str = "rsa", scopes: Iterable[str] | None = None) -> m.GeneratedKey:
        return self.call(calls.generate_api_key(name, key_type, scopes))

    def delete_api_key(self, api_key_id: str) -> None:
        self.call(calls.delete_api_key(api_key_id))

    def account_limits(self) -> m.AccountLimits:
        return self.call(calls.account_limits())

    def request(self, method: str, path: str, body: Any = None, *, auth: bool = True, query: dict[str, Any] | None = None) -> Any:
        """Any other call, answered as decoded JSON (paths under /trade-api/v2 may be given without it)."""
        return self.call(calls.raw(method, path, body, auth=auth, query=query))

    # --- market data -----------------------------------------------------------------------------------

    def exchange_status(self) -> m.ExchangeStatus:
        return self.call(calls.exchange_status())

    def exchange_schedule(self) -> dict[str, Any]:
        return self.call(calls.exchange_schedule())

    def series_list(self, *, category: str | None = None) -> list[m.Series]:
        return self.call(calls.series_list(category=category))

    def series(self, ticker: str) -> m.Series:
        return self.call(calls.series(ticker))

    def events(self, **filters: Any) -> Iterator[m.Event]:
        """Every event (status, series_ticker, with_nested_markets, limit per page), page after page."""
        return self._pages(lambda cursor: calls.events_page(cursor, **filters))

    def events_page(self, cursor: str = "", **filters: Any) -> m.Page[m.Event]:
        return self.call(calls.events_page(cursor, **filters))

    def event(self, event_ticker: str) -> m.Event:
        return self.call(calls.event(event_ticker))

    def markets(self, **filters: Any) -> Iterator[m.Market]:
        """Every market matching the filters (status, event_ticker, series_ticker, tickers, min/max_close_ts)."""
        return self._pages(lambda cursor: calls.markets_page(cursor, **filters))

    def markets_page(self, cursor: str = "", **filters: Any) -> m.Page[m.Market]:
        return self.call(calls.markets_page(cursor, **filters))

    def market(self, ticker: str) -> m.Market:
        return self.call(calls.market(ticker))

    def orderbook(self, ticker: str, depth: int | None = None) -> m.Orderbook:
        return self.call(calls.orderbook(ticker, depth))

    def orderbooks(self, tickers: Sequence[str]) -> list[m.Orderbook]:
        return self.call(calls.orderbooks(tickers))

    def trades(self, **filters: Any) -> Iterator[m.Trade]:
        return self._pages(lambda cursor: calls.trades_page(cursor, **filters))

    def trades_page(self, cursor: str = "", **filters: Any) -> m.Page[m.Trade]:
        return self.call(calls.trades_page(cursor, **filters))

    def candlesticks(self, series_ticker: str, ticker: str, *, start_ts: int, end_ts: int, period_interval: int = 60) -> list[m.Candlestick]:
        return self.call(calls.candlesticks(series_ticker, ticker, start_ts=start_ts, end_ts=end_ts, period_interval=period_interval))

    # --- orders (current endpoints) ------------------------------------------------------------------------

    def create_order(self, ticker: str, side: str, count: CountLike, price: PriceLike, **options: Any) -> m.OrderAck:
        """Place an order. `side` is "bid" (buy YES at `price`) or "ask" (sell YES at `price`, that is
        buy NO at 1 - price); `price` is always a YES price in dollars ("0.56", Price, Decimal), `count`
        contracts. Options: client_order_id (one is made when not given; it makes a retry after a
        timeout safe), time_in_force, self_trade_prevention_type, post_only, reduce_only,
        expiration_time, order_group_id, cancel_order_on_pause."""
        return self.call(calls.create_order(calls.v2_order_body(ticker, side, count, price, **options)))

    def cancel_order(self, order_id: str) -> m.CancelAck:
        return self.call(calls.cancel_order(order_id))

    def amend_order(self, order_id: str, *, ticker: str, side: str, price: PriceLike, count: CountLike, **options: Any) -> m.OrderAck:
        """New price and/or total count (filled + remaining). Options: updated_client_order_id, expiration_time."""
        return self.call(calls.amend_order(order_id, ticker=ticker, side=side, price_value=price, count_value=count, **options))

    def decrease_order(self, order_id: str, *, reduce_by: CountLike | None = None, reduce_to: CountLike | None = None) -> m.DecreaseAck:
        return self.call(calls.decrease_order(order_id, reduce_by=reduce_by, reduce_to=reduce_to))

    def batch_create_orders(self, orders: Sequence[dict[str, Any]]) -> list[m.BatchItem[m.OrderAck]]:
        """Many orders, each a dict of create_order's arguments (ticker, side, count, price, options),
        sent 20 to a request; one result per order, in order, each with its own error if refused."""
        bodies = [calls.v2_order_body(**order) for order in orders]
        results: list[m.BatchItem[m.OrderAck]] = []
        for chunk in calls.chunks(bodies):
            items, uncertain = self._call_counted(calls.batch_create_orders(chunk))
            results.extend(self._recover_batch(items, chunk, uncertain, m.OrderAck.from_order))
        return results

    def batch_cancel_orders(self, order_ids: Sequence[str]) -> list[m.BatchItem[m.CancelAck]]:
        return [item for chunk in calls.chunks(order_ids) for item in self.call(calls.batch_cancel_orders(chunk))]

    def cancel_all_orders(self) -> None:
        self.call(calls.cancel_all_orders())

    def _recover_batch(self, items: list[m.BatchItem[T]], bodies: Sequence[dict[str, Any]], uncertain: bool,
                       from_order: Callable[[m.Order], T]) -> list[m.BatchItem[T]]:
        """After a retried batch, an item refused as a duplicate is the order the first attempt made."""
        if not uncertain:
            return items
        fixed = list(items)
        for index, (item, body) in enumerate(zip(items, bodies)):
            if item.error is not None and item.error.code == "order_already_exists":
                found = self.find_order(body["ticker"], body["client_order_id"])
                if found is not None:
                    fixed[index] = m.BatchItem(from_order(found), None, found.client_order_id)
        return fixed

    # --- orders (legacy endpoints) --------------------------------------------------------------------------

    def create_order_legacy(self, ticker: str, side: str, action: str, count: CountLike, **options: Any) -> m.Order:
        """The legacy create: side yes/no, action buy/sell, yes_price or no_price (dollars), count."""
        return self.call(calls.legacy_create_order(calls.legacy_order_body(ticker, side, action, count, **options)))

    def cancel_order_legacy(self, order_id: str) -> m.LegacyCancel:
        return self.call(calls.legacy_cancel_order(order_id))

    def amend_order_legacy(self, order_id: str, *, ticker: str, side: str, action: str, count: CountLike,
                           yes_price: PriceLike | None = None, no_price: PriceLike | None = None) -> m.LegacyAmend:
        return self.call(calls.legacy_amend_order(order_id, ticker=ticker, side=side, action=action, count_value=count,
                                                  yes_price=yes_price, no_price=no_price))

    def decrease_order_legacy(self, order_id: str, *, reduce_by: CountLike | None = None, reduce_to: CountLike | None = None) -> m.Order:
        return self.call(calls.legacy_decrease_order(order_id, reduce_by=reduce_by, reduce_to=reduce_to))

    def batch_create_orders_legacy(self, orders: Sequence[dict[str, Any]]) -> list[m.BatchItem[m.Order]]:
        bodies = [calls.legacy_order_body(**order) for order in orders]
        results: list[m.BatchItem[m.Order]] = []
        for chunk in calls.chunks(bodies):
            items, uncertain = self._call_counted(calls.legacy_batch_create_orders(chunk))
            results.extend(self._recover_batch(items, chunk, uncertain, lambda order: order))
        return results

    def batch_cancel_orders_legacy(self, order_ids: Sequence[str]) -> list[m.BatchItem[m.LegacyCancel]]:
        return [item for chunk in calls.chunks(order_ids) for item in self.call(calls.legacy_batch_cancel_orders(chunk))]

    # --- order reads and groups -------------------------------------------------------------------------------

    def order(self, order_id: str) -> m.Order:
        return self.call(calls.order(order_id))

    def orders(self, **filters: Any) -> Iterator[m.Order]:
        """Your orders, newest first (ticker, event_ticker, status, min_ts, max_ts)."""
        return self._pages(lambda cursor: calls.orders_page(cursor, **filters))

    def orders_page(self, cursor: str = "", **filters: Any) -> m.Page[m.Order]:
        return self.call(calls.orders_page(cursor, **filters))

    def queue_position(self, order_id: str) -> m.QueuePosition:
        return self.call(calls.queue_position(order_id))

    def queue_positions(self, *, market_tickers: Sequence[str] = (), event_ticker: str | None = None) -> list[m.QueuePosition]:
        return self.call(calls.queue_positions(market_tickers=market_tickers, event_ticker=event_ticker))

    def order_groups(self) -> list[m.OrderGroup]:
        return self.call(calls.order_groups())

    def create_order_group(self, contracts_limit: CountLike) -> str:
        return self.call(calls.create_order_group(contracts_limit))

    def order_group(self, order_group_id: str) -> m.OrderGroup:
        return self.call(calls.order_group(order_group_id))

    def delete_order_group(self, order_group_id: str) -> None:
        self.call(calls.change_order_group(order_group_id, "delete"))

    def reset_order_group(self, order_group_id: str) -> None:
        self.call(calls.change_order_group(order_group_id, "reset"))

    def trigger_order_group(self, order_group_id: str) -> None:
        self.call(calls.change_order_group(order_group_id, "trigger"))

    def update_order_group_limit(self, order_group_id: str, contracts_limit: CountLike) -> None:
        self.call(calls.change_order_group(order_group_id, "limit", contracts_limit))

    # --- portfolio -------------------------------------------------------------------------------------------

    def balance(self) -> m.Balance:
        return self.call(calls.balance())

    def positions(self, **filters: Any) -> Iterator[m.MarketPosition]:
        """Market positions (ticker, event_ticker, settlement_status, count_filter), page after page."""
        cursor = ""
        while True:
            page = self.call(calls.positions_page(cursor, **filters))
            yield from page.market_positions
            if not page.cursor or page.cursor == cursor:
                return
            cursor = page.cursor

    def positions_page(self, cursor: str = "", **filters: Any) -> m.Positions:
        return self.call(calls.positions_page(cursor, **filters))

    def fills(self, **filters: Any) -> Iterator[m.Fill]:
        """Your fills, newest first (ticker, order_id, min_ts, max_ts)."""
        return self._pages(lambda cursor: calls.fills_page(cursor, **filters))

    def fills_page(self, cursor: str = "", **filters: Any) -> m.Page[m.Fill]:
        return self.call(calls.fills_page(cursor, **filters))

    def settlements(self, **filters: Any) -> Iterator[m.Settlement]:
        return self._pages(lambda cursor: calls.settlements_page(cursor, **filters))

    def settlements_page(self, cursor: str = "", **filters: Any) -> m.Page[m.Settlement]:
        return self.call(calls.settlements_page(cursor, **filters))
