"""Demo data, created on a demo exchange's first start: example series, events and markets (the
seed's INXCHI-25JAN31-T69.5 among them) and a liquidity provider resting orders in them, so a new
user can trade at once."""

from __future__ import annotations

import logging

from predictex.core import commands as c
from predictex.core.units import MONEY_ONE_DOLLAR_MICRODOLLARS, PRICE_ONE_CENT_CENTICENTS, count_from_contracts
from predictex.server.context import Exchange

log = logging.getLogger("predictex.demo")

YEAR_MS = 365 * 24 * 3600 * 1000
LIQUIDITY_DEPOSIT_MICRODOLLARS = 1_000_000 * MONEY_ONE_DOLLAR_MICRODOLLARS  # $1 million of play money
LEVELS = 5  # resting levels per side
LEVEL_CONTRACTS = 100  # contracts resting at each level

SERIES = (
    c.CreateSeries("INXCHI", "Chicago Fed National Activity Index", "Economics", "monthly",
                   settlement_sources=[["Federal Reserve Bank of Chicago", "https://www.chicagofed.org/research/data/cfnai/current-data"]]),
    c.CreateSeries("KXCPI", "CPI year over year", "Economics", "monthly",
                   settlement_sources=[["Bureau of Labor Statistics", "https://www.bls.gov/cpi/"]]),
    c.CreateSeries("KXHIGHNY", "Highest temperature in New York City", "Climate and Weather", "daily",
                   fee_type="quadratic_with_maker_fees",
                   settlement_sources=[["National Weather Service", "https://www.weather.gov/okx/"]]),
)
EVENTS = (
    c.CreateEvent("INXCHI-25JAN31", "INXCHI", "Chicago Fed index for January", "On Jan 31"),
    c.CreateEvent("KXCPI-27JAN", "KXCPI", "CPI in January", "Year-over-year CPI"),
    c.CreateEvent("KXHIGHNY-27JUL04", "KXHIGHNY", "Highest temperature in NYC on July 4", "Central Park"),
)
# (ticker, event, title, structure, fractional, center price in centicents)
MARKETS = (
    ("INXCHI-25JAN31-T69.5", "INXCHI-25JAN31", "Above 69.5?", "linear_cent", False, 5000, "69.5"),
    ("INXCHI-25JAN31-T70.5", "INXCHI-25JAN31", "Above 70.5?", "linear_cent", False, 3500, "70.5"),
    ("KXCPI-27JAN-T3.5", "KXCPI-27JAN", "Will CPI exceed 3.5% in January?", "linear_cent", False, 4000, "3.5"),
    ("KXCPI-27JAN-T3.0", "KXCPI-27JAN", "Will CPI exceed 3.0% in January?", "linear_cent", False, 6500, "3.0"),
    ("KXHIGHNY-27JUL04-T90", "KXHIGHNY-27JUL04", "Above 90°F?", "tapered_deci_cent", True, 4500, "90"),
)


async def _apply(exchange: Exchange, command: c.Command) -> int:
    committed = await exchange.sequencer.submit(command)
    if committed.outcome.reject is not None:
        raise RuntimeError(f"demo setup refused {command.TYPE}: {committed.outcome.reject}")
    return committed.outcome.value


async def create_demo_markets(exchange: Exchange) -> None:
    now = exchange.clock.now_ms()
    for command in (*SERIES, *EVENTS):
        await _apply(exchange, command)
    for ticker, event, title, structure, fractional, _center, strike in MARKETS:
        await _apply(exchange, c.CreateMarket(
            ticker, event, title, now, now + YEAR_MS, yes_sub_title=title, no_sub_title=f"Not: {title}",
            rules_primary=f"If the reported value is above {strike}, the market resolves to Yes.",
            price_level_structure=structure, fractional_trading=fractional, settlement_timer_s=600,
            strike_type="greater", floor_strike=strike, can_close_early=True,
        ))
    provider = await _apply(exchange, c.OpenAccount())
    await _apply(exchange, c.Deposit(provider, LIQUIDITY_DEPOSIT_MICRODOLLARS, "demo liquidity"))
    for ticker, _event, _title, _structure, _fractional, center, _strike in MARKETS:
        for step in range(1, LEVELS + 1):
            offset = PRICE_ONE_CENT_CENTICENTS * step
            await _apply(exchange, c.CreateOrder(provider, ticker, True, center - offset, count_from_contracts(LEVEL_CONTRACTS)))
            await _apply(exchange, c.CreateOrder(provider, ticker, False, center + offset, count_from_contracts(LEVEL_CONTRACTS)))
    log.info("created %d demo markets with resting liquidity", len(MARKETS))
