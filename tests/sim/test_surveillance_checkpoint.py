"""Surveillance resumes from its checkpoint (surveillance/monitor.py): half of a seeded scenario's
entries (honest simulated traffic with the planted manipulators of test_surveillance_scenarios.py) fed
to one consumer, its checkpoint written to a SQLite store, a link and an operator's decision made
after it, and a second consumer on the same store resumes at the checkpoint and reads the rest. Its
alerts (what the detectors decided, and the operator's states) equal an uninterrupted run's over the
same entries with the same link. A checkpoint of other thresholds, or holding anything but the
detectors' own classes, is not used: the journal would be read from the start."""

from __future__ import annotations

import asyncio
import collections
import os
import pickle
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_surveillance_scenarios import CONFIG, Manipulators, WatchedVenue

from predictex.core import events as e
from predictex.journal.sqlite import SqliteStore
from predictex.sim.simulation import Simulation
from predictex.surveillance.config import Thresholds
from predictex.surveillance.detectors import DISMISSED, Detector
from predictex.surveillance.monitor import Surveillance

STEPS = 2_400  # twenty simulated minutes: markets open, trade, close and settle on both sides of the checkpoint

Entry = tuple[int, int, Sequence[e.Event]]


class _Recorder(Detector):
    def __init__(self) -> None:
        super().__init__(Thresholds())
        self.entries: list[Entry] = []

    def feed(self, seq: int, time_ms: int, events: Sequence[e.Event]) -> None:
        self.entries.append((seq, time_ms, list(events)))
        super().feed(seq, time_ms, events)


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    recorder = _Recorder()
    venue = WatchedVenue(CONFIG, recorder)
    simulation = Simulation(CONFIG, 3, venue)

    async def run() -> None:
        await simulation.setup()
        manipulators = Manipulators(venue, 3)
        for step in range(STEPS):
            await venue.sleep_until(simulation.start_s + step * CONFIG.tick_s)
            simulation.step = step
            await simulation.run_step()
            manipulators.act(simulation, step)

    asyncio.run(run())
    return recorder.entries


def _most_frequent_pair(entries: list[Entry]) -> tuple[int, int]:
    """The two accounts that traded with each other most in the entries given."""
    pairs = collections.Counter(tuple(sorted((x.taker_account_id, x.maker_account_id)))
                                for _, _, events in entries for x in events if isinstance(x, e.Trade))
    return next(pair for pair, _ in pairs.most_common() if pair[0] != pair[1])  # type: ignore[misc]


def _surveillance(store: SqliteStore, thresholds: Thresholds | None = None) -> Surveillance:
    return Surveillance(store, thresholds or Thresholds(), lambda account: False, lambda: 1_000)


def _signatures(detector: Detector) -> list[tuple[Any, ...]]:
    return sorted((*a.signature(), a.state, a.note) for a in detector.alerts.values())


def test_a_restart_from_the_checkpoint_raises_the_alerts_of_an_uninterrupted_run(entries: list[Entry], tmp_path: Path) -> None:
    half = len(entries) // 2
    last_seq = entries[-1][0]
    linked = _most_frequent_pair(entries[half:])
    store = SqliteStore(tmp_path / "surveillance.db")
    first = _surveillance(store)
    for seq, time_ms, events in entries[:half]:
        first.detector.feed(seq, time_ms, events)
    first.write_checkpoint(first.checkpoint_bytes())
    checkpoint_seq = entries[half - 1][0]
    assert first.checkpoint_seq == checkpoint_seq
    first.link(*linked, after_seq=checkpoint_seq)  # after the checkpoint: only in the links table
    dismissed = next(iter(first.detector.alerts))
    first.set_state(dismissed, DISMISSED, "seen")

    uninterrupted = Detector(Thresholds())
    uninterrupted.link(checkpoint_seq, *linked)
    for seq, time_ms, events in entries:
        uninterrupted.feed(seq, time_ms, events)
    uninterrupted.alerts[dismissed].state, uninterrupted.alerts[dismissed].note = DISMISSED, "seen"

    second = _surveillance(store)
    assert second.restore(last_seq)
    assert second.processed_seq == checkpoint_seq and second.checkpoint_seq == checkpoint_seq
    for seq, time_ms, events in entries[half:]:
        second.detector.feed(seq, time_ms, events)
    second._restore_states()
    assert len(uninterrupted.alerts) > len(first.detector.alerts) > 0
    assert any(a.kind == "wash_trade" and set(linked) <= set(a.accounts) for a in second.detector.alerts.values())
    assert _signatures(second.detector) == _signatures(uninterrupted)


def test_a_checkpoint_that_does_not_fit_is_not_used(entries: list[Entry], tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "surveillance.db")
    first = _surveillance(store)
    for seq, time_ms, events in entries[:100]:
        first.detector.feed(seq, time_ms, events)
    first.write_checkpoint(first.checkpoint_bytes())
    assert not _surveillance(store, Thresholds(wash_window_ms=1_000)).restore(entries[-1][0])  # other thresholds
    assert not _surveillance(store).restore(entries[50][0])  # beyond the journal's end
    assert _surveillance(store).restore(entries[-1][0])
    first.write_checkpoint((entries[99][0], pickle.dumps(print)))  # not the detectors' classes: never built
    refused = _surveillance(store)
    assert not refused.restore(entries[-1][0]) and refused.processed_seq == 0
    rows = store.query("SELECT data FROM surveillance_checkpoint")
    assert pickle.loads(zlib.decompress(rows[0][0])) is print  # what was refused is what was stored
