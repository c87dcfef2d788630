"""The simulation loop: the schedule, the underlyings and the agents, stepped on a grid of ticks and
acting on a `Venue` (network.py's real exchange over the SDK; the tests' in-process engine).

At every step, in a fixed order: open the events that are due (series, event, markets), walk every
underlying to the step (news jumps, scripted jumps), determine the markets that have closed (by
their underlying), then let each agent decide in each open market and send what it decided. The
order is fixed and every random number comes from a generator seeded by the run's seed and a name,
so a run's decisions are a function of its seed, its config and the market data it sees.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from predictex.sim.agents import (
    NORMAL,
    Action,
    Agent,
    Amender,
    Conditions,
    InformedTaker,
    Maker,
    NoiseTaker,
    Quote,
    Resting,
    View,
    describe,
)
from predictex.sim.config import ScriptedEvent, SeriesConfig, SimConfig
from predictex.sim.latent import Underlying
from predictex.sim.schedule import PlannedEvent, plan

log = logging.getLogger("predictex.sim")

DISCOVER_S = 30.0  # with a member's key: how often the open markets of the config's series are looked for
DETERMINE_GRACE_S = 1.0  # after a market's close time, before the simulator determines it
FUNDING_CHECK_S = 30.0  # how often each trader's cash is looked at
DECISIONS_KEPT_MAX = 100_000  # a recorded decision log's bound (tests record; a demo run does not)
LAG_STEPS_MAX = 8  # a run this far behind the clock (a stalled exchange) skips ahead rather than rush


class VenueUnavailable(Exception):
    """The venue did not answer (an exchange restarting, say): the step's operator work is tried again later."""


class Venue(Protocol):
    """Where the simulation trades. Operator work (series, events, markets, results, funding) and
    each trader's orders; reads of the books, the traders' orders and positions are local and cheap."""

    def now_s(self) -> float: ...

    async def sleep_until(self, time_s: float) -> None: ...

    async def create_series(self, series: SeriesConfig) -> None: ...

    async def open_event(self, event: PlannedEvent, strike_levels: list[float]) -> list[str]:
        """Create the event and its markets (or find them, made by an earlier run); the tickers that
        are open for trading."""
        ...

    async def determine(self, ticker: str, yes: bool) -> bool:
        """Set the result of a closed market; False if it cannot be yet (not closed) and should be tried again."""
        ...

    async def add_trader(self, name: str, role: str) -> None: ...

    async def fund(self, name: str) -> None:
        """Top the trader's cash up when it is low (the config's funding rule)."""
        ...

    def top(self, ticker: str) -> tuple[Quote | None, Quote | None]:
        """The best YES bid and ask, from the venue's view of the book."""
        ...

    def resting(self, name: str, ticker: str) -> tuple[Resting, ...]: ...

    def position(self, name: str, ticker: str) -> int: ...

    async def execute(self, name: str, actions: list[Action]) -> None: ...


@dataclass
class LiveEvent:
    planned: PlannedEvent
    underlying: Underlying
    first_step: int
    tickers: list[str]
    determined: set[str] = field(default_factory=set)


