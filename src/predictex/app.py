"""The exchange process: journal, recovery, read model, accounts, the sequencer and every gateway,
wired together; first-start setup; and a clean shutdown (stop taking requests, finish the batch in
flight, leave a snapshot, close the journal)."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import secrets
import signal
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import orjson

from predictex.accounts import Accounts
from predictex.accounts.keys import KeyType
from predictex.accounts.members import Role, Tier
from predictex.gateways.rest import admin, members, openapi
from predictex.gateways.rest.kalshi_v2 import keys as v2_keys
from predictex.gateways.rest.kalshi_v2 import market_data as v2_market_data
from predictex.gateways.rest.kalshi_v2 import order_groups as v2_order_groups
from predictex.gateways.rest.kalshi_v2 import orders as v2_orders
from predictex.gateways.rest.kalshi_v2 import portfolio as v2_portfolio
from predictex.gateways.rest.seed_v1 import market_data as v1_market_data
from predictex.gateways.rest.seed_v1 import trading as v1_trading
from predictex.gateways.ws import WebSocketGateway
from predictex.journal import Journal, open_store
from predictex.journal.base import JournalStore
from predictex.readmodel import ReadModel
from predictex.server.bus import Bus
from predictex.server.clock import Clock, WallClock
from predictex.server.collector import Collector
from predictex.server.config import Config
from predictex.server.context import Exchange
from predictex.server.demo import create_demo_markets
from predictex.server.http import HttpServer, Request, Response, error_response, json_response, text_response, use_uvloop
from predictex.server.ids import Ids
from predictex.server.membership import sign_up
from predictex.server.metrics import Metrics
from predictex.server.router import Router
from predictex.server.sequencer import Sequencer

log = logging.getLogger("predictex.server")

OPERATOR_EMAIL = "operator@predictex.local"
SHUTDOWN_GRACE_S = 10.0


def build_router(exchange: Exchange) -> Router:
    router = Router(
        not_found=lambda request: error_response(404, "not_found", f"no such endpoint: {request.method} {request.path}"),
        method_not_allowed=None,
    )
    v2_market_data.register(router, exchange)
    v2_keys.register(router, exchange)
    v2_orders.register(router, exchange)
    v2_order_groups.register(router, exchange)
    v2_portfolio.register(router, exchange)
    v1_market_data.register(router, exchange)
    v1_trading.register(router, exchange)
    members.register(router, exchange)
    admin.register(router, exchange)

    def health_check(request: Request, params: dict[str, str]) -> Response:
        """Liveness and readiness: the journal, the sequencer and the last committed sequence"""
        return health(exchange)

    def metrics(request: Request, params: dict[str, str]) -> Response:
        """Counters and latency histograms in Prometheus' text format"""
        return text_response(200, exchange.metrics.render(), "text/plain; version=0.0.4")

    router.add("GET", "/health", health_check)
    router.add("GET", "/metrics", metrics)

    @functools.cache
    def spec() -> bytes:  # built at the first request, when every route is in
        return orjson.dumps(openapi.document(router))

    def openapi_json(request: Request, params: dict[str, str]) -> Response:
        """This document: every REST route the server answers"""
        return Response(200, spec(), [])

    router.add("GET", "/openapi.json", openapi_json)
    return router


def health(exchange: Exchange) -> Response:
    sequencer = exchange.sequencer
    failed = sequencer.failed
    body = {
        "status": "failed" if failed else "ok",
        "environment": exchange.config.environment,
        "committed_seq": sequencer.committed_seq,
        "applied_seq": sequencer.last_seq,
        "journal": exchange.store.description,
    }
    if failed:
        body["error"] = str(failed)
    return json_response(503 if failed else 200, body)


