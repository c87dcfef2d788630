"""Instruments: series -> events -> markets, each market with its lifecycle fields and price grid.

These are plain state holders owned by the engine; only the engine mutates them.
"""

from __future__ import annotations

import enum
from typing import Final

from predictex.core.book import Book
from predictex.core.fees import FeeTerms
from predictex.core.units import PRICE_ONE_DOLLAR_CENTICENTS


# --- market lifecycle status (Kalshi's REST enum, exactly) ----------------------------------------
class MarketStatus(enum.StrEnum):
    """A market's place in its lifecycle (core/lifecycle.py says which may follow which)."""

    INITIALIZED = "initialized"
    ACTIVE = "active"
    INACTIVE = "inactive"  # paused
    CLOSED = "closed"
    DETERMINED = "determined"
    DISPUTED = "disputed"
    AMENDED = "amended"
    FINALIZED = "finalized"


# Each member as a name of its own, as in core/orders.py: compiled code reads a module constant directly.
INITIALIZED: Final = MarketStatus.INITIALIZED
ACTIVE: Final = MarketStatus.ACTIVE
INACTIVE: Final = MarketStatus.INACTIVE
CLOSED: Final = MarketStatus.CLOSED
DETERMINED: Final = MarketStatus.DETERMINED
DISPUTED: Final = MarketStatus.DISPUTED
AMENDED: Final = MarketStatus.AMENDED
FINALIZED: Final = MarketStatus.FINALIZED
MARKET_STATUSES: Final[tuple[MarketStatus, ...]] = tuple(MarketStatus)
MARKET_STATUS_BY_VALUE: Final[dict[str, MarketStatus]] = {member.value: member for member in MarketStatus}

# --- results --------------------------------------------------------------------------------------
RESULT_NONE: Final = ""
RESULT_YES: Final = "yes"
RESULT_NO: Final = "no"
RESULT_SCALAR: Final = "scalar"
RESULT_VOID: Final = "void"  # refunded at cost
RESULTS: Final = (RESULT_YES, RESULT_NO, RESULT_SCALAR, RESULT_VOID)

MARKET_TYPES: Final = ("binary", "scalar")

# --- price grids: Kalshi's `price_level_structure` names and their `price_ranges` ------------------
# Each band is (start, end, step) in centicents; a price is on the grid when it lies in a band and is
# a whole number of steps from the band's start. Tradable prices are strictly between $0 and $1.
PRICE_LEVEL_STRUCTURES: Final[dict[str, tuple[tuple[int, int, int], ...]]] = {
    "linear_cent": ((0, 10_000, 100),),
    "deci_cent": ((0, 10_000, 10),),
    "tapered_deci_cent": ((0, 1_000, 10), (1_000, 9_000, 100), (9_000, 10_000, 10)),
    "center_whole_edge_half_cent": ((0, 1_000, 50), (1_000, 9_000, 100), (9_000, 10_000, 50)),
    "center_whole_edge_quint_cent": ((0, 1_000, 20), (1_000, 9_000, 100), (9_000, 10_000, 20)),
    "center_half_edge_half_cent": ((0, 10_000, 50),),
    "center_half_edge_quint_cent": ((0, 1_000, 20), (1_000, 9_000, 50), (9_000, 10_000, 20)),
    "center_half_edge_deci_cent": ((0, 1_000, 10), (1_000, 9_000, 50), (9_000, 10_000, 10)),
    "center_quint_edge_quint_cent": ((0, 10_000, 20),),
    "center_quint_edge_deci_cent": ((0, 1_000, 10), (1_000, 9_000, 20), (9_000, 10_000, 10)),
    "center_centi_edge_centi_cent": ((0, 10_000, 1),),
    "center_deci_edge_centi_cent": ((0, 100, 1), (100, 9_900, 10), (9_900, 10_000, 1)),
}


def is_on_grid(bands: tuple[tuple[int, int, int], ...], price_centicents: int) -> bool:
    if price_centicents <= 0 or price_centicents >= PRICE_ONE_DOLLAR_CENTICENTS:
        return False
    for start, end, step in bands:
        if start <= price_centicents <= end and (price_centicents - start) % step == 0:
            return True
    return False


def price_table(bands: tuple[tuple[int, int, int], ...]) -> bytes:
    """A lookup table: entry p is 1 when p centicents is a tradable price on the grid."""
    table = bytearray(PRICE_ONE_DOLLAR_CENTICENTS + 1)
    for price in grid_ticks(bands):
        table[price] = 1
    return bytes(table)


def is_price_valid(table: bytes, price_centicents: int) -> bool:
    return 0 < price_centicents < PRICE_ONE_DOLLAR_CENTICENTS and table[price_centicents] == 1