def iso_time(time_s: float) -> str:
    """A time for the log: RFC 3339 in UTC to the second (never a float of seconds since 1970)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time_s))


def build_agents(config: SimConfig, seed: int) -> list[Agent]:
    """Every agent of the run, in the order they act: makers, the amender, noise, then informed."""
    tick = config.tick_s
    agents: list[Agent] = [Maker(f"maker-{n}", seed, n, config.makers, tick) for n in range(config.makers.count)]
    agents += [Amender(f"amender-{n}", seed, config.amender, tick) for n in range(config.amender.count)]
    agents += [NoiseTaker(f"noise-{n}", seed, config.noise, tick) for n in range(config.noise.count)]
    agents += [InformedTaker(f"informed-{n}", seed, config.informed, tick) for n in range(config.informed.count)]
    return agents


def conditions_at(events: tuple[ScriptedEvent, ...], series: str, elapsed_s: float) -> Conditions:
    """The scripted events in force `elapsed_s` into the run, for a market of `series`."""
    size_factor, withdrawn, run_side, run_factor = 1.0, set(), "", 1.0
    for event in events:
        if event.kind == "jump" or (event.series and event.series != series):
            continue
        if not event.at_s <= elapsed_s < event.at_s + event.duration_s:
            continue
        if event.kind == "thin_book":
            size_factor = min(size_factor, event.factor)
        elif event.kind == "maker_withdraws":
            withdrawn.add(event.maker)
        elif event.kind == "run":
            run_side, run_factor = event.side, event.factor
    if size_factor == 1.0 and not withdrawn and not run_side:
        return NORMAL
    return Conditions(size_factor, frozenset(withdrawn), run_side, run_factor)


class Simulation:
    def __init__(self, config: SimConfig, seed: int, venue: Venue, *, record: bool = False) -> None:
        self.config = config
        self.seed = seed
        self.venue = venue
        self.agents = build_agents(config, seed)
        self.events: list[LiveEvent] = []
        self.next_ordinal = {series.ticker: 0 for series in config.series}
        self.start_s = 0.0
        self.step = 0
        self.record = record
        self.decisions: list[str] = []  # "step agent action", when recording
        self.actions_sent = 0
        self.determined: dict[str, bool] = {}  # ticker -> result, every market this run determined
        self.stopping = asyncio.Event()

    def describe(self) -> str:
        return f"seed {self.seed}, config {json.dumps(self.config.as_dict(), sort_keys=True)}"

    async def setup(self) -> None:
        log.info("simulation starting: %s", self.describe())
        for series in self.config.series:
            await self.venue.create_series(series)
        for agent in self.agents:
            await self.venue.add_trader(agent.name, agent.role)
        self.start_s = self.venue.now_s()  # the schedule starts once everyone is ready

    async def run(self, steps: int | None = None, until: Callable[[], bool] | None = None) -> None:
        """Step until `steps` are done, `until()` is true, or `stop()` is called."""
        await self.setup()
        while not self.stopping.is_set() and (steps is None or self.step < steps) and not (until is not None and until()):
            await self.venue.sleep_until(self.start_s + self.step * self.config.tick_s)
            behind = int((self.venue.now_s() - self.start_s) / self.config.tick_s) - self.step
            if behind > LAG_STEPS_MAX:  # the paths walk every step skipped; the agents just do not act on them
                log.info("the simulation is %d steps behind the clock; skipping ahead", behind)
                self.step += behind
            await self.run_step()
            self.step += 1

    def stop(self) -> None:
        self.stopping.set()

    async def run_step(self) -> None:
        now = self.start_s + self.step * self.config.tick_s
        await self._open_due(now)
        self._walk()
        await self._determine_closed(now)
        await self._trade(now)
        if self.step % max(1, round(FUNDING_CHECK_S / self.config.tick_s)) == 0:
            for agent in self.agents:
                await self.venue.fund(agent.name)

    async def _open_due(self, now: float) -> None:
        for series in self.config.series:
            while True:
                planned = plan(series, self.start_s, self.next_ordinal[series.ticker])
                if planned.open_s > now:
                    break
                if planned.close_s <= now:
                    self.next_ordinal[series.ticker] += 1
                    continue  # its time went by (a restart): nothing to trade
                seed = f"{self.seed}/{series.ticker}/{planned.ordinal}"
                underlying = Underlying(seed, series, planned.close_s - now, self.config.tick_s)
                strike_levels = [underlying.strike_level(index) for index in range(len(series.strikes))]
                try:
                    tickers = await self.venue.open_event(planned, strike_levels)
                except VenueUnavailable as error:
                    log.info("cannot open %s yet: %s", planned.event_ticker, error)
                    return
                self.next_ordinal[series.ticker] += 1
                self.events.append(LiveEvent(planned, underlying, self.step, tickers))
                log.info("opened %s (%s), closing at %s", planned.event_ticker, ", ".join(tickers), iso_time(planned.close_s))

    def _walk(self) -> None:
        elapsed = self.step * self.config.tick_s
        for live in self.events:
            live.underlying.advance_to(self.step - live.first_step)
            for scripted in self.config.events:
                if scripted.kind != "jump" or (scripted.series and scripted.series != live.planned.series.ticker):
                    continue
                if elapsed - self.config.tick_s < scripted.at_s <= elapsed:  # its step: once
                    live.underlying.shock(scripted.size)

    async def _determine_closed(self, now: float) -> None:
        for live in list(self.events):
            if now < live.planned.close_s + DETERMINE_GRACE_S:
                continue
            for index, ticker in enumerate(live.planned.market_tickers()):
                if ticker in live.determined:
                    continue
                result = live.underlying.outcome(index)
                if ticker not in live.tickers or await self.venue.determine(ticker, result):
                    live.determined.add(ticker)
                    if ticker in live.tickers:
                        self.determined[ticker] = result
                        log.info("determined %s: %s", ticker, "yes" if result else "no")
            if len(live.determined) == len(live.planned.market_tickers()):
                self.events.remove(live)

    async def _trade(self, now: float) -> None:
        elapsed = self.step * self.config.tick_s
        open_markets: list[tuple[LiveEvent, int, str]] = []
        for live in self.events:
            if now >= live.planned.close_s:
                continue
            for index, ticker in enumerate(live.planned.market_tickers()):
                if ticker in live.tickers:
                    open_markets.append((live, index, ticker))
        for agent in self.agents:
            actions: list[Action] = []
            for live, index, ticker in open_markets:
                conditions = conditions_at(self.config.events, live.planned.series.ticker, elapsed)
                view = self._view(agent, live, index, ticker)
                actions += agent.decide(view, conditions)
            if not actions:
                continue
            if self.record and len(self.decisions) < DECISIONS_KEPT_MAX:
                self.decisions += [f"{self.step} {agent.name} {describe(action)}" for action in actions]
            self.actions_sent += len(actions)
            await self.venue.execute(agent.name, actions)

    def _view(self, agent: Agent, live: LiveEvent, index: int, ticker: str) -> View:
        bid, ask = self.venue.top(ticker)
        return View(
            ticker, self.step, live.underlying.seconds_left(), live.underlying.probability(index), bid, ask,
            self.venue.position(agent.name, ticker), self.venue.resting(agent.name, ticker),
        )


class AdoptingVenue(Venue, Protocol):
    """A venue reached with a member's key: it finds markets instead of making them."""

    async def open_markets(self, series_tickers: tuple[str, ...]) -> list[Any]:
        """The open markets of these series (`network.OpenMarket`: ticker, event_ticker, series_ticker,
        close_s, probability), each book followed from now on."""
        ...

    def forget(self, ticker: str) -> None: ...


