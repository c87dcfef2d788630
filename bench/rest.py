"""REST benchmark: public order-book reads and signed balance reads against a running `predictex serve`.

    python bench/rest.py [--runs 3] [--seconds 5] [--connections 32] [--accounts 24] [--url-of-running-server ...]

With no arguments it starts its own server (`python -m predictex serve`, demo environment, SQLite, rate
limits on) on a free port in a temporary directory, and stops it afterwards.

Workloads, each driven by wrk (one thread, keep-alive connections) from its own process over loopback:
- public: `GET /trade-api/v2/markets/INXCHI-25JAN31-T69.5/orderbook` (a demo market with 10 price
  levels), no authentication;
- signed: `GET /trade-api/v2/portfolio/balance`, Kalshi v2 signed headers (RSA-PSS), round-robin over
  --accounts Prestige-tier members (each may read 1,000 requests/s under Kalshi's token buckets, so the
  rate limiter is exercised but never the bottleneck). The requests are pre-signed before each run:
  the v2 signature covers timestamp, method and path, and a timestamp stays valid for 30 s; the server
  verifies every signature (see bench/loadgen.py).

Figures per workload: requests/s at saturation and wrk's latency p50/p99 (closed loop: latency at
saturation), the median of --runs runs; and the server's CPU time per request (from /proc), which is
what a request costs whatever else the machine is doing.

The peer, in the same run with the same wrk scripts: a raw HTTP server on httptools and uvloop
(bench/loadgen.py's `serve_peer`) answering the very bodies predictex gave (serialized again with
orjson for every request), after the same Kalshi v2 RSA-PSS check on the signed route, with nothing
else (no router, no limits, no read model, no HTTP semantics beyond the parser's). The ratios
predictex / peer say how much of the ceiling predictex reaches, whatever the machine.
Goals on a 2-core machine: 20,000 public and 10,000 signed requests/s, and at least half the peer's
signed requests/s. The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import (
    V2,
    Peer,
    Server,
    add_wrk_arguments,
    load_average,
    lua_headers,
    make_traders,
    run_wrk,
    wrk_available,
    wrk_summary,
    yardstick,
)

BOOK_PATH = V2 + "/markets/INXCHI-25JAN31-T69.5/orderbook"
BALANCE_PATH = V2 + "/portfolio/balance"
GOALS = {"public_requests_per_s": 20_000, "signed_requests_per_s": 10_000}


def signed_script(server: Server, traders: list[Any]) -> str:
    sets = ",\n  ".join(lua_headers(t.credentials.headers("GET", BALANCE_PATH)) for t in traders)
    return f"""
local sets = {{
  {sets}
}}
local i = 0
request = function()
  i = i % #sets + 1
  return wrk.format("GET", "{BALANCE_PATH}", sets[i])
end
"""


def measure(server: Server | Peer, path: str, args: argparse.Namespace, script: Any = None) -> dict[str, Any]:
    runs = []
    for _ in range(args.runs):
        cpu_before = server.cpu_seconds()
        result = run_wrk(f"http://127.0.0.1:{server.port}{path}", args.seconds, args.connections, script() if script else None)
        cpu = server.cpu_seconds() - cpu_before
        result["server_cpu_us_per_request"] = round(cpu / max(1.0, result["requests_per_s"] * args.seconds) * 1e6, 1)
        runs.append(result)
        time.sleep(0.5)
    return wrk_summary(runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add_wrk_arguments(parser)
    args = parser.parse_args(argv)
    if not wrk_available():
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    report: dict[str, Any] = {"bench": "rest", "load_average_at_start": load_average(), "yardstick_us": yardstick(), "runs": args.runs,
                              "seconds_per_run": args.seconds, "connections": args.connections, "accounts": args.accounts,
                              "load_generator": "wrk, 1 thread, separate process; signed requests pre-signed (RSA-PSS), verified by the server"}
    print(f"load average {report['load_average_at_start']:.2f}; {args.runs} runs of {args.seconds:.0f} s, "
          f"{args.connections} connections, wrk with one thread")
    with Server() as server:
        traders = make_traders(server, args.accounts)
        public = measure(server, BOOK_PATH, args)
        print(f"public GET orderbook    {public['requests_per_s']:>8,} req/s  p50 {public['p50_ms']} ms  p99 {public['p99_ms']} ms  "
              f"server CPU {public['server_cpu_us_per_request']} µs/request  runs {public['runs']}")
        signed = measure(server, BALANCE_PATH, args, lambda: signed_script(server, traders))
        print(f"signed GET balance      {signed['requests_per_s']:>8,} req/s  p50 {signed['p50_ms']} ms  p99 {signed['p99_ms']} ms  "
              f"server CPU {signed['server_cpu_us_per_request']} µs/request  runs {signed['runs']}")
        # The peer answers the same bodies predictex just gave (serialized again for every request).
        status, book = server.call("GET", BOOK_PATH)
        assert status == 200, book
        balance = server.signed(traders[0].credentials, "GET", BALANCE_PATH)
        print("peer: a raw httptools server answering the same bodies, with the same signature check on the signed route")
        with Peer(traders, {("GET", BOOK_PATH): "public", ("GET", BALANCE_PATH): "signed"},
                  {("GET", BOOK_PATH): book, ("GET", BALANCE_PATH): balance}) as peer:
            peer_public = measure(peer, BOOK_PATH, args)
            print(f"peer public            {peer_public['requests_per_s']:>8,} req/s  p50 {peer_public['p50_ms']} ms  "
                  f"p99 {peer_public['p99_ms']} ms  server CPU {peer_public['server_cpu_us_per_request']} µs/request")
            peer_signed = measure(peer, BALANCE_PATH, args, lambda: signed_script(server, traders))
            print(f"peer signed            {peer_signed['requests_per_s']:>8,} req/s  p50 {peer_signed['p50_ms']} ms  "
                  f"p99 {peer_signed['p99_ms']} ms  server CPU {peer_signed['server_cpu_us_per_request']} µs/request")
    report["public_orderbook"] = public
    report["signed_balance"] = signed
    report["peer"] = {"name": "raw httptools server: the same bodies (orjson per request), the same RSA-PSS check on the signed route",
                      "public_orderbook": peer_public, "signed_balance": peer_signed}
    report["ratios"] = {  # predictex / peer
        "public_requests_per_s": round(public["requests_per_s"] / max(1, peer_public["requests_per_s"]), 2),
        "signed_requests_per_s": round(signed["requests_per_s"] / max(1, peer_signed["requests_per_s"]), 2),
    }
    print(f"ratios (predictex / peer): public req/s {report['ratios']['public_requests_per_s']}x, "
          f"signed req/s {report['ratios']['signed_requests_per_s']}x")
    report["goals"] = {
        "public_20k_per_s": public["requests_per_s"] >= GOALS["public_requests_per_s"] and public["non_2xx"] == 0,
        "signed_10k_per_s": signed["requests_per_s"] >= GOALS["signed_requests_per_s"] and signed["non_2xx"] == 0,
        "signed_half_the_peer_or_more": report["ratios"]["signed_requests_per_s"] >= 0.5 and signed["non_2xx"] == 0,
    }
    report["wall_s"] = round(time.perf_counter() - started, 1)
    print("goals: " + ", ".join(f"{k} {'PASS' if v else 'FAIL'}" for k, v in report["goals"].items()))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
