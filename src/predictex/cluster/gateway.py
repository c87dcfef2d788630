"""A gateway node (`predictex gateway`): more connections than one process serves, without a second writer.

A gateway reads the replicated log like a standby (`follower.py`): every batch is applied to an engine
of its own (the regenerated events compared byte for byte with the leader's) and written, with the read
model's history rows, to a local store, and the leader's changes to the accounts tables are applied to
the same store (its caches of members, keys and sessions are then forgotten, and a deleted key, a
logged-out session or a suspended member ends the WebSockets this gateway opened with it). The read model and the fan-out bus are fed those batches exactly as a sequencer feeds
them, so REST reads, the WebSocket's snapshots and deltas and the web pages are served by the same code
as on the leader, from this process's copy. The local store is a cache: where in the log it is, is kept
in it with each write, so a restarted gateway reads on from there.

Writes. Authentication (the same signature verifier, sessions and replay check, over the replicated
accounts tables) and the rate limits run here, as on the leader; a command the handler submits goes
through `Sequencer.submit`, whose `Forwarder` is this class: the command, as the journal stores it, and
its source, tagged `via` (this gateway's name, a per-process nonce and a counter), are sent to the
leader over NATS (`commands.py`). The client's answer waits until this gateway has read the command's
records from the log (found by `via` in their source) and applied them: so it goes out only once the
leader committed, the outcome is the one the engine produced, and a read after it on this gateway
sees the change.

Leader changes. A request nobody received (no responder: the leader is gone, its successor not yet
serving) is sent again. A request that may have been received (a timeout; "stopped" or "failed" from
a leader losing its lease, whose batch may be in the log without being acknowledged) is sent again
only after this gateway has read a new leader's marker: everything the old leader stored comes before
that marker (fencing, `log.py`), so a command not found by then was never applied, and sending it to
the new leader cannot apply it twice. Without a new leader within `FORWARD_WAIT_S` the client hears
503 ("not known whether it was accepted": it can look for its client_order_id).

What stays with the leader: writes to the accounts tables (API keys, log-in sessions, members, the
operator's API) and the web pages (a page view slides its session's expiry: a write) are proxied over
HTTP to the leader's advertised URL (from the lease), and answered after this gateway has read the log
to where it stood when the leader answered; the store refuses any other write to those tables from
this process. FIX is not served by gateways
yet (its sessions' sequence numbers are kept in those tables).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.client
import logging
import secrets
import time
import urllib.parse
from collections import deque
from collections.abc import Awaitable, Sequence
from typing import Any

import nats.errors
import orjson

from predictex.accounts import ACCOUNTS_SCHEMA, Accounts, Revocation, RevokedWhat
from predictex.app import build_router
from predictex.cluster.commands import command_subject, encode_request
from predictex.cluster.follower import Diverged
from predictex.cluster.lease import bucket, read_lease
from predictex.cluster.log import ACCOUNTS_APPLIED_META, BATCHES_APPLIED_META, LogEntry, NatsThread, ReplicatedLog, position
from predictex.cluster.node import INSTANCE_KEY
from predictex.core.codec import decode_command, encode_events
from predictex.core.limits import SEQUENCER_QUEUE_MAX
from predictex.gateways import web
from predictex.gateways.ws import WebSocketGateway
from predictex.journal import Journal, open_store
from predictex.journal.base import JournalStore, PassThroughStore, TableWrite
from predictex.journal.records import Record
from predictex.journal.sqlite import SqliteStore
from predictex.readmodel import ReadModel
from predictex.server.bus import Bus
from predictex.server.clock import WallClock
from predictex.server.config import Config
from predictex.server.context import Exchange
from predictex.server.http import HttpServer, Request, Response, error_response
from predictex.server.ids import Ids
from predictex.server.metrics import Metrics
from predictex.server.sequencer import Entry, Sequencer
from predictex.server.sequencer_errors import SequencerBusy, SequencerStopped, UnjournalableCommand

__all__ = ["Gateway", "GatewaySettings", "ReadOnlyTablesStore", "revocations"]

log = logging.getLogger("predictex.cluster.gateway")

REQUEST_TIMEOUT_S = 5.0  # one forward's wait for the leader's answer
FORWARD_WAIT_S = 30.0  # how long a forward waits for a (new) leader before the client hears 503
RETRY_PAUSE_S = 0.02
INBOX_MAX = 10_000  # log messages read but not yet applied; the reader waits beyond it
PROXY_TIMEOUT_S = 30.0
# Writes that change the accounts tables: served by the leader, proxied there (method other than GET/HEAD);
# the web pages (`web.is_page_route`) are proxied whatever the method.
LEADER_PREFIXES = (
    "/trade-api/v2/api_keys", "/trade-api/v2/login", "/trade-api/v2/logout", "/trade-api/v2/account/api_usage_level",
    "/v1/log_in", "/predictex/v1/members", "/predictex/v1/withdrawals", "/predictex/v1/admin",
)
_HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length"})


class GatewaySettings:
    def __init__(self, node: str, nats_urls: Sequence[str], replicas: int = 3) -> None:
        self.node = node
        self.nats_urls = list(nats_urls)
        self.replicas = replicas


class ReadOnlyTablesStore(PassThroughStore):
    """The store as a gateway's accounts see it: reads pass through; a write would make this copy differ
    from the leader's, so it is refused (the routes that write are proxied to the leader)."""

    def write(self, writes: list[TableWrite]) -> None:
        raise RuntimeError(f"a gateway node does not write {', '.join(w.table for w in writes)}: the leader does")

    def execute_schema(self, statements: Sequence[str]) -> None:
        """The accounts' own `CREATE TABLE IF NOT EXISTS` at start-up (the tables are there: the gateway
        made them, and the leader's later changes come through the log)."""
        self.inner.execute_schema(statements)

    def delete(self, table: str, where: str, params: Sequence[Any] = ()) -> None:
        raise RuntimeError(f"a gateway node does not delete from {table}: the leader does")


