"""WebSocket fan-out benchmark: 1,000 subscribers to one market's `orderbook_delta` (Kalshi v2 at
/trade-api/ws/v2) while a producer keeps a steady order flow going over REST, against a real predictex
server in its own process (SQLite journal, WAL, synchronous=FULL: an order is durable before it is
acknowledged, and only then fanned out).

    python bench/ws.py [--subscribers 1000] [--rate 105] [--seconds 3] [--runs 3] [--workers 2] [--profile FILE]

Workload: one market (the demo market INXCHI-25JAN31-T69.5, whose asks start at $0.51); the producer
places limit bids of 1-997 contracts at $0.01-$0.30, so nothing trades, and cancels each one when
200 newer ones rest: every action (a create or a cancel) is one level change, so one
`orderbook_delta` to each of the subscribers. Actions are sent on a fixed schedule (--rate per
second, open loop, over 8 keep-alive HTTP connections); each order's price and size identify it (read
from the delta's integer fields, exact for this workload), so every delta a subscriber receives is
matched to the action that caused it.

Subscribers: authenticated Kalshi v2 connections (one API key), each subscribed to the market's
orderbook_delta, spread over --workers processes (uvloop, frames parsed in Python, every message
JSON-decoded and its seq checked), so client and server do not share a GIL.

Figures (each the median of --runs runs):
- fan-out: messages delivered per second over all subscribers, from the first action's scheduled
  time to the last delivery;
- latency from acknowledgement to delivery: from the moment the producer has the REST answer for an
  action to the moment a subscriber has the delta, over every (action, subscriber) pair: p50, p99,
  p99.9, max (the server fans out after it acknowledges, so these are positive save for scheduling);
- latency from the scheduled send to delivery (the whole path: HTTP, sequencer, journal commit,
  fan-out), open loop, so a stall counts against everything it delays;
- CPU time per delivered message of the server (and the part spent in the kernel) and of the
  subscriber processes, from /proc: a figure that other work on the machine disturbs less.

The peer, in the same run: the `websockets` library's server and `broadcast()` (one text frame of the
same delta's JSON to every subscriber), driven by the same schedule of the same actions and read by the
same subscriber processes over the same kind of sockets, with nothing behind it (no order book, no
journal, no per-subscription state). Printed side by side, with the ratios predictex / peer of the
server's CPU per delivered message and of the ack-to-delivery p99: the first says how the fan-out
compares with a bare broadcast whatever the machine (goal: no more CPU a message than the bare
broadcast, a ratio of at most 1.0), the second how much of the delivery latency is predictex's own.

It starts its own servers on free ports (in subprocesses) and stops them afterwards; --profile FILE
writes a cProfile of predictex's work. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

import orjson

TICKER = "INXCHI-25JAN31-T69.5"
WS_PATH = "/trade-api/ws/v2"
OPEN_ORDERS = 200
HTTP_CONNECTIONS = 8
BUCKET_US = 10  # latency histogram resolution
SIZES = 997  # an action's key: price step (30 of them) and size (997 of them) identify 29,910 orders
PRICE_STEPS = 30


def action_key(number: int, cancel: bool) -> int:
    """What a subscriber sees of action `number`: its price (cents), its size (contracts), the sign."""
    price_cents = 1 + (number // SIZES) % PRICE_STEPS
    size = 1 + number % SIZES
    return (-1 if cancel else 1) * (price_cents * 10_000 + size)


def delta_key(price_cents: int, delta_contracts: int) -> int:
    """The same from a delta's legacy integer fields (exact here: whole cents, whole contracts)."""
    return price_cents * 10_000 + delta_contracts if delta_contracts > 0 else -(price_cents * 10_000 - delta_contracts)


# --- the server (in its own process) ----------------------------------------------------------------

