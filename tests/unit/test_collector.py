"""The garbage collector's schedule (server/collector.py): survivors of young collections are frozen,
frozen cyclic garbage is found by a sweep, and sweeps run between batches when memory has grown."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from predictex.server.collector import Collector


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> tuple[Node, Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a, b


@pytest.fixture
def collector() -> Iterator[Collector]:
    collector = Collector(young=700, growth=0.25, min_blocks=20_000, check_every_s=0)
    collector.install()
    try:
        yield collector
    finally:
        collector.uninstall()


def test_what_survives_a_young_collection_is_frozen(collector: Collector) -> None:
    assert gc.get_threshold()[0] == 700
    kept = [[i] for i in range(5_000)]  # lists are tracked by the collector; enough for several young collections
    gc.collect(0)
    assert collector.collections > 0
    assert gc.get_objects(generation=1) == [] and gc.get_objects(generation=2) == []  # the older generations stay empty
    frozen = gc.get_freeze_count()
    assert frozen >= len(kept)
    del kept
    assert gc.get_freeze_count() <= frozen - 5_000  # frozen objects freed by reference counting leave the frozen set


def test_frozen_cyclic_garbage_is_found_by_a_sweep_and_only_then(collector: Collector) -> None:
    a, _ = cycle()
    gone = weakref.ref(a)
    gc.collect(0)  # the cycle is alive: frozen
    del a, _
    gc.collect(0)
    gc.collect(1)
    assert gone() is not None  # frozen: no ordinary collection sees it
    assert collector.sweep() >= 2
    assert gone() is None
    assert collector.sweeps == 1 and collector.swept_objects >= 2


def test_a_due_sweep_waits_for_an_idle_moment_unless_overdue(collector: Collector) -> None:
    kept: list[list[int]] = []
    while collector.sweep_due() == 0:
        kept.extend([i] for i in range(5_000))
        gc.collect(0)
    collector.between_batches(idle=False)
    assert collector.sweeps == 0  # due, but the sequencer is busy
    collector.between_batches(idle=True)
    assert collector.sweeps == 1 and collector.sweep_due() == 0
    busy_while_due = 0
    while collector.sweeps == 1:  # the sequencer never idle: growth goes on until the sweep is overdue
        kept.extend([i] for i in range(5_000))
        gc.collect(0)
        due = collector.sweep_due()
        busy_while_due += due == 1
        collector.between_batches(idle=False)
        assert collector.sweeps == (2 if due == 2 else 1)
    assert busy_while_due > 0


def test_uninstall_restores_cpythons_schedule() -> None:
    before = gc.get_threshold()
    collector = Collector(young=12_345)
    collector.install()
    assert gc.get_threshold()[0] == 12_345 and gc.get_freeze_count() > 0
    collector.uninstall()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert collector._collected not in gc.callbacks
    collector.between_batches(idle=True)  # not installed: does nothing
    assert collector.sweeps == 0
