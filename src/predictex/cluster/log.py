"""The replicated journal: every committed batch, in order, as one message of a JetStream stream kept
on three servers.

The leader's sequencer hands each batch to `ReplicatedLog.replicate` before its local journal: the
batch (the journal's own framed records, `journal.records.encode_batch`) is published with
`Nats-Expected-Last-Sequence` set to the stream sequence of the message before it, and `replicate`
returns once the stream acknowledged it (stored on a majority, fsynced: `natsconf.py`) and this
process still holds the lease. Fencing: a leader that was deposed (paused, cut off) publishes with a
stale expected sequence, because the new leader's first act is to append a `leader` marker; the
stream refuses it, `replicate` raises, and the sequencer acknowledges nothing of that batch.

A publish whose answer is lost (a NATS server died, the stream's Raft group changed leader) is sent
again with the same expected sequence; if the stream refuses it as out of date, the message now at
that place is read back, and the batch counts as stored when it is byte for byte this one.

NATS runs on a thread and event loop of its own (`NatsThread`): the sequencer writes from a plain
thread, and the lease is renewed on time whatever the exchange's loop is doing.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js.errors
import orjson
from nats.aio.client import Client
from nats.js.api import ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext

from predictex.journal.base import TableWrite
from predictex.journal.records import Record, decode_batch, encode_batch

log = logging.getLogger("predictex.cluster")

__all__ = [
    "BATCH_SUBJECT",
    "MARKER_SUBJECT",
    "STREAM",
    "Fenced",
    "LeaseLost",
    "LogEntry",
    "NatsThread",
    "ReplicatedLog",
    "ReplicationFailed",
]

STREAM = "PREDICTEX_JOURNAL"
BATCH_SUBJECT = "predictex.journal.batch"
MARKER_SUBJECT = "predictex.journal.leader"
ACCOUNTS_SUBJECT = "predictex.journal.accounts"  # the tables beside the journal: accounts, FIX sessions, surveillance
SUBJECTS = "predictex.journal.>"
BATCHES_APPLIED_META = "cluster_batches_stream_seq"  # the local journal holds every batch up to here
ACCOUNTS_APPLIED_META = "cluster_accounts_stream_seq"  # the local accounts tables hold every change up to here
WRONG_LAST_SEQUENCE = 10071  # JetStream's error code for a refused Nats-Expected-Last-Sequence
PUBLISH_TIMEOUT_S = 2.0  # one attempt; `replicate` retries until the lease runs out
RETRY_PAUSE_S = 0.05
RETRY_LOG_EVERY_S = 5.0  # how often a publish that keeps failing is logged

T = TypeVar("T")


class ReplicationFailed(RuntimeError):
    """The batch is not known to be stored: nothing of it may be acknowledged."""


class Fenced(ReplicationFailed):
    """Another leader appended to the log: this process no longer leads."""


class LeaseLost(ReplicationFailed):
    """The lease ran out (the process was paused, or NATS was out of reach) before the batch was stored."""


class NatsThread:
    """One NATS connection, on a daemon thread running an event loop of its own."""

    def __init__(self, servers: Sequence[str], name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=f"nats-{name}", daemon=True)
        self._thread.start()
        self.client: Client = self.call(nats.connect(
            servers=list(servers), name=name, max_reconnect_attempts=-1, reconnect_time_wait=0.1, connect_timeout=2,
        ), timeout=10)
        self.js: JetStreamContext = self.client.jetstream(timeout=PUBLISH_TIMEOUT_S)

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coroutine` on the NATS loop and wait for it (from any other thread)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def spawn(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        with contextlib.suppress(Exception):  # closing a connection that is already gone
            self.call(self.client.close(), timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


def position(meta_key: str, stream_seq: int) -> TableWrite:
    """The meta row saying that the messages of one kind up to `stream_seq` are in the local store,
    written in the same transaction as the message's own writes."""
    return TableWrite("meta", ("key", "value"), [(meta_key, str(stream_seq))], key=("key",))


class LogEntry:
    """One message of the log: a batch of records, a new leader's marker, or writes to the accounts tables."""

    __slots__ = ("data", "first_seq", "last_seq", "leader", "record_count", "stream_seq", "subject")

    def __init__(self, stream_seq: int, subject: str, headers: dict[str, str] | None, data: bytes) -> None:
        found = headers or {}
        self.stream_seq = stream_seq
        self.subject = subject
        self.leader = found.get("Predictex-Leader", "")
        self.first_seq = int(found.get("Predictex-First-Seq", "0"))
        self.last_seq = int(found.get("Predictex-Last-Seq", "0"))
        self.record_count = int(found.get("Predictex-Count", "0"))
        self.data = data

    @property
    def is_marker(self) -> bool:
        return self.subject == MARKER_SUBJECT

    @property
    def is_accounts(self) -> bool:
        return self.subject == ACCOUNTS_SUBJECT

    def records(self) -> list[Record]:
        return decode_batch(self.data, self.first_seq, self.record_count)

    def table_change(self) -> TableChange:
        return TableChange.decode(self.data)


