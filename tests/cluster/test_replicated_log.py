"""The replicated journal on a three-server JetStream cluster started here: a sequencer whose batches
go to the stream before its journal acknowledges only what a majority stored, keeps group commit,
survives the loss of one NATS server, stops at the loss of two, and a deposed leader cannot append."""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from harness import START_MS, contracts, price, usd
from nats_cluster import NatsCluster
from predictex.cluster.follower import Follower
from predictex.cluster.log import STREAM, Fenced, NatsThread, ReplicatedLog
from predictex.core import commands as c
from predictex.core.engine import Engine
from predictex.core.snapshot import state_hash
from predictex.journal.journal import Journal
from predictex.journal.sqlite import SqliteStore
from predictex.server.clock import FakeClock
from predictex.server.sequencer import Sequencer, SequencerFailed

pytestmark = pytest.mark.timeout(180)


def synchronously(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))
    return run


def _setup_commands() -> list[c.Command]:
    commands: list[c.Command] = [c.CreateSeries("S1", "a series"), c.CreateEvent("S1-E", "S1", "an event"),
                                 c.CreateMarket("KX-M", "S1-E", "a market", START_MS - 3_600_000, START_MS + 10**10)]
    for account in range(1, 9):
        commands += [c.OpenAccount(), c.Deposit(account, usd("10000"))]
    return commands


def _orders(count: int, seed: int) -> list[c.Command]:
    rng = random.Random(seed)
    return [c.CreateOrder(rng.randint(1, 8), "KX-M", rng.random() < 0.5, price(f"0.{rng.randint(40, 60)}"),
                          contracts(rng.randint(1, 5))) for _ in range(count)]


def _follow(log: ReplicatedLog, path: Path) -> Follower:
    """A follower on its own journal, brought up to the log's tip."""
    follower = Follower(SqliteStore(str(path)))

    async def read() -> None:
        tip, _ = await log._tip()
        async for entry in log.read(follower.stream_seq, tip):
            follower.apply(entry)

    log.nats.call(read(), timeout=60)
    return follower


def _leader(tmp_path: Path, nats: NatsThread, name: str, held: list[bool]) -> tuple[Sequencer, ReplicatedLog]:
    log = ReplicatedLog(nats, name, lease_held=lambda: held[0])
    log.ensure_stream()
    tip, last = log.tip()
    log.begin_term(tip, last)
    journal = Journal(SqliteStore(str(tmp_path / f"{name}.db")))
    sequencer = Sequencer(Engine(), journal, FakeClock(START_MS), replicator=log)
    return sequencer, log


@synchronously
async def test_acknowledged_batches_are_in_the_stream_and_a_follower_reaches_the_same_state(cluster: NatsCluster, tmp_path: Path) -> None:
    nats = NatsThread(cluster.urls, "leader")
    try:
        sequencer, log = _leader(tmp_path, nats, "a", [True])
        sequencer.start()
        for command in _setup_commands():
            assert (await sequencer.submit(command)).outcome.reject is None
        # 600 orders from 6 concurrent producers: group commit puts many in one replicated batch
        results = await asyncio.gather(*(sequencer.submit_many(_orders(100, seed)) for seed in range(6)))
        assert sum(len(r) for r in results) == 600
        await sequencer.stop(snapshot=False)
        assert sequencer.committed_seq == len(_setup_commands()) + 600
        assert log.published < sequencer.committed_seq / 4, f"{log.published} batches for {sequencer.committed_seq} commands"

        follower = _follow(log, tmp_path / "follower.db")
        assert follower.last_seq == sequencer.committed_seq
        assert follower.state_hash() == state_hash(sequencer.engine)
        # the follower's journal recovers to the same state on its own, history and all
        follower.close()
        again = Journal(SqliteStore(str(tmp_path / "follower.db"))).recover()
        assert state_hash(again.engine) == state_hash(sequencer.engine)
        assert SqliteStore(str(tmp_path / "follower.db")).query("SELECT COUNT(*) FROM fills")[0][0] > 0
    finally:
        nats.close()


@synchronously
async def test_nothing_is_acknowledged_without_a_majority_and_one_server_down_is_no_outage(cluster: NatsCluster, tmp_path: Path) -> None:
    nats = NatsThread(cluster.urls, "leader")
    try:
        sequencer, log = _leader(tmp_path, nats, "a", [True])
        sequencer.start()
        for command in _setup_commands():
            await sequencer.submit(command)
        cluster.kill(2)  # one of three gone: the stream keeps a majority
        committed = await asyncio.wait_for(sequencer.submit_many(_orders(50, 1)), 20)
        assert len(committed) == 50
        cluster.pause(1)  # two of three gone: no majority, so no acknowledgement
        waiting = sequencer.submit_many(_orders(20, 2))
        await asyncio.sleep(3)
        assert not waiting.done(), "acknowledged without a majority of the stream's servers"
        assert sequencer.committed_seq == len(_setup_commands()) + 50
        cluster.resume(1)
        cluster.start(2)
        assert len(await asyncio.wait_for(waiting, 30)) == 20
        await sequencer.stop(snapshot=False)
        follower = _follow(log, tmp_path / "follower.db")
        assert follower.state_hash() == state_hash(sequencer.engine)
    finally:
        nats.close()