class Application:
    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or WallClock()
        self.metrics = Metrics()
        self.store: JournalStore | None = None
        self.sequencer: Sequencer | None = None
        self.exchange: Exchange | None = None
        self.http: HttpServer | None = None
        self.router: Router | None = None
        self.ws: WebSocketGateway | None = None
        self.fix: Any = None  # predictex.gateways.fix.FixServer when FIX ports are configured
        self.operator: dict[str, Any] | None = None
        self.stopped = asyncio.Event()
        self.collector = Collector()

    @property
    def port(self) -> int:
        assert self.http is not None
        return self.http.port

    async def start(self) -> None:
        config = self.config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        store = self.store = await loop.run_in_executor(None, open_store, config.database_url)
        journal = Journal(store)
        recovery = await loop.run_in_executor(None, journal.recover)
        log.info("recovered %s: %d commands (snapshot at %d, %d replayed, %d torn discarded) in %.2fs",
                 store.description, recovery.last_seq, recovery.snapshot_seq, recovery.replayed,
                 recovery.torn_records_discarded, recovery.seconds)
        readmodel = await loop.run_in_executor(None, ReadModel.open, store, journal, recovery)
        accounts = Accounts(store, environment=config.environment, timestamp_window_ms=config.timestamp_window_ms)
        bus = Bus()
        self.sequencer = Sequencer(
            recovery.engine, journal, self.clock, last_seq=recovery.last_seq, last_time_ms=recovery.last_time_ms,
            projector=readmodel, listeners=[readmodel, bus], snapshot_every=config.snapshot_every, on_failure=self._journal_failed,
            between_batches=self.collector.between_batches,
        )
        self.sequencer.start()
        self.exchange = Exchange(
            config, store, readmodel, self.sequencer, accounts, Ids(_instance_id(store)), self.clock, self.metrics, bus,
        )
        self._register_gauges()
        await self._first_start()
        self.collector.install()  # the start-up state frozen, and the collector on the sequencer's schedule
        router = self.router = build_router(self.exchange)
        self.ws = WebSocketGateway(self.exchange)
        self.http = HttpServer(self._timed(router), upgrade_handler=self.ws.upgrade)
        await self.http.start(config.host, config.port)
        if config.fix_ports:
            from predictex.gateways.fix import FixServer, parse_ports

            self.fix = FixServer(self.exchange)
            await self.fix.start(config.host, parse_ports(config.fix_ports), config.fix_tls_cert, config.fix_tls_key)

    def _timed(self, router: Router) -> Any:
        """The router with every answer counted and timed. A route answered without suspending (most
        reads) stays a plain call: no coroutine is made for it."""
        record = self.metrics.record
        clock = time.perf_counter

        def handle(request: Request) -> Awaitable[Response] | Response:
            started = clock()
            result = router(request)
            if isinstance(result, Response):
                record(request.path, request.method, result.status, clock() - started)
                return result
            return finish(request, result, started)

        async def finish(request: Request, pending: Awaitable[Response], started: float) -> Response:
            response = await pending
            record(request.path, request.method, response.status, clock() - started)
            return response

        return handle

    def _register_gauges(self) -> None:
        sequencer = self.sequencer
        exchange = self.exchange
        assert sequencer is not None and exchange is not None
        self.metrics.gauge("predictex_commands_applied", lambda: sequencer.last_seq)
        self.metrics.gauge("predictex_commands_committed", lambda: sequencer.committed_seq)
        self.metrics.gauge("predictex_journal_lag_commands", lambda: sequencer.last_seq - sequencer.committed_seq)
        self.metrics.gauge("predictex_journal_batches_committed", lambda: sequencer.batches_committed)
        self.metrics.gauge("predictex_sequencer_queue", lambda: sequencer.queued)
        self.metrics.gauge("predictex_open_orders", lambda: len(exchange.live.orders))
        self.metrics.gauge("predictex_markets", lambda: len(exchange.live.markets))
        self.metrics.gauge("predictex_http_connections", lambda: self.http.connections if self.http else 0)
        self.metrics.gauge("predictex_ws_connections", lambda: self.ws.connections if self.ws else 0)

    async def _first_start(self) -> None:
        exchange = self.exchange
        assert exchange is not None
        if exchange.accounts.members.get_by_email(OPERATOR_EMAIL) is None:
            self.operator = await self._create_operator(exchange)
        if self.config.demo_markets and not exchange.live.markets:
            await create_demo_markets(exchange)

    async def _create_operator(self, exchange: Exchange) -> dict[str, Any]:
        password = secrets.token_urlsafe(12)
        member = await sign_up(exchange, OPERATOR_EMAIL, password, role=Role.ADMIN, tier=Tier.PRESTIGE)
        generated = exchange.accounts.keys.generate(member.member_id, "operator", KeyType.RSA)
        key_path = self.config.data_dir / "operator-key.pem"
        _write_private(key_path, generated.private_key_pem)
        details = {
            "email": OPERATOR_EMAIL, "password": password, "api_key_id": generated.key.key_id,
            "private_key_path": str(key_path.resolve()),
        }
        _write_private(self.config.data_dir / "operator.json", json.dumps(details, indent=2) + "\n")
        log.info("created the operator account %s", OPERATOR_EMAIL)
        return details

    def _journal_failed(self, error: BaseException) -> None:
        log.critical("the journal failed; shutting down so a restart recovers from it: %s", error)
        self.stopped.set()

    async def stop(self) -> None:
        """Stop taking requests, finish the batch in flight, leave a snapshot, close the journal."""
        if self.ws is not None:
            await self.ws.close()  # WebSocket clients are told the server is going away (1001)
        if self.http is not None:
            await self.http.stop(SHUTDOWN_GRACE_S)
        if self.fix is not None:
            await self.fix.stop()
        if self.sequencer is not None:
            await self.sequencer.stop(snapshot=self.sequencer.failed is None)
        if self.store is not None:
            self.store.close()
        self.collector.uninstall()
        self.stopped.set()

    async def run_until_signalled(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopped.set)
        await self.stopped.wait()
        log.info("shutting down")
        await self.stop()


def _instance_id(store: JournalStore) -> int:
    found = store.get_meta("instance_id")
    if found is None:
        found = str(secrets.randbits(32))
        store.set_meta("instance_id", found)
    return int(found)


def _write_private(path: Path, text: str) -> None:
    """A file only its owner can read (private keys, the operator's password)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    os.chmod(path, 0o600)


def banner(app: Application) -> str:
    config = app.config
    base = f"http://{config.host}:{app.port}"
    lines = [
        f"predictex is running ({config.environment}) on {base}",
        f"  Kalshi Trade API v2: {base}/trade-api/v2    the seed's API: {base}/v1",
        f"  journal: {app.store.description if app.store else ''}",
        f"  health: {base}/health    metrics: {base}/metrics    OpenAPI: {base}/openapi.json",
    ]
    if app.operator is not None:
        lines += [
            f"  operator account: {app.operator['email']}  password: {app.operator['password']}",
            f"  operator API key: {app.operator['api_key_id']}  private key: {app.operator['private_key_path']}",
            f"  (both saved, readable only by you, in {config.data_dir / 'operator.json'})",
        ]
    lines.append(f"  WebSocket: ws://{config.host}:{app.port}/trade-api/ws/v2 (Kalshi v2)    ws://{config.host}:{app.port}/v1/ws (the seed's)")
    lines.append(f"  get an API key: predictex keys create --url {base} --email you@example.com")
    return "\n".join(lines)


async def serve(config: Config) -> None:
    app = Application(config)
    await app.start()
    print(banner(app), flush=True)
    await app.run_until_signalled()


def run(config: Config) -> None:
    use_uvloop()
    asyncio.run(serve(config))
