"""The sequencer: acknowledgements only after commit, group commit, time-driven commands from a fake
clock, failure (nothing more acknowledged), and a clean stop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from predictex.core import commands as c
from predictex.core.events import OrderClosed
from predictex.journal import Journal
from predictex.journal.base import StoredBatch, TableWrite
from predictex.journal.faulty import FSYNC_ERROR, WRITE_ERROR, FaultyStore
from predictex.journal.memory import MemoryStore
from predictex.server.clock import FakeClock
from predictex.server.sequencer import Entry, Sequencer, SequencerFailed, SequencerStopped, UnjournalableCommand

START_MS = 1_700_000_000_000


class GatedStore(MemoryStore):
    """A store whose appends wait until the test opens the gate, so a write can be held in flight (on
    the writer thread: sequencers over it are made with inline_writes=False)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.appended: list[tuple[int, int]] = []

    def append(self, batch: StoredBatch, writes: list[TableWrite]) -> None:
        self.gate.wait(10)
        super().append(batch, writes)
        self.appended.append((batch.first_seq, batch.last_seq))


class Recorder:
    def __init__(self) -> None:
        self.seqs: list[int] = []

    def committed(self, entries: Sequence[Entry]) -> None:
        self.seqs.extend(entry.seq for entry in entries)


def _sequencer(store: MemoryStore, clock: FakeClock, **options: object) -> tuple[Sequencer, Recorder]:
    journal = Journal(store)
    recovery = journal.recover()
    recorder = Recorder()
    sequencer = Sequencer(recovery.engine, journal, clock, last_seq=recovery.last_seq, listeners=[recorder], **options)  # type: ignore[arg-type]
    sequencer.start()
    return sequencer, recorder


async def _wait_until(condition: object, timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.001)


def test_acknowledged_only_after_commit_and_grouped() -> None:
    async def main() -> None:
        store = GatedStore()
        sequencer, recorder = _sequencer(store, FakeClock(START_MS), inline_writes=False)
        store.gate.clear()
        first = sequencer.submit(c.OpenAccount())
        await _wait_until(lambda: sequencer.last_seq == 1)  # applied, being written
        assert not first.done()
        later = [sequencer.submit(c.OpenAccount()) for _ in range(50)]
        await _wait_until(lambda: sequencer.last_seq == 51)  # applied while the first write waits
        assert not any(f.done() for f in later) and recorder.seqs == []
        store.gate.set()
        results = await asyncio.gather(first, *later)
        assert [r.seq for r in results] == list(range(1, 52))
        assert store.appended == [(1, 1), (2, 51)]  # everything that arrived meanwhile: one transaction
        assert recorder.seqs == list(range(1, 52))
        await sequencer.stop()

    asyncio.run(main())


class CountingClock(FakeClock):
    """Counts the sequencer's reads of the time: one per pass of its loop (the sequencer is compiled,
    so its methods cannot be wrapped)."""

    def __init__(self, start_ms: int) -> None:
        super().__init__(start_ms)
        self.reads = 0

    def now_ms(self) -> int:
        self.reads += 1
        return super().now_ms()


def test_a_full_batch_waits_for_the_write_in_flight_without_spinning() -> None:
    """With the next batch full and more commands queued, the sequencer waits for the write in flight:
    a loop spinning on the queue would hold the GIL the writer thread needs."""
    async def main() -> None:
        store = GatedStore()
        clock = CountingClock(START_MS)
        sequencer, recorder = _sequencer(store, clock, batch_max=3, inline_writes=False)
        store.gate.clear()
        pending = [sequencer.submit(c.OpenAccount()) for _ in range(10)]
        await _wait_until(lambda: sequencer.last_seq == 6)  # 1-3 being written, 4-6 waiting in a full batch
        before = clock.reads
        await asyncio.sleep(0.05)
        assert clock.reads - before <= 2, f"{clock.reads - before} passes of the loop while nothing could happen"
        store.gate.set()
        results = await asyncio.gather(*pending)
        assert [r.seq for r in results] == list(range(1, 11))
        assert store.appended == [(1, 3), (4, 6), (7, 9), (10, 10)]
        assert recorder.seqs == list(range(1, 11))
        await sequencer.stop()

    asyncio.run(main())


