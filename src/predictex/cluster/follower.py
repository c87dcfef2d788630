"""A hot standby's copy of the exchange: its own engine and journal, fed from the replicated log.

Each batch of the log is applied to the engine record by record, the regenerated events compared byte
for byte with the leader's (the engine is deterministic: a difference stops the follower, naming the
sequence), and then appended to the local journal with its history rows, exactly as the leader's
sequencer wrote them; changes to the tables beside the journal (accounts: members, keys, sessions; FIX
sessions' sequence numbers and stored messages; the operator's surveillance decisions) are applied to
the same store. Where in the log the store is, is kept in its meta in the same transaction as each message's
writes: one row for batches and one for the accounts' changes (`log.position`; a leader writes the same
rows, the two kinds from two threads, hence two rows), so a restarted node reads on from the lower of
the two and skips what it holds: a batch whose records it has, an accounts change at or before its row.
A standby that takes over hands this journal, still open, and its engine to the exchange it starts
(`handover`): nothing is snapshotted, read back or replayed at the takeover, and the read model and
history are those of a leader that had run all along.
"""

from __future__ import annotations

import logging

import orjson

from predictex.accounts import ACCOUNTS_SCHEMA
from predictex.cluster.log import ACCOUNTS_APPLIED_META, BATCHES_APPLIED_META, LogEntry, TableChange, position
from predictex.core.codec import decode_command, encode_events
from predictex.core.events import Event
from predictex.core.snapshot import state_hash
from predictex.journal.base import JournalStore, TableWrite
from predictex.journal.journal import Journal, Recovery
from predictex.journal.records import JournalError, Record
from predictex.readmodel.history import HistoryProjector
from predictex.readmodel.model import create_history_tables

__all__ = ["Diverged", "Follower"]

log = logging.getLogger("predictex.cluster.follower")


class Diverged(JournalError):
    """The log does not follow on from this journal, or replaying it gave other events than the leader's."""


class Follower:
    def __init__(self, store: JournalStore, snapshot_every: int = 100_000) -> None:
        self.store = store
        self.journal = Journal(store)
        store.execute_schema(ACCOUNTS_SCHEMA)
        if create_history_tables(store):
            store.set_meta("history_seq", "0")
        recovery = self.journal.recover()
        self.engine = recovery.engine
        self.last_seq = recovery.last_seq
        self.last_time_ms = recovery.last_time_ms
        self.accounts_seq = int(store.get_meta(ACCOUNTS_APPLIED_META) or 0)
        self.stream_seq = min(int(store.get_meta(BATCHES_APPLIED_META) or 0), self.accounts_seq)  # read on after this
        self.snapshot_every = snapshot_every
        self._last_snapshot_seq = recovery.last_seq  # where snapshots are counted from
        self.snapshot_seq = recovery.snapshot_seq  # the journal's newest snapshot
        self._projector = HistoryProjector()
        self.leader = ""  # the node whose marker or batch came last

    def apply(self, entry: LogEntry) -> None:
        """Apply one message of the log (in stream order)."""
        if entry.stream_seq <= self.stream_seq:
            return
        if entry.stream_seq != self.stream_seq + 1:
            raise Diverged(f"stream sequence {self.stream_seq + 1} is missing (got {entry.stream_seq})")
        self.leader = entry.leader
        if entry.is_accounts:
            if entry.stream_seq > self.accounts_seq:
                self._apply_change(entry.table_change(), entry.stream_seq)
                self.accounts_seq = entry.stream_seq
        elif entry.is_marker:
            if entry.last_seq > self.last_seq:
                raise Diverged(f"leader {entry.leader} began at record {entry.last_seq}; this journal ends at {self.last_seq}")
        elif entry.last_seq > self.last_seq:
            self._apply_batch(entry.records(), entry.stream_seq)
        self.stream_seq = entry.stream_seq

    def _apply_batch(self, records: list[Record], stream_seq: int) -> None:
        fresh = [record for record in records if record.seq > self.last_seq]
        projected: list[tuple[int, int, list[Event]]] = []
        for record in fresh:
            if record.seq != self.last_seq + 1:
                raise Diverged(f"record {self.last_seq + 1} is missing from the log (next is {record.seq})")
            command = decode_command(orjson.loads(record.command_json))
            events = self.engine.apply(command, record.time_ms).events
            if orjson.dumps(encode_events(events)) != record.events_json:
                raise Diverged(f"replaying record {record.seq} gave other events than the leader's")
            projected.append((record.seq, record.time_ms, events))
            self.last_seq = record.seq
            self.last_time_ms = record.time_ms
        self.journal.append(fresh, [*self._projector.project(projected), *self._positions(stream_seq)])
        self.accounts_seq = stream_seq
        if self.snapshot_every and self.last_seq - self._last_snapshot_seq >= self.snapshot_every:
            self.journal.save_snapshot(self.last_seq, Journal.capture(self.engine))
            self._last_snapshot_seq = self.snapshot_seq = self.last_seq

    def _apply_change(self, change: TableChange, stream_seq: int) -> None:
        """Rows written go with the position in one transaction; a delete or a schema is its own (both are
        idempotent, so applying one again after a crash before the position was written is harmless)."""
        if change.schema:
            self.store.execute_schema(change.schema)
        if change.delete is not None:
            self.store.delete(*change.delete)
        self.store.write([*change.writes, *self._positions(stream_seq)])

    def _positions(self, stream_seq: int) -> list[TableWrite]:
        """Read in order, everything up to `stream_seq` is applied, of both kinds."""
        return [position(BATCHES_APPLIED_META, stream_seq), position(ACCOUNTS_APPLIED_META, stream_seq)]

    def handover(self) -> tuple[JournalStore, Journal, Recovery]:
        """The journal, open, and the state it holds, for the exchange that takes over on it (the node
        taking the lease): nothing is written, read back or replayed on the way. The store is the
        exchange's from then on (it closes it)."""
        recovery = Recovery()
        recovery.engine = self.engine
        recovery.last_seq = self.last_seq
        recovery.last_time_ms = self.last_time_ms
        recovery.snapshot_seq = self.snapshot_seq
        return self.store, self.journal, recovery

    def state_hash(self) -> str:
        return state_hash(self.engine)

    def close(self) -> None:
        if self.last_seq > self._last_snapshot_seq:  # a quick start for the exchange that follows
            self.journal.save_snapshot(self.last_seq, Journal.capture(self.engine))
        self.store.close()
