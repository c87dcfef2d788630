"""An event's hidden underlying and its markets' fair probabilities.

The underlying X is a random walk on a grid of steps (one step per decision tick) with Poisson news
jumps. Units are chosen so that sigma·√period = 1: over a whole period the walk moves by one unit, and
a jump's size is in the same units. A market with strike K is worth

    p_t = Φ((X_t - K) / (sigma·√(T - t)))

the probability that X ends above K if it keeps walking; as t reaches the close T, p_t goes to 0 or
1 and the market is determined by X_T > K. Strikes are placed so each market starts at the
probability the config asks for. Floats are fine here: this is the hidden model, and what reaches the
exchange is whole cents (agents.py).

The path depends only on the seed string it was given and on the steps, never on the wall clock:
the same seed and config give the same path.
"""

from __future__ import annotations

import math
import random
from statistics import NormalDist

from predictex.sim.config import SeriesConfig

_NORMAL = NormalDist()
PROBABILITY_MIN = 1e-9  # Φ⁻¹ of exactly 0 or 1 is infinite


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def normal_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def normal_quantile(p: float) -> float:
    return _NORMAL.inv_cdf(min(1.0 - PROBABILITY_MIN, max(PROBABILITY_MIN, p)))


class Underlying:
    """One event's underlying, from its first step (0) to its close (`duration_s` later)."""

    def __init__(self, seed: str, series: SeriesConfig, duration_s: float, tick_s: float) -> None:
        self._rng = random.Random(seed)
        self.duration_s = duration_s
        self.tick_s = tick_s
        self.sigma = 1.0 / math.sqrt(series.period_s)  # per √second: one unit over a whole period
        self._step_sd = series.volatility * self.sigma * math.sqrt(tick_s)
        self._jump_probability = min(1.0, series.jumps_per_hour * tick_s / 3600.0)
        self._jump_sd = series.jump_size
        whole_sd = self.sigma * math.sqrt(duration_s)
        self.strikes = tuple(-normal_quantile(p) * whole_sd for p in series.strikes)
        self.value = 0.0
        self.step = 0
        self.jumps: list[tuple[int, float]] = []  # (step, size): news and scripted shocks

    def advance_to(self, step: int) -> None:
        """Walk to `step` (steps already taken are not taken again)."""
        while self.step < step:
            self.step += 1
            self.value += self._rng.gauss(0.0, self._step_sd) if self._step_sd else 0.0
            if self._jump_probability and self._rng.random() < self._jump_probability:
                self.shock(self._rng.gauss(0.0, self._jump_sd))

    def shock(self, size: float) -> None:
        """A jump of `size` units now (news; scripted events call it too)."""
        self.value += size
        self.jumps.append((self.step, size))

    def seconds_left(self) -> float:
        return max(0.0, self.duration_s - self.step * self.tick_s)

    def probability(self, strike_index: int) -> float:
        """The fair probability of market `strike_index` at the current step."""
        distance = self.value - self.strikes[strike_index]
        left = self.seconds_left()
        if left <= 0.0:
            return 1.0 if distance > 0.0 else 0.0
        return normal_cdf(distance / (self.sigma * math.sqrt(left)))

    def outcome(self, strike_index: int) -> bool:
        """Whether market `strike_index` resolves YES: the underlying ended above its strike."""
        return self.value > self.strikes[strike_index]

    def strike_level(self, strike_index: int) -> float:
        """The strike shown to people: an index around 100 that moves 10 points per unit."""
        return 100.0 + 10.0 * self.strikes[strike_index]
