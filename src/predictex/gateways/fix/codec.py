"""FIX tag=value framing: split a byte stream into messages, check them, and write them.

`Framer.feed(data)` takes bytes as they arrive (any split, one byte at a time included) and returns
what is complete: a `Frame` (a message whose BeginString, BodyLength and CheckSum are right) or a
`Garbled` (bytes the FIX spec says to discard without touching sequence numbers: a bad checksum, a
body length that does not end at a checksum, a message that does not start with 8=, 9=, 35=). After
garbage it resynchronises at the next "8=FIX". Nothing here raises on bad input.

`parse_fields(frame)` splits a frame into (tag, value) pairs, honouring length-prefixed data fields
(RawData and friends may contain SOH), and reports the first structural fault as a `FieldError`
naming the tag (the session answers it with a Reject). `encode(...)` writes a message with its
BodyLength and CheckSum.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from predictex.core.limits import FIX_MESSAGE_BYTES_MAX

SOH = b"\x01"
_START = b"8=FIX"
_NEXT_START = b"\x018=FIX"
_BODY_LENGTH = b"\x019="
_TRAILER_BYTES = 7  # "10=ddd" + SOH
# length tag -> the data tag it measures (data values may hold any byte, SOH included)
DATA_FIELDS = {95: 96, 90: 91, 93: 89, 212: 213, 348: 349, 350: 351, 352: 353, 354: 355, 356: 357, 358: 359,
               360: 361, 362: 363, 364: 365, 445: 446, 618: 619, 621: 622}
_DATA_TAGS = frozenset(DATA_FIELDS.values())
_DATA_MARKER = re.compile(rb"\x01(?:" + b"|".join(b"%d" % tag for tag in DATA_FIELDS) + rb")=")


class Frame:
    """A whole message as received: its bytes and BeginString."""

    __slots__ = ("begin_string", "data")

    def __init__(self, data: bytes, begin_string: bytes) -> None:
        self.data = data
        self.begin_string = begin_string


class Garbled:
    """Bytes discarded as garbled, and why."""

    __slots__ = ("data", "reason")

    def __init__(self, data: bytes, reason: str) -> None:
        self.data = data
        self.reason = reason

    def __repr__(self) -> str:
        return f"Garbled({self.reason}: {self.data[:60]!r})"


def checksum(data: bytes) -> bytes:
    return b"%03d" % (sum(data) & 0xFF)


class Framer:
    """Streaming frame splitter; keeps at most one partial message (bounded by FIX_MESSAGE_BYTES_MAX)."""

    def __init__(self, max_bytes: int = FIX_MESSAGE_BYTES_MAX) -> None:
        self._buffer = bytearray()
        self.max_bytes = max_bytes

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame | Garbled]:
        buffer = self._buffer
        buffer += data
        out: list[Frame | Garbled] = []
        while buffer:
            item = self._next(buffer)
            if item is None:
                break
            out.append(item)
        return out

    def _next(self, buffer: bytearray) -> Frame | Garbled | None:
        """One frame or garbage from the front of the buffer, removed from it; None: need more bytes."""
        if not buffer.startswith(_START):
            if len(buffer) < len(_START) and _START.startswith(bytes(buffer)):
                return None
            return self._skip(buffer, 0, "does not start with 8=FIX")
        soh = buffer.find(SOH)
        if soh < 0:
            return None if len(buffer) <= 32 else self._skip(buffer, 0, "BeginString too long")
        begin_string = bytes(buffer[2:soh])
        if not buffer.startswith(_BODY_LENGTH, soh):
            if len(buffer) < soh + len(_BODY_LENGTH):
                return None
            return self._skip(buffer, 0, "BodyLength (9) is not the second field")
        length_end = buffer.find(SOH, soh + 3)
        if length_end < 0:
            return None if len(buffer) - soh <= 12 else self._skip(buffer, 0, "BodyLength is not a number")
        length_text = bytes(buffer[soh + 3:length_end])
        if not length_text.isdigit() or len(length_text) > 9:
            return self._skip(buffer, 0, "BodyLength is not a number")
        body_start = length_end + 1
        end = body_start + int(length_text) + _TRAILER_BYTES
        if end - body_start > self.max_bytes:
            return self._skip(buffer, 0, f"message longer than {self.max_bytes} bytes")
        if len(buffer) < end:
            restart = buffer.find(_NEXT_START, body_start)
            if restart >= 0:  # another message began before this one's declared end: a bad BodyLength
                return self._skip(buffer, restart + 1, "BodyLength does not match the message", exact=True)
            return None
        trailer = buffer[end - _TRAILER_BYTES:end]
        if not (trailer.startswith(b"10=") and trailer.endswith(SOH) and buffer[end - _TRAILER_BYTES - 1] == 1):
            return self._skip(buffer, _cut_before_next(buffer, body_start), "BodyLength does not end at a CheckSum (10)",
                              exact=True)
        data = bytes(buffer[:end])
        del buffer[:end]
        if checksum(data[:-_TRAILER_BYTES]) != data[-4:-1]:
            return Garbled(data, "bad CheckSum")
        return Frame(data, begin_string)

    @staticmethod
    def _skip(buffer: bytearray, cut: int, reason: str, exact: bool = False) -> Garbled | None:
        """Discard up to `cut` (exact) or up to the next "8=FIX" after the front."""
        if not exact:
            cut = _resync_point(buffer)
        data = bytes(buffer[:cut])
        del buffer[:cut]
        return Garbled(data, reason) if data else None


def _cut_before_next(buffer: bytearray, start: int) -> int:
    """Where garbage that began before `start` ends: just before the next SOH 8=FIX, or before a tail
    that could still become one (so the cut is the same however the bytes were split)."""
    restart = buffer.find(_NEXT_START, start)
    if restart >= 0:
        return restart + 1
    for keep in range(len(_NEXT_START) - 1, 1, -1):
        if len(buffer) - keep >= start and buffer.endswith(_NEXT_START[:keep]):
            return len(buffer) - keep + 1
    return len(buffer)


def _resync_point(buffer: bytearray) -> int:
    """Where the next message may start: the next "8=FIX" after the front that follows a SOH or a
    non-digit, or else the start of a tail that could be the beginning of one."""
    position = buffer.find(_START, 1)
    while position > 0:
        before = buffer[position - 1]
        if before == 1 or not 48 <= before <= 57:
            return position
        position = buffer.find(_START, position + 1)
    for keep in range(min(len(_START) - 1, len(buffer) - 1), 0, -1):
        if _START.startswith(bytes(buffer[-keep:])):
            return len(buffer) - keep
    return len(buffer)


class FieldError(Exception):
    """A structural fault in a message: `reason` is a SessionRejectReason(373) code."""

    def __init__(self, tag: int, reason: int, text: str) -> None:
        super().__init__(text)
        self.tag = tag
        self.reason = reason
        self.text = text


def parse_fields(data: bytes) -> list[tuple[int, bytes]]:
    """The (tag, value) pairs of a frame (BeginString to CheckSum). Raises FieldError for a field
    that is not tag=value, a tag that is not a number, or a tag without a value."""
    if _DATA_MARKER.search(data) is None:
        pairs: list[tuple[int, bytes]] = []
        append = pairs.append
        for part in data.split(SOH)[:-1]:
            tag_text, sep, value = part.partition(b"=")
            append((_tag(tag_text, sep, value), value))
        return pairs
    return _parse_with_data(data)


def _tag(tag_text: bytes, sep: bytes, value: bytes) -> int:
    if not tag_text.isdigit() or len(tag_text) > 9 or tag_text[0] == 48:
        number = int(tag_text) if tag_text.isdigit() and len(tag_text) <= 9 else 0
        raise FieldError(number, 0, f"invalid tag number {tag_text[:20]!r}")
    tag = int(tag_text)
    if not sep or not value:
        raise FieldError(tag, 4, f"tag {tag} specified without a value")
    return tag


def _parse_with_data(data: bytes) -> list[tuple[int, bytes]]:
    pairs: list[tuple[int, bytes]] = []
    position = 0
    data_length: dict[int, int] = {}
    end = len(data)
    while position < end:
        equals = data.find(b"=", position)
        if equals < 0:
            raise FieldError(0, 0, "a field without '='")
        tag_text = data[position:equals]
        if not tag_text.isdigit() or len(tag_text) > 9:
            raise FieldError(0, 0, f"invalid tag number {tag_text[:20]!r}")
        tag = int(tag_text)
        if tag in _DATA_TAGS and tag in data_length:
            value_end = equals + 1 + data_length.pop(tag)
            if value_end >= end or data[value_end] != 1:
                raise FieldError(tag, 5, f"tag {tag} does not match its length field")
        else:
            value_end = data.find(SOH, equals + 1)
            if value_end < 0:
                raise FieldError(tag, 4, f"tag {tag} is not terminated")
        value = data[equals + 1:value_end]
        if not value:
            raise FieldError(tag, 4, f"tag {tag} specified without a value")
        measured = DATA_FIELDS.get(tag)
        if measured is not None:
            if not value.isdigit() or len(value) > 9:
                raise FieldError(tag, 6, f"tag {tag} must be a length")
            data_length[measured] = int(value)
        pairs.append((tag, value))
        position = value_end + 1
    return pairs


def encode(begin_string: bytes, body: bytes) -> bytes:
    """A whole message from its body (35=... up to and including the SOH before CheckSum)."""
    head = b"8=" + begin_string + b"\x019=" + str(len(body)).encode() + SOH
    message = head + body
    return message + b"10=" + checksum(message) + SOH


def body_bytes(fields: Iterable[tuple[int, bytes | str | int]]) -> bytes:
    """tag=value SOH ... for the given fields (values as bytes, str or int)."""
    parts = []
    for tag, value in fields:
        if isinstance(value, bytes):
            parts.append(b"%d=%s\x01" % (tag, value))
        elif isinstance(value, int):
            parts.append(b"%d=%d\x01" % (tag, value))
        else:
            parts.append(b"%d=%s\x01" % (tag, value.encode("utf-8")))
    return b"".join(parts)


def field_value(fields: Sequence[tuple[int, bytes]], tag: int) -> bytes | None:
    for number, value in fields:
        if number == tag:
            return value
    return None
