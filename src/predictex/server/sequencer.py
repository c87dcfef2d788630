"""The sequencer: the one writer in front of the engine.

Producers (gateways, operators, the clock) `submit` commands; the sequencer stamps each with the next
sequence number and the time, applies it to the engine, and appends the command and its events to the
journal. A producer's future resolves only after the batch holding its command has committed.

Group commit, pipelined: while one batch is being written (on a thread of its own), commands that
arrive are applied at once and collected; when the write completes, everything collected meanwhile
goes into the next transaction. When commands come one at a time (a batch of one, nothing queued, and
nothing arrived while the previous one was written), there is nothing to overlap with the write, and
the batch is written on the event loop's own thread: the two thread hand-offs (about 90 µs) would
only add to the acknowledgement's latency. A second command arriving meanwhile waits in the socket
and makes the next batch bigger, which goes back to the writer thread.

In a cluster, a `Replicator` (the replicated journal) takes each batch before the local journal, on the
same path: a batch is durable once both have it.

Listeners (the read model, fan-out) hear about a batch after it has committed and before any of its
producers are answered, so an acknowledged command is always visible to reads.

Snapshots (every `snapshot_every` commands) are taken off the order path (journal.snapshots). By
default (`snapshot_mode="follower"`) a child forked once at start keeps a copy of the engine current
from the batches the writer commits (one pipe write per batch) and sends a snapshot back every
`snapshot_every` commands: the sequencer is held for none of it. Should the follower stop (it fell
too far behind, a record replayed differently, it was killed), each snapshot is taken by a fork of its
own ("fork": the child captures and encodes it from its copy-on-write image of the instant between
two commands; the sequencer is held for the fork, which copies the process's page tables). Either
way the finished snapshot goes to the writer with the next batch and is stored after it has
committed; one that fails is skipped (logged): the journal holds every command regardless. Without
`os.fork` ("inline") the capture is made on the sequencer's thread and encoded on the writer's.

Time: when the engine says something falls due (a market opening, an order expiring), the sequencer
applies a Tick through the same path. If the journal fails, nothing more is acknowledged: every
waiting producer gets SequencerFailed and the sequencer stops (the engine is then ahead of the
journal, and the process must restart from the journal).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from orjson import dumps

from predictex.core.codec import encode_command, encode_events
from predictex.core.commands import Command, Tick
from predictex.core.engine import Engine, Outcome
from predictex.core.limits import SEQUENCER_BATCH_MAX, SEQUENCER_QUEUE_MAX
from predictex.journal.base import StoredSnapshot, TableWrite
from predictex.journal.journal import Journal
from predictex.journal.records import Record
from predictex.journal.snapshots import ForkedCapture, SnapshotFollower, encode_snapshot, fork_available
from predictex.server import sources
from predictex.server.clock import Clock
from predictex.server.sequencer_errors import SequencerBusy, SequencerFailed, SequencerStopped, UnjournalableCommand

__all__ = ["Committed", "Entry", "Forwarder", "Listener", "Projector", "Replicator", "Sequencer", "SequencerBusy", "SequencerFailed", "SequencerStopped",
           "UnjournalableCommand"]

log = logging.getLogger("predictex.sequencer")

SNAPSHOT_MODES = ("follower", "fork", "inline")
FOLLOWER_STOP_S = 60.0  # at a stop, what the follower may take to apply its backlog before it is killed

_TICK = Tick()
_TICK_JSON = dumps(encode_command(_TICK))


class Committed:
    """What a producer hears once its command is durable."""

    __slots__ = ("outcome", "seq", "time_ms")

    def __init__(self, seq: int, time_ms: int, outcome: Outcome) -> None:
        self.seq = seq
        self.time_ms = time_ms
        self.outcome = outcome


class Entry(Committed):
    """One applied command: its sequence number, time and outcome (handed to its producer as they are,
    once committed: no second object per command), the command and its journal record."""

    __slots__ = ("command", "record")

    def __init__(self, seq: int, time_ms: int, command: Command, outcome: Outcome, record: Record) -> None:
        super().__init__(seq, time_ms, outcome)
        self.command = command
        self.record = record


class Projector(Protocol):
    """Turns applied entries into rows for the read model's history tables, written in the same
    transaction as the batch."""

    def writes(self, entries: Sequence[Entry]) -> list[TableWrite]: ...


class Listener(Protocol):
    def committed(self, entries: Sequence[Entry]) -> None: ...


class Replicator(Protocol):
    """Where a batch goes before the local journal when the exchange runs as a cluster
    (`predictex.cluster.log.ReplicatedLog`): `replicate` returns once the batch is durable on a majority
    and this process still leads, and raises otherwise (then nothing of the batch is acknowledged). What
    it returns is written in the batch's transaction (where in the log the batch is)."""

    def replicate(self, records: list[Record]) -> list[TableWrite]: ...


