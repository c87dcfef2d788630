"""Documents the operator publishes: kept by kind and key in publication order, withdrawn with an empty
body, bounded, refused cleanly, and carried by the snapshot."""

from __future__ import annotations

from harness import Harness, of_type
from predictex.core import commands as c
from predictex.core.events import ContentPublished
from predictex.core.limits import CONTENT_BYTES_MAX
from predictex.core.rejects import RejectCode
from predictex.core.snapshot import restore_snapshot, state_hash, take_snapshot


def test_documents_are_published_replaced_and_withdrawn(exchange: Harness) -> None:
    outcome = exchange.ok(c.PublishContent("milestone", "m-1", '{"title": "one"}'))
    assert [(e.kind, e.key) for e in of_type(outcome, ContentPublished)] == [("milestone", "m-1")]
    exchange.ok(c.PublishContent("milestone", "m-2", '{"title": "two"}'))
    exchange.ok(c.PublishContent("milestone", "m-1", '{"title": "one again"}'))
    assert exchange.engine.content.items["milestone"] == {"m-1": '{"title": "one again"}', "m-2": '{"title": "two"}'}
    exchange.ok(c.PublishContent("milestone", "m-1", ""))
    assert list(exchange.engine.content.items["milestone"]) == ["m-2"]
    assert exchange.engine.content.count == 1


def test_bad_documents_are_refused_and_change_nothing(exchange: Harness) -> None:
    exchange.advance(0)  # the clock's first reading is a change of its own
    exchange.refused(c.PublishContent("gossip", "k", "{}"), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.PublishContent("milestone", "", "{}"), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.PublishContent("milestone", "k\n", "{}"), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.PublishContent("milestone", "k", "x" * (CONTENT_BYTES_MAX + 1)), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.PublishContent("milestone", "never", ""), RejectCode.INVALID_PARAMETERS)


def test_published_documents_survive_a_snapshot(exchange: Harness) -> None:
    exchange.ok(c.PublishContent("weather_index", "miami", '{"units": "F", "timeseries": []}'))
    exchange.ok(c.PublishContent("sport_filters", "Football", '{"scopes": [], "competitions": {}}'))
    restored = restore_snapshot(take_snapshot(exchange.engine))
    assert state_hash(restored) == state_hash(exchange.engine)
    assert restored.content.items == exchange.engine.content.items and restored.content.count == 2
