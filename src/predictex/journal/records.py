"""Journal records and how a batch of them is framed on disk.

A record is one sequenced command with the time it was applied at and the events it produced. The
command and the events are kept as JSON bytes, encoded once by the sequencer: replay decodes only the
command, and checks the regenerated events by comparing bytes. The sequencer commits records in
batches (group commit); a batch is stored as one blob of framed records:

    [length u32][seq u64][time_ms i64][crc32 u32][command bytes u32][event count u32]
    [command: JSON list][events: JSON list of lists]

`length` counts the command and events bytes. The command's bytes may be followed by a newline and the
command's source (a JSON object: where it came from, `server/sources.py`); compact JSON never holds a
raw newline, so the first one splits them. A record without a source (written before sources, or a
timer's tick) has no newline. The CRC covers everything after itself and the seq and
time. Decoding a blob distinguishes two failures:
- torn: the blob ends early (inside a record, or between two records short of the count the batch
  claims). Only the last batch of a journal may be torn (a write cut by a crash); recovery discards
  that batch, whose commands were never acknowledged.
- damaged: a record is complete but fails its checksum, or sequence numbers do not follow on. That is
  never a torn write, and recovery stops, naming the sequence number.

The audit trail: each stored batch carries a chain hash, SHA-256 over the previous batch's chain hash
and the batch's canonical bytes (its first and last sequence numbers and record count as three
big-endian u64, then the blob). The first batch chains from 32 zero bytes. Changing, removing or
reordering any batch breaks the chain at that batch (`chain_hash`, and `journal.verify.check_chain`).
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

import orjson
from isal.isal_zlib import crc32  # zlib's CRC-32 (same values), 134 -> 40 ns on 100 bytes, 270 -> 51 on 1,100

_HEADER = struct.Struct(">IQqIII")
HEADER_BYTES = _HEADER.size
_CHECKED = struct.Struct(">QqII")  # what the CRC covers besides the payload
_pack_header = _HEADER.pack  # bound once: compiled code would look the method up on every call
_pack_checked = _CHECKED.pack
_CANONICAL = struct.Struct(">QQQ")  # a batch's first seq, last seq and record count, ahead of its blob in the chain hash
GENESIS_HASH = bytes(32)  # what the first batch chains from


class JournalError(Exception):
    """The journal cannot be used (I/O failure, wrong format)."""


class JournalDamaged(JournalError):
    """A stored record is damaged: start-up must stop rather than skip it."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"journal damaged at sequence {seq}: {reason}")
        self.seq = seq
        self.reason = reason


class TornBatch(JournalError):
    """The blob ends inside a record: a write torn by a crash."""

    def __init__(self, first_seq: int, complete_records: int) -> None:
        super().__init__(f"batch starting at sequence {first_seq} is torn after {complete_records} records")
        self.first_seq = first_seq
        self.complete_records = complete_records


class Record:
    """One sequenced command: its sequence number, the time it was applied at, the command and its
    events as JSON bytes (of the plain lists of predictex.core.codec), and how many events there are.
    `command` and `events` decode the lists on demand."""

    __slots__ = ("command_json", "event_count", "events_json", "seq", "source_json", "time_ms")

    def __init__(self, seq: int, time_ms: int, command_json: bytes, events_json: bytes, event_count: int,
                 source_json: bytes = b"") -> None:
        self.seq = seq
        self.time_ms = time_ms
        self.command_json = command_json
        self.events_json = events_json
        self.event_count = event_count
        self.source_json = source_json

    @classmethod
    def of(cls, seq: int, time_ms: int, command: list[Any], events: list[list[Any]], source_json: bytes = b"") -> Record:
        """A record from the plain lists."""
        return cls(seq, time_ms, orjson.dumps(command), orjson.dumps(events), len(events), source_json)

    @property
    def source(self) -> dict[str, Any]:
        """Where the command came from (empty when the record does not say)."""
        if not self.source_json:
            return {}
        decoded: dict[str, Any] = orjson.loads(self.source_json)
        return decoded

    @property
    def command(self) -> list[Any]:
        decoded: list[Any] = orjson.loads(self.command_json)
        return decoded

    @property
    def events(self) -> list[list[Any]]:
        decoded: list[list[Any]] = orjson.loads(self.events_json)
        return decoded

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Record) and other.seq == self.seq and other.time_ms == self.time_ms
            and other.command_json == self.command_json and other.events_json == self.events_json
            and other.source_json == self.source_json
        )

    def __hash__(self) -> int:
        return hash((self.seq, self.time_ms, self.command_json, self.events_json, self.source_json))

    def __repr__(self) -> str:
        return f"Record(seq={self.seq}, time_ms={self.time_ms}, command={self.command_json[:60]!r}, events={self.event_count})"


