"""Cluster benchmark: replicated durable intake against the single machine's, and failover time.

    python bench/cluster.py [--runs 3] [--seconds 6] [--producers 64] [--no-failover]

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

Not measured: WebSocket fan-out through gateway nodes (`predictex gateway` is not built yet).

Ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from cluster_nodes import NodeProcess, Operator
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
        nodes[0].wait_leading()
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--producers", type=int, default=64)
    parser.add_argument("--no-failover", action="store_true")
    parser.add_argument("--no-intake", action="store_true")
    args = parser.parse_args()
    report: dict[str, Any] = {"bench": "cluster", "yardstick_us": yardstick(), "load_average_at_start": load_average(),
                              "producers": args.producers, "runs": args.runs}
    if not args.no_intake:
        report.update(intake(args.runs, args.producers, args.seconds))
    if not args.no_failover:
        report.update(failover(args.runs))
    report["ws_fanout"] = "not measured: gateway nodes are not built"
    print(json.dumps(report))


if __name__ == "__main__":
    main()
