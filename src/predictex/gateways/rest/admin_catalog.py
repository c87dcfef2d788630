"""The operator's API for what is scheduled and archived, under /predictex/v1/admin: fee changes (a
series' fee, or an event's override, from a given time) and the historical tier's cutoff. Each is a
journaled engine command, like the rest of the operator's API."""

from __future__ import annotations

from typing import Any

import orjson

from predictex.accounts import Lane
from predictex.core import commands as c
from predictex.core.fees import FEE_TYPES
from predictex.core.limits import COMBO_LEGS_MAX, TICKER_LENGTH_MAX
from predictex.gateways.rest.admin import fee_multiplier_field, strike_field, time_field
from predictex.gateways.rest.content_shapes import SCHEMAS, check_document
from predictex.gateways.rest.handlers import Principal, execute, private
from predictex.gateways.rest.kalshi_v2.fee_changes import change_id, event_fee_change, series_fee_change
from predictex.gateways.rest.wire import ApiError, bad_request, json_body, not_found, refuse_unknown_fields, str_field
from predictex.gateways.shapes.text import rfc3339
from predictex.server.context import Exchange
from predictex.server.http import Request, Response, json_response
from predictex.server.router import Router

PREFIX = "/predictex/v1/admin"

_FEE_CHANGE_FIELDS = frozenset({"series_ticker", "event_ticker", "fee_type", "fee_multiplier", "scheduled_ts"})
_CUTOFF_FIELDS = frozenset({"market_settled_ts", "trades_created_ts", "orders_updated_ts"})


def register(router: Router, exchange: Exchange) -> None:
    def admin(handler: Any) -> Any:
        return private(exchange, handler, scope="write", lane=Lane.WRITE, admin=True)

    router.add("POST", PREFIX + "/fee_changes", admin(schedule_fee_change))
    router.add("PUT", PREFIX + "/historical/cutoff", admin(set_archive_cutoff))
    router.add("POST", PREFIX + "/markets/{ticker}/terms", admin(update_market_terms))
    router.add("PUT", PREFIX + "/content/{kind}/{key}", admin(publish_content))
    router.add("DELETE", PREFIX + "/content/{kind}/{key}", admin(withdraw_content))


