"""Rolling series: which events exist, when each opens and closes, and their dated tickers.

Event n of a series closes at the end of its n-th period and opens `lead_s` before the previous one
closes, so there is always a market trading while another is about to close. An aligned series'
periods end on multiples of its period in UTC (an hourly series closes on the hour, its tickers
dated like Kalshi's: PXHOURLY-26DEC0715); otherwise periods count from the simulation's start.
The ticker's date has the resolution the period needs (seconds for a series of seconds).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from predictex.sim.config import SeriesConfig


@dataclass(frozen=True)
class PlannedMarket:
    ticker: str
    strike_index: int
    title: str


@dataclass(frozen=True)
class PlannedEvent:
    series: SeriesConfig
    ordinal: int  # 0 for the run's first event of the series
    event_ticker: str
    title: str
    open_s: float  # seconds since the epoch
    close_s: float
    strike_labels: tuple[str, ...]

    def market_tickers(self) -> tuple[str, ...]:
        return tuple(f"{self.event_ticker}-{label}" for label in self.strike_labels)


def date_code(close_s: float, period_s: float) -> str:
    moment = dt.datetime.fromtimestamp(close_s, dt.UTC)
    if period_s >= 86_400:
        form = "%y%b%d"
    elif period_s >= 3_600:
        form = "%y%b%d%H"
    elif period_s >= 60:
        form = "%y%b%d%H%M"
    else:
        form = "%y%b%d%H%M%S"
    return moment.strftime(form).upper()


def close_time_s(series: SeriesConfig, start_s: float, ordinal: int) -> float:
    if series.align:
        first = (math.floor(start_s / series.period_s) + 1) * series.period_s
        return first + ordinal * series.period_s
    return math.floor(start_s) + (ordinal + 1) * series.period_s


def plan(series: SeriesConfig, start_s: float, ordinal: int) -> PlannedEvent:
    """Event number `ordinal` of the series in a run that started at `start_s`."""
    close_s = close_time_s(series, start_s, ordinal)
    open_s = max(start_s, close_s - series.period_s - series.lead_s)
    event_ticker = f"{series.ticker}-{date_code(close_s, series.period_s)}"
    closing = dt.datetime.fromtimestamp(close_s, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return PlannedEvent(series, ordinal, event_ticker, f"{series.title}, closing {closing}", open_s, close_s,
                        strike_labels(len(series.strikes)))


def strike_labels(count: int) -> tuple[str, ...]:
    """The markets' ticker suffixes: S1, S2, ... (the strikes' levels are in their titles)."""
    return tuple(f"S{index + 1}" for index in range(count))
