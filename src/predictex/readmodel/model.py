"""The read model: live state (memory) plus history (SQL), both fed by committed events.

`ReadModel.open` builds it after recovery: live state from the recovered engine, history checked
against the journal (and rebuilt from it when missing or behind). The sequencer then calls `writes`
for each batch (history rows, written in the batch's transaction) and `committed` once the batch is
durable (live state), in order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from predictex.core.codec import decode_event
from predictex.journal.base import JournalStore, TableWrite
from predictex.journal.journal import Journal, Recovery
from predictex.readmodel.communications import CommunicationsView
from predictex.readmodel.history import CANDLE_COLUMNS, HISTORY_SCHEMA, HISTORY_TABLES, HISTORY_VERSION, HistoryProjector
from predictex.readmodel.live import LiveState

log = logging.getLogger("predictex.readmodel")

REBUILD_BATCH = 5_000


class ReadModel:
    def __init__(self, store: JournalStore, live: LiveState, projector: HistoryProjector) -> None:
        self.store = store
        self.live = live
        self.projector = projector
        self.listeners: list[Any] = []

    @classmethod
    def open(cls, store: JournalStore, journal: Journal, recovery: Recovery) -> ReadModel:
        if create_history_tables(store):
            store.set_meta("history_seq", "0")  # rebuilt below, unless the journal is empty
        history_seq = int(store.get_meta("history_seq") or 0)
        if history_seq != recovery.last_seq:
            rebuild_history(store, journal, recovery.last_seq, history_seq)
        live = LiveState.load_from_engine(recovery.engine, recovery.last_seq, recovery.last_time_ms)
        live.restore_balance_times(
            store.query(
                "SELECT account_id, MAX(t) FROM (SELECT account_id, time_ms AS t FROM fills UNION ALL "
                "SELECT account_id, updated_ms FROM orders UNION ALL SELECT account_id, time_ms FROM money UNION ALL "
                "SELECT account_id, time_ms FROM settlements) AS changes GROUP BY account_id"
            ),
            store.query(
                "SELECT account_id, from_subaccount, to_subaccount, MAX(time_ms) FROM subaccount_transfers "
                "GROUP BY account_id, from_subaccount, to_subaccount"
            ),
        )
        day_start = recovery.last_time_ms - 25 * 3600 * 1000
        live.load_day(store.query(
            "SELECT ticker, minute_ms, volume_centicontracts, bid_close, ask_close, price_close FROM candles "
            "WHERE minute_ms >= ? ORDER BY minute_ms", [day_start],
        ), recovery.last_time_ms)
        projector = HistoryProjector()
        projector.prime(
            [(t, m.book.bids, m.book.asks, m.open_interest_centicontracts) for t, m in live.markets.items()],
            {(account, ticker): h.position_centicontracts for account, holdings in live.holdings.items() for ticker, h in holdings.items()},
            store.query(
                f"SELECT {', '.join(CANDLE_COLUMNS)} FROM candles c WHERE minute_ms = "
                "(SELECT MAX(minute_ms) FROM candles WHERE ticker = c.ticker)"
            ),
            store,
            {(account, ticker): h.hedged_centicontracts() for account, holdings in live.holdings.items()
             for ticker, h in holdings.items() if h.hedged_centicontracts()},
        )
        live.communications = CommunicationsView.load(store)
        return cls(store, live, projector)

    # --- the sequencer's hooks ------------------------------------------------------------------

    def writes(self, entries: Sequence[Any]) -> list[TableWrite]:
        return self.projector.writes(entries)

    def committed(self, entries: Sequence[Any]) -> None:
        live = self.live
        for entry in entries:
            live.apply(entry.seq, entry.time_ms, entry.outcome.events)
        for listener in self.listeners:
            listener(entries)


def create_history_tables(store: JournalStore) -> bool:
    """Create the history tables in HISTORY_VERSION's layout. Unless the store records that layout,
    whatever history tables it holds are dropped first (history is derived data); returns True when
    that happened, and the caller rebuilds them from the journal."""
    stored = store.get_meta("history_version")
    if stored == HISTORY_VERSION:
        store.execute_schema(HISTORY_SCHEMA)
        return False
    if stored is not None or store.get_meta("history_seq") is not None:  # layout 1 was never recorded
        log.warning("the read model's history is in layout %s, this version writes %s: dropping it", stored or "1", HISTORY_VERSION)
    store.execute_schema([f"DROP TABLE IF EXISTS {table}" for table in HISTORY_TABLES])
    store.execute_schema(HISTORY_SCHEMA)
    store.set_meta("history_version", HISTORY_VERSION)
    return True


def rebuild_history(store: JournalStore, journal: Journal, last_seq: int, history_seq: int) -> None:
    """Recreate every history table from the journal (they are missing, or behind it)."""
    started = time.perf_counter()
    log.warning("rebuilding the read model's history from the journal (history at %d, journal at %d)", history_seq, last_seq)
    store.clear_history((*HISTORY_TABLES, ))
    projector = HistoryProjector()
    pending: list[tuple[int, int, list[Any]]] = []
    for record in journal.records(0):
        pending.append((record.seq, record.time_ms, [decode_event(e) for e in record.events]))
        if len(pending) >= REBUILD_BATCH:
            store.write(projector.project(pending))
            pending = []
    if pending:
        store.write(projector.project(pending))
    if last_seq == 0:
        store.set_meta("history_seq", "0")
    log.warning("history rebuilt to %d in %.2fs", last_seq, time.perf_counter() - started)
