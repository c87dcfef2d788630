"""Kalshi v2 public market data: exchange status and schedule, series, events, markets, order books,
trades and candlesticks (reference §4.1, §4.2, §5). Reads only the read model."""

from __future__ import annotations

from typing import Any

import orjson

from predictex.core.limits import (
    CANDLES_PER_REQUEST_MAX,
    EVENTS_PAGE_SIZE_MAX,
    ORDERBOOK_ANSWERS_CACHED_MAX,
    ORDERBOOK_DEPTH_MAX,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    TICKERS_PER_REQUEST_MAX,
)
from predictex.gateways.rest.handlers import public, summary_of
from predictex.gateways.rest.lookups import MARKET_STATUS_FILTER
from predictex.gateways.rest.wire import ApiError, Query, bad_request, decode_cursor, encode_cursor, not_found
from predictex.gateways.shapes import kalshi as shapes
from predictex.gateways.shapes.text import rfc3339
from predictex.readmodel.live import MarketView
from predictex.server import ids
from predictex.server.context import Exchange
from predictex.server.http import Request, Response
from predictex.server.router import Router

PREFIX = "/trade-api/v2"

PERIODS_MINUTES = (1, 60, 1440)


def register(router: Router, exchange: Exchange) -> None:
    routes = (
        ("GET", "/exchange/status", exchange_status),
        ("GET", "/exchange/schedule", exchange_schedule),
        ("GET", "/exchange/user_data_timestamp", user_data_timestamp),
        ("GET", "/historical/cutoff", historical_cutoff),
        ("GET", "/series", list_series),
        ("GET", "/series/{series_ticker}", get_series),
        ("GET", "/events", list_events),
        ("GET", "/events/{event_ticker}", get_event),
        ("GET", "/markets", list_markets),
        ("GET", "/markets/trades", list_trades),
        ("GET", "/markets/orderbooks", get_orderbooks),
        ("GET", "/markets/candlesticks", batch_candlesticks),
        ("GET", "/markets/{ticker}", get_market),
        ("GET", "/series/{series_ticker}/markets/{ticker}/candlesticks", market_candlesticks),
        ("GET", "/series/{series_ticker}/events/{event_ticker}/candlesticks", event_candlesticks),
    )
    for method, path, handler in routes:
        router.add(method, PREFIX + path, _bind(handler, exchange))
    router.add("GET", PREFIX + "/markets/{ticker}/orderbook", public(exchange, OrderbookAnswers()))


def _bind(handler: Any, exchange: Exchange) -> Any:
    def read(exchange: Exchange, request: Request, params: dict[str, str]) -> dict[str, Any]:
        result: dict[str, Any] = handler(exchange, Query(request.query_params()), params)
        return result

    return public(exchange, read, summary=summary_of(handler))


# --- exchange -----------------------------------------------------------------------------------------