class ThreadRecordingStore(MemoryStore):
    """Records which thread wrote each batch."""

    def __init__(self) -> None:
        super().__init__()
        self.writers: list[tuple[int, int, int]] = []  # (first_seq, last_seq, thread id)

    def append(self, batch: StoredBatch, writes: list[TableWrite]) -> None:
        super().append(batch, writes)
        self.writers.append((batch.first_seq, batch.last_seq, threading.get_ident()))


def test_commands_one_at_a_time_are_written_on_the_loop_and_bursts_on_the_writer_thread() -> None:
    """A lone command has nothing to overlap its write with, so it skips the thread hand-offs; a burst
    goes to the writer thread, so the loop applies the next commands while the batch is written."""
    async def main() -> None:
        store = ThreadRecordingStore()
        sequencer, recorder = _sequencer(store, FakeClock(START_MS))
        loop_thread = threading.get_ident()
        for _ in range(3):
            await sequencer.execute(c.OpenAccount())
        assert [(first, last) for first, last, _ in store.writers] == [(1, 1), (2, 2), (3, 3)]
        assert {thread for _, _, thread in store.writers} == {loop_thread}
        burst = await asyncio.gather(*[sequencer.submit(c.OpenAccount()) for _ in range(20)])
        assert [r.seq for r in burst] == list(range(4, 24))
        written = store.writers[3:]
        assert written[0][:2] == (4, 23) and written[0][2] != loop_thread  # one batch, off the loop
        assert sequencer.batches_written_inline == 3
        # after a burst, the next lone command still goes to the writer thread (something may have
        # arrived during that write); the one after it is written on the loop again
        await sequencer.execute(c.OpenAccount())
        await sequencer.execute(c.OpenAccount())
        assert [thread == loop_thread for _, _, thread in store.writers[4:]] == [False, True]
        assert recorder.seqs == list(range(1, 26))
        await sequencer.stop(snapshot=False)

    asyncio.run(main())


def test_inline_writes_can_be_turned_off() -> None:
    async def main() -> None:
        store = ThreadRecordingStore()
        sequencer, _ = _sequencer(store, FakeClock(START_MS), inline_writes=False)
        await sequencer.execute(c.OpenAccount())
        assert store.writers[0][2] != threading.get_ident() and sequencer.batches_written_inline == 0
        await sequencer.stop(snapshot=False)

    asyncio.run(main())


def test_time_driven_commands_come_from_the_clock() -> None:
    async def main() -> None:
        clock = FakeClock(START_MS)
        store = MemoryStore()
        sequencer, _ = _sequencer(store, clock)
        await sequencer.execute(c.CreateSeries("S", "s"))
        await sequencer.execute(c.CreateEvent("S-E", "S", "e"))
        await sequencer.execute(c.CreateMarket("S-E-M", "S-E", "m", START_MS + 5_000, START_MS + 60_000))
        account = (await sequencer.execute(c.OpenAccount())).outcome.value
        await sequencer.execute(c.Deposit(account, 10_000_000))
        clock.advance(5_000)
        await _wait_until(lambda: sequencer.engine.markets.markets["S-E-M"].status == "active")
        order = await sequencer.execute(c.CreateOrder(account, "S-E-M", True, 4000, 100, expiration_ms=START_MS + 10_000))
        assert order.outcome.ok
        clock.advance(5_000)
        await _wait_until(lambda: not sequencer.engine.trading.orders)
        clock.advance(50_000)
        await _wait_until(lambda: sequencer.engine.markets.markets["S-E-M"].status == "closed")
        await sequencer.stop(snapshot=False)
        records = list(Journal(store).records())
        ticks = [r for r in records if r.command == ["tick"]]
        assert len(ticks) == 3
        events = [e for r in ticks for e in r.events]
        assert ["market_status_changed", "S-E-M", "initialized", "active", "open_time"] in events
        assert any(e[0] == OrderClosed.TYPE and e[5] == "expired" for e in events)
        assert ["market_status_changed", "S-E-M", "active", "closed", "close_time"] in events

    asyncio.run(main())