class _Forward:
    __slots__ = ("commands_json", "entries", "future", "resolved", "single", "source", "via")

    def __init__(self, via: str, commands_json: list[bytes], source: bytes, single: bool, future: asyncio.Future[Any]) -> None:
        self.via = via
        self.commands_json = commands_json
        self.source = source
        self.single = single
        self.future = future
        self.entries: list[Entry] = []
        self.resolved = False  # set on the exchange's loop once its records were applied


def _with_via(source: bytes, via: str) -> bytes:
    tag = b'"via":' + orjson.dumps(via)
    return source[:-1] + b"," + tag + b"}" if source.endswith(b"}") and len(source) > 2 else b"{" + tag + b"}"


def _via(source: bytes) -> str | None:
    if b'"via"' not in source:
        return None
    found: Any = orjson.loads(source)
    via = found.get("via") if isinstance(found, dict) else None
    return via if isinstance(via, str) else None


class Gateway:
    def __init__(self, config: Config, settings: GatewaySettings) -> None:
        self.config = config
        self.settings = settings
        self.nats: NatsThread | None = None
        self.log: ReplicatedLog | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.store: JournalStore | None = None
        self.journal: Journal | None = None
        self.readmodel: ReadModel | None = None
        self.bus = Bus()
        self.sequencer: Sequencer | None = None
        self.exchange: Exchange | None = None
        self.accounts: Accounts | None = None
        self.http: HttpServer | None = None
        self.ws: WebSocketGateway | None = None
        self.stopped = asyncio.Event()
        self.failure = ""
        self.stream_seq = 0  # every log message up to here is applied
        self.accounts_seq = 0
        self.leader = ""  # the node whose message came last
        self.leader_url = ""
        self.marker_stream_seq = 0  # the last leader marker applied
        self._inbox: deque[LogEntry] = deque()
        self._pending: dict[str, _Forward] = {}
        self._nonce = secrets.token_hex(4)
        self._forwarded = 0
        self._catching_up: asyncio.Future[None] | None = None
        self._catch_up_to = 0
        self._reading: Any = None
        self.batches_applied = 0

    @property
    def port(self) -> int:
        assert self.http is not None
        return self.http.port

    # --- start and stop -------------------------------------------------------------------------

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        settings = self.settings
        nats_thread = self.nats = NatsThread(settings.nats_urls, f"gateway-{settings.node}")
        replicated = self.log = ReplicatedLog(nats_thread, settings.node, settings.replicas)
        await asyncio.to_thread(replicated.ensure_stream)
        instance_id = await asyncio.wrap_future(nats_thread.spawn(self._instance_id()))
        await asyncio.to_thread(self._open)
        tip, _ = await asyncio.wrap_future(nats_thread.spawn(replicated._tip()))
        self._catch_up_to = tip
        self._catching_up = self.loop.create_future()
        if self.stream_seq >= tip:
            self._catching_up.set_result(None)
        self._reading = nats_thread.spawn(self._read(self.stream_seq))
        await self._catching_up  # reads and the WebSocket's snapshots start from the log's tip
        log.info("gateway %s caught up with the log at stream sequence %d (record %d)", settings.node, self.stream_seq,
                 self.sequencer.last_seq if self.sequencer else 0)
        self._build(instance_id)
        await self._listen()

    def _open(self) -> None:
        store = self.store = open_store(self.config.database_url)
        if isinstance(store, SqliteStore):  # a cache: a crash loses at most the last writes, read again from the log
            store.set_synchronous("NORMAL")
        store.execute_schema(ACCOUNTS_SCHEMA)
        journal = self.journal = Journal(store)
        recovery = journal.recover()
        self.readmodel = ReadModel.open(store, journal, recovery)
        self.accounts_seq = int(store.get_meta(ACCOUNTS_APPLIED_META) or 0)
        self.stream_seq = min(int(store.get_meta(BATCHES_APPLIED_META) or 0), self.accounts_seq)
        self.readmodel.listeners.append(self.bus.committed)
        self.sequencer = Sequencer(recovery.engine, journal, WallClock(), last_seq=recovery.last_seq,
                                   last_time_ms=recovery.last_time_ms, forwarder=self)

    def _build(self, instance_id: int) -> None:
        config = self.config
        assert self.store is not None and self.readmodel is not None and self.sequencer is not None
        tables = ReadOnlyTablesStore(self.store)
        self.accounts = Accounts(tables, environment=config.environment, timestamp_window_ms=config.timestamp_window_ms)
        self.exchange = Exchange(config, tables, self.readmodel, self.sequencer, self.accounts, Ids(instance_id),
                                 self.sequencer.clock, Metrics(), self.bus, None)

    async def _listen(self) -> None:
        assert self.exchange is not None
        site = web.Site(self.exchange)
        router = build_router(self.exchange, site)
        self.ws = WebSocketGateway(self.exchange, cookie_principal=functools.partial(web.cookie_principal, site),
                                   page_origin=web.page_origin)
        self.http = HttpServer(functools.partial(self._route, router), upgrade_handler=self.ws.upgrade)
        await self.http.start(self.config.host, self.config.port)

    async def _instance_id(self) -> int:
        """The cluster's instance id (the stem of every order's wire id), made by its first leader."""
        assert self.nats is not None
        kv = await bucket(self.nats, self.settings.replicas)
        while True:
            with contextlib.suppress(Exception):
                entry = await kv.get(INSTANCE_KEY)
                lease = await read_lease(kv)
                if lease is not None:
                    self.leader, self.leader_url = lease.node, lease.url
                return int((entry.value or b"0").decode())
            await asyncio.sleep(0.1)  # no leader has started yet

    async def stop(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.http is not None:
            await self.http.stop(5.0)
        if self._reading is not None:
            self._reading.cancel()
        for forward in list(self._pending.values()):
            self._fail(forward, SequencerStopped("the gateway is shutting down"))
        if self.sequencer is not None:
            await self.sequencer.stop(snapshot=self.failure == "")
        if self.nats is not None:
            self.nats.close()
        if self.store is not None:
            self.store.close()
            self.store = None
        self.stopped.set()

    async def run_until_signalled(self) -> str:
        import signal

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopped.set)
        await self.stopped.wait()
        await self.stop()
        return self.failure

    # --- reading the log ------------------------------------------------------------------------

    async def _read(self, after: int) -> None:
        """On the NATS loop: hand every message of the log to the exchange's loop, in order."""
        assert self.log is not None and self.loop is not None
        inbox = self._inbox
        try:
            async for entry in self.log.entries(after):
                inbox.append(entry)
                if len(inbox) == 1:
                    self.loop.call_soon_threadsafe(self._drain)
                while len(inbox) > INBOX_MAX:
                    await asyncio.sleep(0.001)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.loop.call_soon_threadsafe(self._stop_failed, f"reading the log failed: {type(error).__name__}: {error}")

    def _drain(self) -> None:
        inbox = self._inbox
        batch: list[LogEntry] = []
        try:
            while inbox:
                entry = inbox.popleft()
                if entry.stream_seq <= self.stream_seq:
                    continue
                if entry.stream_seq != self.stream_seq + len(batch) + 1:
                    raise Diverged(f"stream sequence {self.stream_seq + len(batch) + 1} is missing (got {entry.stream_seq})")
                if entry.is_accounts or entry.is_marker:
                    self._apply_batches(batch)
                    batch = []
                    self._apply_other(entry)
                else:
                    batch.append(entry)
            self._apply_batches(batch)
        except Exception as error:  # a log this copy cannot follow: stop rather than serve something else
            log.critical("gateway %s stops: %s", self.settings.node, error)
            self._stop_failed(f"{type(error).__name__}: {error}")
            return
        if self._catching_up is not None and not self._catching_up.done() and self.stream_seq >= self._catch_up_to:
            self._catching_up.set_result(None)

    def _stop_failed(self, why: str) -> None:
        if not self.failure:
            self.failure = why
        if self._catching_up is not None and not self._catching_up.done():
            self._catching_up.set_exception(Diverged(why))
        self.stopped.set()

    def _apply_other(self, entry: LogEntry) -> None:
        assert self.store is not None and self.sequencer is not None
        self.leader = entry.leader
        if entry.is_accounts:
            if entry.stream_seq > self.accounts_seq:
                change = entry.table_change()
                if change.schema:
                    self.store.execute_schema(change.schema)
                if change.delete is not None:
                    self.store.delete(*change.delete)
                self.store.write([*change.writes, *_positions(entry.stream_seq)])
                self.accounts_seq = entry.stream_seq
                if self.accounts is not None:
                    self.accounts.forget()
                    for revocation in revocations(change.writes):  # what this gateway opened with them ends
                        self.accounts.revocations.publish(revocation)
        else:  # a new leader's marker: whatever the last one stored is before it
            if entry.last_seq > self.sequencer.last_seq:
                raise Diverged(f"leader {entry.leader} began at record {entry.last_seq}; this gateway is at {self.sequencer.last_seq}")
            self.marker_stream_seq = entry.stream_seq
            log.info("gateway %s: %s leads from stream sequence %d", self.settings.node, entry.leader, entry.stream_seq)
        self.stream_seq = entry.stream_seq

    def _apply_batches(self, batch: list[LogEntry]) -> None:
        """Apply consecutive batches of the log as one: the engine, the local store (journal, history rows,
        the position), then the read model and the bus, then the forwards they complete."""
        if not batch:
            return
        sequencer, journal, readmodel = self.sequencer, self.journal, self.readmodel
        assert sequencer is not None and journal is not None and readmodel is not None
        engine = sequencer.engine
        records: list[Record] = []
        entries: list[Entry] = []
        for message in batch:
            for record in message.records():
                if record.seq <= sequencer.last_seq:
                    continue
                if record.seq != sequencer.last_seq + 1:
                    raise Diverged(f"record {sequencer.last_seq + 1} is missing from the log (next is {record.seq})")
                command = decode_command(orjson.loads(record.command_json))
                outcome = engine.apply(command, record.time_ms)
                if orjson.dumps(encode_events(outcome.events)) != record.events_json:
                    raise Diverged(f"replaying record {record.seq} gave other events than the leader's")
                records.append(record)
                entries.append(Entry(record.seq, record.time_ms, command, outcome, record))
                sequencer.last_seq = record.seq
                sequencer.last_time_ms = record.time_ms
        last = batch[-1]
        self.leader = last.leader
        if entries:
            journal.append(records, [*readmodel.writes(entries), *_positions(last.stream_seq)])
        elif self.store is not None:  # batches this copy held already (a restart)
            self.store.write(_positions(last.stream_seq))
        self.stream_seq = self.accounts_seq = last.stream_seq
        sequencer.committed_seq = sequencer.last_seq
        self.batches_applied += len(batch)
        if entries:
            readmodel.committed(entries)  # the read model, then its listeners: the bus (WebSocket)
            if self._pending:
                self._complete(entries)

    def _complete(self, entries: list[Entry]) -> None:
        done: list[_Forward] = []
        for entry in entries:
            via = _via(entry.record.source_json)
            forward = self._pending.get(via) if via is not None else None
            if forward is None:
                continue
            forward.entries.append(entry)
            if len(forward.entries) == len(forward.commands_json):
                forward.resolved = True
                del self._pending[forward.via]
                done.append(forward)
        for forward in done:
            if not forward.future.done():
                forward.future.set_result(forward.entries[0] if forward.single else list(forward.entries))

    # --- forwarding commands --------------------------------------------------------------------

    def forward(self, commands_json: list[bytes], source: bytes, single: bool) -> asyncio.Future[Any]:
        """The sequencer's Forwarder (on the exchange's loop)."""
        assert self.loop is not None and self.nats is not None
        if self.failure or self.stopped.is_set():
            raise SequencerStopped("the gateway is shutting down")
        if len(self._pending) >= SEQUENCER_QUEUE_MAX:
            raise SequencerBusy(f"{SEQUENCER_QUEUE_MAX} commands are waiting for the leader")
        self._forwarded += 1
        via = f"{self.settings.node}/{self._nonce}.{self._forwarded}"
        forward = _Forward(via, commands_json, _with_via(source, via), single, self.loop.create_future())
        self._pending[via] = forward
        self.nats.spawn(self._send(forward))
        return forward.future

    async def _send(self, forward: _Forward) -> None:
        """On the NATS loop: to the leader until its records are read from the log (module docstring)."""
        assert self.nats is not None
        payload = encode_request(forward.commands_json, forward.source)
        deadline = time.monotonic() + FORWARD_WAIT_S
        while not forward.resolved:
            marker = self.marker_stream_seq
            try:
                reply = await self.nats.client.request(command_subject(self.leader), payload, timeout=REQUEST_TIMEOUT_S)
                answer: dict[str, Any] = orjson.loads(reply.data)
                error = answer.get("error")
                if error == "busy":
                    return self._fail_soon(forward, SequencerBusy(str(answer.get("detail", "the leader is busy"))))
                if error == "invalid":
                    return self._fail_soon(forward, UnjournalableCommand(str(answer.get("detail", "refused by the leader"))))
                if error is None:  # committed: the log brings it
                    while not forward.resolved and time.monotonic() < deadline and not self.failure:
                        await asyncio.sleep(RETRY_PAUSE_S)
                    break
            except nats.errors.NoRespondersError:  # nobody received it: sending it again is safe
                if time.monotonic() >= deadline:
                    break
                await asyncio.sleep(RETRY_PAUSE_S)
                continue
            except (nats.errors.TimeoutError, TimeoutError, nats.errors.Error) as error:
                log.info("forward %s: %s; waiting for the log", forward.via, type(error).__name__)
            # received, perhaps stored: send again only once a new leader's marker is read (then it is not)
            while (not forward.resolved and self.marker_stream_seq == marker and time.monotonic() < deadline
                   and not self.failure):
                await asyncio.sleep(RETRY_PAUSE_S)
            if time.monotonic() >= deadline or self.failure:
                break
        if not forward.resolved:
            self._fail_soon(forward, SequencerStopped(
                "no leader committed it in time; it may or may not have been accepted (look for its client_order_id)"))

    def _fail_soon(self, forward: _Forward, error: BaseException) -> None:
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self._fail, forward, error)

    def _fail(self, forward: _Forward, error: BaseException) -> None:
        if forward.resolved:
            return
        self._pending.pop(forward.via, None)
        if not forward.future.done():
            forward.future.set_exception(error)

    # --- HTTP -----------------------------------------------------------------------------------

    def _route(self, router: Any, request: Request) -> Awaitable[Response] | Response:
        if web.is_page_route(request.path) or (request.method not in ("GET", "HEAD") and request.path.startswith(LEADER_PREFIXES)):
            return self._proxy(request)  # the web pages too: a page view slides its session's expiry (a write)
        result: Awaitable[Response] | Response = router(request)
        return result

    async def _proxy(self, request: Request) -> Response:
        """A write to the accounts tables, made by the leader; answered once this copy has it too."""
        assert self.nats is not None and self.loop is not None
        url = await asyncio.wrap_future(self.nats.spawn(self._leader_url()))
        if not url:
            return error_response(503, "service_unavailable", "no node leads the cluster right now; try again")
        try:
            status, headers, body = await asyncio.to_thread(_forward_http, url, request)
            tip = await asyncio.wrap_future(self.nats.spawn(self._stream_tip()))
        except OSError as error:
            return error_response(503, "service_unavailable", f"the leader did not answer ({error}); try again")
        deadline = time.monotonic() + PROXY_TIMEOUT_S
        while self.stream_seq < tip and time.monotonic() < deadline:
            await asyncio.sleep(RETRY_PAUSE_S)
        content_type = next((value for name, value in headers if name.lower() == "content-type"), None)
        kept = [(name, value) for name, value in headers if name.lower() not in _HOP_HEADERS and name.lower() != "content-type"
                and name.lower() != "date"]
        return Response(status, body, kept, content_type)

    async def _leader_url(self) -> str:
        assert self.nats is not None
        kv = await bucket(self.nats, self.settings.replicas)
        lease = await read_lease(kv)
        self.leader_url = lease.url if lease is not None else ""
        return self.leader_url

    async def _stream_tip(self) -> int:
        assert self.nats is not None
        info = await self.nats.js.stream_info("PREDICTEX_JOURNAL")
        return int(info.state.last_seq)


