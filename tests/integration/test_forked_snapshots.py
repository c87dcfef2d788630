"""Snapshots captured in a forked child (journal/snapshots.py), off the sequencer's path: the child's
snapshot is the state at the instant of the fork whatever the parent does next, restart from it
reproduces the exact state, and a child that fails leaves nothing stored and the exchange running
(POSIX: where os.fork is missing the sequencer captures on its own thread, the "inline" case below)."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import zlib
from typing import Any

import pytest

from predictex.core import commands as c
from predictex.core.engine import Engine
from predictex.core.snapshot import canonical_json, state_hash, take_snapshot
from predictex.journal import Journal, replay
from predictex.journal import snapshots as forked
from predictex.journal.memory import MemoryStore
from predictex.journal.snapshots import ForkedCapture, SnapshotFailed
from predictex.journal.sqlite import SqliteStore
from predictex.server.clock import FakeClock
from predictex.server.sequencer import Sequencer

START_MS = 1_700_000_000_000
TICKER = "KXSNAP-26JAN-T1"


def _engine_with_book() -> tuple[Engine, list[int]]:
    engine = Engine()
    now = START_MS
    for command in (c.CreateSeries("KXSNAP", "Snapshots"), c.CreateEvent("KXSNAP-26JAN", "KXSNAP", "January"),
                    c.CreateMarket(TICKER, "KXSNAP-26JAN", "Above 1?", now - 1000, now + 3_600_000)):
        engine.apply(command, now)
    accounts = [engine.apply(c.OpenAccount(), now).value for _ in range(4)]
    for account in accounts:
        engine.apply(c.Deposit(account, 1_000_000_000), now)
    for i in range(200):
        engine.apply(c.CreateOrder(accounts[i % 4], TICKER, i % 2 == 0, 2000 + (i % 2) * 5000 + i, 100), now + i)
    return engine, accounts


def test_the_child_sends_the_state_at_the_fork_while_the_parent_moves_on() -> None:
    engine, accounts = _engine_with_book()
    expected_bytes = canonical_json(take_snapshot(engine))
    expected_hash = state_hash(engine)
    capture = ForkedCapture(engine, seq=205)
    for i in range(50):  # the parent changes the state at once: the child's copy must not see it
        engine.apply(c.CreateOrder(accounts[i % 4], TICKER, True, 1000 + i, 300), START_MS + 10_000 + i)
    assert state_hash(engine) != expected_hash
    stored = capture.collect()
    assert (stored.seq, stored.state_hash) == (205, expected_hash)
    assert zlib.decompress(stored.data) == expected_bytes
    assert capture.fork_seconds < capture.child_seconds


def test_a_failing_child_is_reported_and_nothing_is_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    engine, _ = _engine_with_book()

    def broken(_: Engine) -> dict[str, Any]:
        raise RuntimeError("capture failed")

    monkeypatch.setattr(forked, "take_snapshot", broken)
    with pytest.raises(SnapshotFailed, match="exit status 1"):
        ForkedCapture(engine, seq=1).collect()


def test_a_child_that_outlives_its_time_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    engine, _ = _engine_with_book()
    monkeypatch.setattr(forked, "take_snapshot", lambda _: time.sleep(30))
    started = time.monotonic()
    with pytest.raises(SnapshotFailed, match="killed"):
        ForkedCapture(engine, seq=1, timeout_s=0.5).collect()
    assert time.monotonic() - started < 10


def test_the_child_keeps_no_copy_of_the_parents_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection the parent closes while a child lives is closed at once (the child closed its copy)."""
    engine, _ = _engine_with_book()
    real = forked.take_snapshot

    def slow(captured: Engine) -> dict[str, Any]:
        time.sleep(1.0)
        return real(captured)

    monkeypatch.setattr(forked, "take_snapshot", slow)
    ours, theirs = socket.socketpair()
    capture = ForkedCapture(engine, seq=1)
    time.sleep(0.2)  # the child has closed its descriptors by now
    ours.close()
    theirs.settimeout(0.5)
    assert theirs.recv(1) == b""  # end of file now, not when the child exits
    theirs.close()
    assert capture.collect().state_hash == state_hash(engine)


async def _order_flow(sequencer: Sequencer, count: int) -> None:
    run = sequencer.execute
    await run(c.CreateSeries("KXSNAP", "Snapshots"))
    await run(c.CreateEvent("KXSNAP-26JAN", "KXSNAP", "January"))
    await run(c.CreateMarket(TICKER, "KXSNAP-26JAN", "Above 1?", START_MS - 1000, START_MS + 3_600_000))
    accounts = [(await run(c.OpenAccount())).outcome.value for _ in range(4)]
    for account in accounts:
        await run(c.Deposit(account, 1_000_000_000))
    for i in range(count):  # one at a time and in bursts, crossing now and then
        if i % 10 == 0:
            await asyncio.gather(*(sequencer.submit(c.CreateOrder(accounts[j % 4], TICKER, j % 2 == 0, 4000 + j * 50, 100))
                                   for j in range(8)))
        else:
            await run(c.CreateOrder(accounts[i % 4], TICKER, i % 2 == 0, 3000 + (i % 2) * 3000 + i % 17, 100))
        if i % 25 == 0:
            await asyncio.sleep(0.02)  # time for a child to finish


