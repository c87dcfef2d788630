"""Kalshi v2 multivariate event collections (combinations): the collections the operator published
(`mve_collection` documents), the combination events made in them, and making a combination market
from chosen legs, which then trades on its own book and settles from its legs (core/combos.py).

A combination's tickers are derived from its legs: the same legs (in order where the collection is
ordered) always name the same event and market, so asking again answers the market already made."""

from __future__ import annotations

import hashlib
from typing import Any

from predictex.accounts import Lane
from predictex.core import commands as c
from predictex.core.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from predictex.gateways.rest.content_shapes import time_ms
from predictex.gateways.rest.handlers import Principal, execute, private, public, summary_of
from predictex.gateways.rest.wire import (
    ApiError,
    Query,
    bad_request,
    bool_field,
    decode_cursor,
    encode_cursor,
    json_body,
    not_found,
)
from predictex.gateways.shapes import kalshi as shapes
from predictex.readmodel.live import MarketView
from predictex.server.context import Exchange
from predictex.server.http import Request
from predictex.server.router import Router

PREFIX = "/trade-api/v2"
_STATUSES = ("unopened", "open", "closed")


def register(router: Router, exchange: Exchange) -> None:
    for path, handler in (
        ("/events/multivariate", multivariate_events), ("/multivariate_event_collections", collections),
        ("/multivariate_event_collections/{collection_ticker}", collection),
    ):
        router.add("GET", PREFIX + path, _bind(handler, exchange))
    router.add("POST", PREFIX + "/multivariate_event_collections/{collection_ticker}",
               private(exchange, create_market, scope="write", lane=Lane.WRITE))


def _bind(handler: Any, exchange: Exchange) -> Any:
    def read(exchange: Exchange, request: Request, params: dict[str, str]) -> dict[str, Any]:
        result: dict[str, Any] = handler(exchange, Query(request.query_params()), params)
        return result

    return public(exchange, read, summary=summary_of(handler))


def _collection_json(key: str, document: dict[str, Any]) -> dict[str, Any]:
    return {
        "collection_ticker": key, "exchange_index": 0, **document,
        "associated_event_tickers": [event["ticker"] for event in document["associated_events"]],
        "price_level_structure": "linear_cent", "price_ranges": shapes.price_ranges("linear_cent"),
    }


def _status(document: dict[str, Any], now_ms: int) -> str:
    if now_ms < time_ms(document["open_date"]):
        return "unopened"
    return "open" if now_ms < time_ms(document["close_date"]) else "closed"


