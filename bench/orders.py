"""Order-entry benchmark: durable orders through REST, at saturation and at a fixed rate.

    python bench/orders.py [--runs 3] [--seconds 5] [--connections 32] [--accounts 24] [--rate 2000]

It starts its own server (`python -m predictex serve`, demo environment, SQLite with synchronous=FULL,
rate limits on) on a free port in a temporary directory, creates a market with no liquidity, and
signs up --accounts Prestige-tier members (8,000 write tokens/s each, so the limiter runs on every
request but never refuses one).

Requests carry Kalshi v2 signed headers (RSA-PSS, pre-signed before each run: the signature covers
timestamp, method and path, and a timestamp stays valid for 30 s; the server verifies every one),
round-robin over the accounts. Nothing trades: the market has no asks and every bid is at $0.01.

- saturation, creates and cancels: wrk (C, one thread, --connections keep-alive connections) for
  --seconds. Each account places good-till-canceled bids (`POST /trade-api/v2/portfolio/events/orders`,
  1 contract, its own client_order_id); once it has 10 resting, its next request cancels them with
  one `DELETE .../events/orders/batched` {"ids": [...]}. Printed: durable requests/s (each one command
  the engine applies and the journal commits before the answer), orders created/s and cancelled/s,
  and wrk's p50/p99 (closed loop: latency at saturation);
- fixed rate: an open-loop client sends --rate immediate-or-cancel bids a second on a schedule for
  --seconds and times each from its scheduled send, so a stall is charged to every order it delays:
  p50/p99/p99.9/max.

The peer, in the same run and on the same requests (the same accounts' keys, the same wrk script and
open-loop schedule): a raw HTTP server on httptools and uvloop that checks the same Kalshi v2 RSA-PSS
signature, parses the JSON body and group-commits each request to SQLite (WAL, synchronous=FULL, a
writer thread) before it answers, with no order book, no balances, no rate limits. It is what durable
signed order entry costs at the least in Python on this machine; the ratios predictex / peer of the
orders created per second, of the server's CPU per request and of the p99 at the fixed rate say how
close predictex comes, whatever the machine.

Each figure is the median of --runs runs. The server's committed-command counter must grow by at
least the number of answers (every acknowledged request is in the journal), and every answer must
be a 2xx (the peer's too).
Goals on a 2-core machine: 10,000 orders/s, p99 < 10 ms at 2,000 orders/s, and at least half the
peer's orders created per second. The last line printed is one JSON object with every figure.
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
    Peer,
    Server,
    Trader,
    add_wrk_arguments,
    create_market,
    load_average,
    lua_headers,
    make_traders,
    median,
    open_loop,
    run_wrk,
    wrk_available,
    wrk_summary,
    yardstick,
)

ORDERS_PATH = V2 + "/portfolio/events/orders"
BATCH_PATH = ORDERS_PATH + "/batched"
CANCEL_BATCH = 10
TICKER = "KXBENCHORD-26-T1"
GOALS = {"orders_per_s": 10_000, "p99_ms_at_rate": 10.0, "orders_per_s_vs_peer": 0.5}


def order_body(client_order_id: str, time_in_force: str = "immediate_or_cancel") -> bytes:
    return json.dumps({
        "ticker": TICKER, "side": "bid", "count": "1.00", "price": "0.0100", "time_in_force": time_in_force,
        "self_trade_prevention_type": "taker_at_cross",
        "client_order_id": client_order_id,
    }, separators=(",", ":")).encode()


def wrk_script(traders: list[Trader], run: int) -> str:
    """Round-robin over the accounts: a good-till-canceled bid for 1 at $0.01 with a client_order_id that
    names the account; `response` files each new order's id under its account, and once an account has
    CANCEL_BATCH of them its next request cancels them in one `DELETE .../orders/batched` (a fixed path, so
    it can be pre-signed too). Prints how many orders were created and cancelled, and wrk's exact percentiles."""
    def signed(method: str, path: str) -> str:
        return ",\n  ".join(lua_headers({**t.credentials.headers(method, path), "Content-Type": "application/json"}) for t in traders)

    template = order_body("CLIENT_ID", "good_till_canceled").decode().replace('"CLIENT_ID"', '"%s"')
    return f"""
local creates = {{
  {signed("POST", ORDERS_PATH)}
}}
local cancels = {{
  {signed("DELETE", BATCH_PATH)}
}}
local pending = {{}}
for k = 1, #creates do pending[k] = {{}} end
local n = 0
created, cancelled = 0, 0
request = function()
  n = n + 1
  local k = n % #creates + 1
  local queue = pending[k]
  if #queue >= {CANCEL_BATCH} then
    local ids = {{}}
    for j = 1, {CANCEL_BATCH} do ids[j] = '"' .. table.remove(queue) .. '"' end
    cancelled = cancelled + {CANCEL_BATCH}
    return wrk.format("DELETE", "{BATCH_PATH}", cancels[k], '{{"ids":[' .. table.concat(ids, ",") .. ']}}')
  end
  return wrk.format("POST", "{ORDERS_PATH}", creates[k], string.format('{template}', "a" .. k .. "-r{run}-" .. n))
end
response = function(status, headers, body)
  if status == 201 then
    local order_id = string.match(body, '"order_id":"([^"]+)"')
    local k = tonumber(string.match(body, '"client_order_id":"a(%d+)%-'))
    if order_id and k then
      table.insert(pending[k], order_id)
      created = created + 1
    end
  end
end
local threads = {{}}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local made, killed = 0, 0
  for _, thread in ipairs(threads) do
    made = made + thread:get("created")
    killed = killed + thread:get("cancelled")
  end
  io.write(string.format("ORDERS %d %d\\n", made, killed))
  io.write(string.format("PERCENTILES_US %d %d %d %d\\n", latency:percentile(50), latency:percentile(99),
                         latency:percentile(99.9), latency.max))
end
"""