@pytest.mark.parametrize("mode", ["follower", "fork", "inline"])
def test_restart_after_a_crash_reproduces_the_exact_state(tmp_path: Any, mode: str) -> None:
    """The exchange snapshots every 40 commands while it runs and stops without a final snapshot (as a
    crash leaves it); recovery starts from the newest snapshot and replays the tail to the same state."""
    path = tmp_path / "journal.db"

    async def main() -> tuple[Sequencer, str]:
        store = SqliteStore(path)
        journal = Journal(store)
        recovery = journal.recover()
        sequencer = Sequencer(recovery.engine, journal, FakeClock(START_MS), snapshot_every=40, snapshot_mode=mode)
        sequencer.start()
        await _order_flow(sequencer, 300)
        await sequencer.stop(snapshot=False)
        store.close()
        return sequencer, state_hash(sequencer.engine)

    sequencer, live_hash = asyncio.run(main())
    assert sequencer.snapshot_mode == mode
    assert sequencer.snapshots_taken >= 3 and sequencer.snapshots_failed == 0
    store = SqliteStore(path)
    stored = store.snapshots()
    assert 1 <= len(stored) <= 3
    assert all(s.seq < sequencer.committed_seq for s in stored)
    recovery = Journal(store).recover()
    assert recovery.snapshot_seq == stored[0].seq > 0
    assert recovery.replayed == sequencer.committed_seq - stored[0].seq
    assert state_hash(recovery.engine) == live_hash
    for snapshot in stored:  # each snapshot is exactly the state a replay of the journal reaches at its seq
        engine = Engine()
        journal = Journal(store)
        for record in journal.records():
            if record.seq > snapshot.seq:
                break
            replay(engine, record)
        assert state_hash(engine) == snapshot.state_hash
    store.close()


def test_a_failed_child_skips_the_snapshot_and_the_exchange_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_: Engine) -> dict[str, Any]:
        os._exit(3)

    monkeypatch.setattr(forked, "take_snapshot", broken)

    async def main() -> Sequencer:
        store = MemoryStore()
        journal = Journal(store)
        sequencer = Sequencer(Engine(), journal, FakeClock(START_MS), snapshot_every=40)
        sequencer.start()
        await _order_flow(sequencer, 120)
        await sequencer.stop(snapshot=False)
        assert store.snapshots() == []
        assert Journal(store).recover().last_seq == sequencer.committed_seq
        return sequencer

    sequencer = asyncio.run(main())
    assert sequencer.snapshots_failed >= 1 and sequencer.snapshots_taken == 0
    assert sequencer.committed_seq == 3 + 4 + 4 + (120 - 12) + 12 * 8


def test_a_follower_that_dies_gives_way_to_a_fork_per_snapshot(tmp_path: Any) -> None:
    """The follower killed mid-run: the sequencer says so, takes the next snapshots by a fork each, and
    restart still reproduces the exact state."""
    path = tmp_path / "journal.db"

    async def main() -> tuple[Sequencer, str, int]:
        store = SqliteStore(path)
        journal = Journal(store)
        sequencer = Sequencer(Engine(), journal, FakeClock(START_MS), snapshot_every=40)
        sequencer.start()
        follower = sequencer._follower
        assert follower is not None and sequencer.snapshot_mode == "follower"
        await _order_flow(sequencer, 60)
        os.kill(follower.pid, 9)
        await _order_flow_more(sequencer, 200)
        await sequencer.stop(snapshot=False)
        store.close()
        return sequencer, state_hash(sequencer.engine), follower.pid

    sequencer, live_hash, pid = asyncio.run(main())
    assert sequencer.snapshot_mode == "fork" and sequencer.snapshots_failed == 1 and sequencer.snapshots_taken >= 3
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped
    store = SqliteStore(path)
    recovery = Journal(store).recover()
    assert recovery.snapshot_seq == store.snapshots()[0].seq > 100
    assert state_hash(recovery.engine) == live_hash
    store.close()


async def _order_flow_more(sequencer: Sequencer, count: int) -> None:
    accounts = list(sequencer.engine.ledger.accounts)
    for i in range(count):
        await sequencer.execute(c.CreateOrder(accounts[i % 4], TICKER, i % 2 == 0, 3000 + (i % 2) * 3000 + i % 13, 100))
        if i % 25 == 0:
            await asyncio.sleep(0.02)
