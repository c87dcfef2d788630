"""The journal: the durable history of every command the engine applied, and the way back to the
state it left.

`Journal.append` stores a batch of records (one transaction, durable on return). `Journal.recover`
rebuilds an engine: the newest good snapshot, then every record after it replayed, with the
regenerated events compared to the stored ones. A torn last batch (a crash mid-write; never
acknowledged) is discarded; damage anywhere else stops recovery with the sequence number.

Every batch is stored with its chain hash (journal.records: `chain_hash`), computed from the hash of the
batch before it, which the journal keeps as its `head`. A journal of format 2 (before chain hashes) is
migrated when it is opened: its batches are chained in order as they stand, so the chain attests to
them from that moment on; `journal.verify.check_chain` checks the chain.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
import zlib
from collections.abc import Iterator
from typing import Any

import orjson

from predictex.core.codec import decode_command, encode_events
from predictex.core.engine import Engine
from predictex.core.snapshot import restore_snapshot, state_hash, take_snapshot
from predictex.journal.base import JournalStore, StoredBatch, StoredSnapshot, TableWrite
from predictex.journal.records import (
    GENESIS_HASH,
    JournalDamaged,
    JournalError,
    Record,
    TornBatch,
    chain_hash,
    decode_batch,
    encode_batch,
)
from predictex.journal.snapshots import encode_snapshot

log = logging.getLogger("predictex.journal")

JOURNAL_FORMAT = "4"  # 4: records may carry their command's source; 3: batches carry chain hashes
UNCHAINED_FORMAT = "2"  # before chain hashes: chained on opening
UNSOURCED_FORMAT = "3"  # readable as it is: marked 4 on opening (an older build must not append to it after)
MIGRATION_BATCHES = 500  # chain hashes written per transaction when a format-2 journal is migrated
SNAPSHOTS_KEPT = 3


class Recovery:
    """What recovery found and did."""

    def __init__(self) -> None:
        self.engine = Engine()
        self.last_seq = 0
        self.last_time_ms = 0
        self.snapshot_seq = 0
        self.replayed = 0
        self.torn_records_discarded = 0
        self.seconds = 0.0


def open_store(location: str) -> JournalStore:
    """A store from a location: a PostgreSQL URL, "memory:", or a SQLite file path (optionally
    sqlite:///path)."""
    if location.startswith(("postgresql://", "postgres://")):
        from predictex.journal.postgres import PostgresStore

        return PostgresStore(location)
    if location == "memory:":
        from predictex.journal.memory import MemoryStore

        return MemoryStore()
    from predictex.journal.sqlite import SqliteStore

    path = location.removeprefix("sqlite://")
    return SqliteStore(path)


class Journal:
    """A journal on a store. `reading_only` (the `journal verify` and `export` commands, which take no
    lock) writes nothing: a format-2 journal is left unchained (`unchained`) for the server to migrate."""

    def __init__(self, store: JournalStore, reading_only: bool = False) -> None:
        self.store = store
        found = store.get_meta("journal_format")
        self.unchained = found == UNCHAINED_FORMAT and reading_only
        if found == UNCHAINED_FORMAT:
            if not reading_only:
                self._chain_unhashed_batches()
                store.set_meta("journal_format", JOURNAL_FORMAT)
        elif found == UNSOURCED_FORMAT:
            if not reading_only:
                store.set_meta("journal_format", JOURNAL_FORMAT)
        elif found is None and reading_only:
            pass  # an empty store the command was pointed at: nothing to mark
        elif found is None:
            store.set_meta("journal_format", JOURNAL_FORMAT)
        elif found != JOURNAL_FORMAT:
            raise JournalError(f"journal format {found} is not supported (this build reads {JOURNAL_FORMAT})")
        self.head = self._stored_head()

    def _stored_head(self) -> bytes:
        last = self.store.last_batch()
        return GENESIS_HASH if last is None else last.chain_hash

    def _chain_unhashed_batches(self) -> None:
        """The migration from format 2: every batch without a chain hash gets one, in order."""
        previous = GENESIS_HASH
        pending: list[tuple[int, bytes]] = []
        for batch in self.store.batches():
            if not batch.chain_hash:
                batch.chain_hash = chain_hash(previous, batch.first_seq, batch.last_seq, batch.record_count, batch.data)
                pending.append((batch.first_seq, batch.chain_hash))
            previous = batch.chain_hash
            if len(pending) == MIGRATION_BATCHES:
                self.store.set_chain_hashes(pending)
                pending = []
        self.store.set_chain_hashes(pending)
        log.warning("journal migrated to format %s: its batches now carry chain hashes", JOURNAL_FORMAT)

    # --- writing --------------------------------------------------------------------------------

    def append(self, records: list[Record], writes: list[TableWrite]) -> StoredBatch | None:
        """Store a batch chained to the one before (one writer at a time: the sequencer's); the batch as
        stored (None for no records)."""
        if not records:
            return None
        first_seq, last_seq, data = records[0].seq, records[-1].seq, encode_batch(records)
        hashed = chain_hash(self.head, first_seq, last_seq, len(records), data)
        batch = StoredBatch(first_seq, last_seq, len(records), data, hashed)
        self.store.append(batch, writes)
        self.head = hashed
        return batch

    def save_snapshot(self, seq: int, snapshot: dict[str, Any]) -> None:
        """Store a snapshot taken by `capture` with its state hash. The snapshot is plain data of its own,
        so this (encoding, hashing, compressing: most of the cost) can run on another thread while the
        engine moves on."""
        self.store_snapshot(encode_snapshot(seq, snapshot))

    def store_snapshot(self, snapshot: StoredSnapshot) -> None:
        """Store a snapshot already encoded (`journal.snapshots`: by a forked child), keeping the newest
        SNAPSHOTS_KEPT."""
        self.store.save_snapshot(snapshot, SNAPSHOTS_KEPT)

    @staticmethod
    def capture(engine: Engine) -> dict[str, Any]:
        """The engine's snapshot, taken between commands (on the thread that applies them)."""
        return take_snapshot(engine)

    # --- reading --------------------------------------------------------------------------------

    def records(self, after_seq: int = 0) -> Iterator[Record]:
        """Every committed record after `after_seq`, checked. A torn last batch is skipped here (recovery
        deletes it); damage raises JournalDamaged."""
        last = self.store.last_batch()
        for batch in self.store.batches(after_seq):
            try:
                records = decode_batch(batch.data, batch.first_seq, batch.record_count)
            except TornBatch as torn:
                if last is not None and batch.first_seq == last.first_seq:
                    return
                raise JournalDamaged(torn.first_seq + torn.complete_records, "record truncated in the middle of the journal") from torn
            if len(records) != batch.record_count or (records and records[-1].seq != batch.last_seq):
                raise JournalDamaged(batch.first_seq, f"batch holds {len(records)} records, expected {batch.record_count}")
            for record in records:
                if record.seq > after_seq:
                    yield record

    def last_seq(self) -> int:
        last = self.store.last_batch()
        return 0 if last is None else last.last_seq

    # --- recovery -------------------------------------------------------------------------------

    def recover(self) -> Recovery:
        with collection_paused():
            return self._recover()

    def _recover(self) -> Recovery:
        started = time.perf_counter()
        recovery = Recovery()
        recovery.torn_records_discarded = self._discard_torn_tail()
        self.head = self._stored_head()
        last_committed = self.last_seq()
        self._load_snapshot(recovery, last_committed)
        expected = recovery.last_seq + 1
        for record in self.records(recovery.last_seq):
            if record.seq != expected:
                raise JournalDamaged(expected, f"sequence {expected} is missing (next stored is {record.seq})")
            replay(recovery.engine, record)
            recovery.last_seq = record.seq
            recovery.last_time_ms = record.time_ms
            recovery.replayed += 1
            expected += 1
        if recovery.last_seq != last_committed:
            raise JournalDamaged(recovery.last_seq + 1, f"journal ends at {recovery.last_seq}, batches claim {last_committed}")
        recovery.seconds = time.perf_counter() - started
        return recovery

    def _discard_torn_tail(self) -> int:
        last = self.store.last_batch()
        if last is None:
            return 0
        try:
            decode_batch(last.data, last.first_seq, last.record_count)
        except TornBatch as torn:
            log.warning(
                "discarding torn batch %d-%d (%d complete records of %d): it was never acknowledged",
                last.first_seq, last.last_seq, torn.complete_records, last.record_count,
            )
            self.store.delete_batches_from(last.first_seq)
            return last.record_count
        return 0

    def _load_snapshot(self, recovery: Recovery, last_committed: int) -> None:
        for stored in self.store.snapshots():
            if stored.seq > last_committed:
                log.warning("ignoring snapshot at %d, beyond the journal's end %d", stored.seq, last_committed)
                continue
            try:
                data = orjson.loads(zlib.decompress(stored.data))
                engine = restore_snapshot(data)
            except (zlib.error, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
                log.warning("snapshot at %d is unreadable (%s); trying an older one", stored.seq, error)
                continue
            if state_hash(engine) != stored.state_hash:
                log.warning("snapshot at %d does not match its state hash; trying an older one", stored.seq)
                continue
            recovery.engine = engine
            recovery.last_seq = stored.seq
            recovery.last_time_ms = engine.now_ms
            recovery.snapshot_seq = stored.seq
            return


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """No cyclic garbage collection while a journal is replayed: nearly everything replay allocates
    either lives on (orders, accounts) or is freed by reference counting, and the collector's rescans
    of the growing state took more than half the replay's time (bench/journal.py: 319,000 events/s
    with it, 768,000 without)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def replay(engine: Engine, record: Record, check_events: bool = True) -> None:
    """Apply a stored record and insist that it produces exactly the stored events (byte for byte),
    or with `check_events=False` the same number of events."""
    try:
        command = decode_command(orjson.loads(record.command_json))
    except (ValueError, TypeError) as error:
        raise JournalDamaged(record.seq, f"unreadable command ({error})") from error
    events = engine.apply(command, record.time_ms).events
    if check_events:
        same = orjson.dumps(encode_events(events)) == record.events_json
    else:
        same = len(events) == record.event_count
    if not same:
        raise JournalError(
            f"replaying sequence {record.seq} produced different events than were recorded "
            f"(the engine's rules changed, or the journal was written by another build)"
        )
