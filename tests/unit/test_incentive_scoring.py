"""Liquidity incentive scoring (predictex.surveillance.incentives) against an independent scorer
written here from the rules alone: it rebuilds the book from scratch at every second (replaying every
entry up to that second) instead of keeping it up to date, and scores it directly. A seeded random
market (members resting, amending, cancelling and trading, one through a subaccount, one excluded as
simulated) is scored in both of Kalshi's and Polymarket's modes; the scores and the rewards agree to
the microdollar, and the rewards sum to the pool."""

from __future__ import annotations

import random
from typing import Any

import pytest

from predictex.core import commands as c
from predictex.core.engine import Engine
from predictex.core.events import BookChanged, Event, SubaccountCreated
from predictex.surveillance.incentives import KALSHI, POLYMARKET, Program, allocate, score

START_MS = 1_800_000_000_000
TICKER = "KXI-E-M"
POOL = 1_234_567_891  # microdollars: $1,234.567891


def _market() -> tuple[list[tuple[int, list[Event]]], set[int], int]:
    """Five minutes of a random market; the committed entries (time, events), the excluded members, the first member."""
    engine, rng, now = Engine(), random.Random(20), START_MS
    entries: list[tuple[int, list[Event]]] = []

    def apply(command: c.Command) -> Any:
        outcome = engine.apply(command, now)
        entries.append((now, list(outcome.events)))
        return outcome

    apply(c.CreateSeries("KXI", "Incentives", "Testing", "daily"))
    apply(c.CreateEvent("KXI-E", "KXI", "An event"))
    apply(c.CreateMarket(TICKER, "KXI-E", "A market", START_MS - 60_000, START_MS + 3_600_000))
    members = [apply(c.OpenAccount()).value for _ in range(5)]
    for member in members:
        apply(c.Deposit(member, 100_000 * 1_000_000, "test"))
    sub_outcome = apply(c.CreateSubaccount(members[0]))
    [created] = [x for x in sub_outcome.events if isinstance(x, SubaccountCreated)]
    apply(c.TransferBetweenSubaccounts(members[0], 0, 1, 10_000 * 1_000_000, "t"))
    traders = [*members, created.subaccount_account_id]
    resting: list[tuple[int, int]] = []
    while now < START_MS + 300_000:
        now += rng.randrange(0, 2_500)
        account = rng.choice(traders)
        roll = rng.random()
        if roll < 0.55 or not resting:
            is_bid = rng.random() < 0.5
            cents = rng.randrange(35, 50) if is_bid else rng.randrange(50, 66)
            outcome = apply(c.CreateOrder(account, TICKER, is_bid, cents * 100, rng.randrange(1, 60) * 100))
            if outcome.reject is None:
                resting.append((account, outcome.value))
        elif roll < 0.75:
            owner, order = resting.pop(rng.randrange(len(resting)))
            apply(c.CancelOrder(owner, order))
        elif roll < 0.85:
            owner, order = rng.choice(resting)
            apply(c.DecreaseOrder(owner, order, 100, 0))
        else:  # a taker crossing the book
            is_bid = rng.random() < 0.5
            apply(c.CreateOrder(account, TICKER, is_bid, (70 if is_bid else 30) * 100, rng.randrange(1, 40) * 100, "immediate_or_cancel"))
    return entries, {members[4]}, members[0]


# --- the independent scorer ---------------------------------------------------------------------------

def _book_at(entries: list[tuple[int, list[Event]]], second_ms: int, primary: dict[int, int], excluded: set[int]) -> dict[int, dict[str, Any]]:
    """Every resting order of the market after the entries committed at or before `second_ms`, from scratch."""
    orders: dict[int, dict[str, Any]] = {}
    arrival = 0
    for time_ms, events in entries:
        if time_ms > second_ms:
            break
        for event in events:
            if isinstance(event, BookChanged) and event.ticker == TICKER:
                member = primary.get(event.account_id, event.account_id)
                if member in excluded:
                    continue
                held = orders.get(event.order_id)
                if held is None or held["price"] != event.price_centicents:
                    arrival += 1
                    held = orders[event.order_id] = {"member": member, "bid": event.is_bid, "price": event.price_centicents,
                                                      "size": 0, "arrival": arrival}
                held["size"] += event.delta_centicontracts
                if held["size"] <= 0:
                    del orders[event.order_id]
    return orders


