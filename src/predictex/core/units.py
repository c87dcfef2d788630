"""Exact units for prices, contract counts and money, and the conversions at the edges.

Everything inside predictex is an integer in one of three units:

- prices in **centicents** ($0.0001): Kalshi's 4-decimal dollar strings and every deci-cent and
  centi-cent tick grid are exact; $1.00 is 10_000.
- contract counts in **centicontracts** (0.01 contract): Kalshi's 2-decimal `*_fp` count strings are
  exact; one contract is 100.
- money in **microdollars** ($0.000001): price x count is exact, because 1e-4 $ x 1e-2 = 1e-6 $;
  $1.00 is 1_000_000.

Dollar strings, integer cents and count strings exist only at the edges; this module converts
between them and refuses anything that would lose precision. No floats, anywhere.
"""

from __future__ import annotations

from typing import Final

PRICE_ONE_DOLLAR_CENTICENTS: Final = 10_000
PRICE_ONE_CENT_CENTICENTS: Final = 100
COUNT_ONE_CONTRACT_CENTICONTRACTS: Final = 100
MONEY_ONE_DOLLAR_MICRODOLLARS: Final = 1_000_000
MONEY_ONE_CENT_MICRODOLLARS: Final = 10_000
MONEY_ONE_CENTICENT_MICRODOLLARS: Final = 100
# One contract pays $1.00, so one centicontract pays $0.01.
PAYOUT_PER_CENTICONTRACT_MICRODOLLARS: Final = 10_000


class UnitError(ValueError):
    """A value at the edge that cannot be represented exactly (too many decimals, not a number)."""


def notional_microdollars(price_centicents: int, count_centicontracts: int) -> int:
    """The exact value of `count` contracts at `price`."""
    return price_centicents * count_centicontracts


def _parse_fixed(text: str, decimals: int, what: str) -> int:
    """Parse a non-negative decimal string with at most `decimals` places into an integer scaled by
    10**decimals. Accepts "0.56", "0.5600", "12", ".5"; refuses signs, exponents, extra places,
    spaces and digits of other scripts."""
    if not isinstance(text, str):
        raise UnitError(f"{what} must be a string, got {type(text).__name__}")
    body = text
    if not body or len(body) > 32:
        raise UnitError(f"{what} {text!r} is not a decimal number")
    whole, dot, frac = body.partition(".")
    if dot and not frac and not whole:
        raise UnitError(f"{what} {text!r} is not a decimal number")
    if (whole and not whole.isdigit()) or (frac and not frac.isdigit()) or not (whole or frac):
        raise UnitError(f"{what} {text!r} is not a decimal number")
    if not whole.isascii() or not frac.isascii():
        raise UnitError(f"{what} {text!r} is not a decimal number")
    significant = frac.rstrip("0")
    if len(significant) > decimals:
        raise UnitError(f"{what} {text!r} has more than {decimals} decimal places")
    scaled_frac = int(significant.ljust(decimals, "0")) if decimals else 0
    scale: int = 10**decimals
    return int(whole or "0") * scale + scaled_frac


def _format_fixed(value: int, decimals: int) -> str:
    sign = "-" if value < 0 else ""
    magnitude = -value if value < 0 else value
    if decimals == 2:
        return f"{sign}{magnitude // 100}.{magnitude % 100:02d}"
    if decimals == 4:
        return f"{sign}{magnitude // 10_000}.{magnitude % 10_000:04d}"
    if decimals == 6:
        return f"{sign}{magnitude // 1_000_000}.{magnitude % 1_000_000:06d}"
    if decimals == 0:
        return f"{sign}{magnitude}"
    scale = 10**decimals
    return f"{sign}{magnitude // scale}.{magnitude % scale:0{decimals}d}"


# Every price from $0 to $1 as its dollar string, formatted once: order books and orders are full of them.
_PRICE_TEXT: Final = [_format_fixed(price, 4) for price in range(10_001)]


def parse_price_dollars(text: str) -> int:
    """"0.5600" -> 5600 centicents."""
    return _parse_fixed(text, 4, "price")


def format_price_dollars(price_centicents: int) -> str:
    """5600 -> "0.5600" (Kalshi's 4-decimal dollar string)."""
    if 0 <= price_centicents <= 10_000:
        return _PRICE_TEXT[price_centicents]
    return _format_fixed(price_centicents, 4)


def price_from_cents(cents: int) -> int:
    return cents * PRICE_ONE_CENT_CENTICENTS


def price_to_cents(price_centicents: int) -> int:
    """Whole cents for legacy integer fields; sub-penny prices are truncated toward zero, as the
    legacy integer fields cannot carry them (the `*_dollars` twin is exact)."""
    return price_centicents // PRICE_ONE_CENT_CENTICENTS


def parse_count_fp(text: str) -> int:
    """"10.00" -> 1000 centicontracts."""
    return _parse_fixed(text, 2, "count")


def format_count_fp(count_centicontracts: int) -> str:
    """1000 -> "10.00"; signed counts (positions, deltas) keep their sign."""
    return _format_fixed(count_centicontracts, 2)


def count_from_contracts(contracts: int) -> int:
    return contracts * COUNT_ONE_CONTRACT_CENTICONTRACTS


def count_to_contracts(count_centicontracts: int) -> int:
    """Whole contracts for legacy integer fields (fractions truncated toward zero)."""
    if count_centicontracts < 0:
        return -(-count_centicontracts // COUNT_ONE_CONTRACT_CENTICONTRACTS)
    return count_centicontracts // COUNT_ONE_CONTRACT_CENTICONTRACTS


def parse_money_dollars(text: str) -> int:
    """"12.50" -> 12_500_000 microdollars (up to 6 decimals)."""
    return _parse_fixed(text, 6, "amount")


def format_money_dollars(amount_microdollars: int, decimals: int = 4) -> str:
    """Money as a dollar string. With 4 decimals (Kalshi's usual) the value must be a whole number of
    centicents; use 6 decimals for exact sub-centicent amounts."""
    if decimals == 6:
        return _format_fixed(amount_microdollars, 6)
    if decimals != 4:
        raise UnitError("money is formatted with 4 or 6 decimals")
    if amount_microdollars % MONEY_ONE_CENTICENT_MICRODOLLARS:
        return _format_fixed(amount_microdollars, 6)
    return _format_fixed(amount_microdollars // MONEY_ONE_CENTICENT_MICRODOLLARS, 4)


def money_from_cents(cents: int) -> int:
    return cents * MONEY_ONE_CENT_MICRODOLLARS


def money_to_cents(amount_microdollars: int) -> int:
    """Whole cents for legacy integer money fields, rounded toward negative infinity."""
    return amount_microdollars // MONEY_ONE_CENT_MICRODOLLARS


def floor_to(value: int, step: int) -> int:
    """Largest multiple of `step` that is <= value (toward negative infinity)."""
    return (value // step) * step


def ceil_div(numerator: int, denominator: int) -> int:
    return -((-numerator) // denominator)