def serve(data_dir: str, profile: str = "") -> None:
    """Run an exchange on a free port; print one JSON line with the port and two members' keys.
    With `profile`, the server's work after start-up is profiled (cProfile) into that file."""
    from loadgen import prefer_sources

    prefer_sources()
    from predictex.app import Application
    from predictex.core import commands as c
    from predictex.server.config import Config
    from predictex.server.http import use_uvloop
    from predictex.server.membership import sign_up

    use_uvloop()

    async def main() -> None:
        app = Application(Config(port=0, data_dir=data_dir, rate_limits=False))
        await app.start()
        exchange = app.exchange
        assert exchange is not None
        keys = {}
        for name in ("producer", "watcher"):
            member = await sign_up(exchange, f"{name}@bench.example", "bench password 1", tier="prestige")
            generated = exchange.accounts.keys.generate(member.member_id, "bench", "ed25519")
            committed = await exchange.sequencer.submit(c.Deposit(member.engine_account_id, 100_000_000 * 1_000_000, "bench"))
            assert committed.outcome.reject is None
            path = Path(data_dir) / f"{name}-key.pem"
            path.write_text(generated.private_key_pem)
            keys[name] = {"key_id": generated.key.key_id, "key_path": str(path)}
        print(json.dumps({"port": app.port, **keys}), flush=True)
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        await app.stop()

    asyncio.run(main())


# --- the peer: a bare broadcast with the websockets library (in its own process) --------------------


