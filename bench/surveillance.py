"""Surveillance benchmark: how many committed events a second the surveillance consumer keeps up with,
beside the sequencer's saturated rate on the same workload in the same run, and how long scoring one
day of a liquidity incentive program takes.

Workload: bench/journal.py's order entry (4 markets, 1,000 accounts; 50% new limit orders, some of
which trade, 30% cancels, 20% amends). The sequencer figure is journal.py's group-commit saturation
(64 one-at-a-time and 8 bulk producers, SQLite synchronous=FULL, read model attached), in commands/s
and the events/s those commands produce. The consumer figure is the detectors (wash trades, spoofing
and layering, marking the close, concentration) fed the same workload's committed entries in
sequence, as the server's consumer drains them (events already decoded, as the bus hands them over);
`catch_up` adds decoding each record's events from the journal's JSON (a restart). The goal: the
consumer at least as fast as the sequencer, so it never falls behind. The checkpoint figures are the
detectors' state after the whole workload: pickled and compressed as the consumer writes it, and read
back (decompressed and unpickled by the checkpoint's restricted unpickler) as a restart does instead of
reading those entries again.

Scoring: the same workload's entries spread evenly over 24 hours, one program on the busiest market
scored at every one of the day's 86,400 seconds, in Kalshi's mode (target 100 contracts, discount
factor 0.5) and Polymarket's (3-cent maximum spread, 10-contract minimum).

    python bench/surveillance.py [--runs R] [--commands N] [--journal-commands M]

Prints the yardstick, each run, and ends with one line of JSON. Medians of --runs runs (default 3).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import pickle
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import journal as workload  # bench/journal.py: the order-entry workload and the sequencer's saturation run
from loadgen import yardstick
from predictex.core.codec import decode_event
from predictex.core.events import Event
from predictex.journal import Journal
from predictex.journal.sqlite import SqliteStore
from predictex.surveillance import monitor
from predictex.surveillance.config import Thresholds
from predictex.surveillance.detectors import Detector
from predictex.surveillance.incentives import KALSHI, POLYMARKET, Program, score

DAY_MS = 86_400_000


def _entries(commands: int, seed: int) -> tuple[list[tuple[int, int, list[Event]]], list[tuple[int, bytes, int]], float]:
    """The workload's committed entries (seq, time, events), the raw records for catch-up, and the seconds
    decoding took."""
    with tempfile.TemporaryDirectory(prefix="predictex-bench-") as directory:
        store = SqliteStore(Path(directory) / "surveillance.db")
        workload.build_journal(store, commands, seed)
        journal = Journal(store)
        records = list(journal.records(0))
        store.close()
    started = time.perf_counter()
    entries = [(r.seq, r.time_ms, [decode_event(x) for x in r.events]) for r in records]
    decode_s = time.perf_counter() - started
    return entries, [(r.seq, r.events_json, r.time_ms) for r in records], decode_s


def consume(entries: list[tuple[int, int, list[Event]]]) -> tuple[float, int]:
    detector = Detector(Thresholds())
    started = time.perf_counter()
    feed = detector.feed
    for seq, time_ms, events in entries:
        feed(seq, time_ms, events)
    return time.perf_counter() - started, len(detector.alerts)


def checkpoint(entries: list[tuple[int, int, list[Event]]]) -> tuple[float, float, int]:
    """(seconds to pickle and compress, seconds to read back, compressed bytes) of the state after `entries`."""
    detector = Detector(Thresholds())
    for seq, time_ms, events in entries:
        detector.feed(seq, time_ms, events)
    started = time.perf_counter()
    data = zlib.compress(pickle.dumps(detector, protocol=pickle.HIGHEST_PROTOCOL), 1)
    written = time.perf_counter()
    state = monitor._StateUnpickler(io.BytesIO(zlib.decompress(data))).load()
    state.restored(Thresholds(), lambda account: False)
    read = time.perf_counter()
    assert state.processed_seq == detector.processed_seq and len(state.alerts) == len(detector.alerts)
    return written - started, read - written, len(data)


def score_day(entries: list[tuple[int, int, list[Event]]], mode: str) -> tuple[float, int]:
    first_ms = entries[0][1]
    step = DAY_MS / len(entries)
    spread = [(first_ms + int(i * step), events) for i, (_, _, events) in enumerate(entries)]
    program = Program(workload.MARKETS[0], first_ms, first_ms + DAY_MS, 1_000 * 1_000_000, mode,
                      target_size_centicontracts=100_00, discount_factor_bps=5_000, max_spread_centicents=300,
                      min_size_centicontracts=10_00)
    started = time.perf_counter()
    scores = score(program, spread)
    return time.perf_counter() - started, len(scores)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--commands", type=int, default=20_000, help="commands in each sequencer saturation run")
    parser.add_argument("--journal-commands", type=int, default=100_000, help="commands in the workload the consumer reads")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"bench": "surveillance", "yardstick_us": yardstick(), "runs": args.runs}
    started = time.perf_counter()

    entries, _records, decode_s = _entries(args.journal_commands, args.seed)
    events = sum(len(x[2]) for x in entries)
    events_per_command = events / len(entries)
    print(f"workload: {len(entries)} entries, {events} events ({events_per_command:.2f} a command); decoding them {decode_s:.2f} s")

    stores = workload.SqliteStores()
    try:
        sequencer_rates = []
        for i in range(args.runs):
            result = asyncio.run(workload.saturate(stores, f"sat{i}", args.commands, workload.SEQUENCER_BATCH_MAX, args.seed + i))
            sequencer_rates.append(result.commands_per_s)
            print(f"sequencer run {i + 1}: {result.commands_per_s:,.0f} commands/s ({result.commands_per_s * events_per_command:,.0f} events/s)")
    finally:
        stores.close()
    consumer_s = []
    for i in range(args.runs):
        seconds, alerts = consume(entries)
        consumer_s.append(seconds)
        print(f"consumer run {i + 1}: {events / seconds:,.0f} events/s ({len(entries) / seconds:,.0f} commands/s), {alerts} alerts")
    checkpoints = []
    for i in range(args.runs):
        write_s, read_s, size = checkpoint(entries)
        checkpoints.append((write_s, read_s))
        print(f"checkpoint run {i + 1}: written in {write_s * 1000:.0f} ms, read back in {read_s * 1000:.0f} ms, {size:,} bytes")
    day: dict[str, list[float]] = {KALSHI: [], POLYMARKET: []}
    for i in range(args.runs):
        for mode in day:
            seconds, members = score_day(entries, mode)
            day[mode].append(seconds)
            print(f"one day scored ({mode}) run {i + 1}: {seconds:.2f} s, {members} members scored")

    sequencer = statistics.median(sequencer_rates)
    consumer_events = events / statistics.median(consumer_s)
    catch_up_events = events / (statistics.median(consumer_s) + decode_s)
    report.update({
        "workload_commands": len(entries), "events_per_command": round(events_per_command, 3),
        "sequencer_commands_per_s": round(sequencer), "sequencer_events_per_s": round(sequencer * events_per_command),
        "consumer_events_per_s": round(consumer_events), "consumer_commands_per_s": round(len(entries) / statistics.median(consumer_s)),
        "catch_up_events_per_s": round(catch_up_events), "catch_up_whole_workload_s": round(statistics.median(consumer_s) + decode_s, 3),
        "checkpoint_write_s": round(statistics.median(x[0] for x in checkpoints), 3),
        "checkpoint_read_s": round(statistics.median(x[1] for x in checkpoints), 3), "checkpoint_bytes": size,
        "consumer_vs_sequencer": round(consumer_events / (sequencer * events_per_command), 2),
        "score_one_day_kalshi_s": round(statistics.median(day[KALSHI]), 2),
        "score_one_day_polymarket_s": round(statistics.median(day[POLYMARKET]), 2),
        "goal_consumer_vs_sequencer_min": 1.0, "seconds": round(time.perf_counter() - started, 1),
    })
    print(json.dumps(report, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
