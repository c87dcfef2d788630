"""Prometheus metrics, in the text exposition format, with no dependency: requests and their latency
per surface, and the sequencer's progress (commands, batches, journal lag, queue)."""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable

from predictex.core.limits import METRICS_REQUEST_KINDS_MAX

LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def surface(path: str) -> str:
    if path.startswith("/trade-api/v2"):
        return "kalshi_v2"
    if path.startswith("/trade-api/ws"):
        return "kalshi_ws"
    if path.startswith("/v1"):
        return "seed_v1"
    if path.startswith("/predictex"):
        return "predictex"
    return "other"


class Histogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS_S) + 1)
        self.total_s = 0.0
        self.observations = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(LATENCY_BUCKETS_S, seconds)] += 1  # the first bucket with seconds <= bound
        self.total_s += seconds
        self.observations += 1


class Metrics:
    def __init__(self) -> None:
        self.started_s = time.time()
        self.requests: dict[tuple[str, str, int], int] = {}
        self.latency: dict[str, Histogram] = {}
        self.gauges: dict[str, Callable[[], int]] = {}
        # (path, method, status) -> its counter key and histogram: one dict lookup per request
        self._kinds: dict[tuple[str, str, int], tuple[tuple[str, str, int], Histogram]] = {}

    def record(self, path: str, method: str, status: int, seconds: float) -> None:
        kind = self._kinds.get((path, method, status))
        if kind is None:
            kind = self._kind(path, method, status)
        key, histogram = kind
        self.requests[key] += 1
        histogram.counts[bisect_left(LATENCY_BUCKETS_S, seconds)] += 1
        histogram.total_s += seconds
        histogram.observations += 1

    def _kind(self, path: str, method: str, status: int) -> tuple[tuple[str, str, int], Histogram]:
        where = surface(path)
        key = (where, method, status)
        self.requests.setdefault(key, 0)
        histogram = self.latency.get(where)
        if histogram is None:
            histogram = self.latency[where] = Histogram()
        if len(self._kinds) >= METRICS_REQUEST_KINDS_MAX:
            self._kinds.clear()  # paths carry tickers and ids: forget them rather than grow
        kind = self._kinds[(path, method, status)] = (key, histogram)
        return kind

    def gauge(self, name: str, read: Callable[[], int]) -> None:
        self.gauges[name] = read

    def render(self) -> str:
        lines = [
            "# HELP predictex_http_requests_total HTTP requests answered, by surface, method and status.",
            "# TYPE predictex_http_requests_total counter",
        ]
        for (where, method, status), count in sorted(self.requests.items()):
            lines.append(f'predictex_http_requests_total{{surface="{where}",method="{method}",code="{status}"}} {count}')
        lines += [
            "# HELP predictex_http_request_seconds Time to answer an HTTP request.",
            "# TYPE predictex_http_request_seconds histogram",
        ]
        for where, histogram in sorted(self.latency.items()):
            cumulative = 0
            for bound, count in zip(LATENCY_BUCKETS_S, histogram.counts, strict=False):
                cumulative += count
                lines.append(f'predictex_http_request_seconds_bucket{{surface="{where}",le="{bound}"}} {cumulative}')
            lines.append(f'predictex_http_request_seconds_bucket{{surface="{where}",le="+Inf"}} {histogram.observations}')
            lines.append(f'predictex_http_request_seconds_sum{{surface="{where}"}} {histogram.total_s:.6f}')
            lines.append(f'predictex_http_request_seconds_count{{surface="{where}"}} {histogram.observations}')
        for name, read in sorted(self.gauges.items()):
            lines.append(f"# TYPE {name} gauge")
            lines.append(f"{name} {read()}")
        lines.append("# TYPE predictex_uptime_seconds gauge")
        lines.append(f"predictex_uptime_seconds {int(time.time() - self.started_s)}")
        return "\n".join(lines) + "\n"
