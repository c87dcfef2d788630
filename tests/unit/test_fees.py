"""Fees (reference §7.6): the quadratic schedule, maker fees, multipliers, waivers, and the
balance-rounding rules with the per-order accumulator."""

from __future__ import annotations

import math
from fractions import Fraction

from harness import Harness, of_type, usd
from predictex.core.events import Trade
from predictex.core.fees import (
    FEE_FLAT,
    FEE_QUADRATIC,
    FEE_QUADRATIC_WITH_COMBO_MAKER_FEES,
    FEE_QUADRATIC_WITH_MAKER_FEES,
    FEE_TYPES,
    FeeTerms,
    apply_balance_rounding,
    trade_fee_microdollars,
)


def test_taker_fee_reference_example() -> None:
    # 10 contracts at $0.50: 0.07 x 10 x 0.5 x 0.5 = $0.175
    assert trade_fee_microdollars(FEE_QUADRATIC, 10_000, True, 1000, 5000) == usd("0.175")


def test_trade_fee_rounds_up_to_the_centicent() -> None:
    # 1 contract at $0.33: 0.07 x 0.33 x 0.67 = 0.015477 -> 0.0155
    assert trade_fee_microdollars(FEE_QUADRATIC, 10_000, True, 100, 3300) == usd("0.0155")


def test_maker_fee_only_on_series_with_maker_fees() -> None:
    assert trade_fee_microdollars(FEE_QUADRATIC, 10_000, False, 1000, 5000) == 0
    # 0.0175 x 10 x 0.25 = 0.04375 -> 0.0438
    assert trade_fee_microdollars(FEE_QUADRATIC_WITH_MAKER_FEES, 10_000, False, 1000, 5000) == usd("0.0438")


def test_multiplier_scales_the_coefficient() -> None:
    assert trade_fee_microdollars(FEE_QUADRATIC, 5_000, True, 1000, 5000) == usd("0.0875")


def test_flat_fee_is_the_quadratic_cap_at_every_price() -> None:
    at_half = trade_fee_microdollars(FEE_QUADRATIC, 10_000, True, 1000, 5000)
    assert trade_fee_microdollars(FEE_FLAT, 10_000, True, 1000, 1000) == at_half


def _exact_fee_microdollars(fee_type: str, multiplier_bps: int, is_taker: bool, count: int, price: int) -> int:
    """The schedule as the reference states it, in exact fractions of dollars: coefficient x multiplier x
    C x P x (1 - P) (P x (1 - P) capped at 1/4 everywhere for flat fees), rounded up to $0.0001."""
    if is_taker:
        coefficient = Fraction(7, 100)
    elif fee_type in (FEE_QUADRATIC_WITH_MAKER_FEES, FEE_QUADRATIC_WITH_COMBO_MAKER_FEES):
        coefficient = Fraction(7, 400)
    else:
        return 0
    p = Fraction(price, 10_000)
    spread = Fraction(1, 4) if fee_type == FEE_FLAT else p * (1 - p)
    dollars = coefficient * Fraction(multiplier_bps, 10_000) * Fraction(count, 100) * spread
    return math.ceil(dollars * 10_000) * 100


def test_fee_terms_match_the_exact_schedule_at_every_price() -> None:
    # the engine computes fees from FeeTerms' pre-multiplied integer coefficients: against exact fractions
    for fee_type in FEE_TYPES:
        for multiplier_bps in (0, 1, 2_500, 10_000, 33_333):
            for unit in (1, 100):
                terms = FeeTerms(fee_type, multiplier_bps, unit)
                for price in range(1, 10_000, 7):
                    for is_taker in (True, False):
                        case = (fee_type, multiplier_bps, unit, price, is_taker)
                        expected = _exact_fee_microdollars(fee_type, multiplier_bps, is_taker, unit, price)
                        assert terms.fee_per_unit(is_taker, price) == expected, case
                        for count in (3, 12_345, 10**15):
                            expected = _exact_fee_microdollars(fee_type, multiplier_bps, is_taker, count, price)
                            assert terms.trade_fee(is_taker, count, price) == expected, (*case, count)


def test_balance_rounding_reference_example() -> None:
    # buy 1 @ $0.055 with a trade fee of $0.0085: -$0.0635 -> -$0.07, rounding fee $0.0065
    change = apply_balance_rounding(-usd("0.055"), usd("0.0085"), 0)
    assert change.cash_delta_microdollars == -usd("0.07")
    assert change.rounding_fee_microdollars == usd("0.0065")
    assert change.rebate_microdollars == 0
    assert change.accumulator_microdollars == usd("0.0065")


def test_accumulator_rebates_a_whole_cent() -> None:
    first = apply_balance_rounding(-usd("0.055"), 0, 0)
    assert first.cash_delta_microdollars == -usd("0.06")
    second = apply_balance_rounding(-usd("0.055"), 0, first.accumulator_microdollars)
    # two fills of $0.055 cost what one fill of $0.11 would: 6 + 6 - 1 (rebate) = 11 cents
    assert second.rebate_microdollars == usd("0.01")
    assert first.cash_delta_microdollars + second.cash_delta_microdollars == -usd("0.11")
    assert second.accumulator_microdollars == 0


def test_ten_at_fifty_cents_costs_five_eighteen(exchange: Harness) -> None:
    ticker = exchange.market()
    maker = exchange.account()
    taker = exchange.account("5.18")
    exchange.placed(maker, ticker, "ask", "0.50", 10)
    outcome = exchange.order(taker, ticker, "bid", "0.50", 10)
    trade = of_type(outcome, Trade)[0]
    assert trade.taker_fee_microdollars == usd("0.175")
    assert trade.taker_rounding_microdollars == usd("0.005")
    assert exchange.cash(taker) == 0
    assert exchange.engine.ledger.accounts[taker].fees_paid_microdollars == usd("0.18")
    assert exchange.revenue() == usd("0.18")


def test_maker_pays_maker_fee_on_maker_fee_series(exchange: Harness) -> None:
    ticker = exchange.market(fee_type=FEE_QUADRATIC_WITH_MAKER_FEES)
    maker, taker = exchange.account(), exchange.account()
    exchange.placed(maker, ticker, "ask", "0.50", 10)
    trade = of_type(exchange.order(taker, ticker, "bid", "0.50", 10), Trade)[0]
    assert trade.maker_fee_microdollars == usd("0.0438")
    assert trade.taker_fee_microdollars == usd("0.175")


def test_fee_waiver_makes_fills_free_until_it_ends(exchange: Harness) -> None:
    ticker = exchange.market(waiver_ms=exchange.now_ms + 60_000)
    maker, taker = exchange.account(), exchange.account()
    exchange.placed(maker, ticker, "ask", "0.50", 20)
    trade = of_type(exchange.order(taker, ticker, "bid", "0.50", 10), Trade)[0]
    assert trade.taker_fee_microdollars == 0
    exchange.advance(60_000)
    trade = of_type(exchange.order(taker, ticker, "bid", "0.50", 10), Trade)[0]
    assert trade.taker_fee_microdollars == usd("0.175")