def grid_ticks(bands: tuple[tuple[int, int, int], ...]) -> list[int]:
    """Every tradable price of a grid, ascending."""
    prices: set[int] = set()
    for start, end, step in bands:
        prices.update(range(start, end + 1, step))
    return sorted(p for p in prices if 0 < p < PRICE_ONE_DOLLAR_CENTICENTS)


class Series:
    def __init__(
        self,
        ticker: str,
        title: str,
        category: str,
        frequency: str,
        fee_type: str,
        fee_multiplier_bps: int,
        tags: tuple[str, ...],
        settlement_sources: tuple[tuple[str, str], ...],
        contract_url: str,
        contract_terms_url: str,
        created_ms: int,
    ) -> None:
        self.ticker = ticker
        self.title = title
        self.category = category
        self.frequency = frequency
        self.fee_type = fee_type
        self.fee_multiplier_bps = fee_multiplier_bps
        self.tags = tags
        self.settlement_sources = settlement_sources
        self.contract_url = contract_url
        self.contract_terms_url = contract_terms_url
        self.created_ms = created_ms
        self.updated_ms = created_ms


class Event:
    def __init__(
        self,
        event_ticker: str,
        series_ticker: str,
        title: str,
        sub_title: str,
        mutually_exclusive: bool,
        strike_date_ms: int,
        strike_period: str,
        created_ms: int,
    ) -> None:
        self.event_ticker = event_ticker
        self.series_ticker = series_ticker
        self.title = title
        self.sub_title = sub_title
        self.mutually_exclusive = mutually_exclusive
        self.strike_date_ms = strike_date_ms  # 0 = none
        self.strike_period = strike_period
        self.created_ms = created_ms
        self.updated_ms = created_ms
        self.market_tickers: list[str] = []
        # the event's fee override ("" / -1: none, the series' applies), set by fee changes
        self.fee_type_override = ""
        self.fee_multiplier_override_bps = -1


class Market:
    """A binary (or scalar) contract and its lifecycle. Prices are YES prices in centicents."""

    def __init__(
        self,
        ticker: str,
        market_number: int,
        event_ticker: str,
        series_ticker: str,
        market_type: str,
        title: str,
        subtitle: str,
        yes_sub_title: str,
        no_sub_title: str,
        rules_primary: str,
        rules_secondary: str,
        open_time_ms: int,
        close_time_ms: int,
        expected_expiration_ms: int,
        settlement_timer_s: int,
        price_level_structure: str,
        fractional_trading: bool,
        can_close_early: bool,
        strike_type: str,
        floor_strike: str,
        cap_strike: str,
        fee_waiver_expiration_ms: int,
        fee_type: str,
        fee_multiplier_bps: int,
        created_ms: int,
    ) -> None:
        self.ticker = ticker
        self.market_number = market_number  # dense id from creation order; the wire's market_id
        self.event_ticker = event_ticker
        self.series_ticker = series_ticker
        self.market_type = market_type
        self.title = title
        self.subtitle = subtitle
        self.yes_sub_title = yes_sub_title
        self.no_sub_title = no_sub_title
        self.rules_primary = rules_primary
        self.rules_secondary = rules_secondary
        self.open_time_ms = open_time_ms
        self.close_time_ms = close_time_ms
        self.expected_expiration_ms = expected_expiration_ms  # 0 = none
        self.settlement_timer_s = settlement_timer_s
        self.price_level_structure = price_level_structure
        self.price_bands = PRICE_LEVEL_STRUCTURES[price_level_structure]
        self.price_table = price_table(self.price_bands)
        self.fractional_trading = fractional_trading
        self.can_close_early = can_close_early
        self.strike_type = strike_type
        self.floor_strike = floor_strike  # decimal strings, "" = none: strikes are labels, not money
        self.cap_strike = cap_strike
        self.fee_waiver_expiration_ms = fee_waiver_expiration_ms  # 0 = none
        self.fee_type = fee_type  # from the series when the market was created
        self.fee_multiplier_bps = fee_multiplier_bps
        self.fee_terms = FeeTerms(fee_type, fee_multiplier_bps, 1 if fractional_trading else 100)
        self.book = Book(ticker)
        self.created_ms = created_ms
        self.updated_ms = created_ms
        # lifecycle
        self.status: MarketStatus = INITIALIZED
        self.result = RESULT_NONE
        self.settlement_value_centicents = -1  # YES payout once determined; -1 = not determined
        self.settlement_source = ""
        self.determined_ms = 0
        self.settle_at_ms = 0  # when the settlement timer runs out (0 = no timer running)
        self.settled_ms = 0
        self.closed_ms = 0
        # statistics kept by the engine (the read model derives the rest)
        self.last_price_centicents = 0
        self.volume_centicontracts = 0
        self.open_interest_centicontracts = 0
        self.trade_count = 0

    @property
    def unit_centicontracts(self) -> int:
        """The smallest count that can trade: 0.01 contract where fractions are enabled, else 1."""
        return 1 if self.fractional_trading else 100
