"""Order-entry benchmark: durable orders through REST, at saturation and at a fixed rate.

    python bench/orders.py [--runs 3] [--seconds 5] [--connections 32] [--accounts 24] [--rate 2000]

It starts its own server (`python -m predictex serve`, demo environment, SQLite with synchronous=FULL,
rate limits on) on a free port in a temporary directory, creates a market with no liquidity, and
signs up --accounts Prestige-tier members (8,000 write tokens/s each, so the limiter runs on every
request but never refuses one).

The workload: `POST /trade-api/v2/portfolio/events/orders`, Kalshi v2 signed headers (RSA-PSS,
pre-signed; the server verifies every signature), round-robin over the accounts, each an
immediate-or-cancel limit bid for 1 contract at $0.01 with its own client_order_id. Nothing rests and nothing trades, so every run sees the same state; each order is
still a command that the engine applies and the journal commits (fsync) before the 201 answers.

- saturation: wrk (C, one thread, --connections keep-alive connections) for --seconds; orders
  acknowledged per second, and wrk's p50/p99 (closed loop: latency at saturation);
- fixed rate: an open-loop client sends --rate orders/s on a schedule for --seconds and times each
  from its scheduled send, so a stall is charged to every order it delays: p50/p99/p99.9/max.

Each figure is the median of --runs runs. The server's committed-command counter must grow by at
least the number of 201s (every acknowledged order is in the journal), and every answer must be a 201.
Goals on a 2-core machine: 10,000 orders/s, p99 < 10 ms at 2,000 orders/s. The last line printed is
one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import (
    V2,
    Server,
    Trader,
    create_market,
    load_average,
    lua_headers,
    make_traders,
    median,
    open_loop,
    run_wrk,
    wrk_available,
    wrk_summary,
)

ORDERS_PATH = V2 + "/portfolio/events/orders"
TICKER = "KXBENCHORD-26-T1"
GOALS = {"orders_per_s": 10_000, "p99_ms_at_rate": 10.0}


def order_body(client_order_id: str) -> bytes:
    return json.dumps({
        "ticker": TICKER, "side": "bid", "count": "1.00", "price": "0.0100", "time_in_force": "immediate_or_cancel",
        "client_order_id": client_order_id,
    }, separators=(",", ":")).encode()


def wrk_script(traders: list[Trader], run: int) -> str:
    sets = ",\n  ".join(lua_headers({**t.credentials.headers("POST", ORDERS_PATH), "Content-Type": "application/json"})
                        for t in traders)
    template = order_body("CLIENT_ID").decode().replace('"CLIENT_ID"', '"%s"')
    return f"""
