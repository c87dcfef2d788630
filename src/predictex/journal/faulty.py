"""A store that fails on purpose, for simulations: the next append can fail before writing (a write
error), after writing (an fsync error: the data may be on disk, but the caller must not count on it),
or half-way (a torn write: a truncated batch lands on disk). Everything else passes through."""

from __future__ import annotations

from predictex.journal.base import JournalStore, PassThroughStore, StoredBatch, TableWrite
from predictex.journal.records import JournalError

WRITE_ERROR = "write_error"
FSYNC_ERROR = "fsync_error"
TORN_WRITE = "torn_write"
FAULTS = (WRITE_ERROR, FSYNC_ERROR, TORN_WRITE)


class FaultyStore(PassThroughStore):
    def __init__(self, inner: JournalStore) -> None:
        super().__init__(inner)
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