def committed(server: Server | Peer) -> int:
    """The server's count of committed commands, from /metrics (the peer's count of durable requests)."""
    if isinstance(server, Peer):
        return server.committed()
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


def saturation(server: Server | Peer, traders: list[Trader], args: argparse.Namespace) -> dict[str, Any]:
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
    summary["orders_created_per_s"] = round(median([r["orders_created"] / args.seconds for r in runs]))
    summary["orders_cancelled_per_s"] = round(median([r["orders_cancelled"] / args.seconds for r in runs]))
    summary["acknowledged"] = int(sum(r["requests"] - r["non_2xx"] for r in runs))
    summary["journalled"] = sum(r["journalled"] for r in runs)
    return summary


def fixed_rate(server: Server | Peer, traders: list[Trader], args: argparse.Namespace) -> dict[str, Any]:
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
    add_wrk_arguments(parser)
    parser.add_argument("--rate", type=float, default=2_000.0, help="orders/s offered in the fixed-rate runs")
    args = parser.parse_args(argv)
    if not wrk_available():
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    report: dict[str, Any] = {
        "bench": "orders", "load_average_at_start": load_average(), "yardstick_us": yardstick(), "runs": args.runs, "seconds_per_run": args.seconds,
        "connections": args.connections, "accounts": args.accounts,
        "workload": "saturation: GTC bids 1 @ $0.01 via POST /trade-api/v2/portfolio/events/orders, cancelled 10 at a time "
                    "via DELETE .../events/orders/batched; fixed rate: IOC bids 1 @ $0.01; nothing trades; RSA-PSS pre-signed, "
                    "rate limits on, SQLite synchronous=FULL, answered only after the journal commit",
    }
    print(f"load average {report['load_average_at_start']:.2f}; {args.runs} runs of {args.seconds:.0f} s; "
          f"{args.accounts} Prestige accounts, {args.connections} connections")
    with Server() as server:
        create_market(server, "KXBENCHORD", "KXBENCHORD-26", TICKER)
        traders = make_traders(server, args.accounts)
        saturated = saturation(server, traders, args)
        print(f"saturation (wrk)       {saturated['requests_per_s']:>8,} requests/s ({saturated['orders_created_per_s']:,} orders "
              f"created/s, {saturated['orders_cancelled_per_s']:,} cancelled/s)  p50 {saturated['p50_ms']} ms  p99 {saturated['p99_ms']} ms  "
              f"server CPU {saturated['server_cpu_us_per_request']} µs/request  runs {saturated['runs']}")
        steady = fixed_rate(server, traders, args)
        print(f"fixed rate {args.rate:,.0f}/s (open loop)  completed {steady['completed_per_s']:,}/s  p50 {steady['p50_ms']} ms  "
              f"p99 {steady['p99_ms']} ms  p99.9 {steady['p999_ms']} ms  max {steady['max_ms']} ms  runs' p99 {steady['runs_p99_ms']}")
        print("peer: a raw httptools server with the same signature check and a group commit of each request (SQLite FULL)")
        with Peer(traders, {("POST", ORDERS_PATH): "create", ("DELETE", BATCH_PATH): "cancel"}) as peer:
            peer_saturated = saturation(peer, traders, args)
            print(f"peer saturation (wrk)  {peer_saturated['requests_per_s']:>8,} requests/s ({peer_saturated['orders_created_per_s']:,} "
                  f"orders created/s)  p50 {peer_saturated['p50_ms']} ms  p99 {peer_saturated['p99_ms']} ms  "
                  f"server CPU {peer_saturated['server_cpu_us_per_request']} µs/request  runs {peer_saturated['runs']}")
            peer_steady = fixed_rate(peer, traders, args)
            print(f"peer fixed rate {args.rate:,.0f}/s  completed {peer_steady['completed_per_s']:,}/s  p50 {peer_steady['p50_ms']} ms  "
                  f"p99 {peer_steady['p99_ms']} ms  p99.9 {peer_steady['p999_ms']} ms  max {peer_steady['max_ms']} ms")
    acknowledged_at_rate = sum(r.get("201", 0) for r in steady["statuses"])
    all_2xx = saturated["non_2xx"] == 0 and all(set(r) == {"201"} for r in steady["statuses"])
    durable = saturated["journalled"] >= saturated["acknowledged"] and steady["journalled"] >= acknowledged_at_rate
    report["saturation"] = saturated
    report["fixed_rate"] = steady
    report["peer"] = {"name": "raw httptools server, same RSA-PSS check, group commit of each request to SQLite (WAL, FULL)",
                      "saturation": peer_saturated, "fixed_rate": peer_steady}
    report["ratios"] = {  # predictex / peer
        "orders_created_per_s": round(saturated["orders_created_per_s"] / max(1, peer_saturated["orders_created_per_s"]), 2),
        "server_cpu_per_request": round(saturated["server_cpu_us_per_request"] / max(0.001, peer_saturated["server_cpu_us_per_request"]), 2),
        "p99_at_rate": round(steady["p99_ms"] / max(0.001, peer_steady["p99_ms"]), 2),
    }
    print(f"ratios (predictex / peer): orders created/s {report['ratios']['orders_created_per_s']}x, server CPU per request "
          f"{report['ratios']['server_cpu_per_request']}x, p99 at {args.rate:,.0f}/s {report['ratios']['p99_at_rate']}x")
    peer_2xx = peer_saturated["non_2xx"] == 0 and all(set(r) == {"201"} for r in peer_steady["statuses"])
    report["checks"] = {"every_answer_2xx": all_2xx, "every_acknowledged_order_journalled": durable, "peer_every_answer_2xx": peer_2xx}
    report["goals"] = {
        "orders_10k_per_s": saturated["orders_created_per_s"] >= GOALS["orders_per_s"] and all_2xx,
        "p99_under_10ms_at_2000_per_s": steady["p99_ms"] < GOALS["p99_ms_at_rate"] and all_2xx,
        "orders_half_the_peer_or_more": report["ratios"]["orders_created_per_s"] >= GOALS["orders_per_s_vs_peer"] and all_2xx,
    }
    report["wall_s"] = round(time.perf_counter() - started, 1)
    print("checks: " + ", ".join(f"{k} {'ok' if v else 'FAILED'}" for k, v in report["checks"].items()))
    print("goals: " + ", ".join(f"{k} {'PASS' if v else 'FAIL'}" for k, v in report["goals"].items()))
    print(json.dumps(report))
    return 0 if all(report["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
