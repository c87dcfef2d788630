"""Kalshi v2 reads of what the operator published (core/content.py, checked by
gateways/rest/content_shapes.py): event metadata and forecast histories, milestones, structured
targets, live data and game stats, the weather index and its calibrations, the search filters and
incentive programs. Each answer is the published document in Kalshi's response object, filtered and
paged as Kalshi's parameters say; tags by category are read off the series themselves."""

from __future__ import annotations

from typing import Any

from predictex.core.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from predictex.gateways.rest.content_shapes import time_ms
from predictex.gateways.rest.handlers import public, summary_of
from predictex.gateways.rest.wire import ApiError, Query, bad_request, decode_cursor, encode_cursor, not_found
from predictex.server import ids
from predictex.server.context import Exchange
from predictex.server.http import Request
from predictex.server.router import Router

PREFIX = "/trade-api/v2"
INCENTIVES_PAGE_SIZE_MAX = 10_000  # Kalshi's own bound for get_incentive_programs
WEATHER_WINDOW_DEFAULT_MS = 24 * 3600 * 1000


def register(router: Router, exchange: Exchange) -> None:
    routes = (
        ("/events/{event_ticker}/metadata", event_metadata),
        ("/series/{series_ticker}/events/{ticker}/forecast_percentile_history", forecast_history),
        ("/milestones", milestones), ("/milestones/{milestone_id}", milestone),
        ("/structured_targets", structured_targets), ("/structured_targets/{structured_target_id}", structured_target),
        ("/live_data/batch", live_datas), ("/live_data/milestone/{milestone_id}", live_data_by_milestone),
        ("/live_data/{type}/milestone/{milestone_id}", live_data), ("/live_data/milestone/{milestone_id}/game_stats", game_stats),
        ("/live_data/events/{event_ticker}", event_live_data), ("/live_data/weather/{city}", weather_index),
        ("/live_data/weather/{city}/calibrations", weather_calibrations),
        ("/search/tags_by_categories", tags_by_categories), ("/search/filters_by_sport", filters_by_sport),
        ("/incentive_programs", incentive_programs),
    )
    for path, handler in routes:
        router.add("GET", PREFIX + path, _bind(handler, exchange))


def _bind(handler: Any, exchange: Exchange) -> Any:
    def read(exchange: Exchange, request: Request, params: dict[str, str]) -> dict[str, Any]:
        result: dict[str, Any] = handler(exchange, Query(request.query_params()), params)
        return result

    return public(exchange, read, summary=summary_of(handler))


def _documents(exchange: Exchange, kind: str) -> dict[str, dict[str, Any]]:
    return exchange.live.schedules.documents(kind)


def _document(exchange: Exchange, kind: str, key: str, what: str) -> dict[str, Any]:
    found = _documents(exchange, kind).get(key)
    if found is None:
        raise not_found(f"no {what} {key!r}")
    return found


def _page(query: Query, keys: list[str], size_name: str = "limit", maximum: int = PAGE_SIZE_MAX) -> tuple[list[str], str]:
    """A page of keys (in publication order) after the cursor, and the next cursor ("" at the end)."""
    size = query.integer(size_name, PAGE_SIZE_DEFAULT, 1)
    assert size is not None
    size = min(size, maximum)
    after = decode_cursor(query.text("cursor"), (int,))
    start = after[0] if after is not None else 0
    page = keys[start:start + size]
    return page, encode_cursor([start + size]) if start + size < len(keys) else ""


# --- events -------------------------------------------------------------------------------------------