local sets = {{
  {sets}
}}
local i = 0
request = function()
  i = i + 1
  local body = string.format('{template}', "w{run}-" .. i)
  return wrk.format("POST", "{ORDERS_PATH}", sets[i % #sets + 1], body)
end
"""


def committed(server: Server) -> int:
    """The server's count of committed commands, from /metrics."""
    found = re.search(r"^predictex_commands_committed (\d+)", _metrics_text(server), re.MULTILINE)
    assert found is not None, "no predictex_commands_committed in /metrics"
    return int(found.group(1))


def _metrics_text(server: Server) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", "/metrics")
        return connection.getresponse().read().decode()
    finally:
        connection.close()


def saturation(server: Server, traders: list[Trader], args: argparse.Namespace) -> dict[str, Any]:
    runs = []
    for run in range(args.runs):
        before = committed(server)
        cpu_before = server.cpu_seconds()
        result = run_wrk(f"http://127.0.0.1:{server.port}{ORDERS_PATH}", args.seconds, args.connections, wrk_script(traders, run))
        result["server_cpu_us_per_request"] = round((server.cpu_seconds() - cpu_before) / max(1.0, result["requests"]) * 1e6, 1)
        result["journalled"] = committed(server) - before
        runs.append(result)
        time.sleep(0.5)
    summary = wrk_summary(runs)
    summary["acknowledged"] = int(sum(r["requests"] - r["non_2xx"] for r in runs))
    summary["journalled"] = sum(r["journalled"] for r in runs)
    return summary


def fixed_rate(server: Server, traders: list[Trader], args: argparse.Namespace) -> dict[str, Any]:
    runs = []
    for run in range(args.runs):
        total = int(args.rate * args.seconds)
        signed = [t.credentials.headers("POST", ORDERS_PATH) for t in traders]
        bodies = [order_body(f"o{run}-{index}") for index in range(total)]

        def request(index: int, bodies: list[bytes] = bodies, signed: list[dict[str, str]] = signed) -> tuple[str, str, bytes, dict[str, str]]:
            return "POST", ORDERS_PATH, bodies[index], signed[index % len(signed)]

        before = committed(server)
        summary = asyncio.run(open_loop(server.port, args.rate, args.seconds, request, connections=args.connections)).summary()
        summary["journalled"] = committed(server) - before
        runs.append(summary)
        time.sleep(0.5)
    return {
        "offered_per_s": args.rate,
        "completed_per_s": round(median([r["completed_per_s"] for r in runs])),
        "p50_ms": median([r["p50_ms"] for r in runs]),
        "p99_ms": median([r["p99_ms"] for r in runs]),
        "p999_ms": median([r["p999_ms"] for r in runs]),
        "max_ms": median([r["max_ms"] for r in runs]),
        "statuses": [r["statuses"] for r in runs],
        "journalled": sum(r["journalled"] for r in runs),
        "runs_p99_ms": [r["p99_ms"] for r in runs],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--accounts", type=int, default=24)
    parser.add_argument("--rate", type=float, default=2_000.0, help="orders/s offered in the fixed-rate runs")
    args = parser.parse_args(argv)
    if not wrk_available():
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    report: dict[str, Any] = {
        "bench": "orders", "load_average_at_start": load_average(), "runs": args.runs, "seconds_per_run": args.seconds,
        "connections": args.connections, "accounts": args.accounts,
        "workload": "POST /trade-api/v2/portfolio/events/orders, IOC bid 1 @ $0.01 (never trades), RSA-PSS signed, "
                    "rate limits on, SQLite synchronous=FULL, 201 only after the journal commit",
    }
    print(f"load average {report['load_average_at_start']:.2f}; {args.runs} runs of {args.seconds:.0f} s; "
          f"{args.accounts} Prestige accounts, {args.connections} connections")
    with Server() as server:
        create_market(server, "KXBENCHORD", "KXBENCHORD-26", TICKER)
        traders = make_traders(server, args.accounts)
        saturated = saturation(server, traders, args)
        print(f"saturation (wrk)       {saturated['requests_per_s']:>8,} orders/s  p50 {saturated['p50_ms']} ms  "
              f"p99 {saturated['p99_ms']} ms  server CPU {saturated['server_cpu_us_per_request']} µs/order  runs {saturated['runs']}")
        steady = fixed_rate(server, traders, args)
        print(f"fixed rate {args.rate:,.0f}/s (open loop)  completed {steady['completed_per_s']:,}/s  p50 {steady['p50_ms']} ms  "
              f"p99 {steady['p99_ms']} ms  p99.9 {steady['p999_ms']} ms  max {steady['max_ms']} ms  runs' p99 {steady['runs_p99_ms']}")
    acknowledged_at_rate = sum(r.get("201", 0) for r in steady["statuses"])
    all_201 = saturated["non_2xx"] == 0 and all(set(r) == {"201"} for r in steady["statuses"])
    durable = saturated["journalled"] >= saturated["acknowledged"] and steady["journalled"] >= acknowledged_at_rate
    report["saturation"] = saturated
    report["fixed_rate"] = steady
    report["checks"] = {"every_answer_201": all_201, "every_acknowledged_order_journalled": durable}
    report["goals"] = {
        "orders_10k_per_s": saturated["requests_per_s"] >= GOALS["orders_per_s"] and all_201,
        "p99_under_10ms_at_2000_per_s": steady["p99_ms"] < GOALS["p99_ms_at_rate"] and all_201,
    }
    report["wall_s"] = round(time.perf_counter() - started, 1)
    print("checks: " + ", ".join(f"{k} {'ok' if v else 'FAILED'}" for k, v in report["checks"].items()))
    print("goals: " + ", ".join(f"{k} {'PASS' if v else 'FAIL'}" for k, v in report["goals"].items()))
    print(json.dumps(report))
    return 0 if all(report["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
