"""The instrument registry: series, events and markets with their books, and the exchange-wide
switches. Creation is validated here; lifecycle transitions are driven by the engine."""

from __future__ import annotations

from predictex.core.commands import CreateEvent, CreateMarket, CreateSeries
from predictex.core.fees import FEE_MULTIPLIER_ONE_BPS, FEE_TYPES
from predictex.core.instruments import MARKET_TYPES, PRICE_LEVEL_STRUCTURES, Event, Market, Series
from predictex.core.limits import (
    FEE_MULTIPLIER_BPS_MAX,
    MARKETS_PER_EVENT_MAX,
    SETTLEMENT_TIMER_SECONDS_MAX,
    TEXT_LENGTH_MAX,
    TICKER_LENGTH_MAX,
    TIME_MS_MAX,
)
from predictex.core.rejects import RejectCode, Rejected

_TICKER_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._")


def check_ticker(ticker: str, what: str) -> None:
    if not ticker or len(ticker) > TICKER_LENGTH_MAX or not set(ticker) <= _TICKER_CHARACTERS:
        raise Rejected(
            RejectCode.INVALID_PARAMETERS,
            f"{what} {ticker!r} must be 1-{TICKER_LENGTH_MAX} characters of A-Z, 0-9, '-', '.', '_'",
        )


def check_time(ms: int, what: str) -> None:
    """A time a command names: not before 1970 and not after the year 9999 (what a timestamp can show)."""
    if not 0 <= ms <= TIME_MS_MAX:
        raise Rejected(RejectCode.INVALID_PARAMETERS, f"{what} must be between 1970 and the end of 9999")


def check_text(value: str, what: str) -> None:
    if len(value) > TEXT_LENGTH_MAX:
        raise Rejected(RejectCode.INVALID_PARAMETERS, f"{what} is longer than {TEXT_LENGTH_MAX} characters")