def serve_peer() -> None:
    """The peer: the `websockets` library's own server and `broadcast()`, on the same subscriber sockets
    and the same producer schedule, with nothing behind it (no order book, no journal, no
    authentication, no per-subscription state). An action arrives as a line `price delta` on a plain
    TCP connection; the peer answers `ok` (the acknowledgement) and then broadcasts the orderbook_delta
    predictex would send for it (the same JSON fields), one text frame to every subscriber. Run only
    by this bench, after predictex and on the same workload: its figures are the yardstick for
    predictex's, not a result of their own."""
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    async def main() -> None:
        subscribers: set[ServerConnection] = set()
        seq = 1  # every subscriber subscribes (snapshot at seq 1) before the first action: one sequence for all

        async def subscriber(connection: ServerConnection) -> None:
            await connection.recv()  # the subscribe command
            await connection.send(orjson.dumps({"type": "orderbook_snapshot", "sid": 1, "seq": 1,
                                                "msg": {"market_ticker": TICKER, "yes": [], "no": []}}).decode())
            subscribers.add(connection)
            try:
                await connection.wait_closed()
            finally:
                subscribers.discard(connection)

        async def producer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal seq
            while line := await reader.readline():
                price_cents, delta = (int(field) for field in line.split())
                writer.write(b"ok\n")
                seq += 1
                time_ms = time.time_ns() // 1_000_000
                message = orjson.dumps({"type": "orderbook_delta", "sid": 1, "seq": seq, "msg": {
                    "market_ticker": TICKER, "market_id": "00000000-0000-0000-0000-000000000000",
                    "price_dollars": f"{price_cents / 100:.4f}", "delta_fp": f"{delta}.00", "side": "yes",
                    "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time_ms / 1000)), "ts_ms": time_ms,
                    "price": price_cents, "delta": delta}}).decode()
                broadcast(subscribers, message)

        actions = await asyncio.start_server(producer, "127.0.0.1", 0)
        async with serve(subscriber, "127.0.0.1", 0, compression=None, ping_interval=None, max_queue=None) as server:
            ws_port = next(iter(server.sockets)).getsockname()[1]
            actions_port = actions.sockets[0].getsockname()[1]
            print(json.dumps({"port": ws_port, "actions_port": actions_port}), flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
        actions.close()

    asyncio.run(main())


class Signer:
    def __init__(self, key_id: str, key_path: str) -> None:
        from cryptography.hazmat.primitives import serialization

        self.key_id = key_id
        self.key: Any = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)

    def headers(self, method: str, path: str) -> str:
        stamp = str(time.time_ns() // 1_000_000)
        signature = base64.b64encode(self.key.sign(f"{stamp}{method}{path.split('?')[0]}".encode())).decode()
        return f"KALSHI-ACCESS-KEY: {self.key_id}\r\nKALSHI-ACCESS-TIMESTAMP: {stamp}\r\nKALSHI-ACCESS-SIGNATURE: {signature}\r\n"


# --- subscribers (in worker processes) ------------------------------------------------------------------


class Subscriber(asyncio.Protocol):
    """One WebSocket connection: handshake, subscribe, then every delta timed and keyed."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.handshaken = False
        self.ready = asyncio.get_running_loop().create_future()
        self.seq = 0
        self.received = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio.Transport subclasses
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {WS_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{self.worker.signer.headers('GET', WS_PATH)}\r\n")
        self.transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        buffer = self.buffer + data if self.buffer else data
        if not self.handshaken:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                raise RuntimeError(f"upgrade refused: {buffer[:300]!r}")
            self.handshaken = True
            buffer = buffer[end + 4:]
            command = json.dumps({"id": 1, "cmd": "subscribe", "params": {"channels": ["orderbook_delta"], "market_ticker": TICKER}})
            self._send(0x1, command.encode())
        position, size = 0, len(buffer)
        loads, keys, times = orjson.loads, self.worker.keys, self.worker.times
        while size - position >= 2:
            opcode = buffer[position] & 0x0F
            length = buffer[position + 1] & 0x7F
            start = position + 2
            if length == 126:
                if size - position < 4:
                    break
                length = int.from_bytes(buffer[start:start + 2], "big")
                start += 2
            elif length == 127:
                if size - position < 10:
                    break
                length = int.from_bytes(buffer[start:start + 8], "big")
                start += 8
            if size < start + length:
                break
            payload = buffer[start:start + length]
            position = start + length
            if opcode == 0x1:
                message = loads(payload)
                kind = message.get("type")
                if kind == "orderbook_delta":
                    seq = message["seq"]
                    if seq != self.seq + 1:
                        self.worker.gaps += 1
                    self.seq = seq
                    self.received += 1
                    msg = message["msg"]
                    keys.append(delta_key(msg["price"], msg["delta"]))
                    times.append(now)
                elif kind == "orderbook_snapshot":
                    self.seq = message["seq"]
                    if not self.ready.done():
                        self.ready.set_result(None)
                elif kind == "error":
                    self.worker.errors += 1
            elif opcode == 0x9:
                self._send(0xA, payload)
        self.buffer = buffer[position:]

    def _send(self, opcode: int, payload: bytes) -> None:
        assert self.transport is not None and len(payload) < 126
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked)

    def connection_lost(self, exc: Exception | None) -> None:
        self.worker.lost += 1


class Worker:
    """A process holding some of the subscribers; driven by JSON lines on stdin."""

    def __init__(self, port: int, key_id: str, key_path: str) -> None:
        self.port = port
        self.signer = Signer(key_id, key_path)
        self.subscribers: list[Subscriber] = []
        self.keys: list[int] = []
        self.times: list[int] = []
        self.gaps = self.errors = self.lost = 0

    async def connect(self, count: int) -> None:
        loop = asyncio.get_running_loop()
        for start in range(0, count, 50):
            batch = []
            for _ in range(min(50, count - start)):
                _, subscriber = await loop.create_connection(lambda: Subscriber(self), "127.0.0.1", self.port)
                batch.append(subscriber)
            await asyncio.wait_for(asyncio.gather(*(s.ready for s in batch)), 60)
            self.subscribers += batch

    def received(self) -> int:
        return sum(s.received for s in self.subscribers)

    def report(self, acks: dict[int, int], sends: dict[int, int]) -> dict[str, Any]:
        """Histograms (BUCKET_US wide) of delivery minus ack and delivery minus scheduled send."""
        ack_hist: Counter[int] = Counter()
        send_hist: Counter[int] = Counter()
        unmatched = 0
        last = 0
        for key, when in zip(self.keys, self.times, strict=True):
            acked = acks.get(key)
            if acked is None:
                unmatched += 1
                continue
            ack_hist[(when - acked) // (BUCKET_US * 1000)] += 1
            send_hist[(when - sends[key]) // (BUCKET_US * 1000)] += 1
            last = max(last, when)
        self.keys.clear()
        self.times.clear()
        return {"ack": dict(ack_hist), "send": dict(send_hist), "unmatched": unmatched, "last_ns": last, "gaps": self.gaps,
                "errors": self.errors, "lost": self.lost}


async def worker_main(port: int, key_id: str, key_path: str, count: int) -> None:
    worker = Worker(port, key_id, key_path)
    await worker.connect(count)
    gc.freeze()  # the harness's own garbage collection should not show as delivery latency
    gc.set_threshold(100_000, 50, 100)
    print(json.dumps({"ready": len(worker.subscribers)}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        if command["cmd"] == "wait":  # until every subscriber has had `per_subscriber` deltas, or the deadline
            deadline = loop.time() + command["timeout_s"]
            total = command["per_subscriber"] * len(worker.subscribers)
            while worker.received() < total and loop.time() < deadline:
                await asyncio.sleep(0.01)
            print(json.dumps({"received": worker.received()}), flush=True)
        elif command["cmd"] == "report":
            acks = {int(k): v for k, v in command["acks"].items()}
            sends = {int(k): v for k, v in command["sends"].items()}
            print(json.dumps(worker.report(acks, sends)), flush=True)


# --- the producer (in the main process) ------------------------------------------------------------------


class Http:
    """One keep-alive HTTP/1.1 connection, one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def call(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)


class Producer:
    def __init__(self, port: int, signer: Signer | None) -> None:
        self.port = port
        self.signer = signer
        self.number = 0  # orders created so far (over every run)
        self.open: list[tuple[int, str]] = []  # (number, order id), oldest first
        self.connections: asyncio.Queue[Http] = asyncio.Queue()

    async def connect(self) -> None:
        for _ in range(HTTP_CONNECTIONS):
            self.connections.put_nowait(Http(*await asyncio.open_connection("127.0.0.1", self.port)))

    def _request(self, method: str, path: str, body: bytes = b"") -> bytes:
        assert self.signer is not None
        return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n{self.signer.headers(method, path)}\r\n").encode() + body

    async def _act(self, request: bytes, key: int, due_ns: int, acks: dict[int, int], sends: dict[int, int]) -> bytes:
        http = await self.connections.get()
        try:
            status, body = await http.call(request)
        finally:
            self.connections.put_nowait(http)
        if status not in (200, 201):
            raise RuntimeError(f"the exchange refused an action: {status} {body[:300]!r}")
        acks[key] = time.monotonic_ns()
        sends[key] = due_ns
        return body

    async def create(self, due_ns: int, acks: dict[int, int], sends: dict[int, int]) -> None:
        number = self.number
        self.number += 1
        price_cents = 1 + (number // SIZES) % PRICE_STEPS
        body = json.dumps({"ticker": TICKER, "side": "yes", "action": "buy", "type": "limit", "count": 1 + number % SIZES,
                           "yes_price": price_cents, "client_order_id": f"bench-{number}"}).encode()
        reply = await self._act(self._request("POST", "/trade-api/v2/portfolio/orders", body), action_key(number, False), due_ns, acks,
                                sends)
        self.open.append((number, json.loads(reply)["order"]["order_id"]))

    async def cancel(self, due_ns: int, acks: dict[int, int], sends: dict[int, int]) -> None:
        number, order_id = self.open.pop(0)
        await self._act(self._request("DELETE", f"/trade-api/v2/portfolio/orders/{order_id}"), action_key(number, True), due_ns, acks,
                        sends)

    async def run(self, rate: float, seconds: float) -> tuple[dict[int, int], dict[int, int], int]:
        """Actions on a schedule (a create, then a cancel whenever more than OPEN_ORDERS rest);
        returns the ack and scheduled-send times by action key, and the schedule's start."""
        acks: dict[int, int] = {}
        sends: dict[int, int] = {}
        count = int(rate * seconds)
        interval_ns = int(1e9 / rate)
        start = time.monotonic_ns() + 20_000_000
        tasks = []
        open_after = len(self.open)
        for index in range(count):
            due = start + index * interval_ns
            delay = (due - time.monotonic_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            if open_after > OPEN_ORDERS and self.open:
                open_after -= 1
                tasks.append(asyncio.create_task(self.cancel(due, acks, sends)))
            else:
                open_after += 1
                tasks.append(asyncio.create_task(self.create(due, acks, sends)))
            await asyncio.sleep(0)
        await asyncio.gather(*tasks)
        return acks, sends, start


class Line:
    """One connection to the peer's action port: a line out, `ok` back."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def call(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        answer = await self.reader.readline()
        return (200 if answer == b"ok\n" else 500), answer


class PeerProducer(Producer):
    """The same schedule of the same actions, sent to the peer as lines `price delta`."""

    def __init__(self, port: int) -> None:
        super().__init__(port, None)

    async def connect(self) -> None:
        for _ in range(HTTP_CONNECTIONS):
            self.connections.put_nowait(cast(Http, Line(*await asyncio.open_connection("127.0.0.1", self.port))))

    async def create(self, due_ns: int, acks: dict[int, int], sends: dict[int, int]) -> None:
        number = self.number
        self.number += 1
        price_cents = 1 + (number // SIZES) % PRICE_STEPS
        await self._act(b"%d %d\n" % (price_cents, 1 + number % SIZES), action_key(number, False), due_ns, acks, sends)
        self.open.append((number, ""))

    async def cancel(self, due_ns: int, acks: dict[int, int], sends: dict[int, int]) -> None:
        number, _ = self.open.pop(0)
        price_cents = 1 + (number // SIZES) % PRICE_STEPS
        await self._act(b"%d %d\n" % (price_cents, -(1 + number % SIZES)), action_key(number, True), due_ns, acks, sends)


# --- the main process ------------------------------------------------------------------------------------


def cpu_seconds(pid: int, kind: str = "both") -> float:
    """User and/or system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    user, system = int(fields[11]), int(fields[12])
    ticks = {"user": user, "system": system}.get(kind, user + system)
    return ticks / os.sysconf("SC_CLK_TCK")


def percentiles(histogram: Counter[int]) -> dict[str, float]:
    total = sum(histogram.values())
    points = {"p50": 0.5, "p99": 0.99, "p999": 0.999}
    found: dict[str, float] = {}
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        for name, fraction in points.items():
            if name not in found and seen >= fraction * total:
                found[name] = (bucket + 1) * BUCKET_US / 1000  # ms, the bucket's upper edge
    found["max"] = (max(histogram) + 1) * BUCKET_US / 1000
    return found


class Workers:
    def __init__(self, details: dict[str, Any], subscribers: int, processes: int) -> None:
        self.server_pid = details["pid"]
        watcher = details["watcher"]
        shares = [subscribers // processes + (1 if n < subscribers % processes else 0) for n in range(processes)]
        self.processes = [
            subprocess.Popen([sys.executable, __file__, "--worker", str(details["port"]), watcher["key_id"], watcher["key_path"], str(share)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for share in shares
        ]
        self.shares = shares
        for process in self.processes:
            assert process.stdout is not None
            ready = json.loads(process.stdout.readline())
            assert ready["ready"] > 0, ready

    def ask(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        line = json.dumps(command) + "\n"
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(line)
            process.stdin.flush()
        answers = []
        for process in self.processes:
            assert process.stdout is not None
            answers.append(json.loads(process.stdout.readline()))
        return answers

    def close(self) -> None:
        for process in self.processes:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(30)


async def one_run(producer: Producer, workers: Workers, arguments: argparse.Namespace, delivered_before: int) -> dict[str, Any]:
    server_cpu = cpu_seconds(workers.server_pid)
    server_sys = cpu_seconds(workers.server_pid, "system")
    client_cpu = sum(cpu_seconds(process.pid) for process in workers.processes)
    acks, sends, start = await producer.run(arguments.rate, arguments.seconds)
    workers.ask({"cmd": "wait", "per_subscriber": delivered_before + len(acks), "timeout_s": 30})
    reports = workers.ask({"cmd": "report", "acks": {str(k): v for k, v in acks.items()}, "sends": {str(k): v for k, v in sends.items()}})
    ack_hist: Counter[int] = Counter()
    send_hist: Counter[int] = Counter()
    for report in reports:
        ack_hist.update({int(k): v for k, v in report["ack"].items()})
        send_hist.update({int(k): v for k, v in report["send"].items()})
    delivered = sum(ack_hist.values())
    last = max(report["last_ns"] for report in reports)
    server_cpu = cpu_seconds(workers.server_pid) - server_cpu
    server_sys = cpu_seconds(workers.server_pid, "system") - server_sys
    client_cpu = sum(cpu_seconds(process.pid) for process in workers.processes) - client_cpu
    return {
        "actions": len(acks), "delivered": delivered, "expected": len(acks) * arguments.subscribers,
        "msgs_per_s": delivered / ((last - start) / 1e9), "ack_ms": percentiles(ack_hist), "send_ms": percentiles(send_hist),
        "gaps": sum(r["gaps"] for r in reports), "errors": sum(r["errors"] for r in reports), "lost": sum(r["lost"] for r in reports),
        "unmatched": sum(r["unmatched"] for r in reports),
        "server_cpu_us_per_msg": server_cpu / max(1, delivered) * 1e6,
        "server_system_cpu_us_per_msg": server_sys / max(1, delivered) * 1e6, "subscriber_cpu_us_per_msg": client_cpu / max(1, delivered) * 1e6,
    }


async def bench(details: dict[str, Any], producer: Producer, label: str, arguments: argparse.Namespace) -> dict[str, Any]:
    """The runs of one server (predictex or the peer): the medians, and whether every delta arrived in order."""
    started = time.monotonic()
    workers = Workers(details, arguments.subscribers, arguments.workers)
    print(f"{label}: {arguments.subscribers} subscribers connected and subscribed in {time.monotonic() - started:.1f} s", flush=True)
    await producer.connect()
    runs = []
    delivered_per_subscriber = 0
    try:
        for run_number in range(arguments.runs):
            result = await one_run(producer, workers, arguments, delivered_per_subscriber)
            delivered_per_subscriber += result["actions"]
            runs.append(result)
            ack, send = result["ack_ms"], result["send_ms"]
            print(f"{label} run {run_number + 1}: {result['actions']} actions at {arguments.rate}/s -> {result['delivered']:,} of "
                  f"{result['expected']:,} deltas delivered, {result['msgs_per_s']:,.0f} msgs/s; ack->delivery p50 {ack['p50']:.2f} ms "
                  f"p99 {ack['p99']:.2f} ms p99.9 {ack['p999']:.2f} ms max {ack['max']:.2f} ms; send->delivery p50 {send['p50']:.2f} ms "
                  f"p99 {send['p99']:.2f} ms max {send['max']:.2f} ms; gaps {result['gaps']}, errors {result['errors']}; CPU per message: server "
                  f"{result['server_cpu_us_per_msg']:.2f} µs ({result['server_system_cpu_us_per_msg']:.2f} in the kernel), subscribers {result['subscriber_cpu_us_per_msg']:.2f} µs", flush=True)
    finally:
        workers.close()
    return {
        "msgs_per_s": round(statistics.median(r["msgs_per_s"] for r in runs)),
        "ack_to_delivery_ms": {k: round(statistics.median(r["ack_ms"][k] for r in runs), 2) for k in ("p50", "p99", "p999", "max")},
        "send_to_delivery_ms": {k: round(statistics.median(r["send_ms"][k] for r in runs), 2) for k in ("p50", "p99", "p999", "max")},
        "server_cpu_us_per_msg": round(statistics.median(r["server_cpu_us_per_msg"] for r in runs), 2),
        "server_system_cpu_us_per_msg": round(statistics.median(r["server_system_cpu_us_per_msg"] for r in runs), 2),
        "subscriber_cpu_us_per_msg": round(statistics.median(r["subscriber_cpu_us_per_msg"] for r in runs), 2),
        "every_delta_delivered_in_order": all(r["delivered"] == r["expected"] and not r["gaps"] and not r["errors"] and not r["lost"]
                                              for r in runs),
    }


def _start(arguments: list[str]) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    server = subprocess.Popen([sys.executable, __file__, *arguments], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    return server, {**json.loads(server.stdout.readline()), "pid": server.pid}


def _stop(server: subprocess.Popen[str]) -> None:
    if server.stdin is not None:
        server.stdin.close()
    server.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=105.0, help="producer actions (creates and cancels) per second")
    # 3 s a run keeps the no-arg run within three minutes on the loaded machine (6 s took 263 s at load 12.6, most of
    # it the deliveries draining); --seconds 6 is the longer measurement.
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each run (default 3)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="subscriber processes")
    parser.add_argument("--profile", metavar="FILE", default="", help="profile the server (cProfile) into FILE")
    parser.add_argument("--serve", metavar="DATA_DIR", help=argparse.SUPPRESS)
    parser.add_argument("--serve-peer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    _use_uvloop()
    if arguments.serve:
        serve(arguments.serve, arguments.profile)
        return
    if arguments.serve_peer:
        serve_peer()
        return
    if arguments.worker:
        port, key_id, key_path, count = arguments.worker
        asyncio.run(worker_main(int(port), key_id, key_path, int(count)))
        return
    from loadgen import engine_compiled, load_average, yardstick

    measured_yardstick = yardstick()
    load = load_average()
    compiled = engine_compiled()
    with tempfile.TemporaryDirectory(prefix="predictex-ws-bench-") as data_dir:
        server, details = _start(["--serve", data_dir, "--profile", arguments.profile])
        try:
            signer = Signer(details["producer"]["key_id"], details["producer"]["key_path"])
            result = asyncio.run(bench(details, Producer(details["port"], signer), "predictex", arguments))
        finally:
            _stop(server)
        # The peer, on the same subscriber processes' code, sockets and schedule (its handshake ignores the signature).
        peer, peer_details = _start(["--serve-peer"])
        try:
            watcher = details["watcher"]
            peer_result = asyncio.run(bench({**peer_details, "watcher": watcher}, PeerProducer(peer_details["actions_port"]),
                                            "peer (websockets broadcast)", arguments))
        finally:
            _stop(peer)
    ratios = {
        # how many times the bare broadcast's server CPU a delivered message costs predictex (1.0 = as cheap)
        "server_cpu_per_msg_vs_peer": round(result["server_cpu_us_per_msg"] / peer_result["server_cpu_us_per_msg"], 2),
        "ack_to_delivery_p99_vs_peer": round(result["ack_to_delivery_ms"]["p99"] / peer_result["ack_to_delivery_ms"]["p99"], 2),
    }
    print(f"fan-out to {arguments.subscribers} subscribers at {arguments.rate:g} actions/s (median of {arguments.runs} runs):")
    for label, figures in (("predictex", result), ("peer: websockets broadcast", peer_result)):
        ack = figures["ack_to_delivery_ms"]
        print(f"  {label:<28} {figures['msgs_per_s']:>9,} msgs/s  ack->delivery p50 {ack['p50']} ms p99 {ack['p99']} ms max {ack['max']} ms  "
              f"server CPU {figures['server_cpu_us_per_msg']} µs/msg")
    print(f"  ratios (predictex / peer): server CPU per message {ratios['server_cpu_per_msg_vs_peer']}x, "
          f"ack->delivery p99 {ratios['ack_to_delivery_p99_vs_peer']}x")
    report = {
        "bench": "ws", "yardstick_us": measured_yardstick, "load_average_at_start": load, "compiled": compiled,
        "subscribers": arguments.subscribers, "channel": "orderbook_delta", "market": TICKER,
        "workload": f"open-loop REST limit bids at $0.01-$0.30 (never trading) and cancels, {arguments.rate} actions/s, one delta each",
        "rate_actions_per_s": arguments.rate, "seconds_per_run": arguments.seconds, "runs": arguments.runs,
        "subscriber_processes": arguments.workers, **result,
        "peer": {"name": "websockets broadcast() on the same sockets, no book, no journal", **peer_result}, "ratios": ratios,
    }
    print(json.dumps(report))


def _use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


if __name__ == "__main__":
    main()
