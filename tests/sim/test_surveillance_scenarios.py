"""Seeded scenarios with planted manipulation mixed into honest simulated traffic: the market
simulator's traders (makers, noise and informed takers, the amender) trade on the real engine
in-process, and scripted manipulators act among them: a spoofer (a large bid near the touch, a sale
into the bids, the bid cancelled two seconds later), a layerer (three such bids), a wash trader (a
member trading with its own subaccount) and a marker of the close (taking orders that walk the price
ten cents against the result a market is heading for, in its last twenty seconds). Every committed command's events go through the
surveillance detectors as the server's consumer feeds them. Surveillance must find every planted case,
and its false alerts (alerts naming only honest traders) per 10,000 honest orders are printed and held
to the issue's goal of at most one."""

from __future__ import annotations

import asyncio
import os
import random
import sys
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from engine_venue import EngineVenue

from predictex.core import commands as c
from predictex.core.engine import Outcome
from predictex.core.events import SubaccountCreated, Trade
from predictex.sim.config import SeriesConfig, SimConfig
from predictex.sim.simulation import Simulation
from predictex.surveillance.config import Thresholds
from predictex.surveillance.detectors import LAYERING, MARKING_THE_CLOSE, SPOOFING, WASH, Detector

CENT = 100  # centicents
CONTRACT = 100  # centicontracts
DOLLARS = 1_000_000
FALSE_ALERTS_PER_10K_MAX = 1.0

# ten-minute markets, three strikes, two events overlapping by a minute
CONFIG = SimConfig(
    name="surveillance",
    series=(SeriesConfig(ticker="PXS", title="surveillance", period_s=600.0, lead_s=60.0, align=False,
                         strikes=(0.5, 0.35, 0.65), settlement_timer_s=2, jumps_per_hour=6.0),),
)


class WatchedVenue(EngineVenue):
    """The engine venue, with every applied command's events fed to the detectors in sequence, and
    the honest traders' orders counted."""

    def __init__(self, config: SimConfig, detector: Detector) -> None:
        super().__init__(config)
        self.detector = detector
        self.seq = 0
        self.honest_orders = 0

    def _apply(self, command: c.Command, agent: str = "") -> Outcome:
        outcome = super()._apply(command, agent)
        self.seq += 1
        self.detector.feed(self.seq, self._ms(), outcome.events)
        if agent and isinstance(command, c.CreateOrder):
            self.honest_orders += 1
        return outcome


class Manipulators:
    """Scripted members acting between the simulator's steps; `planted` is what they did, by kind."""

    def __init__(self, venue: WatchedVenue, seed: int) -> None:
        self.venue = venue
        self.rng = random.Random(f"manipulators/{seed}")
        self.spoofer, self.layerer, self.marker, self.washer = (self._account() for _ in range(4))
        created = [x for x in self._apply(c.CreateSubaccount(self.washer)).events if isinstance(x, SubaccountCreated)]
        self.washer_sub = created[0].subaccount_account_id
        self._apply(c.TransferBetweenSubaccounts(self.washer, 0, 1, 50_000 * DOLLARS, "wash"))
        self.planted: list[tuple[str, int, str]] = []  # (kind, account, ticker)
        self.later: list[tuple[int, Callable[[], None]]] = []
        self.chosen: set[str] = set()  # markets the marker went for
        self.marked: dict[str, bool] = {}  # ticker -> whether the marker bought (else sold) before its close
        self.turn = 0

    def _apply(self, command: c.Command) -> Outcome:
        return self.venue._apply(command)

    def _account(self) -> int:
        account = self._apply(c.OpenAccount()).value
        self._apply(c.Deposit(account, 1_000_000 * DOLLARS, "manipulator"))
        return account

    def _order(self, account: int, ticker: str, is_bid: bool, cents: int, contracts: int, tif: str = "good_till_canceled") -> Outcome:
        return self._apply(c.CreateOrder(account, ticker, is_bid, cents * CENT, contracts * CONTRACT, tif))

    def act(self, simulation: Simulation, step: int) -> None:
        for _due, action in [x for x in self.later if x[0] <= step]:
            action()
        self.later = [x for x in self.later if x[0] > step]
        markets = [(live, index, ticker) for live in simulation.events for index, ticker in enumerate(live.planned.market_tickers())
                   if ticker in live.tickers and live.underlying.seconds_left() > 0]
        for live, index, ticker in markets:
            left = live.underlying.seconds_left()
            fair = live.underlying.probability(index)
            if ticker not in self.chosen and 16 <= left <= 20 and not 0.05 <= fair <= 0.95:  # all but decided
                self.chosen.add(ticker)
                self._mark_the_close(ticker, step, buying=fair < 0.5)
        if step % 120 or not markets:
            return
        live, index, ticker = markets[self.rng.randrange(len(markets))]
        if live.underlying.seconds_left() < 150:
            return
        kind = (SPOOFING, LAYERING, WASH)[self.turn % 3]
        self.turn += 1
        {SPOOFING: self._spoof, LAYERING: self._layer, WASH: self._wash}[kind](ticker, step)

    def _touch(self, ticker: str) -> tuple[int, int] | None:
        bid, ask = self.venue.top(ticker)
        if bid is None or ask is None or bid.price_cents < 6 or ask.price_cents > 94:
            return None
        return bid.price_cents, ask.price_cents

    def _sell_into_bids(self, account: int, ticker: str, bid: int) -> bool:
        outcome = self._order(account, ticker, False, bid, 10, "immediate_or_cancel")
        return any(isinstance(x, Trade) for x in outcome.events)

    def _spoof(self, ticker: str, step: int) -> None:
        self._bids_then_sell(SPOOFING, self.spoofer, ticker, step, [(3, 200)])

    def _layer(self, ticker: str, step: int) -> None:
        self._bids_then_sell(LAYERING, self.layerer, ticker, step, [(2, 60), (3, 60), (4, 60)])

    def _bids_then_sell(self, kind: str, account: int, ticker: str, step: int, bids: list[tuple[int, int]]) -> None:
        touch = self._touch(ticker)
        if touch is None:
            return
        bid = touch[0]
        orders = [self._order(account, ticker, True, bid - below, contracts).value for below, contracts in bids]
        sold = self._sell_into_bids(account, ticker, bid)

        def cancel() -> None:
            for order in orders:
                if order in self.venue.engine.trading.orders:
                    self._apply(c.CancelOrder(account, order))

        self.later.append((step + 4, cancel))  # two seconds later
        if sold:
            self.planted.append((kind, account, ticker))

    def _wash(self, ticker: str, step: int) -> None:
        touch = self._touch(ticker)
        if touch is None:
            return
        bid, ask = touch
        price = bid + 1 if ask - bid >= 2 else ask
        _, quote = self.venue.top(ticker)
        ahead = quote.contracts if quote is not None and quote.price_cents == price else 0
        self._order(self.washer, ticker, False, price, 10)
        outcome = self._order(self.washer_sub, ticker, True, price, ahead + 10, "immediate_or_cancel")
        if any(isinstance(x, Trade) and x.maker_account_id == self.washer for x in outcome.events):
            self.planted.append((WASH, self.washer, ticker))

    def _mark_the_close(self, ticker: str, step: int, buying: bool) -> None:
        """Three taking orders two seconds apart that walk the price ten cents against where the market is going."""
        done: list[bool] = []

        def take() -> None:
            bid, ask = self.venue.top(ticker)
            touch = ask if buying else bid
            if touch is not None:
                price = min(99, touch.price_cents + 10) if buying else max(1, touch.price_cents - 10)
                outcome = self._order(self.marker, ticker, buying, price, 250, "immediate_or_cancel")
                done.append(any(isinstance(x, Trade) for x in outcome.events))
            if len(done) == 3 and all(done):
                self.planted.append((MARKING_THE_CLOSE, self.marker, ticker))
                self.marked[ticker] = buying

        for n in range(3):
            self.later.append((step + 4 * n, take))


