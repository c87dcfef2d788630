"""The read model's part for what the operator schedules and publishes: fee changes (series changes
and event overrides, applied or still pending), each event's fee override in force, the archive
cutoff, and the published documents (core/content.py), parsed once when they are committed.
Built from committed events, or loaded from a recovered engine; both give the same state."""

from __future__ import annotations

import json
from typing import Any

from predictex.core import events as ev
from predictex.core.engine import Engine


class FeeChangeView:
    __slots__ = (
        "applied", "change_id", "effective_ms", "event_ticker", "fee_multiplier_bps", "fee_type", "series_ticker",
    )

    def __init__(
        self, change_id: int, series_ticker: str, event_ticker: str, fee_type: str, fee_multiplier_bps: int,
        effective_ms: int, applied: bool,
    ) -> None:
        self.change_id = change_id
        self.series_ticker = series_ticker
        self.event_ticker = event_ticker  # "" for a series change
        self.fee_type = fee_type  # "" in an override: none (the series' applies)
        self.fee_multiplier_bps = fee_multiplier_bps  # -1 in an override: none
        self.effective_ms = effective_ms
        self.applied = applied

    def as_tuple(self) -> tuple[object, ...]:
        return (
            self.change_id, self.series_ticker, self.event_ticker, self.fee_type, self.fee_multiplier_bps,
            self.effective_ms, self.applied,
        )


class Schedules:
    def __init__(self) -> None:
        self.fee_changes: dict[int, FeeChangeView] = {}
        self.fee_overrides: dict[str, tuple[str, int]] = {}  # event -> (fee type or "", multiplier bps or -1)
        self.archive_cutoff_ms = (0, 0, 0)  # market settled, trade created, order updated
        self.content: dict[str, dict[str, dict[str, Any]]] = {}  # kind -> key -> document, in publication order
        self.combos: dict[str, tuple[str, list[list[str]]]] = {}  # combination market -> (collection, legs)
        self.combo_events: dict[str, str] = {}  # a combination's event -> its collection, in creation order

    def combo_market_created(self, e: ev.ComboMarketCreated) -> None:
        self.combos[e.market_ticker] = (e.collection_ticker, [list(leg) for leg in e.legs])
        self.combo_events.setdefault(e.event_ticker, e.collection_ticker)

    def content_published(self, e: ev.ContentPublished) -> None:
        of_kind = self.content.setdefault(e.kind, {})
        if e.body:
            of_kind[e.key] = json.loads(e.body)
        else:
            of_kind.pop(e.key, None)

    def documents(self, kind: str) -> dict[str, dict[str, Any]]:
        return self.content.get(kind, {})

    def fee_change_scheduled(self, e: ev.FeeChangeScheduled) -> None:
        self.fee_changes[e.change_id] = FeeChangeView(
            e.change_id, e.series_ticker, e.event_ticker, e.fee_type, e.fee_multiplier_bps, e.effective_ms, False,
        )

    def fee_change_applied(self, e: ev.FeeChangeApplied) -> None:
        self.fee_changes[e.change_id].applied = True
        if e.event_ticker:
            if e.fee_type or e.fee_multiplier_bps != -1:
                self.fee_overrides[e.event_ticker] = (e.fee_type, e.fee_multiplier_bps)
            else:
                self.fee_overrides.pop(e.event_ticker, None)

    def archive_cutoff_changed(self, e: ev.ArchiveCutoffChanged) -> None:
        self.archive_cutoff_ms = (e.market_settled_ms, e.trades_created_ms, e.orders_updated_ms)

    def is_archived_market(self, settled_ms: int) -> bool:
        """Whether a market that settled at `settled_ms` (0: not settled) is in the historical tier."""
        return 0 < settled_ms < self.archive_cutoff_ms[0]

    @classmethod
    def load_from_engine(cls, engine: Engine) -> Schedules:
        state = cls()
        for change in engine.fees.changes.values():
            state.fee_changes[change.change_id] = FeeChangeView(
                change.change_id, change.series_ticker, change.event_ticker, change.fee_type, change.fee_multiplier_bps,
                change.effective_ms, change.applied,
            )
        for event in engine.markets.events.values():
            if event.fee_type_override or event.fee_multiplier_override_bps != -1:
                state.fee_overrides[event.event_ticker] = (event.fee_type_override, event.fee_multiplier_override_bps)
        for ticker, legs in engine.combos.legs.items():
            collection = engine.combos.collection[ticker]
            state.combos[ticker] = (collection, [[leg, side] for leg, side in legs])
            state.combo_events.setdefault(engine.markets.markets[ticker].event_ticker, collection)
        for kind, items in engine.content.items.items():
            state.content[kind] = {key: json.loads(body) for key, body in items.items()}
        cutoff = engine.markets.archive_cutoff_ms
        state.archive_cutoff_ms = (cutoff[0], cutoff[1], cutoff[2])
        return state
