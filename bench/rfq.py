"""RFQ benchmark: requests for quotes executed over REST against a running `predictex serve`.

    python bench/rfq.py [--runs 3] [--round-trips 100] [--seconds 5] [--workers 4]

With no arguments it starts its own server (`python -m predictex serve`, demo environment, SQLite, rate
limits on) on a free port in a temporary directory, and stops it afterwards.

One RFQ round trip is four signed Kalshi v2 calls, each answered only once its command is durable:
the requester creates an RFQ for 10 contracts (`POST /communications/rfqs`), a maker quotes on it
(`POST /communications/quotes`), the requester accepts a side (`PUT .../quotes/{id}/accept`) and the
maker confirms (`PUT .../quotes/{id}/confirm`), which executes the trade off the book. Sides alternate
so positions stay small.

Workloads, each on keep-alive connections over loopback:
- round trip: one requester and one maker, one RFQ after another (--round-trips per run): the time
  from the RFQ's creation to the confirm's answer, p50 and p99;
- throughput: --workers pairs of members, each pair running round trips back to back for --seconds:
  RFQ trades executed per second (closed loop).

Figures are the median of --runs runs. No peer is named for this workload (nothing else serves
Kalshi's communications API); the server's CPU time per RFQ trade says what one costs. The last line
printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import V2, Credentials, Server, create_market, load_average, make_traders, median, percentile, yardstick

TICKER = "KXRFQBENCH-26DEC31-T1"


class Client:
    """One member on one keep-alive connection."""

    def __init__(self, port: int, credentials: Credentials) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.credentials = credentials

    def call(self, method: str, path: str, body: Any = None) -> Any:
        full = V2 + path
        payload = None if body is None else json.dumps(body).encode()
        headers = self.credentials.headers(method, full)
        if payload is not None:
            headers["Content-Type"] = "application/json"
        self.connection.request(method, full, body=payload, headers=headers)
        response = self.connection.getresponse()
        raw = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path} -> {response.status} {raw[:300]!r}")
        return json.loads(raw) if raw else None


def round_trip(requester: Client, maker: Client, side: str) -> None:
    rfq = requester.call("POST", "/communications/rfqs", {"market_ticker": TICKER, "contracts": 10, "rest_remainder": False})["id"]
    quote = maker.call("POST", "/communications/quotes", {"rfq_id": rfq, "yes_bid": "0.48", "no_bid": "0.48", "rest_remainder": False})["id"]
    requester.call("PUT", f"/communications/rfqs/{rfq}/quotes/{quote}/accept", {"accepted_side": side})
    maker.call("PUT", f"/communications/rfqs/{rfq}/quotes/{quote}/confirm")


def latencies(server: Server, pair: tuple[Credentials, Credentials], count: int) -> list[float]:
    requester, maker = Client(server.port, pair[0]), Client(server.port, pair[1])
    found = []
    for index in range(count):
        start = time.perf_counter()
        round_trip(requester, maker, "yes" if index % 2 else "no")
        found.append((time.perf_counter() - start) * 1000)
    return sorted(found)


def throughput(server: Server, pairs: list[tuple[Credentials, Credentials]], seconds: float) -> tuple[float, float]:
    """RFQ trades per second over `seconds`, all pairs at once; and the server's CPU microseconds per trade."""
    done = [0] * len(pairs)
    errors: list[BaseException] = []
    stop = time.monotonic() + seconds

    def work(index: int) -> None:
        requester, maker = Client(server.port, pairs[index][0]), Client(server.port, pairs[index][1])
        try:
            while time.monotonic() < stop:
                round_trip(requester, maker, "yes" if done[index] % 2 else "no")
                done[index] += 1
        except BaseException as error:  # reported after the run
            errors.append(error)
    cpu_before = server.cpu_seconds()
    began = time.monotonic()
    threads = [threading.Thread(target=work, args=(index,)) for index in range(len(pairs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    if errors:
        raise RuntimeError(f"a worker failed: {errors[0]}")
    trades = sum(done)
    cpu = server.cpu_seconds() - cpu_before
    return trades / elapsed, cpu / max(1, trades) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--round-trips", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    stick = yardstick()
    with Server() as server:
        create_market(server, "KXRFQBENCH", "KXRFQBENCH-26DEC31", TICKER)
        traders = make_traders(server, 2 * args.workers)
        pairs = [(traders[2 * i].credentials, traders[2 * i + 1].credentials) for i in range(args.workers)]
        round_trip(Client(server.port, pairs[0][0]), Client(server.port, pairs[0][1]), "yes")  # warm up
        runs: list[dict[str, float]] = []
        for run in range(args.runs):
            found = latencies(server, pairs[0], args.round_trips)
            per_s, cpu_us = throughput(server, pairs, args.seconds)
            runs.append({"p50_ms": percentile(found, 0.50), "p99_ms": percentile(found, 0.99), "trades_per_s": per_s,
                         "server_cpu_us_per_trade": cpu_us})
            print(f"run {run + 1}: round trip p50 {runs[-1]['p50_ms']:.2f} ms, p99 {runs[-1]['p99_ms']:.2f} ms; "
                  f"{per_s:.0f} RFQ trades/s with {args.workers} pairs ({cpu_us:.0f} us of server CPU each)")
    summary = {
        "bench": "rfq",
        "workload": (f"REST RFQ round trip (create RFQ, quote, accept, confirm: 4 signed calls, each durable), "
                     f"{args.round_trips} sequential per run; throughput with {args.workers} requester/maker pairs "
                     f"for {args.seconds:g} s; median of {args.runs} runs; SQLite, rate limits on"),
        "round_trip_p50_ms": round(median([r["p50_ms"] for r in runs]), 2),
        "round_trip_p99_ms": round(median([r["p99_ms"] for r in runs]), 2),
        "rfq_trades_per_s": round(median([r["trades_per_s"] for r in runs]), 1),
        "server_cpu_us_per_rfq_trade": round(median([r["server_cpu_us_per_trade"] for r in runs])),
        "load_average": load_average(),
        "yardstick_us": stick,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
