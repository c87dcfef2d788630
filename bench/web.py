"""The web pages' benchmark, against a real predictex server in its own process (demo, SQLite):

    python bench/web.py [--seconds 5] [--connections 32] [--runs 3] [--navigations 7] [--subscribers 1000] [--events 20]

1. Market pages served per second: wrk (one thread, keep-alive, --connections) fetching the demo
   market's page `/markets/INXCHI-25JAN31-T69.5` as a logged-in member (session cookie), the whole
   HTML rendered from the read model each time. Median of --runs runs. Goal: >= 2,000/s. Then the
   same for `GET .../orderbook` (the REST read the page's script makes), and the ratio: a yardstick
   of the server in the same conditions.
2. Navigation to a live book: Debian's chromium (headless, driven by Playwright) opens the market's
   page --navigations times as a logged-in member; the page itself records, in ms since the navigation
   began (performance.now()), when it first shows a book read from GET .../orderbook with its
   WebSocket open (`data-live-book-ms`). Median and max. Goal: < 500 ms on loopback. Skipped (null)
   when chromium or playwright is missing.
3. 1,000 live subscribers on one market: --subscribers WebSocket connections made as the page makes
   them (the session cookie, the page's Origin, Kalshi's /trade-api/ws/v2, `orderbook_delta` on the
   market), in two worker processes (frames read by hand, every message decoded with orjson); a producer
   places --events orders one at a time, --gap apart (each a new level: a bid of a distinct size at
   $0.05, so the delta names its event). Latency from the
   moment the producer sends the order (so it includes the HTTP request, the sequencer, the journal's
   commit and the fan-out) to the moment a subscriber has decoded the delta: p50, p99, max over every
   (event, subscriber) pair. Goal: p99 < 50 ms. (Simulated subscribers: a page then reads the book
   again, one GET of item 1's kind.)

No peer is named for the pages. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen

TICKER = "INXCHI-25JAN31-T69.5"
V2 = "/trade-api/v2"
CHROMIUM = "/usr/bin/chromium"
PRICE_CENTS = 5


def session_token(server: loadgen.Server, email: str) -> str:
    password = "bench password 1"
    server.admin("POST", "/members", {"email": email, "password": password})
    status, login = server.call("POST", V2 + "/login", {"email": email, "password": password})
    assert status == 200, login
    token: str = login["token"]
    return token


# --- 1. pages per second ------------------------------------------------------------------------------

def pages_per_second(server: loadgen.Server, token: str, args: argparse.Namespace) -> dict[str, Any]:
    script = f'wrk.headers["Cookie"] = "px_session={token}"\n'
    runs = []
    for _ in range(args.runs):
        before = server.cpu_seconds()
        result = loadgen.run_wrk(f"http://127.0.0.1:{server.port}/markets/{TICKER}", args.seconds, args.connections, script)
        result["server_cpu_us_per_request"] = (server.cpu_seconds() - before) * 1e6 / max(1.0, result["requests"])
        runs.append(result)
    summary = loadgen.wrk_summary(runs)
    summary["goal_per_s"] = 2000
    # in the same runs' conditions, the REST read the page's script makes (README: 88,889/s at yardstick
    # 8 µs): the ratio says what a page costs against the server's cheapest answer, whatever the machine
    reference = [loadgen.run_wrk(f"http://127.0.0.1:{server.port}{V2}/markets/{TICKER}/orderbook", args.seconds, args.connections)
                 for _ in range(args.runs)]
    summary["orderbook_get_per_s"] = round(loadgen.median([r["requests_per_s"] for r in reference]))
    summary["pages_per_orderbook_get"] = round(summary["requests_per_s"] / max(1, summary["orderbook_get_per_s"]), 3)
    return summary


# --- 2. navigation to a live book --------------------------------------------------------------------

def navigation(server: loadgen.Server, token: str, args: argparse.Namespace) -> dict[str, Any] | None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not Path(CHROMIUM).exists():
        return None
    times: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        context = browser.new_context()
        context.add_cookies([{"name": "px_session", "value": token, "domain": "127.0.0.1", "path": "/"}])
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{server.port}/")  # the static files cached, as for a member who browses
        for _ in range(args.navigations):
            page.goto(f"http://127.0.0.1:{server.port}/markets/{TICKER}")
            page.wait_for_selector("body[data-live-book-ms]", timeout=10_000)
            times.append(float(page.get_attribute("body", "data-live-book-ms") or "nan"))
        browser.close()
    return {"median_ms": loadgen.median(times), "max_ms": max(times), "runs_ms": times, "goal_ms": 500}


# --- 3. subscribers --------------------------------------------------------------------------------------

class _Page(asyncio.Protocol):
    """One page-like subscriber: the upgrade with the session cookie and the page's Origin, the page's
    subscription, then every delta of the producer's price timed as it is decoded (frames read here,
    JSON by orjson: the client should cost little next to what is measured)."""

    def __init__(self, port: int, token: str, received: dict[int, list[int]], ready: asyncio.Event, counter: list[int],
                 count: int) -> None:
        self.port, self.token, self.received, self.ready, self.counter, self.count = port, token, received, ready, counter, count
        self.transport: Any = None
        self.buffer = b""
        self.upgraded = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((f"GET /trade-api/ws/v2 HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
                         f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                         f"Origin: http://127.0.0.1:{self.port}\r\nCookie: px_session={self.token}\r\n\r\n").encode())

    def _send_text(self, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        self.transport.write(bytes((0x81, 0x80 | len(payload))) + mask + masked)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        buffer = self.buffer + data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                raise RuntimeError(f"upgrade refused: {buffer[:200]!r}")
            self.upgraded = True
            buffer = buffer[end + 4:]
            self._send_text(json.dumps({"id": 1, "cmd": "subscribe",
                                        "params": {"channels": ["orderbook_delta"], "market_tickers": [TICKER]}}).encode())
        position = 0
        while len(buffer) - position >= 2:
            opcode, length, start = buffer[position] & 0x0F, buffer[position + 1] & 0x7F, position + 2
            if length == 126:
                length, start = int.from_bytes(buffer[start:start + 2], "big"), start + 2
            elif length == 127:
                length, start = int.from_bytes(buffer[start:start + 8], "big"), start + 8
            if len(buffer) < start + length:
                break
            payload, position = buffer[start:start + length], start + length
            if opcode != 0x1:
                continue
            message = orjson.loads(payload)
            kind = message.get("type")
            if kind == "orderbook_delta":
                msg = message["msg"]
                if msg.get("price") == PRICE_CENTS and msg.get("delta", 0) > 0:
                    self.received.setdefault(int(msg["delta"]), []).append(now)
            elif kind == "orderbook_snapshot":
                self.counter[0] += 1
                if self.counter[0] == self.count:
                    self.ready.set()
            elif kind == "error":
                raise RuntimeError(f"refused: {message}")
        self.buffer = buffer[position:]


async def _subscribe(port: int, token: str, count: int) -> None:
    """Worker process: `count` page-like subscribers; prints READY, then, when stdin closes, what each
    delta's arrival times were ({size: [monotonic ns, ...]})."""
    received: dict[int, list[int]] = {}
    ready = asyncio.Event()
    counter = [0]
    loop = asyncio.get_running_loop()
    for _ in range(count):
        await loop.create_connection(lambda: _Page(port, token, received, ready, counter, count), "127.0.0.1", port)
    await asyncio.wait_for(ready.wait(), 120)
    gc.freeze()
    print("READY", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    print(json.dumps(received), flush=True)


def subscribers(server: loadgen.Server, token: str, args: argparse.Namespace) -> dict[str, Any]:
    trader = loadgen.make_traders(server, 1)[0]
    per_worker = [args.subscribers // 2, args.subscribers - args.subscribers // 2]
    workers = [subprocess.Popen([sys.executable, __file__, "--worker", str(server.port), token, str(count)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for count in per_worker]
    for worker in workers:
        assert worker.stdout is not None
        line = worker.stdout.readline()
        if line.strip() != "READY":
            raise RuntimeError(f"a subscriber worker failed: {line!r}")
    sent: dict[int, int] = {}
    path = V2 + "/portfolio/orders"
    for number in range(1, args.events + 1):
        size = 100 + number  # a distinct size: the delta names its event
        body = {"ticker": TICKER, "action": "buy", "side": "yes", "type": "limit", "count": size, "yes_price": PRICE_CENTS}
        headers = trader.credentials.headers("POST", path)
        sent[size] = time.monotonic_ns()
        status, answer = server.call("POST", path, body, headers)
        assert status == 201, answer
        time.sleep(args.gap)  # the deltas of one event are delivered before the next is sent
    time.sleep(1.0)
    latencies: list[float] = []
    delivered = 0
    for worker in workers:
        output, _ = worker.communicate(timeout=60)
        for size, stamps in json.loads(output.strip().splitlines()[-1]).items():
            delivered += len(stamps)
            latencies += [(stamp - sent[int(size)]) / 1e6 for stamp in stamps]
    latencies.sort()
    return {
        "subscribers": args.subscribers, "events": args.events, "delivered": delivered, "expected": args.subscribers * args.events,
        "p50_ms": round(loadgen.percentile(latencies, 0.50), 2), "p99_ms": round(loadgen.percentile(latencies, 0.99), 2),
        "max_ms": round(latencies[-1], 2), "goal_p99_ms": 50,
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        asyncio.run(_subscribe(int(sys.argv[2]), sys.argv[3], int(sys.argv[4])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--navigations", type=int, default=7)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--gap", type=float, default=0.3, help="seconds between events (each is delivered before the next)")
    args = parser.parse_args()
    with loadgen.Server(extra=("--no-rate-limits",)) as server:
        token = session_token(server, f"web-bench-{os.getpid()}@example.com")
        pages = pages_per_second(server, token, args)
        print(f"market pages: {pages['requests_per_s']}/s (runs {pages['runs']}), p99 {pages['p99_ms']} ms, "
              f"server {pages['server_cpu_us_per_request']:.0f} µs CPU a page; GET orderbook {pages['orderbook_get_per_s']}/s "
              f"in the same conditions ({pages['pages_per_orderbook_get']}x)", flush=True)
        navigated = navigation(server, token, args)
        print("navigation to a live book: " + (f"median {navigated['median_ms']:.0f} ms, max {navigated['max_ms']:.0f} ms"
                                               if navigated else "skipped (no chromium or playwright)"), flush=True)
        fanned = subscribers(server, token, args)
        print(f"{fanned['subscribers']} subscribers x {fanned['events']} events: {fanned['delivered']}/{fanned['expected']} delivered, "
              f"p50 {fanned['p50_ms']} ms, p99 {fanned['p99_ms']} ms, max {fanned['max_ms']} ms", flush=True)
    print(json.dumps({"bench": "web", "yardstick": loadgen.yardstick(), "market_pages": pages, "navigation_to_live_book": navigated,
                      "live_subscribers": fanned}))


if __name__ == "__main__":
    main()
