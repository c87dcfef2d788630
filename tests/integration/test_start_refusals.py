"""`predictex serve` refuses to start, changing nothing, when it cannot have what it needs: one line
on stderr and an exit code of its own (3 data directory, 4 database, 5 port, 6 another server holds
the data directory or the journal), before it has created anything. The real command, in a subprocess.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration.server_fixture import POSTGRES_URL, V2, postgres_available
from integration.test_serve_process import EXIT_TIMEOUT_S, ServeProcess, predictex_command

REFUSAL_TIMEOUT_S = 30.0
SINCE = r"since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def serve(*arguments: str) -> subprocess.CompletedProcess[str]:
    """`predictex serve ARGS`, which must end on its own (a refusal)."""
    return subprocess.run([*predictex_command(), "serve", *arguments], capture_output=True, text=True, timeout=REFUSAL_TIMEOUT_S)


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The refusal: nothing on stdout, one line on stderr (no traceback, no log)."""
    assert done.stdout == "", done.stdout
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("predictex serve: "), done.stderr
    return lines[0].removeprefix("predictex serve: ")


def listing(directory: Path) -> dict[str, tuple[int, int]]:
    """Every file under `directory` with its size and modification time (what "changes nothing" checks)."""
    return {str(path.relative_to(directory)): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in sorted(directory.rglob("*")) if path.is_file()}


@pytest.fixture
def running() -> Iterator[list[ServeProcess]]:
    started: list[ServeProcess] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(EXIT_TIMEOUT_S)


def test_a_second_server_on_the_same_data_directory_refuses_naming_the_first(tmp_path: Path, running: list[ServeProcess]) -> None:
    first = ServeProcess(tmp_path, "--no-demo-markets")
    running.append(first)
    first.admin("POST", "/series", {"ticker": "KXONE", "title": "One"}, expect=201)
    before = listing(tmp_path)
    second = serve("--port", "0", "--data-dir", str(tmp_path))
    assert second.returncode == 6
    assert re.fullmatch(rf"the data directory {re.escape(str(tmp_path))} is in use by predictex serve \(pid {first.process.pid} on "
                        rf"{re.escape(socket.gethostname())}, {SINCE}\); one server per data directory: stop that one first, "
                        r"or give another --data-dir", one_line(second))
    assert listing(tmp_path) == before  # nothing written, not even to the journal's files
    assert first.get_ok(V2 + "/series/KXONE")["series"]["ticker"] == "KXONE"  # the first goes on
    assert first.stop() == 0
    again = ServeProcess(tmp_path, "--no-demo-markets")  # the lock went with the first process
    running.append(again)
    assert again.get_ok(V2 + "/series/KXONE")["series"]["ticker"] == "KXONE"
    assert again.stop() == 0


def test_a_sqlite_journal_in_another_directory_is_locked_too(tmp_path: Path, running: list[ServeProcess]) -> None:
    journal = tmp_path / "journals" / "exchange.db"
    first = ServeProcess(tmp_path / "one", "--no-demo-markets", "--database-url", str(journal))
    running.append(first)
    second = serve("--port", "0", "--data-dir", str(tmp_path / "two"), "--database-url", str(journal))
    assert second.returncode == 6
    assert one_line(second).startswith(f"the directory of the journal {journal.parent} is in use by predictex serve (pid {first.process.pid} ")
    assert not (tmp_path / "two").exists()
    assert first.stop() == 0


def test_a_second_server_on_the_same_postgresql_journal_refuses_naming_the_first(tmp_path: Path, running: list[ServeProcess]) -> None:
    if not postgres_available():
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}")
    import psycopg

    schema = f"test_lock_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
    try:
        first = ServeProcess(tmp_path / "one", "--no-demo-markets", "--database-url", url)
        running.append(first)
        with psycopg.connect(url, autocommit=True) as connection:
            count_before = connection.execute("SELECT COUNT(*) FROM journal_batches").fetchone()
        second = serve("--port", "0", "--data-dir", str(tmp_path / "two"), "--database-url", url)
        assert second.returncode == 6
        assert re.fullmatch(rf"the journal postgresql://\*\*\*@127\.0\.0\.1:5432/test\?options=-csearch_path%3D{schema} is in use by "
                            rf"predictex serve pid {first.process.pid} on {re.escape(socket.gethostname()[:30])}.* \(database session \d+ "
                            rf"from 127\.0\.0\.1, {SINCE}\); one server per journal: stop that one first", one_line(second))
        assert not (tmp_path / "two").exists()
        with psycopg.connect(url, autocommit=True) as connection:
            assert connection.execute("SELECT COUNT(*) FROM journal_batches").fetchone() == count_before
        other_url = url + "_other"
        nowhere = serve("--port", "0", "--data-dir", str(tmp_path / "three"), "--database-url", other_url)
        assert nowhere.returncode == 4 and "has no schema to keep the journal in" in one_line(nowhere)
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}_other"')
        other = ServeProcess(tmp_path / "three", "--no-demo-markets", "--database-url", other_url)  # another schema, another journal
        running.append(other)
        assert other.stop() == 0 and first.stop() == 0
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}_other" CASCADE')


