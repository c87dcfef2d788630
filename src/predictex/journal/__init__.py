"""The journal: an append-only log of every command and its events, with snapshots, on SQLite (the
embedded default), PostgreSQL (production) or memory (tests); recovery, verification and export."""

from predictex.journal.journal import Journal, Recovery, open_store, replay
from predictex.journal.records import JournalDamaged, JournalError, Record

__all__ = ["Journal", "JournalDamaged", "JournalError", "Record", "Recovery", "open_store", "replay"]
