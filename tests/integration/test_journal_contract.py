"""The journal contract, on every backend (SQLite, memory, PostgreSQL): append and read back,
durability across reopening, snapshots, recovery to the same state, a torn tail discarded, damage
anywhere else refused with its sequence number, and the read model's history kept with the journal
and rebuilt from it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from predictex.core import commands as c
from predictex.core.snapshot import state_hash
from predictex.journal import Journal, JournalDamaged, Record
from predictex.journal.base import JournalStore, StoredBatch
from predictex.journal.faulty import TORN_WRITE, FaultyStore
from predictex.journal.sqlite import PAGE_BYTES, SqliteStore
from predictex.readmodel import LiveState, ReadModel
from predictex.readmodel.history import HISTORY_SCHEMA, HISTORY_TABLES, HISTORY_VERSION
from predictex.server.clock import FakeClock
from predictex.server.sequencer import Sequencer, SequencerFailed

START_MS = 1_700_000_000_000
Script = Callable[[Sequencer, FakeClock], Awaitable[Any]]
StoreFactory = Callable[[], JournalStore]


def run(store: JournalStore, script: Script, *, snapshot_on_stop: bool = False, snapshot_every: int = 0) -> tuple[Sequencer, ReadModel]:
    async def main() -> tuple[Sequencer, ReadModel]:
        journal = Journal(store)
        recovery = journal.recover()
        readmodel = ReadModel.open(store, journal, recovery)
        clock = FakeClock(max(START_MS, recovery.last_time_ms))
        sequencer = Sequencer(
            recovery.engine, journal, clock, last_seq=recovery.last_seq, last_time_ms=recovery.last_time_ms,
            projector=readmodel, listeners=[readmodel], snapshot_every=snapshot_every,
        )
        sequencer.start()
        try:
            await script(sequencer, clock)
        finally:
            await sequencer.stop(snapshot=snapshot_on_stop)
        return sequencer, readmodel

    return asyncio.run(main())


async def trading_session(sequencer: Sequencer, clock: FakeClock) -> None:
    """Instruments, two accounts, resting and crossing orders, a cancel, a withdrawal, settlement."""
    run_ = sequencer.execute
    await run_(c.CreateSeries("KXCPI", "CPI", fee_type="quadratic_with_maker_fees"))
    await run_(c.CreateEvent("KXCPI-26JAN", "KXCPI", "CPI in January"))
    await run_(c.CreateMarket("KXCPI-26JAN-T3.5", "KXCPI-26JAN", "Above 3.5%?", START_MS - 1000, START_MS + 3_600_000))
    a = (await run_(c.OpenAccount())).outcome.value
    b = (await run_(c.OpenAccount())).outcome.value
    await run_(c.Deposit(a, 100_000_000))
    await run_(c.Deposit(b, 100_000_000))
    resting = (await run_(c.CreateOrder(a, "KXCPI-26JAN-T3.5", True, 4000, 1000))).outcome.value
    await run_(c.CreateOrder(b, "KXCPI-26JAN-T3.5", False, 4000, 400))
    clock.advance(61_000)
    await asyncio.gather(*(sequencer.submit(c.CreateOrder(b, "KXCPI-26JAN-T3.5", False, 3900 + i * 100, 100)) for i in range(5)))
    await run_(c.CancelOrder(a, resting))
    await run_(c.RequestWithdrawal(a, 10_000_000))
    await run_(c.SetMarketTimes("KXCPI-26JAN-T3.5", close_time_ms=clock.now_ms()))
    await run_(c.DetermineMarket("KXCPI-26JAN-T3.5", "yes", source="BLS"))


def _history(store: JournalStore) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: store.query(f"SELECT * FROM {table} ORDER BY 1, 2")
        for table in ("fills", "trades", "orders", "settlements", "money", "candles")
    }


def test_append_and_read_back(store_factory: StoreFactory) -> None:
    store = store_factory()
    journal = Journal(store)
    records = [Record.of(seq, START_MS + seq, ["tick"], [["deposited", 1, seq, "x"]]) for seq in range(1, 8)]
    journal.append(records[:3], [])
    journal.append(records[3:], [])
    assert list(journal.records()) == records
    assert list(journal.records(after_seq=4)) == records[4:]
    assert journal.last_seq() == 7
    store.close()
    assert list(Journal(store_factory()).records()) == records


def test_recovery_reproduces_the_state(store_factory: StoreFactory) -> None:
    sequencer, _readmodel = run(store_factory(), trading_session)
    expected = state_hash(sequencer.engine)
    journal = Journal(store_factory())
    recovery = journal.recover()
    assert recovery.last_seq == sequencer.committed_seq
    assert recovery.snapshot_seq == 0
    assert recovery.replayed == sequencer.committed_seq
    assert state_hash(recovery.engine) == expected


def test_snapshot_then_replay_of_the_tail(store_factory: StoreFactory) -> None:
    first, _ = run(store_factory(), trading_session, snapshot_every=5)
    store = store_factory()
    snapshots = store.snapshots()
    assert snapshots and len(snapshots) <= 3
    recovery = Journal(store).recover()
    assert recovery.snapshot_seq == snapshots[0].seq
    assert recovery.replayed == first.committed_seq - snapshots[0].seq
    assert state_hash(recovery.engine) == state_hash(first.engine)


def test_clean_stop_leaves_a_snapshot_that_makes_recovery_immediate(store_factory: StoreFactory) -> None:
    first, _ = run(store_factory(), trading_session, snapshot_on_stop=True)
    recovery = Journal(store_factory()).recover()
    assert (recovery.snapshot_seq, recovery.replayed) == (first.committed_seq, 0)
    assert state_hash(recovery.engine) == state_hash(first.engine)


def test_a_torn_last_batch_is_discarded(store_factory: StoreFactory) -> None:
    faulty = FaultyStore(store_factory())

    async def script(sequencer: Sequencer, clock: FakeClock) -> None:
        await trading_session(sequencer, clock)
        faulty.arm(TORN_WRITE)
        with pytest.raises(SequencerFailed):
            await sequencer.execute(c.OpenAccount())

    first, _ = run(faulty, script)
    acknowledged = first.committed_seq
    store = store_factory()
    assert store.last_batch() is not None and store.last_batch().first_seq == acknowledged + 1  # the torn one is there
    journal = Journal(store)
    recovery = journal.recover()
    assert recovery.torn_records_discarded == 1
    assert recovery.last_seq == acknowledged
    assert journal.last_seq() == acknowledged
    second, _ = run(store_factory(), lambda s, clk: s.execute(c.OpenAccount()))
    assert second.committed_seq == acknowledged + 1


def _corrupt_middle_batch(store: JournalStore, truncate: bool) -> int:
    batches = list(store.batches())
    victim = batches[len(batches) // 2]
    data = victim.data[: len(victim.data) - 3] if truncate else victim.data[:40] + bytes([victim.data[40] ^ 0xFF]) + victim.data[41:]
    store.delete_batches_from(victim.first_seq)
    store.append(StoredBatch(victim.first_seq, victim.last_seq, victim.record_count, data), [])
    for later in batches[len(batches) // 2 + 1:]:
        store.append(later, [])
    return victim.first_seq


@pytest.mark.parametrize("truncate", [False, True])
def test_damage_in_the_middle_stops_recovery_naming_the_sequence(store_factory: StoreFactory, truncate: bool) -> None:
    run(store_factory(), trading_session)
    store = store_factory()
    first_seq = _corrupt_middle_batch(store, truncate)
    with pytest.raises(JournalDamaged) as damaged:
        Journal(store).recover()
    assert damaged.value.seq >= first_seq
    assert f"journal damaged at sequence {damaged.value.seq}" in str(damaged.value)


def test_a_missing_batch_stops_recovery(store_factory: StoreFactory) -> None:
    run(store_factory(), trading_session)
    store = store_factory()
    batches = list(store.batches())
    gone = batches[len(batches) // 2]
    store.delete_batches_from(gone.first_seq)
    for later in batches[len(batches) // 2 + 1:]:
        store.append(later, [])
    with pytest.raises(JournalDamaged) as damaged:
        Journal(store).recover()
    assert damaged.value.seq == gone.first_seq


def test_history_is_written_with_the_journal_and_rebuilt_from_it(store_factory: StoreFactory) -> None:
    _sequencer, _readmodel = run(store_factory(), trading_session)
    store = store_factory()
    history = _history(store)
    assert len(history["trades"]) == 3 and len(history["fills"]) == 6
    assert len(history["settlements"]) == 2 and len(history["money"]) == 3
    assert {row[4] for row in history["orders"]} == {"executed", "canceled"}
    assert history["candles"]
    store.clear_history(["fills", "trades", "orders", "settlements", "money", "candles"])
    store.set_meta("history_seq", "0")
    Journal(store)  # reopened below
    run(store, lambda s, clk: asyncio.sleep(0))
    assert _history(store_factory()) == history


async def another_trade(sequencer: Sequencer, clock: FakeClock) -> None:
    """A market of its own and two crossing orders from the first two accounts: a trade, fills, a
    closed order."""
    run_ = sequencer.execute
    await run_(c.CreateEvent("KXCPI-26FEB", "KXCPI", "CPI in February"))
    await run_(c.CreateMarket("KXCPI-26FEB-T3.5", "KXCPI-26FEB", "Above 3.5%?", clock.now_ms() - 1000, clock.now_ms() + 3_600_000))
    await run_(c.CreateOrder(1, "KXCPI-26FEB-T3.5", True, 5500, 300))
    taker = await run_(c.CreateOrder(2, "KXCPI-26FEB-T3.5", False, 5000, 300))
    assert taker.outcome.ok


def test_history_in_an_older_layout_is_dropped_and_rebuilt(store_factory: StoreFactory) -> None:
    """Before HISTORY_VERSION was recorded the flags were BOOLEAN (on PostgreSQL an integer flag cannot
    go into one): opening such a store drops the history, rebuilds it from the journal, and writes on."""
    run(store_factory(), trading_session)
    store = store_factory()
    history = _history(store)
    store.execute_schema([f"DROP TABLE {table}" for table in HISTORY_TABLES])
    store.execute_schema([statement.replace("SMALLINT", "BOOLEAN") for statement in HISTORY_SCHEMA])
    store.delete("meta", "key = ?", ["history_version"])
    run(store, another_trade)
    reopened = store_factory()
    assert reopened.get_meta("history_version") == HISTORY_VERSION
    after = _history(reopened)
    assert len(after["trades"]) == len(history["trades"]) + 1
    assert {table: [row for row in rows if "KXCPI-26FEB-T3.5" not in row] for table, rows in after.items()} == history
    assert {(row[1], row[7]) for row in after["fills"] if row[6] == "KXCPI-26FEB-T3.5"} == {(1, 0), (0, 1)}  # (is_taker, is_bid)


def test_history_tables_of_an_older_layout_in_a_store_that_never_committed_are_replaced(store_factory: StoreFactory) -> None:
    """Tables from a start-up of an older version that stopped before its first command (no
    `history_seq` yet, no version): replaced as well, so the first batch's rows fit them."""
    store = store_factory()
    store.execute_schema([statement.replace("SMALLINT", "BOOLEAN") for statement in HISTORY_SCHEMA])
    run(store, trading_session)
    history = _history(store_factory())
    assert len(history["trades"]) == 3 and len(history["fills"]) == 6


