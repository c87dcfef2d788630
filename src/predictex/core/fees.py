"""Kalshi's fee schedule and its rounding rules (reference §7.6), in exact integers.

Trade fee of one fill of C contracts at price P (dollars):
  taker  roundup(0.07   x multiplier x C x P x (1 - P))
  maker  roundup(0.0175 x multiplier x C x P x (1 - P))   only on series whose fee type has maker fees
  flat   P x (1 - P) replaced by its maximum, 1/4: the quadratic fee's cap at every price (Kalshi does not
         publish `flat`; this is predictex's reading, and it is documented as such)
rounded up to the centicent ($0.0001). A fee waiver on the market makes every fee zero until it ends.

Balance rounding (per fill): the member's balance change `revenue - trade_fee` is floored to the
balance increment ($0.01); the difference is the rounding fee. Each order keeps an accumulator of its
rounding fees, and whenever it reaches $0.01 a whole cent is rebated, so many small fills cost what one
equivalent fill would. `apply_balance_rounding` implements exactly that.
"""

from __future__ import annotations

from typing import Final

from predictex.core.limits import BALANCE_INCREMENT_MICRODOLLARS
from predictex.core.units import MONEY_ONE_CENTICENT_MICRODOLLARS, PRICE_ONE_DOLLAR_CENTICENTS

FEE_QUADRATIC: Final = "quadratic"
FEE_QUADRATIC_WITH_MAKER_FEES: Final = "quadratic_with_maker_fees"
FEE_QUADRATIC_WITH_COMBO_MAKER_FEES: Final = "quadratic_with_combo_maker_fees"
FEE_FLAT: Final = "flat"
FEE_TYPES: Final = (FEE_QUADRATIC, FEE_QUADRATIC_WITH_MAKER_FEES, FEE_QUADRATIC_WITH_COMBO_MAKER_FEES, FEE_FLAT)
FEE_MULTIPLIER_ONE_BPS: Final = 10_000

# Coefficients as exact fractions.
TAKER_COEFFICIENT_NUMERATOR: Final = 7
TAKER_COEFFICIENT_DENOMINATOR: Final = 100  # 0.07
MAKER_COEFFICIENT_NUMERATOR: Final = 7
MAKER_COEFFICIENT_DENOMINATOR: Final = 400  # 0.0175

# fee_centicents = coef x (m / 1e4) x (C / 1e2) x (P / 1e4) x (Q / 1e4) x 1e4, where m is the fee
# multiplier in basis points, C the count in centicontracts and P, Q = 1e4 - P prices in centicents;
# that is coef x m x C x P x Q / 1e10.
_SCALE: Final = 10**10
_HALF: Final = PRICE_ONE_DOLLAR_CENTICENTS // 2


def has_maker_fees(fee_type: str) -> bool:
    return fee_type == FEE_QUADRATIC_WITH_MAKER_FEES or fee_type == FEE_QUADRATIC_WITH_COMBO_MAKER_FEES


def trade_fee_microdollars(
    fee_type: str, fee_multiplier_bps: int, is_taker: bool, count_centicontracts: int, price_centicents: int
) -> int:
    """The trade fee of one fill, rounded up to the centicent, in microdollars (FeeTerms.trade_fee
    without a market's FeeTerms at hand)."""
    return FeeTerms(fee_type, fee_multiplier_bps, 1).trade_fee(is_taker, count_centicontracts, price_centicents)


def _spread(flat: bool, price_centicents: int) -> int:
    """P x (1 - P) in centicents squared, or its maximum for flat fees."""
    if flat:
        return _HALF * _HALF
    return price_centicents * (PRICE_ONE_DOLLAR_CENTICENTS - price_centicents)


def _rounded_fee(factor: int, denominator: int, spread: int) -> int:
    """factor x spread / denominator centicents, rounded up, in microdollars."""
    fee_centicents = -((-(factor * spread)) // denominator)
    return fee_centicents * MONEY_ONE_CENTICENT_MICRODOLLARS


def worst_fee_price_centicents(is_bid: bool, limit_price_centicents: int, is_taker: bool) -> int:
    """The fill price at which an order's fee per contract is largest. A maker always trades at its own
    price; a taker bid trades at or below its limit and a taker ask at or above it, and P x (1 - P)
    grows toward $0.50."""
    if not is_taker:
        return limit_price_centicents
    if is_bid:
        return limit_price_centicents if limit_price_centicents < _HALF else _HALF
    return limit_price_centicents if limit_price_centicents > _HALF else _HALF


class BalanceChange:
    """The outcome of one fill for one side's balance."""

    def __init__(self, cash_delta: int, rounding_fee: int, rebate: int, accumulator: int) -> None:
        self.cash_delta_microdollars = cash_delta
        self.rounding_fee_microdollars = rounding_fee
        self.rebate_microdollars = rebate
        self.accumulator_microdollars = accumulator


def apply_balance_rounding(revenue_microdollars: int, trade_fee_microdollars: int, accumulator_microdollars: int) -> BalanceChange:
    """Kalshi's rounding mechanics for one fill.

    revenue is signed (negative for a buyer). The cash delta is `revenue - fee` floored to the balance
    increment, plus any whole-cent rebate the order's accumulator has earned."""
    change = revenue_microdollars - trade_fee_microdollars
    floored = (change // BALANCE_INCREMENT_MICRODOLLARS) * BALANCE_INCREMENT_MICRODOLLARS
    rounding_fee = change - floored
    accumulator = accumulator_microdollars + rounding_fee
    rebate = 0
    if accumulator >= BALANCE_INCREMENT_MICRODOLLARS:
        rebate = BALANCE_INCREMENT_MICRODOLLARS
        accumulator -= BALANCE_INCREMENT_MICRODOLLARS
    return BalanceChange(floored + rebate, rounding_fee, rebate, accumulator)


def ceil_to_balance_increment(amount_microdollars: int) -> int:
    step = BALANCE_INCREMENT_MICRODOLLARS
    return -((-amount_microdollars) // step) * step


class FeeTerms:
    """A market's fee schedule with its coefficients multiplied out once: a fill's fee, or the worst
    fee of one unit (the smallest tradable count) at a price, is a few integer operations."""

    def __init__(self, fee_type: str, fee_multiplier_bps: int, unit_centicontracts: int) -> None:
        self.fee_type = fee_type
        self.fee_multiplier_bps = fee_multiplier_bps
        self.unit_centicontracts = unit_centicontracts
        self._flat = fee_type == FEE_FLAT
        self._taker_coefficient = TAKER_COEFFICIENT_NUMERATOR * fee_multiplier_bps
        self._taker_denominator = TAKER_COEFFICIENT_DENOMINATOR * _SCALE
        maker = has_maker_fees(fee_type)
        self._maker_coefficient = MAKER_COEFFICIENT_NUMERATOR * fee_multiplier_bps if maker else 0
        self._maker_denominator = MAKER_COEFFICIENT_DENOMINATOR * _SCALE

    def trade_fee(self, is_taker: bool, count_centicontracts: int, price_centicents: int) -> int:
        """The trade fee of one fill, rounded up to the centicent, in microdollars."""
        if is_taker:
            return _rounded_fee(self._taker_coefficient * count_centicontracts, self._taker_denominator,
                                _spread(self._flat, price_centicents))
        if self._maker_coefficient == 0:
            return 0
        return _rounded_fee(self._maker_coefficient * count_centicontracts, self._maker_denominator,
                            _spread(self._flat, price_centicents))

    def fee_per_unit(self, is_taker: bool, fee_price_centicents: int) -> int:
        return self.trade_fee(is_taker, self.unit_centicontracts, fee_price_centicents)