def _page(query: Query, keys: list[str]) -> tuple[list[str], str]:
    limit = query.limit(PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
    after = decode_cursor(query.text("cursor"), (int,))
    start = after[0] if after is not None else 0
    return keys[start:start + limit], encode_cursor([start + limit]) if start + limit < len(keys) else ""


def collections(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """Multivariate event collections, by status, associated event and series"""
    status = query.text("status")
    if status and status not in _STATUSES:
        raise bad_request(f"status must be one of {', '.join(_STATUSES)}")
    event, series = query.text("associated_event_ticker"), query.text("series_ticker")
    now = exchange.clock.now_ms()
    documents = exchange.live.schedules.documents("mve_collection")
    found = [
        key for key, document in documents.items()
        if (not status or _status(document, now) == status) and (not series or document["series_ticker"] == series)
        and (not event or any(a["ticker"] == event for a in document["associated_events"]))
    ]
    page, cursor = _page(query, found)
    return {"multivariate_contracts": [_collection_json(key, documents[key]) for key in page], "cursor": cursor}


def _collection(exchange: Exchange, key: str) -> dict[str, Any]:
    document = exchange.live.schedules.documents("mve_collection").get(key)
    if document is None:
        raise not_found(f"no multivariate event collection {key!r}")
    return document


def collection(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """One multivariate event collection"""
    key = params["collection_ticker"]
    return {"multivariate_contract": _collection_json(key, _collection(exchange, key))}


def combination_market(exchange: Exchange, market: MarketView) -> dict[str, Any]:
    """A combination market in Kalshi's shape (with its collection and legs, as every read shows it)."""
    return shapes.market(market, exchange.clock.now_ms())


def multivariate_events(exchange: Exchange, query: Query, params: dict[str, str]) -> dict[str, Any]:
    """The combination events made in collections, by series and collection"""
    live = exchange.live
    series, wanted = query.text("series_ticker"), query.text("collection_ticker")
    if series and wanted:
        raise bad_request("give series_ticker or collection_ticker, not both")
    nested = query.boolean("with_nested_markets")
    found = [
        event for event, key in live.schedules.combo_events.items()
        if (not wanted or key == wanted) and (not series or live.events[event].series_ticker == series)
    ]
    page, cursor = _page(query, found)
    events = []
    for ticker in page:
        event = live.events[ticker]
        markets = [combination_market(exchange, live.markets[t]) for t in live.event_markets.get(ticker, [])] if nested else None
        events.append(shapes.event(event, live.series.get(event.series_ticker), markets, live.schedules.fee_overrides.get(ticker)))
    return {"events": events, "cursor": cursor}


def _legs(exchange: Exchange, document: dict[str, Any], body: dict[str, Any]) -> list[list[str]]:
    chosen = body.get("selected_markets")
    if not isinstance(chosen, list) or not all(isinstance(item, dict) for item in chosen):
        raise ApiError(400, "missing_parameters", "selected_markets is a list of {market_ticker, event_ticker, side}")
    associated = {a["ticker"]: a for a in document["associated_events"]}
    if not document["size_min"] <= len(chosen) <= document["size_max"]:
        raise bad_request(f"choose {document['size_min']} to {document['size_max']} markets")
    live = exchange.live
    legs: list[list[str]] = []
    per_event: dict[str, int] = {}
    for item in chosen:
        ticker, event, side = (item.get(name) for name in ("market_ticker", "event_ticker", "side"))
        if not (isinstance(ticker, str) and isinstance(event, str) and isinstance(side, str)):
            raise bad_request("each selected market names market_ticker, event_ticker and side as strings")
        if event not in associated:
            raise bad_request(f"event {event!r} is not in this collection")
        if ticker not in live.event_markets.get(event, []):
            raise bad_request(f"market {ticker!r} is not in event {event}")
        if side not in ("yes", "no") or (side == "no" and (document["is_all_yes"] or associated[event]["is_yes_only"])):
            raise bad_request(f"side must be {'yes' if document['is_all_yes'] or associated[event]['is_yes_only'] else 'yes or no'}")
        per_event[event] = per_event.get(event, 0) + 1
        legs.append([ticker, side])
    for event, count in per_event.items():
        limits = associated[event]
        if document["is_single_market_per_event"] and count > 1:
            raise bad_request(f"one market per event: {event} is chosen {count} times")
        if not limits.get("size_min", 0) <= count <= limits.get("size_max", count):
            raise bad_request(f"event {event} takes {limits.get('size_min', 0)} to {limits.get('size_max')} markets")
    return legs if document["is_ordered"] else sorted(legs)


async def create_market(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Make (or find) the combination market of the chosen legs in a collection"""
    key = params["collection_ticker"]
    document = _collection(exchange, key)
    body = json_body(request.body)
    legs = _legs(exchange, document, body)
    now = exchange.clock.now_ms()
    if _status(document, now) != "open":
        raise ApiError(400, "collection_not_open", f"collection {key} is {_status(document, now)}")
    digest = hashlib.sha256(repr(legs).encode()).hexdigest()[:12].upper()
    event_ticker = f"{key}-{digest}"
    market_ticker = f"{event_ticker}-C"
    if market_ticker not in exchange.live.markets:
        title = ", ".join(f"{side} {exchange.live.markets[ticker].definition.title or ticker}" for ticker, side in legs)
        await execute(exchange, c.CreateComboMarket(
            key, document["series_ticker"], event_ticker, market_ticker, title[:1000], time_ms(document["close_date"]), legs,
        ))
    answer: dict[str, Any] = {"event_ticker": event_ticker, "market_ticker": market_ticker}
    if bool_field(body, "with_market_payload"):
        answer["market"] = combination_market(exchange, exchange.live.markets[market_ticker])
    return answer
