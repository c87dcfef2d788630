"""Rate limits: Kalshi's token buckets (reference §8.3), one Read and one Write bucket per member.

A bucket refills continuously at the tier's budget (tokens per second) up to its capacity: two
seconds of budget for the Read buckets of Basic and Advanced and for the Write buckets above Basic,
one second otherwise. A request passes when the bucket holds its cost (10 unless a per-endpoint cost
is given) and takes the cost out; a refused request takes nothing and is told how long until it would
pass (for Retry-After). There is no cooldown after a refusal.

Arithmetic is exact: levels are kept in thousandths of a token, so a budget of B tokens per second
refills exactly B thousandths per millisecond.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from predictex.accounts._common import DEFAULT_REQUEST_COST, RATE_BUCKETS_MAX, Clock
from predictex.accounts.members import Tier


class Lane(enum.StrEnum):
    READ = "read"  # GETs and everything that is not a write
    WRITE = "write"  # order place/amend/cancel, order groups, RFQ quote flow, block-trade accepts


@dataclass(frozen=True, slots=True)
class Budget:
    """One bucket's figures as `GET /account/limits` shows them."""

    refill_rate: int  # tokens per second
    bucket_capacity: int  # tokens


_BUDGET_PER_S: dict[Tier, tuple[int, int]] = {  # (read, write) tokens per second, reference §8.3
    Tier.BASIC: (200, 100),
    Tier.ADVANCED: (300, 300),
    Tier.EXPERT: (600, 600),
    Tier.PREMIER: (1_000, 1_000),
    Tier.PARAGON: (2_000, 2_000),
    Tier.PRIME: (4_000, 4_000),
    Tier.PRESTIGE: (10_000, 8_000),
}


def budget(tier: Tier, lane: Lane) -> Budget:
    read_per_s, write_per_s = _BUDGET_PER_S[tier]
    if lane is Lane.READ:
        seconds = 2 if tier in (Tier.BASIC, Tier.ADVANCED) else 1
        return Budget(read_per_s, read_per_s * seconds)
    seconds = 1 if tier is Tier.BASIC else 2
    return Budget(write_per_s, write_per_s * seconds)


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    cost: int
    retry_after_ms: int | None  # refused: ms until the same request would pass; None if it never can


class _Bucket:
    __slots__ = ("capacity_milli", "level_milli", "refill_milli_per_ms", "tier", "updated_ms")

    def __init__(self, tier: Tier, lane: Lane, now_ms: int) -> None:
        figures = budget(tier, lane)
        self.tier = tier
        self.refill_milli_per_ms = figures.refill_rate  # B tokens/s = B thousandths per ms
        self.capacity_milli = figures.bucket_capacity * 1000
        self.level_milli = self.capacity_milli
        self.updated_ms = now_ms

    def refill(self, now_ms: int) -> None:
        if now_ms > self.updated_ms:
            level_milli = self.level_milli + (now_ms - self.updated_ms) * self.refill_milli_per_ms
            self.level_milli = level_milli if level_milli < self.capacity_milli else self.capacity_milli
            self.updated_ms = now_ms


class RateLimiter:
    """Token buckets per (member, lane). `endpoint_costs` maps (METHOD, route) to a cost in tokens."""

    def __init__(self, clock: Clock, endpoint_costs: Mapping[tuple[str, str], int] | None = None,
                 default_cost: int = DEFAULT_REQUEST_COST) -> None:
        self._clock = clock
        self._costs = {(method.upper(), route): cost for (method, route), cost in (endpoint_costs or {}).items()}
        self.default_cost = default_cost
        self._buckets: dict[tuple[int, Lane], _Bucket] = {}
        self._lock = threading.Lock()
        self._allowed: dict[int, RateDecision] = {}  # by cost: a passing decision is the same every time

    @property
    def costs(self) -> dict[tuple[str, str], int]:
        """The endpoints whose cost is not the default (for `GET /account/endpoint_costs`)."""
        return dict(self._costs)

    def cost(self, method: str, route: str) -> int:
        """The cost of an endpoint (its route template, e.g. /portfolio/orders/{order_id})."""
        return self._costs.get((method.upper(), route), self.default_cost)

    def acquire(self, member_id: int, tier: Tier, lane: Lane, cost: int | None = None) -> RateDecision:
        """Take `cost` tokens (default: the default cost) from the member's bucket, or say when it
        would pass."""
        cost = self.default_cost if cost is None else cost
        now_ms = self._clock()
        with self._lock:
            bucket = self._buckets.get((member_id, lane))
            if bucket is None or bucket.tier is not tier:
                bucket = self._bucket(member_id, tier, lane, now_ms)
            bucket.refill(now_ms)
            cost_milli = cost * 1000
            if bucket.level_milli >= cost_milli:
                bucket.level_milli -= cost_milli
                allowed = self._allowed.get(cost)
                if allowed is None:
                    allowed = self._allowed[cost] = RateDecision(True, cost, 0)
                return allowed
            if cost_milli > bucket.capacity_milli:
                return RateDecision(False, cost, None)
            missing_milli = cost_milli - bucket.level_milli
        return RateDecision(False, cost, -(-missing_milli // bucket.refill_milli_per_ms))  # ceiling division

    def tokens(self, member_id: int, tier: Tier, lane: Lane) -> int:
        """Whole tokens in the member's bucket now (a fresh bucket is full)."""
        now_ms = self._clock()
        with self._lock:
            bucket = self._bucket(member_id, tier, lane, now_ms)
            bucket.refill(now_ms)
            return bucket.level_milli // 1000

    def _bucket(self, member_id: int, tier: Tier, lane: Lane, now_ms: int) -> _Bucket:
        bucket = self._buckets.get((member_id, lane))
        if bucket is None:
            if len(self._buckets) >= RATE_BUCKETS_MAX:
                self._drop_full(now_ms)
            bucket = self._buckets[(member_id, lane)] = _Bucket(tier, lane, now_ms)
        elif bucket.tier is not tier:  # tier changed: new figures, keeping what was left (up to the new capacity)
            bucket.refill(now_ms)
            level_milli = bucket.level_milli
            bucket = self._buckets[(member_id, lane)] = _Bucket(tier, lane, now_ms)
            bucket.level_milli = min(level_milli, bucket.capacity_milli)
        return bucket

    def _drop_full(self, now_ms: int) -> None:
        """Forget buckets that have refilled (a full bucket is what a new one would be)."""
        for key, bucket in list(self._buckets.items()):
            bucket.refill(now_ms)
            if bucket.level_milli >= bucket.capacity_milli:
                del self._buckets[key]
        if len(self._buckets) >= RATE_BUCKETS_MAX:
            self._buckets.pop(next(iter(self._buckets)))