class TableChange:
    """One change to the tables beside the journal, as the store's own calls: rows written
    (`writes`), rows deleted (`delete`: table, where, params) or tables created (`schema`)."""

    def __init__(self, writes: list[TableWrite] | None = None, delete: tuple[str, str, list[Any]] | None = None,
                 schema: list[str] | None = None) -> None:
        self.writes = writes or []
        self.delete = delete
        self.schema = schema or []

    def encode(self) -> bytes:
        return orjson.dumps({
            "writes": [[w.table, list(w.columns), [[_value(v) for v in row] for row in w.rows], list(w.key)] for w in self.writes],
            "delete": [self.delete[0], self.delete[1], [_value(v) for v in self.delete[2]]] if self.delete is not None else None,
            "schema": self.schema,
        })

    @classmethod
    def decode(cls, data: bytes) -> TableChange:
        found = orjson.loads(data)
        writes = [TableWrite(table, columns, [tuple(_unvalue(v) for v in row) for row in rows], key)
                  for table, columns, rows, key in found["writes"]]
        delete = found["delete"]
        return cls(writes, (delete[0], delete[1], [_unvalue(v) for v in delete[2]]) if delete is not None else None,
                   found["schema"])


def _value(value: Any) -> Any:
    """A column's value as JSON: bytes (a FIX message) as {"b": base64}; the rest as they are."""
    return {"b": base64.b64encode(value).decode("ascii")} if isinstance(value, (bytes, bytearray, memoryview)) else value


def _unvalue(value: Any) -> Any:
    return base64.b64decode(value["b"]) if isinstance(value, dict) else value


