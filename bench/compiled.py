"""What compiling buys, part by part: the same bench against a server that imports a compiled part as
installed (predictex-native, mypyc) and one that imports that part from its .py sources
(`PREDICTEX_BENCH_PURE`, bench/loadgen.py), alternately in the same minutes, and the ratio.

    python bench/compiled.py [--parts fix,rest] [--pairs 1]

Parts (the modules of native/setup.py's COMPILED_MODULES they return to plain Python):
- fix: predictex.gateways.fix (codec, session, dictionary, requests, reports, order_entry, gateway,
  acceptor), measured with bench/fix.py's workload (one FIX 4.4 session, GTC bids that rest): orders/s
  with 1,000 in flight, and the round trip at 1,000 orders/s;
- rest: server.http, server.router, gateways.shapes.kalshi (and gateways.fix, whose acceptor imports server.http
  natively; accounts.signing, accounts.limits and gateways.rest.kalshi_v2.order_requests, no longer compiled,
  are named so that an older build is measured alike), measured with
  bench/orders.py's workload (signed GTC creates and batched cancels through wrk): orders created/s
  and the server's CPU per request.

The engine's, the journal's and the sequencer's gains are measured by instruction counts
(docs/performance.md), where a loaded machine does not blur them. Each pair runs the compiled server
first then the plain one; the figure is the median over --pairs pairs of the ratio compiled / plain
within a pair (above 1: compiling pays). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import PURE_ENVIRONMENT, Server, create_market, load_average, make_traders, yardstick

FIX_MODULES = ["predictex.gateways.fix"]
REST_MODULES = ["predictex.server.http", "predictex.server.router", "predictex.accounts.signing", "predictex.accounts.limits",
                "predictex.gateways.rest.kalshi_v2.order_requests", "predictex.gateways.shapes.kalshi", *FIX_MODULES]


def _with_pure(modules: list[str]) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k != PURE_ENVIRONMENT}
    if modules:
        environment[PURE_ENVIRONMENT] = ",".join(modules)
    return environment


def fix_once(modules: list[str]) -> dict[str, float]:
    """bench/fix.py's predictex part (its server in a subprocess), shortened: one throughput run of
    10,000 orders and one round-trip run of 3 s at 1,000/s."""
    import fix

    arguments = argparse.Namespace(orders=10_000, window=1_000, rate=1_000, seconds=3.0, runs=1, kind="nr")
    with tempfile.TemporaryDirectory(prefix="predictex-compiled-fix-") as data_dir:
        server = subprocess.Popen([sys.executable, fix.__file__, "--serve", data_dir, "--kind", "nr"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, env=_with_pure(modules))
        try:
            assert server.stdout is not None
            details = {**json.loads(server.stdout.readline()), "pid": server.pid}
            result = fix.run(details, "KalshiNR", "plain" if modules else "compiled", arguments)
        finally:
            if server.stdin is not None:
                server.stdin.close()
            server.wait(60)
    return {"orders_per_s": result["orders_per_s"], "server_cpu_us_per_order": result["server_cpu_us_per_order"], "round_trip_p50_us": result["round_trip_us"]["p50"],
            "round_trip_p99_us": result["round_trip_us"]["p99"]}


def rest_once(modules: list[str]) -> dict[str, float]:
    """bench/orders.py's saturation run (wrk, signed GTC creates and batched cancels), one run of 4 s over 4 accounts."""
    import orders

    arguments = argparse.Namespace(runs=1, seconds=4.0, connections=32, accounts=4)
    previous = os.environ.pop(PURE_ENVIRONMENT, None)
    if modules:
        os.environ[PURE_ENVIRONMENT] = ",".join(modules)
    try:
        with Server() as server:
            create_market(server, "KXBENCHORD", "KXBENCHORD-26", orders.TICKER)
            traders = make_traders(server, arguments.accounts)
            saturated = orders.saturation(server, traders, arguments)
    finally:
        os.environ.pop(PURE_ENVIRONMENT, None)
        if previous is not None:
            os.environ[PURE_ENVIRONMENT] = previous
    print(f"{'plain' if modules else 'compiled'}: {saturated['orders_created_per_s']:,} orders created/s, "
          f"server CPU {saturated['server_cpu_us_per_request']} µs/request", flush=True)
    return {"orders_created_per_s": saturated["orders_created_per_s"], "server_cpu_us_per_request": saturated["server_cpu_us_per_request"]}


PARTS = {"fix": (FIX_MODULES, fix_once), "rest": (REST_MODULES, rest_once)}
LOWER_IS_BETTER = ("_us", "cpu")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--parts", default="fix,rest")
    # One pair by default, so that the no-arg run ends within three minutes (the rest part's four pairs took
    # 261 s on 2026-12-07); a decision to compile a part or not wants --pairs 4 or more.
    parser.add_argument("--pairs", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    report: dict[str, Any] = {"bench": "compiled", "yardstick_us": yardstick(), "load_average_at_start": load_average(), "pairs": args.pairs}
    for part in args.parts.split(","):
        modules, once = PARTS[part]
        pairs = []
        for pair in range(args.pairs):
            print(f"{part}, pair {pair + 1}: compiled, then {', '.join(modules)} as plain Python", flush=True)
            pairs.append((once([]), once(modules)))
        gains = {}
        for figure in pairs[0][0]:
            # compiled / plain for a rate, plain / compiled for a time or a cost: above 1, compiling pays
            lower_better = any(mark in figure for mark in LOWER_IS_BETTER)
            ratios = [(plain[figure] / compiled[figure]) if lower_better else (compiled[figure] / plain[figure]) for compiled, plain in pairs]
            gains[figure] = round(statistics.median(ratios), 2)
        report[part] = {"modules": modules, "compiled": [c for c, _ in pairs], "plain": [p for _, p in pairs], "gain": gains}
        print(f"{part}: what compiling buys (median over {args.pairs} pairs, above 1 it pays): "
              + ", ".join(f"{k} {v}x" for k, v in gains.items()), flush=True)
    report["wall_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
