"""What the operator publishes for members to read: event metadata, forecast histories, milestones,
structured targets, live data, game stats, the weather index and its calibrations, sport filters,
incentive programs and multivariate event collections. Each item is a JSON document under a kind and a key, checked for its shape by the
operator's API and stored here as text, so that it is journaled, snapshotted and replayed like any
other state; an empty document withdraws the item. The engine keeps them in publication order (a
republished item keeps its place) and bounds their number and size."""

from __future__ import annotations

from typing import Final

from predictex.core.limits import CONTENT_BYTES_MAX, CONTENT_ITEMS_MAX, TICKER_LENGTH_MAX
from predictex.core.rejects import RejectCode, Rejected

CONTENT_KINDS: Final = (
    "event_metadata", "forecast_history", "milestone", "structured_target", "live_data", "game_stats",
    "event_live_data", "weather_index", "weather_calibrations", "sport_filters", "incentive_program", "mve_collection",
)


class Content:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, str]] = {}  # kind -> key -> JSON text
        self.count = 0

    def publish(self, kind: str, key: str, body: str) -> None:
        if kind not in CONTENT_KINDS:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"kind must be one of {', '.join(CONTENT_KINDS)}")
        if not key or len(key) > TICKER_LENGTH_MAX or not key.isprintable():
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"a content key is 1-{TICKER_LENGTH_MAX} printable characters")
        if len(body) > CONTENT_BYTES_MAX:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"a published document is at most {CONTENT_BYTES_MAX} characters")
        of_kind = self.items.get(kind)
        if not body:
            if of_kind is None or key not in of_kind:
                raise Rejected(RejectCode.INVALID_PARAMETERS, f"no {kind} {key!r} is published")
            del of_kind[key]
            self.count -= 1
            return
        if of_kind is None:
            of_kind = self.items[kind] = {}
        if key not in of_kind:
            if self.count >= CONTENT_ITEMS_MAX:
                raise Rejected(RejectCode.INVALID_PARAMETERS, f"the exchange holds {CONTENT_ITEMS_MAX} published documents already")
            self.count += 1
        of_kind[key] = body
