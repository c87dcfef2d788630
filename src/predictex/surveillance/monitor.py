"""The surveillance consumer: the detectors fed from the committed-event bus, off the order path, with
the operator's decisions kept in tables of their own.

The bus hands each committed batch to `committed`, which only queues it and asks the event loop to run
`drain` soon, so producers are answered before the detectors look at the batch. If the queue reaches
`PENDING_ENTRIES_MAX` (the detectors are slower than the sequencer), the commit step drains it itself:
the sequencer slows down rather than an event being dropped. At start-up `catch_up_in_background` reads
the journal from the beginning through the detectors on a worker thread (batches committed meanwhile
wait in the queue; the operator's API answers 503 until it is done), so alerts are rebuilt exactly (the detectors are
deterministic, and links apply after the sequence number they were made at); what the operator
decided about each alert (open, dismissed, escalated, and a note) is read back from
`surveillance_alert_states` by the alert's key, and linked members from `surveillance_links`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable, Sequence
from typing import Any

from predictex.core.codec import decode_event
from predictex.core.events import Event
from predictex.journal.base import JournalStore, TableWrite
from predictex.journal.journal import Journal
from predictex.surveillance.config import Thresholds
from predictex.surveillance.detectors import STATES, Alert, Detector

log = logging.getLogger("predictex.surveillance")

PENDING_ENTRIES_MAX = 100_000  # queued entries before the commit step drains them itself
NOTE_LENGTH_MAX = 2_000
LINKS_MAX = 10_000

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS surveillance_alert_states (
        alert_key TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        note TEXT NOT NULL,
        changed_ms BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS surveillance_links (
        link_id BIGINT PRIMARY KEY,
        account_a BIGINT NOT NULL,
        account_b BIGINT NOT NULL,
        after_seq BIGINT NOT NULL,
        created_ms BIGINT NOT NULL
    )""",
)


class SurveillanceError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Link:
    __slots__ = ("account_a", "account_b", "after_seq", "created_ms", "link_id")

    def __init__(self, link_id: int, account_a: int, account_b: int, after_seq: int, created_ms: int) -> None:
        self.link_id = link_id
        self.account_a = account_a
        self.account_b = account_b
        self.after_seq = after_seq
        self.created_ms = created_ms


