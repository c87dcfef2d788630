"""Domain values as the JSON answers write them: the units module's conversions (core/units.py) under
the short names the shapes use, money strings remembered by amount, and times (RFC 3339, seconds)."""

from __future__ import annotations

import datetime as dt

from predictex.core.limits import MONEY_TEXTS_CACHED_MAX
from predictex.core.units import count_to_contracts as contracts
from predictex.core.units import format_count_fp as count_fp
from predictex.core.units import format_money_dollars
from predictex.core.units import format_price_dollars as dollars
from predictex.core.units import money_to_cents as money_cents
from predictex.core.units import price_to_cents as cents

__all__ = ["cents", "contracts", "count_fp", "dollars", "money", "money_cents", "optional_rfc3339", "rfc3339", "seconds"]


def money(amount_microdollars: int) -> str:
    """Kalshi's dollar string of an amount (4 decimals, 6 when it has a fraction of a centicent)."""
    text = _MONEY_TEXT.get(amount_microdollars)
    if text is None:
        text = format_money_dollars(amount_microdollars)
        if len(_MONEY_TEXT) >= MONEY_TEXTS_CACHED_MAX:
            _MONEY_TEXT.clear()
        _MONEY_TEXT[amount_microdollars] = text
    return text


# Money strings remembered by amount (at most MONEY_TEXTS_CACHED_MAX): balances are read far more often
# than they change, and formatting one (core.units) costs about a microsecond.
_MONEY_TEXT: dict[int, str] = {}


def rfc3339(ms: int) -> str:
    moment = dt.datetime.fromtimestamp(ms // 1000, tz=dt.UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = ms % 1000
    return f"{text}.{fraction:03d}Z" if fraction else f"{text}Z"


def optional_rfc3339(ms: int) -> str | None:
    return rfc3339(ms) if ms > 0 else None


def seconds(ms: int) -> int:
    return ms // 1000
