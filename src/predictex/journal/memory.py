"""An in-memory store for tests: SQLite's shared-cache memory database, so it behaves exactly like
the file store (same SQL, same contract) and disappears when closed."""

from __future__ import annotations

import itertools
import os

from predictex.journal.sqlite import SqliteStore

_names = itertools.count(1)


class MemoryStore(SqliteStore):
    def __init__(self) -> None:
        super().__init__(f"file:predictex-memory-{os.getpid()}-{next(_names)}?mode=memory&cache=shared", uri=True)

    @property
    def description(self) -> str:
        return "memory"
