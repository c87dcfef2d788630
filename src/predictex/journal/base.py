"""The journal's storage contract, shared by every backend (SQLite, PostgreSQL, memory).

A store keeps three things: the batches of framed records (journal.records), snapshots of the engine,
and the read model's history tables. `append` writes one batch and its history rows in one durable
transaction: when it returns, the batch is on disk. Everything else reads.
"""

from __future__ import annotations

import abc
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any


class TableWrite:
    """Rows for one table, inserted (or, with `key`, upserted on that key) in the batch's transaction."""

    __slots__ = ("columns", "key", "rows", "table")

    def __init__(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]], key: Sequence[str] = ()) -> None:
        self.table = table
        self.columns = tuple(columns)
        self.rows = rows
        self.key = tuple(key)

    def sql(self, placeholder: str) -> str:
        columns = ", ".join(self.columns)
        values = ", ".join(placeholder for _ in self.columns)
        statement = f"INSERT INTO {self.table} ({columns}) VALUES ({values})"
        if self.key:
            updates = ", ".join(f"{c} = excluded.{c}" for c in self.columns if c not in self.key)
            statement += f" ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {updates}"
        return statement


class StoredBatch:
    """A stored batch: its sequence numbers, record count, blob and chain hash (journal.records:
    `chain_hash`; empty for a batch of a journal written before hashes, until it is migrated)."""

    __slots__ = ("chain_hash", "data", "first_seq", "last_seq", "record_count")

    def __init__(self, first_seq: int, last_seq: int, record_count: int, data: bytes, chain_hash: bytes = b"") -> None:
        self.first_seq = first_seq
        self.last_seq = last_seq
        self.record_count = record_count
        self.data = data
        self.chain_hash = chain_hash


class StoredSnapshot:
    __slots__ = ("data", "seq", "state_hash")

    def __init__(self, seq: int, data: bytes, state_hash: str) -> None:
        self.seq = seq
        self.data = data
        self.state_hash = state_hash


READ_AHEAD_BATCHES = 2