class Forwarder(Protocol):
    """Where a gateway node's sequencer sends what is submitted instead of applying it
    (`predictex.cluster.gateway`): the commands as the journal stores them and their source, in order;
    the future resolves (to one Committed when `single`, else a list) once the leader has committed
    them and this process has applied them from the replicated log."""

    def forward(self, commands_json: list[bytes], source: bytes, single: bool) -> asyncio.Future[Any]: ...


class _Group:
    """One future for many commands (a producer that sends in bulk), resolved when the last commits."""

    def __init__(self, future: asyncio.Future[list[Committed]], size: int) -> None:
        self.future = future
        self.results: list[Committed | None] = [None] * size
        self.left = size

    def resolve(self, index: int, committed: Committed) -> None:
        self.results[index] = committed
        self.left -= 1
        if self.left == 0 and not self.future.done():
            self.future.set_result([r for r in self.results if r is not None])

    def fail(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)


class _Batch:
    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.waiters: list[asyncio.Future[Committed] | tuple[_Group, int] | None] = []
        self.snapshot: StoredSnapshot | tuple[int, dict[str, Any]] | None = None  # encoded by a child, or captured here


class Sequencer:
    def __init__(
        self, engine: Engine, journal: Journal, clock: Clock, *, last_seq: int = 0, last_time_ms: int = 0,
        projector: Projector | None = None, listeners: Sequence[Listener] = (), batch_max: int = SEQUENCER_BATCH_MAX,
        queue_max: int = SEQUENCER_QUEUE_MAX, snapshot_every: int = 0, on_failure: Callable[[BaseException], None] | None = None,
        inline_writes: bool = True, between_batches: Callable[[bool], None] | None = None,
        replicator: Replicator | None = None, snapshot_mode: str = "follower", forwarder: Forwarder | None = None,
    ) -> None:
        self.engine = engine
        self.journal = journal
        self.clock = clock
        self.projector = projector
        self.listeners = list(listeners)
        self.batch_max = batch_max
        self.queue_max = queue_max
        self.snapshot_every = snapshot_every
        self.on_failure = on_failure
        self.last_seq = last_seq  # last applied
        self.committed_seq = last_seq  # last durable
        self.last_time_ms = last_time_ms
        self._last_snapshot_seq = last_seq  # the last one begun
        self._snapshot_done_seq = last_seq  # the last one captured (and stored, or on its way to the store)
        if snapshot_mode not in SNAPSHOT_MODES:
            raise ValueError(f"snapshot_mode is one of {', '.join(SNAPSHOT_MODES)}, not {snapshot_mode!r}")
        self.snapshot_mode = snapshot_mode if fork_available() else "inline"
        self._follower: SnapshotFollower | None = None
        self._capturing: asyncio.Future[StoredSnapshot] | None = None  # a child's snapshot, being collected
        self._captured: StoredSnapshot | None = None  # a child's snapshot, waiting for a batch to go with
        self._snapshot_reader: ThreadPoolExecutor | None = None
        self.snapshots_taken = 0
        self.snapshots_failed = 0
        self.snapshot_pause_s_max = 0.0  # what a snapshot held the sequencer's thread for (the fork, or the capture)
        self.snapshot_pause_s_total = 0.0
        self.snapshot_child_s_max = 0.0  # from the fork to the child's last byte
        self._queue: deque[tuple[Command, bytes, asyncio.Future[Committed] | tuple[_Group, int], bytes]] = deque()
        self._wakeup: asyncio.Future[None] | None = None  # what the loop waits on when idle
        self._stopping = False
        self._failure: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal-writer")
        self.inline_writes = inline_writes
        self.between_batches = between_batches  # called after each batch; True when nothing waits (the collector's sweeps)
        self.replicator = replicator  # a cluster's replicated log, written before the local journal
        self.forwarder = forwarder  # a gateway node's: commands go to the leader; this one is never started
        self._one_at_a_time = True  # the last batch held one command
        self.batches_committed = 0
        self.batches_written_inline = 0
        clock.on_advance(self._wake_up)

    # --- producers ------------------------------------------------------------------------------

    def _admit(self, count: int) -> None:
        if self._failure is not None:
            raise SequencerFailed(f"the journal failed: {self._failure}")
        if self._stopping:
            raise SequencerStopped("the exchange is shutting down")
        if len(self._queue) + count > self.queue_max:
            raise SequencerBusy(f"{self.queue_max} commands are waiting")

    def submit(self, command: Command, source: bytes | None = None) -> asyncio.Future[Committed]:
        """Queue one command; the future resolves once it is durable. `source` (server/sources.py) is
        journaled with it; by default the one the caller's context holds."""
        self._admit(1)
        command_json = _encoded(command)
        origin = sources.current.get() if source is None else source
        if self.forwarder is not None:
            forwarded: asyncio.Future[Committed] = self.forwarder.forward([command_json], origin, True)
            return forwarded
        future: asyncio.Future[Committed] = self._event_loop().create_future()
        self._queue.append((command, command_json, future, origin))
        self._wake_up()
        return future

    def submit_many(self, commands: Sequence[Command], source: bytes | None = None) -> asyncio.Future[list[Committed]]:
        """Queue several commands, in order, behind one future that resolves once all are durable."""
        self._admit(len(commands))
        origin = sources.current.get() if source is None else source
        encoded = [_encoded(command) for command in commands]  # all or nothing
        if self.forwarder is not None and commands:
            many: asyncio.Future[list[Committed]] = self.forwarder.forward(encoded, origin, False)
            return many
        future: asyncio.Future[list[Committed]] = self._event_loop().create_future()
        if not commands:
            future.set_result([])
            return future
        group = _Group(future, len(commands))
        queue = self._queue
        for index, command in enumerate(commands):
            queue.append((command, encoded[index], (group, index), origin))
        self._wake_up()
        return future

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        """The loop the sequencer runs on, once started (asyncio.get_running_loop() asks the kernel for
        the process id on every call)."""
        return self._loop if self._loop is not None else asyncio.get_running_loop()

    async def execute(self, command: Command) -> Committed:
        return await self.submit(command)

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def failed(self) -> BaseException | None:
        return self._failure

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.snapshot_every and self.snapshot_mode == "follower":
            try:
                self._follower = SnapshotFollower(self.engine, self.last_seq, self.snapshot_every)
            except OSError as error:
                self.snapshot_mode = "fork"
                log.warning("the snapshot follower could not start (%s): each snapshot is taken by a fork of its own", error)
        self._task = self._loop.create_task(self._run(), name="sequencer")

    async def stop(self, snapshot: bool = True) -> None:
        """Stop taking commands, finish what was accepted, and (by default) leave a snapshot so the next
        start-up is quick."""
        self._stopping = True
        self._wake_up()
        if self._task is not None:
            await self._task
        loop = asyncio.get_running_loop()
        follower = self._follower
        if follower is not None:
            follower.end_input()  # it applies what it has, sends a snapshot if one is due, and exits
        if self._capturing is not None:  # a child's snapshot of what has all committed now
            await asyncio.wait([self._capturing], timeout=FOLLOWER_STOP_S if follower is not None else None)
            if not self._capturing.done() and follower is not None:
                follower.kill()
                await asyncio.wait([self._capturing])
            self._collected(self._capturing)
        if follower is not None:
            await loop.run_in_executor(self._reader(), follower.close)
            self._follower = None
        if self._captured is not None and self._failure is None:
            await loop.run_in_executor(self._writer, self.journal.store_snapshot, self._captured)
            self._captured = None
        if snapshot and self._failure is None and self.committed_seq > self._snapshot_done_seq:
            captured = Journal.capture(self.engine)
            await loop.run_in_executor(self._writer, self.journal.save_snapshot, self.committed_seq, captured)
        self._writer.shutdown(wait=True)
        if self._snapshot_reader is not None:
            self._snapshot_reader.shutdown(wait=True)

    # --- the loop -------------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        in_flight: asyncio.Future[None] | None = None
        writing: _Batch | None = None
        ready = _Batch()
        try:
            while True:
                self._apply_pending(ready)
                if in_flight is None and ready.entries:
                    writing, ready = ready, _Batch()
                    if self._write_inline(writing):
                        self._write(writing)
                        self.batches_written_inline += 1
                        self._complete(writing)
                        writing = None
                        self._after_batch(ready, None)
                    else:
                        in_flight = loop.run_in_executor(self._writer, self._write, writing)
                if in_flight is None and not ready.entries and self._stopping and not self._queue:
                    return
                await self._wait(in_flight, len(ready.entries) < self.batch_max)
                if in_flight is not None and in_flight.done():
                    in_flight.result()  # raises if the write failed
                    assert writing is not None
                    self._complete(writing)
                    in_flight, writing = None, None
                    self._after_batch(ready, None)
        except Exception as error:  # the journal failed: nothing more can be acknowledged
            self._fail(error, [b for b in (writing, ready) if b is not None])

    def _after_batch(self, ready: _Batch, in_flight: asyncio.Future[None] | None) -> None:
        if self.between_batches is not None:
            self.between_batches(in_flight is None and not ready.entries and not self._queue)

    def _write_inline(self, batch: _Batch) -> bool:
        """Whether to write `batch` on this thread: commands are coming one at a time (see the module's
        docstring), and the batch carries no snapshot (a big write, worth overlapping)."""
        return (self.inline_writes and self._one_at_a_time and len(batch.entries) == 1 and not self._queue
                and batch.snapshot is None)

    def _wake_up(self) -> None:
        waiter = self._wakeup
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self, in_flight: asyncio.Future[None] | None, room: bool) -> None:
        """Until there is something to do. `room`: the batch being filled can take more commands; when
        it cannot, only the write in flight makes progress, and waiting for it (rather than spinning
        on the queue) leaves the GIL to the writer thread."""
        if not room:
            assert in_flight is not None  # a full batch with no write in flight is written at once
            await asyncio.wait([in_flight])
            return
        if self._queue or (self._stopping and in_flight is None):
            await asyncio.sleep(0)
            return
        timeout = self.clock.seconds_until(self.engine.next_deadline_ms())
        if timeout is not None and timeout <= 0:
            await asyncio.sleep(0)
            return
        # One future, resolved by whichever comes first: a submit, the write in flight, or the deadline.
        loop = self._event_loop()
        waiter = self._wakeup = loop.create_future()
        deadline = loop.call_later(timeout, self._wake_up) if timeout is not None else None
        if in_flight is not None:
            in_flight.add_done_callback(self._wake_on_write)
        try:
            await waiter
        finally:
            self._wakeup = None
            if deadline is not None:
                deadline.cancel()
            if in_flight is not None:
                in_flight.remove_done_callback(self._wake_on_write)

    def _wake_on_write(self, _: asyncio.Future[None]) -> None:
        self._wake_up()

    def _apply_pending(self, batch: _Batch) -> None:
        """Apply queued commands (and a Tick when something falls due) into `batch`."""
        engine = self.engine
        now_ms = max(self.clock.now_ms(), self.last_time_ms)
        if engine.next_deadline_ms() <= now_ms and len(batch.entries) < self.batch_max:
            self._apply(batch, _TICK, _TICK_JSON, None, now_ms, b"")
        queue = self._queue
        while queue and len(batch.entries) < self.batch_max:
            command, command_json, waiter, source = queue.popleft()
            if isinstance(waiter, asyncio.Future) and waiter.cancelled():
                continue
            self._apply(batch, command, command_json, waiter, now_ms, source)
        if self.snapshot_every:
            self._snapshot_step(batch)

    def _snapshot_step(self, batch: _Batch) -> None:
        """Between two commands: hand a child's finished snapshot to `batch` (written after its records,
        which come after the snapshot's sequence number), or begin one when it is due."""
        capturing = self._capturing
        if capturing is not None and capturing.done():
            self._collected(capturing)
        if self._captured is not None and batch.snapshot is None and batch.entries:
            batch.snapshot, self._captured = self._captured, None
        if self._follower is not None:  # the follower decides when: collect its next one
            if self._capturing is None and self._captured is None and not self._stopping:
                self._capturing = self._event_loop().run_in_executor(self._reader(), self._follower.collect)
            return
        if (self._capturing is not None or self._captured is not None or batch.snapshot is not None
                or self.last_seq - self._last_snapshot_seq < self.snapshot_every):
            return
        started = time.perf_counter()
        seq = self.last_seq
        self._last_snapshot_seq = seq
        if self.snapshot_mode == "fork":
            try:
                capture = ForkedCapture(self.engine, seq)
            except OSError as error:  # no memory or processes left for a child: skipped, tried again later
                self.snapshots_failed += 1
                log.warning("snapshot at %d skipped: the fork failed: %s", seq, error)
                return
            self._capturing = self._event_loop().run_in_executor(self._reader(), capture.collect)
            self._capturing.add_done_callback(functools.partial(_child_time, self, capture))
        else:
            batch.snapshot = (seq, Journal.capture(self.engine))
            self._snapshot_done_seq = seq
            self.snapshots_taken += 1
        paused = time.perf_counter() - started
        self.snapshot_pause_s_total += paused
        self.snapshot_pause_s_max = max(self.snapshot_pause_s_max, paused)

    def _collected(self, capturing: asyncio.Future[StoredSnapshot]) -> None:
        self._capturing = None
        try:
            stored = capturing.result()
        except Exception as error:  # SnapshotFailed, OSError: skipped; the next is due snapshot_every later
            follower = self._follower
            if follower is not None and self._stopping:
                return  # the follower ended with its input: nothing was due
            self.snapshots_failed += 1
            if follower is not None:
                log.warning("the snapshot follower stopped (%s): each snapshot is taken by a fork of its own from now on", error)
                follower.kill()
                self._reader().submit(follower.close)  # reaped, its pipes closed
                self._follower = None
                self.snapshot_mode = "fork"
                self._last_snapshot_seq = self.last_seq
                return
            log.warning("snapshot skipped: %s", error)
            return
        self._captured = stored
        self._snapshot_done_seq = stored.seq
        self.snapshots_taken += 1

    def _reader(self) -> ThreadPoolExecutor:
        if self._snapshot_reader is None:
            self._snapshot_reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot-reader")
        return self._snapshot_reader

    def _apply(self, batch: _Batch, command: Command, command_json: bytes,
               waiter: asyncio.Future[Committed] | tuple[_Group, int] | None, now_ms: int, source: bytes) -> None:
        seq = self.last_seq + 1
        outcome = self.engine.apply(command, now_ms)
        events = outcome.events
        record = Record(seq, now_ms, command_json, dumps(encode_events(events)), len(events), source)
        self.last_seq = seq
        self.last_time_ms = now_ms
        batch.entries.append(Entry(seq, now_ms, command, outcome, record))
        batch.waiters.append(waiter)

    def _write(self, batch: _Batch) -> None:
        """On the writer thread: the batch and its history rows in one transaction, then any snapshot."""
        writes = self.projector.writes(batch.entries) if self.projector is not None else []
        records = [entry.record for entry in batch.entries]
        if self.replicator is not None:  # the replicated log first: a local journal is never ahead of it
            writes = writes + self.replicator.replicate(records)
        stored = self.journal.append(records, writes)
        follower = self._follower
        if follower is not None and stored is not None:
            follower.feed(stored)
        snapshot = batch.snapshot
        if snapshot is not None:
            self.journal.store_snapshot(snapshot if isinstance(snapshot, StoredSnapshot) else encode_snapshot(*snapshot))

    def _complete(self, batch: _Batch) -> None:
        self.committed_seq = batch.entries[-1].seq
        self._one_at_a_time = len(batch.entries) == 1
        self.batches_committed += 1
        for listener in self.listeners:
            try:
                listener.committed(batch.entries)
            except Exception:
                log.exception("a commit listener failed; continuing")
        entries = batch.entries
        for index, waiter in enumerate(batch.waiters):  # one waiter per entry
            if waiter is None:
                continue
            entry = entries[index]
            if isinstance(waiter, asyncio.Future):
                if not waiter.done():
                    waiter.set_result(entry)
            else:
                waiter[0].resolve(waiter[1], entry)

    def _fail(self, error: BaseException, batches: list[_Batch]) -> None:
        self._failure = error
        self._stopping = True
        log.error("journal write failed at sequence %d; nothing more will be acknowledged: %s", self.committed_seq + 1, error)
        failure = SequencerFailed(f"the journal failed: {error}")
        waiters = [w for batch in batches for w in batch.waiters] + [w for _, _, w, _ in self._queue]
        self._queue.clear()
        for waiter in waiters:
            if isinstance(waiter, asyncio.Future):
                if not waiter.done():
                    waiter.set_exception(failure)
            elif waiter is not None:
                waiter[0].fail(failure)
        if self.on_failure is not None:
            self.on_failure(error)


def _child_time(sequencer: Sequencer, capture: ForkedCapture, _: asyncio.Future[StoredSnapshot]) -> None:
    sequencer.snapshot_child_s_max = max(sequencer.snapshot_child_s_max, capture.child_seconds)


def _encoded(command: Command) -> bytes:
    """The command as the journal stores it; refused here, before it is queued, if it cannot be."""
    try:
        encoded: bytes = dumps(encode_command(command))
    except (TypeError, ValueError) as error:  # orjson refuses integers beyond 64 bits
        raise UnjournalableCommand(f"{_out_of_range(command) or 'a value'} is out of range") from error
    return encoded


def _out_of_range(command: Any) -> str | None:
    """The name of the first field holding an integer beyond 64 bits (looking inside batches)."""
    for name, value in zip(command.FIELDS, command.values(), strict=True):
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, int) and not -(1 << 63) <= item < 1 << 63:
                return str(name)
            if hasattr(item, "FIELDS") and (inner := _out_of_range(item)) is not None:
                return inner
    return None
