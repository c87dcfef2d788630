"""Revocation that takes effect at once: one notice from accounts, heard by every open session.

Deleting an API key, logging out a session token and suspending a member are committed to the
accounts tables first; from then on every new request with that credential is refused (the verifier
and the sessions check on every use). What was opened before — a FIX session, a WebSocket, a stream —
authenticated once and would go on; so each gateway `watch`es the credential it opened with, and
accounts `publish`es a `Revocation` right after the commit:

    watch = accounts.revocations.watch(authenticated, on_revoked)   # when a session opens
    ...
    if watch.revoked is not None: refuse the command               # before submitting anything
    watch.cancel()                                                  # when it closes

A notice names a key, a session token (its hash) or a member, and reaches every watch opened with it:
a key's notice also reaches sessions made with that key, a member's every key and session of theirs.
`watch.revoked` is set at once, in the thread that published, before `publish` returns; the callback
runs on the event loop the watch was made on (at once when published from that loop, else as soon as
the loop runs). A command a gateway receives after the revocation committed finds `revoked` set and
is refused, whichever thread published it: there is no moment in which a revoked credential can still
place an order. Commands submitted before the revocation committed were authorised when they were
sent and run to their end, as on any exchange. `Accounts.watch` checks the credential again once the
watch is in place, so a revocation committed between authenticating and watching is not missed.

Watches are as many as the gateways' open connections, which their own limits bound.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("predictex.accounts")


class RevokedWhat(enum.StrEnum):
    KEY = "key"  # an API key was deleted
    SESSION = "session"  # a session token was logged out
    MEMBER = "member"  # a member was suspended


@dataclass(frozen=True, slots=True)
class Revocation:
    what: RevokedWhat
    subject: str  # the key id, the session's token hash, or the member id
    member_id: int
    reason: str  # what a client is told: "API key demo_... was deleted"

    @property
    def index(self) -> str:
        return f"{self.what.value}:{self.subject}"


class Watch:
    """One open session's interest in its credential. `revoked` is None until a notice reaches it."""

    __slots__ = ("_callback", "_indexes", "_loop", "_registry", "revoked")

    def __init__(self, registry: Revocations, indexes: tuple[str, ...], callback: Callable[[Revocation], None],
                 loop: asyncio.AbstractEventLoop | None) -> None:
        self._registry = registry
        self._indexes = indexes
        self._callback = callback
        self._loop = loop
        self.revoked: Revocation | None = None

    def cancel(self) -> None:
        """The session is over: stop watching (idempotent)."""
        self._registry._forget(self)

    def notify(self, revocation: Revocation) -> None:
        """Report `revocation` to this watch (once; later notices are ignored)."""
        if self.revoked is not None:
            return
        self.revoked = revocation
        loop = self._loop
        if loop is None or _running_loop() is loop:
            self._run(revocation)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._run, revocation)

    def _run(self, revocation: Revocation) -> None:
        try:
            self._callback(revocation)
        except Exception:
            log.exception("a revocation callback failed (%s)", revocation.index)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def credential_indexes(member_id: int, key_id: str | None, session_id: str | None) -> tuple[str, ...]:
    """What a credential answers to: its member, its key (a session's key too), its session."""
    indexes = [f"{RevokedWhat.MEMBER.value}:{member_id}"]
    if key_id is not None:
        indexes.append(f"{RevokedWhat.KEY.value}:{key_id}")
    if session_id is not None:
        indexes.append(f"{RevokedWhat.SESSION.value}:{session_id}")
    return tuple(indexes)


class Revocations:
    """The watches of open sessions, by what can revoke them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watches: dict[str, set[Watch]] = {}

    def watch(self, member_id: int, key_id: str | None, session_id: str | None,
              on_revoked: Callable[[Revocation], None]) -> Watch:
        """Watch a credential: `on_revoked` is called once, on this thread's event loop, if its key,
        session or member is revoked."""
        found = Watch(self, credential_indexes(member_id, key_id, session_id), on_revoked, _running_loop())
        with self._lock:
            for index in found._indexes:
                self._watches.setdefault(index, set()).add(found)
        return found

    def publish(self, revocation: Revocation) -> int:
        """Tell every watch of the revoked credential (call it after the revocation committed); how
        many were told."""
        with self._lock:
            reached = list(self._watches.pop(revocation.index, ()))
            for found in reached:
                self._unlink(found, skip=revocation.index)
        for found in reached:
            found.notify(revocation)
        return len(reached)

    def watching(self) -> int:
        """Open sessions watched (each counted once)."""
        with self._lock:
            return len({w for watches in self._watches.values() for w in watches})

    def _forget(self, found: Watch) -> None:
        with self._lock:
            self._unlink(found)

    def _unlink(self, found: Watch, skip: str = "") -> None:
        for index in found._indexes:
            if index == skip:
                continue
            watches = self._watches.get(index)
            if watches is not None:
                watches.discard(found)
                if not watches:
                    del self._watches[index]
