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

A checkpoint (`surveillance_checkpoint`: the detectors' whole state at a sequence number, pickled and
compressed, with the thresholds it was made under) is written after the start-up reading, every
`CHECKPOINT_EVERY_ENTRIES` entries and at a clean stop, to the server's own store (not the cluster's
replicated tables: it is megabytes). A restart reads the journal only after it, so it costs the entries
since the last checkpoint, not the whole journal; the detectors being deterministic, the alerts are
those of an uninterrupted run. A checkpoint of other thresholds, of another `CHECKPOINT_VERSION` or
beyond the journal's end is ignored (the journal is read from the start). The state is read back by an
unpickler that builds nothing but the detectors' own classes.
"""

from __future__ import annotations

import asyncio
import collections
import io
import logging
import pickle
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from predictex.core.codec import decode_event
from predictex.core.events import Event
from predictex.journal.base import JournalStore, TableWrite
from predictex.journal.journal import Journal
from predictex.surveillance import detectors
from predictex.surveillance.config import Thresholds
from predictex.surveillance.detectors import STATES, Alert, Detector

log = logging.getLogger("predictex.surveillance")

PENDING_ENTRIES_MAX = 100_000  # queued entries before the commit step drains them itself
NOTE_LENGTH_MAX = 2_000
LINKS_MAX = 10_000
CHECKPOINT_EVERY_ENTRIES = 200_000  # entries fed between two checkpoints
CHECKPOINT_VERSION = "1"  # the detectors' state layout: a checkpoint of another is read from the start instead
CHECKPOINT_BYTES_MAX = 512 * 1024 * 1024  # decompressed: a bigger one is refused, not read

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
CHECKPOINT_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS surveillance_checkpoint (
        slot INTEGER PRIMARY KEY,
        seq BIGINT NOT NULL,
        version TEXT NOT NULL,
        thresholds TEXT NOT NULL,
        data {blob} NOT NULL
    )""",
)
_CHECKPOINT_COLUMNS = ("slot", "seq", "version", "thresholds", "data")
_CHECKPOINT_CLASSES = frozenset({"Detector", "Alert", "Evidence", "_Order", "_Trade", "_Episode", "_CloseWindow", "_Market"})


class _StateUnpickler(pickle.Unpickler):
    """Builds the detectors' classes and a deque, nothing else (a checkpoint is data, never code)."""

    def find_class(self, module: str, name: str) -> Any:
        if module == detectors.__name__ and name in _CHECKPOINT_CLASSES:
            return getattr(detectors, name)
        if (module, name) == ("collections", "deque"):
            return collections.deque
        raise pickle.UnpicklingError(f"a surveillance checkpoint holds no {module}.{name}")


