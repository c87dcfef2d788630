"""The real `predictex serve` as a subprocess: its flags, the banner, health, JSON logs, a clean exit
(code 0) on SIGTERM and SIGINT that keeps every acknowledged write, a restart that recovers the same
state (journal state hash, members, markets, money), `predictex keys create` (private key file mode
0600) and `predictex admin ...` on the command line."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from integration.server_fixture import (
    POSTGRES_URL,
    V2,
    Credentials,
    HttpClient,
    bearer,
    kalshi_v2,
    postgres_available,
)

START_TIMEOUT_S = 60.0
EXIT_TIMEOUT_S = 30.0
BANNER_END = "  stop: Ctrl-C or SIGTERM"


def predictex_command() -> list[str]:
    """The installed `predictex` script next to this interpreter, else the module."""
    script = Path(sys.executable).parent / "predictex"
    return [str(script)] if script.exists() else [sys.executable, "-m", "predictex.cli.main"]


def run_cli(*arguments: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*predictex_command(), *arguments], capture_output=True, text=True, timeout=timeout_s)


class ServerExited(AssertionError):
    """`predictex serve` ended before its banner was complete."""

    def __init__(self, returncode: int, log_lines: list[str]) -> None:
        super().__init__(f"predictex serve exited with {returncode}:\n" + "\n".join(log_lines[-30:]))
        self.returncode = returncode
        self.log_lines = log_lines


class ServeProcess(HttpClient):
    """`predictex serve --port 0 ...` in a subprocess; the port is read from its banner."""

    def __init__(self, data_dir: Path, *flags: str, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.process = subprocess.Popen(
            [*predictex_command(), "serve", "--port", "0", "--data-dir", str(data_dir), *flags],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        self.stdout: queue.Queue[str | None] = queue.Queue()  # None: standard output has ended
        self.log_lines: list[str] = []
        self._readers = [
            threading.Thread(target=self._pump, args=(self.process.stdout, self.stdout.put, True), daemon=True),
            threading.Thread(target=self._pump, args=(self.process.stderr, self.log_lines.append), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        self.banner = self._read_banner()
        found = re.search(r"on http://127\.0\.0\.1:(\d+)$", self.banner[0])
        assert found, self.banner
        self._port = int(found.group(1))

    @property
    def port(self) -> int:
        return self._port

    @staticmethod
    def _pump(stream: Any, sink: Any, mark_end: bool = False) -> None:
        for line in stream:
            sink(line.rstrip("\n"))
        if mark_end:
            sink(None)

    def _read_banner(self) -> list[str]:
        lines: list[str] = []
        while not (lines and lines[-1].startswith(BANNER_END)):
            try:
                line = self.stdout.get(timeout=START_TIMEOUT_S)
            except queue.Empty:
                raise AssertionError(f"no banner within {START_TIMEOUT_S} s: {lines}") from None
            if line is None:  # the process closed its standard output: it is ending
                code = self.process.wait(EXIT_TIMEOUT_S)
                for reader in self._readers:
                    reader.join(EXIT_TIMEOUT_S)
                raise ServerExited(code, self.log_lines)
            lines.append(line)
        return lines

    def stop(self, sig: signal.Signals | None = signal.SIGTERM) -> int:
        """Send `sig` (None: it was sent already) and wait for the exit code and the end of the output."""
        if sig is not None and self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(EXIT_TIMEOUT_S)
        for reader in self._readers:
            reader.join(EXIT_TIMEOUT_S)
        return code

    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_lines]


@pytest.fixture
def processes() -> Iterator[list[ServeProcess]]:
    """Kills whatever a test left running (a failed assertion before its stop)."""
    started: list[ServeProcess] = []
    yield started
    for process in started:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait(EXIT_TIMEOUT_S)


def _start(processes: list[ServeProcess], data_dir: Path, *flags: str) -> ServeProcess:
    process = ServeProcess(data_dir, *flags)
    processes.append(process)
    return process


def _admin(server: ServeProcess, *arguments: str) -> Any:
    """`predictex admin --url ... --data-dir ... ARGS`, which must succeed; its JSON output."""
    done = run_cli("admin", "--url", server.base_url, "--data-dir", str(server.data_dir), *arguments, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def _journal_verify(database: Path) -> dict[str, str]:
    """`predictex journal verify`: replays the journal; its command count, last sequence and state hash."""
    done = run_cli("journal", "verify", "--database", str(database))
    assert done.returncode == 0 and "journal OK" in done.stdout, done.stdout + done.stderr
    found = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    return {name: found[name] for name in ("commands", "events", "last sequence", "state hash")}


# --- tests ---------------------------------------------------------------------------------------------

def test_serve_prints_a_banner_answers_health_logs_json_and_exits_0_on_sigterm(tmp_path: Path, processes: list[ServeProcess]) -> None:
    server = _start(processes, tmp_path, "--log-format", "json")
    banner = server.banner
    base = server.base_url
    assert banner[0] == f"predictex is running (demo) on {base}"
    assert banner[1] == f"  REST base URLs: Kalshi Trade API v2 {base}/trade-api/v2    the seed's API {base}/v1"
    assert banner[2] == f"  WebSocket: ws://127.0.0.1:{server.port}/trade-api/ws/v2 (Kalshi v2)    ws://127.0.0.1:{server.port}/v1/ws (the seed's)"
    assert banner[3] == (f"  open: {base}/trade-api/v2/markets    API reference: {base}/openapi.json    health: {base}/health    "
                         f"metrics: {base}/metrics")
    assert banner[4] == f"  web: {base}/ (markets, trading, portfolio, API keys)    operator's console: {base}/operator"
    assert banner[5] == f"  journal: sqlite:{tmp_path / 'predictex.db'}"
    details = json.loads((tmp_path / "operator.json").read_text())
    assert banner[6] == (f"  operator: new credentials (API key and password) in {tmp_path / 'operator.json'}, readable only by you; "
                         f"try: predictex admin --url {base} --data-dir {tmp_path} member list")
    assert not any(details["password"] in line for line in banner)  # no secret on standard output
    assert stat.S_IMODE((tmp_path / "operator.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(details["private_key_path"]).stat().st_mode) == 0o600
    health = server.get_ok("/health")
    assert (health["status"], health["environment"]) == ("ok", "demo")
    assert "predictex_http_requests_total" in server.get("/metrics").body.decode()
    assert len(server.get_ok(V2 + "/markets")["markets"]) == 5
    assert server.stop(signal.SIGTERM) == 0
    logs = server.logs()
    assert all(set(entry) >= {"time", "level", "logger", "message"} for entry in logs)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"]) for entry in logs)
    messages = [entry["message"] for entry in logs]
    assert any(m.startswith("recovered sqlite:") for m in messages)
    assert "created the operator account operator@predictex.local" in messages
    assert "created 5 demo markets with resting liquidity" in messages
    assert {e["level"] for e in logs} <= {"info", "warning"}
    # after "shutting down" only the clean stop's surveillance checkpoint is written
    after = messages[messages.index("shutting down") + 1:]
    assert len(after) <= 1 and all(re.fullmatch(r"surveillance checkpoint at \d+: \d+ bytes pickled", m) for m in after), after


def test_a_restart_recovers_the_same_state(tmp_path: Path, processes: list[ServeProcess]) -> None:
    first = _start(processes, tmp_path, "--log-format", "json")
    _admin(first, "series", "create", "KXCLI", "--title", "Made on the command line", "--category", "Testing")
    _admin(first, "event", "create", "KXCLI-1", "--series", "KXCLI", "--title", "An event")
    _admin(first, "market", "create", "KXCLI-1-A", "--event", "KXCLI-1", "--title", "A market", "--close-time", "2031-01-01T00:00:00Z",
           "--open-time", "2026-01-01T00:00:00Z", "--settlement-timer", "60")
    _admin(first, "market", "pause", "KXCLI-1-A")
    member = _admin(first, "member", "create", "cli@example.com", "--password", "a fine password", "--tier", "advanced")
    assert (member["role"], member["tier"]) == ("member", "advanced")
    assert _admin(first, "member", "deposit", member["member_id"], "125.50")["status"] == "completed"
    withdrawal = _admin(first, "member", "withdraw", member["member_id"], "25.00")
    assert withdrawal["status"] == "pending"
    assert _admin(first, "withdrawal", "complete", withdrawal["withdrawal_id"])["status"] == "completed"
    token = first.request("POST", V2 + "/login", {"email": "cli@example.com", "password": "a fine password"}).json()["token"]
    balance = first.request("POST", "/predictex/v1/demo/deposits", {"amount_dollars": "10.00"}, auth=bearer(token)).json()
    assert balance["balance_dollars"] == "10110.5000"  # 10,000 play money + 125.50 - 25 + 10
    before = _observe(first, token)
    assert first.stop(signal.SIGINT) == 0
    journal = _journal_verify(tmp_path / "predictex.db")

    second = _start(processes, tmp_path, "--log-format", "json")
    assert not any("new credentials" in line for line in second.banner)  # made once, on the first start
    assert f"  operator: credentials in {tmp_path / 'operator.json'}; " in "\n".join(second.banner)
    assert _observe(second, token) == before  # sessions, members, markets and money, as they were
    assert second.stop(signal.SIGTERM) == 0
    assert _journal_verify(tmp_path / "predictex.db") == journal  # same commands, same state hash

    third = _start(processes, tmp_path, "--log-format", "json")
    again = third.request("POST", "/predictex/v1/demo/deposits", {"amount_dollars": "10.00"}, auth=bearer(token)).json()
    assert again["balance_dollars"] == "10120.5000"
    assert third.stop() == 0


def _observe(server: ServeProcess, token: str) -> dict[str, Any]:
    health = server.get_ok("/health")
    return {
        "seq": (health["committed_seq"], health["applied_seq"]),
        "markets": server.get_ok(V2 + "/markets?limit=1000")["markets"],
        "events": server.get_ok(V2 + "/events?with_nested_markets=true")["events"],
        "series": server.get_ok(V2 + "/series")["series"],
        "book": server.get_ok(V2 + "/markets/INXCHI-25JAN31-T69.5/orderbook")["orderbook_fp"],
        "me": server.get_ok("/predictex/v1/members/me", auth=bearer(token)),
        "transfers": server.get_ok("/predictex/v1/transfers", auth=bearer(token))["transfers"],
        "members": server.admin("GET", "/members", expect=200).json()["members"],
    }


def test_sigterm_keeps_every_acknowledged_write(tmp_path: Path, processes: list[ServeProcess]) -> None:
    first = _start(processes, tmp_path, "--log-format", "json", "--no-demo-markets")
    first.admin("POST", "/series", {"ticker": "KXLOAD", "title": "Load"}, expect=201)
    first.admin("POST", "/events", {"event_ticker": "KXLOAD-1", "series_ticker": "KXLOAD", "title": "Load"}, expect=201)
    acknowledged: list[str] = []
    enough = threading.Event()  # 40 writes acknowledged: time to pull the plug
    stop_writing = threading.Event()
    operator = first.operator

    def writer(lane: int) -> None:
        for number in range(400):  # bounded: the signal normally ends it much sooner
            if stop_writing.is_set():
                return
            ticker = f"KXLOAD-1-W{lane}N{number}"
            try:
                reply = first.request("POST", "/predictex/v1/admin/markets", {
                    "ticker": ticker, "event_ticker": "KXLOAD-1", "title": "w", "close_time": 4_000_000_000},
                    auth=kalshi_v2(operator))
            except OSError:
                return  # the server stopped listening
            if reply.status != 201:
                assert reply.status == 503, reply  # refused while shutting down
                return
            acknowledged.append(ticker)
            if len(acknowledged) >= 40:
                enough.set()

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(writer, lane) for lane in range(4)]
        assert enough.wait(30), f"only {len(acknowledged)} writes were acknowledged"
        first.process.send_signal(signal.SIGTERM)
        for future in futures:
            future.result(EXIT_TIMEOUT_S)
        stop_writing.set()
    assert first.stop(None) == 0
    second = _start(processes, tmp_path, "--log-format", "json", "--no-demo-markets")
    tickers = {m["ticker"] for m in second.get_ok(V2 + "/markets?limit=1000")["markets"]}
    assert set(acknowledged) <= tickers  # acknowledged means durable
    assert second.stop() == 0


def test_keys_create_writes_a_private_key_only_its_owner_can_read(tmp_path: Path, processes: list[ServeProcess]) -> None:
    server = _start(processes, tmp_path / "data", "--no-demo-markets")
    out = tmp_path / "keys" / "mine.pem"
    created = run_cli("keys", "create", "--url", server.base_url, "--email", "cli-keys@example.com", "--password", "a fine password",
                      "--name", "laptop", "--type", "ed25519", "--out", str(out))
    assert created.returncode == 0, created.stdout + created.stderr
    assert "signed up cli-keys@example.com" in created.stdout
    key_id = re.search(r"API key id: (demo_[0-9a-f-]{36})", created.stdout)
    assert key_id, created.stdout
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    credentials = Credentials.from_pem(key_id.group(1), out.read_bytes())
    me = server.get_ok("/predictex/v1/members/me", auth=kalshi_v2(credentials))
    assert me["email"] == "cli-keys@example.com"
    listed = run_cli("keys", "list", "--url", server.base_url, "--email", "cli-keys@example.com", "--password", "a fine password")
    assert listed.returncode == 0 and key_id.group(1) in listed.stdout and "laptop" in listed.stdout
    deleted = run_cli("keys", "delete", key_id.group(1), "--url", server.base_url, "--email", "cli-keys@example.com",
                      "--password", "a fine password")
    assert deleted.returncode == 0 and f"deleted {key_id.group(1)}" in deleted.stdout
    assert server.get("/predictex/v1/members/me", auth=kalshi_v2(credentials)).status == 401
    assert server.stop() == 0


def test_admin_command_errors_exit_1_with_the_servers_message(tmp_path: Path, processes: list[ServeProcess]) -> None:
    server = _start(processes, tmp_path)
    duplicate = run_cli("admin", "--url", server.base_url, "--data-dir", str(tmp_path), "series", "create", "INXCHI", "--title", "again")
    assert duplicate.returncode == 1 and duplicate.stdout == ""
    assert duplicate.stderr.strip() == "predictex admin series create: already exists: series INXCHI was created before (HTTP 409)"
    nowhere = run_cli("admin", "--url", server.base_url, "--data-dir", str(tmp_path / "elsewhere"), "member", "list")
    assert nowhere.returncode == 2 and "give --key-id and --key-file" in nowhere.stderr and "Traceback" not in nowhere.stderr
    listed = _admin(server, "member", "list")
    assert [m["email"] for m in listed["members"]] == ["operator@predictex.local"]
    assert server.stop() == 0


def test_prod_on_postgresql_with_text_logs(tmp_path: Path, processes: list[ServeProcess]) -> None:
    if not postgres_available():
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}: the tests need it (database `test`, trust auth; "
                    "PREDICTEX_TEST_POSTGRES points elsewhere)", pytrace=False)
    import psycopg

    schema = f"test_serve_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
        server = _start(processes, tmp_path, "--env", "prod", "--host", "127.0.0.1", "--database-url", url)
        assert server.banner[0].startswith("predictex is running (prod) on http://127.0.0.1:")
        assert server.banner[5].startswith("  journal: postgresql://***@127.0.0.1:5432/test")  # no credentials shown
        health = server.get_ok("/health")
        assert (health["environment"], health["status"]) == ("prod", "ok")
        assert server.get_ok(V2 + "/markets")["markets"] == []  # no demo markets in prod
        assert server.operator.key_id.startswith("prod_")
        assert server.stop(signal.SIGINT) == 0
        assert any(" INFO predictex.server: recovered postgresql://" in line for line in server.log_lines)
        again = _start(processes, tmp_path, "--env", "prod", "--database-url", url)
        assert again.get(V2 + "/api_keys", auth=kalshi_v2(again.operator)).status == 200  # the same operator, from PostgreSQL
        assert again.stop() == 0
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_bad_flags_exit_2_without_starting(tmp_path: Path) -> None:
    done = run_cli("serve", "--port", "70000", "--data-dir", str(tmp_path))
    assert done.returncode == 2 and "ports are 0-65535" in done.stderr
    done = run_cli("serve", "--env", "staging", "--data-dir", str(tmp_path))
    assert done.returncode == 2 and "invalid choice: 'staging'" in done.stderr
    assert not (tmp_path / "predictex.db").exists()
