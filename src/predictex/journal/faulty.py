"""A store that fails on purpose, for simulations: the next append can fail before writing (a write
error), after writing (an fsync error: the data may be on disk, but the caller must not count on it),
or half-way (a torn write: a truncated batch lands on disk). Everything else passes through."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from predictex.journal.base import JournalStore, StoredBatch, StoredSnapshot, TableWrite
from predictex.journal.records import JournalError

WRITE_ERROR = "write_error"
FSYNC_ERROR = "fsync_error"
TORN_WRITE = "torn_write"
FAULTS = (WRITE_ERROR, FSYNC_ERROR, TORN_WRITE)


class FaultyStore(JournalStore):
    def __init__(self, inner: JournalStore) -> None:
        self.inner = inner
        self.placeholder = inner.placeholder
        self._armed: str | None = None
        self.torn_fraction_percent = 50

    def arm(self, fault: str, torn_fraction_percent: int = 50) -> None:
        assert fault in FAULTS
        self._armed = fault
        self.torn_fraction_percent = torn_fraction_percent

    @property
    def description(self) -> str:
        return f"faulty({self.inner.description})"

    def append(self, batch: StoredBatch, writes: list[TableWrite]) -> None:
        fault, self._armed = self._armed, None
        if fault == WRITE_ERROR:
            raise JournalError("injected write error")
        if fault == TORN_WRITE:
            cut = max(1, len(batch.data) * self.torn_fraction_percent // 100)
            self.inner.append(StoredBatch(batch.first_seq, batch.last_seq, batch.record_count, batch.data[:cut], batch.chain_hash), [])
            raise JournalError("injected torn write")
        self.inner.append(batch, writes)
        if fault == FSYNC_ERROR:
            raise JournalError("injected fsync error")

    def batches(self, after_seq: int = 0) -> Iterator[StoredBatch]:
        return self.inner.batches(after_seq)

    def last_batch(self) -> StoredBatch | None:
        return self.inner.last_batch()

    def delete_batches_from(self, first_seq: int) -> None:
        self.inner.delete_batches_from(first_seq)

    def set_chain_hashes(self, hashes: list[tuple[int, bytes]]) -> None:
        self.inner.set_chain_hashes(hashes)

    def save_snapshot(self, snapshot: StoredSnapshot, keep: int) -> None:
        self.inner.save_snapshot(snapshot, keep)

    def snapshots(self) -> list[StoredSnapshot]:
        return self.inner.snapshots()

    def get_meta(self, key: str) -> str | None:
        return self.inner.get_meta(key)

    def set_meta(self, key: str, value: str) -> None:
        self.inner.set_meta(key, value)

    def execute_schema(self, statements: Sequence[str]) -> None:
        self.inner.execute_schema(statements)

    def delete(self, table: str, where: str, params: Sequence[Any] = ()) -> None:
        self.inner.delete(table, where, params)

    def write(self, writes: list[TableWrite]) -> None:
        self.inner.write(writes)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.inner.query(sql, params)

    def clear_history(self, tables: Sequence[str]) -> None:
        self.inner.clear_history(tables)

    def close(self) -> None:
        self.inner.close()
