"""A journal written before the order enums (by commit 952bc12: time in force, status, action and close
reasons as plain strings) still replays bit for bit: every stored command regenerates exactly its
stored events, every stored event decodes and re-encodes to the same bytes, and the final state hash is
the one that build reached. The fixture is 1,500 commands of the simulation's seed-11 workload after its
setup, refused ones included (time_in_force "day", action "hold", ...), as records store them."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson

from predictex.core.codec import decode_event, encode_event
from predictex.core.engine import Engine
from predictex.core.snapshot import state_hash
from predictex.journal.journal import replay
from predictex.journal.records import Record

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "journal-952bc12.jsonl.gz"


def _fixture() -> tuple[list[Record], str]:
    lines = [orjson.loads(line) for line in gzip.decompress(FIXTURE.read_bytes()).splitlines()]
    *stored, last = lines
    records = [
        Record(line["seq"], line["time_ms"], line["command"].encode(), line["events"].encode(), len(orjson.loads(line["events"])))
        for line in stored
    ]
    return records, last["state_hash"]


def test_an_older_journal_replays_bit_for_bit() -> None:
    records, final_hash = _fixture()
    assert len(records) > 1_500
    engine = Engine()
    for record in records:
        replay(engine, record)  # raises unless the regenerated events are the stored bytes
    assert state_hash(engine) == final_hash


def test_every_stored_event_decodes_and_encodes_to_its_bytes() -> None:
    records, _ = _fixture()
    refused_terms = 0
    for record in records:
        stored = orjson.loads(record.events_json)
        assert orjson.dumps([encode_event(decode_event(event)) for event in stored]) == record.events_json
        command = orjson.loads(record.command_json)
        refused_terms += command[0] == "create_order" and (command[6] not in ("good_till_canceled", "immediate_or_cancel",
                                                                               "fill_or_kill") or command[15] not in ("buy", "sell"))
    assert refused_terms > 0, "the fixture holds requests with terms no enum has, as journals may"


def test_decoded_events_carry_the_enums_and_refuse_unknown_words() -> None:
    import pytest

    from predictex.core.codec import CodecError
    from predictex.core.events import OrderClosed
    from predictex.core.orders import Action, CloseReason, OrderStatus, TimeInForce

    records, _ = _fixture()
    closed = next(decode_event(e) for r in records for e in orjson.loads(r.events_json) if e[0] == "order_closed")
    assert isinstance(closed, OrderClosed)
    assert (type(closed.status), type(closed.reason), type(closed.time_in_force), type(closed.action)) == (
        OrderStatus, CloseReason, TimeInForce, Action)
    stored = next(e for r in records for e in orjson.loads(r.events_json) if e[0] == "order_closed")
    stored[OrderClosed.FIELDS.index("status") + 1] = "gone"
    with pytest.raises(CodecError, match="status 'gone'"):
        decode_event(stored)
