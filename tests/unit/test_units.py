"""Units at the edges: exact parsing and formatting, and refusal of anything inexact."""

from __future__ import annotations

import pytest

from predictex.core.units import (
    UnitError,
    average_per_contract_microdollars,
    average_price_centicents,
    count_to_contracts,
    format_count_fix,
    format_count_fp,
    format_money_dollars,
    format_money_fix,
    format_price_dollars,
    format_price_fix_cents,
    format_price_fix_dollars,
    money_to_centicents,
    money_to_cents,
    notional_microdollars,
    parse_count_fp,
    parse_money_dollars,
    parse_price_dollars,
    parse_price_fix_cents,
    price_complement,
    price_from_seed_units,
    price_to_cents,
    price_to_seed_units,
)


@pytest.mark.parametrize(("text", "centicents"), [("0.56", 5600), ("0.5600", 5600), (".5", 5000), ("1", 10_000), ("0.0001", 1), ("0.055", 550)])
def test_prices_parse_exactly(text: str, centicents: int) -> None:
    assert parse_price_dollars(text) == centicents


@pytest.mark.parametrize("text", ["0.56001", "-0.5", "+0.5", "1e-2", "0,5", "", ".", "abc", "0.5 5", "\u0660.\u0665", "NaN"])
def test_inexact_or_malformed_prices_are_refused(text: str) -> None:
    with pytest.raises(UnitError):
        parse_price_dollars(text)


def test_floats_are_refused_at_the_edge() -> None:
    # the pure build says so itself; the compiled build refuses the type at the call
    with pytest.raises((UnitError, TypeError)):
        parse_price_dollars(0.56)  # type: ignore[arg-type]


def test_formatting_is_kalshi_shaped() -> None:
    assert format_price_dollars(5600) == "0.5600"
    assert format_count_fp(1000) == "10.00"
    assert format_count_fp(-5400) == "-54.00"
    assert format_money_dollars(5_180_000) == "5.1800"
    assert format_money_dollars(1) == "0.000001"
    assert format_money_dollars(-637_000) == "-0.6370"


def test_counts_and_money() -> None:
    assert parse_count_fp("10.00") == 1000
    assert parse_count_fp("0.01") == 1
    with pytest.raises(UnitError):
        parse_count_fp("0.001")
    assert parse_money_dollars("12.5") == 12_500_000
    assert notional_microdollars(6500, 100) == 650_000  # one contract at $0.65


def test_legacy_integer_views_truncate_toward_zero_or_floor() -> None:
    assert price_to_cents(5550) == 55
    assert count_to_contracts(150) == 1
    assert count_to_contracts(-150) == -1
    assert money_to_cents(-1) == -1


def test_the_no_price_is_the_complement_of_the_yes_price() -> None:
    assert price_complement(5600) == 4400
    assert price_complement(price_complement(1)) == 1
    assert price_complement(0) == 10_000


def test_the_seeds_price_units_are_centicents() -> None:
    """The seed writes 6500 for $0.65: the engine's own unit, both ways."""
    assert price_from_seed_units(6500) == parse_price_dollars("0.65")
    assert price_to_seed_units(parse_price_dollars("0.0001")) == 1


def test_fix_decimals() -> None:
    assert parse_price_fix_cents("56") == 5600
    assert parse_price_fix_cents("56.5") == 5650
    assert parse_price_fix_cents("0.01") == 1
    with pytest.raises(UnitError):
        parse_price_fix_cents("56.501")
    assert (format_price_fix_cents(5600), format_price_fix_cents(5650), format_price_fix_cents(5601)) == (b"56", b"56.5", b"56.01")
    assert format_price_fix_dollars(5600) == b"0.5600"
    assert (format_count_fix(1050), format_count_fix(-5)) == (b"10.50", b"-0.05")
    assert (format_money_fix(1_234_500), format_money_fix(1_234_567), format_money_fix(-100)) == (b"1.2345", b"1.234567", b"-0.0001")


def test_legacy_websocket_money_is_in_centicents() -> None:
    assert money_to_centicents(1_234_567) == 12_345
    assert money_to_centicents(-1) == -1  # floored, as the cent fields are


def test_averages_per_contract() -> None:
    # 3 contracts filled for $1.68 in all: $0.56 each
    assert average_per_contract_microdollars(1_680_000, 300) == 560_000
    # a cost of $1.68 for 3 contracts is a price of $0.56: 5600 centicents
    assert average_price_centicents(1_680_000, 300) == 5600