class ReplicatedLog:
    """The stream, seen from one node. `replicate` is the sequencer's `Replicator`."""

    def __init__(self, nats_thread: NatsThread, node: str, replicas: int = 3,
                 lease_held: Callable[[], bool] | None = None) -> None:
        self.nats = nats_thread
        self.node = node
        self.replicas = replicas
        self.lease_held = lease_held or (lambda: True)
        self.stream_seq = 0  # the stream sequence of the last message this leader knows is in the log
        self._appending = threading.Lock()  # the sequencer's writer and the accounts (on the event loop) take turns
        self.published = 0

    # --- set-up ---------------------------------------------------------------------------------

    def ensure_stream(self) -> None:
        self.nats.call(self._ensure_stream(), timeout=30)

    async def _ensure_stream(self) -> None:
        """Make the stream unless it exists, waiting for the cluster to be ready (a JetStream cluster just
        started answers only once its servers elected a meta leader)."""
        js = self.nats.js
        while True:
            try:
                try:
                    await js.stream_info(STREAM)
                except nats.js.errors.NotFoundError:
                    await js.add_stream(StreamConfig(
                        name=STREAM, subjects=[SUBJECTS], storage=StorageType.FILE,
                        num_replicas=self.replicas,
                    ))
                return
            except (nats.errors.TimeoutError, nats.errors.NoRespondersError, nats.js.errors.ServiceUnavailableError):
                await asyncio.sleep(RETRY_PAUSE_S * 4)

    def tip(self) -> tuple[int, int]:
        """The stream sequence of the log's last message, and the last record sequence it holds (0, 0 when empty)."""
        return self.nats.call(self._tip(), timeout=30)

    async def _tip(self) -> tuple[int, int]:
        info = await self.nats.js.stream_info(STREAM)
        last = info.state.last_seq
        stream_seq = last
        while stream_seq > 0:  # a table change carries no record sequence: the last batch or marker before it does
            entry = await self._get(stream_seq)
            if not entry.is_accounts:
                return last, entry.last_seq
            stream_seq -= 1
        return last, 0

    async def _get(self, stream_seq: int) -> LogEntry:
        found = await self.nats.js.get_msg(STREAM, stream_seq)
        return LogEntry(stream_seq, found.subject or "", found.headers, found.data or b"")

    def entries(self, after_stream_seq: int) -> AsyncIterator[LogEntry]:
        """Every message after `after_stream_seq`, as it arrives (an ordered consumer; run on the NATS loop)."""
        return self._entries(after_stream_seq)

    async def _entries(self, after_stream_seq: int) -> AsyncIterator[LogEntry]:
        subscription = await self.nats.js.subscribe(
            SUBJECTS, stream=STREAM, ordered_consumer=True,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after_stream_seq + 1),
        )
        try:
            async for message in subscription.messages:
                yield LogEntry(message.metadata.sequence.stream, message.subject, message.headers, message.data)
        finally:
            await subscription.unsubscribe()

    async def read(self, after_stream_seq: int, through_stream_seq: int) -> AsyncIterator[LogEntry]:
        """The messages in (after, through], one request each (the last few, at a takeover)."""
        for stream_seq in range(after_stream_seq + 1, through_stream_seq + 1):
            yield await self._get(stream_seq)

    # --- the leader -----------------------------------------------------------------------------

    def begin_term(self, after_stream_seq: int, last_record_seq: int) -> None:
        """Append this leader's marker right after `after_stream_seq` (raises Fenced if anything else got
        there first: read up to the new tip and try again). From then on a deposed leader's publish fails."""
        self.stream_seq = after_stream_seq
        self._append(MARKER_SUBJECT, b"", {"Predictex-Last-Seq": str(last_record_seq)})

    def replicate(self, records: list[Record]) -> list[TableWrite]:
        """Store `records` as the log's next message; return once a majority has it and the lease holds,
        with the meta row that records its place, for the batch's transaction."""
        headers = {"Predictex-First-Seq": str(records[0].seq), "Predictex-Last-Seq": str(records[-1].seq),
                   "Predictex-Count": str(len(records))}
        stream_seq = self._append(BATCH_SUBJECT, encode_batch(records), headers)
        self.published += 1
        if not self.lease_held():  # stored, but this process may have been paused past its lease: the
            raise LeaseLost("the lease ran out while the batch was replicated; not acknowledging it")  # caller may not say so
        return [position(BATCHES_APPLIED_META, stream_seq)]

    def replicate_change(self, change: TableChange) -> TableWrite:
        """Store a change to the tables beside the journal as the log's next message (the same guarantees
        as a batch); the meta row that records its place, to write with it locally."""
        stream_seq = self._append(ACCOUNTS_SUBJECT, change.encode(), {"Predictex-Last-Seq": "0"})
        if not self.lease_held():
            raise LeaseLost("the lease ran out while the change was replicated")
        return position(ACCOUNTS_APPLIED_META, stream_seq)

    def _append(self, subject: str, data: bytes, headers: dict[str, str]) -> int:
        headers["Predictex-Leader"] = self.node
        with self._appending:
            self.stream_seq = self.nats.call(self._publish(subject, data, headers, self.stream_seq))
            return self.stream_seq

    async def _publish(self, subject: str, data: bytes, headers: dict[str, str], expected: int) -> int:
        """Publish until the stream answers; a lost answer or a moment without a stream leader is tried
        again with the same expected sequence, for as long as the lease holds."""
        said_at = 0.0
        while True:
            if not self.lease_held():
                raise LeaseLost("the lease ran out before the batch was stored")
            try:
                return await self._attempt(subject, data, headers, expected)
            except nats.js.errors.NotFoundError as error:
                failure: Exception = error
            except nats.js.errors.APIError as error:
                if error.code is None or error.code < 500:
                    raise ReplicationFailed(f"the stream refused the batch: {error}") from error
                failure = error
            except (TimeoutError, nats.errors.TimeoutError, nats.errors.NoRespondersError, nats.errors.ConnectionClosedError, nats.errors.ConnectionReconnectingError, nats.js.errors.NoStreamResponseError) as error:
                failure = error
            now = time.monotonic()
            if now - said_at >= RETRY_LOG_EVERY_S:  # an operator sees why nothing is acknowledged
                said_at = now
                log.warning("the log's stream did not store the message after sequence %d yet (%s: %s); trying again",
                            expected, type(failure).__name__, failure)
            await asyncio.sleep(RETRY_PAUSE_S)

    async def _attempt(self, subject: str, data: bytes, headers: dict[str, str], expected: int) -> int:
        try:
            ack = await self.nats.js.publish(subject, data, headers={**headers, "Nats-Expected-Last-Sequence": str(expected)},
                                             stream=STREAM, timeout=PUBLISH_TIMEOUT_S)
        except nats.js.errors.BadRequestError as error:
            if error.err_code != WRONG_LAST_SEQUENCE:
                raise
            # something is already at expected + 1: this batch, if an earlier attempt's answer was lost (a
            # server not yet caught up may not have it: NotFoundError is tried again, never taken as fenced)
            found = await self._get(expected + 1)
            if found.data == data and found.leader == headers["Predictex-Leader"] and \
                    found.last_seq == int(headers.get("Predictex-Last-Seq", "0")):
                return expected + 1
            raise Fenced(f"another leader ({found.leader}) appended after stream sequence {expected}") from error
        if ack.seq != expected + 1:
            raise Fenced(f"the stream stored the batch at {ack.seq}, expected {expected + 1}")
        return expected + 1