def test_a_port_in_use_refuses_before_creating_anything(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = serve("--port", str(port), "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 5
    assert one_line(done) == f"port {port} on 127.0.0.1 (HTTP) is in use by another program; stop it, or choose another port"
    assert not (tmp_path / "data").exists()  # no data directory, no operator whose password went nowhere


def test_a_fix_port_in_use_refuses_too(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = serve("--port", "0", "--data-dir", str(tmp_path / "data"), "--fix-ports", f"nr={port}")
    assert done.returncode == 5 and f"port {port} on 127.0.0.1 (FIX order entry) is in use" in one_line(done)
    assert not (tmp_path / "data").exists()


def test_an_unusable_data_directory_refuses(tmp_path: Path) -> None:
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a directory")
    done = serve("--port", "0", "--data-dir", str(in_the_way))
    assert done.returncode == 3 and one_line(done) == f"the data directory {in_the_way} is not a directory"
    done = serve("--port", "0", "--data-dir", str(in_the_way / "data"))
    assert done.returncode == 3 and one_line(done) == f"cannot create the data directory {in_the_way / 'data'}: {in_the_way} is not a directory"
    blocked = tmp_path / "blocked"
    (blocked / "predictex.lock").mkdir(parents=True)  # its lock file cannot be opened (as root too)
    done = serve("--port", "0", "--data-dir", str(blocked))
    assert done.returncode == 3 and one_line(done) == f"cannot open {blocked / 'predictex.lock'}: Is a directory"
    assert sorted(p.name for p in blocked.iterdir()) == ["predictex.lock"]
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o000)
        try:
            done = serve("--port", "0", "--data-dir", str(locked))
            assert done.returncode == 3 and "permission denied" in one_line(done)
        finally:
            locked.chmod(0o700)


def test_a_bad_database_url_refuses_before_creating_anything(tmp_path: Path) -> None:
    done = serve("--port", "0", "--data-dir", str(tmp_path / "data"), "--database-url", "mysql://user:secret@db.example/exchange")
    assert done.returncode == 4
    assert one_line(done) == ("the database URL mysql://***@db.example/exchange is not one predictex uses: give a SQLite file path, "
                              "sqlite:///path, or postgresql://user@host/database")
    done = serve("--port", "0", "--data-dir", str(tmp_path / "data"), "--database-url", "postgresql://user:secret@127.0.0.1:9/exchange")
    assert done.returncode == 4 and one_line(done).startswith("cannot connect to the database postgresql://***@127.0.0.1:9/exchange: ")
    assert "secret" not in done.stderr
    assert not (tmp_path / "data").exists()


def test_a_server_that_loses_its_postgresql_lock_stops(tmp_path: Path, running: list[ServeProcess]) -> None:
    """Its lock lives in a database session: when the session ends (here an administrator terminates
    it), another server could take the journal, so this one stops, exit code 1, saying why."""
    if not postgres_available():
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}")
    import psycopg

    schema = f"test_lost_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
    try:
        server = ServeProcess(tmp_path, "--no-demo-markets", "--database-url", url)
        running.append(server)
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            [(ended,)] = connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                                            (f"predictex serve pid {server.process.pid} on {socket.gethostname()}"[:63],)).fetchall()
        assert ended
        assert server.stop(None) == 1  # it stops by itself
        assert server.log_lines[-1].startswith(f"predictex serve: stopped: the lock on the journal postgresql://***@127.0.0.1:5432/test"
                                               f"?options=-csearch_path%3D{schema} was lost with its database session: ")
        assert any("CRITICAL predictex.server: the lock on the journal" in line for line in server.log_lines)
        again = ServeProcess(tmp_path, "--no-demo-markets", "--database-url", url)
        running.append(again)
        assert again.stop() == 0
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
