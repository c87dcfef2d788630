"""The audit chain, on every backend (SQLite, memory, PostgreSQL): each batch's hash chains to the one
before, `journal verify` (the function and the command) names the first batch where a tampered journal
breaks (one byte of an old batch changed, a batch removed, two swapped, an altered batch given a
forged hash of its own), the chain carries on across snapshots and restarts, and a journal written
before chain hashes (format 2, with or without the column) is chained when it is opened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integration.conftest import POSTGRES_URL, StoreFactory
from integration.test_journal_contract import another_trade, run, trading_session
from predictex.cli.main import main
from predictex.journal import Journal
from predictex.journal.base import JournalStore, StoredBatch, TableWrite
from predictex.journal.journal import JOURNAL_FORMAT
from predictex.journal.postgres import PostgresStore
from predictex.journal.records import GENESIS_HASH, chain_hash
from predictex.journal.sqlite import SqliteStore
from predictex.journal.verify import ChainBroken, verify

COLUMNS = ("first_seq", "last_seq", "record_count", "data", "chain_hash")


def _rewrite(store: JournalStore, batch: StoredBatch, data: bytes, hashed: bytes | None) -> None:
    """What someone with write access to the database does: the row of `batch` updated in place."""
    row: tuple[Any, ...] = (batch.first_seq, batch.last_seq, batch.record_count, data, hashed)
    store.write([TableWrite("journal_batches", COLUMNS, [row], key=("first_seq",))])


def _broken(store: JournalStore) -> ChainBroken:
    with pytest.raises(ChainBroken) as broken:
        verify(Journal(store))
    return broken.value


def _journal(store_factory: StoreFactory) -> list[StoredBatch]:
    run(store_factory(), trading_session)
    batches = list(store_factory().batches())
    assert len(batches) >= 10
    return batches


def test_every_batch_chains_to_the_one_before(store_factory: StoreFactory) -> None:
    batches = _journal(store_factory)
    previous = GENESIS_HASH
    for batch in batches:
        assert batch.chain_hash == chain_hash(previous, batch.first_seq, batch.last_seq, batch.record_count, batch.data)
        previous = batch.chain_hash
    store = store_factory()
    result = verify(Journal(store))
    assert (result.batches, result.chain_head) == (len(batches), previous.hex())
    assert Journal(store).head == previous


def test_one_byte_of_an_old_batch_changed_is_named(store_factory: StoreFactory) -> None:
    batches = _journal(store_factory)
    victim = batches[2]
    store = store_factory()
    middle = len(victim.data) // 2
    _rewrite(store, victim, victim.data[:middle] + bytes([victim.data[middle] ^ 0x01]) + victim.data[middle + 1:], victim.chain_hash)
    broken = _broken(store)
    assert (broken.position, broken.first_seq, broken.last_seq) == (3, victim.first_seq, victim.last_seq)
    assert str(broken).startswith(f"the audit chain breaks at batch 3 (sequences {victim.first_seq}-{victim.last_seq}): its hash")


def test_an_altered_batch_with_a_forged_hash_breaks_the_next_link(store_factory: StoreFactory) -> None:
    batches = _journal(store_factory)
    victim, after = batches[2], batches[3]
    store = store_factory()
    data = victim.data.replace(b'"KXCPI-26JAN-T3.5"', b'"KXCPI-26JAN-T9.9"', 1)
    assert data != victim.data
    _rewrite(store, victim, data, chain_hash(batches[1].chain_hash, victim.first_seq, victim.last_seq, victim.record_count, data))
    broken = _broken(store)
    assert (broken.position, broken.first_seq) == (4, after.first_seq)


def test_a_removed_batch_is_named_by_the_one_after_it(store_factory: StoreFactory) -> None:
    batches = _journal(store_factory)
    gone, after = batches[4], batches[5]
    store = store_factory()
    store.delete("journal_batches", "first_seq = ?", (gone.first_seq,))
    broken = _broken(store)
    assert (broken.position, broken.first_seq) == (5, after.first_seq)
    assert f"sequences {gone.first_seq}-{gone.last_seq} are missing" in str(broken)


def test_two_swapped_batches_are_named_at_the_first(store_factory: StoreFactory) -> None:
    batches = _journal(store_factory)
    first, second = batches[3], batches[7]
    store = store_factory()
    _rewrite(store, first, second.data, second.chain_hash)
    _rewrite(store, second, first.data, first.chain_hash)
    broken = _broken(store)
    assert (broken.position, broken.first_seq, broken.last_seq) == (4, first.first_seq, first.last_seq)


def test_a_batch_stripped_of_its_hash_is_named(store_factory: StoreFactory) -> None:
    batches = _journal(store_factory)
    store = store_factory()
    _rewrite(store, batches[6], batches[6].data, None)
    broken = _broken(store)
    assert broken.position == 7 and broken.reason == "it carries no chain hash"


def test_the_chain_carries_on_across_snapshots_and_restarts(store_factory: StoreFactory) -> None:
    run(store_factory(), trading_session, snapshot_every=5, snapshot_on_stop=True)
    first = list(store_factory().batches())
    run(store_factory(), another_trade, snapshot_every=3)
    run(store_factory(), another_trade, snapshot_on_stop=True)
    store = store_factory()
    assert len(store.snapshots()) > 1
    batches = list(store.batches())
    assert [b.chain_hash for b in batches[:len(first)]] == [b.chain_hash for b in first]
    result = verify(Journal(store))
    assert result.batches == len(batches) > len(first) and result.snapshots_checked > 0
    assert result.chain_head == batches[-1].chain_hash.hex()


def test_a_journal_written_before_chain_hashes_is_chained_when_opened(store_factory: StoreFactory) -> None:
    batches = _journal(store_factory)
    store = store_factory()
    for batch in batches:
        _rewrite(store, batch, batch.data, None)
    store.set_meta("journal_format", "2")
    assert all(not b.chain_hash for b in store.batches())
    journal = Journal(store)
    assert store.get_meta("journal_format") == JOURNAL_FORMAT
    assert [b.chain_hash for b in store.batches()] == [b.chain_hash for b in batches]
    assert journal.head == batches[-1].chain_hash
    assert verify(journal).batches == len(batches)


def test_a_journal_table_without_the_column_gets_it(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    run(SqliteStore(path), trading_session)
    hashes = [b.chain_hash for b in SqliteStore(path).batches()]
    old = SqliteStore(path)
    old._execute_ddl("ALTER TABLE journal_batches DROP COLUMN chain_hash")
    old.set_meta("journal_format", "2")
    old.close()
    store = SqliteStore(path)
    Journal(store)
    assert [b.chain_hash for b in store.batches()] == hashes
    run(store, another_trade)
    assert verify(Journal(SqliteStore(path))).batches == len(hashes) + 4


def _tamper_and_verify_by_command(store: JournalStore, database: str, capsys: pytest.CaptureFixture[str]) -> None:
    run(store, trading_session)
    assert main(["journal", "verify", "--database", database]) == 0
    out = capsys.readouterr().out
    assert "audit chain intact" in out and out.splitlines()[-1] == "journal OK"
    victim = list(store.batches())[1]
    _rewrite(store, victim, victim.data[:-1] + bytes([victim.data[-1] ^ 0x20]), victim.chain_hash)
    assert main(["journal", "verify", "--database", database]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"predictex journal verify: FAILED: the audit chain breaks at batch 2 (sequences {victim.first_seq}-{victim.last_seq}): "
        "its hash does not match its contents and the batch before it (it was changed, or another batch was put in its place)"
    )


def test_the_command_names_the_broken_batch_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "journal.db"
    _tamper_and_verify_by_command(SqliteStore(path), str(path), capsys)


def test_the_command_names_the_broken_batch_postgres(capsys: pytest.CaptureFixture[str]) -> None:
    import uuid

    schema = f"test_{uuid.uuid4().hex[:12]}"
    store = PostgresStore(POSTGRES_URL, schema=schema)
    try:
        _tamper_and_verify_by_command(store, f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", capsys)
    finally:
        store.drop_schema()
        store.close()


def test_the_command_leaves_a_format_2_journal_for_the_server_to_chain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "journal.db"
    store = SqliteStore(path)
    run(store, trading_session)
    batches = list(store.batches())
    for batch in batches:
        _rewrite(store, batch, batch.data, None)
    store.set_meta("journal_format", "2")
    assert main(["journal", "verify", "--database", str(path)]) == 0
    out = capsys.readouterr().out
    assert "audit chain: none yet (a format-2 journal" in out and out.splitlines()[-1] == "journal OK"
    assert store.get_meta("journal_format") == "2" and all(not b.chain_hash for b in store.batches())
    Journal(store)  # the server's opening
    assert main(["journal", "verify", "--database", str(path)]) == 0
    assert f"batches: {len(batches)} (audit chain intact)" in capsys.readouterr().out
