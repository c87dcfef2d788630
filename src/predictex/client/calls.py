"""The request builder both clients share: one function per REST call, each returning a `Call` (the
method, path, query and body to send, whether it needs auth, how safe it is to repeat, and how to
read the answer). No I/O happens here; `Client` and `AsyncClient` only send what these describe.

Paths are relative to the API prefix (`/trade-api/v2`) unless they start with `/v1` or `/predictex`.
Prices and counts go out as Kalshi's fixed-point strings, made from `Price`/`Count` values, never
from floats."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from predictex.client import models as m
from predictex.client.units import Count, FixedInput, Price
from predictex.client.units import count as to_count
from predictex.client.units import price as to_price

T = TypeVar("T")

BATCH_SIZE_MAX = 20  # Kalshi's batch limit (reference §6.5): the batch helpers chunk to this
API_PREFIX = "/trade-api/v2"
CLIENT_ORDER_ID_LENGTH_MAX = 64

PriceLike = Price | FixedInput
CountLike = Count | FixedInput | int


class Safety(enum.Enum):
    """How a call may be repeated after no answer came back."""

    NEVER = "never"  # a retry could act twice: only a 429 (refused before anything happened) is retried
    IDEMPOTENT = "idempotent"  # reads
    PROTECTED = "protected"  # creates carrying a client_order_id: a repeat is refused as a duplicate


@dataclass(frozen=True)
class Duplicate:
    """Where to find the order a PROTECTED create made if its answer was lost."""

    ticker: str
    client_order_id: str


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[Any], T]
    query: tuple[tuple[str, str], ...] = ()
    body: Any = None
    auth: bool = True
    safety: Safety = Safety.NEVER
    duplicate: Duplicate | None = None
    from_order: Callable[[m.Order], T] | None = field(default=None, repr=False)

    @property
    def full_path(self) -> str:
        if self.path.startswith(("/v1/", "/predictex/", API_PREFIX + "/")):
            return self.path
        return API_PREFIX + self.path


def _query(**values: Any) -> tuple[tuple[str, str], ...]:
    """Query parameters without the unset ones; booleans lower-case, lists comma-joined."""
    found: list[tuple[str, str]] = []
    for name, value in values.items():
        if value is None or value == "" or value == ():
            continue
        if isinstance(value, bool):
            found.append((name, "true" if value else "false"))
        elif isinstance(value, (list, tuple)):
            found.append((name, ",".join(str(v) for v in value)))
        else:
            found.append((name, str(value)))
    return tuple(found)


def _get(path: str, parse: Callable[[Any], T], *, auth: bool = True, **query: Any) -> Call[T]:
    return Call("GET", path, parse, _query(**query), auth=auth, safety=Safety.IDEMPOTENT)


def _page(key: str, parse: Callable[[Any], T]) -> Callable[[Any], m.Page[T]]:
    return lambda body: m.Page(tuple(parse(item) for item in body.get(key) or ()), str(body.get("cursor") or ""))


def new_client_order_id() -> str:
    return str(uuid.uuid4())


def _client_order_id(given: str | None) -> str:
    value = given or new_client_order_id()
    if len(value) > CLIENT_ORDER_ID_LENGTH_MAX:
        raise ValueError(f"client_order_id is at most {CLIENT_ORDER_ID_LENGTH_MAX} characters")
    return value


def chunks(items: Sequence[T], size: int = BATCH_SIZE_MAX) -> list[Sequence[T]]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def _side(value: str) -> str:
    if value not in ("bid", "ask"):
        raise ValueError(f"side is 'bid' (buy YES) or 'ask' (sell YES = buy NO), not {value!r}")
    return value


# --- exchange and market data (public) -------------------------------------------------------------------

def exchange_status() -> Call[m.ExchangeStatus]:
    return _get("/exchange/status", m.ExchangeStatus.from_wire, auth=False)


def exchange_schedule() -> Call[dict[str, Any]]:
    return _get("/exchange/schedule", lambda body: dict(body.get("schedule") or {}), auth=False)


def series_list(*, category: str | None = None) -> Call[list[m.Series]]:
    return _get("/series", lambda body: [m.Series.from_wire(s) for s in body.get("series") or ()], auth=False, category=category)


def series(ticker: str) -> Call[m.Series]:
    return _get(f"/series/{ticker}", lambda body: m.Series.from_wire(body["series"]), auth=False)


def events_page(cursor: str = "", *, limit: int | None = None, status: str | None = None, series_ticker: str | None = None,
                with_nested_markets: bool | None = None) -> Call[m.Page[m.Event]]:
    return _get("/events", _page("events", m.Event.from_wire), auth=False, cursor=cursor, limit=limit, status=status,
                series_ticker=series_ticker, with_nested_markets=with_nested_markets)


def event(event_ticker: str) -> Call[m.Event]:
    return _get(f"/events/{event_ticker}", lambda body: m.Event.from_wire(body["event"], body.get("markets")), auth=False)


def markets_page(cursor: str = "", *, limit: int | None = None, status: str | None = None, event_ticker: str | None = None,
                 series_ticker: str | None = None, tickers: Sequence[str] = (), min_close_ts: int | None = None,
                 max_close_ts: int | None = None) -> Call[m.Page[m.Market]]:
    return _get("/markets", _page("markets", m.Market.from_wire), auth=False, cursor=cursor, limit=limit, status=status,
                event_ticker=event_ticker, series_ticker=series_ticker, tickers=tuple(tickers), min_close_ts=min_close_ts,
                max_close_ts=max_close_ts)


def market(ticker: str) -> Call[m.Market]:
    return _get(f"/markets/{ticker}", lambda body: m.Market.from_wire(body["market"]), auth=False)


def orderbook(ticker: str, depth: int | None = None) -> Call[m.Orderbook]:
    return _get(f"/markets/{ticker}/orderbook", lambda body: m.Orderbook.from_wire(ticker, body), auth=False, depth=depth)


def orderbooks(tickers: Sequence[str]) -> Call[list[m.Orderbook]]:
    query = tuple(("tickers", t) for t in tickers)  # repeated keys, as Kalshi takes this one
    return Call("GET", "/markets/orderbooks", lambda body: [
        m.Orderbook.from_wire(str(b.get("ticker")), b) for b in body.get("orderbooks") or ()
    ], query, auth=False, safety=Safety.IDEMPOTENT)


def trades_page(cursor: str = "", *, ticker: str | None = None, limit: int | None = None, min_ts: int | None = None,
                max_ts: int | None = None) -> Call[m.Page[m.Trade]]:
    return _get("/markets/trades", _page("trades", m.Trade.from_wire), auth=False, cursor=cursor, ticker=ticker, limit=limit,
                min_ts=min_ts, max_ts=max_ts)


def candlesticks(series_ticker: str, ticker: str, *, start_ts: int, end_ts: int, period_interval: int = 60) -> Call[list[m.Candlestick]]:
    return _get(f"/series/{series_ticker}/markets/{ticker}/candlesticks",
                lambda body: [m.Candlestick.from_wire(c) for c in body.get("candlesticks") or ()], auth=False,
                start_ts=start_ts, end_ts=end_ts, period_interval=period_interval)


# --- orders, current (V2) --------------------------------------------------------------------------------

def v2_order_body(ticker: str, side: str, count: CountLike, price: PriceLike, *, client_order_id: str | None = None,
                  time_in_force: str = "good_till_canceled", self_trade_prevention_type: str = "taker_at_cross",
                  post_only: bool = False, reduce_only: bool = False, expiration_time: int | None = None,
                  order_group_id: str | None = None, cancel_order_on_pause: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ticker": ticker, "side": _side(side), "count": str(to_count(count)), "price": str(to_price(price)),
        "time_in_force": time_in_force, "self_trade_prevention_type": self_trade_prevention_type,
        "client_order_id": _client_order_id(client_order_id),
    }
    for name, value in (("post_only", post_only), ("reduce_only", reduce_only), ("cancel_order_on_pause", cancel_order_on_pause)):
        if value:
            body[name] = True
    if expiration_time is not None:
        body["expiration_time"] = expiration_time
    if order_group_id:
        body["order_group_id"] = order_group_id
    return body


def create_order(body: dict[str, Any]) -> Call[m.OrderAck]:
    """`body` from `v2_order_body` (it always has a client_order_id, which makes a retry safe)."""
    return Call("POST", "/portfolio/events/orders", m.OrderAck.from_wire, body=body, safety=Safety.PROTECTED,
                duplicate=Duplicate(body["ticker"], body["client_order_id"]), from_order=m.OrderAck.from_order)


def cancel_order(order_id: str) -> Call[m.CancelAck]:
    return Call("DELETE", f"/portfolio/events/orders/{order_id}", m.CancelAck.from_wire)


def amend_order(order_id: str, *, ticker: str, side: str, price_value: PriceLike, count_value: CountLike,
                updated_client_order_id: str | None = None, expiration_time: int | None = None) -> Call[m.OrderAck]:
    body: dict[str, Any] = {"ticker": ticker, "side": _side(side), "price": str(to_price(price_value)), "count": str(to_count(count_value))}
    if updated_client_order_id:
        body["updated_client_order_id"] = updated_client_order_id
    if expiration_time is not None:
        body["expiration_time"] = expiration_time
    return Call("POST", f"/portfolio/events/orders/{order_id}/amend", m.OrderAck.from_wire, body=body)


def decrease_order(order_id: str, *, reduce_by: CountLike | None = None, reduce_to: CountLike | None = None) -> Call[m.DecreaseAck]:
    return Call("POST", f"/portfolio/events/orders/{order_id}/decrease", m.DecreaseAck.from_wire, body=_reduce(reduce_by, reduce_to))


def _reduce(reduce_by: CountLike | None, reduce_to: CountLike | None) -> dict[str, str]:
    if (reduce_by is None) == (reduce_to is None):
        raise ValueError("give exactly one of reduce_by and reduce_to")
    if reduce_by is not None:
        return {"reduce_by": str(to_count(reduce_by))}
    assert reduce_to is not None
    return {"reduce_to": str(to_count(reduce_to))}


def batch_create_orders(bodies: Sequence[dict[str, Any]]) -> Call[list[m.BatchItem[m.OrderAck]]]:
    if not 1 <= len(bodies) <= BATCH_SIZE_MAX:
        raise ValueError(f"a batch holds 1 to {BATCH_SIZE_MAX} orders (the client's batch helpers chunk longer lists)")
    return Call("POST", "/portfolio/events/orders/batched",
                lambda body: [m.BatchItem.of(item, m.OrderAck.from_wire) for item in body.get("orders") or ()],
                body={"orders": list(bodies)}, safety=Safety.PROTECTED)


def batch_cancel_orders(order_ids: Sequence[str]) -> Call[list[m.BatchItem[m.CancelAck]]]:
    if not 1 <= len(order_ids) <= BATCH_SIZE_MAX:
        raise ValueError(f"a batch holds 1 to {BATCH_SIZE_MAX} orders")
    return Call("DELETE", "/portfolio/events/orders/batched",
                lambda body: [m.BatchItem.of(item, m.CancelAck.from_wire) for item in body.get("orders") or ()],
                body={"orders": [{"order_id": i} for i in order_ids]})


def cancel_all_orders() -> Call[None]:
    return Call("DELETE", "/portfolio/events/orders", lambda body: None)


# --- orders, legacy ------------------------------------------------------------------------------------

def legacy_order_body(ticker: str, side: str, action: str, count: CountLike, *, yes_price: PriceLike | None = None,
                      no_price: PriceLike | None = None, client_order_id: str | None = None,
                      time_in_force: str | None = None, post_only: bool = False, reduce_only: bool = False,
                      expiration_ts: int | None = None, order_group_id: str | None = None) -> dict[str, Any]:
    if side not in ("yes", "no") or action not in ("buy", "sell"):
        raise ValueError("legacy orders have side yes/no and action buy/sell")
    if (yes_price is None) == (no_price is None):
        raise ValueError("give exactly one of yes_price and no_price")
    body: dict[str, Any] = {
        "ticker": ticker, "side": side, "action": action, "count_fp": str(to_count(count)), "type": "limit",
        "client_order_id": _client_order_id(client_order_id),
    }
    if yes_price is not None:
        body["yes_price_dollars"] = str(to_price(yes_price))
    else:
        assert no_price is not None
        body["no_price_dollars"] = str(to_price(no_price))
    if time_in_force:
        body["time_in_force"] = time_in_force
    for name, flag in (("post_only", post_only), ("reduce_only", reduce_only)):
        if flag:
            body[name] = True
    if expiration_ts is not None:
        body["expiration_ts"] = expiration_ts
    if order_group_id:
        body["order_group_id"] = order_group_id
    return body


def _order(body: Any) -> m.Order:
    return m.Order.from_wire(body["order"])


def legacy_create_order(body: dict[str, Any]) -> Call[m.Order]:
    return Call("POST", "/portfolio/orders", _order, body=body, safety=Safety.PROTECTED,
                duplicate=Duplicate(body["ticker"], body["client_order_id"]), from_order=lambda order: order)


def legacy_cancel_order(order_id: str) -> Call[m.LegacyCancel]:
    return Call("DELETE", f"/portfolio/orders/{order_id}", m.LegacyCancel.from_wire)


def legacy_amend_order(order_id: str, *, ticker: str, side: str, action: str, count_value: CountLike,
                       yes_price: PriceLike | None = None, no_price: PriceLike | None = None) -> Call[m.LegacyAmend]:
    if (yes_price is None) == (no_price is None):
        raise ValueError("give exactly one of yes_price and no_price")
    body: dict[str, Any] = {"ticker": ticker, "side": side, "action": action, "count_fp": str(to_count(count_value))}
    if yes_price is not None:
        body["yes_price_dollars"] = str(to_price(yes_price))
    else:
        assert no_price is not None
        body["no_price_dollars"] = str(to_price(no_price))
    return Call("POST", f"/portfolio/orders/{order_id}/amend", m.LegacyAmend.from_wire, body=body)


def legacy_decrease_order(order_id: str, *, reduce_by: CountLike | None = None, reduce_to: CountLike | None = None) -> Call[m.Order]:
    body = {f"{name}_fp": value for name, value in _reduce(reduce_by, reduce_to).items()}
    return Call("POST", f"/portfolio/orders/{order_id}/decrease", _order, body=body)


def legacy_batch_create_orders(bodies: Sequence[dict[str, Any]]) -> Call[list[m.BatchItem[m.Order]]]:
    if not 1 <= len(bodies) <= BATCH_SIZE_MAX:
        raise ValueError(f"a batch holds 1 to {BATCH_SIZE_MAX} orders")
    return Call("POST", "/portfolio/orders/batched", lambda body: [
        m.BatchItem.of(item, lambda i: m.Order.from_wire(i["order"])) for item in body.get("orders") or ()
    ], body={"orders": list(bodies)}, safety=Safety.PROTECTED)


def legacy_batch_cancel_orders(order_ids: Sequence[str]) -> Call[list[m.BatchItem[m.LegacyCancel]]]:
    if not 1 <= len(order_ids) <= BATCH_SIZE_MAX:
        raise ValueError(f"a batch holds 1 to {BATCH_SIZE_MAX} orders")
    return Call("DELETE", "/portfolio/orders/batched", lambda body: [
        m.BatchItem.of(item, m.LegacyCancel.from_wire) for item in body.get("orders") or ()
    ], body={"orders": [{"order_id": i} for i in order_ids]})


# --- order reads -----------------------------------------------------------------------------------------

def order(order_id: str) -> Call[m.Order]:
    return _get(f"/portfolio/orders/{order_id}", _order)


def orders_page(cursor: str = "", *, ticker: str | None = None, event_ticker: str | Sequence[str] | None = None,
                status: str | None = None, min_ts: int | None = None, max_ts: int | None = None,
                limit: int | None = None) -> Call[m.Page[m.Order]]:
    events = (event_ticker,) if isinstance(event_ticker, str) else tuple(event_ticker or ())
    return _get("/portfolio/orders", _page("orders", m.Order.from_wire), cursor=cursor, ticker=ticker, event_ticker=events,
                status=status, min_ts=min_ts, max_ts=max_ts, limit=limit)


def queue_position(order_id: str) -> Call[m.QueuePosition]:
    return _get(f"/portfolio/orders/{order_id}/queue_position", lambda body: m.QueuePosition.from_wire(body, order_id))


def queue_positions(*, market_tickers: Sequence[str] = (), event_ticker: str | None = None) -> Call[list[m.QueuePosition]]:
    return _get("/portfolio/orders/queue_positions", lambda body: [
        m.QueuePosition.from_wire(q) for q in body.get("queue_positions") or ()
    ], market_tickers=tuple(market_tickers), event_ticker=event_ticker)


# --- order groups ----------------------------------------------------------------------------------------

GROUPS = "/portfolio/order_groups"


def order_groups() -> Call[list[m.OrderGroup]]:
    return _get(GROUPS, lambda body: [m.OrderGroup.from_wire(g) for g in body.get("order_groups") or ()])


def create_order_group(contracts_limit: CountLike) -> Call[str]:
    return Call("POST", GROUPS + "/create", lambda body: str(body["order_group_id"]),
                body={"contracts_limit_fp": str(to_count(contracts_limit))})


def order_group(order_group_id: str) -> Call[m.OrderGroup]:
    return _get(f"{GROUPS}/{order_group_id}", lambda body: m.OrderGroup.from_wire(body, order_group_id))


def change_order_group(order_group_id: str, action: str, contracts_limit: CountLike | None = None) -> Call[None]:
    if action == "delete":
        return Call("DELETE", f"{GROUPS}/{order_group_id}", lambda body: None)
    body: dict[str, Any] = {}
    if action == "limit":
        if contracts_limit is None:
            raise ValueError("a new limit needs contracts_limit")
        body = {"contracts_limit_fp": str(to_count(contracts_limit))}
    elif action not in ("reset", "trigger"):
        raise ValueError(f"unknown order group action {action!r}")
    return Call("PUT", f"{GROUPS}/{order_group_id}/{action}", lambda body: None, body=body)


# --- portfolio -------------------------------------------------------------------------------------------

def balance() -> Call[m.Balance]:
    return _get("/portfolio/balance", m.Balance.from_wire)


def positions_page(cursor: str = "", *, ticker: str | None = None, event_ticker: str | None = None,
                   settlement_status: str | None = None, count_filter: Sequence[str] = (), limit: int | None = None) -> Call[m.Positions]:
    def parse(body: Mapping[str, Any]) -> m.Positions:
        return m.Positions(
            tuple(m.MarketPosition.from_wire(p) for p in body.get("market_positions") or ()),
            tuple(m.EventPosition.from_wire(p) for p in body.get("event_positions") or ()),
            str(body.get("cursor") or ""),
        )

    return _get("/portfolio/positions", parse, cursor=cursor, ticker=ticker, event_ticker=event_ticker,
                settlement_status=settlement_status, count_filter=tuple(count_filter), limit=limit)


def fills_page(cursor: str = "", *, ticker: str | Sequence[str] | None = None, order_id: str | None = None,
               min_ts: int | None = None, max_ts: int | None = None, limit: int | None = None) -> Call[m.Page[m.Fill]]:
    tickers = (ticker,) if isinstance(ticker, str) else tuple(ticker or ())
    return _get("/portfolio/fills", _page("fills", m.Fill.from_wire), cursor=cursor, ticker=tickers, order_id=order_id,
                min_ts=min_ts, max_ts=max_ts, limit=limit)


def settlements_page(cursor: str = "", *, ticker: str | None = None, event_ticker: str | None = None,
                     limit: int | None = None) -> Call[m.Page[m.Settlement]]:
    return _get("/portfolio/settlements", _page("settlements", m.Settlement.from_wire), cursor=cursor, ticker=ticker,
                event_ticker=event_ticker, limit=limit)


# --- account, keys, sessions ----------------------------------------------------------------------------------

def account_limits() -> Call[m.AccountLimits]:
    return _get("/account/limits", m.AccountLimits.from_wire)


def api_keys() -> Call[list[m.ApiKey]]:
    return _get("/api_keys", lambda body: [m.ApiKey.from_wire(k) for k in body.get("api_keys") or ()])


def create_api_key(name: str, public_key_pem: str, scopes: Iterable[str] | None = None) -> Call[str]:
    body: dict[str, Any] = {"name": name, "public_key": public_key_pem}
    if scopes is not None:
        body["scopes"] = list(scopes)
    return Call("POST", "/api_keys", lambda b: str(b["api_key_id"]), body=body)


def generate_api_key(name: str, key_type: str = "rsa", scopes: Iterable[str] | None = None) -> Call[m.GeneratedKey]:
    body: dict[str, Any] = {"name": name, "key_type": key_type}
    if scopes is not None:
        body["scopes"] = list(scopes)
    return Call("POST", "/api_keys/generate", m.GeneratedKey.from_wire, body=body)


def delete_api_key(api_key_id: str) -> Call[None]:
    return Call("DELETE", f"/api_keys/{api_key_id}", lambda body: None)


def log_in() -> Call[m.SessionToken]:
    """The seed's `POST /v1/log_in`: a signed request buys a session token (refreshed with the token)."""
    return Call("POST", "/v1/log_in", m.SessionToken.from_wire)


def password_login(email: str, password: str) -> Call[m.SessionToken]:
    return Call("POST", "/login", m.SessionToken.from_wire, body={"email": email, "password": password}, auth=False)


def sign_up(email: str, password: str) -> Call[dict[str, Any]]:
    """predictex: open a member account (demo exchanges let anyone in; production needs the operator)."""
    return Call("POST", "/predictex/v1/members", lambda body: dict(body), body={"email": email, "password": password}, auth=False)


def raw(method: str, path: str, body: Any = None, *, auth: bool = True, query: Mapping[str, Any] | None = None) -> Call[Any]:
    """Any call, answered as decoded JSON (None for an empty answer)."""
    method = method.upper()
    return Call(method, path, lambda answer: answer, _query(**(query or {})), body=body, auth=auth,
                safety=Safety.IDEMPOTENT if method == "GET" else Safety.NEVER)
