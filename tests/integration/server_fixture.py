"""A real predictex exchange for integration tests, and small HTTP helpers to talk to it.

`running_server(...)` starts `Application` in a background thread with an event loop of its own, on
a free port (0), with a temporary data directory: demo or prod, SQLite by default or PostgreSQL in a
schema of its own (`postgres=True`; the schema is dropped afterwards). On exit it stops the server
the way `predictex serve` does (stop taking requests, finish the batch in flight, close the journal).

Requests go over real HTTP (http.client, one connection each) and come back as a `Reply`. How a
request is authenticated is an `Auth`: `kalshi_v2(credentials)` signs it as Kalshi v2 does
(ms timestamp + METHOD + path), `seed(credentials)` as the seed's KalshiAuth does (ISO timestamp +
METHOD + path relative to .../v1 + compact JSON body), `bearer(token)` sends a session token.

Setup that is not under test may go in-process: `server.submit(command)` runs an engine command
through the sequencer (there is no order endpoint yet), `server.on_loop(fn)` calls a function on the
server's thread.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import http.client
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from predictex.app import Application
from predictex.core import commands as c
from predictex.server import ids
from predictex.server.config import Config
from predictex.server.sequencer import Committed

POSTGRES_URL = os.environ.get("PREDICTEX_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
START_TIMEOUT_S = 60.0
CALL_TIMEOUT_S = 30.0
V2 = "/trade-api/v2"
ADMIN = "/predictex/v1/admin"
DEMO_TICKER = "INXCHI-25JAN31-T69.5"  # a demo market: YES bids 0.45-0.49, asks 0.51-0.55, 100 contracts a level

T = TypeVar("T")
PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


# --- replies --------------------------------------------------------------------------------------

@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error(self) -> dict[str, Any]:
        """The {"code", "message", "details"} object of an error reply."""
        found = self.json()["error"]
        assert isinstance(found, dict), f"not an error object: {self.body!r}"
        return found

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.body[:500]!r})"


# --- credentials and authentication ------------------------------------------------------------------

@dataclass
class Credentials:
    """An API key id and its private key (RSA or Ed25519)."""

    key_id: str
    private_key: PrivateKey

    @classmethod
    def from_pem(cls, key_id: str, pem: str | bytes) -> Credentials:
        key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
        assert isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey))
        return cls(key_id, key)

    def sign(self, text: str) -> str:
        message = text.encode("utf-8")
        if isinstance(self.private_key, ed25519.Ed25519PrivateKey):
            signature = self.private_key.sign(message)
        else:
            signature = self.private_key.sign(message, _PSS, hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    def headers(self, timestamp: str, signature: str) -> dict[str, str]:
        return {"KALSHI-ACCESS-KEY": self.key_id, "KALSHI-ACCESS-TIMESTAMP": timestamp, "KALSHI-ACCESS-SIGNATURE": signature}


Auth = Callable[[str, str, bytes | None], dict[str, str]]
"""(METHOD, path with query, body) -> the headers that authenticate the request."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso_timestamp(ms: int | None = None) -> str:
    """The seed's timestamp: strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-3] + "Z" (four fraction digits)."""
    moment = dt.datetime.fromtimestamp((now_ms() if ms is None else ms) / 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-3] + "Z"


def kalshi_v2_message(timestamp_ms: int, method: str, path: str) -> str:
    return f"{timestamp_ms}{method.upper()}{path.split('?', 1)[0]}"


def kalshi_v2(credentials: Credentials, *, timestamp_ms: int | None = None, signed_path: str | None = None) -> Auth:
    """Kalshi v2 signing: timestamp_ms + METHOD + path (no query, no body). `signed_path` signs
    another path than the one requested (to make a wrong signature on purpose)."""

    def headers(method: str, path: str, body: bytes | None) -> dict[str, str]:
        stamp = now_ms() if timestamp_ms is None else timestamp_ms
        message = kalshi_v2_message(stamp, method, signed_path or path)
        return credentials.headers(str(stamp), credentials.sign(message))

    return headers