def test_live_state_from_events_equals_live_state_from_the_engine(store_factory: StoreFactory) -> None:
    sequencer, readmodel = run(store_factory(), trading_session)
    from_engine = LiveState.load_from_engine(sequencer.engine, sequencer.committed_seq, sequencer.last_time_ms)
    live = readmodel.live
    assert {k: v.as_tuple() for k, v in live.orders.items()} == {k: v.as_tuple() for k, v in from_engine.orders.items()}
    queue_positions = {order_id: live.queue_position(order_id) for order_id in live.orders}
    assert queue_positions == {order_id: sequencer.engine.queue_position(order_id) for order_id in live.orders}
    assert queue_positions == {order_id: from_engine.queue_position(order_id) for order_id in live.orders}
    for account, balance in live.balances.items():
        other = from_engine.balances[account]
        assert (balance.cash_microdollars, balance.locked_microdollars, balance.pending_withdrawal_microdollars) == (
            other.cash_microdollars, other.locked_microdollars, other.pending_withdrawal_microdollars)
    assert {a: {t: h.position_centicontracts for t, h in hs.items()} for a, hs in live.holdings.items() if hs} == {
        a: {t: h.position_centicontracts for t, h in hs.items()} for a, hs in from_engine.holdings.items() if hs}
    for ticker, market in live.markets.items():
        other = from_engine.markets[ticker]
        assert (market.status, market.result, market.volume_centicontracts, market.open_interest_centicontracts,
                market.last_price_centicents, market.book.bids, market.book.asks) == (
            other.status, other.result, other.volume_centicontracts, other.open_interest_centicontracts,
            other.last_price_centicents, other.book.bids, other.book.asks)


