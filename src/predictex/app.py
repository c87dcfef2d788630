"""The exchange process: journal, recovery, read model, accounts, the sequencer and every gateway,
wired together; first-start setup; and a clean shutdown (stop taking requests, finish the batch in
flight, leave a snapshot, close the journal).

A start first claims what it needs and refuses, changing nothing, when it cannot have it
(`server/writer_lock.py`): the data directory (usable, and locked against a second server), the
ports, and the database (reachable, and locked). Only then does it create anything. The first start
(`server/first_start.py`) is safe to kill at any step."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import orjson

from predictex.accounts import Accounts
from predictex.gateways import web
from predictex.gateways.rest import admin, admin_catalog, admin_incentives, admin_surveillance, members, openapi
from predictex.gateways.rest.kalshi_v2 import communications as v2_communications
from predictex.gateways.rest.kalshi_v2 import fee_changes as v2_fee_changes
from predictex.gateways.rest.kalshi_v2 import historical as v2_historical
from predictex.gateways.rest.kalshi_v2 import keys as v2_keys
from predictex.gateways.rest.kalshi_v2 import market_data as v2_market_data
from predictex.gateways.rest.kalshi_v2 import multivariate as v2_multivariate
from predictex.gateways.rest.kalshi_v2 import order_groups as v2_order_groups
from predictex.gateways.rest.kalshi_v2 import orders as v2_orders
from predictex.gateways.rest.kalshi_v2 import portfolio as v2_portfolio
from predictex.gateways.rest.kalshi_v2 import published as v2_published
from predictex.gateways.rest.seed_v1 import market_data as v1_market_data
from predictex.gateways.rest.seed_v1 import trading as v1_trading
from predictex.gateways.ws import WebSocketGateway
from predictex.journal import Journal, Recovery, open_store
from predictex.journal.base import JournalStore
from predictex.journal.records import JournalError
from predictex.readmodel import ReadModel
from predictex.server import demo, eligibility, payments
from predictex.server.bus import Bus
from predictex.server.clock import Clock, WallClock
from predictex.server.collector import Collector
from predictex.server.config import Config
from predictex.server.context import Exchange
from predictex.server.first_start import CREDENTIALS_FILE, OperatorCredentials, first_start, step
from predictex.server.http import HttpServer, Request, Response, error_response, json_response, text_response, use_uvloop
from predictex.server.ids import Ids
from predictex.server.metrics import Metrics
from predictex.server.router import Router
from predictex.server.sequencer import Replicator, Sequencer
from predictex.server.writer_lock import EXIT_PORT, Claim, Holder, StartRefused, claim, port_refusal
from predictex.surveillance.monitor import Surveillance

log = logging.getLogger("predictex.server")

SHUTDOWN_GRACE_S = 10.0
SIMULATOR_STOP_GRACE_S = 5.0
SIMULATOR_RESTART_BACKOFF_S = (1.0, 60.0)  # the wait before restarting a simulator that died: first, most (doubling)
SIMULATOR_HEALTHY_S = 120.0  # a simulator that ran this long before it died is restarted after the first wait again
LOCK_CHECK_INTERVAL_S = 5.0  # how often a lock held in a PostgreSQL session is checked


def build_router(exchange: Exchange, site: web.Site | None = None) -> Router:
    """Every route: the REST surfaces, the service routes, then the web pages (which mount the REST
    routes again under /web/api for the pages' scripts)."""
    router = Router(
        not_found=lambda request: error_response(404, "not_found", f"no such endpoint: {request.method} {request.path}"),
        method_not_allowed=None,
    )
    v2_market_data.register(router, exchange)
    v2_keys.register(router, exchange)
    v2_orders.register(router, exchange)
    v2_order_groups.register(router, exchange)
    v2_communications.register(router, exchange)
    v2_portfolio.register(router, exchange)
    v1_market_data.register(router, exchange)
    v1_trading.register(router, exchange)
    members.register(router, exchange)
    admin.register(router, exchange)
    v2_fee_changes.register(router, exchange)
    v2_historical.register(router, exchange)
    v2_published.register(router, exchange)
    v2_multivariate.register(router, exchange)
    admin_catalog.register(router, exchange)
    admin_surveillance.register(router, exchange)
    admin_incentives.register(router, exchange)

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
        return orjson.dumps(openapi.document(router, exclude=web.is_page_route))

    def openapi_json(request: Request, params: dict[str, str]) -> Response:
        """This document: every REST route the server answers"""
        return Response(200, spec(), [])

    router.add("GET", "/openapi.json", openapi_json)
    web.register(router, exchange, site)
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


class Replication(Replicator, Protocol):
    """A cluster's replicated journal (`predictex.cluster`): the sequencer's batches go through
    `replicate`, and the tables beside the journal (accounts, FIX sessions, surveillance decisions) are
    written through the store `tables_store` wraps around the journal's."""

    def tables_store(self, store: JournalStore) -> JournalStore: ...


class Application:
    def __init__(self, config: Config, clock: Clock | None = None, replication: Replication | None = None,
                 recovered: tuple[JournalStore, Journal, Recovery] | None = None) -> None:
        self.config = config
        self.replication = replication
        self._recovered = recovered  # a journal already open and recovered: a cluster standby's, kept up to date
        self.clock = clock or WallClock()
        self.metrics = Metrics()
        self.store: JournalStore | None = None
        self.sequencer: Sequencer | None = None
        self.exchange: Exchange | None = None
        self.http: HttpServer | None = None
        self.router: Router | None = None
        self.ws: WebSocketGateway | None = None
        self.fix: Any = None  # predictex.gateways.fix.FixServer when FIX ports are configured
        self.operator: OperatorCredentials | None = None  # made on this start (the first)
        self.stopped = asyncio.Event()
        self.collector = Collector()
        self._claim = Claim()  # the locks on the data directory and journal
        self._lock_guard: asyncio.Task[None] | None = None
        self.failure = ""  # why the server stopped on its own (the journal failed, a lock was lost)
        self.simulator: asyncio.subprocess.Process | None = None  # the market simulator's child process (demo)
        self._surveillance_catch_up: asyncio.Task[None] | None = None  # surveillance reading the journal at start-up
        self._simulator_guard: asyncio.Task[None] | None = None  # restarts it when it dies

    @property
    def port(self) -> int:
        assert self.http is not None
        return self.http.port

    async def start(self) -> None:
        """Claim the data directory, ports and database (refusing, unchanged, if any is not to be had),
        recover, finish or make the first start, then listen. A failure part-way closes what was opened."""
        config = self.config
        self._claim = claim(config, Holder.this_process("predictex serve"), {"HTTP": config.port, **_fix_ports(config)})
        step("claimed the data directory, ports and database")
        try:
            await self._open()
            await self._listen()
            await self._start_simulator()
        except BaseException:
            await self.stop()
            raise

    async def _open(self) -> None:
        config = self.config
        loop = asyncio.get_running_loop()
        if self._recovered is not None:  # a standby taking over: its engine already holds the journal's state
            store, journal, recovery = self._recovered
            self.store = store
            step("opened the journal")
        else:
            store = self.store = await loop.run_in_executor(None, open_store, config.database_url)
            step("opened the journal")
            journal = Journal(store)
            recovery = await loop.run_in_executor(None, journal.recover)
        log.info("recovered %s: %d commands (snapshot at %d, %d replayed, %d torn discarded) in %.2fs",
                 store.description, recovery.last_seq, recovery.snapshot_seq, recovery.replayed,
                 recovery.torn_records_discarded, recovery.seconds)
        step("recovered the journal")
        readmodel = await loop.run_in_executor(None, ReadModel.open, store, journal, recovery)
        step("opened the read model")
        replication = self.replication
        tables = store if replication is None else replication.tables_store(store)
        accounts = Accounts(tables, environment=config.environment, timestamp_window_ms=config.timestamp_window_ms)
        step("opened the accounts")
        surveillance = Surveillance(tables, config.surveillance, _simulated(accounts), self.clock.now_ms, checkpoint_store=store)
        self._surveillance_catch_up = asyncio.create_task(surveillance.catch_up_in_background(journal, recovery.last_seq))
        bus = Bus()
        bus.subscribe(surveillance.committed)
        self.sequencer = Sequencer(
            recovery.engine, journal, self.clock, last_seq=recovery.last_seq, last_time_ms=recovery.last_time_ms,
            projector=readmodel, listeners=[readmodel, bus], snapshot_every=config.snapshot_every, on_failure=self._journal_failed,
            between_batches=self.collector.between_batches, replicator=replication,
        )
        self.sequencer.start()
        self.exchange = Exchange(
            config, tables, readmodel, self.sequencer, accounts, Ids(_instance_id(store)), self.clock, self.metrics, bus,
            surveillance,
        )
        step("recorded the instance id")
        self._register_gauges()
        self.operator = await first_start(self.exchange, config.data_dir)
        await eligibility.reconcile(self.exchange)  # a change to who may trade whose engine command a crash lost
        payments.reconcile(self.exchange)  # a payment a crash left pending between its engine command and its record
        if demo.wanted(self.exchange):
            await demo.create_demo_markets(self.exchange)
            step("committed the demo markets")
        self.collector.install()  # the start-up state frozen, and the collector on the sequencer's schedule

    async def _listen(self) -> None:
        config = self.config
        assert self.exchange is not None
        site = web.Site(self.exchange)
        router = self.router = build_router(self.exchange, site)
        self.ws = WebSocketGateway(self.exchange, cookie_principal=functools.partial(web.cookie_principal, site),
                                   page_origin=web.page_origin)
        self.http = HttpServer(self._timed(router), upgrade_handler=self.ws.upgrade)
        try:
            await self.http.start(config.host, config.port)
        except OSError as error:  # taken since claim() looked
            self.http = None
            raise StartRefused(EXIT_PORT, port_refusal(config.host, config.port, "HTTP", error)) from error
        if config.fix_ports:
            from predictex.gateways.fix import FixServer, parse_ports

            self.fix = FixServer(self.exchange)
            try:
                await self.fix.start(config.host, parse_ports(config.fix_ports), config.fix_tls_cert, config.fix_tls_key)
            except OSError as error:
                raise StartRefused(EXIT_PORT, f"cannot listen for FIX on {config.host}: {error.strerror or error}") from error
        if self._claim.can_be_lost:
            self._lock_guard = asyncio.get_running_loop().create_task(self._guard_locks(), name="lock-guard")
        step("listening")

    async def _start_simulator(self) -> None:
        """The market simulator (`predictex sim`) in a child process of its own: its traders reach the
        exchange over the network like anyone's bot, and its work never holds this interpreter's GIL.
        If it dies it is started again, after a wait that doubles each time it dies young."""
        if not self.config.simulator:
            return
        command = self._simulator_command()
        self.simulator = await self._spawn_simulator(command)
        self._simulator_guard = asyncio.get_running_loop().create_task(self._guard_simulator(command), name="simulator-guard")

    def _simulator_command(self) -> list[str]:
        config = self.config
        command = [sys.executable, "-m", "predictex", "sim", "--url", _base_url(config.host, self.port),
                   "--data-dir", str(config.data_dir.absolute()), "--log-format", config.log_format]
        if config.sim_config:
            command += ["--config", config.sim_config]
        if config.sim_seed >= 0:
            command += ["--seed", str(config.sim_seed)]
        return command + self._simulator_fix()

    async def _spawn_simulator(self, command: list[str]) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(*command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL)
        log.info("started the market simulator (process %d)", process.pid)
        return process

    async def _guard_simulator(self, command: list[str]) -> None:
        wait_s, wait_max_s = SIMULATOR_RESTART_BACKOFF_S
        while self.simulator is not None:
            started = time.monotonic()
            code = await self.simulator.wait()
            if code == 0:
                log.info("the market simulator stopped by itself (exit code 0); it is not started again")
                return
            if time.monotonic() - started >= SIMULATOR_HEALTHY_S:
                wait_s = SIMULATOR_RESTART_BACKOFF_S[0]
            log.warning("the market simulator died (%s); starting it again in %d s", _exit_description(code), round(wait_s))
            await asyncio.sleep(wait_s)
            wait_s = min(wait_s * 2, wait_max_s)
            self.simulator = await self._spawn_simulator(command)

    def _simulator_fix(self) -> list[str]:
        """`--fix HOST:PORT` when FIX order entry (without retransmission) is served in the clear: the
        simulator's first maker then quotes over FIX, as the issue asks of one maker."""
        from predictex.gateways.fix import Kind, parse_ports

        if self.fix is None or Kind.ORDER_ENTRY not in parse_ports(self.config.fix_ports):
            return []
        if self.config.fix_tls_cert:
            log.info("the simulator's makers quote over REST: FIX is served over TLS only")
            return []
        host = _base_url(self.config.host, 0).removeprefix("http://").rpartition(":")[0]
        return ["--fix", f"{host}:{self.fix.port(Kind.ORDER_ENTRY)}"]

    async def _stop_simulator(self) -> None:
        guard, self._simulator_guard = self._simulator_guard, None
        if guard is not None:  # first, so that what is stopped next is not started again
            guard.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await guard
        simulator, self.simulator = self.simulator, None
        if simulator is None:
            return
        if simulator.returncode is None:
            simulator.terminate()  # it stops at the end of its step and closes its connections
            try:
                await asyncio.wait_for(simulator.wait(), SIMULATOR_STOP_GRACE_S)
            except TimeoutError:
                simulator.kill()
                await simulator.wait()
        log.info("the market simulator ended (exit code %s)", simulator.returncode)

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

    def _journal_failed(self, error: BaseException) -> None:
        log.critical("the journal failed; shutting down so a restart recovers from it: %s", error)
        self.failure = f"the journal failed: {error}"
        self.stopped.set()

    async def _guard_locks(self) -> None:
        """Stop if the lock on a PostgreSQL journal is lost with its session: another server could then
        take the journal while this one still writes it."""
        loop = asyncio.get_running_loop()
        while not self.stopped.is_set():
            await asyncio.sleep(LOCK_CHECK_INTERVAL_S)
            lost = await loop.run_in_executor(None, self._claim.lost)
            if lost:
                log.critical("%s; shutting down (one server per journal)", lost)
                self.failure = lost
                self.stopped.set()

    async def stop(self) -> None:
        """Stop taking requests, finish the batch in flight, leave a snapshot, close the journal."""
        await self._stop_simulator()
        if self._lock_guard is not None:
            self._lock_guard.cancel()
            self._lock_guard = None
        if self.ws is not None:
            await self.ws.close()  # WebSocket clients are told the server is going away (1001)
        if self.http is not None:
            await self.http.stop(SHUTDOWN_GRACE_S)
        if self.fix is not None:
            await self.fix.stop()
        if self.sequencer is not None:
            await self.sequencer.stop(snapshot=self.sequencer.failed is None)
        if self.exchange is not None and self.exchange.surveillance is not None and self.sequencer is not None \
                and self.sequencer.failed is None and self.store is not None:
            try:
                self.exchange.surveillance.checkpoint_at_stop()  # the next start reads the journal after it only
            except JournalError as error:  # a stop goes on: the next start reads from the last checkpoint instead
                log.error("surveillance checkpoint at stop not written: %s", error)
        if self.store is not None:
            self.store.close()
            self.store = None
        self._claim.release()
        self.collector.uninstall()
        self.stopped.set()

    def handle_signals(self) -> None:
        """From now on SIGINT and SIGTERM ask for a clean stop (one during the start takes effect once
        it is done), rather than killing the process."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopped.set)

    async def run_until_signalled(self) -> None:
        self.handle_signals()
        await self.stopped.wait()
        log.info("shutting down")
        await self.stop()


def _simulated(accounts: Accounts) -> Callable[[int], bool]:
    """Whether an engine account is a simulated trader's (the market simulator's members), whom
    surveillance and incentive scoring leave out."""

    def simulated(engine_account_id: int) -> bool:
        member = accounts.members.get_by_account(engine_account_id)
        return member is not None and member.simulated

    return simulated


def _instance_id(store: JournalStore) -> int:
    found = store.get_meta("instance_id")
    if found is None:
        found = str(secrets.randbits(32))
        store.set_meta("instance_id", found)
    return int(found)


def _fix_ports(config: Config) -> dict[str, int]:
    if not config.fix_ports:
        return {}
    from predictex.gateways.fix import parse_ports

    return {f"FIX {kind.value.replace('_', ' ')}": port for kind, port in parse_ports(config.fix_ports).items()}


def _exit_description(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _base_url(host: str, port: int) -> str:
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def banner(app: Application) -> str:
    """What `predictex serve` prints once it listens: where everything is, and commands that work as
    printed. No secret: the operator's credentials are in the file it names."""
    config = app.config
    base = _base_url(config.host, app.port)
    ws = base.replace("http://", "ws://", 1)
    lines = [
        f"predictex is running ({config.environment}) on {base}",
        f"  REST base URLs: Kalshi Trade API v2 {base}/trade-api/v2    the seed's API {base}/v1",
        f"  WebSocket: {ws}/trade-api/ws/v2 (Kalshi v2)    {ws}/v1/ws (the seed's)",
        f"  open: {base}/trade-api/v2/markets    API reference: {base}/openapi.json    health: {base}/health    metrics: {base}/metrics",
        f"  web: {base}/ (markets, trading, portfolio, API keys)    operator's console: {base}/operator",
        f"  journal: {app.store.description if app.store else ''}",
    ]
    if app.fix is not None:
        lines.append("  FIX: " + "    ".join(f"{kind.value} {app.fix.port(kind)}" for kind in app.fix.acceptor.servers))
    lines += _operator_lines(app, base)
    if config.is_demo:
        lines += [
            f"  trade: predictex keys create --url {base} --email you@example.com --profile local",
            "         (signs you up with $10,000 of play money and saves the key in profile local), then:",
            f"         predictex markets list    predictex order place {demo.MARKETS[0][0]} buy 1 0.51    predictex balance",
        ]
    else:
        lines.append(f"  members: predictex admin{_admin_flags(app, base)} member create EMAIL --password PASSWORD; each then gets a key "
                     f"with predictex keys create --url {base} --email EMAIL --profile local")
    if app.simulator is not None:
        lines.append("  simulator: simulated traders on rolling markets that open, trade, close and settle "
                     "(members marked simulated; --no-sim turns it off)")
    lines.append("  stop: Ctrl-C or SIGTERM (finishes the batch in flight and writes a snapshot)")
    return "\n".join(lines)


