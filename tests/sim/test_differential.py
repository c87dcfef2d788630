"""Differential test: one seeded stream of limit orders and cancels goes through predictex and through
three independent matching engines from PyPI (liquibook, obook, pyclob), and every fill (maker order,
taker order, price, count, in execution order) must be the same in all four. A second stream adds
immediate-or-cancel orders and moves (amend to a new price, which loses priority).

The adapters are in bench/peers.py; they give all engines predictex's semantics, keep bids and asks
in disjoint accounts so no self-trade prevention fires, and use prices in whole cents (1..99, which
pyclob requires). A peer is skipped only when its package cannot be imported. A failure names the
seed and the first command where the engines disagree; replay it with that seed.
"""

from __future__ import annotations

import functools
import os
import random
import sys
from typing import Any

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bench"))

from peers import PEERS, PredictexMatcher, peer_available
from predictex.core.invariants import check_invariants

SEEDS = (1, 2, 3, 4, 5)
COMMANDS_PER_STREAM = 2_500
COMPARED_PEERS = ("liquibook", "obook", "pyclob")

Op = tuple[Any, ...]  # ("add" | "ioc", id, is_bid, price, count), ("cancel", id), ("move", id, price)


def _price(rnd: random.Random, is_bid: bool) -> int:
    """Bids mostly 35..55 cents, asks 45..65, so that about a third of the orders cross; now and
    then an order at the edge of the grid."""
    if rnd.random() < 0.02:
        return rnd.choice((1, 2, 98, 99))
    return rnd.randint(35, 55) if is_bid else rnd.randint(45, 65)


def _stream(seed: int, with_ioc_and_moves: bool) -> list[Op]:
    """Orders get ids 1, 2, 3, ... in arrival order; cancels and moves pick any earlier order, which
    may already be filled or cancelled (then they must do nothing, everywhere)."""
    rnd = random.Random(seed)
    ops: list[Op] = []
    next_id = 1
    for _ in range(COMMANDS_PER_STREAM):
        roll = rnd.random()
        if next_id > 1 and roll < 0.25:
            ops.append(("cancel", rnd.randrange(1, next_id)))
        elif with_ioc_and_moves and next_id > 1 and roll < 0.45:
            order_id = rnd.randrange(max(1, next_id - 200), next_id)  # recent orders are more often alive
            ops.append(("move", order_id, _price(rnd, rnd.random() < 0.5)))
        else:
            is_bid = rnd.random() < 0.5
            kind = "ioc" if with_ioc_and_moves and roll > 0.9 else "add"
            count = rnd.randint(1, 5) if rnd.random() < 0.3 else rnd.randint(1, 100)
            ops.append((kind, next_id, is_bid, _price(rnd, is_bid), count))
            next_id += 1
    return ops


def _run(matcher: Any, ops: list[Op]) -> list[Any]:
    """What each command gave: its fills, or for a cancel whether an order was removed."""
    results: list[Any] = []
    for op in ops:
        kind = op[0]
        if kind == "add":
            results.append(matcher.add(*op[1:]))
        elif kind == "ioc":
            results.append(matcher.ioc(*op[1:]))
        elif kind == "cancel":
            results.append(matcher.cancel(op[1]))
        else:
            results.append(matcher.move(op[1], op[2]))
    return results


@functools.cache
def _predictex_results(seed: int, with_ioc_and_moves: bool) -> list[Any]:
    matcher = PredictexMatcher()
    results = _run(matcher, _stream(seed, with_ioc_and_moves))
    check_invariants(matcher.engine)
    fills = sum(len(r) for r in results if isinstance(r, list))
    assert fills > COMMANDS_PER_STREAM // 10, f"seed {seed}: only {fills} fills, the stream hardly trades"
    return results


def _compare(peer: str, seed: int, with_ioc_and_moves: bool) -> None:
    if not peer_available(peer):
        pytest.skip(f"{peer} is not installed")
    expected = _predictex_results(seed, with_ioc_and_moves)
    ops = _stream(seed, with_ioc_and_moves)
    got = _run(PEERS[peer][1](), ops)
    for index, (ours, theirs) in enumerate(zip(expected, got)):
        assert ours == theirs, (
            f"seed {seed}: command #{index} {ops[index]}: predictex gave {ours}, {peer} gave {theirs}"
        )
    assert len(expected) == len(got)


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed={s}" for s in SEEDS])
@pytest.mark.parametrize("peer", COMPARED_PEERS)
def test_limit_orders_and_cancels_fill_identically(peer: str, seed: int) -> None:
    _compare(peer, seed, with_ioc_and_moves=False)


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed={s}" for s in SEEDS])
@pytest.mark.parametrize("peer", (*COMPARED_PEERS, "lightmatchingengine"))
def test_with_ioc_and_moves_fill_identically(peer: str, seed: int) -> None:
    _compare(peer, seed, with_ioc_and_moves=True)