def seed(credentials: Credentials, *, base: str = "/v1", timestamp_ms: int | None = None) -> Auth:
    """The seed's KalshiAuth: ISO timestamp + METHOD + the path relative to its base URL (.../v1)
    + json.dumps(body, separators=(',', ':')) when there is a body. The body itself is sent as
    `requests.post(json=body)` sends it, with the default separators."""

    def headers(method: str, path: str, body: bytes | None) -> dict[str, str]:
        stamp = iso_timestamp(timestamp_ms)
        relative = path[len(base):] if path.startswith(base + "/") else path
        message = stamp + method.upper() + relative
        if body:
            message += json.dumps(json.loads(body), separators=(",", ":"))
        return credentials.headers(stamp, credentials.sign(message))

    return headers


def bearer(token: str) -> Auth:
    return lambda method, path, body: {"Authorization": f"Bearer {token}"}


# --- HTTP -----------------------------------------------------------------------------------------

def http_request(port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                 host: str = "127.0.0.1") -> Reply:
    connection = http.client.HTTPConnection(host, port, timeout=CALL_TIMEOUT_S)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def encode_json(value: Any) -> bytes:
    """As `requests.post(json=...)` encodes a body: json.dumps with the default separators."""
    return json.dumps(value).encode("utf-8")


class HttpClient:
    """Requests to one exchange, by port; `data_dir` holds its operator.json."""

    data_dir: Path

    @property
    def port(self) -> int:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def operator(self) -> Credentials:
        """The operator's API key, from the operator.json the exchange wrote on its first start."""
        details = json.loads((self.data_dir / "operator.json").read_text())
        return Credentials.from_pem(details["api_key_id"], Path(details["private_key_path"]).read_bytes())

    def request(self, method: str, path: str, json_body: Any = None, *, auth: Auth | None = None, raw: bytes | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        """One HTTP request: a JSON body (`json_body`) or raw bytes (`raw`), authenticated by `auth`."""
        body = raw if raw is not None else (encode_json(json_body) if json_body is not None else None)
        sent = {"Content-Type": "application/json"} if body is not None else {}
        if auth is not None:
            sent.update(auth(method, path, body))
        sent.update(headers or {})
        return http_request(self.port, method, path, body, sent)

    def get(self, path: str, *, auth: Auth | None = None, headers: dict[str, str] | None = None) -> Reply:
        return self.request("GET", path, auth=auth, headers=headers)

    def get_ok(self, path: str, *, auth: Auth | None = None) -> Any:
        reply = self.get(path, auth=auth)
        assert reply.status == 200, reply
        return reply.json()

    def admin(self, method: str, path: str, json_body: Any = None, expect: int | None = None) -> Reply:
        """A call to the operator's API, signed with the operator's key."""
        reply = self.request(method, ADMIN + path, json_body, auth=kalshi_v2(self.operator))
        if expect is not None:
            assert reply.status == expect, reply
        return reply


# --- the server -----------------------------------------------------------------------------------

@dataclass
class Member:
    """A member made for a test, with an API key of their own."""

    email: str
    password: str
    member_id: str  # the wire UUID
    credentials: Credentials
    info: dict[str, Any] = field(default_factory=dict)


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop, as `predictex serve` runs (compiled code checks the types of what the loop hands it,
    and uvloop's objects differ from asyncio's), or asyncio's loop where uvloop is not installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


class RunningServer(HttpClient):
    """An `Application` serving on its own thread and event loop."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.data_dir = config.data_dir
        self.app = Application(config)
        self.loop = _new_event_loop()
        self._started = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="predictex-test-server", daemon=True)
        self.stopped = False

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self) -> RunningServer:
        self._thread.start()
        if not self._started.wait(START_TIMEOUT_S):
            raise TimeoutError(f"the server did not start within {START_TIMEOUT_S} s")
        if self._failure is not None:
            raise RuntimeError("the server failed to start") from self._failure
        return self

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.app.start())
        except BaseException as error:
            self._failure = error
            self._started.set()
            self.loop.close()
            return
        self._started.set()
        self.loop.run_forever()
        self.loop.close()

    def stop(self) -> None:
        """Shut down as `predictex serve` does on SIGTERM, then end the thread."""
        if self.stopped or not self._thread.is_alive():
            return
        self.stopped = True
        try:
            self.run(self.app.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(CALL_TIMEOUT_S)

    # --- in-process access ------------------------------------------------------------------------

    def run(self, coroutine: Coroutine[Any, Any, T], timeout_s: float = CALL_TIMEOUT_S) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)

    def on_loop(self, function: Callable[[], T]) -> T:
        async def call() -> T:
            return function()

        return self.run(call())

    def submit(self, command: c.Command) -> Committed:
        """Run an engine command through the sequencer; returns once it is committed."""
        exchange = self.app.exchange
        assert exchange is not None

        async def submit() -> Committed:
            return await exchange.sequencer.submit(command)

        return self.run(submit())

    def value(self, command: c.Command) -> int:
        """Submit a command that must be accepted; its outcome's value (an id, usually)."""
        committed = self.submit(command)
        assert committed.outcome.reject is None, f"{command.TYPE} refused: {committed.outcome.reject}"
        return int(committed.outcome.value)

    @property
    def port(self) -> int:
        return int(self.app.port)

    # --- setup helpers ------------------------------------------------------------------------------

    def new_member(self, email: str, *, password: str = "correct horse battery", tier: str = "basic", role: str = "member",
                   key_type: str = "rsa") -> Member:
        """A member created by the operator (over HTTP), with an API key generated in-process (so the
        setup costs one password hash, not two)."""
        info = self.admin("POST", "/members", {"email": email, "password": password, "tier": tier, "role": role}, expect=201).json()
        exchange = self.app.exchange
        assert exchange is not None
        number = exchange.ids.from_uuid(ids.MEMBER, info["member_id"])
        assert number is not None
        generated = self.on_loop(lambda: exchange.accounts.keys.generate(number, "test", key_type))
        return Member(email, password, info["member_id"], Credentials.from_pem(generated.key.key_id, generated.private_key_pem), info)

    def account_of(self, member: Member) -> int:
        exchange = self.app.exchange
        assert exchange is not None
        number = exchange.ids.from_uuid(ids.MEMBER, member.member_id)
        assert number is not None
        found = exchange.accounts.members.get(number)
        assert found is not None
        return int(found.engine_account_id)

    def funded_account(self, dollars: int = 10_000) -> int:
        """A fresh engine account holding `dollars` (in-process: there is no member behind it)."""
        account = self.value(c.OpenAccount())
        self.value(c.Deposit(account, dollars * 1_000_000, "test"))
        return account

    def trade(self, account: int, ticker: str, is_bid: bool, price_centicents: int, contracts: int) -> None:
        """A limit order that must be accepted (it trades if it crosses the book)."""
        self.value(c.CreateOrder(account, ticker, is_bid, price_centicents, contracts * 100))

    def create_instruments(self, series: str, event: str, tickers: list[str], *, close_in_s: int = 86_400 * 30) -> None:
        """A series, an event and binary markets, through the operator's API."""
        self.admin("POST", "/series", {"ticker": series, "title": f"Series {series}", "category": "Testing", "frequency": "daily"},
                   expect=201)
        self.admin("POST", "/events", {"event_ticker": event, "series_ticker": series, "title": f"Event {event}"}, expect=201)
        close = int(time.time()) + close_in_s
        for ticker in tickers:
            self.admin("POST", "/markets", {"ticker": ticker, "event_ticker": event, "title": f"Market {ticker}", "close_time": close},
                       expect=201)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


def _new_schema_url() -> tuple[str, str]:
    import psycopg

    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_URL else "?"
    return schema, f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"


def _drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return True
    except Exception:
        return False


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A PostgreSQL schema of its own for the length of the `with` block, as a database URL: for
    servers started one after another on the same journal (`running_server(database_url=...)`)."""
    schema, database_url = _new_schema_url()
    try:
        yield database_url
    finally:
        _drop_schema(schema)


@contextlib.contextmanager
def running_server(
    data_dir: Path, *, environment: str = "demo", postgres: bool = False, database_url: str = "", **settings: Any,
) -> Iterator[RunningServer]:
    """A server for the length of the `with` block (see the module docstring). `settings` go to
    Config (rate_limits, demo_markets, timestamp_window_ms, ...). `database_url` names a journal that
    outlives the server (the data directory's SQLite file is the default)."""
    schema = ""
    if postgres:
        schema, database_url = _new_schema_url()
    config = Config(port=0, data_dir=str(data_dir), database_url=database_url, environment=environment, **settings)
    server = RunningServer(config)
    try:
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            if schema:
                _drop_schema(schema)
