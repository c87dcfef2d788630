"""Demo data, created on a demo exchange's first start: example series, events and markets (the
seed's INXCHI-25JAN31-T69.5 among them) and a liquidity provider resting orders in them, so a new
user can trade at once."""

from __future__ import annotations

import logging

from predictex.core import commands as c
from predictex.core.units import MONEY_ONE_DOLLAR_MICRODOLLARS, PRICE_ONE_CENT_CENTICENTS, count_from_contracts
from predictex.server import sources
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


def wanted(exchange: Exchange) -> bool:
    """Whether to make the demo data: a demo exchange with no market and none of the demo series (an
    operator's own series of the same name would refuse the batch)."""
    live = exchange.live
    return exchange.config.demo_markets and not live.markets and not any(series.ticker in live.series for series in SERIES)


def demo_commands(provider: int, now_ms: int) -> list[c.Command]:
    """The demo data as engine commands: series, events, markets, and a liquidity provider (the
    engine account `provider`, opened by the first command) resting orders around each centre."""
    commands: list[c.Command] = [*SERIES, *EVENTS]
    for ticker, event, title, structure, fractional, _center, strike in MARKETS:
        commands.append(c.CreateMarket(
            ticker, event, title, now_ms, now_ms + YEAR_MS, yes_sub_title=title, no_sub_title=f"Not: {title}",
            rules_primary=f"If the reported value is above {strike}, the market resolves to Yes.",
            price_level_structure=structure, fractional_trading=fractional, settlement_timer_s=600,
            strike_type="greater", floor_strike=strike, can_close_early=True,
        ))
    commands += [c.OpenAccount(), c.Deposit(provider, LIQUIDITY_DEPOSIT_MICRODOLLARS, "demo liquidity")]
    for ticker, _event, _title, _structure, _fractional, center, _strike in MARKETS:
        for step in range(1, LEVELS + 1):
            commands.append(c.CreateOrder(provider, ticker, True, center - PRICE_ONE_CENT_CENTICENTS * step, count_from_contracts(LEVEL_CONTRACTS)))
            commands.append(c.CreateOrder(provider, ticker, False, center + PRICE_ONE_CENT_CENTICENTS * step, count_from_contracts(LEVEL_CONTRACTS)))
    return commands


async def create_demo_markets(exchange: Exchange) -> None:
    """All the demo data in one journal batch (one transaction): a kill leaves all of it or none, and
    the next start (which finds no market) makes it again. Called before the exchange takes requests,
    so the provider's account number is the engine's next one."""
    sequencer = exchange.sequencer
    provider = sequencer.engine.ledger.next_account_id
    commands = demo_commands(provider, exchange.clock.now_ms())
    if sequencer.queued or len(commands) > sequencer.batch_max:
        raise RuntimeError("the demo data must be the only commands of one batch")
    committed = await sequencer.submit_many(commands, sources.SYSTEM)
    refused = [(command.TYPE, entry.outcome.reject) for command, entry in zip(commands, committed) if entry.outcome.reject is not None]
    if refused:
        raise RuntimeError(f"demo setup refused: {refused}")
    opened = committed[len(SERIES) + len(EVENTS) + len(MARKETS)].outcome.value
    if opened != provider:
        raise RuntimeError(f"the demo liquidity provider got account {opened}, not the {provider} its orders name")
    log.info("created %d demo markets with resting liquidity", len(MARKETS))