async def schedule_fee_change(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    """Schedule a series fee change (series_ticker, fee_type, fee_multiplier) or an event fee override
    (event_ticker; a null or absent fee_type / fee_multiplier clears that part), from scheduled_ts
    (Unix seconds or RFC 3339; now when absent or past)"""
    body = json_body(request.body)
    refuse_unknown_fields(body, _FEE_CHANGE_FIELDS)
    event_ticker = str_field(body, "event_ticker", "", TICKER_LENGTH_MAX)
    series_ticker = str_field(body, "series_ticker", "", TICKER_LENGTH_MAX)
    if not event_ticker and not series_ticker:
        raise bad_request("name a series_ticker (a series fee change) or an event_ticker (an event fee override)")
    fee_type = str_field(body, "fee_type", "", 64) if body.get("fee_type") is not None else ""
    if fee_type and fee_type not in FEE_TYPES:
        raise bad_request(f"fee_type must be one of {', '.join(FEE_TYPES)}")
    multiplier = fee_multiplier_field(body) if body.get("fee_multiplier") is not None else -1
    now = exchange.clock.now_ms()
    effective = time_field(body, "scheduled_ts", now) if body.get("scheduled_ts") is not None else now
    outcome = await execute(exchange, c.ScheduleFeeChange(series_ticker, event_ticker, fee_type, multiplier, effective))
    change = exchange.live.schedules.fee_changes[outcome.value]
    shape = event_fee_change(change) if change.event_ticker else series_fee_change(change)
    return json_response(201, {**shape, "id": change_id(change), "applied": change.applied})


async def set_archive_cutoff(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Move the historical tier's cutoffs (each Unix seconds or RFC 3339, at most now, never back):
    markets settled, trades made and orders closed before them move to /trade-api/v2/historical"""
    body = json_body(request.body)
    refuse_unknown_fields(body, _CUTOFF_FIELDS)
    current = exchange.live.schedules.archive_cutoff_ms
    wanted = [
        time_field(body, name, before) if body.get(name) is not None else before
        for name, before in zip(("market_settled_ts", "trades_created_ts", "orders_updated_ts"), current, strict=True)
    ]
    await execute(exchange, c.SetArchiveCutoff(wanted[0], wanted[1], wanted[2]))
    settled, trades, orders = exchange.live.schedules.archive_cutoff_ms
    return {"market_settled_ts": rfc3339(settled), "trades_created_ts": rfc3339(trades), "orders_updated_ts": rfc3339(orders)}


# --- a market's terms ---------------------------------------------------------------------------------

_TERMS = ("title", "subtitle", "yes_sub_title", "no_sub_title", "rules_primary", "rules_secondary", "strike_type",
          "floor_strike", "cap_strike", "price_level_structure")


async def update_market_terms(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Change a market's titles, rules, strikes or price grid (resting orders off a new grid are
    cancelled); members see metadata_updated / price_level_structure_updated on market_lifecycle_v2"""
    body = json_body(request.body)
    refuse_unknown_fields(body, frozenset(_TERMS))
    changes = []
    for name in _TERMS:
        if name not in body:
            continue
        value = strike_field(body, name) if name in ("floor_strike", "cap_strike") else str_field(body, name, None, 10_000)
        changes.append([name, value])
    if not changes:
        raise ApiError(400, "missing_parameters", f"give one or more of {', '.join(_TERMS)}")
    await execute(exchange, c.UpdateMarketTerms(params["ticker"], changes))
    market = exchange.live.markets[params["ticker"]]
    return {"ticker": market.ticker, **{name: getattr(market.definition, name) for name, _ in changes}}


# --- published documents ------------------------------------------------------------------------------

_EVENT_KEYED = frozenset({"event_metadata", "forecast_history", "event_live_data"})
_STAMPED = frozenset({"milestone", "structured_target"})  # their documents carry last_updated_ts


def _kind(params: dict[str, str]) -> str:
    kind = params["kind"]
    if kind not in SCHEMAS:
        raise not_found(f"no kind of document {kind!r}: publish one of {', '.join(SCHEMAS)}")
    return kind


def _check_references(exchange: Exchange, kind: str, key: str, document: dict[str, Any]) -> None:
    live = exchange.live
    if kind in _EVENT_KEYED:
        if key not in live.events:
            raise ApiError(404, "event_not_found", f"no event {key!r}")
        for detail in document.get("market_details", []):
            if detail["market_ticker"] not in live.event_markets.get(key, []):
                raise bad_request(f"market {detail['market_ticker']!r} is not in event {key}")
    if kind == "incentive_program" and document["market_ticker"] not in live.markets:
        raise ApiError(404, "market_not_found", f"no market {document['market_ticker']!r}")
    if kind == "incentive_program" and document["end_date"] < document["start_date"]:
        raise bad_request("end_date must not be before start_date")
    if kind == "mve_collection":
        _check_collection(exchange, key, document)


def _check_collection(exchange: Exchange, key: str, document: dict[str, Any]) -> None:
    live = exchange.live
    if document["series_ticker"] not in live.series:
        raise ApiError(404, "series_not_found", f"no series {document['series_ticker']!r}")
    if not key.isupper() or not key.replace("-", "").isalnum():
        raise bad_request("a collection ticker is upper-case letters, digits and '-'")
    for associated in document["associated_events"]:
        if associated["ticker"] not in live.events:
            raise ApiError(404, "event_not_found", f"no event {associated['ticker']!r}")
    if not 1 <= document["size_min"] <= document["size_max"] <= COMBO_LEGS_MAX:
        raise bad_request(f"size_min and size_max must satisfy 1 <= size_min <= size_max <= {COMBO_LEGS_MAX}")
    if document["close_date"] <= document["open_date"]:
        raise bad_request("close_date must be after open_date")


async def publish_content(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Publish (or replace) a document members read through Kalshi's API: event_metadata, forecast_history
    and event_live_data under an event ticker, milestone, structured_target, live_data and game_stats
    under an id, weather_index and weather_calibrations under a city, sport_filters under a sport,
    incentive_program under an id; the fields are those of Kalshi's models"""
    kind = _kind(params)
    document = check_document(kind, json_body(request.body))
    _check_references(exchange, kind, params["key"], document)
    if kind in _STAMPED:
        document["last_updated_ts"] = rfc3339(exchange.clock.now_ms())
    await execute(exchange, c.PublishContent(kind, params["key"], orjson.dumps(document).decode()))
    return {"kind": kind, "key": params["key"], "document": exchange.live.schedules.documents(kind)[params["key"]]}


async def withdraw_content(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Withdraw a published document"""
    kind = _kind(params)
    if params["key"] not in exchange.live.schedules.documents(kind):
        raise not_found(f"no {kind} {params['key']!r} is published")
    await execute(exchange, c.PublishContent(kind, params["key"], ""))
    return {"kind": kind, "key": params["key"], "withdrawn": True}
