"""Liquidity incentive scoring by deterministic replay of committed events.

A program names a market, a period [start, end), a reward pool (integer microdollars) and its scoring
mode. The book is rebuilt from `BookChanged` events (each order's resting size at its price, in time
priority at its level) and scored at every whole second of the period, with the state after every
entry committed at or before that second. Everything is integer arithmetic, so the same journal gives
the same rewards to the microdollar:

- **kalshi** (Kalshi's Liquidity Incentive Program): on each side, from the best price outward and in
  time priority, only the contracts that help reach `target_size` qualify (the order that crosses it
  counts in part); each qualifying contract scores the discount factor raised to its distance in cents
  from the best price of its side (`MULTIPLIER_SCALE`ths, rounded down once per distance). A member's
  score is the sum of its snapshot scores over the period; its share of the pool is its score over
  everyone's.
- **polymarket** (Polymarket's published liquidity-reward formula): orders of at least `min_size` within
  `max_spread` of the size-cut midpoint score ((v - s) / v)^2 * size; Q_one sums a member's bids, Q_two
  its asks; Q_min = max(min(Q_one, Q_two), max(Q_one, Q_two) / 3) while the midpoint is within
  [10¢, 90¢], else min(Q_one, Q_two); each sample's Q_min is normalised over the members
  (`SAMPLE_SCALE`ths, rounded down), and a member's share is its sum over the samples over everyone's.

Members are primary accounts (a subaccount's orders count for its member); `excluded` members (the
simulator's, and linked ones) neither score nor count toward the target. `allocate` splits the pool by
the scores: each member gets its share rounded down, and the microdollars left go one each to the
largest remainders (ties: the lower account), so the rewards sum to the pool exactly (when nobody
scored, nothing is paid).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

from predictex.core import events as e

KALSHI = "kalshi"
POLYMARKET = "polymarket"
MODES = (KALSHI, POLYMARKET)
MULTIPLIER_SCALE = 10**12
SAMPLE_SCALE = 10**18
POLYMARKET_SCALING = 3  # Polymarket's c
POLYMARKET_MID_LOW_CENTICENTS = 1_000  # 10 cents: outside [10c, 90c] a member must quote both sides
POLYMARKET_MID_HIGH_CENTICENTS = 9_000
_CENT_CENTICENTS = 100
_BPS = 10_000
_SECOND_MS = 1_000


@dataclasses.dataclass(frozen=True)
class Program:
    ticker: str
    start_ms: int
    end_ms: int
    pool_microdollars: int
    mode: str = KALSHI
    target_size_centicontracts: int = 0  # kalshi
    discount_factor_bps: int = _BPS  # kalshi
    max_spread_centicents: int = 0  # polymarket: v
    min_size_centicontracts: int = 0  # polymarket


class _Book:
    """Resting orders of one market by side and price, each level in time priority."""

    def __init__(self) -> None:
        self.sides: tuple[dict[int, dict[int, list[int]]], dict[int, dict[int, list[int]]]] = ({}, {})  # asks, bids

    def change(self, event: e.BookChanged, member: int) -> None:
        levels = self.sides[1 if event.is_bid else 0]
        level = levels.setdefault(event.price_centicents, {})
        held = level.get(event.order_id)
        size = (held[0] if held else 0) + event.delta_centicontracts
        if size > 0:
            if held:
                held[0] = size
            else:
                level[event.order_id] = [size, member]
        else:
            level.pop(event.order_id, None)
            if not level:
                del levels[event.price_centicents]


class Scorer:
    def __init__(self, program: Program, excluded: Callable[[int], bool] = lambda member: False) -> None:
        if program.mode not in MODES:
            raise ValueError(f"scoring mode must be one of {', '.join(MODES)}")
        self.program = program
        self._excluded = excluded
        self._primary: dict[int, int] = {}
        self._book = _Book()
        self._next_ms = program.start_ms + (-program.start_ms) % _SECOND_MS  # the first whole second
        self._dirty = True
        self._snapshot: dict[int, int] = {}
        self.scores: dict[int, int] = {}
        self.snapshots = 0
        factor = program.discount_factor_bps
        self._multipliers = [factor**d * MULTIPLIER_SCALE // _BPS**d for d in range(_BPS // _CENT_CENTICENTS + 1)]

    def feed(self, time_ms: int, events: Sequence[e.Event]) -> None:
        """One committed entry, in sequence: the seconds before it are scored first."""
        self._score_until(min(time_ms, self.program.end_ms))
        for event in events:
            if type(event) is e.BookChanged and event.ticker == self.program.ticker:
                member = self._primary.get(event.account_id, event.account_id)
                if not self._excluded(member):
                    self._book.change(event, member)
                    self._dirty = True
            elif type(event) is e.SubaccountCreated:
                self._primary[event.subaccount_account_id] = event.account_id

    def finish(self) -> dict[int, int]:
        """Score the seconds left in the period; the members' scores."""
        self._score_until(self.program.end_ms)
        return self.scores

    def _score_until(self, until_ms: int) -> None:
        """Every whole second strictly before `until_ms` (an entry at second t is in t's snapshot)."""
        while self._next_ms < until_ms:
            if self._dirty:
                self._snapshot = self._kalshi() if self.program.mode == KALSHI else self._polymarket()
                self._dirty = False
            for member, score in self._snapshot.items():
                self.scores[member] = self.scores.get(member, 0) + score
            self.snapshots += 1
            self._next_ms += _SECOND_MS

    def _kalshi(self) -> dict[int, int]:
        scores: dict[int, int] = {}
        target = self.program.target_size_centicontracts
        for is_bid, levels in ((True, self._book.sides[1]), (False, self._book.sides[0])):
            if not levels:
                continue
            prices = sorted(levels, reverse=is_bid)
            best, counted = prices[0], 0
            for price in prices:
                multiplier = self._multipliers[min(abs(price - best) // _CENT_CENTICENTS, len(self._multipliers) - 1)]
                for size, member in levels[price].values():
                    qualifying = min(size, target - counted)
                    counted += qualifying
                    scores[member] = scores.get(member, 0) + qualifying * multiplier
                    if counted >= target:
                        break
                if counted >= target:
                    break
        return {m: s for m, s in scores.items() if s}

    def _polymarket(self) -> dict[int, int]:
        program = self.program
        minimum, spread = program.min_size_centicontracts, program.max_spread_centicents
        asks, bids = self._book.sides
        big_bids = [p for p, level in bids.items() if any(size >= minimum for size, _ in level.values())]
        big_asks = [p for p, level in asks.items() if any(size >= minimum for size, _ in level.values())]
        if not big_bids or not big_asks or spread <= 0:
            return {}
        mid_twice = max(big_bids) + min(big_asks)  # twice the midpoint, in centicents
        one: dict[int, int] = {}
        two: dict[int, int] = {}
        for levels, q in ((bids, one), (asks, two)):
            for price, level in levels.items():
                distance_twice = abs(2 * price - mid_twice)
                if distance_twice >= 2 * spread:
                    continue
                for size, member in level.values():
                    if size >= minimum:
                        q[member] = q.get(member, 0) + size * (2 * spread - distance_twice) ** 2 * MULTIPLIER_SCALE // (4 * spread * spread)
        inside = 2 * POLYMARKET_MID_LOW_CENTICENTS <= mid_twice <= 2 * POLYMARKET_MID_HIGH_CENTICENTS
        q_min: dict[int, int] = {}
        for member in sorted(set(one) | set(two)):
            a, b = one.get(member, 0), two.get(member, 0)
            value = max(min(a, b), max(a, b) // POLYMARKET_SCALING) if inside else min(a, b)
            if value:
                q_min[member] = value
        total = sum(q_min.values())
        return {m: v * SAMPLE_SCALE // total for m, v in q_min.items()} if total else {}


def score(program: Program, entries: Iterable[tuple[int, Sequence[e.Event]]], excluded: Callable[[int], bool] = lambda member: False) -> dict[int, int]:
    """The members' scores over a program's period from committed entries (time, events), in sequence."""
    scorer = Scorer(program, excluded)
    for time_ms, events in entries:
        if time_ms >= program.end_ms:
            break
        scorer.feed(time_ms, events)
    return scorer.finish()


def allocate(pool_microdollars: int, scores: dict[int, int], unit_microdollars: int = 1) -> dict[int, int]:
    """The pool split by score in whole `unit`s (a deposit is whole cents): rounded down, the units left
    one each to the largest remainders (ties: the lower member), so the rewards sum to the pool exactly
    (a pool of whole units); {} when nobody scored."""
    if pool_microdollars % unit_microdollars:
        raise ValueError(f"a pool of {pool_microdollars} microdollars is not a whole number of {unit_microdollars}")
    pool = pool_microdollars // unit_microdollars
    total = sum(scores.values())
    if total <= 0 or pool <= 0:
        return {}
    rewards: dict[int, int] = {}
    remainders: list[tuple[int, int]] = []
    for member in sorted(scores):
        whole, remainder = divmod(pool * scores[member], total)
        rewards[member] = whole
        remainders.append((-remainder, member))
    left = pool - sum(rewards.values())
    for _, member in sorted(remainders)[:left]:
        rewards[member] += 1
    return {m: r * unit_microdollars for m, r in rewards.items() if r}