def _checksum(seq: int, time_ms: int, command_length: int, event_count: int, payload: bytes | memoryview) -> int:
    checksum: int = crc32(payload, crc32(_pack_checked(seq, time_ms, command_length, event_count)))
    return checksum


def chain_hash(previous: bytes, first_seq: int, last_seq: int, record_count: int, data: bytes) -> bytes:
    """The chain hash of a batch: SHA-256 over the previous batch's chain hash and this batch's
    canonical bytes."""
    digest = hashlib.sha256(previous)
    digest.update(_CANONICAL.pack(first_seq, last_seq, record_count))
    digest.update(data)
    return digest.digest()


def encode_batch(records: list[Record]) -> bytes:
    """The records framed one after another (the CRC runs on from the command to the events, without
    joining them first)."""
    parts: list[bytes] = []
    for record in records:
        command, events = record.command_json, record.events_json
        if record.source_json:
            command = command + b"\n" + record.source_json
        seq, time_ms, event_count = record.seq, record.time_ms, record.event_count
        command_length = len(command)
        crc = crc32(events, _checksum(seq, time_ms, command_length, event_count, command))
        parts.append(_pack_header(command_length + len(events), seq, time_ms, crc, command_length, event_count))
        parts.append(command)
        parts.append(events)
    return b"".join(parts)


def decode_batch(blob: bytes, first_seq: int, record_count: int) -> list[Record]:
    """Every record of a batch blob that should hold `record_count` records, checked. A blob that ends
    early, inside a record or exactly between two, raises TornBatch; anything else wrong raises
    JournalDamaged."""
    records: list[Record] = []
    offset = 0
    expected_seq = first_seq
    size = len(blob)
    view = memoryview(blob)  # checksums read the blob in place; only the command and events are copied out
    while offset < size:
        if offset + HEADER_BYTES > size:
            raise TornBatch(first_seq, len(records))
        length, seq, time_ms, crc, command_length, event_count = _HEADER.unpack_from(blob, offset)
        start = offset + HEADER_BYTES
        end = start + length
        if end > size:
            raise TornBatch(first_seq, len(records))
        if seq != expected_seq:
            raise JournalDamaged(expected_seq, f"found sequence {seq} where {expected_seq} belongs")
        if command_length > length:
            raise JournalDamaged(seq, "command longer than its record")
        if _checksum(seq, time_ms, command_length, event_count, view[start:end]) != crc:
            raise JournalDamaged(seq, "checksum mismatch")
        middle = start + command_length
        split = blob.find(b"\n", start, middle)
        if split < 0:
            records.append(Record(seq, time_ms, blob[start:middle], blob[middle:end], event_count))
        else:
            records.append(Record(seq, time_ms, blob[start:split], blob[middle:end], event_count, blob[split + 1:middle]))
        expected_seq += 1
        offset = end
    if len(records) < record_count:
        raise TornBatch(first_seq, len(records))
    if len(records) > record_count:
        raise JournalDamaged(first_seq, f"batch holds {len(records)} records, expected {record_count}")
    return records
