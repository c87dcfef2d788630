"""What the REST benchmarks share: a `predictex serve` in a subprocess, traders set up through the
public API, pre-signed Kalshi v2 headers, wrk runs, and an open-loop HTTP client.

Signing. Kalshi v2 signs `timestamp_ms + METHOD + path` (no query, no body) and the server accepts a
timestamp within 30 s of its clock, so one signature per (account, method, path) serves every request
of a run that lasts a few seconds: the load generator signs before a run and never while measuring,
and the server still verifies the RSA-PSS signature of every request (it caches parsed public keys,
never verdicts). Accounts use RSA keys, as most Kalshi users do: the server verifies RSA-PSS in about
30 µs, Ed25519 in about 130 µs with this machine's OpenSSL.

wrk (C, one thread) drives saturation runs: it leaves the server most of the second core. Its
latencies are closed-loop (coordinated omission): read them as latency at saturation. Latency at a
fixed rate comes from `open_loop`, which sends on a schedule and measures from each request's
intended send time, so a stall is charged to every request it delays.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import http.client
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

V2 = "/trade-api/v2"
ADMIN = "/predictex/v1/admin"
START_TIMEOUT_S = 90.0
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def load_average() -> float:
    return os.getloadavg()[0]


def yardstick() -> float:
    """The machine's speed, the same way on every machine: microseconds per loop of
    `python3 -m timeit "sum(range(1000))"` (the best of timeit's repeats), printed by every bench so that
    figures from different machines can be compared."""
    result = subprocess.run([sys.executable, "-m", "timeit", "sum(range(1000))"], capture_output=True, text=True, check=True)
    found = re.search(r"([0-9.]+) (nsec|usec|msec) per loop", result.stdout)
    if found is None:
        raise RuntimeError(f"timeit said {result.stdout!r}")
    microseconds = float(found.group(1)) * {"nsec": 0.001, "usec": 1.0, "msec": 1000.0}[found.group(2)]
    print(f'yardstick: python3 -m timeit "sum(range(1000))": {microseconds:.2f} us per loop')
    return round(microseconds, 3)


def sources_unless_installed() -> str | None:
    """The source tree to import predictex from, or None when predictex is installed: the installed
    build is the one to measure (compiled, where it was built so), and a path to src/ ahead of it
    would shadow it with plain Python."""
    if importlib.util.find_spec("predictex") is not None:
        return None
    return str(Path(__file__).resolve().parents[1] / "src")


PURE_ENVIRONMENT = "PREDICTEX_BENCH_PURE"
"""Comma-separated module prefixes (`predictex.gateways.fix`) that a bench's server imports from their
.py sources although predictex-native installed compiled ones: how a bench measures what compiling a
part buys, in the same run. A set must include every compiled module that imports one of its
modules (mypyc calls between compiled modules natively, and would find the other's state missing)."""


class _SourcesFirst(importlib.abc.MetaPathFinder):
    def __init__(self, prefixes: list[str]) -> None:
        self.prefixes = tuple(prefixes)

    def find_spec(self, name: str, path: Sequence[str] | None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        if not any(name == prefix or name.startswith(prefix + ".") for prefix in self.prefixes):
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.origin is None or spec.submodule_search_locations is not None or not spec.origin.endswith(".so"):
            return None
        leaf = name.rpartition(".")[2] + ".py"
        for directory in [str(Path(spec.origin).parent), *(path or [])]:
            source = Path(directory) / leaf
            if source.is_file():
                return importlib.util.spec_from_file_location(name, source)
        raise ImportError(f"{PURE_ENVIRONMENT}: no source of {name} beside {spec.origin}")


def prefer_sources() -> list[str]:
    """In a bench's server process, before predictex is imported: import the modules PURE_ENVIRONMENT
    names from their sources. Returns the prefixes (none: everything as installed)."""
    prefixes = [prefix.strip() for prefix in os.environ.get(PURE_ENVIRONMENT, "").split(",") if prefix.strip()]
    if prefixes:
        sys.meta_path.insert(0, _SourcesFirst(prefixes))
        print(f"{PURE_ENVIRONMENT}: {', '.join(prefixes)} as plain Python", file=sys.stderr, flush=True)
    return prefixes


def add_wrk_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every wrk-driven REST bench takes."""
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--accounts", type=int, default=24)


def engine_compiled() -> bool:
    """Whether the predictex this interpreter imports (and the servers it starts run) has its engine
    compiled with mypyc; printed, since figures from the pure-Python engine do not count."""
    import predictex.core.engine as engine_module

    compiled = (engine_module.__file__ or "").endswith(".so")
    print(f"predictex engine: {'compiled with mypyc' if compiled else 'PURE PYTHON (not compiled): these figures do not count'}"
          f" ({engine_module.__file__})")
    return compiled


# --- credentials ------------------------------------------------------------------------------------


@dataclass
class Credentials:
    key_id: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def from_pem(cls, key_id: str, pem: str | bytes) -> Credentials:
        key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey), "the benchmarks sign with RSA keys"
        return cls(key_id, key)

    def headers(self, method: str, path: str, timestamp_ms: int | None = None) -> dict[str, str]:
        """Kalshi v2 headers for `method path` (the query is not signed)."""
        stamp = str(now_ms() if timestamp_ms is None else timestamp_ms)
        message = f"{stamp}{method}{path.split('?', 1)[0]}".encode()
        signature = base64.b64encode(self.private_key.sign(message, _PSS, hashes.SHA256())).decode()
        return {"KALSHI-ACCESS-KEY": self.key_id, "KALSHI-ACCESS-TIMESTAMP": stamp, "KALSHI-ACCESS-SIGNATURE": signature}


# --- the server -------------------------------------------------------------------------------------


class Server:
    """`python -m predictex serve` on a free port, demo environment, SQLite in a temporary directory
    (or `database_url`), stopped with SIGTERM (a clean shutdown) on exit. With `attach_port` and
    `attach_data_dir`, a server that is already running instead (its operator key is read from its
    data directory; it is left running)."""

    def __init__(self, *, database_url: str | None = None, extra: tuple[str, ...] = (),
                 attach_port: int | None = None, attach_data_dir: str | None = None) -> None:
        self.attached = attach_port is not None
        self.port = attach_port if attach_port is not None else free_port()
        self.data_dir = Path(attach_data_dir) if attach_data_dir else Path(tempfile.mkdtemp(prefix="predictex-bench-"))
        self.database_url = database_url
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None
        self.operator: Credentials | None = None

    def __enter__(self) -> Server:
        if self.attached:
            self._read_operator()
            return self
        start = ["-m", "predictex"]
        if os.environ.get(PURE_ENVIRONMENT):
            start = ["-c", f"import sys, runpy; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); import loadgen; "
                           "loadgen.prefer_sources(); sys.argv[0] = 'predictex'; runpy.run_module('predictex', run_name='__main__')"]
        simulator = () if any(flag.startswith("--sim") for flag in self.extra) else ("--no-sim",)  # only a bench that asks
        command = [sys.executable, *start, "serve", "--port", str(self.port), "--data-dir", str(self.data_dir),
                   "--env", "demo", *simulator, *self.extra]
        if self.database_url:
            command += ["--database-url", self.database_url]
        self._log = open(self.data_dir / "server.log", "wb")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {(self.data_dir / 'server.log').read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                if self.call("GET", "/health")[0] == 200 and (self.data_dir / "operator.json").exists():
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start in time")
        self._read_operator()
        return self

    def _read_operator(self) -> None:
        details = json.loads((self.data_dir / "operator.json").read_text())
        self.operator = Credentials.from_pem(details["api_key_id"], Path(details["private_key_path"]).read_bytes())

    def __exit__(self, *exc: object) -> None:
        if self.attached:
            return
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            payload = None if body is None else json.dumps(body).encode()
            sent = {"Content-Type": "application/json", **(headers or {})} if payload is not None else dict(headers or {})
            connection.request(method, path, body=payload, headers=sent)
            response = connection.getresponse()
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None)
        finally:
            connection.close()

    def signed(self, credentials: Credentials, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.call(method, path, body, credentials.headers(method, path))
        if status >= 300:
            raise RuntimeError(f"{method} {path} -> {status} {answer}")
        return answer

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        assert self.operator is not None
        return self.signed(self.operator, method, ADMIN + path, body)

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far (0 for an attached server,
        whose process may not be ours to read)."""
        if self.process is None:
            return 0.0
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Trader:
    member_id: str
    credentials: Credentials


def make_traders(server: Server, count: int, *, tier: str = "prestige", dollars: int = 1_000_000) -> list[Trader]:
    """Members signed up by the operator, each with an RSA key generated through the API (password
    login, then `POST /api_keys/generate`) and `dollars` deposited."""
    traders = []
    for index in range(count):
        email, password = f"bench{index}-{server.port}@example.com", "bench password 1"
        member = server.admin("POST", "/members", {"email": email, "password": password, "tier": tier})
        status, login = server.call("POST", V2 + "/login", {"email": email, "password": password})
        assert status == 200, login
        authorization = {"Authorization": f"{login['member_id']} {login['token']}"}
        status, key = server.call("POST", V2 + "/api_keys/generate", {"name": "bench"}, authorization)
        assert status in (200, 201), key
        server.admin("POST", f"/members/{member['member_id']}/deposits", {"amount_dollars": f"{dollars}.00"})
        traders.append(Trader(member["member_id"], Credentials.from_pem(key["api_key_id"], key["private_key"])))
    return traders


def create_market(server: Server, series: str, event: str, ticker: str) -> None:
    server.admin("POST", "/series", {"ticker": series, "title": "Benchmark", "category": "Testing", "frequency": "daily"})
    server.admin("POST", "/events", {"event_ticker": event, "series_ticker": series, "title": "Benchmark event"})
    server.admin("POST", "/markets", {"ticker": ticker, "event_ticker": event, "title": "Benchmark market",
                                      "close_time": int(time.time()) + 86_400})


# --- wrk ----------------------------------------------------------------------------------------------


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal for these ASCII values


def lua_headers(headers: dict[str, str]) -> str:
    return "{" + ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items()) + "}"


# Appended to a wrk script: wrk's own report stops at p99; this prints p50/p99/p99.9/max (µs) too.
WRK_PERCENTILES_LUA = """
done = function(summary, latency, requests)
  io.write(string.format("PERCENTILES_US %d %d %d %d\\n", latency:percentile(50), latency:percentile(99),
                         latency:percentile(99.9), latency.max))
end
"""


def run_wrk(url: str, seconds: float, connections: int, script: str | None = None) -> dict[str, float]:
    """One wrk run (one thread): requests/s, latency percentiles in ms, and non-2xx answers; with
    WRK_PERCENTILES_LUA in the script, p999_ms and max_ms too."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script or "")
    if script:
        command += ["-s", file.name]
    try:
        finished = subprocess.run([*command, url], capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(file.name)
    output = finished.stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if found is None:
        raise RuntimeError(f"wrk failed: {output}{finished.stderr}")
    result = {"requests_per_s": float(found.group(1))}
    for name, pattern in (("p50_ms", "50"), ("p99_ms", "99")):
        line = re.search(rf"^\s+{pattern}(?:\.000)?%\s+(\S+)", output, re.MULTILINE)
        if line:
            result[name] = _to_ms(line.group(1))
    exact = re.search(r"^PERCENTILES_US (\d+) (\d+) (\d+) (\d+)$", output, re.MULTILINE)
    if exact:
        for name, value in zip(("p50_ms", "p99_ms", "p999_ms", "max_ms"), exact.groups(), strict=True):
            result[name] = round(int(value) / 1000, 3)
    orders = re.search(r"^ORDERS (\d+) (\d+)$", output, re.MULTILINE)  # printed by bench/orders.py's script
    if orders:
        result["orders_created"], result["orders_cancelled"] = float(orders.group(1)), float(orders.group(2))
    result["requests"] = float(re.search(r"(\d+) requests in", output).group(1)) if "requests in" in output else 0.0  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = float(errors.group(1)) if errors else 0.0
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    result["socket_errors"] = float(sum(int(g) for g in socket_errors.groups())) if socket_errors else 0.0
    return result


def wrk_summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    """Several `run_wrk` results (each with `server_cpu_us_per_request` added) as one: medians of the
    rates and latencies, totals of the errors, and each run's rate."""
    return {
        "requests_per_s": round(median([r["requests_per_s"] for r in runs])),
        "p50_ms": median([r.get("p50_ms", 0.0) for r in runs]),
        "p99_ms": median([r.get("p99_ms", 0.0) for r in runs]),
        "server_cpu_us_per_request": median([r["server_cpu_us_per_request"] for r in runs]),
        "non_2xx": int(sum(r["non_2xx"] for r in runs)),
        "socket_errors": int(sum(r["socket_errors"] for r in runs)),
        "runs": [round(r["requests_per_s"]) for r in runs],
    }


def _to_ms(text: str) -> float:
    number = float(re.sub(r"[a-z]+$", "", text))
    unit = re.search(r"[a-z]+$", text)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit.group(0) if unit else "s"]
    return round(number * scale, 3)


# --- an open-loop client ------------------------------------------------------------------------------


Request = Callable[[int], tuple[str, str, bytes, dict[str, str]]]
"""index -> (method, path, body, headers) of the index-th request."""
Answer = Callable[[int, int, bytes], None]
"""(index, status, body) of an answer, for a caller that learns from answers."""


class _Connection(asyncio.Protocol):
    """HTTP/1.1 keep-alive, one request at a time; answers parsed just enough (status, length, body)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = self.buffer[:end].decode("latin-1")
        length = int(re.search(r"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
        if len(self.buffer) < end + 4 + length:
            return
        body = self.buffer[end + 4:end + 4 + length]
        self.buffer = self.buffer[end + 4 + length:]
        waiter, self.waiter = self.waiter, None
        if not waiter.done():
            waiter.set_result((int(head.split(" ", 2)[1]), body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection lost"))

    async def send(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        assert self.transport is not None
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        if body:
            lines.append("Content-Type: application/json")
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        return await self.waiter


@dataclass
class OpenLoopResult:
    offered_per_s: float
    completed_per_s: float
    latencies_ms: list[float]
    statuses: dict[int, int]

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        return {
            "offered_per_s": round(self.offered_per_s), "completed_per_s": round(self.completed_per_s),
            "p50_ms": round(percentile(ordered, 0.50), 3), "p99_ms": round(percentile(ordered, 0.99), 3),
            "p999_ms": round(percentile(ordered, 0.999), 3), "max_ms": round(ordered[-1], 3) if ordered else 0.0,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


async def open_loop(port: int, rate_per_s: float, seconds: float, request: Request, answer: Answer | None = None,
                    connections: int = 64) -> OpenLoopResult:
    """Send `rate_per_s` requests a second for `seconds` on a schedule, each on a free connection of a
    pool (a new one if all are busy), and time each from when it was due."""
    loop = asyncio.get_running_loop()
    idle: list[_Connection] = []
    for _ in range(connections):
        _, protocol = await loop.create_connection(_Connection, "127.0.0.1", port)
        idle.append(protocol)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    in_flight: set[asyncio.Task[None]] = set()

    async def one(index: int, due: float) -> None:
        connection = idle.pop() if idle else (await loop.create_connection(_Connection, "127.0.0.1", port))[1]
        method, path, body, headers = request(index)
        status, answer_body = await connection.send(method, path, body, headers)
        latencies.append((time.perf_counter() - due) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        idle.append(connection)
        if answer is not None:
            answer(index, status, answer_body)

    total = int(rate_per_s * seconds)
    started = time.perf_counter()
    for index in range(total):
        due = started + index / rate_per_s
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = loop.create_task(one(index, due))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.gather(*in_flight)
    elapsed = time.perf_counter() - started
    for connection in idle:
        if connection.transport is not None:
            connection.transport.close()
    return OpenLoopResult(rate_per_s, len(latencies) / elapsed, latencies, statuses)


def repeat(runs: int, measure: Callable[[], dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for _ in range(runs):
        yield measure()


# --- the REST peer: a raw HTTP server with the same signature check and commit --------------------------


def serve_peer(port: int, config_file: str) -> None:
    """The REST benches' peer, in its own process: an asyncio protocol on httptools and uvloop that does,
    for each request, only what the route cannot do without. Routes (from `config_file`):
    - `public`: answer the route's body (a JSON value, serialized by orjson per request);
    - `signed`: check the Kalshi v2 signature (the key from the headers, the timestamp within 30 s,
      RSA-PSS/SHA-256 over timestamp + method + path, with `cryptography` as predictex does), then
      answer the route's body;
    - `create` and `cancel`: check the signature, parse the JSON body, and answer only once the request
      is durable: the requests that arrive while one batch is written are written together (one SQLite
      transaction, WAL, synchronous=FULL, on a writer thread), then answered (an order with a new id
      and the client_order_id, or the ids cancelled).
    No order book, no balances, no rate limits, no read model. Run only by the benches, after predictex
    and on the same workload: its figures are the yardstick for predictex's, not a result of their own."""
    import binascii
    import sqlite3
    import uuid
    from concurrent.futures import ThreadPoolExecutor
    from typing import cast

    import httptools
    import orjson
    import uvloop
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    config = json.loads(Path(config_file).read_text())
    keys = {key_id: cast(RSAPublicKey, load_pem_public_key(pem.encode())) for key_id, pem in config["keys"].items()}
    routes: dict[tuple[str, str], tuple[str, Any]] = {(method, path): (kind, body) for method, path, kind, body in config["routes"]}
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    database = sqlite3.connect(Path(config["data_dir"]) / "peer.sqlite", isolation_level=None, check_same_thread=False)
    database.execute("PRAGMA page_size=16384")
    database.execute("PRAGMA journal_mode=WAL")
    database.execute("PRAGMA synchronous=FULL")
    database.execute("CREATE TABLE requests (seq INTEGER PRIMARY KEY, key_id TEXT NOT NULL, method TEXT NOT NULL, body BLOB NOT NULL)")
    writer = ThreadPoolExecutor(1)
    committed = [0]
    writing = [False]
    pending: list[tuple[tuple[str, str, bytes], asyncio.Transport, bytes]] = []
    reasons = {200: b"OK", 201: b"Created", 400: b"Bad Request", 401: b"Unauthorized", 404: b"Not Found"}

    def answer(status: int, body: bytes) -> bytes:
        return b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (status, reasons[status], len(body), body)

    def write(rows: list[tuple[str, str, bytes]]) -> None:
        database.execute("BEGIN")
        database.executemany("INSERT INTO requests (key_id, method, body) VALUES (?, ?, ?)", rows)
        database.execute("COMMIT")

    def flush() -> None:
        if writing[0] or not pending:
            return
        batch = pending[:]
        pending.clear()
        writing[0] = True

        def written(done: asyncio.Future[None]) -> None:
            writing[0] = False
            done.result()
            committed[0] += len(batch)
            for _, transport, reply in batch:
                if not transport.is_closing():
                    transport.write(reply)
            flush()

        asyncio.get_running_loop().run_in_executor(writer, write, [row for row, _, _ in batch]).add_done_callback(written)

    def verified(method: str, path: str, headers: dict[bytes, bytes]) -> str | None:
        """The key id when the request's signature is good."""
        key_id = headers.get(b"kalshi-access-key", b"").decode()
        key = keys.get(key_id)
        stamp = headers.get(b"kalshi-access-timestamp", b"")
        if key is None or not stamp.isdigit() or abs(int(stamp) - now_ms()) > 30_000:
            return None
        try:
            key.verify(base64.b64decode(headers.get(b"kalshi-access-signature", b""), validate=True),
                       stamp + method.encode() + path.encode(), pss, hashes.SHA256())
        except (InvalidSignature, binascii.Error):
            return None
        return key_id

    class Raw(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = cast(asyncio.Transport, transport)
            self.parser = httptools.HttpRequestParser(self)
            self.headers: dict[bytes, bytes] = {}
            self.url = b""
            self.body: list[bytes] = []

        def data_received(self, data: bytes) -> None:
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                self.transport.close()

        def on_url(self, url: bytes) -> None:
            self.url = url

        def on_header(self, name: bytes, value: bytes) -> None:
            self.headers[name.lower()] = value

        def on_body(self, body: bytes) -> None:
            self.body.append(body)

        def on_message_complete(self) -> None:
            method, path, body, headers = self.parser.get_method().decode(), self.url.decode().split("?")[0], b"".join(self.body), self.headers
            self.headers, self.body = {}, []
            if path == "/committed":
                self.transport.write(answer(200, b"%d" % committed[0]))
                return
            kind, reply_body = routes.get((method, path), ("", None))
            if not kind:
                self.transport.write(answer(404, b'{"error":{"code":"not_found"}}'))
                return
            if kind == "public":
                self.transport.write(answer(200, orjson.dumps(reply_body)))
                return
            key_id = verified(method, path, headers)
            if key_id is None:
                self.transport.write(answer(401, b'{"error":{"code":"unauthorized"}}'))
                return
            if kind == "signed":
                self.transport.write(answer(200, orjson.dumps(reply_body)))
                return
            try:
                request = orjson.loads(body)
                if kind == "create":
                    canceled = request["time_in_force"] == "immediate_or_cancel"
                    reply = answer(201, orjson.dumps({"order": {"order_id": str(uuid.uuid4()), "client_order_id": request["client_order_id"],
                                                                "status": "canceled" if canceled else "resting"}}))
                else:
                    reply = answer(200, orjson.dumps({"orders": [{"order": {"order_id": i, "status": "canceled"}} for i in request["ids"]]}))
            except (ValueError, KeyError, TypeError):
                self.transport.write(answer(400, b'{"error":{"code":"bad_request"}}'))
                return
            pending.append(((key_id, method, body), self.transport, reply))
            flush()

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Raw, "127.0.0.1", port)
        print("ready", flush=True)
        await server.serve_forever()

    uvloop.run(main())


class Peer:
    """The REST peer's process (`serve_peer`) on a free port, given the traders' public keys and its
    routes: (method, path) -> "public", "signed", "create" or "cancel", with a body for the first two."""

    def __init__(self, traders: list[Trader], routes: dict[tuple[str, str], str], bodies: dict[tuple[str, str], Any] | None = None) -> None:
        self.port = free_port()
        self.data_dir = Path(tempfile.mkdtemp(prefix="predictex-rest-peer-"))
        keys = {t.credentials.key_id: t.credentials.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode() for t in traders}
        config = {"keys": keys, "data_dir": str(self.data_dir),
                  "routes": [[method, path, kind, (bodies or {}).get((method, path))] for (method, path), kind in routes.items()]}
        (self.data_dir / "peer.json").write_text(json.dumps(config))
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Peer:
        self.process = subprocess.Popen([sys.executable, __file__, "--serve-peer", str(self.port), str(self.data_dir / "peer.json")],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the peer did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(30)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time the peer has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def committed(self) -> int:
        """How many requests the peer has made durable."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", "/committed")
            return int(connection.getresponse().read())
        finally:
            connection.close()


if __name__ == "__main__":  # only as the benches start the peer (`Peer`)
    if sys.argv[1:2] == ["--serve-peer"]:
        serve_peer(int(sys.argv[2]), sys.argv[3])
