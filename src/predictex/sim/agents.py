"""The simulated traders' decisions: what each does in one market at one step, given what it sees.

Each agent owns a `random.Random` seeded from the run's seed and its name, and decides from a
`View` (the market's best bid and offer, its own resting orders and position, the time left, the
fair probability where the agent is allowed to know it) and the scenario's `Conditions`. Nothing
else goes in, so the same seed and the same market data give the same decisions. Prices are whole
cents from 1 to 99 (YES terms), sizes whole contracts; the venue turns them into the API's units.

- `Maker`: quotes `levels` levels a side around its own estimate, which follows the fair value with
  a lag and a persistent error of its own. As in Avellaneda-Stoikov, the quotes centre on a
  reservation price r = estimate - gamma·q·sigma²tau (q its inventory) with a half spread
  gammasigma²tau/2 + ln(1 + gamma/k)/gamma, where sigma²tau is the fair value's variance (in cents²) over the maker's horizon.
  A level is moved (amended) only when no order rests within `requote_cents` of it, and when the
  ladder shifts a cent, the one order it left behind is moved to the one price it newly covers (one
  amend a side, not one a level), so quiet markets cost few messages. A market all but decided
  still gets a bid at 1c and an offer at 99c (no room for a ladder there; the side is never empty).
- `NoiseTaker`: at random moments buys or sells a few contracts at the touch (a "run" makes them all
  trade one side, faster).
- `InformedTaker`: takes quotes that are `threshold_cents` or more off the fair value (after a news
  jump, the makers' stale quotes), then waits `cooldown_s` in that market.
- `Amender`: keeps a few orders resting away from the touch and, now and then, moves or cancels one.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from predictex.sim.config import AmenderConfig, InformedConfig, MakerConfig, NoiseConfig
from predictex.sim.latent import normal_pdf, normal_quantile

PRICE_MIN_CENTS = 1
PRICE_MAX_CENTS = 99


@dataclass(frozen=True)
class Quote:
    price_cents: int
    contracts: int


@dataclass(frozen=True)
class Resting:
    """One of the agent's own orders resting in the book: `key` is the venue's order id."""

    key: str
    is_bid: bool
    price_cents: int
    remaining: int
    tag: str


@dataclass(frozen=True)
class View:
    ticker: str
    step: int
    seconds_left: float
    fair: float  # the fair probability, 0..1
    bid: Quote | None  # best YES bid
    ask: Quote | None  # best YES ask
    position: int = 0  # contracts, + YES, - NO
    resting: tuple[Resting, ...] = ()


@dataclass(frozen=True)
class Place:
    ticker: str
    is_bid: bool
    price_cents: int
    contracts: int
    take: bool  # immediate or cancel (a taker); otherwise it rests
    tag: str


@dataclass(frozen=True)
class Cancel:
    ticker: str
    key: str


@dataclass(frozen=True)
class Amend:
    ticker: str
    key: str
    is_bid: bool
    price_cents: int
    contracts: int  # what should rest after the amend
    tag: str


Action = Place | Cancel | Amend


@dataclass(frozen=True)
class Conditions:
    """What the scenario's scripted events change at this step, in this market."""

    size_factor: float = 1.0  # thin book: makers quote this fraction of their size
    withdrawn_makers: frozenset[int] = frozenset()
    run_side: str = ""  # "yes" or "no" during a run
    run_factor: float = 1.0


NORMAL = Conditions()


def clamp_cents(price: int) -> int:
    return max(PRICE_MIN_CENTS, min(PRICE_MAX_CENTS, price))


def describe(action: Action) -> str:
    """One line per action, the same for the same decision: the decision log's entries."""
    if isinstance(action, Place):
        return f"place {action.ticker} {'bid' if action.is_bid else 'ask'} {action.contracts}@{action.price_cents} {'take' if action.take else 'rest'} {action.tag}"
    if isinstance(action, Amend):
        return f"amend {action.ticker} {action.tag} {'bid' if action.is_bid else 'ask'} {action.contracts}@{action.price_cents}"
    return f"cancel {action.ticker} {action.key}"


class Agent:
    """An agent: a name (its account's too), its role and its random numbers."""

    role = "agent"

    def __init__(self, name: str, seed: int) -> None:
        self.name = name
        self.rng = random.Random(f"{seed}/{name}")

    def decide(self, view: View, conditions: Conditions) -> list[Action]:
        raise NotImplementedError


@dataclass
class _Estimate:
    cents: float
    error_cents: float = 0.0


