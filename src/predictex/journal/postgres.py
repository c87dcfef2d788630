"""The production store: PostgreSQL, selected by a postgresql:// URL. Same contract as SQLite; each
append is one transaction committed with synchronous_commit on. Optionally confined to a schema of
its own (so several exchanges, or test runs, can share a database)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg

from predictex.journal.base import BATCH_SELECT, JOURNAL_SCHEMA, SqlStore, StoredBatch, read_ahead, stored_batch
from predictex.journal.records import JournalError


class PostgresStore(SqlStore):
    placeholder = "%s"
    blob_type = "BYTEA"

    def __init__(self, url: str, schema: str = "") -> None:
        self.url = url
        self.schema = schema
        try:
            self._writer = self._connect()
            if schema:
                self._writer.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                self._writer.execute(f'SET search_path TO "{schema}"')
        except psycopg.Error as error:
            raise JournalError(f"cannot open PostgreSQL journal {self._redacted()}: {error}") from error
        self._write_lock = threading.Lock()
        self._readers = threading.local()
        self._reader_connections: list[psycopg.Connection[Any]] = []
        self.execute_schema(JOURNAL_SCHEMA)
        self._add_chain_column()
        # Batch blobs are JSON already packed tight; PostgreSQL's own compression of them (pglz) cost
        # more time than the bytes it saved. Stored out of line, uncompressed.
        self.execute_schema(("ALTER TABLE journal_batches ALTER COLUMN data SET STORAGE EXTERNAL",))

    def _redacted(self) -> str:
        head, _, tail = self.url.rpartition("@")
        return f"postgresql://***@{tail}" if head else self.url

    @property
    def description(self) -> str:
        return self._redacted() + (f" (schema {self.schema})" if self.schema else "")

    def _connect(self) -> psycopg.Connection[Any]:
        connection = psycopg.connect(self.url, autocommit=True)
        connection.execute("SET synchronous_commit TO on")
        if self.schema:
            connection.execute(f'SET search_path TO "{self.schema}"')
        return connection

    def _reader(self) -> psycopg.Connection[Any]:
        connection: psycopg.Connection[Any] | None = getattr(self._readers, "connection", None)
        if connection is None or connection.closed:
            connection = self._connect()
            self._readers.connection = connection
            self._reader_connections.append(connection)
        return connection

    def _transaction(self, statements: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        with self._write_lock:
            try:
                with self._writer.transaction(), self._writer.cursor() as cursor:
                    for sql, rows in statements:
                        cursor.executemany(sql, rows)
            except psycopg.Error as error:
                raise JournalError(f"PostgreSQL write failed: {error}") from error

    def batches(self, after_seq: int = 0) -> Iterator[StoredBatch]:
        return read_ahead(lambda: self._scan(after_seq))

    def _scan(self, after_seq: int) -> Iterator[StoredBatch]:
        with self._connect() as connection, connection.transaction(), connection.cursor(name="journal_scan") as cursor:
            cursor.itersize = 4  # batches hold up to SEQUENCER_BATCH_MAX records: a few per round trip is plenty
            cursor.execute(  # binary: the batches come as they are stored, not hex-encoded and decoded again
                f"{BATCH_SELECT} WHERE last_seq > %s ORDER BY first_seq", (after_seq,), binary=True,
            )
            for row in cursor:
                yield stored_batch(row)

    def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._reader().execute(sql, params).fetchall()
        return rows

    def _execute_ddl(self, statement: str) -> None:
        with self._write_lock:
            self._writer.execute(statement)

    def _has_column(self, table: str, column: str) -> bool:
        with self._write_lock:
            rows = self._writer.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = %s AND column_name = %s",
                (table, column),
            ).fetchall()
        return bool(rows)

    def drop_schema(self) -> None:
        """Remove everything this store created (tests use a schema of their own)."""
        if self.schema:
            with self._write_lock:
                self._writer.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')

    def close(self) -> None:
        with self._write_lock:
            self._writer.close()
        for connection in self._reader_connections:
            connection.close()
