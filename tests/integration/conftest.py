"""Stores for the journal contract tests: every backend, PostgreSQL included (it runs on these
machines at 127.0.0.1:5432; set PREDICTEX_TEST_POSTGRES to point elsewhere). Each PostgreSQL test
gets a schema of its own, dropped afterwards."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from predictex.journal.base import JournalStore
from predictex.journal.memory import MemoryStore
from predictex.journal.sqlite import SqliteStore

POSTGRES_URL = os.environ.get("PREDICTEX_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

StoreFactory = Callable[[], JournalStore]


@pytest.fixture(params=["sqlite", "memory", "postgres"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """A factory that opens (and reopens) the same journal storage."""
    opened: list[JournalStore] = []
    kind = request.param
    if kind == "sqlite":
        path = tmp_path / "journal.db"

        def make() -> JournalStore:
            store = SqliteStore(path)
            opened.append(store)
            return store
    elif kind == "memory":
        keeper = MemoryStore()  # the shared-cache memory database lives while one connection is open
        opened.append(keeper)

        def make() -> JournalStore:
            store = MemoryStore.__new__(MemoryStore)
            SqliteStore.__init__(store, keeper.path, uri=True)
            opened.append(store)
            return store
    else:
        from predictex.journal.postgres import PostgresStore

        schema = f"test_{uuid.uuid4().hex[:12]}"

        def make() -> JournalStore:
            store = PostgresStore(POSTGRES_URL, schema=schema)
            opened.append(store)
            return store
    yield make
    if kind == "postgres" and opened:
        from predictex.journal.postgres import PostgresStore

        cleanup = PostgresStore(POSTGRES_URL, schema=schema)
        cleanup.drop_schema()
        cleanup.close()
    for store in reversed(opened):
        with contextlib.suppress(Exception):
            store.close()
