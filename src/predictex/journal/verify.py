"""Verifying and exporting a journal (the `predictex journal` commands).

`verify` first checks the chain of batch hashes (`check_chain`: a batch changed, removed or put in
another's place is named by its position and sequence numbers), then replays the whole journal into a fresh engine, insisting that every record regenerates
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
from predictex.journal.base import JournalStore
from predictex.journal.journal import Journal, collection_paused, replay
from predictex.journal.records import GENESIS_HASH, JournalError, chain_hash

INVARIANT_CHECK_EVERY = 10_000


class ChainBroken(JournalError):
    """The chain of batch hashes breaks at a batch: it, or one before it, was changed, removed or moved."""

    def __init__(self, position: int, first_seq: int, last_seq: int, reason: str) -> None:
        super().__init__(f"the audit chain breaks at batch {position} (sequences {first_seq}-{last_seq}): {reason}")
        self.position = position
        self.first_seq = first_seq
        self.last_seq = last_seq
        self.reason = reason


class Chain:
    """What `check_chain` found: how many batches, and the newest batch's chain hash (hex), which an
    operator can note down elsewhere so that a rewritten journal cannot pass for this one."""

    def __init__(self, batches: int, head: str) -> None:
        self.batches = batches
        self.head = head


def check_chain(store: JournalStore) -> Chain:
    """Every batch's chain hash recomputed from the one before; the first that differs, or the first
    whose sequence numbers do not follow on, raises ChainBroken naming it (1-based position)."""
    previous = GENESIS_HASH
    expected_first = 1
    position = 0
    for batch in store.batches():
        position += 1
        span = (position, batch.first_seq, batch.last_seq)
        if batch.first_seq != expected_first:
            missing = f"sequences {expected_first}-{batch.first_seq - 1} are missing" if batch.first_seq > expected_first else \
                f"it starts at {batch.first_seq}, inside the batch before it"
            raise ChainBroken(*span, f"{missing} (a batch was removed or moved)")
        if not batch.chain_hash:
            raise ChainBroken(*span, "it carries no chain hash")
        if chain_hash(previous, batch.first_seq, batch.last_seq, batch.record_count, batch.data) != batch.chain_hash:
            raise ChainBroken(*span, "its hash does not match its contents and the batch before it "
                                     "(it was changed, or another batch was put in its place)")
        previous = batch.chain_hash
        expected_first = batch.last_seq + 1
    return Chain(position, previous.hex())


class Verification:
    def __init__(self) -> None:
        self.batches = 0
        self.chain_head = ""
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
    if not journal.unchained:
        chain = check_chain(journal.store)
        result.batches, result.chain_head = chain.batches, chain.head
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
        line: dict[str, object] = {"seq": record.seq, "time_ms": record.time_ms, "command": record.command, "events": record.events}
        if record.source_json:
            line["source"] = record.source
        yield orjson.dumps(line) + b"\n"
