"""The shapes of the documents the operator publishes (core/content.py), as Kalshi's models give them:
each field's type and whether it must be there. A document is checked field by field before it is
journaled (unknown fields refused, times normalised to RFC 3339), so that every one served later
parses into the official SDK's strict models."""

from __future__ import annotations

import datetime as dt
from typing import Any

from predictex.gateways.rest.wire import ApiError, bad_request

# A field: (type, required). Types: "str", "int", "number" (int or decimal), "bool", "time" (RFC 3339
# or Unix seconds), "dict" (any JSON object), "list[str]", "dict[str]" (an object of strings), a nested
# schema (an object) or a one-item list holding a nested schema (a list of objects).
Schema = dict[str, tuple[Any, bool]]

_STATION_READING: Schema = {
    "station_id": ("str", True), "code": ("str", True), "source": ("str", False), "temp_f": ("number", False),
    "obs_time_ms": ("int", False), "received_at_ms": ("int", False), "primary_code": ("str", False),
}
_CALIBRATION_STATION: Schema = {
    "station_id": ("str", True), "weight": ("number", True), "offset_c": ("number", True), "update_note": ("str", False),
}

SCHEMAS: dict[str, Schema] = {
    "event_metadata": {
        "image_url": ("str", True), "featured_image_url": ("str", False),
        "market_details": ([{"market_ticker": ("str", True), "image_url": ("str", True), "color_code": ("str", True)}], True),
        "competition": ("str", False), "competition_scope": ("str", False),
    },
    "forecast_history": {
        "forecast_history": ([{
            "end_period_ts": ("int", True), "period_interval": ("int", True),
            "percentile_points": ([{
                "percentile": ("int", True), "raw_numerical_forecast": ("number", True),
                "numerical_forecast": ("number", True), "formatted_forecast": ("str", True),
            }], True),
        }], True),
    },
    "milestone": {
        "category": ("str", True), "type": ("str", True), "start_date": ("time", True), "end_date": ("time", False),
        "related_event_tickers": ("list[str]", True), "title": ("str", True), "notification_message": ("str", True),
        "source_id": ("str", False), "source_ids": ("dict[str]", False), "details": ("dict", True),
        "primary_event_tickers": ("list[str]", True),
    },
    "structured_target": {
        "name": ("str", True), "type": ("str", True), "details": ("dict", False), "source_id": ("str", False),
        "source_ids": ("dict[str]", False),
    },
    "live_data": {"type": ("str", True), "details": ("dict", True)},
    "game_stats": {"pbp": ({"periods": ([{"events": ("list[dict]", False)}], False)}, True)},
    "event_live_data": {
        "type": ("str", True), "details": ("dict", True), "is_historical": ("bool", False), "default_range": ("str", False),
        "range_options": ("list[str]", False),
    },
    "weather_index": {
        "config_version": ("str", False), "units": ("str", True),
        "timeseries": ([{
            "t": ("int", True), "v": ("number", False), "status": ("str", True), "contributors": ("int", False),
            "receipt_basis": ("str", False), "stations": ([_STATION_READING], False),
        }], True),
    },
    "weather_calibrations": {
        "units": ("str", True),
        "calibrations": ([{
            "config_version": ("str", True), "published_at_ms": ("int", False), "effective_at_ms": ("int", True),
            "change_reason": ("str", False), "calibration_window_start_ms": ("int", False),
            "calibration_window_end_ms": ("int", False), "city_reference_c": ("number", True),
            "stations": ([_CALIBRATION_STATION], True),
        }], True),
    },
    "sport_filters": {"scopes": ("list[str]", True), "competitions": ("dict[scopes]", True)},
    "mve_collection": {
        "series_ticker": ("str", True), "title": ("str", True), "description": ("str", True), "open_date": ("time", True),
        "close_date": ("time", True),
        "associated_events": ([{
            "ticker": ("str", True), "is_yes_only": ("bool", True), "size_max": ("int", False), "size_min": ("int", False),
            "active_quoters": ("list[str]", True),
        }], True),
        "is_ordered": ("bool", True), "is_single_market_per_event": ("bool", True), "is_all_yes": ("bool", True),
        "size_min": ("int", True), "size_max": ("int", True), "functional_description": ("str", True),
    },
    "incentive_program": {
        "market_ticker": ("str", True), "incentive_type": ("str", True), "incentive_description": ("str", True),
        "start_date": ("time", True), "end_date": ("time", True), "period_reward": ("int", True), "paid_out": ("bool", False),
        "discount_factor_bps": ("int", False), "target_size_fp": ("str", False), "max_reward_per_account": ("int", False),
    },
}

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_SECONDS_MAX = 253_402_300_799  # 9999-12-31T23:59:59Z


def check_document(kind: str, document: Any) -> dict[str, Any]:
    """The document in its stored form, or a 400 naming the first field that is wrong."""
    checked: dict[str, Any] = _object(SCHEMAS[kind], document, kind)
    return checked


def _object(schema: Schema, value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request(f"{where} must be a JSON object")
    unknown = sorted(set(value) - set(schema))
    if unknown:
        raise bad_request(f"{where}: unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
    out: dict[str, Any] = {}
    for name, (kind, required) in schema.items():
        if value.get(name) is None:
            if required:
                raise ApiError(400, "missing_parameters", f"{where}.{name} is required")
            continue
        out[name] = _value(kind, value[name], f"{where}.{name}")
    return out


def _value(kind: Any, value: Any, where: str) -> Any:
    if isinstance(kind, dict):
        return _object(kind, value, where)
    if isinstance(kind, list):
        if not isinstance(value, list):
            raise bad_request(f"{where} must be a list")
        return [_object(kind[0], item, f"{where}[{index}]") for index, item in enumerate(value)]
    checks = {
        "str": lambda v: isinstance(v, str), "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool), "bool": lambda v: isinstance(v, bool),
        "dict": lambda v: isinstance(v, dict),
        "list[str]": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
        "list[dict]": lambda v: isinstance(v, list) and all(isinstance(i, dict) for i in v),
        "dict[str]": lambda v: isinstance(v, dict) and all(isinstance(i, str) for i in v.values()),
    }
    if kind == "time":
        return _time(value, where)
    if kind == "dict[scopes]":
        if not isinstance(value, dict):
            raise bad_request(f"{where} must be an object of {{scopes: [...]}}")
        return {name: _object({"scopes": ("list[str]", True)}, item, f"{where}.{name}") for name, item in value.items()}
    if not checks[kind](value):
        raise bad_request(f"{where} must be {kind.replace('number', 'a number').replace('str', 'a string')}")
    return value


def _time(value: Any, where: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= _SECONDS_MAX:
            raise bad_request(f"{where} must be between 1970 and 9999")
        moment = _EPOCH + dt.timedelta(seconds=value)
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as error:
            raise bad_request(f"{where} must be an RFC 3339 time or Unix seconds") from error
        if moment.tzinfo is None:
            raise bad_request(f"{where} needs a time zone (e.g. Z)")
    else:
        raise bad_request(f"{where} must be an RFC 3339 time or Unix seconds")
    if moment < _EPOCH:
        raise bad_request(f"{where} must be between 1970 and 9999")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def time_ms(text: str) -> int:
    """Milliseconds of a stored time (what _time wrote)."""
    return int((dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC) - _EPOCH).total_seconds()) * 1000
