"""One node of a cluster: a hot standby until it holds the lease, then the leader.

As a standby the node follows the replicated log into its own journal (`Follower`) while it watches
the lease. When the leader stops renewing it, the node takes the lease over, reads the log to its tip,
appends its leader marker there (from then on a deposed leader's publish is refused; if another
message got there first it reads on and tries again), closes its journal and starts the exchange on
it (`Application`, as `predictex serve` does), with the replicated log as the sequencer's
`Replicator` and the accounts' writes replicated too. It leads until it loses the lease (it then
stops: nothing more is acknowledged) or is stopped; the process exits either way, and a supervisor
restarts it as a standby.

The cluster's instance id (the stem of every order's and fill's wire id) is kept in the key-value
bucket, so order ids stay the same across a failover.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import mimetypes
import secrets
from collections.abc import Sequence
from typing import Any

import nats.js.errors

from predictex.accounts.members import DEFAULT_SCRYPT_COST, decoy_hash
from predictex.app import Application, banner
from predictex.cluster.commands import CommandService
from predictex.cluster.follower import Diverged, Follower
from predictex.cluster.lease import Lease
from predictex.cluster.log import Fenced, NatsThread, ReplicatedLog, TableChange
from predictex.journal import open_store
from predictex.journal.base import JournalStore, PassThroughStore, TableWrite
from predictex.journal.records import Record
from predictex.server.config import Config

__all__ = ["ClusterSettings", "Node", "ReplicatedTablesStore"]

log = logging.getLogger("predictex.cluster")

INSTANCE_KEY = "instance_id"


class ClusterSettings:
    def __init__(self, node: str, nats_urls: Sequence[str], replicas: int = 3, lease_ttl_s: float = 1.0,
                 lease_renew_s: float = 0.25, advertise_url: str = "") -> None:
        self.node = node
        self.nats_urls = list(nats_urls)
        self.replicas = replicas
        self.lease_ttl_s = lease_ttl_s
        self.lease_renew_s = lease_renew_s
        self.advertise_url = advertise_url  # where clients reach this node's exchange (in the lease)


class ReplicatedTablesStore(PassThroughStore):
    """The journal's store as the leader's exchange sees it: every change to the tables beside the journal
    (a member, a key, a session, a FIX session's sequence numbers, a surveillance decision; written,
    deleted or created) goes to the replicated log first, so a standby has them all when it takes over.
    The journal's batches and meta rows pass through (the sequencer replicates batches itself)."""

    def __init__(self, inner: JournalStore, log_: ReplicatedLog) -> None:
        super().__init__(inner)
        self.log = log_

    def write(self, writes: list[TableWrite]) -> None:
        self.inner.write([*writes, self.log.replicate_change(TableChange(writes=writes))])

    def execute_schema(self, statements: Sequence[str]) -> None:
        position = self.log.replicate_change(TableChange(schema=list(statements)))
        self.inner.execute_schema(statements)
        self.inner.write([position])

    def delete(self, table: str, where: str, params: Sequence[Any] = ()) -> None:
        position = self.log.replicate_change(TableChange(delete=(table, where, list(params))))
        self.inner.delete(table, where, params)
        self.inner.write([position])


class _Replication:
    """What the exchange's Application is handed: the log for batches, the wrapper for the other tables."""

    def __init__(self, log_: ReplicatedLog) -> None:
        self.log = log_

    def replicate(self, records: list[Record]) -> list[TableWrite]:
        return self.log.replicate(records)

    def tables_store(self, store: JournalStore) -> JournalStore:
        return ReplicatedTablesStore(store, self.log)


