"""FIX order-entry benchmark: one session (order entry without retransmission, FIX 4.4) against a
real predictex server in its own process (SQLite journal, WAL, synchronous=FULL: every order is
durable before it is acknowledged).

    python bench/fix.py [--orders 20000] [--window 1000] [--rate 1000] [--seconds 5] [--runs 3] [--kind nr|rt]

Workload: one funded member, one market (the demo market INXCHI-25JAN31-T69.5); every order is a
good-till-canceled limit bid of 1 contract at 1-40 cents, below the best ask, so it rests (nothing
trades) and is answered by one ExecutionReport (New) once it is journalled; the resting orders
accumulate (about 77,000 with the defaults), so the figures include an exchange whose state grows.
Two measures, each the median of --runs runs:

- throughput: send NewOrderSingle as fast as the gateway acknowledges, keeping up to --window orders
  in flight (the sequencer group-commits whatever arrives while the last batch is written); orders/s
  from the first send to the last acknowledgement;
- round trip at a fixed rate (open loop): orders sent at --rate per second on a schedule; latency
  from each order's scheduled send time to its ExecutionReport, so a stall counts against every
  order it delays (no coordinated omission); p50, p99, p99.9 and max. The run's messages are built
  before it starts (as the REST benchmarks pre-sign), so the client measures the exchange, not its
  own message building; the client waits in select(), whose timeout has microsecond resolution.

The peer, in the same run: a QuickFIX 1.16 acceptor (the C++ engine through its Python binding, as
the compatibility tests install it) holding the same session, validating every message against its
FIX 4.4 data dictionary, keeping messages and sequence numbers in its file store (not fsynced: predictex
commits each batch of orders to its journal with an fsync before it answers), and answering each of
the same orders with an ExecutionReport (New): no order book, no balances. Printed side by side, with
the ratios predictex / peer of the throughput and of the round trip's p50 and p99.

It starts its own servers on free ports (in subprocesses, so client and server do not share a GIL;
the installed predictex, compiled where it was built so) and stops them afterwards. The last line
printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from loadgen import engine_compiled, load_average, prefer_sources, sources_unless_installed, yardstick

TICKER = "INXCHI-25JAN31-T69.5"


# --- the server (in its own process) ----------------------------------------------------------------

def serve(data_dir: str, kind: str) -> None:
    """Run an exchange with FIX on free ports; print one JSON line with the ports and a member's key."""
    prefer_sources()
    from predictex.app import Application
    from predictex.core import commands as c
    from predictex.gateways.fix import Kind
    from predictex.server.config import Config
    from predictex.server.http import use_uvloop
    from predictex.server.membership import sign_up

    use_uvloop()

    async def main() -> None:
        config = Config(port=0, data_dir=data_dir, fix_ports="nr=0,rt=0", rate_limits=False, log_format="text")
        app = Application(config)
        await app.start()
        exchange = app.exchange
        assert exchange is not None
        member = await sign_up(exchange, "bench@example.com", "bench password 1", tier="prestige")
        generated = exchange.accounts.keys.generate(member.member_id, "bench", "rsa")
        committed = await exchange.sequencer.submit(c.Deposit(member.engine_account_id, 1_000_000 * 1_000_000, "bench"))
        assert committed.outcome.reject is None
        key_path = Path(data_dir) / "bench-key.pem"
        key_path.write_text(generated.private_key_pem)
        port = app.fix.port(Kind.ORDER_ENTRY if kind == "nr" else Kind.ORDER_ENTRY_RT)
        print(json.dumps({"port": port, "key_id": generated.key.key_id, "key_path": str(key_path)}), flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
        await app.stop()

    asyncio.run(main())


# --- the peer: a QuickFIX acceptor answering the same orders (in its own process) --------------------

def serve_peer(data_dir: str, sender: str, target: str) -> None:
    """The peer: QuickFIX 1.16 (the C++ engine, through its Python binding) as the acceptor of the same
    session, with its FIX 4.4 data dictionary checking every message, its file store keeping the
    messages and sequence numbers (written to the file system, not fsynced), and an application that
    answers each NewOrderSingle with an ExecutionReport (New) from a running count: no order book, no
    balances, no journal. Run only by this bench, after predictex and on the same orders."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from compat.quickfix_setup import dictionaries, quickfix

    fix = quickfix()
    fix44 = __import__("quickfix44")

    class Answer(fix.Application):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.orders = 0

        def onCreate(self, session_id: Any) -> None: ...

        def onLogon(self, session_id: Any) -> None: ...

        def onLogout(self, session_id: Any) -> None: ...

        def toAdmin(self, message: Any, session_id: Any) -> None: ...

        def fromAdmin(self, message: Any, session_id: Any) -> None: ...

        def toApp(self, message: Any, session_id: Any) -> None: ...

        def fromApp(self, message: Any, session_id: Any) -> None:
            if message.getHeader().getField(35) != "D":
                return
            self.orders += 1
            quantity = float(message.getField(38))
            report = fix44.ExecutionReport()
            for field in (fix.OrderID(str(self.orders)), fix.ExecID(str(self.orders)), fix.ExecType(fix.ExecType_NEW),
                          fix.OrdStatus(fix.OrdStatus_NEW), fix.Side(message.getField(54)), fix.LeavesQty(quantity), fix.CumQty(0),
                          fix.AvgPx(0)):
                report.setField(field)
            report.setField(fix.ClOrdID(message.getField(11)))
            report.setField(fix.Symbol(message.getField(55)))
            report.setField(fix.OrderQty(quantity))
            report.setField(fix.Price(float(message.getField(44))))
            fix.Session.sendToTarget(report, session_id)

    port = _free_port()
    settings_path = Path(data_dir) / "quickfix.cfg"
    settings_path.write_text(
        f"[DEFAULT]\nConnectionType=acceptor\nSocketAcceptPort={port}\nSocketNodelay=Y\nStartTime=00:00:00\nEndTime=00:00:00\n"
        f"FileStorePath={data_dir}/quickfix-store\nUseDataDictionary=Y\nDataDictionary={dictionaries() / 'FIX44.xml'}\n"
        f"ResetOnLogon=Y\nCheckLatency=N\n\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID={target}\nTargetCompID={sender}\n")
    settings = fix.SessionSettings(str(settings_path))
    acceptor = fix.SocketAcceptor(Answer(), fix.FileStoreFactory(settings), settings, fix.ScreenLogFactory(False, False, False))
    acceptor.start()
    print(json.dumps({"port": port}), flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    acceptor.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the client -------------------------------------------------------------------------------------

class Client:
    def __init__(self, port: int, key_id: str, key_path: str, target: str) -> None:
        from cryptography.hazmat.primitives import serialization

        self.port = port
        self.key_id = key_id
        self.key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
        self.target = target
        self.seq = 1
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.order_number = 0

    def _stamp(self) -> bytes:
        from predictex.gateways.fix.session import utc_timestamp

        return utc_timestamp(time.time_ns() // 1_000_000)

    def _message(self, msg_type: bytes, body: bytes) -> bytes:
        from predictex.gateways.fix.codec import encode

        header = b"35=%s\x0149=%s\x0156=%s\x0134=%d\x0152=%s\x01" % (msg_type, self.key_id.encode(), self.target.encode(), self.seq,
                                                                       self._stamp())
        self.seq += 1
        return encode(b"FIX.4.4", header + body)

    def logon(self, reset: bool) -> None:
        import base64

        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        stamp = self._stamp()
        if reset:
            self.seq = 1
        signed = b"\x01".join((stamp, b"A", b"%d" % self.seq, self.key_id.encode(), self.target.encode()))
        signature = base64.b64encode(self.key.sign(signed, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                                                   hashes.SHA256()))
        body = b"98=0\x01108=30\x0195=%d\x0196=%s\x01" % (len(signature), signature) + (b"141=Y\x01" if reset else b"")
        from predictex.gateways.fix.codec import encode

        header = b"35=A\x0149=%s\x0156=%s\x0134=%d\x0152=%s\x01" % (self.key_id.encode(), self.target.encode(), self.seq, stamp)
        self.seq += 1
        self.sock.sendall(encode(b"FIX.4.4", header + body))
        while b"\x0135=A\x01" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"logon refused: {self.buffer!r}")
            self.buffer += chunk
        self.buffer = b""

    def order(self) -> tuple[bytes, int]:
        self.order_number += 1
        number = self.order_number
        price = 100 + (number % 40) * 100  # 1-40 cents, below the demo market's asks
        body = b"11=b%d\x0155=%s\x0154=1\x0138=1\x0140=2\x0144=%d\x0159=1\x0160=%s\x01" % (number, TICKER.encode(), price // 100,
                                                                                       self._stamp())
        return self._message(b"D", body), number

    def read_acks(self, timeout_s: float | None) -> list[int]:
        """The order numbers (from ClOrdID b<n>) of the ExecutionReports that arrived."""
        # select() waits with microsecond resolution; a socket timeout waits in poll(), whose whole
        # milliseconds would make the client late for its own schedule (up to 1 ms at 1,000/s).
        if not select.select([self.sock], [], [], timeout_s)[0]:
            return []
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("the server closed the session")
        data = self.buffer + chunk
        found: list[int] = []
        position = 0
        while True:
            rejected = data.find(b"\x0135=3\x01", position)
            if rejected >= 0:
                raise RuntimeError(f"a message was rejected: {data[rejected:rejected + 300]!r}")
            start = data.find(b"\x0135=8\x01", position)
            if start < 0:
                break
            end = data.find(b"\x0110=", start)
            if end < 0 or data.find(b"\x01", end + 4) < 0:
                break
            marker = data.find(b"\x0111=b", start, end)
            if marker >= 0 and data.find(b"\x01150=0\x01", start, end) >= 0:
                stop = data.find(b"\x01", marker + 5)
                found.append(int(data[marker + 5:stop]))
            if data.find(b"\x01150=8\x01", start, end) >= 0:
                raise RuntimeError(f"an order was rejected: {data[start:end]!r}")
            position = data.find(b"\x01", end + 4) + 1
        self.buffer = data[position:]
        return found

    def close(self) -> None:
        self.sock.close()


def throughput(client: Client, orders: int, window: int) -> float:
    sent = acked = 0
    started = time.perf_counter()
    while acked < orders:
        batch = []
        while sent < orders and sent - acked < window:
            batch.append(client.order()[0])
            sent += 1
        if batch:
            client.sock.sendall(b"".join(batch))
        found = client.read_acks(30.0)
        if not found:
            raise RuntimeError("no ExecutionReport in 30 s")
        acked += len(found)
    return orders / (time.perf_counter() - started)


def round_trip(client: Client, rate: int, seconds: float) -> list[float]:
    """Open loop: order i is due at start + i/rate; latency = ack time - due time (µs)."""
    count = int(rate * seconds)
    interval = 1.0 / rate
    orders = [client.order() for _ in range(count)]  # built before the clock starts (SendingTime stays within 30 s)
    due: dict[int, float] = {}
    latencies: list[float] = []
    start = time.perf_counter() + 0.05
    next_index = 0
    while len(latencies) < count:
        now = time.perf_counter()
        batch = []
        while next_index < count and start + next_index * interval <= now:
            data, number = orders[next_index]
            due[number] = start + next_index * interval
            batch.append(data)
            next_index += 1
        if batch:
            client.sock.sendall(b"".join(batch))
        wait = max(0.0, start + next_index * interval - time.perf_counter()) if next_index < count else 0.5
        for number in client.read_acks(min(wait, 0.5) if wait > 0 else 0.0001):
            latencies.append((time.perf_counter() - due.pop(number)) * 1e6)
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=20_000, help="orders per throughput run")
    parser.add_argument("--window", type=int, default=1_000, help="orders in flight in the throughput runs")
    parser.add_argument("--rate", type=int, default=1_000, help="orders per second in the round-trip runs")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each round-trip run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kind", choices=("nr", "rt"), default="nr", help="order entry without (nr) or with (rt) retransmission")
    parser.add_argument("--serve", metavar="DATA_DIR", help=argparse.SUPPRESS)
    parser.add_argument("--serve-peer", nargs=3, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        serve(arguments.serve, arguments.kind)
        return
    if arguments.serve_peer:
        serve_peer(*arguments.serve_peer)
        return
    measured_yardstick = yardstick()
    load = load_average()
    compiled = engine_compiled()
    target = "KalshiNR" if arguments.kind == "nr" else "KalshiRT"
    with tempfile.TemporaryDirectory(prefix="predictex-fix-bench-") as data_dir:
        server = subprocess.Popen([sys.executable, __file__, "--serve", data_dir, "--kind", arguments.kind],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_server_environment())
        try:
            assert server.stdout is not None
            details = {**json.loads(server.stdout.readline()), "pid": server.pid}
            result = run(details, target, "predictex", arguments)
        finally:
            if server.stdin is not None:
                server.stdin.close()
            server.wait(60)
        peer = subprocess.Popen([sys.executable, __file__, "--serve-peer", data_dir, details["key_id"], target],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert peer.stdout is not None
            line = peer.stdout.readline()
            while line and not line.startswith("{"):  # QuickFIX's first install (from the wheel cache) says what pip did
                line = peer.stdout.readline()
            peer_result = run({**details, **json.loads(line), "pid": peer.pid}, target, "peer (QuickFIX acceptor)", arguments)
        finally:
            if peer.stdin is not None:
                peer.stdin.close()
            peer.wait(60)
    ratios = {  # predictex / peer
        "orders_per_s": round(result["orders_per_s"] / peer_result["orders_per_s"], 2),
        "server_cpu_per_order": round(result["server_cpu_us_per_order"] / peer_result["server_cpu_us_per_order"], 2),
        "round_trip_p50": round(result["round_trip_us"]["p50"] / peer_result["round_trip_us"]["p50"], 2),
        "round_trip_p99": round(result["round_trip_us"]["p99"] / peer_result["round_trip_us"]["p99"], 2),
    }
    for label, figures in (("predictex", result), ("peer: QuickFIX acceptor", peer_result)):
        trip = figures["round_trip_us"]
        print(f"  {label:<24} {figures['orders_per_s']:>8,} orders/s  server CPU {figures['server_cpu_us_per_order']} µs an order  round trip at {arguments.rate}/s: p50 {trip['p50']} µs, "
              f"p99 {trip['p99']} µs, max {trip['max']} µs")
    print(f"  ratios (predictex / peer): orders/s {ratios['orders_per_s']}x, server CPU an order {ratios['server_cpu_per_order']}x, round-trip p50 {ratios['round_trip_p50']}x, "
          f"p99 {ratios['round_trip_p99']}x")
    report = {
        "bench": "fix", "yardstick_us": measured_yardstick, "load_average_at_start": load, "compiled": compiled, "session": arguments.kind,
        "workload": "GTC limit bids, 1 contract, 1-40c, resting, one ER (New) each", "orders_per_run": arguments.orders,
        "window": arguments.window, "runs": arguments.runs, "round_trip_rate_per_s": arguments.rate, **result,
        "peer": {"name": "QuickFIX 1.16 acceptor, FIX44 dictionary, file store, an ER (New) per order, no book, no journal", **peer_result},
        "ratios": ratios,
    }
    print(json.dumps(report))


def _server_environment() -> dict[str, str]:
    sources = sources_unless_installed()
    return dict(os.environ) if sources is None else {**os.environ, "PYTHONPATH": sources}


def run(details: dict[str, Any], target: str, label: str, arguments: argparse.Namespace) -> dict[str, Any]:
    """Throughput runs then round-trip runs on one session: the medians."""
    client = Client(details["port"], details["key_id"], details["key_path"], target)
    client.logon(reset=True)
    throughput(client, 2_000, arguments.window)  # warm-up
    rates = []
    cpu_per_order = []
    for run_number in range(arguments.runs):
        cpu_before = cpu_seconds(details["pid"])
        rates.append(throughput(client, arguments.orders, arguments.window))
        cpu_per_order.append((cpu_seconds(details["pid"]) - cpu_before) / arguments.orders * 1e6)
        print(f"{label} throughput run {run_number + 1}: {rates[-1]:,.0f} orders/s, server CPU {cpu_per_order[-1]:.1f} µs an order", flush=True)
    summaries = []
    for run_number in range(arguments.runs):
        latencies = round_trip(client, arguments.rate, arguments.seconds)
        summary = {name: percentile(latencies, q) for name, q in (("p50", 0.5), ("p99", 0.99), ("p999", 0.999))}
        summary["max"] = max(latencies)
        summaries.append(summary)
        print(f"{label} round trip run {run_number + 1} at {arguments.rate}/s: p50 {summary['p50']:.0f} µs, p99 {summary['p99']:.0f} µs, "
              f"p99.9 {summary['p999']:.0f} µs, max {summary['max']:.0f} µs", flush=True)
    client.close()
    median = {name: statistics.median(s[name] for s in summaries) for name in ("p50", "p99", "p999", "max")}
    return {"orders_per_s": round(statistics.median(rates)), "server_cpu_us_per_order": round(statistics.median(cpu_per_order), 1),
            "round_trip_us": {name: round(value) for name, value in median.items()}}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