class Markets:
    def __init__(self) -> None:
        self.series: dict[str, Series] = {}
        self.events: dict[str, Event] = {}
        self.markets: dict[str, Market] = {}
        self.exchange_active = True
        self.trading_active = True
        self.next_market_number = 1
        # the historical tier's boundaries: market settled, trade created, order updated (0 = none)
        self.archive_cutoff_ms = [0, 0, 0]

    def market(self, ticker: str) -> Market:
        market = self.markets.get(ticker)
        if market is None:
            raise Rejected(RejectCode.MARKET_NOT_FOUND, f"no market {ticker!r}")
        return market

    def create_series(self, cmd: CreateSeries, now_ms: int) -> Series:
        check_ticker(cmd.ticker, "series ticker")
        if cmd.ticker in self.series:
            raise Rejected(RejectCode.ALREADY_EXISTS, f"series {cmd.ticker} was created before")
        if cmd.fee_type not in FEE_TYPES:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"fee_type must be one of {', '.join(FEE_TYPES)}")
        if not 0 <= cmd.fee_multiplier_bps <= FEE_MULTIPLIER_BPS_MAX:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"fee multiplier must be between 0 and {FEE_MULTIPLIER_BPS_MAX // FEE_MULTIPLIER_ONE_BPS}")
        for text, what in ((cmd.title, "title"), (cmd.category, "category"), (cmd.frequency, "frequency"),
                           (cmd.contract_url, "contract_url"), (cmd.contract_terms_url, "contract_terms_url")):
            check_text(text, what)
        series = Series(
            cmd.ticker, cmd.title, cmd.category, cmd.frequency, cmd.fee_type, cmd.fee_multiplier_bps,
            tuple(cmd.tags), tuple((s[0], s[1]) for s in cmd.settlement_sources), cmd.contract_url,
            cmd.contract_terms_url, now_ms,
        )
        self.series[series.ticker] = series
        return series

    def create_event(self, cmd: CreateEvent, now_ms: int) -> Event:
        check_ticker(cmd.event_ticker, "event ticker")
        if cmd.event_ticker in self.events:
            raise Rejected(RejectCode.ALREADY_EXISTS, f"event {cmd.event_ticker} was created before")
        if cmd.series_ticker not in self.series:
            raise Rejected(RejectCode.SERIES_NOT_FOUND, f"no series {cmd.series_ticker!r}")
        check_text(cmd.title, "title")
        check_text(cmd.sub_title, "sub_title")
        check_time(cmd.strike_date_ms, "strike_date")
        event = Event(
            cmd.event_ticker, cmd.series_ticker, cmd.title, cmd.sub_title, cmd.mutually_exclusive,
            cmd.strike_date_ms, cmd.strike_period, now_ms,
        )
        self.events[event.event_ticker] = event
        return event

    def create_market(self, cmd: CreateMarket, now_ms: int) -> Market:
        check_ticker(cmd.ticker, "market ticker")
        if cmd.ticker in self.markets:
            raise Rejected(RejectCode.ALREADY_EXISTS, f"market {cmd.ticker} was created before")
        event = self.events.get(cmd.event_ticker)
        if event is None:
            raise Rejected(RejectCode.EVENT_NOT_FOUND, f"no event {cmd.event_ticker!r}")
        if len(event.market_tickers) >= MARKETS_PER_EVENT_MAX:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"event {event.event_ticker} has {MARKETS_PER_EVENT_MAX} markets already")
        self._check_market_terms(cmd, now_ms)
        series = self.series[event.series_ticker]
        market = Market(
            cmd.ticker, self.next_market_number, event.event_ticker, series.ticker, cmd.market_type, cmd.title,
            cmd.subtitle, cmd.yes_sub_title, cmd.no_sub_title, cmd.rules_primary, cmd.rules_secondary,
            cmd.open_time_ms, cmd.close_time_ms, cmd.expected_expiration_ms, cmd.settlement_timer_s,
            cmd.price_level_structure, cmd.fractional_trading, cmd.can_close_early, cmd.strike_type,
            cmd.floor_strike, cmd.cap_strike, cmd.fee_waiver_expiration_ms, series.fee_type,
            series.fee_multiplier_bps, now_ms,
        )
        self.next_market_number += 1
        self.markets[market.ticker] = market
        event.market_tickers.append(market.ticker)
        return market

    def _check_market_terms(self, cmd: CreateMarket, now_ms: int) -> None:
        if cmd.market_type not in MARKET_TYPES:
            raise Rejected(RejectCode.INVALID_PARAMETERS, "market_type must be binary or scalar")
        if cmd.price_level_structure not in PRICE_LEVEL_STRUCTURES:
            raise Rejected(
                RejectCode.INVALID_PARAMETERS,
                f"price_level_structure must be one of {', '.join(sorted(PRICE_LEVEL_STRUCTURES))}",
            )
        for ms, what in ((cmd.open_time_ms, "open_time"), (cmd.close_time_ms, "close_time"),
                         (cmd.expected_expiration_ms, "expected_expiration_time"), (cmd.fee_waiver_expiration_ms, "fee_waiver_expiration_time")):
            check_time(ms, what)
        if cmd.close_time_ms <= cmd.open_time_ms:
            raise Rejected(RejectCode.INVALID_PARAMETERS, "close_time must be after open_time")
        if cmd.close_time_ms <= now_ms:
            raise Rejected(RejectCode.INVALID_PARAMETERS, "close_time must be in the future")
        if not 0 <= cmd.settlement_timer_s <= SETTLEMENT_TIMER_SECONDS_MAX:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"settlement_timer_seconds must be 0-{SETTLEMENT_TIMER_SECONDS_MAX}")
        for text, what in ((cmd.title, "title"), (cmd.subtitle, "subtitle"), (cmd.yes_sub_title, "yes_sub_title"),
                           (cmd.no_sub_title, "no_sub_title"), (cmd.rules_primary, "rules_primary"),
                           (cmd.rules_secondary, "rules_secondary"), (cmd.strike_type, "strike_type"),
                           (cmd.floor_strike, "floor_strike"), (cmd.cap_strike, "cap_strike")):
            check_text(text, what)