def exchange_status(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    live = exchange.live
    return {
        "exchange_active": live.exchange_active,
        "trading_active": live.exchange_active and live.trading_active,
        "exchange_estimated_resume_time": None,
    }


def exchange_schedule(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    all_day = [{"open_time": "00:00", "close_time": "00:00"}]
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    week: dict[str, Any] = {"start_time": "2020-01-01T00:00:00Z", "end_time": "2100-01-01T00:00:00Z"}
    week.update({day: all_day for day in days})
    return {"schedule": {"standard_hours": [week], "maintenance_windows": []}}


def user_data_timestamp(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    return {"as_of_time": rfc3339(exchange.live.time_ms or exchange.clock.now_ms())}


def historical_cutoff(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """The historical tier's boundaries as the operator set them (the epoch while nothing is archived)."""
    settled, trades, orders = exchange.live.schedules.archive_cutoff_ms
    return {
        "market_settled_ts": rfc3339(settled), "trades_created_ts": rfc3339(trades), "orders_updated_ts": rfc3339(orders),
        "market_positions_last_updated_ts": rfc3339(settled),
    }


# --- series and events --------------------------------------------------------------------------------

def list_series(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    category = query.text("category")
    tags = set(query.texts("tags"))
    found = [
        shapes.series(s) for s in exchange.live.series.values()
        if (not category or s.category == category) and (not tags or tags & set(s.tags))
    ]
    return {"series": found}


def get_series(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    found = exchange.live.series.get(params["series_ticker"])
    if found is None:
        raise not_found(f"no series {params['series_ticker']!r}")
    return {"series": shapes.series(found)}


def _statuses(query: Query) -> frozenset[str] | None:
    word = query.text("status")
    if not word:
        return None
    statuses = MARKET_STATUS_FILTER.get(word)
    if statuses is None:
        raise bad_request(f"status must be one of {', '.join(MARKET_STATUS_FILTER)}")
    return statuses


def list_events(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    live = exchange.live
    limit = query.limit(EVENTS_PAGE_SIZE_MAX, EVENTS_PAGE_SIZE_MAX)
    statuses = _statuses(query)
    series_ticker = query.text("series_ticker")
    wanted = set(query.texts("tickers")) if query.texts("tickers") else None
    nested = query.boolean("with_nested_markets")
    after = decode_cursor(query.text("cursor"), (int,))
    now = exchange.clock.now_ms()
    page: list[dict[str, Any]] = []
    last = 0
    more = False  # only when another matching event follows: no empty last page
    for position, (event_ticker, event) in enumerate(live.events.items(), start=1):
        if after is not None and position <= after[0]:
            continue
        if (series_ticker and event.series_ticker != series_ticker) or (wanted is not None and event_ticker not in wanted):
            continue
        if event_ticker in live.schedules.combo_events:  # combinations are listed by /events/multivariate
            continue
        tickers = live.event_markets.get(event_ticker, [])
        if statuses is not None and not any(live.markets[t].status in statuses for t in tickers):
            continue
        if len(page) == limit:
            more = True
            break
        markets = [shapes.market(live.markets[t], now) for t in tickers] if nested else None
        page.append(shapes.event(event, live.series.get(event.series_ticker), markets, live.schedules.fee_overrides.get(event_ticker)))
        last = position
    return {"events": page, "milestones": [], "cursor": encode_cursor([last]) if more else ""}


def get_event(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    live = exchange.live
    event = live.events.get(params["event_ticker"])
    if event is None:
        raise not_found(f"no event {params['event_ticker']!r}")
    now = exchange.clock.now_ms()
    markets = [shapes.market(live.markets[t], now) for t in live.event_markets.get(event.event_ticker, [])]
    nested = query.boolean("with_nested_markets")
    override = live.schedules.fee_overrides.get(event.event_ticker)
    return {"event": shapes.event(event, live.series.get(event.series_ticker), markets if nested else None, override), "markets": markets}


# --- markets ------------------------------------------------------------------------------------------

def _market(exchange: Exchange, ticker: str) -> MarketView:
    market = exchange.live.markets.get(ticker)
    if market is None:
        raise ApiError(404, "market_not_found", f"no market {ticker!r}")
    return market


def _time_window(query: Query, name: str) -> tuple[int, int]:
    low = query.integer(f"min_{name}_ts", 0, 0)
    high = query.integer(f"max_{name}_ts", 1 << 62, 0)
    assert low is not None and high is not None
    return low * 1000, high * 1000


def _market_filter(exchange: Exchange, query: Query, archived: bool) -> Any:
    statuses = _statuses(query)
    schedules = exchange.live.schedules
    event_ticker = query.text("event_ticker")
    series_ticker = query.text("series_ticker")
    tickers = set(query.texts("tickers")) or None
    created = _time_window(query, "created")
    closes = _time_window(query, "close")
    settled = _time_window(query, "settled")
    settled_filter = bool(query.text("min_settled_ts") or query.text("max_settled_ts"))
    mve_filter = query.text("mve_filter")
    if mve_filter not in ("", "only", "exclude"):
        raise bad_request("mve_filter must be only or exclude")

    def wanted(m: MarketView) -> bool:
        return (
            schedules.is_archived_market(m.settled_ms) == archived
            and (not mve_filter or (m.combination is not None) == (mve_filter == "only"))
            and (statuses is None or m.status in statuses)
            and (not event_ticker or m.event_ticker == event_ticker)
            and (not series_ticker or m.series_ticker == series_ticker)
            and (tickers is None or m.ticker in tickers)
            and created[0] <= m.created_ms <= created[1]
            and closes[0] <= m.close_time_ms <= closes[1]
            and (not settled_filter or (m.settled_ms > 0 and settled[0] <= m.settled_ms <= settled[1]))
        )

    return wanted


def list_markets(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    return markets_page(exchange, query, archived=False)


def markets_page(exchange: Exchange, query: Query, *, archived: bool) -> dict[str, Any]:
    """A page of markets of the live tier, or of the historical one (settled before the cutoff)."""
    limit = query.limit(PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
    wanted = _market_filter(exchange, query, archived)
    after = decode_cursor(query.text("cursor"), (int,))
    now = exchange.clock.now_ms()
    markets = exchange.live.markets
    page: list[dict[str, Any]] = []
    last = 0
    more = False
    for m in markets.values():
        number = m.definition.market_number
        if after is not None and number <= after[0]:
            continue
        if not wanted(m):
            continue
        if len(page) == limit:
            more = True
            break
        page.append(shapes.market(m, now))
        last = number
    return {"markets": page, "cursor": encode_cursor([last]) if more else ""}


def get_market(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    return {"market": shapes.market(_live_tier_market(exchange, params["ticker"]), exchange.clock.now_ms())}


def _live_tier_market(exchange: Exchange, ticker: str) -> MarketView:
    """A market of the live tier: one archived by the cutoff is served under /historical only."""
    market = _market(exchange, ticker)
    if exchange.live.schedules.is_archived_market(market.settled_ms):
        raise ApiError(404, "market_not_found", f"market {ticker} is archived: GET /trade-api/v2/historical/markets/{ticker}")
    return market


def _depth(query: Query) -> int:
    depth = query.integer("depth", 0)
    assert depth is not None
    return min(depth, ORDERBOOK_DEPTH_MAX) if depth > 0 else 0


def get_orderbook(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    market = _market(exchange, params["ticker"])
    body = shapes.orderbook(market, _depth(query))
    body["seq"] = market.book.seq  # the sequence point this book reflects
    return body


class OrderbookAnswers:
    """`GET /markets/{ticker}/orderbook`, answered from the encoded body of the last answer for the same
    (ticker, depth) while the book's sequence number is unchanged: a book is read far more often than
    it changes, so it is shaped and encoded once per change. The read model sets `book.seq` at every
    level change, and reads never run in the middle of a commit, so a body is never stale."""

    def __init__(self) -> None:
        self._answers: dict[tuple[str, int], tuple[MarketView, int, bytes]] = {}

    def __call__(self, exchange: Exchange, request: Request, params: dict[str, str]) -> Response:
        ticker = params["ticker"]
        market = _market(exchange, ticker)
        depth = _depth(Query(request.query_params())) if request.query else 0
        seq = market.book.seq
        found = self._answers.get((ticker, depth))
        if found is not None and found[0] is market and found[1] == seq:
            return Response(200, found[2], [])
        body = orjson.dumps(get_orderbook(exchange, Query({"depth": [str(depth)]}), params))
        if len(self._answers) >= ORDERBOOK_ANSWERS_CACHED_MAX:
            self._answers.clear()
        self._answers[(ticker, depth)] = (market, seq, body)
        return Response(200, body, [])


def get_orderbooks(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    tickers = query.texts("tickers")
    if not tickers or len(tickers) > TICKERS_PER_REQUEST_MAX:
        raise bad_request(f"tickers must name 1 to {TICKERS_PER_REQUEST_MAX} markets")
    books = []
    for ticker in tickers:
        market = _market(exchange, ticker)
        books.append({"ticker": ticker, "orderbook_fp": shapes.orderbook(market, 0)["orderbook_fp"], "seq": market.book.seq})
    return {"orderbooks": books}


# --- trades -------------------------------------------------------------------------------------------

def list_trades(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    return trades_page(exchange, query, historical=False)


def trades_page(exchange: Exchange, query: Query, *, historical: bool) -> dict[str, Any]:
    """Public trades, newest first: those made since the trades cutoff, or (historical) before it."""
    limit = query.limit(PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
    cutoff = exchange.live.schedules.archive_cutoff_ms[1]
    conditions = ["time_ms < ?" if historical else "time_ms >= ?"]
    values: list[Any] = [cutoff]
    ticker = query.text("ticker")
    if ticker:
        conditions.append("ticker = ?")
        values.append(ticker)
    if query.text("min_ts"):
        conditions.append("time_ms >= ?")
        values.append((query.integer("min_ts", 0, 0) or 0) * 1000)
    if query.text("max_ts"):
        conditions.append("time_ms <= ?")
        values.append((query.integer("max_ts", 0, 0) or 0) * 1000)
    if query.text("is_block_trade"):  # off the book (RFQs, block trades) or on it
        conditions.append("is_block_trade = ?")
        values.append(int(query.boolean("is_block_trade")))
    after = decode_cursor(query.text("cursor"), (int,))
    if after is not None:
        conditions.append("trade_id < ?")
        values.append(after[0])
    rows = exchange.store.query(
        "SELECT trade_id, time_ms, ticker, price_centicents, count_centicontracts, taker_is_bid, is_block_trade FROM trades "
        f"WHERE {' AND '.join(conditions)} ORDER BY trade_id DESC LIMIT ?",
        [*values, limit + 1],
    )
    more = len(rows) > limit
    rows = rows[:limit]
    trades = [shapes.trade(row, exchange.ids.to_uuid(ids.TRADE, row[0])) for row in rows]
    return {"trades": trades, "cursor": encode_cursor([rows[-1][0]]) if more and rows else ""}


# --- candlesticks -------------------------------------------------------------------------------------

def candle_window(query: Query) -> tuple[int, int, int]:
    start = query.integer("start_ts", None, 0)
    end = query.integer("end_ts", None, 0)
    period = query.integer("period_interval", None)
    if start is None or end is None or period is None:
        raise ApiError(400, "missing_parameters", "start_ts, end_ts and period_interval are required")
    if period not in PERIODS_MINUTES:
        raise bad_request("period_interval must be 1, 60 or 1440")
    if end < start:
        raise bad_request("end_ts must not be before start_ts")
    if (end - start) // (period * 60) > CANDLES_PER_REQUEST_MAX:
        raise bad_request(f"at most {CANDLES_PER_REQUEST_MAX} candlesticks per request")
    return start * 1000, end * 1000, period


def candlesticks(exchange: Exchange, ticker: str, start_ms: int, end_ms: int, period: int) -> list[dict[str, Any]]:
    """Periods ending in [start, end] that saw activity, aggregated from one-minute candles."""
    period_ms = period * 60_000
    first_minute = start_ms - start_ms % period_ms - period_ms
    rows = exchange.store.query(
        "SELECT minute_ms, price_open, price_high, price_low, price_close, price_sum_microdollars, volume_centicontracts, "
        "bid_open, bid_high, bid_low, bid_close, ask_open, ask_high, ask_low, ask_close, open_interest_centicontracts "
        "FROM candles WHERE ticker = ? AND minute_ms >= ? AND minute_ms < ? ORDER BY minute_ms",
        [ticker, first_minute, end_ms],
    )
    previous_price = exchange.store.query(
        "SELECT price_close FROM candles WHERE ticker = ? AND minute_ms < ? AND volume_centicontracts > 0 "
        "ORDER BY minute_ms DESC LIMIT 1", [ticker, first_minute],
    )
    last_price = previous_price[0][0] if previous_price else 0
    periods: dict[int, list[tuple[Any, ...]]] = {}
    for row in rows:
        periods.setdefault(row[0] - row[0] % period_ms + period_ms, []).append(row)
    result = []
    for end, minutes in periods.items():
        traded = [m for m in minutes if m[6] > 0]
        price = None
        if traded:
            volume = sum(m[6] for m in traded)
            mean = sum(m[5] for m in traded) // volume
            price = (traded[0][1], min(m[3] for m in traded), max(m[2] for m in traded), traded[-1][4], mean)
        if start_ms <= end <= end_ms + period_ms - 1:
            result.append(shapes.candlestick(
                end,
                (minutes[0][7], min(m[9] for m in minutes), max(m[8] for m in minutes), minutes[-1][10]),
                (minutes[0][11], min(m[13] for m in minutes), max(m[12] for m in minutes), minutes[-1][14]),
                price, last_price, sum(m[6] for m in minutes), minutes[-1][15],
            ))
        if traded:
            last_price = traded[-1][4]
    return result


def market_candlesticks(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    market = _live_tier_market(exchange, params["ticker"])
    if market.series_ticker != params["series_ticker"]:
        raise ApiError(404, "market_not_found", f"market {market.ticker} is not in series {params['series_ticker']}")
    start, end, period = candle_window(query)
    return {"ticker": market.ticker, "candlesticks": candlesticks(exchange, market.ticker, start, end, period)}


def batch_candlesticks(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    tickers = query.texts("market_tickers")
    if not tickers or len(tickers) > TICKERS_PER_REQUEST_MAX:
        raise bad_request(f"market_tickers must name 1 to {TICKERS_PER_REQUEST_MAX} markets")
    start, end, period = candle_window(query)
    return {"markets": [
        {"market_ticker": _market(exchange, t).ticker, "candlesticks": candlesticks(exchange, t, start, end, period)} for t in tickers
    ]}


def event_candlesticks(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    live = exchange.live
    event = live.events.get(params["event_ticker"])
    if event is None or event.series_ticker != params["series_ticker"]:
        raise not_found(f"no event {params['event_ticker']!r} in series {params['series_ticker']!r}")
    start, end, period = candle_window(query)
    tickers = live.event_markets.get(event.event_ticker, [])
    return {
        "market_tickers": tickers,
        "market_candlesticks": [candlesticks(exchange, t, start, end, period) for t in tickers],
        "adjusted_end_ts": end // 1000,
    }
