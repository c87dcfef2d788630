"""Kalshi v2's historical tier (`/historical/*`): what the operator's archive cutoff moved out of the
live listings. Markets settled before `market_settled_ts` (with their candlesticks and the members'
settled positions in them), trades and fills made before `trades_created_ts`, and orders cancelled or
executed before `orders_updated_ts`. The same read model and history tables as the live tier, read
from the other side of the cutoff, in the shapes Kalshi gives them (candlesticks with un-suffixed
dollar strings)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from predictex.core.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from predictex.core.orders import Action
from predictex.gateways.rest.handlers import Principal, private, public, summary_of
from predictex.gateways.rest.kalshi_v2.market_data import candle_window, candlesticks, markets_page, trades_page
from predictex.gateways.rest.kalshi_v2.orders import member_uuid
from predictex.gateways.rest.wire import ApiError, Query, bad_request, decode_cursor, encode_cursor
from predictex.gateways.shapes import kalshi as shapes
from predictex.readmodel import portfolio
from predictex.readmodel.history import ORDER_COLUMNS
from predictex.readmodel.live import Holding, MarketView
from predictex.readmodel.queries import Queries, closed_order_view
from predictex.server.context import Exchange
from predictex.server.http import Request
from predictex.server.router import Router

PREFIX = "/trade-api/v2/historical"

_PRICE_NAMES = ("open", "low", "high", "close", "mean", "previous")


def register(router: Router, exchange: Exchange) -> None:
    for path, handler in (
        ("/markets", historical_markets), ("/markets/{ticker}", historical_market),
        ("/markets/{ticker}/candlesticks", historical_candlesticks), ("/trades", historical_trades),
    ):
        router.add("GET", PREFIX + path, _bind(handler, exchange))
    router.add("GET", PREFIX + "/fills", private(exchange, historical_fills))
    router.add("GET", PREFIX + "/orders", private(exchange, historical_orders))
    router.add("GET", PREFIX + "/positions", private(exchange, historical_positions))


def _bind(handler: Any, exchange: Exchange) -> Any:
    def read(exchange: Exchange, request: Request, params: dict[str, str]) -> dict[str, Any]:
        result: dict[str, Any] = handler(exchange, Query(request.query_params()), params)
        return result

    return public(exchange, read, summary=summary_of(handler))


# --- public -------------------------------------------------------------------------------------------

def _archived_market(exchange: Exchange, ticker: str) -> MarketView:
    market = exchange.live.markets.get(ticker)
    if market is None or not exchange.live.schedules.is_archived_market(market.settled_ms):
        raise ApiError(404, "market_not_found", f"no archived market {ticker!r} (markets settled before the cutoff are archived)")
    return market


def historical_markets(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """Markets settled before the archive cutoff, with the live listing's filters and paging"""
    return markets_page(exchange, query, archived=True)