def _kalshi_snapshot(orders: dict[int, dict[str, Any]], target: int, factor_bps: int) -> dict[int, int]:
    scores: dict[int, int] = {}
    for bid in (True, False):
        side = [o for o in orders.values() if o["bid"] == bid]
        if not side:
            continue
        side.sort(key=lambda o: (-o["price"] if bid else o["price"], o["arrival"]))
        best = side[0]["price"]
        left = target
        for order in side:
            if left <= 0:
                break
            take = min(order["size"], left)
            left -= take
            cents = abs(order["price"] - best) // 100
            scores[order["member"]] = scores.get(order["member"], 0) + take * (factor_bps**cents * 10**12 // 10_000**cents)
    return scores


def _polymarket_snapshot(orders: dict[int, dict[str, Any]], spread: int, minimum: int) -> dict[int, int]:
    big = [o for o in orders.values() if o["size"] >= minimum]
    bids, asks = [o["price"] for o in big if o["bid"]], [o["price"] for o in big if not o["bid"]]
    if not bids or not asks:
        return {}
    mid2 = max(bids) + min(asks)
    q: dict[int, list[int]] = {}
    for o in big:
        s2 = abs(2 * o["price"] - mid2)
        if s2 < 2 * spread:
            q.setdefault(o["member"], [0, 0])[0 if o["bid"] else 1] += o["size"] * (2 * spread - s2) ** 2 * 10**12 // (4 * spread**2)
    q_min = {}
    for m, (one, two) in q.items():
        q_min[m] = max(min(one, two), max(one, two) // 3) if 2_000 <= mid2 <= 18_000 else min(one, two)
    total = sum(q_min.values())
    return {m: v * 10**18 // total for m, v in q_min.items() if v} if total else {}


def _independent(program: Program, entries: list[tuple[int, list[Event]]], excluded: set[int]) -> dict[int, int]:
    primary = {x.subaccount_account_id: x.account_id for _, events in entries for x in events if isinstance(x, SubaccountCreated)}
    totals: dict[int, int] = {}
    for second in range(program.start_ms, program.end_ms, 1_000):
        orders = _book_at(entries, second, primary, excluded)
        if program.mode == KALSHI:
            snapshot = _kalshi_snapshot(orders, program.target_size_centicontracts, program.discount_factor_bps)
        else:
            snapshot = _polymarket_snapshot(orders, program.max_spread_centicents, program.min_size_centicontracts)
        for m, s in snapshot.items():
            totals[m] = totals.get(m, 0) + s
    return {m: s for m, s in totals.items() if s}


@pytest.mark.parametrize("program", [
    Program(TICKER, START_MS + 30_000, START_MS + 270_000, POOL, KALSHI, target_size_centicontracts=150_00, discount_factor_bps=5_000),
    Program(TICKER, START_MS + 30_000, START_MS + 270_000, POOL, KALSHI, target_size_centicontracts=40_00, discount_factor_bps=9_000),
    Program(TICKER, START_MS + 30_000, START_MS + 270_000, POOL, POLYMARKET, max_spread_centicents=600, min_size_centicontracts=10_00),
], ids=["kalshi-deep", "kalshi-shallow", "polymarket"])
def test_the_engine_scorer_equals_an_independent_one_to_the_microdollar(program: Program) -> None:
    entries, excluded, with_subaccount = _market()
    engine_scores = score(program, entries, lambda member: member in excluded)
    assert engine_scores == _independent(program, entries, excluded)
    assert len(engine_scores) >= 3 and not set(engine_scores) & excluded
    assert with_subaccount in engine_scores  # the subaccount's orders count for its member
    rewards = allocate(program.pool_microdollars, engine_scores)
    assert sum(rewards.values()) == program.pool_microdollars
    assert all(isinstance(r, int) and r > 0 for r in rewards.values())


def test_allocation_splits_the_pool_exactly_and_gives_the_remainder_to_the_largest_fractions() -> None:
    assert allocate(100, {1: 1, 2: 1, 3: 1}) == {1: 34, 2: 33, 3: 33}  # a tie: the lower member
    assert allocate(10, {7: 2, 3: 1}) == {7: 7, 3: 3}  # 6.67 and 3.33: the larger fraction gets the microdollar
    assert allocate(1_000, {}) == {} and allocate(1_000, {1: 0}) == {}
    assert allocate(70_000, {1: 1, 2: 2}, unit_microdollars=10_000) == {1: 20_000, 2: 50_000}  # whole cents
    with pytest.raises(ValueError, match="not a whole number"):
        allocate(70_001, {1: 1}, unit_microdollars=10_000)