def run_scenario(seed: int, steps: int) -> tuple[Detector, WatchedVenue, Manipulators, Simulation]:
    detector = Detector(Thresholds())
    venue = WatchedVenue(CONFIG, detector)
    simulation = Simulation(CONFIG, seed, venue)

    async def run() -> Manipulators:
        await simulation.setup()
        manipulators = Manipulators(venue, seed)
        for step in range(steps):
            await venue.sleep_until(simulation.start_s + step * CONFIG.tick_s)
            simulation.step = step
            await simulation.run_step()
            manipulators.act(simulation, step)
        return manipulators

    manipulators = asyncio.run(run())
    return detector, venue, manipulators, simulation


def test_surveillance_finds_every_planted_case_and_few_false_alerts() -> None:
    honest_orders = false_alerts = 0
    for seed in (1, 2):  # two hours of simulated trading
        detector, venue, manipulators, simulation = run_scenario(seed, 7_200)
        manipulator_accounts = {manipulators.spoofer, manipulators.layerer, manipulators.marker, manipulators.washer}
        # a push toward the result is not marking the close: the marker's cases that count are those where
        # the market settled against it (it buys where the fair value is below 5%, sells above 95%)
        against = {ticker for ticker, bought in manipulators.marked.items() if simulation.determined.get(ticker) is not None
                   and simulation.determined[ticker] != bought}
        planted = [(kind, account, ticker) for kind, account, ticker in manipulators.planted
                   if kind != MARKING_THE_CLOSE or ticker in against]
        kinds = {kind for kind, _, _ in planted}
        assert kinds == {SPOOFING, LAYERING, WASH, MARKING_THE_CLOSE}, manipulators.planted
        found = {(a.kind, account, a.ticker) for a in detector.alerts.values() for account in a.accounts}
        missed = [case for case in planted if case not in found]
        false = [a for a in detector.alerts.values() if not set(a.accounts) & manipulator_accounts]
        print(f"\nseed {seed}: {len(planted)} planted cases ({', '.join(sorted(kinds))}), {len(missed)} missed; "
              f"{len(false)} false alerts in {venue.honest_orders} honest orders")
        for alert in false:
            print("  false:", alert.kind, alert.ticker, alert.summary)
        assert not missed, f"seed {seed} missed {missed}"
        honest_orders += venue.honest_orders
        false_alerts += len(false)
    rate = false_alerts * 10_000 / honest_orders
    print(f"surveillance: {false_alerts} false alerts in {honest_orders} honest orders = {rate:.2f} per 10,000 "
          f"(goal: at most {FALSE_ALERTS_PER_10K_MAX:g})")
    assert honest_orders >= 10_000
    assert rate <= FALSE_ALERTS_PER_10K_MAX
