"""The fan-out bus: how committed events reach the streaming gateways (WebSocket, FIX).

The bus is one of the sequencer's commit listeners, registered after the read model. For every batch
that commits it calls each subscriber with the batch's entries (sequence number, time, command and
the events it produced), in commit order, after the read model has applied them and before any
producer is answered. So at the moment a subscriber sees seq N, a read of the live state also shows
seq N: a gateway that sends a snapshot from the read model and then the deltas it is handed never
misses or repeats a change.

Subscribers run on the event loop inside the sequencer's commit step, so they must be quick and must
never block or await: turn events into wire messages, put them on bounded per-connection queues, and
schedule the socket writes. A subscriber that raises is logged and skipped; the sequencer goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from predictex.server.sequencer import Entry

log = logging.getLogger("predictex.bus")

Subscriber = Callable[[Sequence[Entry]], None]


class Bus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Hear every committed batch from now on; returns the function that stops it."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    def committed(self, entries: Sequence[Entry]) -> None:
        for subscriber in tuple(self._subscribers):
            try:
                subscriber(entries)
            except Exception:
                log.exception("a bus subscriber failed on sequence %d-%d; continuing", entries[0].seq, entries[-1].seq)
