"""The leader's lease: one key of a JetStream key-value bucket, changed only by revision-checked updates.

The leader renews it every `renew_s`; each renewal is an update naming the revision it replaces, so it
fails if anyone else wrote the key. The lease counts as held until `ttl_s` after the renewal that
succeeded was *sent* (this process's monotonic clock, which runs on while the process is paused by
SIGSTOP). A standby watches the key (each renewal is pushed to it as it is written, no polling) and
takes it over, with an update naming the revision it last saw, once that revision has stood unchanged
for `ttl_s` plus a margin by its own clock: it saw the revision only after it was written, so by then
the leader's own reckoning says the lease is gone. Paused or cut off, a leader therefore stops
acknowledging (`held` turns false) before any standby can lead. A watch that stalls (its NATS server
died) costs nothing in safety: the take names a revision the leader has since replaced, fails, and
the watch is made again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import nats.errors
import nats.js.errors
from nats.js.api import KeyValueConfig, StorageType
from nats.js.kv import KeyValue

from predictex.cluster.log import NatsThread

__all__ = ["LEASE_BUCKET", "Lease", "LeaseRecord", "read_lease"]

log = logging.getLogger("predictex.cluster.lease")

LEASE_BUCKET = "predictex_cluster"
LEASE_KEY = "leader"
TTL_S = 1.0
RENEW_S = 0.25
TAKEOVER_MARGIN_S = 0.1  # for the two clocks' rates differing: a lease's whole life is a second
WATCH_SILENCE_S = 5.0  # a watch that delivers nothing, not even its first value, in this long is made again


class LeaseRecord:
    """What the key holds: who leads, in which term, and where clients reach it."""

    def __init__(self, node: str, term: int, url: str, revision: int) -> None:
        self.node = node
        self.term = term
        self.url = url
        self.revision = revision

    @classmethod
    def parse(cls, value: bytes | None, revision: int) -> LeaseRecord:
        try:
            found: Any = json.loads(value or b"{}")
            return cls(str(found["node"]), int(found["term"]), str(found.get("url", "")), revision)
        except (ValueError, KeyError, TypeError):
            return cls("", 0, "", revision)

    def encode(self) -> bytes:
        return json.dumps({"node": self.node, "term": self.term, "url": self.url}).encode()


async def bucket(nats_thread: NatsThread, replicas: int) -> KeyValue:
    js = nats_thread.js
    try:
        return await js.key_value(LEASE_BUCKET)
    except nats.js.errors.BucketNotFoundError:
        return await js.create_key_value(KeyValueConfig(
            bucket=LEASE_BUCKET, history=1, replicas=replicas, storage=StorageType.FILE,
        ))


async def read_lease(kv: KeyValue) -> LeaseRecord | None:
    try:
        entry = await kv.get(LEASE_KEY)
    except nats.js.errors.KeyNotFoundError:
        return None
    return LeaseRecord.parse(entry.value, entry.revision or 0)


class Lease:
    """This node's side of the lease. Runs on the NATS thread's loop."""

    def __init__(self, nats_thread: NatsThread, node: str, url: str = "", replicas: int = 3,
                 ttl_s: float = TTL_S, renew_s: float = RENEW_S) -> None:
        self.nats = nats_thread
        self.node = node
        self.url = url
        self.replicas = replicas
        self.ttl_s = ttl_s
        self.renew_s = renew_s
        self.kv: KeyValue | None = None
        self.term = 0
        self._revision = 0
        self._valid_until = 0.0  # monotonic; 0: not held
        self.lost = asyncio.Event()

    def held(self) -> bool:
        """From any thread: whether this node may still acknowledge."""
        return time.monotonic() < self._valid_until

    async def open(self) -> None:
        self.kv = await bucket(self.nats, self.replicas)

    async def acquire(self) -> None:
        """Wait until this node holds the lease (a standby's whole life). The key is watched: each renewal
        arrives as it is written, and the lease is taken once the last one seen has stood for `ttl_s` plus
        a margin (an update naming that revision, so it fails if the leader renewed meanwhile)."""
        assert self.kv is not None
        while True:
            try:
                watcher = await self.kv.watch(LEASE_KEY)
                try:
                    if await self._watch(watcher):
                        return
                finally:
                    with contextlib.suppress(Exception):  # the connection may be gone
                        await watcher.stop()  # type: ignore[no-untyped-call]
            except (TimeoutError, nats.errors.Error) as error:
                log.warning("watching the lease: %s", error)
                await asyncio.sleep(self.renew_s)

    async def _watch(self, watcher: KeyValue.KeyWatcher) -> bool:
        """Take the lease when it lapses; False when the watch should be made again (a take failed, or
        the watch said nothing at all for a while)."""
        seen: LeaseRecord | None = None  # the last revision seen, and when (this process's clock)
        seen_at = time.monotonic()
        while True:
            if seen is None:
                wait = WATCH_SILENCE_S
            else:
                wait = max(0.001, seen_at + self.ttl_s + TAKEOVER_MARGIN_S - time.monotonic())
            try:
                entry = await watcher.updates(timeout=wait)  # type: ignore[no-untyped-call]
            except nats.errors.TimeoutError:
                if seen is None:
                    return False
                return await self._take(seen)  # the revision seen has stood long enough
            if entry is None:  # the watch has delivered the key's current value; None first: no key yet
                if seen is None:
                    return await self._take(None)
                continue
            if entry.operation in ("DEL", "PURGE"):
                return await self._take(None)
            seen, seen_at = LeaseRecord.parse(entry.value, entry.revision or 0), time.monotonic()

    async def _take(self, current: LeaseRecord | None) -> bool:
        assert self.kv is not None
        term = (current.term if current is not None else 0) + 1
        record = LeaseRecord(self.node, term, self.url, 0)
        sent = time.monotonic()
        try:
            if current is None:
                revision = await self.kv.create(LEASE_KEY, record.encode())
            else:
                revision = await self.kv.update(LEASE_KEY, record.encode(), last=current.revision)
        except nats.js.errors.KeyWrongLastSequenceError:
            return False  # someone else was quicker
        self.term = term
        self._revision = revision
        self._valid_until = sent + self.ttl_s
        log.info("%s holds the lease (term %d)", self.node, term)
        return True

    async def keep(self) -> None:
        """Renew until the lease is lost; then set `lost` (the leader must stop)."""
        assert self.kv is not None
        record = LeaseRecord(self.node, self.term, self.url, 0).encode()
        while self.held():
            await asyncio.sleep(self.renew_s)
            sent = time.monotonic()
            if sent >= self._valid_until:
                break
            try:
                self._revision = await asyncio.wait_for(
                    self.kv.update(LEASE_KEY, record, last=self._revision), self._valid_until - sent)
                self._valid_until = sent + self.ttl_s
            except nats.js.errors.KeyWrongLastSequenceError:
                log.critical("%s lost the lease to another node", self.node)
                break
            except (TimeoutError, nats.errors.Error) as error:
                log.warning("renewing the lease: %s", error)
        self._valid_until = 0.0
        self.lost.set()