def read_ahead(scan: Callable[[], Iterator[StoredBatch]], depth: int = READ_AHEAD_BATCHES) -> Iterator[StoredBatch]:
    """The batches `scan` yields, read on a thread of its own up to `depth` batches ahead, so that
    fetching them (waiting on the database server, without the GIL) overlaps replaying them. `scan`
    runs entirely on that thread (it opens and closes its own connection); its errors are raised here.
    Closing this generator early stops the scan. For a server's store (PostgreSQL: replay 409,000 ->
    469,000 events/s); not for SQLite, whose reads are quick and in-process: a second thread asking
    for the GIL slowed its replay by a third."""
    ready: queue.Queue[StoredBatch | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: StoredBatch | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in scan():
                if not hand_over(batch):
                    return
            hand_over(None)
        except BaseException as error:  # delivered to the reader, which raises it
            hand_over(error)

    thread = threading.Thread(target=produce, name="journal-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


BATCH_SELECT = "SELECT first_seq, last_seq, record_count, data, chain_hash FROM journal_batches"


def stored_batch(row: tuple[Any, ...]) -> StoredBatch:
    """A batch from a row of BATCH_SELECT."""
    return StoredBatch(row[0], row[1], row[2], bytes(row[3]), b"" if row[4] is None else bytes(row[4]))


JOURNAL_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS journal_batches (
        first_seq BIGINT PRIMARY KEY,
        last_seq BIGINT NOT NULL,
        record_count BIGINT NOT NULL,
        data {blob} NOT NULL,
        chain_hash {blob}
    )""",
    """CREATE TABLE IF NOT EXISTS snapshots (
        seq BIGINT PRIMARY KEY,
        state_hash TEXT NOT NULL,
        data {blob} NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
)


class JournalStore(abc.ABC):
    """Durable storage for batches, snapshots and history tables."""

    placeholder = "?"

    @abc.abstractmethod
    def append(self, batch: StoredBatch, writes: list[TableWrite]) -> None:
        """Write a batch and its history rows in one transaction; durable when this returns."""

    @abc.abstractmethod
    def batches(self, after_seq: int = 0) -> Iterator[StoredBatch]:
        """Stored batches in order, starting with the one holding `after_seq + 1`."""

    @abc.abstractmethod
    def last_batch(self) -> StoredBatch | None: ...

    @abc.abstractmethod
    def delete_batches_from(self, first_seq: int) -> None:
        """Discard a torn tail: the batch starting at `first_seq` and anything after it."""

    @abc.abstractmethod
    def set_chain_hashes(self, hashes: list[tuple[int, bytes]]) -> None:
        """Store `(first_seq, chain_hash)` for existing batches in one transaction (the migration of a
        journal written before chain hashes)."""

    @abc.abstractmethod
    def save_snapshot(self, snapshot: StoredSnapshot, keep: int) -> None:
        """Store a snapshot durably and keep only the newest `keep`."""

    @abc.abstractmethod
    def snapshots(self) -> list[StoredSnapshot]:
        """Stored snapshots, newest first."""

    @abc.abstractmethod
    def get_meta(self, key: str) -> str | None: ...

    @abc.abstractmethod
    def set_meta(self, key: str, value: str) -> None: ...

    @abc.abstractmethod
    def execute_schema(self, statements: Sequence[str]) -> None:
        """Create tables (statements may use {blob} for the binary type)."""

    @abc.abstractmethod
    def delete(self, table: str, where: str, params: Sequence[Any] = ()) -> None:
        """Delete the rows of `table` matching `where` (`?` placeholders), in a transaction of its own."""

    @abc.abstractmethod
    def write(self, writes: list[TableWrite]) -> None:
        """Write table rows in one transaction outside any batch (read-model rebuilds)."""

    @abc.abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only query (`?` placeholders) on a connection of its own, safe to call while a
        batch is being appended from another thread."""

    @abc.abstractmethod
    def clear_history(self, tables: Sequence[str]) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    @property
    @abc.abstractmethod
    def description(self) -> str: ...


class SqlStore(JournalStore):
    """What the SQL stores share: every statement is written once, with `?` placeholders, and each
    store supplies its connections, transactions and dialect (placeholder, binary type)."""

    blob_type = "BLOB"

    @abc.abstractmethod
    def _transaction(self, statements: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        """Run `(sql, rows)` pairs (`sql` in this store's placeholder style) as one durable transaction."""

    @abc.abstractmethod
    def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """Rows of a read (`sql` in this store's placeholder style) on the calling thread's reader."""

    @abc.abstractmethod
    def _execute_ddl(self, statement: str) -> None: ...

    @abc.abstractmethod
    def _has_column(self, table: str, column: str) -> bool: ...

    def _add_chain_column(self) -> None:
        """A journal created before chain hashes gets the column (empty until `Journal` migrates it)."""
        if not self._has_column("journal_batches", "chain_hash"):
            self._execute_ddl(f"ALTER TABLE journal_batches ADD COLUMN chain_hash {self.blob_type}")

    def _sql(self, text: str) -> str:
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def append(self, batch: StoredBatch, writes: list[TableWrite]) -> None:
        statements: list[tuple[str, list[tuple[Any, ...]]]] = [(
            self._sql("INSERT INTO journal_batches (first_seq, last_seq, record_count, data, chain_hash) VALUES (?, ?, ?, ?, ?)"),
            [(batch.first_seq, batch.last_seq, batch.record_count, batch.data, batch.chain_hash or None)],
        )]
        statements.extend((w.sql(self.placeholder), w.rows) for w in writes if w.rows)
        self._transaction(statements)

    def last_batch(self) -> StoredBatch | None:
        rows = self._fetch(
            "SELECT first_seq, last_seq, record_count, data, chain_hash FROM journal_batches ORDER BY first_seq DESC LIMIT 1", (),
        )
        return None if not rows else stored_batch(rows[0])

    def set_chain_hashes(self, hashes: list[tuple[int, bytes]]) -> None:
        if hashes:
            self._transaction([(self._sql("UPDATE journal_batches SET chain_hash = ? WHERE first_seq = ?"),
                                [(chain, first_seq) for first_seq, chain in hashes])])

    def delete_batches_from(self, first_seq: int) -> None:
        self._transaction([(self._sql("DELETE FROM journal_batches WHERE first_seq >= ?"), [(first_seq,)])])

    def save_snapshot(self, snapshot: StoredSnapshot, keep: int) -> None:
        self._transaction([
            (self._sql("INSERT INTO snapshots (seq, state_hash, data) VALUES (?, ?, ?) ON CONFLICT (seq) DO NOTHING"),
             [(snapshot.seq, snapshot.state_hash, snapshot.data)]),
            (self._sql("DELETE FROM snapshots WHERE seq NOT IN (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)"), [(keep,)]),
        ])

    def snapshots(self) -> list[StoredSnapshot]:
        rows = self._fetch("SELECT seq, state_hash, data FROM snapshots ORDER BY seq DESC", ())
        return [StoredSnapshot(seq, bytes(data), state_hash) for seq, state_hash, data in rows]

    def get_meta(self, key: str) -> str | None:
        rows = self._fetch(self._sql("SELECT value FROM meta WHERE key = ?"), (key,))
        return None if not rows else str(rows[0][0])

    def set_meta(self, key: str, value: str) -> None:
        self._transaction([(self._sql("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
                            [(key, value)])])

    def execute_schema(self, statements: Sequence[str]) -> None:
        for statement in statements:
            self._execute_ddl(statement.format(blob=self.blob_type))

    def delete(self, table: str, where: str, params: Sequence[Any] = ()) -> None:
        self._transaction([(self._sql(f"DELETE FROM {table} WHERE {where}"), [tuple(params)])])

    def write(self, writes: list[TableWrite]) -> None:
        self._transaction([(w.sql(self.placeholder), w.rows) for w in writes if w.rows])

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._fetch(self._sql(sql), tuple(params))

    def clear_history(self, tables: Sequence[str]) -> None:
        self._transaction([(f"DELETE FROM {table}", [()]) for table in tables])


class PassThroughStore(JournalStore):
    """A store that hands every call to `inner`: the base of the stores that change a few of them (a
    store that fails on purpose, the cluster's store that replicates table writes)."""

    def __init__(self, inner: JournalStore) -> None:
        self.inner = inner
        self.placeholder = inner.placeholder

    def append(self, batch: StoredBatch, writes: list[TableWrite]) -> None:
        self.inner.append(batch, writes)

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

    @property
    def description(self) -> str:
        return self.inner.description
