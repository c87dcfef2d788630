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

The peer, in the same run with the same wrk scripts, each of its runs right after one of predictex's (the
ratios are the medians of the pairs' ratios, so that a machine whose load moves from minute to minute
compares like with like): a raw HTTP server on httptools and uvloop
(bench/loadgen.py's `serve_peer`) answering the very bodies predictex gave (serialized again with
orjson for every request), after the same Kalshi v2 RSA-PSS check on the signed route, with nothing
else (no router, no limits, no read model, no HTTP semantics beyond the parser's). The ratios
predictex / peer say how much of the ceiling predictex reaches, whatever the machine; so does the server's
CPU a request, peer / predictex, which a busy machine blurs less than requests/s.
Goals on a 2-core machine: 20,000 public and 10,000 signed requests/s, and at least half the peer's
signed requests/s. The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from statistics import median
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


def one_run(server: Server | Peer, path: str, args: argparse.Namespace, script: Any = None) -> dict[str, Any]:
    cpu_before = server.cpu_seconds()
    result = run_wrk(f"http://127.0.0.1:{server.port}{path}", args.seconds, args.connections, script() if script else None)
    cpu = server.cpu_seconds() - cpu_before
    result["server_cpu_us_per_request"] = round(cpu / max(1.0, result["requests_per_s"] * args.seconds) * 1e6, 1)
    time.sleep(0.5)
    return result


def paired(server: Server, peer: Peer, path: str, args: argparse.Namespace, script: Any = None) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """--runs pairs, each a predictex run then a peer run of the same workload (on a shared machine the load
    moves within a minute: a pair's two runs see about the same machine). Returns predictex's and the
    peer's summaries and the medians of the pairs' ratios: requests/s predictex / peer, and the server's
    CPU a request peer / predictex (both 1.0 at parity, below 1 when predictex costs more)."""
    ours, theirs = [], []
    for _ in range(args.runs):
        ours.append(one_run(server, path, args, script))
        theirs.append(one_run(peer, path, args, script))
    rate = [o["requests_per_s"] / max(1.0, t["requests_per_s"]) for o, t in zip(ours, theirs)]
    cpu = [t["server_cpu_us_per_request"] / max(0.1, o["server_cpu_us_per_request"]) for o, t in zip(ours, theirs)]
    ratios = {"requests_per_s": round(median(rate), 2), "server_cpu_per_request": round(median(cpu), 2),
              "pairs_requests_per_s": [round(r, 2) for r in rate], "pairs_server_cpu_per_request": [round(c, 2) for c in cpu]}
    return wrk_summary(ours), wrk_summary(theirs), ratios


def _line(name: str, summary: dict[str, Any]) -> str:
    return (f"{name:<22} {summary['requests_per_s']:>8,} req/s  p50 {summary['p50_ms']} ms  p99 {summary['p99_ms']} ms  "
            f"server CPU {summary['server_cpu_us_per_request']} µs/request  runs {summary['runs']}")


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
    print(f"load average {report['load_average_at_start']:.2f}; {args.runs} pairs of runs of {args.seconds:.0f} s (predictex, then the peer), "
          f"{args.connections} connections, wrk with one thread")
    with Server() as server:
        traders = make_traders(server, args.accounts)
        # The peer answers the same bodies predictex gives (serialized again for every request).
        status, book = server.call("GET", BOOK_PATH)
        assert status == 200, book
        balance = server.signed(traders[0].credentials, "GET", BALANCE_PATH)
        print("peer: a raw httptools server answering the same bodies, with the same signature check on the signed route")
        with Peer(traders, {("GET", BOOK_PATH): "public", ("GET", BALANCE_PATH): "signed"},
                  {("GET", BOOK_PATH): book, ("GET", BALANCE_PATH): balance}) as peer:
            public, peer_public, public_ratios = paired(server, peer, BOOK_PATH, args)
            print(_line("public GET orderbook", public))
            print(_line("peer public", peer_public))
            signed, peer_signed, signed_ratios = paired(server, peer, BALANCE_PATH, args, lambda: signed_script(server, traders))
            print(_line("signed GET balance", signed))
            print(_line("peer signed", peer_signed))
    report["public_orderbook"] = public
    report["signed_balance"] = signed
    report["peer"] = {"name": "raw httptools server: the same bodies (orjson per request), the same RSA-PSS check on the signed route",
                      "public_orderbook": peer_public, "signed_balance": peer_signed}
    report["ratios"] = {  # medians over the pairs: requests/s predictex / peer; CPU a request peer / predictex
        "public_requests_per_s": public_ratios["requests_per_s"],
        "signed_requests_per_s": signed_ratios["requests_per_s"],
        "public_server_cpu_per_request": public_ratios["server_cpu_per_request"],
        "signed_server_cpu_per_request": signed_ratios["server_cpu_per_request"],
    }
    report["pairs"] = {"public": public_ratios, "signed": signed_ratios}
    print(f"ratios (median of the pairs): public req/s {public_ratios['requests_per_s']}x (pairs {public_ratios['pairs_requests_per_s']}), "
          f"signed req/s {signed_ratios['requests_per_s']}x (pairs {signed_ratios['pairs_requests_per_s']}); server CPU a request, "
          f"peer / predictex: public {public_ratios['server_cpu_per_request']}x, signed {signed_ratios['server_cpu_per_request']}x")
    report["goals"] = {
        "public_20k_per_s": public["requests_per_s"] >= GOALS["public_requests_per_s"] and public["non_2xx"] == 0,
        "signed_10k_per_s": signed["requests_per_s"] >= GOALS["signed_requests_per_s"] and signed["non_2xx"] == 0,
        "signed_half_the_peer_or_more": report["ratios"]["signed_requests_per_s"] >= 0.5 and signed["non_2xx"] == 0,
    }
    report["load_average_at_end"] = load_average()
    report["wall_s"] = round(time.perf_counter() - started, 1)
    print("goals: " + ", ".join(f"{k} {'PASS' if v else 'FAIL'}" for k, v in report["goals"].items()))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
