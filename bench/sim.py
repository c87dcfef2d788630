"""The market simulator's bench: the living demo's book quality and activity, the simulator's CPU, and
what it costs order entry.

    python bench/sim.py                         # 3 runs of a 25-second window (the no-arg run ends in under three minutes)
    python bench/sim.py --runs 3 --minutes 5    # the issue's five-minute run, three times

Workload: a demo exchange (`predictex serve --env demo --no-sim`, SQLite synchronous=FULL, rate limits
on) and `predictex sim` with the default config (an hourly series of 3 markets and a daily one of 2:
5 markets; 3 makers, an amender, 2 noise takers, an informed taker), seed 1, as a process of its own
trading over the network. Each run is a window in which every open simulated market's book is read
over REST each second (and nothing else is measured), then a pair of bench/orders.py open-loop runs
(IOC bids at --rate a second for 5 s): one with the simulator trading and one with it paused
(SIGSTOP: it sends nothing; its connections and resting orders stay), the pair's order alternating
from run to run, so both halves of the ratio are measured minutes apart at most, at the same machine
load. The simulator runs on through the --runs windows; every figure below is the median of the runs'
figures (each run's own are in the JSON, under "runs").

Figures, against the issue's targets: the median spread of markets whose mid is 20-80c (<= 4c); the
share of samples with a side of the book empty (< 1%); trades a minute per market (>= 10); the
simulator's CPU as a share of one core over the windows (< 15%); and order entry's p99 with the
simulator running against with it paused: the median of the "with" p99s over the median of the
"paused" p99s (no worse than 1.1). When order entry did not keep up with --rate (completed < 95% of
offered), its p99 measures a queue growing, not the simulator's cost: the report says "saturated".
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import V2, Server, create_market, load_average, make_traders, yardstick
from orders import TICKER, fixed_rate

SERIES = ("PXHOURLY", "PXDAILY")
READY_TIMEOUT_S = 90.0


def _proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _open_markets(server: Server) -> list[str]:
    tickers: list[str] = []
    for series in SERIES:
        status, body = server.call("GET", f"{V2}/markets?series_ticker={series}&status=open&limit=100")
        if status == 200:
            tickers += [market["ticker"] for market in body["markets"]]
    return sorted(tickers)


def _top(server: Server, ticker: str) -> tuple[int | None, int | None]:
    """Best YES bid and ask in cents (None for an empty side)."""
    status, body = server.call("GET", f"{V2}/markets/{ticker}/orderbook")
    if status != 200:
        return None, None
    book = body.get("orderbook_fp") or {}
    yes, no = book.get("yes_dollars") or [], book.get("no_dollars") or []
    bid = max((_cents(level[0]) for level in yes), default=None)
    best_no = max((_cents(level[0]) for level in no), default=None)
    return bid, (None if best_no is None else 100 - best_no)


def _cents(dollars: str) -> int:
    return int(Decimal(dollars).scaleb(2))


def _wait_until_quoted(server: Server) -> list[str]:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        tickers = _open_markets(server)
        if len(tickers) >= 5 and all(None not in _top(server, ticker) for ticker in tickers):
            return tickers
        time.sleep(1.0)
    raise RuntimeError("the simulator's markets were not quoted within 90 s")


class Sampler(threading.Thread):
    def __init__(self, server: Server, seconds: float) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.seconds = seconds
        self.spreads: list[int] = []
        self.samples = 0
        self.empty = 0
        self.tickers: set[str] = set()

    def run(self) -> None:
        end = time.monotonic() + self.seconds
        next_at = time.monotonic()
        while next_at < end:
            for ticker in _open_markets(self.server):
                self.tickers.add(ticker)
                bid, ask = _top(self.server, ticker)
                self.samples += 1
                if bid is None or ask is None:
                    self.empty += 1
                elif 20 <= (bid + ask) / 2 <= 80:
                    self.spreads.append(ask - bid)
            next_at += 1.0
            time.sleep(max(0.0, next_at - time.monotonic()))


def _trades(server: Server, tickers: set[str], start_s: int, end_s: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ticker in sorted(tickers):
        cursor, total = "", 0
        while True:
            status, body = server.call("GET", f"{V2}/markets/trades?ticker={ticker}&min_ts={start_s}&max_ts={end_s}&limit=1000"
                                              + (f"&cursor={cursor}" if cursor else ""))
            if status != 200:
                break
            total += len(body["trades"])
            if not body.get("cursor") or body["cursor"] == cursor:
                break
            cursor = body["cursor"]
        counts[ticker] = total
    return counts


def _window(server: Server, simulator: subprocess.Popen[bytes], window_s: float) -> dict[str, Any]:
    """One run's window: sample the books for `window_s`, the simulator's CPU and the trades meanwhile."""
    sampler = Sampler(server, window_s)
    start_s, cpu_before, started = int(time.time()), _proc_cpu_s(simulator.pid), time.monotonic()
    sampler.run()
    cpu_share = (_proc_cpu_s(simulator.pid) - cpu_before) / (time.monotonic() - started)
    trades = _trades(server, sampler.tickers, start_s, int(time.time()))
    per_minute = {ticker: round(count / (window_s / 60), 1) for ticker, count in trades.items()}
    return {
        "markets": sorted(sampler.tickers), "book_samples": sampler.samples,
        "median_spread_cents_20_80": statistics.median(sampler.spreads) if sampler.spreads else None,
        "side_empty_share": round(sampler.empty / max(1, sampler.samples), 4), "trades_per_minute": per_minute,
        "trades": sum(trades.values()),
        "trades_per_minute_min": min(per_minute.values(), default=0.0), "sim_cpu_share_of_a_core": round(cpu_share, 3),
    }


def _order_entry_pair(server: Server, simulator: subprocess.Popen[bytes], traders: Any, args: argparse.Namespace,
                      paused_first: bool) -> dict[str, Any]:
    """bench/orders.py's open-loop run twice: with the simulator trading, and with it paused (SIGSTOP)."""
    options = argparse.Namespace(runs=1, rate=args.rate, seconds=5.0, connections=32)
    results: dict[str, Any] = {}
    for paused in ((True, False) if paused_first else (False, True)):
        if paused:
            simulator.send_signal(signal.SIGSTOP)
            try:
                results["paused"] = fixed_rate(server, traders, options)
            finally:
                simulator.send_signal(signal.SIGCONT)
        else:
            results["with_sim"] = fixed_rate(server, traders, options)
    time.sleep(1.0)  # the simulator catches up with its clock before the next window
    return {
        "order_entry_p99_ms": results["with_sim"]["p99_ms"], "order_entry_p50_ms": results["with_sim"]["p50_ms"],
        "order_entry_completed_per_s": results["with_sim"]["completed_per_s"],
        "order_entry_paused_p99_ms": results["paused"]["p99_ms"], "order_entry_paused_p50_ms": results["paused"]["p50_ms"],
        "order_entry_paused_completed_per_s": results["paused"]["completed_per_s"],
        "order_entry_statuses": {"with_sim": results["with_sim"]["statuses"], "paused": results["paused"]["statuses"]},
        "order_entry_paused_first": paused_first,
    }


