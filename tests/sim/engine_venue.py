"""A `Venue` that is the real engine in-process with a fake clock: the simulator's agents and schedule
run against it deterministically (no network, no threads), with `check_invariants` after every step.

The network venue (predictex/sim/network.py) does the same work over the SDK; this one exists so that
two runs with a seed can be compared order for order, and so that a long run is quick.
"""

from __future__ import annotations

from predictex.core import commands as c
from predictex.core.engine import Engine, Outcome
from predictex.core.invariants import check_invariants
from predictex.core.orders import RESTING
from predictex.core.units import MONEY_ONE_DOLLAR_MICRODOLLARS, PRICE_ONE_CENT_CENTICENTS
from predictex.sim.agents import Action, Amend, Cancel, Place, Quote, Resting
from predictex.sim.config import SeriesConfig, SimConfig
from predictex.sim.schedule import PlannedEvent

CENTICONTRACTS = 100  # in a contract


class EngineVenue:
    def __init__(self, config: SimConfig, start_s: float = 1_800_000_000.0) -> None:
        self.config = config
        self.engine = Engine()
        self.time_s = start_s
        self.accounts: dict[str, int] = {}
        self.tags: dict[int, str] = {}  # order id -> the agent's tag
        self.commands = 0
        self.refusals: list[tuple[str, str, str]] = []  # (agent, command type, reject code)
        self.deposits_microdollars = 0

    # --- time --------------------------------------------------------------------------------------

    def now_s(self) -> float:
        return self.time_s

    def _ms(self) -> int:
        return round(self.time_s * 1000)

    async def sleep_until(self, time_s: float) -> None:
        self.time_s = max(self.time_s, time_s)
        self._apply(c.Tick())
        check_invariants(self.engine)

    def _apply(self, command: c.Command, agent: str = "") -> Outcome:
        self.commands += 1
        outcome = self.engine.apply(command, self._ms())
        if outcome.reject is not None and agent:
            self.refusals.append((agent, command.TYPE, outcome.reject.code.value))
        return outcome

    # --- the operator ------------------------------------------------------------------------------

    async def create_series(self, series: SeriesConfig) -> None:
        self._apply(c.CreateSeries(series.ticker, series.title, "Simulated", "custom"))

    async def open_event(self, event: PlannedEvent, strike_levels: list[float]) -> list[str]:
        self._apply(c.CreateEvent(event.event_ticker, event.series.ticker, event.title))
        opened = []
        for ticker, level in zip(event.market_tickers(), strike_levels):
            outcome = self._apply(c.CreateMarket(
                ticker, event.event_ticker, f"Above {level:.1f}?", self._ms(), round(event.close_s * 1000),
                settlement_timer_s=event.series.settlement_timer_s,
            ))
            if outcome.ok:
                opened.append(ticker)
        return opened

    async def determine(self, ticker: str, yes: bool) -> bool:
        return self._apply(c.DetermineMarket(ticker, "yes" if yes else "no")).ok

    async def add_trader(self, name: str, role: str) -> None:
        account = self._apply(c.OpenAccount()).value
        self.accounts[name] = account
        self._deposit(account, self.config.funding.deposit_dollars * MONEY_ONE_DOLLAR_MICRODOLLARS)

    def _deposit(self, account: int, amount: int) -> None:
        self.deposits_microdollars += amount
        assert self._apply(c.Deposit(account, amount, "simulation")).ok

    async def fund(self, name: str) -> None:
        account = self.engine.ledger.accounts[self.accounts[name]]
        funding = self.config.funding
        if account.cash_microdollars < funding.top_up_below_dollars * MONEY_ONE_DOLLAR_MICRODOLLARS:
            self._deposit(account.account_id, funding.deposit_dollars * MONEY_ONE_DOLLAR_MICRODOLLARS - account.cash_microdollars)

    # --- reads -------------------------------------------------------------------------------------

    def top(self, ticker: str) -> tuple[Quote | None, Quote | None]:
        market = self.engine.markets.markets.get(ticker)
        if market is None:
            return None, None
        quotes: list[Quote | None] = []
        for side in (market.book.bids, market.book.asks):
            level = side.best_level()
            quotes.append(None if level is None else
                          Quote(level.price_centicents // PRICE_ONE_CENT_CENTICENTS, level.total_centicontracts // CENTICONTRACTS))
        return quotes[0], quotes[1]

    def resting(self, name: str, ticker: str) -> tuple[Resting, ...]:
        holding = self.engine.ledger.accounts[self.accounts[name]].markets.get(ticker)
        if holding is None:
            return ()
        orders = [order for order in self.engine.trading.orders.values()
                  if order.account_id == holding.account_id and order.ticker == ticker and order.status == RESTING]
        return tuple(
            Resting(str(order.order_id), order.is_bid, order.price_centicents // PRICE_ONE_CENT_CENTICENTS,
                    order.remaining_centicontracts // CENTICONTRACTS, self.tags.get(order.order_id, ""))
            for order in sorted(orders, key=lambda order: order.order_id)
        )

    def position(self, name: str, ticker: str) -> int:
        holding = self.engine.ledger.accounts[self.accounts[name]].markets.get(ticker)
        return 0 if holding is None else holding.position_centicontracts // CENTICONTRACTS

    # --- orders ------------------------------------------------------------------------------------

    async def execute(self, name: str, actions: list[Action]) -> None:
        account = self.accounts[name]
        for action in actions:
            if isinstance(action, Place):
                outcome = self._apply(c.CreateOrder(
                    account, action.ticker, action.is_bid, action.price_cents * PRICE_ONE_CENT_CENTICENTS,
                    action.contracts * CENTICONTRACTS, "immediate_or_cancel" if action.take else "good_till_canceled",
                ), name)
                if outcome.ok:
                    self.tags[outcome.value] = action.tag
            elif isinstance(action, Cancel):
                self._apply(c.CancelOrder(account, int(action.key)), name)
            elif isinstance(action, Amend):
                order = self.engine.trading.orders.get(int(action.key))
                if order is None:
                    continue
                total = order.filled_centicontracts + action.contracts * CENTICONTRACTS
                outcome = self._apply(c.AmendOrder(
                    account, order.order_id, action.ticker, "bid" if action.is_bid else "ask",
                    action.price_cents * PRICE_ONE_CENT_CENTICENTS, total,
                ), name)
                if outcome.ok:
                    self.tags[outcome.value] = action.tag
