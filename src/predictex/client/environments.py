"""Where the exchanges are: a local predictex, Kalshi's demo and Kalshi's production (reference §1).
REST lives under /trade-api/v2 and the WebSocket at /trade-api/ws/v2 on the same host."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

LOCAL = "http://127.0.0.1:8000"
DEMO = "https://demo-api.kalshi.co"
PRODUCTION = "https://api.elections.kalshi.com"
ENVIRONMENTS = {"local": LOCAL, "demo": DEMO, "production": PRODUCTION}

REST_PREFIX = "/trade-api/v2"
WEBSOCKET_PATH = "/trade-api/ws/v2"


def root_url(url_or_environment: str) -> str:
    """The exchange's root URL, from an environment name or any URL of it (with or without
    /trade-api/v2); no trailing slash."""
    url = ENVIRONMENTS.get(url_or_environment, url_or_environment).rstrip("/")
    if "://" not in url:
        raise ValueError(f"{url_or_environment!r} is neither an environment ({', '.join(ENVIRONMENTS)}) nor a URL")
    if url.endswith(REST_PREFIX):
        url = url[: -len(REST_PREFIX)]
    return url


def websocket_url(url_or_environment: str) -> str:
    parts = urlsplit(root_url(url_or_environment))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path + WEBSOCKET_PATH, "", ""))
