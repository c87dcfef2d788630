"""HTTP server throughput: predictex's own server (bare handler, and behind the router) against
uvicorn (httptools + uvloop) and a raw httptools protocol (the ceiling), each in a subprocess,
driven by wrk on 127.0.0.1.

    python bench/http_server.py [--duration-s 5] [--connections 32] [--runs 3]

Every server answers GET /trade-api/v2/markets/{ticker}/orderbook with the same small JSON body,
made per request with orjson. Figures are medians of the runs (the machine may be shared and noisy).
wrk is a closed-loop load generator: its latencies suffer from coordinated omission, so read them as
"latency at saturation", not as a service-level distribution. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

PATH = "/trade-api/v2/markets/KXBENCH-25/orderbook"
BOOK = {"orderbook_fp": {"yes_dollars": [["0.4200", "13.00"]], "no_dollars": [["0.5600", "17.00"]]}}
KINDS = ("raw-httptools", "predictex", "predictex-router", "uvicorn")


# -- the servers (run in the subprocess) ---------------------------------------------------------


def _serve_predictex(port: int, routed: bool) -> None:
    from loadgen import prefer_sources, sources_unless_installed

    sources = sources_unless_installed()
    if sources is not None:
        sys.path.insert(0, sources)
    prefer_sources()  # PREDICTEX_BENCH_PURE=predictex.server: the compiled build's server as plain Python
    from predictex.server.http import HttpServer, Request, Response, json_response, use_uvloop
    from predictex.server.router import Router

    async def orderbook(request: Request, params: dict[str, str]) -> Response:
        return json_response(200, BOOK)

    async def bare(request: Request) -> Response:
        return json_response(200, BOOK)

    router = Router()
    for n in range(100):  # a realistic number of routes, so the lookup is not trivially small
        router.add("GET", f"/trade-api/v2/filler{n}/{{id}}", orderbook)
        router.add("GET", f"/trade-api/v2/static{n}", orderbook)
    router.add("GET", "/trade-api/v2/markets/{ticker}", orderbook)
    router.add("GET", "/trade-api/v2/markets/{ticker}/orderbook", orderbook)

    async def main() -> None:
        server = HttpServer(router if routed else bare)
        await server.start("127.0.0.1", port)
        print("ready", flush=True)
        await asyncio.Event().wait()

    use_uvloop()
    asyncio.run(main())


def _serve_raw(port: int) -> None:
    """The ceiling: an asyncio Protocol feeding httptools and writing a fixed response (no HTTP
    semantics at all: no limits, no keep-alive rules, no Date)."""
    import httptools
    import orjson
    import uvloop

    body = orjson.dumps(BOOK)
    reply = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)

    class Raw(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.parser = httptools.HttpRequestParser(self)

        def data_received(self, data: bytes) -> None:
            self.parser.feed_data(data)

        def on_message_complete(self) -> None:
            self.transport.write(reply)  # type: ignore[attr-defined]

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Raw, "127.0.0.1", port)
        print("ready", flush=True)
        await server.serve_forever()

    uvloop.run(main())


def _serve_uvicorn(port: int) -> None:
    import orjson
    import uvicorn

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = orjson.dumps(BOOK)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    print("ready", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", access_log=False,
                log_level="warning", lifespan="off")


# -- the driver ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _to_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _wrk(port: int, duration_s: float, connections: int, threads: int) -> dict[str, float]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration_s))}s", "--latency",
               f"http://127.0.0.1:{port}{PATH}"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=duration_s + 30)
    output = finished.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rps is None:
        raise RuntimeError(f"wrk failed: {output}{finished.stderr}")
    result = {"rps": float(rps.group(1))}
    for percentile in ("50", "90", "99"):
        found = re.search(rf"^\s+{percentile}(?:\.000)?%\s+(\S+)", output, re.MULTILINE)
        if found:
            result[f"p{percentile}_ms"] = _to_ms(found.group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = float(errors.group(1)) if errors else 0.0
    return result


def _measure(kind: str, args: argparse.Namespace) -> dict[str, Any] | None:
    port = _free_port()
    process = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if not _wait_listening(port, process):
            print(f"{kind}: server did not start: {process.stderr.read().decode()[-500:] if process.stderr else ''}")
            return None
        _wrk(port, 1, args.connections, args.threads)  # warm-up
        runs = [_wrk(port, args.duration_s, args.connections, args.threads) for _ in range(args.runs)]
    finally:
        process.terminate()
        process.wait(timeout=10)
    summary: dict[str, Any] = {key: round(statistics.median(run[key] for run in runs), 3) for key in runs[0]}
    summary["rps_runs"] = [round(run["rps"]) for run in runs]
    print(f"{kind:17} {summary['rps']:>9.0f} req/s (runs {summary['rps_runs']})  "
          f"p50 {summary.get('p50_ms', 0):.2f} ms  p90 {summary.get('p90_ms', 0):.2f} ms  p99 {summary.get('p99_ms', 0):.2f} ms")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration-s", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serve", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        if args.serve == "uvicorn":
            _serve_uvicorn(args.port)
        elif args.serve == "raw-httptools":
            _serve_raw(args.port)
        else:
            _serve_predictex(args.port, routed=args.serve == "predictex-router")
        return

    from loadgen import yardstick

    report: dict[str, Any] = {"bench": "http_server", "yardstick_us": yardstick(), "path": PATH, "connections": args.connections,
                              "duration_s": args.duration_s, "runs": args.runs, "results": {}}
    if shutil.which("wrk") is None:
        report["skipped"] = "wrk not found on PATH"
        print(json.dumps(report))
        return
    print(f"wrk -t{args.threads} -c{args.connections} -d{max(1, round(args.duration_s))}s, {args.runs} runs, medians")
    for kind in KINDS:
        if kind == "uvicorn" and importlib.util.find_spec("uvicorn") is None:
            print("uvicorn: not installed (pip install uvicorn), skipped")
            report["results"]["uvicorn"] = None
            continue
        report["results"][kind] = _measure(kind, args)
    ceiling = report["results"].get("raw-httptools")
    if ceiling:
        report["share_of_raw"] = {kind: round(result["rps"] / ceiling["rps"], 3)
                                  for kind, result in report["results"].items() if result}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