def _operator_lines(app: Application, base: str) -> list[str]:
    path = (app.config.data_dir / CREDENTIALS_FILE).absolute()
    if app.operator is not None:
        return [f"  operator: new credentials (API key and password) in {path}, readable only by you; "
                f"try: predictex admin{_admin_flags(app, base)} member list"]
    if path.exists():
        return [f"  operator: credentials in {path}; try: predictex admin{_admin_flags(app, base)} member list"]
    reset = f"predictex admin credentials reset --data-dir {app.config.data_dir}"
    if app.config.uses_postgres:
        reset += " --database-url URL"
    return [f"  operator: no credentials in {path}; with the server stopped, {reset} makes new ones"]


def _admin_flags(app: Application, base: str) -> str:
    """The flags `predictex admin` needs to find this server and its operator's credentials."""
    flags = "" if base == "http://127.0.0.1:8000" else f" --url {base}"
    if app.config.data_dir.absolute() != Path("predictex-data").absolute():
        flags += f" --data-dir {app.config.data_dir}"
    return flags


async def serve(config: Config) -> str:
    """Run until signalled; why it stopped on its own ("" when it was asked to)."""
    app = Application(config)
    app.handle_signals()
    await app.start()
    print(banner(app), flush=True)
    await app.run_until_signalled()
    return app.failure


def run(config: Config) -> str:
    use_uvloop()
    return asyncio.run(serve(config))