@synchronously
async def test_a_deposed_leader_cannot_append_and_acknowledges_nothing(cluster: NatsCluster, tmp_path: Path) -> None:
    old_nats, new_nats = NatsThread(cluster.urls, "old"), NatsThread(cluster.urls, "new")
    try:
        old, _ = _leader(tmp_path, old_nats, "old", [True])
        old.start()
        for command in _setup_commands():
            await old.submit(command)
        # a new leader reads the log to its tip and appends its marker there
        follower = _follow(ReplicatedLog(new_nats, "new"), tmp_path / "new.db")
        new_log = ReplicatedLog(new_nats, "new")
        tip, last = new_log.tip()
        new_log.begin_term(tip, last)
        # the old leader, not knowing, goes on: its batch is refused by the stream and nobody hears "accepted"
        with pytest.raises(SequencerFailed):
            await asyncio.wait_for(old.submit(c.OpenAccount()), 20)
        assert isinstance(old.failed, Fenced)
        assert old.committed_seq == len(_setup_commands())
        info = new_nats.call(new_nats.js.stream_info(STREAM))
        assert info.state.last_seq == tip + 1  # the marker, and nothing of the old leader's after it
        # and a follower applies the marker and stays on the last acknowledged state
        async def read() -> None:
            async for entry in new_log.read(follower.stream_seq, tip + 1):
                follower.apply(entry)
        new_nats.call(read(), timeout=30)
        assert follower.leader == "new"
        assert follower.last_seq == len(_setup_commands())
        await old.stop(snapshot=False)
    finally:
        old_nats.close()
        new_nats.close()


@synchronously
async def test_a_leader_whose_lease_ran_out_acknowledges_nothing(cluster: NatsCluster, tmp_path: Path) -> None:
    nats = NatsThread(cluster.urls, "leader")
    held = [True]
    try:
        sequencer, _ = _leader(tmp_path, nats, "a", held)
        sequencer.start()
        await sequencer.submit(c.OpenAccount())
        held[0] = False
        with pytest.raises(SequencerFailed):
            await asyncio.wait_for(sequencer.submit(c.OpenAccount()), 20)
        assert sequencer.committed_seq == 1
        await sequencer.stop(snapshot=False)
    finally:
        nats.close()


@synchronously
async def test_the_tables_beside_the_journal_reach_a_follower(cluster: NatsCluster, tmp_path: Path) -> None:
    """FIX sessions' sequence numbers and stored messages (bytes), and the accounts, written through
    the leader's replicated store: created, written, deleted, and the same on a follower."""
    from predictex.accounts import Accounts
    from predictex.cluster.node import ReplicatedTablesStore
    from predictex.gateways.fix.store import FIX_SCHEMA
    from predictex.journal.base import TableWrite

    nats = NatsThread(cluster.urls, "leader")
    try:
        _, log = _leader(tmp_path, nats, "a", [True])
        local = SqliteStore(str(tmp_path / "a-tables.db"))
        tables = ReplicatedTablesStore(local, log)
        tables.execute_schema(FIX_SCHEMA)
        tables.write([TableWrite("fix_sessions", ("session_id", "next_in", "next_out"), [("S1", 7, 9)], key=("session_id",))])
        tables.write([TableWrite("fix_messages", ("session_id", "seq", "data"),
                                 [("S1", seq, b"8=FIX.4.4\x01" + bytes([seq])) for seq in range(1, 6)])])
        tables.delete("fix_messages", "session_id = ? AND seq < ?", ("S1", 3))
        tables.write([TableWrite("fix_sessions", ("session_id", "next_in", "next_out"), [("S1", 8, 12)], key=("session_id",))])
        accounts = Accounts(tables)
        member = accounts.members.create("trader@example.com", "correct horse battery", 1, simulated=True)
        follower = _follow(log, tmp_path / "follower.db")
        for query in ("SELECT session_id, next_in, next_out FROM fix_sessions",
                      "SELECT session_id, seq, data FROM fix_messages ORDER BY seq", "SELECT member_id, email FROM accounts_members"):
            assert follower.store.query(query) == local.query(query), query
        assert follower.store.query("SELECT next_in, next_out FROM fix_sessions") == [(8, 12)]
        assert [row[1] for row in follower.store.query("SELECT session_id, seq FROM fix_messages ORDER BY seq")] == [3, 4, 5]
        assert Accounts(follower.store).members.get_by_email("trader@example.com") is not None
        assert member.member_id
    finally:
        nats.close()
