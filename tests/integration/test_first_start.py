"""The first start, killed at every step (issue #14.2), and the operator's way back in.

`predictex serve` marks each step of its start (server/first_start.py: `step`); with
PREDICTEX_TEST_CRASH_AT_STEP=k the real process (the installed `predictex` command) kills itself with
SIGKILL at the k-th, as a power cut would. For every k, on an empty data directory:

- after the kill, what is committed and what is on disk agree: an operator.json that exists holds a
  password and an API key the journal's database accepts (read straight from SQLite or PostgreSQL);
  a first start recorded as done has its operator.json;
- a second start (at odd k killed at its own k-th step: a kill while it finishes what the first
  left, then a third) comes up, and the operator can act: operator.json (mode 0600) signs admin calls, its password logs
  in, it is the operator's only live key, there is one operator, no pending credentials are left, the
  demo markets are all there with their liquidity, and `predictex journal verify` replays the journal.

The enumeration ends at the first k the start survives (it has fewer steps), after checking that
every named step of the first start was among those killed. On PostgreSQL every other kill also
loses the data directory (the journal lives on): the restart makes new credentials if the first
start had not finished, and `predictex admin credentials reset --database-url` does otherwise.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import stat
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from integration.server_fixture import POSTGRES_URL, V2, Credentials, kalshi_v2, postgres_available
from integration.test_serve_process import ServeProcess, ServerExited, run_cli
from predictex.accounts.members import verify_password
from predictex.core.snapshot import state_hash
from predictex.journal import Journal as Journal_
from predictex.journal import open_store
from predictex.journal.verify import verify

OPERATOR_EMAIL = "operator@predictex.local"
STEPS_MAX = 40  # far more than the first start has: the enumeration must end before
NAMED_STEPS = {  # every step of the first start that commits or writes, by the name the hook prints
    "claimed the data directory, ports and database", "opened the journal", "recovered the journal", "opened the read model",
    "opened the accounts", "recorded the instance id", "wrote the pending credentials", "recorded the first start as pending",
    "committed the operator's engine account", "created the operator member", "registered the operator's API key",
    "wrote operator-key.pem", "wrote operator.json", "recorded the first start as done", "removed the pending credentials",
    "committed the demo markets", "listening",
}
DEMO_TICKERS = ("INXCHI-25JAN31-T69.5", "INXCHI-25JAN31-T70.5", "KXCPI-27JAN-T3.5", "KXCPI-27JAN-T3.0", "KXHIGHNY-27JUL04-T90")

Query = Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]


@dataclass
class Journal:
    """Where a test exchange keeps its journal: the data directory's SQLite file, or a schema of a
    PostgreSQL database."""

    data_dir: Path
    database_url: str = ""

    @property
    def flags(self) -> tuple[str, ...]:
        return ("--database-url", self.database_url) if self.database_url else ()

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """A read straight from the database, changing nothing (None of the tables need exist)."""
        if self.database_url:
            import psycopg

            with psycopg.connect(self.database_url, autocommit=True) as connection:
                return list(connection.execute(sql.replace("?", "%s"), params).fetchall())
        database = self.data_dir / "predictex.db"
        if not database.exists():
            return []
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def has_table(self, name: str) -> bool:
        if self.database_url:
            return bool(self.query("SELECT to_regclass(?) IS NOT NULL", (name,))[0][0])
        return bool(self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))

    def first_start_state(self) -> str:
        if not self.has_table("meta"):
            return ""
        rows = self.query("SELECT value FROM meta WHERE key = ?", ("first_start",))
        return str(json.loads(rows[0][0])["state"]) if rows else ""


def _start(journal: Journal, crash_at: int | str | None = None) -> ServeProcess | str:
    """`predictex serve` on the journal, with the crash hook at step `crash_at` (a number or a name):
    the running server, or the name of the step it was killed at."""
    env = {**os.environ, "PREDICTEX_TEST_CRASH_AT_STEP": str(crash_at)} if crash_at is not None else None
    try:
        return ServeProcess(journal.data_dir, "--log-format", "json", *journal.flags, env=env)
    except ServerExited as exited:
        assert exited.returncode == -signal.SIGKILL and exited.log_lines, exited
        found = re.fullmatch(r"crash test: killed at step (\d+) \((.+)\)", exited.log_lines[-1])
        assert found and crash_at in (int(found.group(1)), found.group(2)), exited
        return found.group(2)


def _killed_at(journal: Journal, crash_at: int | str) -> str:
    started = _start(journal, crash_at)
    assert isinstance(started, str), f"not killed at step {crash_at}"
    return started


def _operator_files_agree_with_the_journal(journal: Journal) -> None:
    """After any kill: an operator.json on disk names credentials the journal accepts; a first start
    recorded as done left its operator.json."""
    path = journal.data_dir / "operator.json"
    if journal.first_start_state() == "done" and journal.data_dir.exists():
        assert path.exists(), "the first start is recorded as done but operator.json is missing"
    if not path.exists():
        return
    details = json.loads(path.read_text())
    [(password_hash,)] = journal.query("SELECT password_hash FROM accounts_members WHERE email_key = ?", (OPERATOR_EMAIL,))
    assert verify_password(details["password"], password_hash), "operator.json's password is not the operator's"
    [(public_pem, deleted)] = journal.query("SELECT public_key_pem, deleted FROM accounts_api_keys WHERE key_id = ?",
                                            (details["api_key_id"],))
    private = serialization.load_pem_private_key(Path(details["private_key_path"]).read_bytes(), password=None)
    derived = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert not deleted and derived.decode("ascii") == public_pem, "operator.json's key is not the operator's live key"


def _operator_can_act(server: ServeProcess, journal: Journal) -> None:
    data_dir = journal.data_dir
    details = json.loads((data_dir / "operator.json").read_text())
    assert stat.S_IMODE((data_dir / "operator.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(details["private_key_path"]).stat().st_mode) == 0o600
    assert not (data_dir / "operator-pending.json").exists()
    operator = server.operator
    members = server.admin("GET", "/members", expect=200).json()["members"]
    assert [m["email"] for m in members].count(OPERATOR_EMAIL) == 1
    keys = server.get_ok(V2 + "/api_keys", auth=kalshi_v2(operator))["api_keys"]
    assert [key["api_key_id"] for key in keys] == [details["api_key_id"]]  # the only live key
    login = server.request("POST", V2 + "/login", {"email": OPERATOR_EMAIL, "password": details["password"]})
    assert login.status == 200, login
    markets = {m["ticker"] for m in server.get_ok(V2 + "/markets?limit=1000")["markets"]}
    assert markets == set(DEMO_TICKERS)
    for ticker in DEMO_TICKERS:
        book = server.get_ok(f"{V2}/markets/{ticker}/orderbook")["orderbook_fp"]
        assert len(book["yes_dollars"]) == 5 and len(book["no_dollars"]) == 5, (ticker, book)
    assert journal.first_start_state() == "done"


def _enumerate_kills(journal_for: Callable[[int], Journal], lose_data_dir: Callable[[int], bool]) -> list[str]:
    """Kill the first start at every step k (see the module docstring); the names of the steps. At
    odd k the restart is killed at its k-th step too (a kill while it finishes the first start)."""
    killed_at: list[str] = []
    for step in range(1, STEPS_MAX + 1):
        journal = journal_for(step)
        started = _start(journal, step)
        if isinstance(started, ServeProcess):  # no k-th step: every step has been killed at
            assert started.stop() == 0
            break
        killed_at.append(started)
        _operator_files_agree_with_the_journal(journal)
        if lose_data_dir(step):
            shutil.rmtree(journal.data_dir)
        server = _start(journal, step if step % 2 else None)  # killed again while it finishes, if it gets that far
        if isinstance(server, str):
            _operator_files_agree_with_the_journal(journal)
            server = _started(journal)
        try:
            if not (journal.data_dir / "operator.json").exists():
                # only a first start recorded as done, whose operator.json went with the data directory
                assert lose_data_dir(step) and journal.first_start_state() == "done", (step, started)
                assert any("no credentials in" in line for line in server.banner)
                assert server.stop() == 0
                reset = run_cli("admin", "credentials", "reset", "--data-dir", str(journal.data_dir), *journal.flags)
                assert reset.returncode == 0, reset.stderr
                server = _started(journal)
            _operator_can_act(server, journal)
        finally:
            assert server.stop() == 0
        _verify(journal)
    else:
        raise AssertionError(f"the start still had steps after {STEPS_MAX}")
    missing = NAMED_STEPS - set(killed_at)
    assert not missing, f"never killed at: {sorted(missing)} (killed at: {killed_at})"
    return killed_at


def _started(journal: Journal) -> ServeProcess:
    server = _start(journal)
    assert isinstance(server, ServeProcess)
    return server


def _verify(journal: Journal) -> None:
    """A replay of the whole journal from scratch (what `predictex journal verify` does) reaches the
    state recovery reaches, invariants checked after every command."""
    store = open_store(journal.database_url or str(journal.data_dir / "predictex.db"))
    try:
        replayed = Journal_(store)
        assert verify(replayed).state_hash == state_hash(replayed.recover().engine)
    finally:
        store.close()


def test_a_kill_at_any_step_of_the_first_start_on_sqlite_leaves_an_operator_who_can_act(tmp_path: Path) -> None:
    killed_at = _enumerate_kills(lambda step: Journal(tmp_path / f"kill-{step}"), lambda step: False)
    assert len(killed_at) == len(NAMED_STEPS)  # a fresh first start passes each step once


@pytest.fixture
def schemas() -> Iterator[list[str]]:
    if not postgres_available():
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}")
    import psycopg

    made: list[str] = []
    yield made
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        for schema in made:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _new_schema(schemas: list[str]) -> str:
    import psycopg

    schema = f"test_first_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    schemas.append(schema)
    return f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"


def test_a_kill_at_any_step_of_the_first_start_on_postgresql_even_losing_the_data_directory(
        tmp_path: Path, schemas: list[str]) -> None:
    _enumerate_kills(lambda step: Journal(tmp_path / f"kill-{step}", _new_schema(schemas)), lambda step: step % 2 == 0)


# --- the operator's reset -----------------------------------------------------------------------

def test_credentials_reset_mints_new_credentials_and_revokes_the_old(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = ServeProcess(data_dir, "--no-demo-markets")
    old = json.loads((data_dir / "operator.json").read_text())
    old_operator = server.operator
    token = server.request("POST", V2 + "/login", {"email": OPERATOR_EMAIL, "password": old["password"]}).json()["token"]
    spare = server.request("POST", V2 + "/api_keys/generate", {"name": "spare"}, auth=kalshi_v2(old_operator)).json()
    (data_dir / "operator.json").unlink()  # lost

    busy = run_cli("admin", "credentials", "reset", "--data-dir", str(data_dir))
    assert busy.returncode == 6 and busy.stdout == ""
    assert re.fullmatch(rf"predictex admin credentials reset: the data directory {re.escape(str(data_dir))} is in use by "
                        rf"predictex serve \(pid {server.process.pid} on .+, since \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ\); .+\n", busy.stderr)
    assert not (data_dir / "operator.json").exists()
    assert server.stop() == 0

    reset = run_cli("admin", "credentials", "reset", "--data-dir", str(data_dir))
    assert reset.returncode == 0, reset.stderr
    new = json.loads((data_dir / "operator.json").read_text())
    assert new["api_key_id"] not in (old["api_key_id"], spare["api_key_id"]) and new["password"] != old["password"]
    assert reset.stdout.splitlines() == [
        f"new operator credentials (API key {new['api_key_id']} and a new password) in {data_dir.absolute() / 'operator.json'}, "
        "readable only by you",
        "revoked: 2 other API keys and 1 session of the operator",
    ]
    assert new["password"] not in reset.stdout + reset.stderr
    assert stat.S_IMODE((data_dir / "operator.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(new["private_key_path"]).stat().st_mode) == 0o600

    again = ServeProcess(data_dir, "--no-demo-markets")
    try:
        assert again.admin("GET", "/members", expect=200).json()["members"][0]["email"] == OPERATOR_EMAIL
        assert again.get(V2 + "/api_keys", auth=kalshi_v2(old_operator)).status == 401
        spare_credentials = Credentials.from_pem(spare["api_key_id"], spare["private_key"])
        assert again.get(V2 + "/api_keys", auth=kalshi_v2(spare_credentials)).status == 401
        assert again.get("/predictex/v1/members/me", auth=lambda m, p, b: {"Authorization": f"Bearer {token}"}).status == 401
        assert again.request("POST", V2 + "/login", {"email": OPERATOR_EMAIL, "password": old["password"]}).status == 401
        assert again.request("POST", V2 + "/login", {"email": OPERATOR_EMAIL, "password": new["password"]}).status == 200
        listed = run_cli("admin", "--url", again.base_url, "--data-dir", str(data_dir), "member", "list")
        assert listed.returncode == 0 and OPERATOR_EMAIL in listed.stdout
    finally:
        assert again.stop() == 0


def test_credentials_reset_refuses_what_it_cannot_reset(tmp_path: Path) -> None:
    nothing = run_cli("admin", "credentials", "reset", "--data-dir", str(tmp_path / "none"))
    assert nothing.returncode == 4 and "no journal at" in nothing.stderr and "Traceback" not in nothing.stderr
    assert not (tmp_path / "none").exists()
    half = tmp_path / "half"  # a first start killed after the operator was made: `serve` finishes it, not a reset
    assert _killed_at(Journal(half), "created the operator member") == "created the operator member"
    refused = run_cli("admin", "credentials", "reset", "--data-dir", str(half))
    assert refused.returncode == 1 and "the first start has not finished: start `predictex serve` once" in refused.stderr
    assert not (half / "operator.json").exists()
