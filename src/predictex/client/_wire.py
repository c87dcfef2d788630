"""The one place where wire values become domain values: Kalshi's fixed-point strings (`*_dollars`,
`*_fp`) when present, else the legacy integers (cents, whole contracts) of older servers; RFC 3339
times to aware datetimes. Nothing here ever makes a float."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from predictex.client.units import Count, Money, Price

Wire = Mapping[str, Any]


def text(body: Wire, name: str, default: str = "") -> str:
    value = body.get(name)
    return default if value is None else str(value)


def flag(body: Wire, name: str, default: bool = False) -> bool:
    value = body.get(name)
    return default if value is None else bool(value)


def integer(body: Wire, name: str, default: int = 0) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return value


def price(body: Wire, name: str) -> Price:
    """`name_dollars` ("0.5600"), else legacy `name` (integer cents)."""
    found = price_or_none(body, name)
    return found if found is not None else Price.of_units(0)


def price_or_none(body: Wire, name: str) -> Price | None:
    dollars = body.get(f"{name}_dollars")
    if isinstance(dollars, str) and dollars:
        return Price(dollars)
    cents = body.get(name)
    if isinstance(cents, int) and not isinstance(cents, bool):
        return Price.from_cents(cents)
    return None


def count(body: Wire, name: str, fp_name: str | None = None) -> Count:
    """`name_fp` ("10.00"; or `fp_name`), else legacy `name` (whole contracts, or an fp string in V2)."""
    value = body.get(fp_name or f"{name}_fp")
    if isinstance(value, str) and value:
        return Count(value)
    value = body.get(name)
    if isinstance(value, str) and value:
        return Count(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return Count(value)
    return Count.of_units(0)


def count_or_none(body: Wire, name: str) -> Count | None:
    if body.get(name) is None and body.get(f"{name}_fp") is None:
        return None
    return count(body, name)


def money(body: Wire, name: str, cents_name: str | None = None) -> Money:
    """`name_dollars` (4 or 6 decimals), else legacy integer cents in `cents_name` (default `name`)."""
    dollars = body.get(f"{name}_dollars")
    if isinstance(dollars, str) and dollars:
        return Money(dollars)
    cents = body.get(cents_name or name)
    if isinstance(cents, int) and not isinstance(cents, bool):
        return Money.from_cents(cents)
    if isinstance(cents, str) and cents:
        return Money(cents)
    return Money.of_units(0)


def money_string(body: Wire, name: str) -> Money | None:
    value = body.get(name)
    return Money(value) if isinstance(value, str) and value else None


def time(value: Any) -> dt.datetime | None:
    """RFC 3339 ("2026-01-14T20:18:04.727473Z") to an aware UTC datetime; None when absent."""
    if not isinstance(value, str) or not value:
        return None
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC)


def levels(raw: Any) -> tuple[tuple[Price, Count], ...]:
    """[[price_dollars, count_fp], ...] (or legacy [[cents, contracts], ...]); empty for null."""
    if not raw:
        return ()
    found = []
    for level_price, level_count in raw:
        found.append((
            Price(level_price) if isinstance(level_price, str) else Price.from_cents(int(level_price)),
            Count(level_count) if isinstance(level_count, (str, int)) and not isinstance(level_count, bool) else Count.of_units(0),
        ))
    return tuple(found)
