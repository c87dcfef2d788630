"""Journal benchmark: durable commands/s through the sequencer, acknowledgement latency, replay speed
and restart time, on SQLite (a temporary file, WAL, synchronous=FULL) and PostgreSQL (a schema of its
own in the `test` database, synchronous_commit on, dropped afterwards; skipped if unreachable).

The exchange is wired as in production: Journal + ReadModel.open (the sequencer's projector writes
the history rows in each batch's transaction, its listener updates the live state) + Sequencer on the
wall clock, everything on one event loop, the journal written by the sequencer's writer thread, the
garbage collector on the server's schedule (server/collector.py: state frozen after set-up, survivors
of young collections frozen, sweeps between batches when memory has grown).

    python bench/journal.py --soak [SECONDS] [--soak-share 0.5 | --rate R] [--soak-gc schedule|threshold]
                            [--soak-snapshots child|inline] [--snapshot-every N]
    python bench/journal.py --gc-growth COMMANDS

--soak runs the exchange as the server does (its collector schedule, a snapshot every 100,000
commands taken by a child that follows the journal) in an open loop at half the rate its one-at-a-time producers
saturate, for SECONDS (90 when not given, so that the whole run ends within three minutes; `--soak
600` is the issue's ten), and reports latency, memory, the collector, the snapshots (what each held
the sequencer for) and the journal's commit times minute by minute (goals: p99 < 5 ms, p99.9 < 10
ms, flat memory), then what one snapshot costs the sequencer on the state at the end, captured on its
thread and by a fork; `--soak-snapshots fork` takes each by a fork of its own, `inline` captures
them on the sequencer's thread as before, for comparison; --gc-growth compares the collector's pauses under the server's schedule and the one it had
before while resting orders pile up.

Workload (order entry): one series, 4 markets on the cent grid, 1,000 accounts with $1,000,000 each
(even accounts bid, odd ones ask); set-up and 2,000 warm-up orders are not timed. Command mix: 50% new
limit orders (45% passive good-till-canceled: bids 5..49c, asks 51..95c; 2.5% good-till-canceled and
2.5% immediate-or-cancel priced 40..60c through the spread, which trade), 30% cancels and 20% amends
(a new passive price, losing priority) of one of the client's own resting orders; sizes 1..10
contracts. Each client learns its order ids from its acknowledgements, so some cancels and
amends name orders that have meanwhile filled and are refused (the refused share is printed).

Producers, as a busy server has them: 64 clients that each send one command and await its
acknowledgement (`submit`), and 8 bulk clients that send 100 commands at a time (`submit_many`,
as a batch gateway would), each with its own accounts.

Figures (each the median of --runs runs, on a fresh journal per run):
- group commit: commands/s at saturation (every producer busy), with the latency of each command from
  submission to acknowledgement (closed loop: at saturation this is mostly queueing);
- one commit per command: the same with `batch_max=1` (the 64 one-at-a-time clients only: a bulk
  client's 100 commands would be 100 commits in a row), for comparison;
- offered rate: open loop, one-at-a-time commands sent at a fixed rate below saturation (by default
  20% of the measured group-commit throughput, which the bulk clients help reach), latency measured
  from each command's intended send time, so a stall delays the clock it is measured against (no
  coordinated omission);
- replay: records read, decoded and re-applied to a fresh engine with `predictex.journal.replay`
  (which insists on the stored events), over the first --replay-commands commands of the big journal;
- restart: open the store, `Journal.recover` (newest snapshot + the tail) and `ReadModel.open`, on a
  journal of --journal-commands commands; once after a crash (the newest snapshot is 50,000 commands
  old: snapshots every 100,000 at 50,000, 150,000, ...), and once after a clean stop (a snapshot at
  the end).
The big journal is built once per run, on SQLite: the same workload (one client holding every
account) applied straight to an engine, no sequencer, and appended in batches of 1,000 records, with
garbage collection paused; its snapshots are where a sequencer snapshotting every 100,000 commands
would have left them (the newest three, all the store keeps). Its history tables are created but not
filled (a restart reads only `history_seq` and each market's newest candle). PostgreSQL gets a copy
of its batches (the same rows), snapshots and meta. Each sequencer run starts on a journal that was
set up and warmed up by a sequencer with group commit and stopped cleanly (not timed).

Where the time goes: per backend, the cost of each step the sequencer takes for one command (engine,
encoding the record, projector, batch encoding, store append, listener), timed step by step outside
the event loop, next to the measured time per command at saturation; the difference is the event
loop, the futures and the writer thread's hand-off (less what the store does without the GIL).

    python bench/journal.py [--runs R] [--commands N] [--journal-commands M] [--skip-postgres]

The last line of output is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import itertools
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadgen import engine_compiled, yardstick
from predictex.core import commands as c
from predictex.core.codec import encode_command, encode_event
from predictex.core.engine import Engine
from predictex.core.limits import SEQUENCER_BATCH_MAX
from predictex.journal import Journal, Record, replay
from predictex.journal.base import JournalStore, StoredBatch, TableWrite
from predictex.journal.journal import SNAPSHOTS_KEPT, collection_paused
from predictex.journal.records import encode_batch
from predictex.journal.snapshots import ForkedCapture
from predictex.journal.sqlite import SqliteStore
from predictex.readmodel import ReadModel
from predictex.readmodel.history import CANDLE_COLUMNS
from predictex.readmodel.model import create_history_tables
from predictex.server.clock import WallClock
from predictex.server.collector import Collector
from predictex.server.config import Config
from predictex.server.sequencer import SNAPSHOT_MODES, Committed, Entry, Sequencer, SequencerBusy

POSTGRES_URL = os.environ.get("PREDICTEX_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
MARKETS = ("KXBENCH-A", "KXBENCH-B", "KXBENCH-C", "KXBENCH-D")
ACCOUNTS = 1_000
DEPOSIT_MICRODOLLARS = 1_000_000 * 1_000_000
SINGLE_PRODUCERS = 64
BULK_PRODUCERS = 8
BULK_SIZE = 100
WARMUP_ORDERS = 2_000
RESTING_PER_CLIENT_MAX = 100  # a client over this cancels instead of placing more
BUILD_RESTING_MAX = 5_000
BUILD_BATCH = 1_000
COPY_BATCHES = 50
BATCH_COLUMNS = ("first_seq", "last_seq", "record_count", "data", "chain_hash")
SNAPSHOT_EVERY = 100_000
SNAPSHOT_OFFSET = 50_000  # snapshots at 50,000, 150,000, ...: a crash leaves a tail of 50,000 commands
PACER_TICK_S = 0.001
OFFERED_SHARE = 0.2  # of the measured group-commit throughput, by default
STAGE_COMMANDS = 10_000
GOALS = {"group_commit_vs_sqlite_peer_min": 0.2, "group_commit_commands_per_s_sqlite_min": 100_000, "replay_events_per_s_min": 500_000, "restart_s_max": 5.0}
WORKLOAD = (
    "order entry on 4 markets, 1,000 accounts: 45% passive GTC limit, 2.5% GTC and 2.5% IOC through the spread, "
    "30% cancel, 20% amend to a new price; 1..10 contracts; 64 one-at-a-time clients + 8 bulk clients "
    "(submit_many of 100); 2,000 warm-up orders; read model attached (projector + listener)"
)


# --- stores -------------------------------------------------------------------------------------------


class Stores:
    """Where a backend's journals live: `new(label)` opens a fresh, empty one, `reopen(label)` opens it
    again (as a restarted process would); `close()` removes everything."""

    name = ""

    def new(self, label: str) -> JournalStore:
        raise NotImplementedError

    def reopen(self, label: str) -> JournalStore:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class SqliteStores(Stores):
    name = "sqlite"

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="predictex-bench-")

    def path(self, label: str) -> Path:
        return Path(self._directory.name) / f"{label}.db"

    def new(self, label: str) -> JournalStore:
        return SqliteStore(self.path(label))

    reopen = new

    def close(self) -> None:
        self._directory.cleanup()


class PostgresStores(Stores):
    name = "postgres"

    def __init__(self, url: str) -> None:
        self.url = url
        self._prefix = f"bench_{uuid.uuid4().hex[:8]}"
        self._schemas: set[str] = set()

    def _schema(self, label: str) -> str:
        return f"{self._prefix}_{label}"

    def new(self, label: str) -> JournalStore:
        self._schemas.add(self._schema(label))  # labels are never reused, and the prefix is new each run
        return self.reopen(label)

    def reopen(self, label: str) -> JournalStore:
        from predictex.journal.postgres import PostgresStore

        return PostgresStore(self.url, schema=self._schema(label))

    def close(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            for schema in sorted(self._schemas):
                connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def postgres_unreachable(url: str) -> str:
    """Why PostgreSQL cannot be used, or "" if it can."""
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except Exception as error:
        return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
    return ""


# --- the workload -------------------------------------------------------------------------------------


class Client:
    """One member's order entry (see the module docstring for the mix). Each command is drawn from one
    64-bit random number, cut into its choices by divmod: the producers run in the measured process,
    and a Random call per choice made them a third slower (0.9 -> 0.65 us a command)."""

    def __init__(self, rng: random.Random, accounts: list[int], resting_max: int = RESTING_PER_CLIENT_MAX) -> None:
        self.rng = rng
        self.accounts = accounts
        self.resting: list[tuple[int, int]] = []  # (account, order id) believed to rest
        self.resting_max = resting_max
        self.refused = 0
        self.acknowledged = 0

    @staticmethod
    def _passive_price(is_bid: bool, draw: int) -> int:
        """Bids 5..49c, asks 51..95c, from `draw` (at least 45 values)."""
        return (5 + draw % 45 if is_bid else 51 + draw % 45) * 100

    def order(self, passive: bool = False, draw: int | None = None) -> c.CreateOrder:
        if draw is None:
            draw = self.rng.getrandbits(64)
        draw, index = divmod(draw, len(self.accounts))
        account_id = self.accounts[index]
        is_bid = account_id % 2 == 0
        draw, roll = divmod(draw, 20)  # one in ten through the spread, half of those immediate-or-cancel
        draw, market = divmod(draw, len(MARKETS))
        draw, size = divmod(draw, 10)
        if roll < 2 and not passive:
            price, immediate = (51 + draw % 10 if is_bid else 40 + draw % 10) * 100, roll == 0
        else:
            price, immediate = self._passive_price(is_bid, draw), False
        return c.CreateOrder(account_id, MARKETS[market], is_bid, price, (size + 1) * 100,
                             time_in_force="immediate_or_cancel" if immediate else "good_till_canceled")

    def command(self) -> c.Command:
        resting = self.resting
        draw, roll = divmod(self.rng.getrandbits(64), 10)  # 0-4 new order, 5-7 cancel, 8-9 amend
        if len(resting) > self.resting_max:
            roll = 6
        if roll < 5 or not resting:
            return self.order(draw=draw)
        draw, index = divmod(draw, len(resting))
        account_id, order_id = resting[index]
        if roll < 8:
            resting[index] = resting[-1]
            resting.pop()
            return c.CancelOrder(account_id, order_id)
        return c.AmendOrder(account_id, order_id, price_centicents=self._passive_price(account_id % 2 == 0, draw))

    def learn(self, command: c.Command, committed: Committed) -> None:
        self.acknowledged += 1
        outcome = committed.outcome
        if not outcome.ok:
            self.refused += 1
        elif isinstance(command, c.CreateOrder) and command.time_in_force == "good_till_canceled":
            self.resting.append((command.account_id, outcome.value))


def set_up_commands(now_ms: int) -> list[c.Command]:
    commands: list[c.Command] = [c.CreateSeries("KXBENCH", "Bench"), c.CreateEvent("KXBENCH-E", "KXBENCH", "Bench")]
    commands += [c.CreateMarket(t, "KXBENCH-E", t, now_ms - 1_000, now_ms + 30 * 86_400_000) for t in MARKETS]
    commands += [c.OpenAccount() for _ in range(ACCOUNTS)]
    commands += [c.Deposit(a, DEPOSIT_MICRODOLLARS) for a in range(1, ACCOUNTS + 1)]
    return commands


def make_clients(seed: int, count: int) -> list[Client]:
    return [Client(random.Random(f"{seed}:{i}"), list(range(i + 1, ACCOUNTS + 1, count))) for i in range(count)]


# --- one exchange on a fresh journal ------------------------------------------------------------------


def _start_sequencer(store: JournalStore, batch_max: int, collector: Collector | None = None, snapshot_every: int = 0,
                     snapshot_mode: str = "follower") -> Sequencer:
    """Recover and start a sequencer as the server does, with the read model attached (and the
    collector's schedule, when given one)."""
    journal = Journal(store)
    recovery = journal.recover()
    readmodel = ReadModel.open(store, journal, recovery)
    sequencer = Sequencer(
        recovery.engine, journal, WallClock(), last_seq=recovery.last_seq, last_time_ms=recovery.last_time_ms,
        projector=readmodel, listeners=[readmodel], batch_max=batch_max, snapshot_every=snapshot_every,
        between_batches=collector.between_batches if collector is not None else None, snapshot_mode=snapshot_mode,
    )
    sequencer.start()
    return sequencer


class ThresholdOnly(Collector):
    """The schedule the server had before server/collector.py, for comparison (--soak-gc threshold): the
    start-up state frozen and young collections every 10,000 allocations, CPython's middle and old
    generations as they are (no freezing after collections, no sweeps)."""

    def install(self) -> None:
        if self.installed:
            return
        self._threshold_before = gc.get_threshold()
        gc.collect()
        gc.freeze()
        gc.set_threshold(10_000, *self._threshold_before[1:])
        self.installed = True

    def uninstall(self) -> None:
        if not self.installed:
            return
        if self._threshold_before is not None:
            gc.set_threshold(*self._threshold_before)
        gc.unfreeze()
        self.installed = False

    def between_batches(self, idle: bool) -> None:
        pass


COLLECTORS: dict[str, type[Collector]] = {"schedule": Collector, "threshold": ThresholdOnly}


@dataclass
class Exchange:
    store: JournalStore
    sequencer: Sequencer
    clients: list[Client]
    collector: Collector

    @classmethod
    async def start(cls, stores: Stores, label: str, batch_max: int, seed: int, snapshot_every: int = 0,
                    collector_kind: str = "schedule", snapshot_mode: str = "follower") -> Exchange:
        """A fresh journal, set up and warmed up with group commit and stopped cleanly (not timed), then
        the sequencer to measure, started from that snapshot, with the garbage collector on the
        server's schedule (server/collector.py: the heap frozen, survivors of young collections frozen,
        sweeps between batches)."""
        store = stores.new(label)
        clients = make_clients(seed, SINGLE_PRODUCERS + BULK_PRODUCERS)
        setting_up = _start_sequencer(store, SEQUENCER_BATCH_MAX)
        await setting_up.submit_many(set_up_commands(setting_up.clock.now_ms()))
        warmup = [(client, client.order(passive=True)) for _ in range(WARMUP_ORDERS // len(clients)) for client in clients]
        for (client, command), committed in zip(warmup, await setting_up.submit_many([command for _, command in warmup])):
            client.learn(command, committed)
        await setting_up.stop()
        del setting_up, warmup  # garbage before the collector freezes what is alive
        collector = COLLECTORS[collector_kind]()
        sequencer = _start_sequencer(store, batch_max, collector, snapshot_every, snapshot_mode)
        collector.install()
        return cls(store, sequencer, clients, collector)

    async def stop(self) -> None:
        await self.sequencer.stop(snapshot=False)
        self.store.close()
        self.collector.uninstall()

    def refused_share(self) -> float:
        acknowledged = sum(client.acknowledged for client in self.clients)
        return sum(client.refused for client in self.clients) / max(1, acknowledged)


@dataclass
class RunResult:
    commands: int
    seconds: float
    latencies_s: list[float]
    batches: int
    refused_share: float

    @property
    def commands_per_s(self) -> float:
        return self.commands / self.seconds


async def saturate(stores: Stores, label: str, commands: int, batch_max: int, seed: int, bulk: bool = True,
                   appended: list[tuple[StoredBatch, list[TableWrite]]] | None = None) -> RunResult:
    """Every producer busy until `commands` have been sent (without the bulk clients unless `bulk`);
    latency from submission to acknowledgement. `appended`, when given, receives what the measured run
    wrote to the store, batch by batch (for the SQLite peer)."""
    exchange = await Exchange.start(stores, label, batch_max, seed)
    sequencer = exchange.sequencer
    if appended is not None:
        append = exchange.store.append

        def recording(batch: StoredBatch, writes: list[TableWrite]) -> None:
            append(batch, writes)
            appended.append((batch, writes))

        exchange.store.append = recording  # type: ignore[method-assign]
    latencies: list[float] = []
    issued = 0

    async def single(client: Client) -> None:
        nonlocal issued
        while issued < commands:
            issued += 1
            command = client.command()
            sent = time.perf_counter()
            committed = await sequencer.submit(command)
            latencies.append(time.perf_counter() - sent)
            client.learn(command, committed)

    async def many(client: Client) -> None:
        nonlocal issued
        while issued < commands:
            batch = [client.command() for _ in range(min(BULK_SIZE, commands - issued))]
            issued += len(batch)
            sent = time.perf_counter()
            results = await sequencer.submit_many(batch)
            latencies.extend([time.perf_counter() - sent] * len(batch))
            for command, committed in zip(batch, results):
                client.learn(command, committed)

    batches_before = sequencer.batches_committed
    started = time.perf_counter()
    await asyncio.gather(*(single(client) for client in exchange.clients[:SINGLE_PRODUCERS]),
                         *(many(client) for client in exchange.clients[SINGLE_PRODUCERS:] if bulk))
    seconds = time.perf_counter() - started
    result = RunResult(len(latencies), seconds, latencies, sequencer.batches_committed - batches_before, exchange.refused_share())
    await exchange.stop()
    return result


async def offer(stores: Stores, label: str, rate_per_s: float, seconds: float, seed: int) -> RunResult:
    """Open loop: command i is due at start + i / rate; its latency runs from then to its acknowledgement."""
    exchange = await Exchange.start(stores, label, SEQUENCER_BATCH_MAX, seed)
    sequencer, clients = exchange.sequencer, exchange.clients
    latencies: list[float] = []
    futures: list[asyncio.Future[Committed]] = []
    total = int(rate_per_s * seconds)

    def acknowledged(client: Client, command: c.Command, due_s: float, future: asyncio.Future[Committed]) -> None:
        latencies.append(time.perf_counter() - due_s)
        client.learn(command, future.result())

    batches_before = sequencer.batches_committed
    started = time.perf_counter()
    sent = 0
    while sent < total:
        due_now = min(total, int((time.perf_counter() - started) * rate_per_s) + 1)
        for index in range(sent, due_now):
            client = clients[index % len(clients)]
            command = client.command()
            future = sequencer.submit(command)
            future.add_done_callback(functools.partial(acknowledged, client, command, started + index / rate_per_s))
            futures.append(future)
        sent = due_now
        await asyncio.sleep(PACER_TICK_S)
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - started
    result = RunResult(total, elapsed, latencies, sequencer.batches_committed - batches_before, exchange.refused_share())
    await exchange.stop()
    return result


# --- the peer: a plain SQLite group-commit loop ----------------------------------------------------------


def sqlite_peer(source: Path, appended: list[tuple[StoredBatch, list[TableWrite]]], directory: Path) -> float:
    """Seconds for a plain loop over sqlite3 to write what a group-commit run wrote: the same batches
    (the same bytes) and history rows, one transaction per batch, into a new file with the same schema
    and settings (16 KiB pages, WAL, synchronous=FULL). No engine, no sequencer, no event loop: how close
    the journal comes to what the storage allows."""
    with contextlib.closing(sqlite3.connect(source)) as original:
        schema = [sql for (sql,) in original.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'")]
    target = directory / f"peer-{uuid.uuid4().hex[:8]}.db"
    db = sqlite3.connect(target, isolation_level=None)
    try:
        for pragma in ("page_size=16384", "journal_mode=WAL", "synchronous=FULL"):
            db.execute(f"PRAGMA {pragma}")
        for statement in schema:
            db.execute(statement)
        insert_batch = "INSERT INTO journal_batches (first_seq, last_seq, record_count, data, chain_hash) VALUES (?, ?, ?, ?, ?)"
        started = time.perf_counter()
        for batch, writes in appended:
            db.execute("BEGIN IMMEDIATE")
            db.execute(insert_batch, (batch.first_seq, batch.last_seq, batch.record_count, batch.data, batch.chain_hash))
            for write in writes:
                if write.rows:
                    db.executemany(write.sql("?"), write.rows)
            db.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        db.close()


# --- the soak -----------------------------------------------------------------------------------------

SOAK_BUCKET_US = 10
SOAK_BUCKETS = 20_000  # 10 us buckets up to 200 ms; slower acknowledgements share the last (the exact max is kept)
SOAK_GOALS_MS = {"p99": 5.0, "p999": 10.0}
SOAK_MINUTE_S = 60.0
LAG_TICK_S = 0.001  # the loop-lag probe's sleep
SOAK_SHORT_S = 90.0  # --soak with no length: the saturated run, then this, ends within three minutes


class Histogram:
    """Latencies in 10 us buckets: a soak acknowledges tens of millions of commands, too many to keep."""

    def __init__(self) -> None:
        self.counts = [0] * (SOAK_BUCKETS + 1)
        self.count = 0
        self.max_s = 0.0

    def add(self, seconds: float) -> None:
        self.counts[min(SOAK_BUCKETS, int(seconds * 1e6) // SOAK_BUCKET_US)] += 1
        self.count += 1
        if seconds > self.max_s:
            self.max_s = seconds

    def merge(self, other: Histogram) -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts)]
        self.count += other.count
        self.max_s = max(self.max_s, other.max_s)

    def at_ms(self, q: float) -> float:
        """The upper edge of the bucket holding the q-quantile (an over-estimate by at most 10 us)."""
        rank, seen = q * self.count, 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= rank and count:
                return round(min((index + 1) * SOAK_BUCKET_US / 1000, self.max_s * 1000), 3)
        return 0.0

    def summary(self) -> dict[str, float]:
        return {"count": self.count, "p50": self.at_ms(0.5), "p99": self.at_ms(0.99), "p999": self.at_ms(0.999),
                "max": round(self.max_s * 1000, 3)}


class Pauses:
    """The collector's pauses by generation (from gc.callbacks), each the time from its start to its stop."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.total_s = [0.0, 0.0, 0.0]
        self.max_s = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation, seconds = info["generation"], time.perf_counter() - self._started
        self.count[generation] += 1
        self.total_s[generation] += seconds
        self.max_s[generation] = max(self.max_s[generation], seconds)

    def summary(self) -> dict[str, Any]:
        return {f"gen{g}": {"count": self.count[g], "total_ms": round(self.total_s[g] * 1000, 1), "max_ms": round(self.max_s[g] * 1000, 2)}
                for g in range(3)}


class LoopLag:
    """How late the event loop wakes a task that sleeps LAG_TICK_S: whatever holds the loop's thread (a
    collection, a snapshot's capture, the read model's work, a wait for the GIL or for a core) shows here
    as lateness, separately from the acknowledgements' latency; with the process's CPU time and its
    involuntary context switches (the kernel taking the core away) it says what the tail is made of."""

    def __init__(self) -> None:
        self.minute = Histogram()
        self._cpu_s = sum(os.times()[:2])
        self._switches = _involuntary_switches()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + LAG_TICK_S
            await asyncio.sleep(LAG_TICK_S)
            self.minute.add(max(0.0, loop.time() - due))

    def close_minute(self, seconds: float) -> dict[str, Any]:
        cpu_s, switches = sum(os.times()[:2]), _involuntary_switches()
        figures = {"loop_lag_ms": self.minute.summary(), "cpu_share": round((cpu_s - self._cpu_s) / max(seconds, 1e-9), 2),
                   "involuntary_switches": switches - self._switches}
        self.minute, self._cpu_s, self._switches = Histogram(), cpu_s, switches
        return figures


def _involuntary_switches() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("nonvoluntary_ctxt_switches:"):
                return int(line.split()[1])
    return 0


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def soak_run(stores: Stores, rate_per_s: float, seconds: float, seed: int, collector_kind: str, snapshot_every: int,
                   snapshot_mode: str) -> dict[str, Any]:
    """Open loop at `rate_per_s` for `seconds` (as `offer`, but summarised minute by minute into
    histograms, with the resident set size, the collector's counts, the snapshots and the journal's
    commit times at the end of each minute), with a snapshot every `snapshot_every` commands."""
    exchange = await Exchange.start(stores, f"soak-{collector_kind}", SEQUENCER_BATCH_MAX, seed, snapshot_every=snapshot_every,
                                    collector_kind=collector_kind, snapshot_mode=snapshot_mode)
    sequencer, clients, collector = exchange.sequencer, exchange.clients, exchange.collector
    total, minute = Histogram(), Histogram()
    commits, commits_minute = Histogram(), Histogram()  # the store's append of one batch: statements, commit, fsync
    append = exchange.store.append

    def timed_append(batch: StoredBatch, writes: list[TableWrite]) -> None:
        begun = time.perf_counter()
        append(batch, writes)
        commits_minute.add(time.perf_counter() - begun)

    exchange.store.append = timed_append  # type: ignore[method-assign]
    minutes: list[dict[str, Any]] = []
    outstanding = 0
    all_acknowledged = asyncio.get_running_loop().create_future()
    sending = True

    def acknowledged(client: Client, command: c.Command, due_s: float, future: asyncio.Future[Committed]) -> None:
        nonlocal outstanding
        minute.add(time.perf_counter() - due_s)
        client.learn(command, future.result())
        outstanding -= 1
        if not sending and outstanding == 0 and not all_acknowledged.done():
            all_acknowledged.set_result(None)

    def close_minute(elapsed_s: float) -> None:
        nonlocal minute, commits_minute
        figures = {"minute": len(minutes) + 1, "elapsed_s": round(elapsed_s, 1), **minute.summary(), "rss_mib": rss_mib(),
                   **collector.stats(), "committed_seq": sequencer.committed_seq, **snapshot_stats(sequencer),
                   "commit_ms": commits_minute.summary(),
                   **lag.close_minute(elapsed_s - (minutes[-1]["elapsed_s"] if minutes else 0.0))}
        minutes.append(figures)
        total.merge(minute)
        commits.merge(commits_minute)
        minute, commits_minute = Histogram(), Histogram()
        commit = figures["commit_ms"]
        loop_lag = figures["loop_lag_ms"]
        print(f"   minute {figures['minute']:>3}: {figures['count']:>9,} acks  p50 {figures['p50']:.2f}  p99 {figures['p99']:.2f}  "
              f"p99.9 {figures['p999']:.2f}  max {figures['max']:.2f} ms  rss {figures['rss_mib']:.0f} MiB  "
              f"blocks {figures['allocated_blocks']:,}  collections {figures['collections']:,}  sweeps {figures['sweeps']} "
              f"(max {figures['sweep_ms_max']} ms)\n"
              f"               loop lag p99 {loop_lag['p99']:.2f}  p99.9 {loop_lag['p999']:.2f}  max {loop_lag['max']:.2f} ms  "
              f"CPU {figures['cpu_share']:.0%} of a core  involuntary switches {figures['involuntary_switches']:,}\n"
              f"               commits p99 {commit['p99']:.2f}  max {commit['max']:.2f} ms  snapshots {figures['snapshots_taken']} "
              f"(failed {figures['snapshots_failed']}; the sequencer held for at most {figures['snapshot_pause_ms_max']} ms, "
              f"the child's longest {figures['snapshot_child_ms_max']} ms)", flush=True)

    rss_start = rss_mib()
    lag = LoopLag()
    probe = asyncio.ensure_future(lag.run())
    busy = 0
    pauses = Pauses()
    gc.callbacks.insert(0, pauses)  # first, so that the freeze after a collection is not counted in its pause
    started = time.perf_counter()
    next_minute = SOAK_MINUTE_S
    sent = 0
    total_commands = int(rate_per_s * seconds)
    while sent < total_commands:
        elapsed = time.perf_counter() - started
        if elapsed >= next_minute:
            close_minute(elapsed)
            next_minute += SOAK_MINUTE_S
        due_now = min(total_commands, int(elapsed * rate_per_s) + 1)
        for index in range(sent, due_now):
            client = clients[index % len(clients)]
            command = client.command()
            try:
                future = sequencer.submit(command)
            except SequencerBusy:  # the exchange has fallen behind by a full queue: the soak has failed
                busy += 1
                continue
            outstanding += 1
            future.add_done_callback(functools.partial(acknowledged, client, command, started + index / rate_per_s))
        sent = due_now
        await asyncio.sleep(PACER_TICK_S)
    sending = False
    if outstanding:
        await all_acknowledged
    elapsed = time.perf_counter() - started
    close_minute(elapsed)
    probe.cancel()
    gc.callbacks.remove(pauses)
    capture_ms, fork_ms, child_ms = [], [], []
    for _ in range(3):  # what a snapshot holds the sequencer for, both ways, on the state the soak left
        begun = time.perf_counter()
        Journal.capture(exchange.sequencer.engine)
        capture_ms.append(round((time.perf_counter() - begun) * 1000, 1))
        forked = ForkedCapture(exchange.sequencer.engine, exchange.sequencer.last_seq)
        forked.collect()
        fork_ms.append(round(forked.fork_seconds * 1000, 2))
        child_ms.append(round(forked.child_seconds * 1000, 1))
    print(f"   a snapshot on the state at the end ({len(exchange.sequencer.engine.trading.orders):,} resting orders, rss {rss_mib():.0f} MiB): "
          f"captured on the sequencer's thread {statistics.median(capture_ms)} ms (runs {capture_ms}); in a child, the fork "
          f"{statistics.median(fork_ms)} ms (runs {fork_ms}), the child's whole work {statistics.median(child_ms)} ms")
    print(f"   journal commits: {commits.summary()}")
    print(f"   collector pauses: {pauses.summary()}")
    result = {"gc_pauses": pauses.summary(), "rate_per_s": rate_per_s, "seconds": round(elapsed, 1), "commands": total_commands,
              "commands_per_s": round(total_commands / elapsed), "latency_ms": total.summary(), "rss_mib_start": rss_start,
              "minutes": minutes, "collector": collector.stats(), "refused_share": round(exchange.refused_share(), 3),
              "snapshot_every": snapshot_every, "snapshot_mode": sequencer.snapshot_mode, **snapshot_stats(sequencer),
              "snapshot_capture_ms": statistics.median(capture_ms), "snapshot_fork_ms": statistics.median(fork_ms),
              "snapshot_child_ms": statistics.median(child_ms), "commit_ms": commits.summary(),
              "collector_kind": collector_kind, "refused_busy": busy}
    # What freezing kept from the collector: the cyclic garbage among the frozen objects, found by one more sweep.
    result["cyclic_garbage_at_end"] = collector.sweep() if collector_kind == "schedule" else None
    await exchange.stop()
    return result


def snapshot_stats(sequencer: Sequencer) -> dict[str, Any]:
    return {"snapshots_taken": sequencer.snapshots_taken, "snapshots_failed": sequencer.snapshots_failed,
            "snapshot_pause_ms_max": round(sequencer.snapshot_pause_s_max * 1000, 2),
            "snapshot_child_ms_max": round(sequencer.snapshot_child_s_max * 1000, 1)}


def soak(args: argparse.Namespace, report: dict[str, Any], started: float) -> int:
    """The --soak run: the saturated rate measured first (one group-commit run of one-at-a-time clients, the
    soak's kind of producer), then the soak at a share of it."""
    stores = SqliteStores()
    if args.switch_interval_ms:
        sys.setswitchinterval(args.switch_interval_ms / 1000)
    report["switch_interval_ms"] = round(sys.getswitchinterval() * 1000, 3)
    try:
        rate = args.rate
        if not rate:
            # Saturated with the soak's own producers (the 64 one-at-a-time clients, no bulk ones): half of
            # that is half of what this workload can do on this machine.
            saturated = asyncio.run(saturate(stores, "saturate", args.commands, SEQUENCER_BATCH_MAX, args.seed, bulk=False))
            rate = max(100, int(saturated.commands_per_s * args.soak_share) // 100 * 100)
            report["saturated_commands_per_s"] = round(saturated.commands_per_s)
            print(f"\n== saturated: {saturated.commands_per_s:,.0f} commands/s; soak at {args.soak_share:.0%} of it: {rate:,}/s")
        snapshot_every = args.snapshot_every or Config().snapshot_every
        print(f"\n== soak: {rate:,} commands/s offered for {args.soak:.0f} s on SQLite (open loop, snapshots every "
              f"{snapshot_every:,} commands, taken by: {args.soak_snapshots}, "
              f"collector: {args.soak_gc})")
        figures = asyncio.run(soak_run(stores, rate, args.soak, args.seed, args.soak_gc, snapshot_every, args.soak_snapshots))
    finally:
        stores.close()
    latency = figures["latency_ms"]
    rss = [m["rss_mib"] for m in figures["minutes"]]
    figures["rss_mib_growth_after_first_minute"] = round(rss[-1] - rss[0], 1) if rss else 0.0
    report["soak"] = figures
    report["goals"] = {"soak_p99_under_5ms": latency["p99"] < SOAK_GOALS_MS["p99"], "soak_p999_under_10ms": latency["p999"] < SOAK_GOALS_MS["p999"],
                       "soak_sustained": figures["commands_per_s"] >= 0.95 * rate and not figures["refused_busy"]}
    print(f"\n   whole soak: {figures['commands']:,} commands at {figures['commands_per_s']:,}/s  p50 {latency['p50']:.2f}  "
          f"p99 {latency['p99']:.2f}  p99.9 {latency['p999']:.2f}  max {latency['max']:.2f} ms; rss {rss[0] if rss else 0:.0f} -> "
          f"{rss[-1] if rss else 0:.0f} MiB after the first minute; collector {figures['collector']}; cyclic garbage found "
          f"by a sweep at the end: {figures['cyclic_garbage_at_end']} objects")
    print("== goals: " + ", ".join(f"{name} {'PASS' if ok else 'FAIL'}" for name, ok in report["goals"].items()))
    report["wall_s"] = round(time.perf_counter() - started, 1)
    print(f"wall time {report['wall_s']} s")
    print(json.dumps(report, separators=(",", ":")))
    return 0


def growth_pauses(kind: str, commands: int, seed: int) -> dict[str, Any]:
    """The collector's pauses while the state grows, under one schedule: the sequencer's steps in batches
    of BUILD_BATCH (as `stage_costs` times them, outside the event loop) for 8 clients that never cancel
    for lack of room, so resting orders and their views pile up as on a busy day."""
    stores = SqliteStores()
    try:
        store = stores.new("growth")
        journal = Journal(store)
        recovery = journal.recover()
        readmodel = ReadModel.open(store, journal, recovery)
        engine = recovery.engine
        clients = [Client(random.Random(f"{seed}:{i}"), list(range(i + 1, ACCOUNTS + 1, 8)), resting_max=10**9) for i in range(8)]
        now_ms = WallClock().now_ms()
        seq = len(_stage_batch(store, readmodel, engine, set_up_commands(now_ms), 1, now_ms)[0])
        collector = COLLECTORS[kind]()
        collector.install()
        pauses = Pauses()
        gc.callbacks.insert(0, pauses)
        worst_batch = 0.0
        started = time.perf_counter()
        try:
            while seq < commands:
                batch_started = time.perf_counter()
                batch = [clients[i % 8].command() for i in range(BUILD_BATCH)]
                entries, _ = _stage_batch(store, readmodel, engine, batch, seq + 1, now_ms)
                for entry in entries:
                    clients[entry.seq % 8].learn(entry.command, Committed(entry.seq, now_ms, entry.outcome))
                seq += len(entries)
                collector.between_batches(True)
                worst_batch = max(worst_batch, time.perf_counter() - batch_started)
        finally:
            gc.callbacks.remove(pauses)
            collector.uninstall()
        store.close()
        return {"collector": kind, "commands": seq, "resting_orders": len(engine.trading.orders),
                "seconds": round(time.perf_counter() - started, 1), "worst_batch_ms": round(worst_batch * 1000, 1),
                "pauses": pauses.summary(), "sweeps": collector.sweeps}
    finally:
        stores.close()


def growth(args: argparse.Namespace, report: dict[str, Any], started: float) -> int:
    """--gc-growth: both schedules, interleaved, twice each."""
    print(f"\n== the collector's pauses while the state grows: {args.gc_growth:,} commands, resting orders piling up")
    runs = []
    for kind in ("threshold", "schedule", "threshold", "schedule"):
        result = growth_pauses(kind, args.gc_growth, args.seed)
        runs.append(result)
        pauses = result["pauses"]
        print(f"   {kind:9s} {result['seconds']:>6.1f} s, {result['resting_orders']:,} resting; pauses (count, total ms, max ms): "
              + ", ".join(f"{g} {p['count']}, {p['total_ms']:.0f}, {p['max_ms']:.1f}" for g, p in pauses.items())
              + f"; worst batch {result['worst_batch_ms']:.0f} ms", flush=True)
    report["gc_growth"] = runs
    report["wall_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, separators=(",", ":")))
    return 0


# --- the big journal: built once, read by replay and restart -------------------------------------------


@dataclass
class Built:
    commands: int = 0
    events: int = 0
    seconds: float = 0.0
    snapshots: list[int] = field(default_factory=list)
    final_snapshot: tuple[int, dict[str, Any]] = (0, {})  # what a clean stop at the end would save


def _stream(client: Client, now_ms: int) -> Iterator[c.Command]:
    yield from set_up_commands(now_ms)
    while True:
        yield client.command()


def _snapshot_points(commands: int) -> set[int]:
    """SNAPSHOT_OFFSET + k * SNAPSHOT_EVERY, the newest SNAPSHOTS_KEPT of them only (the store would
    delete the older ones anyway)."""
    return set(range(SNAPSHOT_OFFSET, commands + 1, SNAPSHOT_EVERY)[-SNAPSHOTS_KEPT:])


def build_journal(store: JournalStore, commands: int, seed: int) -> Built:
    """`commands` records of the workload (one client holding every account), applied straight to an
    engine and appended in batches of BUILD_BATCH records, with snapshots where a sequencer taking one
    every SNAPSHOT_EVERY commands would have left them. The history tables are created but not filled
    (a restart reads only `history_seq` and the newest candles), so `history_seq` is set to the end."""
    built = Built(commands=commands)
    journal = Journal(store)
    create_history_tables(store)
    engine = Engine()
    client = Client(random.Random(seed), list(range(1, ACCOUNTS + 1)), BUILD_RESTING_MAX)
    start_ms = WallClock().now_ms()
    snapshot_points = _snapshot_points(commands)
    pending: list[Record] = []
    started = time.perf_counter()
    gc.disable()
    try:
        for seq, command in enumerate(_stream(client, start_ms), start=1):
            time_ms = start_ms + seq  # one command per millisecond
            outcome = engine.apply(command, time_ms)
            pending.append(Record.of(seq, time_ms, encode_command(command), [encode_event(e) for e in outcome.events]))
            built.events += len(outcome.events)
            client.learn(command, Committed(seq, time_ms, outcome))
            if len(pending) == BUILD_BATCH or seq == commands or seq in snapshot_points:
                journal.append(pending, [])
                pending = []
            if seq in snapshot_points:
                journal.save_snapshot(seq, Journal.capture(engine))
                built.snapshots.append(seq)
            if seq == commands:
                break
        built.final_snapshot = (commands, Journal.capture(engine))
    finally:
        gc.enable()
    store.set_meta("history_seq", str(commands))
    built.seconds = time.perf_counter() - started
    return built


def copy_journal(source: JournalStore, target: JournalStore) -> float:
    """What replay and restart read: the batches (the same rows, COPY_BATCHES of them per transaction),
    the snapshots, the meta and the candles."""
    started = time.perf_counter()
    Journal(target)
    create_history_tables(target)
    rows: list[tuple[Any, ...]] = []
    for batch in source.batches():
        rows.append((batch.first_seq, batch.last_seq, batch.record_count, batch.data, batch.chain_hash))
        if len(rows) == COPY_BATCHES:
            target.write([TableWrite("journal_batches", BATCH_COLUMNS, rows)])
            rows = []
    target.write([TableWrite("journal_batches", BATCH_COLUMNS, rows)])
    for snapshot in reversed(source.snapshots()):
        target.save_snapshot(snapshot, SNAPSHOTS_KEPT)
    candles = source.query(f"SELECT {', '.join(CANDLE_COLUMNS)} FROM candles")
    target.write([TableWrite("candles", CANDLE_COLUMNS, candles, key=("ticker", "minute_ms"))])
    target.set_meta("history_seq", source.get_meta("history_seq") or "0")
    return time.perf_counter() - started


def replay_rate(store: JournalStore, commands: int) -> tuple[int, int, float]:
    """(commands, events, seconds) replaying the first `commands` records into a fresh engine."""
    engine = Engine()
    events = replayed = 0
    records = Journal(store).records()
    started = time.perf_counter()
    try:
        with collection_paused():  # as recovery and `journal verify` replay
            for record in records:
                replay(engine, record)
                events += record.event_count
                replayed += 1
                if replayed == commands:
                    break
    finally:
        if isinstance(records, Generator):
            records.close()  # ends the store's read cursor
    return replayed, events, time.perf_counter() - started


def restart(reopen: Callable[[], JournalStore]) -> tuple[float, int, int]:
    """(seconds, snapshot seq, commands replayed) to open, recover and open the read model."""
    started = time.perf_counter()
    store = reopen()
    journal = Journal(store)
    recovery = journal.recover()
    ReadModel.open(store, journal, recovery)
    seconds = time.perf_counter() - started
    store.close()
    return seconds, recovery.snapshot_seq, recovery.replayed


# --- where the time goes ------------------------------------------------------------------------------


STAGES = ("workload", "engine", "encoding", "projector", "batch_encoding", "store_append", "listener")


def _stage_batch(store: JournalStore, readmodel: ReadModel, engine: Engine, commands: list[c.Command], first_seq: int,
                 now_ms: int) -> tuple[list[Entry], list[float]]:
    """One batch through the sequencer's steps, one step at a time; the times between the steps."""
    marks = [time.perf_counter()]
    outcomes = [engine.apply(command, now_ms) for command in commands]
    marks.append(time.perf_counter())
    entries = [
        Entry(seq, now_ms, command, outcome, Record.of(seq, now_ms, encode_command(command), [encode_event(e) for e in outcome.events]))
        for seq, command, outcome in zip(range(first_seq, first_seq + len(commands)), commands, outcomes)
    ]
    marks.append(time.perf_counter())
    writes = readmodel.writes(entries)
    marks.append(time.perf_counter())
    data = encode_batch([entry.record for entry in entries])
    marks.append(time.perf_counter())
    store.append(StoredBatch(entries[0].seq, entries[-1].seq, len(entries), data), writes)
    marks.append(time.perf_counter())
    readmodel.committed(entries)
    marks.append(time.perf_counter())
    return entries, [end - begin for begin, end in itertools.pairwise(marks)]


def stage_costs(stores: Stores, seed: int) -> dict[str, float]:
    """Microseconds per command of each step the sequencer takes (and of the bench's own workload
    generation), timed step by step on batches of BUILD_BATCH outside the event loop, from a fresh journal."""
    store = stores.new("stages")
    journal = Journal(store)
    recovery = journal.recover()
    readmodel = ReadModel.open(store, journal, recovery)
    engine, client = recovery.engine, make_clients(seed, 1)[0]
    now_ms = WallClock().now_ms()
    set_up = set_up_commands(now_ms)
    seq = len(_stage_batch(store, readmodel, engine, set_up, 1, now_ms)[0])
    spent = dict.fromkeys(STAGES, 0.0)
    while seq < len(set_up) + STAGE_COMMANDS:
        generating = time.perf_counter()
        commands = [client.command() for _ in range(BUILD_BATCH)]
        spent["workload"] += time.perf_counter() - generating
        entries, seconds = _stage_batch(store, readmodel, engine, commands, seq + 1, now_ms)
        for name, step_seconds in zip(STAGES[1:], seconds):
            spent[name] += step_seconds
        for entry in entries:
            client.learn(entry.command, Committed(entry.seq, now_ms, entry.outcome))
        seq += len(entries)
    store.close()
    return {name: round(seconds / STAGE_COMMANDS * 1e6, 2) for name, seconds in spent.items()}


# --- reporting ----------------------------------------------------------------------------------------


def percentiles_ms(latencies_s: list[float]) -> dict[str, float]:
    ordered = sorted(latencies_s)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

    return {"p50": at(0.5), "p99": at(0.99), "p999": at(0.999), "max": round(ordered[-1] * 1000, 3)}


def summarize(results: list[RunResult]) -> dict[str, Any]:
    """Medians over runs: throughput, each latency percentile, commands per batch."""
    each = [percentiles_ms(r.latencies_s) for r in results]
    return {
        "commands_per_s": round(statistics.median(r.commands_per_s for r in results)),
        "latency_ms": {key: statistics.median(p[key] for p in each) for key in each[0]},
        "commands_per_batch": round(statistics.median(r.commands / max(1, r.batches) for r in results), 1),
        "refused_share": round(statistics.median(r.refused_share for r in results), 3),
        "runs": [round(r.commands_per_s) for r in results],
        "commands_per_run": results[0].commands,
    }


def _say_run(label: str, figures: dict[str, Any]) -> None:
    latency = figures["latency_ms"]
    print(f"   {label:26s} {figures['commands_per_s']:>8,} commands/s  ack latency ms p50 {latency['p50']:.2f}  "
          f"p99 {latency['p99']:.2f}  p99.9 {latency['p999']:.2f}  max {latency['max']:.2f}  "
          f"({figures['commands_per_batch']} commands/batch, {figures['refused_share']:.0%} refused; runs {figures['runs']})")


# --- the benchmark --------------------------------------------------------------------------------------


def bench_live(stores: Stores, args: argparse.Namespace) -> dict[str, Any]:
    """The three sequencer figures for one backend."""
    name, runs, seed = stores.name, args.runs, args.seed
    print(f"\n== {name}: through the sequencer")
    group: list[RunResult] = []
    peer_rates: list[float] = []
    for i in range(runs):  # each group-commit run, then the SQLite peer writing what it wrote (SQLite only)
        appended: list[tuple[StoredBatch, list[TableWrite]]] = []
        group.append(asyncio.run(saturate(stores, f"group{i}", args.commands, SEQUENCER_BATCH_MAX, seed + i,
                                          appended=appended if isinstance(stores, SqliteStores) else None)))
        if isinstance(stores, SqliteStores):
            seconds = sqlite_peer(stores.path(f"group{i}"), appended, stores.path(f"group{i}").parent)
            peer_rates.append(sum(batch.record_count for batch, _ in appended) / seconds)
    figures: dict[str, Any] = {"group_commit": summarize(group)}
    _say_run("group commit (saturated)", figures["group_commit"])
    if peer_rates:
        peer = round(statistics.median(peer_rates))
        ratio = round(figures["group_commit"]["commands_per_s"] / peer, 3)
        figures["sqlite_peer"] = {"commands_per_s": peer, "runs": [round(r) for r in peer_rates], "ratio": ratio}
        print(f"   peer: plain sqlite3 loop    {peer:>8,} commands/s writing the same batches and rows (runs {figures['sqlite_peer']['runs']}); "
              f"predictex / peer = {ratio}")
    single = [asyncio.run(saturate(stores, f"single{i}", args.single_commands, 1, seed + i, bulk=False)) for i in range(runs)]
    figures["one_commit_per_command"] = summarize(single)
    _say_run("one commit per command", figures["one_commit_per_command"])
    rate = args.rate or max(100, int(figures["group_commit"]["commands_per_s"] * OFFERED_SHARE) // 100 * 100)
    offered = [asyncio.run(offer(stores, f"rate{i}", rate, args.rate_seconds, seed + i)) for i in range(runs)]
    figures["offered_rate"] = {"rate_per_s": rate, **summarize(offered)}
    figures["offered_rate"]["sustained"] = figures["offered_rate"]["commands_per_s"] >= 0.95 * rate
    _say_run(f"offered {rate:,}/s (open loop)", figures["offered_rate"])
    if not figures["offered_rate"]["sustained"]:
        print("   (the offered rate was not sustained: that run measured saturation, not latency below it)")
    return figures


def bench_stored(stores: Stores, label: str, built: Built, args: argparse.Namespace) -> dict[str, Any]:
    """Replay and restart on the big journal `label` of one backend."""
    figures: dict[str, Any] = {}
    store = stores.reopen(label)
    replays = [replay_rate(store, args.replay_commands) for _ in range(args.runs)]
    store.close()
    commands, events, _ = replays[0]
    seconds = statistics.median(r[2] for r in replays)
    figures["replay"] = {"commands": commands, "events": events, "events_per_s": round(events / seconds), "commands_per_s": round(commands / seconds)}
    print(f"   replay                     {figures['replay']['events_per_s']:>8,} events/s  ({figures['replay']['commands_per_s']:,} commands/s, "
          f"first {commands:,} commands, {events:,} events)")
    for case in ("after_crash", "after_clean_stop"):
        if case == "after_clean_stop":  # the snapshot a clean stop leaves, taken while building
            store = stores.reopen(label)
            Journal(store).save_snapshot(*built.final_snapshot)
            store.close()
        restarts = [restart(lambda: stores.reopen(label)) for _ in range(args.runs)]
        _, snapshot_seq, replayed = restarts[0]
        figures[f"restart_{case}"] = {"seconds": round(statistics.median(r[0] for r in restarts), 3), "snapshot_seq": snapshot_seq, "tail_commands": replayed}
        print(f"   restart {case.replace('_', ' '):18s} {figures[f'restart_{case}']['seconds']:>8.2f} s          "
              f"(snapshot at {snapshot_seq:,}, {replayed:,} commands replayed; runs {[round(r[0], 2) for r in restarts]})")
    return figures


def _goals(report: dict[str, Any]) -> dict[str, bool]:
    sqlite = report["sqlite"]
    goals = {
        # a ratio to the plain SQLite loop writing the same bytes holds on any machine
        "group_commit_a_fifth_of_plain_sqlite": sqlite["sqlite_peer"]["ratio"] >= GOALS["group_commit_vs_sqlite_peer_min"],
        "group_commit_sqlite_100k_per_s": sqlite["group_commit"]["commands_per_s"] >= GOALS["group_commit_commands_per_s_sqlite_min"],
        "replay_500k_events_per_s": sqlite["replay"]["events_per_s"] >= GOALS["replay_events_per_s_min"],
        "restart_1m_under_5s": sqlite["restart_after_crash"]["seconds"] < GOALS["restart_s_max"],
    }
    postgres = report.get("postgres", {})
    if "replay" in postgres:
        goals["replay_500k_events_per_s_postgres"] = postgres["replay"]["events_per_s"] >= GOALS["replay_events_per_s_min"]
        goals["restart_1m_under_5s_postgres"] = postgres["restart_after_crash"]["seconds"] < GOALS["restart_s_max"]
    return goals


def _header(args: argparse.Namespace) -> dict[str, Any]:
    compiled = engine_compiled()
    load = os.getloadavg()[0]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load:.2f} at start; "
          f"{args.runs} runs per figure (median); seed {args.seed}")
    print(f"workload: {WORKLOAD}")
    return {"bench": "journal", "compiled": compiled, "python": sys.version.split()[0], "cpus": os.cpu_count(),
            "load_average_at_start": round(load, 2), "yardstick_us": yardstick(), "runs": args.runs, "seed": args.seed,
            "workload": WORKLOAD}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median is reported (default 3)")
    parser.add_argument("--commands", type=int, default=15_000, help="commands per group-commit run (default 15,000)")
    parser.add_argument("--single-commands", type=int, default=150, help="commands per one-commit-per-command run (default 150)")
    parser.add_argument("--rate", type=int, default=0, help="offered commands/s (default: 20%% of the measured group-commit rate)")
    parser.add_argument("--rate-seconds", type=float, default=1.5, help="length of an offered-rate run (default 1.5 s)")
    parser.add_argument("--journal-commands", type=int, default=1_000_000, help="commands in the restart journal (default 1,000,000)")
    parser.add_argument("--replay-commands", type=int, default=30_000, help="commands replayed per replay run (default 30,000)")
    parser.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--postgres", default=POSTGRES_URL, help="PostgreSQL URL (a schema of its own is created and dropped)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--soak", type=float, nargs="?", const=SOAK_SHORT_S, default=0, metavar="SECONDS",
                        help="instead of the figures above: an open-loop run this long on SQLite at --soak-share of the saturated "
                             "rate (or at --rate), as the server runs (its collector schedule and snapshots), latency and memory "
                             f"minute by minute; --soak alone runs {SOAK_SHORT_S:.0f} s (the whole run under three minutes), "
                             "--soak 600 the issue's ten minutes")
    parser.add_argument("--gc-growth", type=int, default=0, metavar="COMMANDS",
                        help="instead of the figures above: the collector's pauses by generation under both schedules, "
                             "interleaved, while this many commands pile up resting orders (outside the event loop)")
    parser.add_argument("--switch-interval-ms", type=float, default=0,
                        help="the soak with this GIL switch interval (sys.setswitchinterval; Python's default is 5 ms)")
    parser.add_argument("--soak-share", type=float, default=0.5, help="the soak's rate as a share of the saturated rate (default 0.5)")
    parser.add_argument("--soak-gc", choices=sorted(COLLECTORS), default="schedule",
                        help="the collector's schedule: the server's (default), or 'threshold', the one it had before, for comparison")
    parser.add_argument("--soak-snapshots", choices=SNAPSHOT_MODES, default="follower",
                        help="how the soak's snapshots are taken: by a child forked at start that follows the journal, as the "
                             "server does (default); by a fork at each snapshot; or captured on the sequencer's thread, as "
                             "before, for comparison")
    parser.add_argument("--snapshot-every", type=int, default=0, metavar="COMMANDS",
                        help="the soak's snapshot interval (default: the server's, 100,000 commands; a short soak at a low rate "
                             "reaches none, so give a smaller one to see them)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    started = time.perf_counter()
    report = _header(args)
    if args.soak:
        return soak(args, report, started)
    if args.gc_growth:
        return growth(args, report, started)
    backends: list[Stores] = [SqliteStores()]
    if not args.skip_postgres:
        reason = postgres_unreachable(args.postgres)
        if reason:
            print(f"PostgreSQL at {args.postgres.rpartition('@')[2]} is unreachable ({reason}): PostgreSQL skipped")
            report["postgres"] = {"skipped": reason}
        else:
            backends.append(PostgresStores(args.postgres))
    try:
        for stores in backends:
            report[stores.name] = bench_live(stores, args)
            stages = report[stores.name]["stage_costs_us_per_command"] = stage_costs(stores, args.seed)
            saturated_us = round(1e6 / report[stores.name]["group_commit"]["commands_per_s"], 1)
            report[stores.name]["saturated_us_per_command"] = saturated_us
            print(f"   where the time goes, us per command, step by step: {stages}; their sum without the workload "
                  f"{sum(v for k, v in stages.items() if k != 'workload'):.1f} us, against {saturated_us} us per command at saturation")
        print(f"\n== a journal of {args.journal_commands:,} commands (built on SQLite; PostgreSQL gets a copy)")
        built = build_journal(backends[0].new("big"), args.journal_commands, args.seed)
        print(f"   built in {built.seconds:.1f} s ({built.commands / built.seconds:,.0f} commands/s, {built.events:,} events; "
              f"snapshots at {', '.join(f'{s:,}' for s in built.snapshots[-SNAPSHOTS_KEPT:])})")
        report["journal"] = {"commands": built.commands, "events": built.events, "build_seconds": round(built.seconds, 1),
                             "snapshot_every": SNAPSHOT_EVERY, "snapshot_offset": SNAPSHOT_OFFSET}
        for stores in backends[1:]:
            copy_seconds = copy_journal(backends[0].reopen("big"), stores.new("big"))
            print(f"   copied to {stores.name} in {copy_seconds:.1f} s")
        for stores in backends:
            print(f"\n== {stores.name}: the journal of {args.journal_commands:,} commands")
            report[stores.name].update(bench_stored(stores, "big", built, args))
    finally:
        for stores in backends:
            with contextlib.suppress(Exception):
                stores.close()
    report["goals"] = _goals(report)
    print("\n== goals: " + ", ".join(f"{name} {'PASS' if ok else 'FAIL'}" for name, ok in report["goals"].items()))
    report["wall_s"] = round(time.perf_counter() - started, 1)
    print(f"wall time {report['wall_s']} s")
    print(json.dumps(report, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
