"""The REST edge's input: strict parsing of query parameters and JSON bodies into domain values
(through core/units.py), errors, and cursors; answers are shaped in gateways/shapes/. Every malformed
input becomes an ApiError (400) that names the problem; nothing here raises anything else on bad input."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import orjson

from predictex.core.limits import REQUEST_INTEGER_MAX, TEXT_LENGTH_MAX
from predictex.core.text import ascii_int, is_ascii_digits, shown
from predictex.core.units import UnitError, parse_count_fp, parse_money_dollars, parse_price_dollars

_INTEGER_DIGITS_MAX = 19  # longer is out of range anyway: refused before int() reads it


class ApiError(Exception):
    """A refusal at the edge: HTTP status and Kalshi's error body fields."""

    def __init__(self, status: int, code: str, message: str, details: str = "",
                 headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers  # extra response headers (Retry-After)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def bad_request(message: str, code: str = "invalid_parameters") -> ApiError:
    return ApiError(400, code, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


# --- numbers ----------------------------------------------------------------------------------------

# Kalshi's fixed-point strings (docs: "Fixed-point migration"): `*_dollars` are dollar strings with up to
# 4 decimal places ("0.1200"), `*_fp` counts accept 0 to 2 decimal places ("10.00"). Written as
# ASCII digits, a point and ASCII digits: no sign, exponent, space, or missing whole part (".5").
_FIXED_POINT = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)


def _fixed_point(value: Any, name: str, places: int, example: str, what: str) -> str:
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a {what} string such as \"{example}\"")
    if len(value) > 32 or _FIXED_POINT.fullmatch(value) is None:
        raise bad_request(f"{name} {shown(value)} is not a {what} string: ASCII digits with up to {places} decimal "
                          f"places after a point, such as \"{example}\" (no spaces, no sign, a digit before the point)")
    fraction = value.partition(".")[2]
    if len(fraction) > places:
        raise bad_request(f"{name} {shown(value)} has more than {places} decimal places")
    return value


def parse_dollars_field(value: Any, name: str) -> int:
    text = _fixed_point(value, name, 4, "0.5600", "dollar")
    try:
        return parse_price_dollars(text)
    except UnitError as error:
        raise bad_request(f"{name}: {error}") from error


def parse_money_field(value: Any, name: str) -> int:
    text = _fixed_point(value, name, 6, "12.50", "dollar")
    try:
        return parse_money_dollars(text)
    except UnitError as error:
        raise bad_request(f"{name}: {error}") from error


def parse_count_field(value: Any, name: str) -> int:
    text = _fixed_point(value, name, 2, "10.00", "count")
    try:
        return parse_count_fp(text)
    except UnitError as error:
        raise bad_request(f"{name}: {error}") from error


def int_field(body: dict[str, Any], name: str, default: int | None = None, low: int | None = None, high: int | None = None) -> int:
    value = body.get(name)
    if value is None:
        if default is None:
            raise ApiError(400, "missing_parameters", f"{name} is required")
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_request(f"{name} must be an integer")
    _check_range(name, value, low, high)
    return value


def _check_range(name: str, value: int, low: int | None, high: int | None) -> None:
    """Unless told otherwise, an integer stays within REQUEST_INTEGER_MAX: seconds times 1000 still fit
    the 64-bit columns and journal records it ends up in (a bigger one once failed a query with a 500)."""
    low = -REQUEST_INTEGER_MAX if low is None else low
    high = REQUEST_INTEGER_MAX if high is None else high
    if not low <= value <= high:
        raise bad_request(f"{name} must be between {low} and {high}")


def str_field(body: dict[str, Any], name: str, default: str | None = None, max_length: int = TEXT_LENGTH_MAX) -> str:
    value = body.get(name)
    if value is None:
        if default is None:
            raise ApiError(400, "missing_parameters", f"{name} is required")
        return default
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a string")
    if len(value) > max_length:
        raise bad_request(f"{name} is longer than {max_length} characters")
    return value


def bool_field(body: dict[str, Any], name: str, default: bool = False) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad_request(f"{name} must be true or false")
    return value


def json_body(raw: bytes, required: bool = True) -> dict[str, Any]:
    if not raw.strip():
        if required:
            raise bad_request("a JSON body is required")
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise bad_request(f"malformed JSON: {error}") from error
    if not isinstance(body, dict):
        raise bad_request("the JSON body must be an object")
    return body


def refuse_unknown_fields(body: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise bad_request(f"unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")


# --- query parameters --------------------------------------------------------------------------------

class Query:
    """A request's query parameters, read strictly."""

    def __init__(self, params: dict[str, list[str]]) -> None:
        self.params = params

    def text(self, name: str, default: str = "") -> str:
        values = self.params.get(name)
        return values[-1] if values else default

    def texts(self, name: str) -> list[str]:
        """Repeated keys and comma lists both: ?t=A&t=B,C -> [A, B, C]."""
        found: list[str] = []
        for value in self.params.get(name, []):
            found.extend(part for part in value.split(",") if part)
        return found

    def integer(self, name: str, default: int | None = None, low: int | None = None, high: int | None = None) -> int | None:
        """An integer in ASCII digits with an optional leading minus ("12", "-3"); anything else
        (spaces, "+", "1_000", digits of other scripts) is refused by name."""
        raw = self.text(name)
        if raw == "":
            return default
        negative = raw.startswith("-")
        digits = raw[1:] if negative else raw
        if not is_ascii_digits(digits):
            raise bad_request(f"{name} must be an integer, not {shown(raw)} (ASCII digits, an optional leading minus)")
        magnitude = ascii_int(digits, _INTEGER_DIGITS_MAX)
        value = REQUEST_INTEGER_MAX + 1 if magnitude is None else magnitude  # too many digits: out of range
        value = -value if negative else value
        _check_range(name, value, low, high)
        return value

    def limit(self, default: int, maximum: int) -> int:
        value = self.integer("limit", default)
        assert value is not None
        if value < 1:
            raise bad_request("limit must be at least 1")
        return min(value, maximum)

    def boolean(self, name: str, default: bool = False) -> bool:
        raw = self.text(name).lower()
        if raw == "":
            return default
        if raw in ("true", "1"):
            return True
        if raw in ("false", "0"):
            return False
        raise bad_request(f"{name} must be true or false")


# --- cursors ---------------------------------------------------------------------------------

def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, shape: tuple[type, ...]) -> list[Any] | None:
    """The key a cursor holds, checked against the expected element types; "" means the start."""
    if not cursor:
        return None
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as error:
        raise bad_request("cursor is not one this server issued") from error
    if not isinstance(key, list) or len(key) != len(shape) or not all(
        isinstance(value, kind) and not (kind is int and isinstance(value, bool)) for value, kind in zip(key, shape, strict=True)
    ):
        raise bad_request("cursor is not one this server issued")
    return key
