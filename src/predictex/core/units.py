"""Exact units for prices, contract counts and money, and the conversions at the edges.

Everything inside predictex is an integer in one of three units:

- prices in **centicents** ($0.0001): Kalshi's 4-decimal dollar strings and every deci-cent and
  centi-cent tick grid are exact; $1.00 is 10_000.
- contract counts in **centicontracts** (0.01 contract): Kalshi's 2-decimal `*_fp` count strings are
  exact; one contract is 100.
- money in **microdollars** ($0.000001): price x count is exact, because 1e-4 $ x 1e-2 = 1e-6 $;
  $1.00 is 1_000_000.

Wire formats exist only at the edges, and this module is the one place that converts between them
and the engine's units, for every gateway: Kalshi's 4-decimal dollar strings (`*_dollars`) and
2-decimal count strings (`*_fp`), Kalshi's legacy integers (cents, whole contracts, and money in
cents or, on the WebSocket, in centicents), the seed's prices in units of $0.0001, and FIX's decimal
prices (cents or dollars), quantities and amounts. Parsing refuses anything that would lose
precision. No floats, anywhere.
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


def price_complement(price_centicents: int) -> int:
    """$1 - price: the NO price of a YES price and back (a YES bid at p is a NO ask at $1 - p)."""
    return PRICE_ONE_DOLLAR_CENTICENTS - price_centicents


def average_per_contract_microdollars(amount_microdollars: int, count_centicontracts: int) -> int:
    """An amount spread over a count, per whole contract (floored): Kalshi's `average_fill_price`."""
    return amount_microdollars * COUNT_ONE_CONTRACT_CENTICONTRACTS // count_centicontracts


def average_price_centicents(amount_microdollars: int, count_centicontracts: int) -> int:
    """The price per contract that an amount paid for a count works out to (floored). Microdollars per
    centicontract are centicents per contract ($1e-6 / 1e-2 = $1e-4), so this is a plain division."""
    return amount_microdollars // count_centicontracts


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
_PRICE_TEXT: Final = [_format_fixed(price, 4) for price in range(PRICE_ONE_DOLLAR_CENTICENTS + 1)]


def parse_price_dollars(text: str) -> int:
    """"0.5600" -> 5600 centicents."""
    return _parse_fixed(text, 4, "price")


def format_price_dollars(price_centicents: int) -> str:
    """5600 -> "0.5600" (Kalshi's 4-decimal dollar string)."""
    if 0 <= price_centicents <= PRICE_ONE_DOLLAR_CENTICENTS:
        return _PRICE_TEXT[price_centicents]
    return _format_fixed(price_centicents, 4)


def price_from_cents(cents: int) -> int:
    return cents * PRICE_ONE_CENT_CENTICENTS


def price_to_float_dollars(price_centicents: int) -> float:
    """The deprecated float `price` of Kalshi's era-A fills, for clients that still read it; never
    parsed back, never used in arithmetic."""
    return price_centicents / PRICE_ONE_DOLLAR_CENTICENTS


def price_from_seed_units(units: int) -> int:
    """The seed's integer prices are in units of $0.0001 (6500 = $0.65): centicents already."""
    return units


def price_to_seed_units(price_centicents: int) -> int:
    """A price as the seed's integer fields show it (units of $0.0001: the engine's own)."""
    return price_centicents


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


def money_from_centicents(centicents: int) -> int:
    """An amount given in whole centicents (Kalshi's legacy `target_cost_centi_cents`)."""
    return centicents * MONEY_ONE_CENTICENT_MICRODOLLARS


def money_to_centicents(amount_microdollars: int) -> int:
    """Whole centicents for the legacy integer money fields of Kalshi's WebSocket (`position_cost`,
    `realized_pnl`, ...), rounded toward negative infinity."""
    return amount_microdollars // MONEY_ONE_CENTICENT_MICRODOLLARS


# --- FIX decimals (bytes, as the FIX codec writes them) -------------------------------------------

def parse_price_fix_cents(text: str) -> int:
    """FIX's default price: cents with up to 2 decimals ("56", "56.5") -> centicents."""
    return _parse_fixed(text, 2, "price")


def format_price_fix_cents(price_centicents: int) -> bytes:
    """5600 -> b"56", 5650 -> b"56.5": cents, with the decimals a sub-penny price needs."""
    whole, fraction = divmod(price_centicents, PRICE_ONE_CENT_CENTICENTS)
    if not fraction:
        return b"%d" % whole
    return (b"%d.%02d" % (whole, fraction)).rstrip(b"0")


def format_price_fix_dollars(price_centicents: int) -> bytes:
    """5600 -> b"0.5600" (FIX prices with UseDollars, and market data)."""
    whole, fraction = divmod(price_centicents, PRICE_ONE_DOLLAR_CENTICENTS)
    return b"%d.%04d" % (whole, fraction)


def format_count_fix(count_centicontracts: int) -> bytes:
    """1000 -> b"10.00"; signed counts keep their sign."""
    sign = b"-" if count_centicontracts < 0 else b""
    whole, fraction = divmod(abs(count_centicontracts), COUNT_ONE_CONTRACT_CENTICONTRACTS)
    return sign + b"%d.%02d" % (whole, fraction)


def format_money_fix(amount_microdollars: int) -> bytes:
    """Dollars with 4 decimals, or 6 when the amount has a fraction of a centicent."""
    sign = b"-" if amount_microdollars < 0 else b""
    whole, fraction = divmod(abs(amount_microdollars), MONEY_ONE_DOLLAR_MICRODOLLARS)
    text = b"%06d" % fraction
    return sign + b"%d.%s" % (whole, text[:4] if text.endswith(b"00") else text)


def floor_to(value: int, step: int) -> int:
    """Largest multiple of `step` that is <= value (toward negative infinity)."""
    return (value // step) * step


def ceil_div(numerator: int, denominator: int) -> int:
    return -((-numerator) // denominator)