def _median(runs: list[dict[str, Any]], name: str) -> Any:
    values = [run[name] for run in runs if run[name] is not None]
    return statistics.median(values) if values else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=25 / 60, help="each run's sampling window (default 25 s; the issue's run is 5)")
    parser.add_argument("--runs", type=int, default=3, help="windows, one after the other; figures are their medians (default 3)")
    parser.add_argument("--rate", type=float, default=500.0, help="orders/s offered in the open-loop order-entry runs (default 500)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    window_s = args.minutes * 60
    report: dict[str, Any] = {"bench": "sim", "load_average_at_start": load_average(), "yardstick_us": yardstick(),
                              "window_s": window_s, "runs_wanted": args.runs, "seed": args.seed, "config": "default (5 markets)"}
    print(f"load average {report['load_average_at_start']:.2f}; {args.runs} runs of a {window_s:.0f} s window; seed {args.seed}")
    with Server() as server:
        create_market(server, "KXBENCHORD", "KXBENCHORD-26", TICKER)
        traders = make_traders(server, 8)
        sim_log = (server.data_dir / "sim.log").open("wb")
        simulator = subprocess.Popen(
            [sys.executable, "-m", "predictex", "sim", "--url", f"http://127.0.0.1:{server.port}", "--data-dir", str(server.data_dir),
             "--seed", str(args.seed), "--duration", str(args.runs * (window_s + 30) + READY_TIMEOUT_S + 60)],
            stdout=subprocess.DEVNULL, stderr=sim_log)
        runs: list[dict[str, Any]] = []
        try:
            _wait_until_quoted(server)
            for number in range(args.runs):
                run = _window(server, simulator, window_s)
                run.update(_order_entry_pair(server, simulator, traders, args, paused_first=number % 2 == 1))
                runs.append(run)
                print(f"run {number + 1}: median spread (20-80c) {run['median_spread_cents_20_80']} c  a side empty "
                      f"{run['side_empty_share']:.2%}  trades/min/market {run['trades_per_minute']}  simulator CPU "
                      f"{run['sim_cpu_share_of_a_core']:.1%}  order entry p99 {run['order_entry_p99_ms']} ms with it, "
                      f"{run['order_entry_paused_p99_ms']} ms paused ({run['order_entry_completed_per_s']}/s and "
                      f"{run['order_entry_paused_completed_per_s']}/s completed)")
        finally:
            if simulator.poll() is None:
                simulator.send_signal(signal.SIGCONT)
            simulator.terminate()
            simulator.wait(30)
            sim_log.close()
    spread, empty_share = _median(runs, "median_spread_cents_20_80"), _median(runs, "side_empty_share")
    cpu_share, with_sim_p99 = _median(runs, "sim_cpu_share_of_a_core"), _median(runs, "order_entry_p99_ms")
    paused_p99 = _median(runs, "order_entry_paused_p99_ms")
    ratio = with_sim_p99 / paused_p99 if paused_p99 else None
    completed = [run[name] for run in runs for name in ("order_entry_completed_per_s", "order_entry_paused_completed_per_s")]
    saturated = any(value < 0.95 * args.rate for value in completed)
    market_minutes = sum(len(run["markets"]) for run in runs) * window_s / 60
    report.update({
        "runs": runs, "median_spread_cents_20_80": spread, "side_empty_share": empty_share,
        "trades_per_minute_min": _median(runs, "trades_per_minute_min"), "sim_cpu_share_of_a_core": cpu_share,
        "trades_per_minute_per_market_all_windows": round(sum(run["trades"] for run in runs) / market_minutes, 1) if market_minutes else None,
        "order_entry_with_sim_runs_p99_ms": [run["order_entry_p99_ms"] for run in runs],
        "order_entry_paused_runs_p99_ms": [run["order_entry_paused_p99_ms"] for run in runs],
        "order_entry_p99_ratio": None if ratio is None else round(ratio, 2),
        "order_entry_pair_ratios": [round(run["order_entry_p99_ms"] / run["order_entry_paused_p99_ms"], 2)
                                    for run in runs if run["order_entry_paused_p99_ms"]],
        "order_entry_saturated": saturated,
        "median_p99_ms": {"paused": paused_p99, "with_sim": with_sim_p99},
        "load_average_at_end": load_average(),
    })
    report["targets"] = {
        "median_spread_le_4c": spread is not None and spread <= 4, "side_empty_lt_1pct": empty_share is not None and empty_share < 0.01,
        "trades_per_minute_ge_10": report["trades_per_minute_min"] is not None and report["trades_per_minute_min"] >= 10,
        "sim_cpu_lt_15pct": cpu_share is not None and cpu_share < 0.15,
        "order_entry_p99_within_10pct": ratio is not None and ratio <= 1.10 and not saturated,
    }
    print(f"medians of {len(runs)} runs: spread (20-80c) {spread} c  a side empty {empty_share:.2%}  slowest market "
          f"{report['trades_per_minute_min']} trades/min  simulator CPU {cpu_share:.1%} of a core  order entry p99 "
          f"{with_sim_p99} ms with the simulator, {paused_p99} ms with it paused (x{report['order_entry_p99_ratio']})"
          + ("  SATURATED: order entry did not keep up with --rate; the ratio measures a queue" if saturated else ""))
    print(f"targets {report['targets']}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