@pytest.mark.parametrize("fault", [WRITE_ERROR, FSYNC_ERROR])
def test_a_failed_write_is_never_acknowledged_and_stops_the_sequencer(fault: str) -> None:
    async def main() -> None:
        inner = MemoryStore()
        store = FaultyStore(inner)
        journal = Journal(store)
        sequencer = Sequencer(journal.recover().engine, journal, FakeClock(START_MS))
        sequencer.start()
        await sequencer.execute(c.OpenAccount())
        store.arm(fault)
        doomed = [sequencer.submit(c.OpenAccount()) for _ in range(3)]
        results = await asyncio.gather(*doomed, return_exceptions=True)
        assert all(isinstance(r, SequencerFailed) for r in results)
        with pytest.raises(SequencerFailed):
            sequencer.submit(c.OpenAccount())
        await sequencer.stop()
        recovered = Journal(inner).recover()
        # a write error leaves nothing; an fsync error may leave the batch: whole, never half
        assert recovered.last_seq in ((1,) if fault == WRITE_ERROR else (1, 2, 4))
        assert len(recovered.engine.ledger.accounts) == recovered.last_seq

    asyncio.run(main())


def test_stop_finishes_what_was_accepted_and_refuses_the_rest() -> None:
    async def main() -> None:
        store = GatedStore()
        sequencer, _ = _sequencer(store, FakeClock(START_MS), inline_writes=False)
        store.gate.clear()
        accepted = [sequencer.submit(c.OpenAccount()) for _ in range(10)]
        stopping = asyncio.ensure_future(sequencer.stop())
        await asyncio.sleep(0.01)
        with pytest.raises(SequencerStopped):
            sequencer.submit(c.OpenAccount())
        store.gate.set()
        await stopping
        assert [f.result().seq for f in accepted] == list(range(1, 11))
        assert store.snapshots()[0].seq == 10

    asyncio.run(main())


def test_submit_many_resolves_once_all_are_durable() -> None:
    async def main() -> None:
        sequencer, _ = _sequencer(MemoryStore(), FakeClock(START_MS))
        results = await sequencer.submit_many([c.OpenAccount() for _ in range(25)])
        assert [r.outcome.value for r in results] == list(range(1, 26))
        await sequencer.stop()

    asyncio.run(main())


def test_a_command_the_journal_cannot_store_is_refused_before_it_is_queued() -> None:
    """An integer beyond 64 bits cannot be journaled: the command is refused at submit (naming the
    field), a bulk submit holding one is refused whole, and the sequencer carries on."""

    async def main() -> None:
        store = MemoryStore()
        sequencer, recorder = _sequencer(store, FakeClock(START_MS))
        account = (await sequencer.execute(c.OpenAccount())).outcome.value
        with pytest.raises(UnjournalableCommand, match="amount_microdollars is out of range"):
            sequencer.submit(c.Deposit(account, 10**30, "huge"))
        with pytest.raises(UnjournalableCommand, match="count_centicontracts is out of range"):
            sequencer.submit_many([c.OpenAccount(), c.BatchCreateOrders(account, [c.CreateOrder(account, "M", True, 5000, 1 << 64)])])
        assert sequencer.queued == 0 and sequencer.last_seq == 1
        deposited = await sequencer.execute(c.Deposit(account, 5_000_000, "fine"))
        assert deposited.seq == 2 and deposited.outcome.reject is None and recorder.seqs == [1, 2]
        await sequencer.stop()
        assert [record.seq for record in Journal(store).records()] == [1, 2]

    asyncio.run(main())