def test_queue_positions_read_from_committed_events_match_the_engine(store_factory: StoreFactory) -> None:
    """Orders queued at one price, partly filled, amended with and without losing priority, cancelled:
    after every command the read model's queue positions equal the engine's."""
    store = store_factory()
    checked: list[dict[int, int | None]] = []

    async def session(sequencer: Sequencer, clock: FakeClock) -> None:
        run_ = sequencer.execute
        await run_(c.CreateSeries("KXQ", "Queues"))
        await run_(c.CreateEvent("KXQ-1", "KXQ", "Queues"))
        await run_(c.CreateMarket("KXQ-1-A", "KXQ-1", "A?", START_MS - 1000, START_MS + 3_600_000))
        accounts = [(await run_(c.OpenAccount())).outcome.value for _ in range(3)]
        for account in accounts:
            await run_(c.Deposit(account, 100_000_000))
        a, b, taker = accounts
        orders = [(await run_(c.CreateOrder(owner, "KXQ-1-A", True, 4000, 300))).outcome.value for owner in (a, b, a, b)]
        steps: list[c.Command] = [
            c.CreateOrder(taker, "KXQ-1-A", False, 4000, 200),  # part of the first order fills
            c.DecreaseOrder(a, orders[2], 100),  # keeps its place
            c.AmendOrder(b, orders[1], "KXQ-1-A", "bid", 4000, 500, "", -1),  # grows: to the back
            c.AmendOrder(a, orders[2], "KXQ-1-A", "bid", 4100, 200, "", -1),  # a new price: a level of its own
            c.CancelOrder(b, orders[3]),
        ]
        for command in steps:
            committed = await run_(command)
            assert committed.outcome.reject is None, committed.outcome.reject
            live = sequencer.listeners[0].live  # type: ignore[attr-defined]
            positions = {order_id: live.queue_position(order_id) for order_id in live.orders}
            assert positions == {order_id: sequencer.engine.queue_position(order_id) for order_id in live.orders}
            checked.append(positions)

    run(store, session)
    assert len(checked) == 5
    assert any(ahead for step in checked for ahead in step.values() if ahead), "some order waited behind another"


def test_a_new_sqlite_journal_has_16_kib_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    """The batch blobs are written a WAL frame per page; a file made with 4 KiB pages opens and works as
    before (SQLite cannot change the page size of a WAL database)."""
    store = SqliteStore(tmp_path / "new.db")
    assert store.query("PRAGMA page_size") == [(PAGE_BYTES,)]
    store.close()
    old = tmp_path / "old.db"
    connection = sqlite3.connect(old)
    connection.execute("PRAGMA page_size=4096")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.close()
    store = SqliteStore(old)
    sequencer, _readmodel = run(store, trading_session)
    assert store.query("PRAGMA page_size") == [(4096,)]
    store.close()
    assert state_hash(Journal(SqliteStore(old)).recover().engine) == state_hash(sequencer.engine)
