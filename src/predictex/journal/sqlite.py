"""The embedded default: one SQLite file in WAL mode with full synchronous durability.

Appends come from the sequencer's writer thread on a connection of their own; queries use a
separate read connection per thread, which WAL lets run while a write is in progress."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from predictex.journal.base import BATCH_SELECT, JOURNAL_SCHEMA, SqlStore, StoredBatch, stored_batch
from predictex.journal.records import JournalError

PAGE_BYTES = 16_384


def _connect(path: str, uri: bool = False) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30, uri=uri)
    # Pages of 16 KiB, for a new file only (an existing one keeps its size): a batch of 1,000 commands
    # is a blob of about 400 KiB, written at commit as one WAL frame per page, two write() calls each.
    # In 4 KiB pages that was 1.36 us of CPU per command in COMMIT, in 16 KiB pages 1.0 (32 KiB: no better).
    connection.execute(f"PRAGMA page_size={PAGE_BYTES}")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


class SqliteStore(SqlStore):
    placeholder = "?"

    def __init__(self, path: str | Path, uri: bool = False) -> None:
        self.path = str(path)
        self._uri = uri
        if not uri:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._writer = _connect(self.path, uri)
        except sqlite3.Error as error:
            raise JournalError(f"cannot open SQLite journal {self.path}: {error}") from error
        self._write_lock = threading.Lock()
        self._readers = threading.local()
        self._reader_connections: list[sqlite3.Connection] = []
        self.execute_schema(JOURNAL_SCHEMA)
        self._add_chain_column()

    @property
    def description(self) -> str:
        return f"sqlite:{self.path}"

    def set_synchronous(self, level: str) -> None:
        """Relax (or restore) when commits reach the disk: FULL (the journal's default: fsync at every
        commit) or NORMAL (in WAL mode, at checkpoints: a power loss can take the last commits, never
        tear one). Only for a store that is a copy, such as a cluster gateway's cache of the log."""
        if level not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, not {level!r}")
        with self._write_lock:
            self._writer.execute(f"PRAGMA synchronous={level}")

    def _reader(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._readers, "connection", None)
        if connection is None:
            connection = _connect(self.path, self._uri)
            connection.execute("PRAGMA query_only=ON")
            self._readers.connection = connection
            self._reader_connections.append(connection)
        return connection

    def _transaction(self, statements: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        with self._write_lock:
            db = self._writer
            try:
                db.execute("BEGIN IMMEDIATE")
                for sql, rows in statements:
                    db.executemany(sql, rows)
                db.execute("COMMIT")
            except sqlite3.Error as error:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise JournalError(f"SQLite write failed: {error}") from error

    def batches(self, after_seq: int = 0) -> Iterator[StoredBatch]:
        cursor = self._reader().execute(f"{BATCH_SELECT} WHERE last_seq > ? ORDER BY first_seq", (after_seq,))
        for row in cursor:
            yield stored_batch(row)

    def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return self._reader().execute(sql, params).fetchall()

    def _execute_ddl(self, statement: str) -> None:
        with self._write_lock:
            self._writer.execute(statement)

    def _has_column(self, table: str, column: str) -> bool:
        with self._write_lock:
            rows = self._writer.execute("SELECT 1 FROM pragma_table_info(?) WHERE name = ?", (table, column)).fetchall()
        return bool(rows)

    def close(self) -> None:
        with self._write_lock:
            self._writer.close()
        for connection in self._reader_connections:
            with contextlib.suppress(sqlite3.ProgrammingError):
                connection.close()