class Maker(Agent):
    role = "maker"

    def __init__(self, name: str, seed: int, index: int, config: MakerConfig, tick_s: float) -> None:
        super().__init__(name, seed)
        self.index = index
        self.config = config
        self.tick_s = tick_s
        self._estimates: dict[str, _Estimate] = {}
        self._follow = min(1.0, tick_s / config.estimate_lag_s)

    def estimate(self, view: View) -> float:
        """The maker's own view of the fair value, in cents: it follows the fair value with a lag,
        with an error of its own that changes slowly (an AR(1) process)."""
        fair_cents = view.fair * 100.0
        noise = self.config.estimate_noise_cents
        state = self._estimates.get(view.ticker)
        if state is None:
            state = self._estimates[view.ticker] = _Estimate(fair_cents, self.rng.gauss(0.0, noise) if noise else 0.0)
        state.cents += self._follow * (fair_cents - state.cents)
        if noise:
            state.error_cents = 0.98 * state.error_cents + math.sqrt(1.0 - 0.98 ** 2) * self.rng.gauss(0.0, noise)
        return state.cents + state.error_cents

    def ladder(self, view: View, conditions: Conditions) -> dict[str, Quote]:
        """The quotes the maker wants, by slot ("b0" its best bid, "a1" its second ask, ...)."""
        config = self.config
        estimate = self.estimate(view)
        fair = min(0.999, max(0.001, view.fair))
        spread_sd = 100.0 * normal_pdf(normal_quantile(fair))  # how much a cent of the fair value moves, per unit
        horizon = 1.0 if view.seconds_left <= config.horizon_s else config.horizon_s / view.seconds_left
        variance = spread_sd * spread_sd * horizon  # sigma²tau in cents², over the maker's horizon
        gamma = config.risk_aversion
        reservation = estimate - gamma * view.position * variance
        half_spread = 0.5 * gamma * variance + math.log(1.0 + gamma / config.arrival_decay_k) / gamma
        bid = min(PRICE_MAX_CENTS - 1, math.floor(reservation - half_spread))
        ask = max(PRICE_MIN_CENTS + 1, math.ceil(reservation + half_spread))
        if ask <= bid:
            ask = bid + 1
        size = max(1, round(config.level_contracts * conditions.size_factor))
        wanted: dict[str, Quote] = {}
        for level in range(config.levels):
            step = level * config.level_step_cents
            if view.position < config.inventory_max_contracts and bid - step >= PRICE_MIN_CENTS:
                wanted[f"b{level}"] = Quote(bid - step, size)
            if view.position > -config.inventory_max_contracts and ask + step <= PRICE_MAX_CENTS:
                wanted[f"a{level}"] = Quote(ask + step, size)
        # a market all but decided still has a bid at 1c and an offer at 99c (its price leaves no room
        # for a ladder there): the side is never empty while the maker may trade it
        if "b0" not in wanted and view.position < config.inventory_max_contracts:
            wanted["b0"] = Quote(PRICE_MIN_CENTS, size)
        if "a0" not in wanted and view.position > -config.inventory_max_contracts:
            wanted["a0"] = Quote(PRICE_MAX_CENTS, size)
        return wanted

    def decide(self, view: View, conditions: Conditions) -> list[Action]:
        if self.index in conditions.withdrawn_makers:
            return [Cancel(view.ticker, order.key) for order in view.resting]
        wanted = self.ladder(view, conditions)
        actions: list[Action] = []
        # the side moving away from the other first: when the ladder goes up, the asks (else, on the
        # way up, the maker's bids would trade against its own stale asks, or its bids against the stale
        # asks of others and leave the bid side empty)
        rising = bool(view.resting) and (sum(quote.price_cents for quote in wanted.values()) * len(view.resting)
                                         > sum(order.price_cents for order in view.resting) * len(wanted))
        for is_bid in ((False, True) if rising else (True, False)):
            self._requote_side(view, is_bid, wanted, actions)
        return actions

    def _requote_side(self, view: View, is_bid: bool, wanted: dict[str, Quote], actions: list[Action]) -> None:
        """One side of the ladder. A level's price is covered by the resting order nearest it (less than
        `requote_cents` off, each order covering one level); an order that covers no level is moved
        to a level nobody covers (so when the ladder shifts a cent, only the order it left behind
        moves: one amend, not one a level); what is left over is cancelled or placed."""
        side = "b" if is_bid else "a"
        levels = sorted((slot for slot in wanted if slot[0] == side), key=lambda slot: int(slot[1:]))  # nearest the touch first
        free = [order for order in view.resting if order.is_bid == is_bid]
        uncovered: list[str] = []
        for slot in levels:
            quote = wanted[slot]
            best: Resting | None = None
            for order in free:
                off = abs(order.price_cents - quote.price_cents)
                if off < self.config.requote_cents and (best is None or off < abs(best.price_cents - quote.price_cents)):
                    best = order
            if best is None:
                uncovered.append(slot)
                continue
            free.remove(best)
            if best.remaining * 2 < quote.contracts or best.remaining > quote.contracts:  # filled down, or the size changed
                actions.append(Amend(view.ticker, best.key, is_bid, best.price_cents, quote.contracts, best.tag))
        free.sort(key=lambda order: order.price_cents if is_bid else -order.price_cents)  # the farthest from the touch first
        for slot in uncovered:
            quote = wanted[slot]
            if free:
                order = free.pop(0)
                actions.append(Amend(view.ticker, order.key, is_bid, quote.price_cents, quote.contracts, slot))
            else:
                actions.append(Place(view.ticker, is_bid, quote.price_cents, quote.contracts, False, slot))
        actions += [Cancel(view.ticker, order.key) for order in free]