class Surveillance:
    def __init__(self, store: JournalStore, thresholds: Thresholds, excluded: Callable[[int], bool],
                 clock_ms: Callable[[], int]) -> None:
        self.store = store
        self.thresholds = thresholds
        self._clock_ms = clock_ms
        store.execute_schema(SCHEMA)
        self.detector = Detector(thresholds, excluded)
        self.links = [Link(*row) for row in store.query(
            "SELECT link_id, account_a, account_b, after_seq, created_ms FROM surveillance_links ORDER BY link_id")]
        for link in self.links:
            self.detector.link(link.after_seq, link.account_a, link.account_b)
        self._states = {key: (state, note, changed) for key, state, note, changed in store.query(
            "SELECT alert_key, state, note, changed_ms FROM surveillance_alert_states")}
        self._pending: collections.deque[tuple[int, int, Sequence[Event]]] = collections.deque()
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.catching_up = False  # reading the journal on a worker thread: the detectors are its alone

    # --- feeding --------------------------------------------------------------------------------------

    @property
    def processed_seq(self) -> int:
        return self.detector.processed_seq

    @property
    def pending(self) -> int:
        return len(self._pending)

    def catch_up(self, journal: Journal, last_seq: int) -> int:
        """Read the journal's committed entries up to `last_seq` through the detectors (at start-up,
        before the sequencer runs); returns how many entries were read."""
        read = 0
        for record in journal.records(self.detector.processed_seq):
            if record.seq > last_seq:
                break
            self.detector.feed(record.seq, record.time_ms, [decode_event(x) for x in record.events])
            read += 1
        self._restore_states()
        return read

    async def catch_up_in_background(self, journal: Journal, last_seq: int) -> None:
        """`catch_up` on a worker thread while the exchange runs (a long journal would hold the start-up
        back): committed batches queue meanwhile, and are drained once the journal is read."""
        self.catching_up = True
        try:
            read = await asyncio.get_running_loop().run_in_executor(None, self.catch_up, journal, last_seq)
            log.info("surveillance read %d journal entries: %d alerts", read, len(self.detector.alerts))
        finally:
            self.catching_up = False
        self.drain()

    def committed(self, entries: Sequence[Any]) -> None:
        """The bus's subscriber: queue the batch, and drain it on the event loop's next turn."""
        pending = self._pending
        for entry in entries:
            pending.append((entry.seq, entry.time_ms, entry.outcome.events))
        if self.catching_up:
            return
        if len(pending) >= PENDING_ENTRIES_MAX:
            self.drain()
            return
        if not self._scheduled:
            try:
                loop = self._loop or asyncio.get_running_loop()
            except RuntimeError:  # no loop (a test feeding by hand): at once
                self.drain()
                return
            self._loop = loop
            self._scheduled = True
            loop.call_soon(self.drain)

    def drain(self) -> None:
        self._scheduled = False
        if self.catching_up:
            return
        pending, feed = self._pending, self.detector.feed
        before = len(self.detector.alerts)
        while pending:
            seq, time_ms, events = pending.popleft()
            feed(seq, time_ms, events)
        if len(self.detector.alerts) != before:
            self._restore_states()

    def _restore_states(self) -> None:
        for key, (state, note, changed_ms) in self._states.items():
            alert = self.detector.alerts.get(key)
            if alert is not None and alert.state_changed_ms != changed_ms:
                alert.state, alert.note, alert.state_changed_ms = state, note, changed_ms

    # --- the operator's side ------------------------------------------------------------------------------

    def alerts(self, *, state: str = "", kind: str = "", ticker: str = "", account: int = -1) -> list[Alert]:
        """Alerts newest first, filtered."""
        found = [a for a in self.detector.alerts.values()
                 if (not state or a.state == state) and (not kind or a.kind == kind) and (not ticker or a.ticker == ticker)
                 and (account < 0 or account in a.accounts)]
        found.reverse()
        return found

    def alert(self, key: str) -> Alert | None:
        return self.detector.alerts.get(key)

    def set_state(self, key: str, state: str, note: str) -> Alert:
        alert = self.detector.alerts.get(key)
        if alert is None:
            raise SurveillanceError("not_found", f"no alert {key}")
        if state not in STATES:
            raise SurveillanceError("invalid_parameters", f"state must be one of {', '.join(STATES)}")
        if len(note) > NOTE_LENGTH_MAX:
            raise SurveillanceError("invalid_parameters", f"note is at most {NOTE_LENGTH_MAX} characters")
        changed_ms = max(self._clock_ms(), alert.state_changed_ms + 1)
        self.store.write([TableWrite("surveillance_alert_states", ("alert_key", "state", "note", "changed_ms"),
                                     [(key, state, note, changed_ms)], key=("alert_key",))])
        self._states[key] = (state, note, changed_ms)
        alert.state, alert.note, alert.state_changed_ms = state, note, changed_ms
        return alert

    def link(self, account_a: int, account_b: int, after_seq: int) -> Link:
        """Count two members as one from the entry after `after_seq` (the last committed one, so the live
        detectors and a replay apply it at the same place)."""
        if account_a == account_b:
            raise SurveillanceError("invalid_parameters", "a member is linked with another member, not itself")
        if len(self.links) >= LINKS_MAX:
            raise SurveillanceError("invalid_parameters", f"at most {LINKS_MAX} links")
        after_seq = max(after_seq, self.detector.processed_seq, *(x.after_seq for x in self.links[-1:]))
        link = Link(len(self.links) + 1, account_a, account_b, after_seq, self._clock_ms())
        self.store.write([TableWrite("surveillance_links", ("link_id", "account_a", "account_b", "after_seq", "created_ms"),
                                     [(link.link_id, account_a, account_b, after_seq, link.created_ms)])])
        self.links.append(link)
        self.detector.link(after_seq, account_a, account_b)
        return link

    def linked_accounts(self) -> set[int]:
        return {x for link in self.links for x in (link.account_a, link.account_b)}