class AdoptingSimulation(Simulation):
    """The simulation with a member's key, which can create nothing: no series, events, markets or
    members, no deposits, no results. Every trader trades as that member, on the open markets of the
    config's series found every `DISCOVER_S`; each market gets an underlying of its own that starts at
    the probability the market trades at when found (its midpoint) and walks to its close time; a
    closed market is left to whoever operates the exchange."""

    venue: AdoptingVenue

    def __init__(self, config: SimConfig, seed: int, venue: AdoptingVenue, *, record: bool = False) -> None:
        super().__init__(config, seed, venue, record=record)
        self.venue = venue

    async def setup(self) -> None:
        log.info("simulation starting with a member's key: %s", self.describe())
        log.info("skipped, as they need an operator's key: the schedule of series, events and markets, determining "
                 "results, making simulated members and funding them; every trader (%s) trades as this member on the "
                 "open markets of the series %s", ", ".join(agent.name for agent in self.agents),
                 ", ".join(series.ticker for series in self.config.series))
        for agent in self.agents:
            await self.venue.add_trader(agent.name, agent.role)
        self.start_s = self.venue.now_s()

    async def _open_due(self, now: float) -> None:
        if self.step % max(1, round(DISCOVER_S / self.config.tick_s)):
            return
        known = {ticker for live in self.events for ticker in live.tickers}
        series_by_ticker = {series.ticker: series for series in self.config.series}
        for market in await self.venue.open_markets(tuple(series_by_ticker)):
            prefix = market.event_ticker + "-"
            if market.ticker in known or market.close_s <= now + DETERMINE_GRACE_S or not market.ticker.startswith(prefix):
                continue
            series = dataclasses.replace(series_by_ticker[market.series_ticker],
                                         strikes=(min(0.98, max(0.02, market.probability)),))
            planned = PlannedEvent(series, -1, market.event_ticker, market.ticker, now, market.close_s,
                                   (market.ticker.removeprefix(prefix),))
            underlying = Underlying(f"{self.seed}/{market.ticker}", series, market.close_s - now, self.config.tick_s)
            self.events.append(LiveEvent(planned, underlying, self.step, [market.ticker]))
            log.info("trading %s (at %d%%), closing at %s", market.ticker, round(market.probability * 100.0), iso_time(market.close_s))

    async def _determine_closed(self, now: float) -> None:
        for live in [live for live in self.events if now >= live.planned.close_s]:
            self.events.remove(live)
            for ticker in live.tickers:
                self.venue.forget(ticker)
                log.info("%s closed; its result is for the exchange's operator", ticker)
