"""The journal's record framing, byte for byte: journals written by earlier versions must stay readable,
so the layout and the checksum (zlib's CRC-32, whichever library computes it) are pinned here against
an encoder written out from the format's description with struct and zlib."""

from __future__ import annotations

import struct
import zlib

import pytest

from predictex.journal.records import JournalDamaged, Record, TornBatch, decode_batch, encode_batch


def _frame(record: Record) -> bytes:
    """[length u32][seq u64][time_ms i64][crc32 u32][command bytes u32][event count u32][command][events],
    the CRC over seq, time, command length and event count, then the command and the events."""
    command, events = record.command_json, record.events_json
    checked = struct.pack(">QqII", record.seq, record.time_ms, len(command), record.event_count)
    crc = zlib.crc32(checked + command + events)
    return struct.pack(">IQqIII", len(command) + len(events), record.seq, record.time_ms, crc, len(command), record.event_count) + command + events


RECORDS = [
    Record.of(41, 1_700_000_000_000, ["open_account"], [["account_opened", 7]]),
    Record.of(42, 1_700_000_000_001, ["tick"], []),
    Record.of(43, -5, ["deposit", 7, 10**15, "wire é"], [["deposited", 7, 10**15, "wire é"], ["balance_changed", 7, 10**15, 0, 0]]),
]


def test_a_batch_is_its_records_framed_as_documented() -> None:
    blob = encode_batch(RECORDS)
    assert blob == b"".join(_frame(record) for record in RECORDS)
    assert decode_batch(blob, 41, 3) == RECORDS
    assert [r.event_count for r in decode_batch(blob, 41, 3)] == [1, 0, 2]


def test_a_blob_cut_short_is_torn_and_a_changed_byte_is_damage_at_its_record() -> None:
    blob = encode_batch(RECORDS)
    with pytest.raises(TornBatch):
        decode_batch(blob[:-3], 41, 3)
    with pytest.raises(TornBatch):
        decode_batch(blob[:len(_frame(RECORDS[0]))], 41, 3)  # exactly between two records
    second = len(_frame(RECORDS[0]))
    damaged = bytearray(blob)
    damaged[second + len(_frame(RECORDS[1])) - 1] ^= 0x01  # the last byte of the second record's events
    with pytest.raises(JournalDamaged) as error:
        decode_batch(bytes(damaged), 41, 3)
    assert error.value.seq == 42