class NoiseTaker(Agent):
    role = "noise"

    def __init__(self, name: str, seed: int, config: NoiseConfig, tick_s: float) -> None:
        super().__init__(name, seed)
        self.config = config
        self._chance = config.trades_per_minute * tick_s / 60.0 / max(1, config.count)

    def decide(self, view: View, conditions: Conditions) -> list[Action]:
        chance = self._chance * (conditions.run_factor if conditions.run_side else 1.0)
        if self.rng.random() >= chance:
            return []
        buys = conditions.run_side == "yes" if conditions.run_side else self.rng.random() < 0.5
        contracts = self.rng.randint(1, self.config.contracts_max)
        touch = view.ask if buys else view.bid
        if touch is None:
            return []
        slip = self.config.slippage_cents
        price = clamp_cents(touch.price_cents + slip if buys else touch.price_cents - slip)
        return [Place(view.ticker, buys, price, contracts, True, "noise")]


class InformedTaker(Agent):
    role = "informed"

    def __init__(self, name: str, seed: int, config: InformedConfig, tick_s: float) -> None:
        super().__init__(name, seed)
        self.config = config
        self.tick_s = tick_s
        self._cooldown_steps = math.ceil(config.cooldown_s / tick_s)
        self._last_step: dict[str, int] = {}

    def decide(self, view: View, conditions: Conditions) -> list[Action]:
        last = self._last_step.get(view.ticker)
        if last is not None and view.step - last < self._cooldown_steps:
            return []
        fair_cents = view.fair * 100.0
        threshold = self.config.threshold_cents
        cap = self.config.contracts * 10  # an informed trader does not pile up without end
        action: Place | None = None
        if view.ask is not None and fair_cents - view.ask.price_cents >= threshold and view.position < cap:
            limit = clamp_cents(math.floor(fair_cents - threshold / 2))
            action = Place(view.ticker, True, max(limit, view.ask.price_cents), self.config.contracts, True, "informed")
        elif view.bid is not None and view.bid.price_cents - fair_cents >= threshold and view.position > -cap:
            limit = clamp_cents(math.ceil(fair_cents + threshold / 2))
            action = Place(view.ticker, False, min(limit, view.bid.price_cents), self.config.contracts, True, "informed")
        if action is None:
            return []
        self._last_step[view.ticker] = view.step
        return [action]


class Amender(Agent):
    role = "amender"

    def __init__(self, name: str, seed: int, config: AmenderConfig, tick_s: float) -> None:
        super().__init__(name, seed)
        self.config = config
        self._chance = min(1.0, tick_s / config.interval_s)
        self._made = 0

    def _price(self, view: View, is_bid: bool) -> int:
        distance = self.rng.randint(self.config.distance_cents_min, self.config.distance_cents_max)
        centre = round(view.fair * 100.0)
        return clamp_cents(centre - distance if is_bid else centre + distance)

    def decide(self, view: View, conditions: Conditions) -> list[Action]:
        if self.rng.random() >= self._chance:
            return []
        if len(view.resting) < self.config.orders_per_market:
            is_bid = self.rng.random() < 0.5
            self._made += 1
            return [Place(view.ticker, is_bid, self._price(view, is_bid), self.config.contracts, False, f"slow{self._made}")]
        order = view.resting[self.rng.randrange(len(view.resting))]
        if self.rng.random() < 0.5:
            return [Cancel(view.ticker, order.key)]
        price = self._price(view, order.is_bid)
        if price == order.price_cents:
            return []  # an amend that changes nothing is refused; the next chance moves it
        return [Amend(view.ticker, order.key, order.is_bid, price, order.remaining, order.tag)]


@dataclass
class Population:
    """Every agent of a run, in the order they act at each step."""

    agents: list[Agent] = field(default_factory=list)

    def by_role(self, role: str) -> list[Agent]:
        return [agent for agent in self.agents if agent.role == role]
