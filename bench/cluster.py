"""Cluster benchmark: replicated durable intake against the single machine's, failover time, and
WebSocket fan-out through one and two gateway nodes.

    python bench/cluster.py [--runs 3] [--seconds 6] [--producers 64] [--subscribers 200] [--orders 150] [--fanout-runs 2]
                            [--no-intake] [--no-failover] [--no-fanout]

Intake: the sequencer as the server wires it for order entry (engine, SQLite journal synchronous=FULL
in a temporary file, the read model's history rows in each batch's transaction), fed by `--producers`
clients that each submit one order and await its acknowledgement (closed loop, saturation), for
`--seconds` each run: once on the single machine's journal alone (the peer, in the same run), once
with the replicated journal in front of it (every batch published to a three-replica JetStream stream
on three local nats-server processes configured as shipped, `sync_interval: always`, each with its
own store directory on this machine's one disk, and acknowledged only after the stream's majority
ack). Workload: 1 market, 64 accounts; GTC one-contract bids at 5..49c and asks at 51..95c (rest,
never trade), so the engine is not what is measured. Figures: commands/s and the acknowledgement's
p50/p99 (submission to answer), the median of `--runs` runs each on a fresh journal and stream.

Failover: two nodes (`predictex cluster node`, processes) on the same NATS cluster, lease 1.0 s (the default); a
client sends signed orders to the leader one after another; the leader is killed (SIGKILL) and the
time from the kill to the first order acknowledged by the new leader is measured (median of `--runs`
kills; the killed node is restarted between kills, and the next kill waits until it stands by, warm,
and a second more). Goal: under 3 s.

WebSocket fan-out through gateway nodes: a leader (`predictex cluster node`) and one, then two
`predictex gateway` processes (the second started beside the first) on the same NATS cluster; `--subscribers` authenticated Kalshi v2
WebSocket connections (bench/ws.py's subscriber processes, one per gateway, the subscribers split evenly
between the gateways) each subscribed to the demo market's orderbook_delta; 8 client threads place
`--orders` signed one-contract YES bids at 30c on the leader (each one level change: one delta to every
subscriber), and the run ends when every subscriber has every delta. Figures per configuration (median
of `--fanout-runs` runs): deltas delivered per second over all subscribers (from the first order sent to the
last delivery: bounded by the leader's replicated intake, so it says little about the gateways), and
each gateway's CPU time (user + system, /proc) per delivered message, which includes its share of
following the log (applying every batch to its engine, read model and local store): with two gateways
each carries half the connections, and the CPU per message shows what a second machine adds. Each
gateway's CPU per order for following the log alone (no subscriber connected) is measured first, so
the marginal CPU per delivered message is also given: (CPU - follow x orders) / messages.

Ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from cluster_nodes import GatewayProcess, NodeProcess, Operator
from loadgen import load_average, yardstick
from nats_cluster import NatsCluster
from predictex.cluster.log import NatsThread, ReplicatedLog
from predictex.core import commands as c
from predictex.journal.journal import Journal
from predictex.journal.sqlite import SqliteStore
from predictex.readmodel import ReadModel
from predictex.server.clock import WallClock
from predictex.server.sequencer import Sequencer

ACCOUNTS = 64
DOLLAR = 1_000_000


async def _intake(directory: Path, log: ReplicatedLog | None, producers: int, seconds: float) -> dict[str, float]:
    store = SqliteStore(str(directory / "bench.db"))
    journal = Journal(store)
    recovery = journal.recover()
    readmodel = ReadModel.open(store, journal, recovery)
    sequencer = Sequencer(recovery.engine, journal, WallClock(), projector=readmodel, listeners=[readmodel], replicator=log)
    sequencer.start()
    now = int(time.time() * 1000)
    for command in [c.CreateSeries("B", "bench"), c.CreateEvent("B-E", "B", "bench"),
                    c.CreateMarket("B-M", "B-E", "bench", now - 3_600_000, now + 86_400_000)]:
        await sequencer.submit(command)
    for account in range(1, ACCOUNTS + 1):
        await sequencer.submit_many([c.OpenAccount(), c.Deposit(account, 1_000_000 * DOLLAR)])
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def producer(index: int) -> None:
        rng = random.Random(index)
        account = index % ACCOUNTS + 1
        while time.perf_counter() < deadline:
            bid = rng.random() < 0.5
            price = rng.randint(5, 49) if bid else rng.randint(51, 95)
            started = time.perf_counter()
            await sequencer.submit(c.CreateOrder(account, "B-M", bid, price * 100, 100))
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(producer(i) for i in range(producers)))
    elapsed = time.perf_counter() - began
    await sequencer.stop(snapshot=False)
    store.close()
    latencies.sort()
    return {"commands_per_s": len(latencies) / elapsed, "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000, "batches": sequencer.batches_committed}


def intake(runs: int, producers: int, seconds: float) -> dict[str, Any]:
    single: list[dict[str, float]] = []
    replicated: list[dict[str, float]] = []
    for run in range(runs):
        with tempfile.TemporaryDirectory(prefix="predictex-bench-cluster-") as name:
            root = Path(name)
            (root / "single").mkdir()
            single.append(asyncio.run(_intake(root / "single", None, producers, seconds)))
            nats = NatsCluster(root / "nats")
            nats.start()
            try:
                thread = NatsThread(nats.urls, "bench")
                log = ReplicatedLog(thread, "bench")
                log.ensure_stream()
                log.begin_term(0, 0)
                (root / "replicated").mkdir()
                replicated.append(asyncio.run(_intake(root / "replicated", log, producers, seconds)))
                thread.close()
            finally:
                nats.stop()
        print(f"run {run + 1}: single {single[-1]['commands_per_s']:.0f}/s p50 {single[-1]['p50_ms']:.1f} ms "
              f"p99 {single[-1]['p99_ms']:.1f} ms ({single[-1]['batches']:.0f} batches); replicated {replicated[-1]['commands_per_s']:.0f}/s "
              f"p50 {replicated[-1]['p50_ms']:.1f} ms p99 {replicated[-1]['p99_ms']:.1f} ms "
              f"({replicated[-1]['batches']:.0f} batches)", flush=True)

    def median(results: list[dict[str, float]], key: str) -> float:
        return round(statistics.median(r[key] for r in results), 1)

    found = {f"{kind}_{key}": median(results, key) for kind, results in (("single", single), ("replicated", replicated))
             for key in ("commands_per_s", "p50_ms", "p99_ms")}
    found["ratio"] = round(found["replicated_commands_per_s"] / found["single_commands_per_s"], 2)
    return found


def failover(runs: int) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="predictex-bench-failover-"))
    nats = NatsCluster(root / "nats")
    nats.start()
    nodes = [NodeProcess(name, root, nats.urls, lease_ttl_s=1.0) for name in ("a", "b")]
    times: list[float] = []
    try:
        nodes[0].start()
        nodes[0].wait_leading(supervised=True)
        nodes[1].start()
        nodes[1].wait_standing_by()
        operator = Operator(nodes[0].data_dir)
        for _ in range(runs):
            leader = next(node for node in nodes if node.leading())
            for _ in range(20):
                status, _, body = operator.place(leader.port)
                assert status == 201, body
            standby = next(node for node in nodes if node is not leader)
            killed = time.monotonic()
            leader.signal(signal.SIGKILL)
            while True:
                try:
                    status, _, _ = operator.place(standby.port, timeout_s=5)
                except OSError:
                    status = 0
                if status == 201:
                    break
                time.sleep(0.01)
            times.append(time.monotonic() - killed)
            print(f"failover: first acknowledged order on {standby.name} {times[-1]:.2f} s after the kill", flush=True)
            leader.kill()
            leader.start()  # back as the standby, warm and following the log before the next kill
            leader.wait_standing_by()
            time.sleep(1.0)
    finally:
        for node in nodes:
            node.kill()
        nats.stop()
        shutil.rmtree(root, ignore_errors=True)
    return {"failover_s_median": round(statistics.median(times), 2), "failover_s_max": round(max(times), 2),
            "failover_goal_s": 3.0}


WS_BENCH = str(Path(__file__).resolve().parent / "ws.py")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _subscriber_processes(gateways: list[GatewayProcess], operator: Operator, root: Path, subscribers: int) -> list[subprocess.Popen[str]]:
    """One bench/ws.py subscriber process per gateway, signing with an Ed25519 key (what its client
    signs with) made through that gateway: the leader makes it, and the gateway answers once it has it."""
    shares = [subscribers // len(gateways) + (1 if n < subscribers % len(gateways) else 0) for n in range(len(gateways))]
    workers = []
    for gateway, share in zip(gateways, shares, strict=True):
        status, made = operator.request(gateway.port, "POST", "/trade-api/v2/api_keys/generate", {"name": gateway.name, "key_type": "ed25519"})
        assert status == 201, made
        key_path = root / f"{gateway.name}-key.pem"
        key_path.write_text(made["private_key"])
        workers.append(subprocess.Popen([sys.executable, WS_BENCH, "--worker", str(gateway.port), made["api_key_id"], str(key_path), str(share)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    for worker in workers:
        assert worker.stdout is not None
        ready = json.loads(worker.stdout.readline())
        assert ready["ready"] > 0, ready
    return workers


def _place(operator: Operator, port: int, orders: int) -> None:
    with ThreadPoolExecutor(8) as placing:
        answers = list(placing.map(lambda _: operator.place(port, timeout_s=60), range(orders)))
    assert all(status == 201 for status, _, _ in answers), [a for a in answers if a[0] != 201][:3]


def _follow_cost(leader: NodeProcess, gateways: list[GatewayProcess], operator: Operator, orders: int) -> list[float]:
    """Each gateway's CPU per order for following the log alone (no subscriber): applying each batch to
    its engine, read model and local store."""
    pids = [gateway.process.pid for gateway in gateways if gateway.process is not None]
    before = [cpu_seconds(pid) for pid in pids]
    _place(operator, leader.port, orders)
    target = (leader.health() or {})["committed_seq"]
    for gateway in gateways:
        while (gateway.health() or {}).get("committed_seq", 0) < target:
            time.sleep(0.01)
    return [(cpu_seconds(pid) - cpu) / orders * 1e6 for pid, cpu in zip(pids, before, strict=True)]


def _ask(workers: list[subprocess.Popen[str]], command: dict[str, Any]) -> list[dict[str, Any]]:
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(json.dumps(command) + "\n")
        worker.stdin.flush()
    answers = []
    for worker in workers:
        assert worker.stdout is not None
        answers.append(json.loads(worker.stdout.readline()))
    return answers


def fanout(subscribers: int, orders: int, runs: int) -> dict[str, Any]:
    """One NATS cluster and leader; measured with one gateway, then with a second one started beside it."""
    root = Path(tempfile.mkdtemp(prefix="predictex-bench-fanout-"))
    nats = NatsCluster(root / "nats")
    nats.start()
    leader = NodeProcess("a", root, nats.urls)
    gateways = [GatewayProcess(f"g{n + 1}", root, nats.urls, ["--no-rate-limits"]) for n in range(2)]
    found: dict[str, Any] = {}
    try:
        leader.start()
        leader.wait_leading()
        operator = Operator(leader.data_dir)
        for count in (1, 2):
            gateways[count - 1].start()
            gateways[count - 1].wait_leading()
            found.update(_fanout_with(gateways[:count], leader, operator, root, subscribers, orders, runs))
    finally:
        for process in (*gateways, leader):
            process.kill()
        nats.stop()
        shutil.rmtree(root, ignore_errors=True)
    return found


def _fanout_with(gateways: list[GatewayProcess], leader: NodeProcess, operator: Operator, root: Path, subscribers: int,
                 orders: int, runs: int) -> dict[str, Any]:
    count = len(gateways)
    follow = _follow_cost(leader, gateways, operator, orders)
    workers = _subscriber_processes(gateways, operator, root, subscribers)
    results: list[dict[str, Any]] = []
    try:
        received = [0] * count
        for run in range(runs):
            pids = [gateway.process.pid for gateway in gateways if gateway.process is not None]
            cpu_before = [cpu_seconds(pid) for pid in pids]
            started = time.perf_counter()
            _place(operator, leader.port, orders)
            now = [answer["received"] for answer in _ask(workers, {"cmd": "wait", "per_subscriber": orders * (run + 1), "timeout_s": 120})]
            elapsed = time.perf_counter() - started
            cpu = [cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True)]
            delivered = [after - before for after, before in zip(now, received, strict=True)]
            received = now
            assert sum(delivered) == orders * subscribers, (delivered, orders, subscribers)
            results.append({"delivered_per_s": sum(delivered) / elapsed,
                            "cpu_us_per_message": [c / d * 1e6 for c, d in zip(cpu, delivered, strict=True)],
                            "marginal_cpu_us_per_message": [(c * 1e6 - f * orders) / d for c, f, d in zip(cpu, follow, delivered, strict=True)]})
            print(f"fan-out, {count} gateway(s), {subscribers} subscribers: {sum(delivered)} deltas in {elapsed:.2f} s "
                  f"({results[-1]['delivered_per_s']:.0f}/s); CPU per delivered message "
                  + ", ".join(f"g{n + 1} {us:.1f} us" for n, us in enumerate(results[-1]["cpu_us_per_message"]))
                  + "; following the log alone " + ", ".join(f"{us:.0f}" for us in follow) + " us per order", flush=True)
    finally:
        for worker in workers:
            if worker.stdin is not None:
                worker.stdin.close()
            worker.kill()
            worker.wait()

    def median_of(key: str) -> list[float]:
        return [round(statistics.median(r[key][n] for r in results), 1) for n in range(count)]

    return {
        f"fanout_{count}gw_follow_cpu_us_per_order": [round(us) for us in follow],
        f"fanout_{count}gw_delivered_per_s": round(statistics.median(r["delivered_per_s"] for r in results)),
        f"fanout_{count}gw_cpu_us_per_message": median_of("cpu_us_per_message"),
        f"fanout_{count}gw_marginal_cpu_us_per_message": median_of("marginal_cpu_us_per_message"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--producers", type=int, default=64)
    parser.add_argument("--no-failover", action="store_true")
    parser.add_argument("--no-intake", action="store_true")
    parser.add_argument("--no-fanout", action="store_true")
    parser.add_argument("--subscribers", type=int, default=200, help="WebSocket subscribers, split over the gateways")
    parser.add_argument("--orders", type=int, default=150, help="orders per fan-out run (one delta each to every subscriber)")
    parser.add_argument("--fanout-runs", type=int, default=2, help="fan-out runs per configuration")
    args = parser.parse_args()
    report: dict[str, Any] = {"bench": "cluster", "yardstick_us": yardstick(), "load_average_at_start": load_average(),
                              "producers": args.producers, "runs": args.runs}
    if not args.no_intake:
        report.update(intake(args.runs, args.producers, args.seconds))
    if not args.no_failover:
        report.update(failover(args.runs))
    if not args.no_fanout:
        report["fanout_subscribers"], report["fanout_orders"] = args.subscribers, args.orders
        report.update(fanout(args.subscribers, args.orders, args.fanout_runs))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
