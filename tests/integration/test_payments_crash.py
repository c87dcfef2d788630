"""Payments survive a kill between their two writes (server/payments.py): the real `predictex serve` on
PostgreSQL, one member, and four payments each stopped half-way. A trigger in the test's schema makes
exactly one write fail (the payment record's update after the engine's command committed, or the
journal's batch after the withdrawal record was written), the server is then killed with SIGKILL, and
so the database holds what a kill at that instant leaves. After a restart:

- the deposit whose `Deposit` committed is completed (one deposit, never two: completing it again is
  refused as no longer pending);
- the withdrawal the engine set aside but whose record never got the withdrawal's id has it, is still
  pending, and completes;
- the withdrawal the engine completed is completed;
- the withdrawal whose request never reached the journal failed, saying nothing was set aside;
- the engine's cash (recovered from the journal) is the deposit less the completed withdrawals.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from integration.server_fixture import POSTGRES_URL, postgres_available
from integration.test_serve_process import EXIT_TIMEOUT_S, ServeProcess
from predictex.journal import Journal
from predictex.journal.postgres import PostgresStore
from predictex.server.payments import NOT_REQUESTED

DOLLAR = 1_000_000


@pytest.fixture
def schema() -> Iterator[str]:
    if not postgres_available():
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}: the tests need it", pytrace=False)
    import psycopg

    name = f"test_payments_crash_{os.getpid()}_{time.time_ns()}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _sql(schema: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'SET search_path TO "{schema}"')
        cursor = connection.execute(statement, params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def _fail_writes(schema: str, table: str, condition: str) -> None:
    """From now on, a write to `table` whose new row meets `condition` fails (as if the process died there)."""
    _sql(schema, f"""CREATE OR REPLACE FUNCTION fail_{table}() RETURNS trigger AS $$
        BEGIN IF {condition} THEN RAISE EXCEPTION 'the test stops this write'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql""")
    _sql(schema, f"CREATE OR REPLACE TRIGGER fail_{table} BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION fail_{table}()")


def _payment(server: ServeProcess, payment_id: int) -> dict[str, Any]:
    listed = server.admin("GET", "/payments", expect=200).json()["payments"]
    return next(p for p in listed if p["payment_id"] == payment_id)


def _create(server: ServeProcess, member_id: str, direction: str, dollars: int) -> Any:
    return server.admin("POST", f"/members/{member_id}/payments",
                        {"direction": direction, "method": "ach", "amount_dollars": f"{dollars}.00"})


def test_a_kill_mid_payment_is_resolved_at_restart(tmp_path: Path, schema: str) -> None:
    url = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
    server = ServeProcess(tmp_path, "--database-url", url)
    try:
        member_id = server.admin("POST", "/members", {"email": "payer@example.com", "password": "correct horse battery"},
                                 expect=201).json()["member_id"]
        assert _create(server, member_id, "deposit", 100).status == 201  # payment 1
        _fail_writes(schema, "accounts_payments", "NEW.payment_id = 1 AND NEW.status = 'completed'")
        assert server.admin("POST", "/payments/1/complete").status == 500  # the Deposit committed, the record did not
        _fail_writes(schema, "accounts_payments", "NEW.payment_id IN (1, 3) AND NEW.status = 'completed' "
                                                  "OR NEW.payment_id = 2 AND NEW.withdrawal_id > 0")
        assert _create(server, member_id, "withdrawal", 20).status == 500  # payment 2: set aside, its id not recorded
        assert _create(server, member_id, "withdrawal", 30).status == 201  # payment 3
        assert server.admin("POST", "/payments/3/complete").status == 500  # completed by the engine, not in the record
        assert [_payment(server, n)["status"] for n in (1, 2, 3)] == ["pending"] * 3
        _fail_writes(schema, "journal_batches", "position('request_withdrawal'::bytea in NEW.data) > 0")
        with ThreadPoolExecutor(1) as pool:  # payment 4: its record written, its request never journaled
            request = pool.submit(_create, server, member_id, "withdrawal", 15)
            deadline = time.monotonic() + 30
            while not _sql(schema, "SELECT 1 FROM accounts_payments WHERE payment_id = 4"):
                assert time.monotonic() < deadline, f"payment 4 was never recorded: {request.result()}\n" + "\n".join(server.log_lines[-20:])
                time.sleep(0.05)
            server.process.send_signal(signal.SIGKILL)
            server.stop(None)
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(EXIT_TIMEOUT_S)
    _sql(schema, "DROP TRIGGER fail_journal_batches ON journal_batches")
    _sql(schema, "DROP TRIGGER fail_accounts_payments ON accounts_payments")
    assert _sql(schema, "SELECT payment_id, status, withdrawal_id FROM accounts_payments ORDER BY payment_id") == [
        (1, "pending", 0), (2, "pending", 0), (3, "pending", 2), (4, "pending", 0)]  # what the kill left

    again = ServeProcess(tmp_path, "--database-url", url)
    try:
        first, second, third, fourth = (_payment(again, n) for n in (1, 2, 3, 4))
        assert first["status"] == "completed" and third["status"] == "completed"
        assert second["status"] == "pending"
        assert (fourth["status"], fourth["reason"]) == ("failed", NOT_REQUESTED)
        assert _sql(schema, "SELECT withdrawal_id FROM accounts_payments WHERE payment_id = 2") == [(1,)]
        refused = again.admin("POST", "/payments/1/complete")
        assert refused.status == 409 and refused.error["code"] == "payment_not_pending"
        assert again.admin("POST", "/payments/2/complete", expect=200).json()["status"] == "completed"
        assert again.stop() == 0
    finally:
        if again.process.poll() is None:
            again.process.kill()
            again.process.wait(EXIT_TIMEOUT_S)
    deposits = _sql(schema, "SELECT amount_microdollars FROM money WHERE kind = 'deposit' AND reference = 'payment 1 (ach)'")
    assert deposits == [(100 * DOLLAR,)]  # once
    (account,), = _sql(schema, "SELECT engine_account_id FROM accounts_members WHERE email = 'payer@example.com'")
    store = PostgresStore(POSTGRES_URL, schema=schema)
    try:
        ledger = Journal(store).recover().engine.ledger
    finally:
        store.close()
    (deposited,), = _sql(schema, "SELECT SUM(amount_microdollars) FROM money WHERE kind = 'deposit' AND account_id = %s", (account,))
    assert (ledger.accounts[account].cash_microdollars, ledger.accounts[account].pending_withdrawal_microdollars) == \
        (deposited - (20 + 30) * DOLLAR, 0)
