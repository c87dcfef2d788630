"""Durable FIX state in the journal's database (its own tables): each retransmitting session's
sequence numbers and the application messages it sent (for resends), and the drop-copy executions
of members who use drop copy (for resend by ExecID range).

Writes go through one `StoreWriter` per gateway: they are collected on the event loop and committed
by a thread of their own in groups (one transaction for everything put while the last one was
written). `durable()` gives a future that resolves once everything put so far is committed; the
transport writes a retransmitting session's bytes only then, so a message is on disk before the peer
can see it and a restart never reuses a sequence number it has already sent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from predictex.core.limits import FIX_RECENT_MESSAGES_MAX
from predictex.journal.base import JournalStore, TableWrite

log = logging.getLogger("predictex.fix.store")

FIX_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS fix_sessions (
        session_id TEXT PRIMARY KEY,
        next_in BIGINT NOT NULL,
        next_out BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS fix_messages (
        session_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        data {blob} NOT NULL,
        PRIMARY KEY (session_id, seq)
    )""",
    """CREATE TABLE IF NOT EXISTS fix_drop_copy_accounts (
        account_id BIGINT PRIMARY KEY,
        logon_ms BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS fix_executions (
        account_id BIGINT NOT NULL,
        exec_seq BIGINT NOT NULL,
        exec_index BIGINT NOT NULL,
        time_ms BIGINT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (account_id, exec_seq, exec_index)
    )""",
)


class StoreWriter:
    """Group-committed writes of FIX state on a thread of its own, in the order they were put."""

    def __init__(self, store: JournalStore) -> None:
        store.execute_schema(FIX_SCHEMA)
        self.store = store
        self._ops: list[tuple[str, Any]] = []
        self._dirty: dict[str, DurableSeqStore] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._writing = False
        self._seq_stores: dict[str, DurableSeqStore] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fix-store")
        self.failed: BaseException | None = None

    def put_rows(self, write: TableWrite) -> None:
        self._ops.append(("write", write))

    def put_delete(self, table: str, where: str, params: tuple[Any, ...]) -> None:
        self._ops.append(("delete", (table, where, params)))

    def mark(self, seqs: DurableSeqStore) -> None:
        self._dirty[seqs.session_id] = seqs

    def durable(self) -> asyncio.Future[None]:
        """A future that resolves once everything put so far is committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.failed is not None:
            future.set_exception(self.failed)
            return future
        self._waiters.append(future)
        if not self._writing:
            self._start()
        return future

    def seq_store(self, session_id: str) -> DurableSeqStore:
        """The session's store: one object per session for the life of the process (so a quick
        reconnect sees what the last connection did, written or not), loaded from the database once."""
        found = self._seq_stores.get(session_id)
        if found is None:
            found = self._seq_stores[session_id] = DurableSeqStore(self, session_id)
        return found

    def flush_soon(self) -> None:
        """Start writing what was put (if anything), without waiting for it."""
        if (self._ops or self._dirty) and not self._writing and self.failed is None:
            self.durable().add_done_callback(lambda done: done.cancelled() or done.exception())

    def _start(self) -> None:
        ops, self._ops = self._ops, []
        dirty, self._dirty = self._dirty, {}
        waiters, self._waiters = self._waiters, []
        if dirty:
            rows = [(s.session_id, s.next_in, s.next_out) for s in dirty.values()]
            ops.append(("write", TableWrite("fix_sessions", ("session_id", "next_in", "next_out"), rows, key=("session_id",))))
        self._writing = True
        future = asyncio.get_running_loop().run_in_executor(self._executor, self._write, _merge(ops))
        future.add_done_callback(lambda done: self._written(done, waiters))

    def _write(self, ops: list[tuple[str, Any]]) -> None:
        for kind, op in ops:
            if kind == "delete":
                self.store.delete(*op)
            else:
                self.store.write([op])

    def _written(self, done: asyncio.Future[None], waiters: list[asyncio.Future[None]]) -> None:
        self._writing = False
        error = done.exception()
        if error is not None:
            log.error("writing FIX session state failed: %s", error)
            self.failed = error
        for waiter in waiters:
            if not waiter.done():
                if error is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(error)
        if self._waiters or self._ops or self._dirty:
            if self.failed is None:
                self._start()
            else:
                for waiter in self._waiters:
                    waiter.set_exception(self.failed)
                self._waiters = []

    async def close(self) -> None:
        if self._ops or self._dirty or self._writing:
            with contextlib.suppress(Exception):  # already logged
                await self.durable()
        self._executor.shutdown(wait=True)


def _merge(ops: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Consecutive row writes to the same table and statement become one write."""
    merged: list[tuple[str, Any]] = []
    for kind, op in ops:
        if kind == "write" and merged and merged[-1][0] == "write":
            last: TableWrite = merged[-1][1]
            if last.table == op.table and last.columns == op.columns and last.key == op.key:
                merged[-1] = ("write", TableWrite(last.table, last.columns, last.rows + op.rows, last.key))
                continue
        merged.append((kind, op))
    return merged


class DurableSeqStore:
    """The session layer's SeqStore for a retransmitting session, kept through the StoreWriter."""

    def __init__(self, writer: StoreWriter, session_id: str) -> None:
        self.writer = writer
        self.session_id = session_id
        rows = writer.store.query("SELECT next_in, next_out FROM fix_sessions WHERE session_id = ?", (session_id,))
        self.next_in, self.next_out = (int(rows[0][0]), int(rows[0][1])) if rows else (1, 1)
        self._recent: OrderedDict[int, bytes] = OrderedDict()

    def sent(self, seq: int, data: bytes | None) -> None:
        self.next_out = seq + 1
        if data is not None:
            self._recent[seq] = data
            if len(self._recent) > FIX_RECENT_MESSAGES_MAX:
                self._recent.popitem(last=False)
            self.writer.put_rows(TableWrite("fix_messages", ("session_id", "seq", "data"), [(self.session_id, seq, data)],
                                            key=("session_id", "seq")))
        self.writer.mark(self)

    def received(self, next_in: int) -> None:
        self.next_in = next_in
        self.writer.mark(self)

    def reset(self) -> None:
        self.next_in = self.next_out = 1
        self._recent.clear()
        self.writer.put_delete("fix_messages", "session_id = ?", (self.session_id,))
        self.writer.mark(self)

    def messages(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        recent = self._recent
        if recent and begin >= next(iter(recent)):
            return [(seq, data) for seq, data in recent.items() if begin <= seq <= end]
        rows = self.writer.store.query(
            "SELECT seq, data FROM fix_messages WHERE session_id = ? AND seq >= ? AND seq <= ? ORDER BY seq",
            (self.session_id, begin, end),
        )
        found = {int(seq): bytes(data) for seq, data in rows}
        found.update((seq, data) for seq, data in recent.items() if begin <= seq <= end)
        return sorted(found.items())
