"""Kalshi v2 fee changes: `GET /series/fee_changes` (a series' scheduled fee type and multiplier,
past ones with `show_historical`) and `GET /events/fee_changes` (event fee overrides, a null field
meaning the override is cleared). Both read the read model's schedules, filled by the operator's
scheduled changes (`POST /predictex/v1/admin/fee_changes`)."""

from __future__ import annotations

from typing import Any

from predictex.core.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from predictex.gateways.rest.handlers import public, summary_of
from predictex.gateways.rest.wire import Query, decode_cursor, encode_cursor
from predictex.gateways.shapes import kalshi as shapes
from predictex.gateways.shapes.text import rfc3339
from predictex.readmodel.schedules import FeeChangeView
from predictex.server.context import Exchange
from predictex.server.http import Request
from predictex.server.router import Router

PREFIX = "/trade-api/v2"


def register(router: Router, exchange: Exchange) -> None:
    for path, handler in (("/series/fee_changes", series_fee_changes), ("/events/fee_changes", event_fee_changes)):
        router.add("GET", PREFIX + path, _bind(handler, exchange))


def _bind(handler: Any, exchange: Exchange) -> Any:
    def read(exchange: Exchange, request: Request, params: dict[str, str]) -> dict[str, Any]:
        result: dict[str, Any] = handler(exchange, Query(request.query_params()))
        return result

    return public(exchange, read, summary=summary_of(handler))


def change_id(change: FeeChangeView) -> str:
    return f"{'event' if change.event_ticker else 'series'}-fee-change-{change.change_id}"


def series_fee_change(change: FeeChangeView) -> dict[str, Any]:
    return {
        "id": change_id(change), "series_ticker": change.series_ticker, "fee_type": change.fee_type,
        "fee_multiplier": shapes.fee_multiplier(change.fee_multiplier_bps), "scheduled_ts": rfc3339(change.effective_ms),
    }


def event_fee_change(change: FeeChangeView) -> dict[str, Any]:
    return {
        "id": change_id(change), "event_ticker": change.event_ticker, "series_ticker": change.series_ticker,
        "fee_type_override": change.fee_type or None,
        "fee_multiplier_override": shapes.fee_multiplier(change.fee_multiplier_bps) if change.fee_multiplier_bps >= 0 else None,
        "scheduled_ts": rfc3339(change.effective_ms),
    }


def series_fee_changes(exchange: Exchange, query: Query) -> dict[str, Any]:
    """Series fee changes still to come, soonest first; with `show_historical`, the applied ones too."""
    series_ticker = query.text("series_ticker")
    historical = query.boolean("show_historical")
    found = [
        change for change in exchange.live.schedules.fee_changes.values()
        if not change.event_ticker and (not series_ticker or change.series_ticker == series_ticker)
        and (historical or not change.applied)
    ]
    found.sort(key=lambda change: (change.effective_ms, change.change_id))
    return {"series_fee_change_arr": [series_fee_change(change) for change in found]}


def event_fee_changes(exchange: Exchange, query: Query) -> dict[str, Any]:
    """Event fee overrides, in the order they were scheduled, a page at a time."""
    event_ticker = query.text("event_ticker")
    limit = query.limit(PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
    after = decode_cursor(query.text("cursor"), (int,))
    page: list[dict[str, Any]] = []
    more = False
    last = 0
    for change in exchange.live.schedules.fee_changes.values():
        if not change.event_ticker or (event_ticker and change.event_ticker != event_ticker):
            continue
        if after is not None and change.change_id <= after[0]:
            continue
        if len(page) == limit:
            more = True
            break
        page.append(event_fee_change(change))
        last = change.change_id
    return {"event_fee_changes": page, "cursor": encode_cursor([last]) if more else ""}