class Node:
    def __init__(self, config: Config, settings: ClusterSettings) -> None:
        self.config = config
        self.settings = settings
        self.nats: NatsThread | None = None
        self.lease: Lease | None = None
        self.log: ReplicatedLog | None = None
        self.app: Application | None = None
        self._keeping: concurrent.futures.Future[None] | None = None  # renewing the lease, from the takeover on
        self.role = "starting"
        self.failure = ""

    async def run(self) -> str:
        """Stand by, lead, and return why leading ended ("" when asked to stop)."""
        settings = self.settings
        nats_thread = self.nats = NatsThread(settings.nats_urls, settings.node)
        try:
            lease = self.lease = Lease(nats_thread, settings.node, settings.advertise_url, settings.replicas,
                                       settings.lease_ttl_s, settings.lease_renew_s)
            replicated = self.log = ReplicatedLog(nats_thread, settings.node, settings.replicas, lease.held)
            await asyncio.to_thread(replicated.ensure_stream)
            await asyncio.wrap_future(nats_thread.spawn(lease.open()))
            self.role = "standby"
            warming = asyncio.ensure_future(self._warm_up())
            follower = await asyncio.wrap_future(nats_thread.spawn(self._stand_by()))
            await warming  # long done, unless the lease was free at once (the cluster's first start)
            self.role = "leader"
            return await self._lead(follower)
        finally:
            nats_thread.close()

    async def _warm_up(self) -> None:
        """What the exchange's start would otherwise spend time on at the takeover, done while standing by:
        the accounts' decoy password hash (one scrypt, about a second on a loaded machine) and the table
        of file types the web site's static files are served with."""
        await asyncio.to_thread(decoy_hash, DEFAULT_SCRYPT_COST)
        mimetypes.init()
        log.info("%s is warm: a takeover starts the exchange at once", self.settings.node)

    async def _stand_by(self) -> Follower:
        """On the NATS loop: follow the log until the lease is ours, then take over: the follower, its
        journal open and up to the log's tip, for the exchange to start on."""
        assert self.lease is not None and self.log is not None and self.nats is not None
        store = open_store(self.config.database_url)
        follower = Follower(store, self.config.snapshot_every)
        try:
            tip, last = await self.log._tip()
            if follower.last_seq > last:
                raise Diverged(f"this journal ends at {follower.last_seq}, beyond the cluster's log ({last})")
            log.info("%s stands by at record %d (log at %d)", self.settings.node, follower.last_seq, last)
            following = asyncio.ensure_future(self._follow(follower))
            acquiring = asyncio.ensure_future(self.lease.acquire())
            try:  # a standby whose journal cannot follow (a full disk, its database down) stops
                await asyncio.wait([following, acquiring], return_when=asyncio.FIRST_COMPLETED)
                if following.done():
                    following.result()  # raises what stopped it
                    raise Diverged("the log's subscription ended")
            finally:
                for task in (following, acquiring):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            # renewed from now on, so the lease outlasts the takeover however long it takes (a fresh
            # stream's first publish, on a loaded machine); lost meanwhile, the takeover fails
            self._keeping = self.nats.spawn(self.lease.keep())
            while True:  # read to the tip, put the marker there; if someone appended meanwhile, again
                tip, last = await self.log._tip()
                async for entry in self.log.read(follower.stream_seq, tip):
                    follower.apply(entry)
                try:
                    await asyncio.to_thread(self.log.begin_term, tip, follower.last_seq)
                    break
                except Fenced:
                    continue
            instance_id = await self._instance_id()
            store.set_meta("instance_id", instance_id)
            log.info("%s leads from record %d (term %d)", self.settings.node, follower.last_seq, self.lease.term)
            return follower
        except BaseException:
            if self._keeping is not None:
                self._keeping.cancel()
            await asyncio.to_thread(follower.close)
            raise

    async def _follow(self, follower: Follower) -> None:
        assert self.log is not None
        async for entry in self.log.entries(follower.stream_seq):
            follower.apply(entry)

    async def _instance_id(self) -> str:
        assert self.lease is not None and self.lease.kv is not None
        kv = self.lease.kv
        with contextlib.suppress(nats.js.errors.KeyWrongLastSequenceError):  # made by an earlier leader
            await kv.create(INSTANCE_KEY, str(secrets.randbits(32)).encode())
        entry = await kv.get(INSTANCE_KEY)
        return (entry.value or b"").decode()

    async def _lead(self, follower: Follower) -> str:
        assert self.lease is not None and self.log is not None and self.nats is not None
        app = self.app = Application(self.config, replication=_Replication(self.log), recovered=follower.handover())
        app.handle_signals()
        keeping = self._keeping
        assert keeping is not None
        loop = asyncio.get_running_loop()
        keeping.add_done_callback(lambda _: loop.call_soon_threadsafe(self._lease_lost))
        await app.start()
        assert app.sequencer is not None
        gateways = CommandService(self.nats, self.settings.node, app.sequencer, loop)  # commands forwarded by gateway nodes
        await asyncio.wrap_future(self.nats.spawn(gateways.start()))
        print(banner(app), flush=True)
        await app.run_until_signalled()
        keeping.cancel()
        with contextlib.suppress(Exception):  # NATS may be gone already
            await asyncio.wrap_future(self.nats.spawn(gateways.stop()))
        return app.failure or self.failure

    def _lease_lost(self) -> None:
        if self.app is not None and not self.app.stopped.is_set():
            log.critical("%s lost the lease; stopping (nothing more is acknowledged)", self.settings.node)
            self.failure = self.app.failure = "the lease was lost"
            self.app.stopped.set()

