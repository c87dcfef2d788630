"""The market simulator's bench: the living demo's book quality and activity, the simulator's CPU, and
what it costs order entry.

    python bench/sim.py                         # 3 runs of a 25-second window (the no-arg run ends in under three minutes)
    python bench/sim.py --runs 3 --minutes 5    # the issue's five-minute run, three times

Workload: a demo exchange (`predictex serve --env demo --no-sim`, SQLite synchronous=FULL, rate limits
on) and `predictex sim` with the default config (an hourly series of 3 markets and a daily one of 2:
5 markets; 3 makers, an amender, 2 noise takers, an informed taker), seed 1, as a process of its own
trading over the network. Each second a window samples every open simulated market's book over REST.
The simulator runs on through --runs windows, one after the other; every figure below is the median of
the runs' figures (each run's own are in the JSON, under "runs").

Figures, against the issue's targets: the median spread of markets whose mid is 20-80c (<= 4c); the
share of samples with a side of the book empty (< 1%); trades a minute per market (>= 10); the
simulator's CPU as a share of one core (< 15%); and bench/orders.py's open-loop figure (IOC bids at
--rate a second, 5 s: --runs of them alone before the simulator starts, and one in each window while it
trades; the median p99 of each) without and with the simulator running (no worse than 10%).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
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


def _window(server: Server, simulator: subprocess.Popen[bytes], window_s: float, traders: Any, order_args: argparse.Namespace) -> dict[str, Any]:
    """One run: sample the books for `window_s`, with one open-loop order-entry run in its middle."""
    sampler = Sampler(server, window_s)
    start_s, cpu_before, started = int(time.time()), _proc_cpu_s(simulator.pid), time.monotonic()
    sampler.start()
    time.sleep(min(10.0, window_s / 3))  # order entry measured while the simulator trades
    with_sim = fixed_rate(server, traders, order_args)
    sampler.join()
    cpu_share = (_proc_cpu_s(simulator.pid) - cpu_before) / (time.monotonic() - started)
    trades = _trades(server, sampler.tickers, start_s, int(time.time()))
    per_minute = {ticker: round(count / (window_s / 60), 1) for ticker, count in trades.items()}
    return {
        "markets": sorted(sampler.tickers), "book_samples": sampler.samples,
        "median_spread_cents_20_80": statistics.median(sampler.spreads) if sampler.spreads else None,
        "side_empty_share": round(sampler.empty / max(1, sampler.samples), 4), "trades_per_minute": per_minute,
        "trades_per_minute_min": min(per_minute.values(), default=0.0), "sim_cpu_share_of_a_core": round(cpu_share, 3),
        "order_entry_p99_ms": with_sim["p99_ms"], "order_entry_p50_ms": with_sim["p50_ms"],
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
        alone = fixed_rate(server, traders, argparse.Namespace(runs=args.runs, rate=args.rate, seconds=5.0, connections=32))
        print(f"order entry alone      open loop {args.rate:,.0f}/s: p50 {alone['p50_ms']} ms  p99 {alone['p99_ms']} ms  runs' p99 {alone['runs_p99_ms']}")
        sim_log = (server.data_dir / "sim.log").open("wb")
        simulator = subprocess.Popen(
            [sys.executable, "-m", "predictex", "sim", "--url", f"http://127.0.0.1:{server.port}", "--data-dir", str(server.data_dir),
             "--seed", str(args.seed), "--duration", str(args.runs * (window_s + 15) + READY_TIMEOUT_S + 60)],
            stdout=subprocess.DEVNULL, stderr=sim_log)
        runs: list[dict[str, Any]] = []
        try:
            _wait_until_quoted(server)
            for number in range(args.runs):
                runs.append(_window(server, simulator, window_s, traders, argparse.Namespace(runs=1, rate=args.rate, seconds=5.0,
                                                                                              connections=32)))
                run = runs[-1]
                print(f"run {number + 1}: median spread (20-80c) {run['median_spread_cents_20_80']} c  a side empty "
                      f"{run['side_empty_share']:.2%}  trades/min/market {run['trades_per_minute']}  simulator CPU "
                      f"{run['sim_cpu_share_of_a_core']:.1%}  order entry p99 {run['order_entry_p99_ms']} ms")
        finally:
            simulator.terminate()
            simulator.wait(30)
            sim_log.close()
    spread, empty_share = _median(runs, "median_spread_cents_20_80"), _median(runs, "side_empty_share")
    cpu_share, with_sim_p99 = _median(runs, "sim_cpu_share_of_a_core"), _median(runs, "order_entry_p99_ms")
    ratio = with_sim_p99 / alone["p99_ms"] if alone["p99_ms"] else None
    report.update({
        "runs": runs, "median_spread_cents_20_80": spread, "side_empty_share": empty_share,
        "trades_per_minute_min": _median(runs, "trades_per_minute_min"), "sim_cpu_share_of_a_core": cpu_share,
        "order_entry_alone": alone, "order_entry_with_sim_runs_p99_ms": [run["order_entry_p99_ms"] for run in runs],
        "order_entry_p99_ratio": None if ratio is None else round(ratio, 2),
        "median_p99_ms": {"alone": alone["p99_ms"], "with_sim": with_sim_p99},
        "load_average_at_end": load_average(),
    })
    report["targets"] = {
        "median_spread_le_4c": spread is not None and spread <= 4, "side_empty_lt_1pct": empty_share is not None and empty_share < 0.01,
        "trades_per_minute_ge_10": report["trades_per_minute_min"] is not None and report["trades_per_minute_min"] >= 10,
        "sim_cpu_lt_15pct": cpu_share is not None and cpu_share < 0.15,
        "order_entry_p99_within_10pct": ratio is not None and ratio <= 1.10,
    }
    print(f"medians of {len(runs)} runs: spread (20-80c) {spread} c  a side empty {empty_share:.2%}  slowest market "
          f"{report['trades_per_minute_min']} trades/min  simulator CPU {cpu_share:.1%} of a core  order entry p99 "
          f"{with_sim_p99} ms with the simulator, {alone['p99_ms']} ms alone (x{report['order_entry_p99_ratio']})")
    print(f"targets {report['targets']}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