def event_metadata(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """An event's images, market colours and settlement sources"""
    ticker = params["event_ticker"]
    event = exchange.live.events.get(ticker)
    if event is None:
        raise ApiError(404, "event_not_found", f"no event {ticker!r}")
    document = _document(exchange, "event_metadata", ticker, "metadata published for event")
    series = exchange.live.series.get(event.series_ticker)
    sources = [{"name": name, "url": url} for name, url in series.settlement_sources] if series is not None else []
    return {"market_details": [], **document, "settlement_sources": sources}


def forecast_history(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """An event's forecast at the asked percentiles, period by period"""
    ticker = params["ticker"]
    event = exchange.live.events.get(ticker)
    if event is None or event.series_ticker != params["series_ticker"]:
        raise ApiError(404, "event_not_found", f"no event {ticker!r} in series {params['series_ticker']!r}")
    wanted = query.texts("percentiles")
    if not wanted or not all(p.isdigit() and 0 <= int(p) <= 10_000 for p in wanted):
        raise bad_request("percentiles must name one or more percentiles (0-10000)")
    percentiles = {int(p) for p in wanted}
    start, end, period = (query.integer(name, None, 0) for name in ("start_ts", "end_ts", "period_interval"))
    if start is None or end is None or period is None:
        raise ApiError(400, "missing_parameters", "start_ts, end_ts and period_interval are required")
    history = _documents(exchange, "forecast_history").get(ticker, {}).get("forecast_history", [])
    return {"forecast_history": [
        {"event_ticker": ticker, **point,
         "percentile_points": [p for p in point["percentile_points"] if p["percentile"] in percentiles]}
        for point in history
        if point["period_interval"] == period and start <= point["end_period_ts"] <= end
    ]}


# --- milestones and structured targets ----------------------------------------------------------------

def _milestone(key: str, document: dict[str, Any]) -> dict[str, Any]:
    return {"id": key, **document}


def milestones(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """Milestones, filtered by category, competition, source, type, related event, start and update time"""
    filters = {name: query.text(name) for name in ("category", "source_id", "type")}
    competition = query.text("competition")
    related = query.text("related_event_ticker")
    minimum_start = query.text("minimum_start_date")
    updated_since_ms = (query.integer("min_updated_ts", 0, 0) or 0) * 1000
    found = []
    for key, document in _documents(exchange, "milestone").items():
        if any(value and document.get(name) != value for name, value in filters.items()):
            continue
        if competition and document["details"].get("competition") != competition:
            continue
        if related and related not in document["related_event_tickers"]:
            continue
        if minimum_start and time_ms(document["start_date"]) < _time_query_ms(minimum_start, "minimum_start_date"):
            continue
        if time_ms(document["last_updated_ts"][:19] + "Z") < updated_since_ms:
            continue
        found.append(key)
    page, cursor = _page(query, found)
    items = _documents(exchange, "milestone")
    return {"milestones": [_milestone(key, items[key]) for key in page], "cursor": cursor}


def _time_query_ms(text: str, name: str) -> int:
    try:
        return time_ms(text.replace("+00:00", "Z")[:19] + "Z")
    except ValueError as error:
        raise bad_request(f"{name} must be an RFC 3339 time") from error


def milestone(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """One milestone"""
    key = params["milestone_id"]
    return {"milestone": _milestone(key, _document(exchange, "milestone", key, "milestone"))}


def structured_targets(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """Structured targets, filtered by id, type and competition"""
    wanted = set(query.texts("ids"))
    kind, competition = query.text("type"), query.text("competition")
    documents = _documents(exchange, "structured_target")
    found = [
        key for key, document in documents.items()
        if (not wanted or key in wanted) and (not kind or document["type"] == kind)
        and (not competition or document.get("details", {}).get("competition") == competition)
    ]
    page, cursor = _page(query, found, "page_size", 2_000)
    return {"structured_targets": [{"id": key, **documents[key]} for key in page], "cursor": cursor}


def structured_target(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """One structured target"""
    key = params["structured_target_id"]
    return {"structured_target": {"id": key, **_document(exchange, "structured_target", key, "structured target")}}


# --- live data ----------------------------------------------------------------------------------------

def _live(exchange: Exchange, milestone_id: str) -> dict[str, Any]:
    document = _document(exchange, "live_data", milestone_id, "live data for milestone")
    return {"type": document["type"], "details": document["details"], "milestone_id": milestone_id}


def live_data(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """A milestone's live data, of the given type"""
    found = _live(exchange, params["milestone_id"])
    if found["type"] != params["type"]:
        raise not_found(f"milestone {params['milestone_id']!r} has {found['type']} live data, not {params['type']}")
    return {"live_data": found}


def live_data_by_milestone(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """A milestone's live data"""
    return {"live_data": _live(exchange, params["milestone_id"])}


def live_datas(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """The live data of several milestones (those without any are left out)"""
    wanted = query.texts("milestone_ids")
    if not wanted or len(wanted) > 100:
        raise bad_request("milestone_ids must name 1 to 100 milestones")
    documents = _documents(exchange, "live_data")
    return {"live_datas": [_live(exchange, key) for key in dict.fromkeys(wanted) if key in documents]}


def game_stats(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """A milestone's play by play"""
    found = _documents(exchange, "game_stats").get(params["milestone_id"])
    if found is None:
        if params["milestone_id"] not in _documents(exchange, "milestone"):
            raise not_found(f"no milestone {params['milestone_id']!r}")
        return {}  # a milestone without play by play: pbp is null, as Kalshi answers
    return {"pbp": found["pbp"]}


def event_live_data(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """An event's live data"""
    ticker = params["event_ticker"]
    document = _document(exchange, "event_live_data", ticker, "live data for event")
    wanted = query.text("range")
    options = document.get("range_options", [])
    if wanted and options and wanted not in options:
        raise bad_request(f"range must be one of {', '.join(options)}")
    return {"live_data": document}


def weather_index(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """A city's temperature index, minute by minute, in a window"""
    city = params["city"]
    document = _document(exchange, "weather_index", city, "weather index for city")
    last_s = query.integer("last_sec", None, 1)
    start, end = query.integer("from", None, 0), query.integer("to", None, 0)
    now = exchange.clock.now_ms()
    if last_s is not None:
        if start is not None or end is not None:
            raise bad_request("last_sec cannot be combined with from or to")
        start, end = now - last_s * 1000, now
    end = now if end is None else end
    start = end - WEATHER_WINDOW_DEFAULT_MS if start is None else start
    detailed = query.boolean("detailed")
    points = [
        point if detailed else {k: v for k, v in point.items() if k != "stations"}
        for point in document["timeseries"] if start <= point["t"] <= end and point.get("v") is not None
    ]
    return {"city": city, **{k: v for k, v in document.items() if k != "timeseries"}, "timeseries": points}


def weather_calibrations(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """A city's index calibrations"""
    city = params["city"]
    return {"city": city, **_document(exchange, "weather_calibrations", city, "weather calibrations for city")}


# --- search -------------------------------------------------------------------------------------------

def tags_by_categories(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """Every series category with the tags its series carry"""
    found: dict[str, dict[str, None]] = {}
    for series in exchange.live.series.values():
        if series.category:
            found.setdefault(series.category, {}).update(dict.fromkeys(series.tags))
    return {"tags_by_categories": {category: list(tags) for category, tags in found.items()}}


def filters_by_sport(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """The sports' scopes and competitions, in the order they were published"""
    documents = _documents(exchange, "sport_filters")
    return {"filters_by_sports": dict(documents), "sport_ordering": list(documents)}


# --- incentive programs -------------------------------------------------------------------------------

_INCENTIVE_STATUSES = ("all", "active", "upcoming", "closed", "paid_out")
_INCENTIVE_TYPES = ("all", "liquidity", "volume", "margin_maker_volume", "margin_taker_volume")


def _incentive_status(document: dict[str, Any], now_ms: int) -> str:
    if document.get("paid_out"):
        return "paid_out"
    if now_ms < time_ms(document["start_date"]):
        return "upcoming"
    return "active" if now_ms <= time_ms(document["end_date"]) else "closed"


def incentive_programs(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """The incentive programs the operator created, by status, type and description"""
    status, kind = query.text("status", "all"), query.text("type", "all")
    if status not in _INCENTIVE_STATUSES:
        raise bad_request(f"status must be one of {', '.join(_INCENTIVE_STATUSES)}")
    if kind not in _INCENTIVE_TYPES:
        raise bad_request(f"type must be one of {', '.join(_INCENTIVE_TYPES)}")
    description = query.text("incentive_description")
    now = exchange.clock.now_ms()
    documents = _documents(exchange, "incentive_program")
    found = [
        key for key, document in documents.items()
        if (status == "all" or _incentive_status(document, now) == status) and (kind == "all" or document["incentive_type"] == kind)
        and (not description or document["incentive_description"] == description)
    ]
    page, cursor = _page(query, found, maximum=INCENTIVES_PAGE_SIZE_MAX)
    live = exchange.live
    programs = []
    for key in page:
        document = documents[key]
        market = live.markets.get(document["market_ticker"])
        market_id = exchange.ids.to_uuid(ids.MARKET, market.definition.market_number) if market is not None else ""
        programs.append({"id": key, "market_id": market_id, "paid_out": False, **document})
    return {"incentive_programs": programs, "next_cursor": cursor}