def _thresholds_text(thresholds: Thresholds) -> str:
    return ",".join(f"{name}={value}" for name, value in sorted(thresholds.as_dict().items()))


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
                 clock_ms: Callable[[], int], checkpoint_store: JournalStore | None = None) -> None:
        self.store = store
        self.thresholds = thresholds
        self._clock_ms = clock_ms
        self._excluded = excluded
        store.execute_schema(SCHEMA)
        self.checkpoint_store = checkpoint_store or store
        self.checkpoint_store.execute_schema(CHECKPOINT_SCHEMA)
        self.checkpoint_seq = 0  # of the last checkpoint written or read
        self.resumed_from_seq = 0  # the checkpoint this start resumed from (0: the journal was read from its start)
        self._checkpointing = False
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
        self.restore(last_seq)
        read = 0
        for record in journal.records(self.detector.processed_seq):
            if record.seq > last_seq:
                break
            self.detector.feed(record.seq, record.time_ms, [decode_event(x) for x in record.events])
            read += 1
        self._restore_states()
        if read:
            self.write_checkpoint(self.checkpoint_bytes())
        return read

    # --- checkpoints ----------------------------------------------------------------------------------

    def checkpoint_bytes(self) -> tuple[int, bytes]:
        """The detectors' state now (pickled; taken where nothing else feeds them)."""
        return self.detector.processed_seq, pickle.dumps(self.detector, protocol=pickle.HIGHEST_PROTOCOL)

    def write_checkpoint(self, state: tuple[int, bytes]) -> None:
        """Store a state from `checkpoint_bytes` (compressed here: any thread)."""
        seq, data = state
        self.checkpoint_store.write([TableWrite("surveillance_checkpoint", _CHECKPOINT_COLUMNS, [
            (1, seq, CHECKPOINT_VERSION, _thresholds_text(self.thresholds), zlib.compress(data, 1))], key=("slot",))])
        self.checkpoint_seq = seq
        log.info("surveillance checkpoint at %d: %d bytes pickled", seq, len(data))

    def restore(self, last_seq: int) -> bool:
        """The detectors from the stored checkpoint, if there is a usable one (before any entry is fed)."""
        rows = self.checkpoint_store.query("SELECT seq, version, thresholds, data FROM surveillance_checkpoint WHERE slot = 1")
        if not rows or self.detector.processed_seq:
            return False
        seq, version, thresholds, data = int(rows[0][0]), str(rows[0][1]), str(rows[0][2]), bytes(rows[0][3])
        if version != CHECKPOINT_VERSION or thresholds != _thresholds_text(self.thresholds) or seq > last_seq:
            log.warning("surveillance checkpoint at %d not used (version %s, %s; the journal ends at %d): reading from the start",
                        seq, version, "the same thresholds" if thresholds == _thresholds_text(self.thresholds) else "other thresholds",
                        last_seq)
            return False
        started = time.perf_counter()
        try:
            decompressor = zlib.decompressobj()
            raw = decompressor.decompress(data, CHECKPOINT_BYTES_MAX)
            if decompressor.unconsumed_tail:
                raise ValueError(f"more than {CHECKPOINT_BYTES_MAX} bytes")
            state = _StateUnpickler(io.BytesIO(raw)).load()
            if not isinstance(state, Detector) or state.processed_seq != seq:
                raise ValueError("not the detectors' state at its sequence number")
        except (zlib.error, pickle.UnpicklingError, ValueError, EOFError, AttributeError, TypeError) as error:
            log.warning("surveillance checkpoint at %d unreadable (%s): reading from the start", seq, error)
            return False
        detector = state.restored(self.thresholds, self._excluded)
        detector._links = sorted((link.after_seq, link.account_a, link.account_b) for link in self.links if link.after_seq >= seq)
        self.detector = detector
        self.checkpoint_seq = self.resumed_from_seq = seq
        log.info("surveillance resumed from its checkpoint at %d in %.2f s", seq, time.perf_counter() - started)
        return True

    def checkpoint_at_stop(self) -> None:
        """At a clean stop (the sequencer stopped): what is queued fed, and a checkpoint written if the
        detectors moved since the last one."""
        if self.catching_up or self._checkpointing:
            return
        self.drain()
        if self.detector.processed_seq > self.checkpoint_seq:
            self.write_checkpoint(self.checkpoint_bytes())

    def _checkpoint_soon(self) -> None:
        """A checkpoint from the event loop: the state pickled here (between two batches), compressed
        and written on a worker thread."""
        if self._checkpointing or self._loop is None:
            return
        self._checkpointing = True
        state = self.checkpoint_bytes()
        self.checkpoint_seq = state[0]
        future = self._loop.run_in_executor(None, self.write_checkpoint, state)

        def done(finished: asyncio.Future[None]) -> None:
            self._checkpointing = False
            if not finished.cancelled() and finished.exception() is not None:
                log.error("surveillance checkpoint not written: %s", finished.exception())

        future.add_done_callback(done)

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
        if self.detector.processed_seq - self.checkpoint_seq >= CHECKPOINT_EVERY_ENTRIES:
            self._checkpoint_soon()

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
