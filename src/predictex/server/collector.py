"""The garbage collector's schedule for a long-running exchange, so that no collection stalls the
sequencer for long.

Most of what the exchange allocates is either freed at once by reference counting (a command's
temporaries, its events once encoded) or lives long (resting orders, accounts, views, caches).
CPython's collector scans its old generation again and again as the long-lived objects pile up, and
a collection of the middle or old generation then takes tens of milliseconds, on whichever thread
happens to allocate: that was the 27-34 ms acknowledgement p99 at 22,000-25,000 commands/s.

The schedule here:
- young collections stay automatic, every `young` allocations (1,000): each scans only what was
  allocated since the last one, so the pause is short and grows with the threshold (bench/journal.py
  --gc-growth, 150,000 commands: 1,502 young collections of 1.2 ms on average at 1,000, 149 of 16.5 ms
  at 10,000, less time in all at 1,000). CPython's default (700) had been raised to 10,000 because the
  survivors were scanned again and again on their way to the old generation; frozen at once, they
  are not;
- whatever survives a young collection is frozen at once (`gc.freeze()`, a constant-time splice of
  the collector's lists, run from `gc.callbacks`): it has lived through thousands of allocations and
  is most likely long-lived, and frozen objects are never scanned again. The middle and old
  generations therefore stay empty, and their collections cost nothing. A frozen object that dies
  by reference counting is freed as usual;
- what freezing loses is cyclic garbage: a frozen cycle that becomes unreachable is not found until
  the frozen objects are scanned again. A sweep (unfreeze, collect everything, freeze the survivors)
  finds it. It is the one long pause left, so it runs rarely and when the sequencer says it may: the
  sequencer calls `between_batches(idle)` after each batch, and a sweep is due once the memory blocks
  Python has allocated (`sys.getallocatedblocks()`, read at most every `check_every_s`: it walks the
  allocator's arenas, about 0.1 ms) have grown by `growth` (a quarter, the rule CPython uses for its own
  full collections) since the last sweep. It then runs at the first idle moment, or at once when the
  growth reaches four times that (a sequencer that is never idle). Growth without garbage, a backlog
  of queued commands say, waits for an idle moment, where a sweep would only add a pause. Memory
  stays within that bound of what is live after a sweep, whatever the workload leaves in cycles.
  (The frozen set's size is no measure: `gc.get_freeze_count()` walks it, 16 ms for a million
  objects.)

`install()` applies it to the whole process (the server calls it once its start-up state is loaded);
`uninstall()` restores CPython's own schedule (tests, benchmarks)."""

from __future__ import annotations

import gc
import sys
import time
from typing import Any

YOUNG_THRESHOLD = 1_000  # allocations between young collections (CPython's default: 700)
SWEEP_GROWTH = 0.25  # of the allocated blocks since the last sweep
SWEEP_MIN_BLOCKS = 500_000  # never sweep for less growth than this (a small heap's quarter is nothing)
OVERDUE = 4  # times the bound: sweep even though the sequencer is busy
CHECK_EVERY_S = 0.25


class Collector:
    def __init__(self, young: int = YOUNG_THRESHOLD, growth: float = SWEEP_GROWTH, min_blocks: int = SWEEP_MIN_BLOCKS,
                 check_every_s: float = CHECK_EVERY_S) -> None:
        self.young = young
        self.growth = growth
        self.min_blocks = min_blocks
        self.check_every_s = check_every_s
        self.installed = False
        self.collections = 0  # automatic ones, each followed by a freeze
        self.sweeps = 0
        self.swept_objects = 0  # cyclic garbage the sweeps found
        self.sweep_seconds_max = 0.0
        self.sweep_seconds_total = 0.0
        self._swept_at = 0  # allocated blocks after the last sweep
        self._checked_at = 0.0
        self._due = 0
        self._threshold_before: tuple[int, int, int] | None = None

    def install(self) -> None:
        """Collect and freeze what is alive now (the start-up state), then keep to the schedule."""
        if self.installed:
            return
        self._threshold_before = gc.get_threshold()
        gc.collect()
        gc.freeze()
        self._swept_at = sys.getallocatedblocks()
        gc.set_threshold(self.young, *self._threshold_before[1:])
        gc.callbacks.append(self._collected)
        self.installed = True

    def uninstall(self) -> None:
        if not self.installed:
            return
        gc.callbacks.remove(self._collected)
        if self._threshold_before is not None:
            gc.set_threshold(*self._threshold_before)
        gc.unfreeze()
        self.installed = False

    def _collected(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "stop":
            self.collections += 1
            gc.freeze()

    def sweep_due(self) -> int:
        """0: not due; 1: due (sweep when idle); 2: overdue (sweep now)."""
        grown = sys.getallocatedblocks() - self._swept_at
        bound = max(self.min_blocks, int(self._swept_at * self.growth))
        return 0 if grown < bound else 1 if grown < OVERDUE * bound else 2

    def between_batches(self, idle: bool) -> None:
        """Called by the sequencer between batches; `idle`: nothing is queued or being written."""
        if not self.installed:
            return
        now = time.monotonic()
        if now - self._checked_at >= self.check_every_s:
            self._checked_at = now
            self._due = self.sweep_due()
        if self._due == 2 or (self._due == 1 and idle):
            self.sweep()

    def sweep(self) -> int:
        """Unfreeze, collect everything, freeze the survivors; the number of unreachable objects found."""
        started = time.perf_counter()
        gc.unfreeze()
        found = gc.collect()
        gc.freeze()
        seconds = time.perf_counter() - started
        self._swept_at = sys.getallocatedblocks()
        self._due = 0
        self.sweeps += 1
        self.swept_objects += found
        self.sweep_seconds_total += seconds
        self.sweep_seconds_max = max(self.sweep_seconds_max, seconds)
        return found

    def stats(self) -> dict[str, Any]:
        return {"collections": self.collections, "allocated_blocks": sys.getallocatedblocks(), "sweeps": self.sweeps,
                "swept_objects": self.swept_objects, "sweep_ms_max": round(self.sweep_seconds_max * 1000, 1),
                "sweep_ms_total": round(self.sweep_seconds_total * 1000, 1)}
