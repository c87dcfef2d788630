"""RFC 6455 framing without I/O: bytes in, messages out; messages in, bytes out.

Written here rather than taken from the `websockets` library's sans-I/O protocol because the fan-out
needs something that library does not offer: a message body encoded once and sent to a thousand
subscriptions, each frame built by splicing a short header and the subscription's sid/seq onto the
shared bytes (`text_header`), with no per-send bookkeeping. The rest of the protocol is small enough
to own: no extensions are negotiated (so no compression, RSV bits must be zero), no subprotocols.

`FrameParser.feed` takes whatever arrived and returns the events it completed: `Text` and `Binary`
messages (fragments joined), `Ping`, `Pong`, `Close`, `TooBig` (a message past the size limit, skipped
without being buffered; the connection may go on) and `Violation` (the peer broke a rule RFC 6455 says
ends the connection, with the close code to use). Feeding the bytes one at a time gives exactly the
events that feeding them all at once gives.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Final, NamedTuple

OP_CONTINUATION: Final = 0x0
OP_TEXT: Final = 0x1
OP_BINARY: Final = 0x2
OP_CLOSE: Final = 0x8
OP_PING: Final = 0x9
OP_PONG: Final = 0xA

CLOSE_NORMAL: Final = 1000
CLOSE_GOING_AWAY: Final = 1001
CLOSE_PROTOCOL_ERROR: Final = 1002
CLOSE_UNSUPPORTED: Final = 1003
CLOSE_NO_STATUS: Final = 1005  # never sent: what a Close frame without a code means
CLOSE_INVALID_DATA: Final = 1007
CLOSE_POLICY: Final = 1008
CLOSE_TOO_BIG: Final = 1009
CLOSE_INTERNAL_ERROR: Final = 1011

_GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_CONTROL_PAYLOAD_MAX: Final = 125
_SENDABLE_CODES: Final = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key."""
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + _GUID).digest()).decode("ascii")


# --- events ---------------------------------------------------------------------------------------------


class Text(NamedTuple):
    payload: bytes  # valid UTF-8


class Binary(NamedTuple):
    payload: bytes


class Ping(NamedTuple):
    payload: bytes


class Pong(NamedTuple):
    payload: bytes


class Close(NamedTuple):
    code: int  # CLOSE_NO_STATUS when the frame carried none
    reason: str


class TooBig(NamedTuple):
    size_bytes: int  # how big the message had grown when it passed the limit


class Violation(NamedTuple):
    code: int  # the close code to send
    reason: str


Event = Text | Binary | Ping | Pong | Close | TooBig | Violation


# --- encoding -------------------------------------------------------------------------------------------

_TEXT_HEADERS: Final = tuple(bytes((0x80 | OP_TEXT, n)) for n in range(126))


def text_header(size: int) -> bytes:
    """The header of an unmasked, final text frame of `size` payload bytes (what a server sends)."""
    if size < 126:
        return _TEXT_HEADERS[size]
    if size < 65_536:
        return b"\x81\x7e" + size.to_bytes(2, "big")
    return b"\x81\x7f" + size.to_bytes(8, "big")


def frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bytes | None = None, rsv: int = 0) -> bytes:
    """One frame. A client masks (`mask` is its 4-byte key); a server does not. `rsv` sets the three
    reserved bits (only tests have a reason to)."""
    size = len(payload)
    first = (0x80 if fin else 0) | (rsv & 0x7) << 4 | opcode
    mask_bit = 0x80 if mask is not None else 0
    if size < 126:
        header = bytes((first, mask_bit | size))
    elif size < 65_536:
        header = bytes((first, mask_bit | 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((first, mask_bit | 127)) + size.to_bytes(8, "big")
    if mask is None:
        return header + payload
    return header + mask + unmask(payload, mask)


def close_payload(code: int, reason: str = "") -> bytes:
    """A Close frame's payload: the code, then a UTF-8 reason cut to fit in 125 bytes."""
    encoded = reason.encode("utf-8")[: _CONTROL_PAYLOAD_MAX - 2]
    return code.to_bytes(2, "big") + encoded.decode("utf-8", "ignore").encode("utf-8")


def unmask(data: bytes, mask: bytes) -> bytes:
    """XOR with the repeating 4-byte key (masking and unmasking are the same operation)."""
    size = len(data)
    if size == 0:
        return b""
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(size, "little")


# --- parsing --------------------------------------------------------------------------------------------


class FrameParser:
    """Incremental parser for one direction of a connection. `expect_masked` is True on a server (every
    client frame must be masked) and False on a client (server frames never are)."""

    __slots__ = (
        "_buffer",
        "_failed",
        "_fragments",
        "_message_bytes",
        "_message_opcode",
        "_skip_left",
        "_skipping",
        "expect_masked",
        "message_bytes_max",
    )

    def __init__(self, *, expect_masked: bool, message_bytes_max: int) -> None:
        self.expect_masked = expect_masked
        self.message_bytes_max = message_bytes_max
        self._buffer = bytearray()
        self._failed = False
        self._message_opcode = 0  # opcode of the message being assembled (0: none)
        self._message_bytes = 0
        self._fragments: list[bytes] = []
        self._skipping = False  # the current message passed the limit: its payload is dropped
        self._skip_left = 0  # bytes of the current frame's payload still to drop

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        if self._failed:
            return events
        if self._skip_left:
            dropped = min(self._skip_left, len(data))
            self._skip_left -= dropped
            data = data[dropped:]
        self._buffer += data
        buffer = self._buffer
        position = 0
        while not self._failed:
            consumed = self._next_frame(buffer, position, events)
            if consumed == 0:
                break
            position += consumed
            if self._skip_left:  # the frame's payload runs past what we have: drop what is here
                dropped = min(self._skip_left, len(buffer) - position)
                self._skip_left -= dropped
                position += dropped
                if self._skip_left:
                    break
        del buffer[:position]
        return events

    def _next_frame(self, buffer: bytearray, start: int, events: list[Event]) -> int:
        """Parse one frame at `start`; returns the bytes it took (0: incomplete, wait for more)."""
        available = len(buffer) - start
        if available < 2:
            return 0
        first, second = buffer[start], buffer[start + 1]
        fin = first & 0x80
        opcode = first & 0x0F
        masked = second & 0x80
        size = second & 0x7F
        header = 2
        if size == 126:
            if available < 4:
                return 0
            size = int.from_bytes(buffer[start + 2:start + 4], "big")
            header = 4
        elif size == 127:
            if available < 10:
                return 0
            size = int.from_bytes(buffer[start + 2:start + 10], "big")
            header = 10
        problem = self._check_header(first, opcode, fin, bool(masked), size)
        if problem is not None:
            self._fail(events, *problem)
            return 0
        if masked:
            header += 4
        if available < header:
            return 0
        if opcode < OP_CLOSE and (self._skipping or self._message_bytes + size > self.message_bytes_max):
            self._skip(opcode, size, events)  # dropped as it arrives, never buffered
            if fin:
                self._end_message()
            return header
        if available < header + size:
            return 0
        if opcode == OP_TEXT or opcode == OP_BINARY:
            self._message_opcode = opcode
        payload = bytes(buffer[start + header:start + header + size])
        if masked:
            payload = unmask(payload, bytes(buffer[start + header - 4:start + header]))
        self._on_frame(opcode, bool(fin), payload, events)
        return header + size

    def _check_header(self, first: int, opcode: int, fin: int, masked: bool, size: int) -> tuple[int, str] | None:
        if first & 0x70:
            return CLOSE_PROTOCOL_ERROR, "reserved bits set without a negotiated extension"
        if opcode not in (OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG):
            return CLOSE_PROTOCOL_ERROR, f"unknown opcode {opcode}"
        if masked != self.expect_masked:
            return CLOSE_PROTOCOL_ERROR, "client frames must be masked" if self.expect_masked else "server frames must not be masked"
        if size >> 63:
            return CLOSE_PROTOCOL_ERROR, "frame length has its top bit set"
        if opcode >= OP_CLOSE:
            if not fin:
                return CLOSE_PROTOCOL_ERROR, "control frames must not be fragmented"
            if size > _CONTROL_PAYLOAD_MAX:
                return CLOSE_PROTOCOL_ERROR, "control frame payload longer than 125 bytes"
        elif opcode == OP_CONTINUATION and not self._message_opcode:
            return CLOSE_PROTOCOL_ERROR, "continuation frame with no message to continue"
        elif opcode != OP_CONTINUATION and self._message_opcode:
            return CLOSE_PROTOCOL_ERROR, "new message started before the previous one ended"
        return None

    def _skip(self, opcode: int, size: int, events: list[Event]) -> None:
        """Drop a data frame of a message past the size limit, reporting the message once."""
        if opcode != OP_CONTINUATION:
            self._message_opcode = opcode
        if not self._skipping:
            self._skipping = True
            self._fragments.clear()
            events.append(TooBig(self._message_bytes + size))
        self._skip_left = size

    def _on_frame(self, opcode: int, fin: bool, payload: bytes, events: list[Event]) -> None:
        if opcode == OP_PING:
            events.append(Ping(payload))
        elif opcode == OP_PONG:
            events.append(Pong(payload))
        elif opcode == OP_CLOSE:
            events.append(self._close(payload))
            if isinstance(events[-1], Violation):
                self._failed = True
        else:
            self._message_bytes += len(payload)
            self._fragments.append(payload)
            if fin:
                self._finish_message(events)

    def _finish_message(self, events: list[Event]) -> None:
        fragments = self._fragments
        payload = fragments[0] if len(fragments) == 1 else b"".join(fragments)
        opcode = self._message_opcode
        self._end_message()
        if opcode == OP_BINARY:
            events.append(Binary(payload))
            return
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            self._fail(events, CLOSE_INVALID_DATA, "text message is not valid UTF-8")
            return
        events.append(Text(payload))

    def _end_message(self) -> None:
        self._message_opcode = 0
        self._message_bytes = 0
        self._fragments = []
        self._skipping = False

    def _close(self, payload: bytes) -> Close | Violation:
        if not payload:
            return Close(CLOSE_NO_STATUS, "")
        if len(payload) == 1:
            return Violation(CLOSE_PROTOCOL_ERROR, "close frame with a one-byte payload")
        code = int.from_bytes(payload[:2], "big")
        if code not in _SENDABLE_CODES and not 3000 <= code <= 4999:
            return Violation(CLOSE_PROTOCOL_ERROR, f"invalid close code {code}")
        try:
            reason = payload[2:].decode("utf-8")
        except UnicodeDecodeError:
            return Violation(CLOSE_INVALID_DATA, "close reason is not valid UTF-8")
        return Close(code, reason)

    def _fail(self, events: list[Event], code: int, reason: str) -> None:
        self._failed = True
        events.append(Violation(code, reason))