def revocations(writes: list[TableWrite]) -> list[Revocation]:
    """The revocations a change the leader made to the accounts tables stands for (the leader published
    them to its own connections; a gateway publishes them to its own): a key deleted, a session logged
    out, a member suspended or closed."""
    found: list[Revocation] = []
    for write in writes:
        for row in write.rows:
            values = dict(zip(write.columns, row, strict=False))
            if write.table == "accounts_api_keys" and values.get("deleted_ms") is not None:
                key_id = str(values["key_id"])
                found.append(Revocation(RevokedWhat.KEY, key_id, int(values["member_id"]), f"API key {key_id} was deleted"))
            elif write.table == "accounts_sessions" and values.get("revoked"):
                found.append(Revocation(RevokedWhat.SESSION, str(values["token_hash"]), int(values["member_id"]),
                                        "the session token was logged out"))
            elif (write.table == "accounts_suspensions" and values.get("suspended")) or write.table == "accounts_closures":
                member_id = int(values["member_id"])
                done = "suspended" if write.table == "accounts_suspensions" else "closed"
                found.append(Revocation(RevokedWhat.MEMBER, str(member_id), member_id, f"member {member_id} was {done} by the operator"))
    return found


def _positions(stream_seq: int) -> list[TableWrite]:
    return [position(BATCHES_APPLIED_META, stream_seq), position(ACCOUNTS_APPLIED_META, stream_seq)]


def _forward_http(url: str, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request to the leader, as the client sent it (its signature covers the method and path)."""
    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port or 80, timeout=PROXY_TIMEOUT_S)
    try:
        target = request.raw_path.decode("latin-1") + (f"?{request.query}" if request.query else "")
        headers = {name: value for name, value in request.raw_headers if name.lower() not in _HOP_HEADERS}
        if request.client is not None:
            headers["X-Forwarded-For"] = request.client[0]
        connection.request(request.method, target, body=request.body or None, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()

