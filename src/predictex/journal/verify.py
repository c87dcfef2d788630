"""Verifying and exporting a journal (the `predictex journal` commands).

`verify` replays the whole journal into a fresh engine, insisting that every record regenerates
exactly its stored events, checks the engine's invariants along the way and at the end, and checks
every stored snapshot against the replayed state at its sequence number. `export` writes the journal
as JSON lines, one record per line, for keeping and analysing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import IO

import orjson

from predictex.core.engine import Engine
from predictex.core.invariants import check_invariants
from predictex.core.snapshot import state_hash
from predictex.journal.journal import Journal, collection_paused, replay
from predictex.journal.records import JournalError

INVARIANT_CHECK_EVERY = 10_000


class Verification:
    def __init__(self) -> None:
        self.commands = 0
        self.events = 0
        self.last_seq = 0
        self.state_hash = ""
        self.snapshots_checked = 0
        self.seconds = 0.0


def verify(journal: Journal, progress: IO[str] | None = None) -> Verification:
    with collection_paused():
        return _verify(journal, progress)


def _verify(journal: Journal, progress: IO[str] | None) -> Verification:
    started = time.perf_counter()
    result = Verification()
    engine = Engine()
    snapshots = {s.seq: s.state_hash for s in journal.store.snapshots()}
    expected = 1
    for record in journal.records(0):
        if record.seq != expected:
            raise JournalError(f"sequence {expected} is missing (next stored is {record.seq})")
        replay(engine, record)
        result.commands += 1
        result.events += record.event_count
        result.last_seq = record.seq
        expected += 1
        if record.seq in snapshots:
            if state_hash(engine) != snapshots[record.seq]:
                raise JournalError(f"the snapshot at sequence {record.seq} does not match the replayed state")
            result.snapshots_checked += 1
        if record.seq % INVARIANT_CHECK_EVERY == 0:
            check_invariants(engine)
            if progress is not None:
                progress.write(f"  ... {record.seq} commands replayed\n")
                progress.flush()
    check_invariants(engine)
    result.state_hash = state_hash(engine)
    result.seconds = time.perf_counter() - started
    return result


def export_lines(journal: Journal, after_seq: int = 0) -> Iterator[bytes]:
    for record in journal.records(after_seq):
        yield orjson.dumps({
            "seq": record.seq, "time_ms": record.time_ms, "command": record.command, "events": record.events,
        }) + b"\n"