def historical_market(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """One archived market"""
    return {"market": shapes.market(_archived_market(exchange, params["ticker"]), exchange.clock.now_ms())}


def candlestick_historical(live: dict[str, Any]) -> dict[str, Any]:
    """Kalshi's historical candlestick: the live one's dollar strings under un-suffixed names."""
    def quotes(side: dict[str, Any]) -> dict[str, Any]:
        return {name: side[f"{name}_dollars"] for name in ("open", "low", "high", "close")}

    price = live["price"]
    return {
        "end_period_ts": live["end_period_ts"], "yes_bid": quotes(live["yes_bid"]), "yes_ask": quotes(live["yes_ask"]),
        "price": {name: price[f"{name}_dollars"] for name in _PRICE_NAMES},
        "volume": live["volume_fp"], "open_interest": live["open_interest_fp"],
    }


def historical_candlesticks(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """An archived market's candlesticks (1, 60 or 1440 minutes)"""
    market = _archived_market(exchange, params["ticker"])
    start, end, period = candle_window(query)
    return {
        "ticker": market.ticker,
        "candlesticks": [candlestick_historical(c) for c in candlesticks(exchange, market.ticker, start, end, period)],
    }


def historical_trades(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """Public trades made before the trades cutoff, newest first"""
    return trades_page(exchange, query, historical=True)


# --- the member's -------------------------------------------------------------------------------------

def _check_subaccount(query: Query) -> None:
    if query.integer("subaccount", 0) not in (0, None):
        raise bad_request("this exchange has no subaccounts: subaccount must be 0")


def historical_fills(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """The member's fills made before the trades cutoff, newest first"""
    query = Query(request.query_params())
    _check_subaccount(query)
    limit = query.limit(PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
    ticker = query.text("ticker")
    cutoff = exchange.live.schedules.archive_cutoff_ms[1]
    cursor = decode_cursor(query.text("cursor"), (int,))
    found = Queries(exchange.live, exchange.store)
    rows = found.fills(
        principal.account_id, tickers=frozenset([ticker]) if ticker else None,
        min_ms=(query.integer("min_ts", 0, 0) or 0) * 1000,
        max_ms=min((query.integer("max_ts", 1 << 40, 0) or 0) * 1000 + 999, cutoff - 1),
        limit=limit, before=(cursor[0], 0) if cursor else None,
    )
    page = rows[:limit]
    labels = found.order_labels([row[3] for row in page])
    return {
        "fills": [shapes.fill(row, exchange.ids, *labels.get(row[3], (Action.BUY, ""))) for row in page],
        "cursor": encode_cursor([page[-1][0]]) if len(rows) > limit and page else "",
    }


def historical_orders(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """The member's orders cancelled or executed before the orders cutoff, newest first"""
    query = Query(request.query_params())
    _check_subaccount(query)
    limit = query.limit(PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
    cutoff = exchange.live.schedules.archive_cutoff_ms[2]
    conditions = ["account_id = ?", "updated_ms < ?", "created_ms >= ?", "created_ms <= ?"]
    values: list[Any] = [
        principal.account_id, cutoff, (query.integer("min_ts", 0, 0) or 0) * 1000,
        (query.integer("max_ts", 1 << 40, 0) or 0) * 1000 + 999,
    ]
    if query.text("ticker"):
        conditions.append("ticker = ?")
        values.append(query.text("ticker"))
    cursor = decode_cursor(query.text("cursor"), (int, int))
    if cursor is not None:
        conditions.append("(updated_ms < ? OR (updated_ms = ? AND order_id < ?))")
        values += [cursor[0], cursor[0], cursor[1]]
    rows = exchange.store.query(
        f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders WHERE {' AND '.join(conditions)} "
        "ORDER BY updated_ms DESC, order_id DESC LIMIT ?", [*values, limit + 1],
    )
    views = [closed_order_view(row) for row in rows]
    page = views[:limit]
    member = member_uuid(exchange, principal)
    return {
        "orders": [shapes.order(view, member, exchange.ids) for view in page],
        "cursor": encode_cursor([page[-1].updated_ms, page[-1].order_id]) if len(views) > limit and page else "",
    }


def historical_positions(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """The member's settled positions in archived markets, by ticker"""
    query = Query(request.query_params())
    _check_subaccount(query)
    limit = query.limit(PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
    ticker, event_ticker = query.text("ticker"), query.text("event_ticker")
    live = exchange.live
    after = decode_cursor(query.text("cursor"), (str,))
    selected: list[tuple[str, Holding]] = [
        (t, h) for t, h in portfolio.settled_holdings(live, exchange.store, principal.account_id)
        if live.schedules.is_archived_market(live.markets[t].settled_ms)
        and (not ticker or t == ticker) and (not event_ticker or live.markets[t].event_ticker == event_ticker)
        and (after is None or t > after[0])
    ]
    page = selected[:limit]
    by_event: dict[str, list[Holding]] = defaultdict(list)
    for t, h in page:
        by_event[live.markets[t].event_ticker].append(h)
    return {
        "market_positions": [shapes.market_position(t, h) for t, h in page],
        "event_positions": [shapes.event_position(e, hs) for e, hs in by_event.items()],
        "cursor": encode_cursor([page[-1][0]]) if len(selected) > limit and page else "",
    }
