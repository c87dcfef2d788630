"""A small blocking WebSocket client for the WebSocket tests, written apart from the server's codec
(so a framing bug on one side is not mirrored on the other): the handshake, masked frames out, frames
in (answering pings unless told not to), JSON helpers, and raw access for malformed-frame tests.

    with WsClient.connect(port, "/trade-api/ws/v2", headers) as ws:
        ws.send_json({"id": 1, "cmd": "subscribe", "params": {...}})
        reply = ws.recv_json()
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

TIMEOUT_S = 10.0
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class HandshakeRefused(Exception):
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        super().__init__(f"{status}: {body[:300]!r}")
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


class Closed(Exception):
    """The server closed the WebSocket (code, reason) or the TCP connection."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed {code} {reason!r}")
        self.code = code
        self.reason = reason


def _mask(data: bytes, key: bytes) -> bytes:
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True, rsv: int = 0,
                 declared_length: int | None = None) -> bytes:
    """A client frame (masked unless told otherwise); `declared_length` lies about the length."""
    length = len(payload) if declared_length is None else declared_length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mask_bit = 0x80 if masked else 0
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 65536:
        head += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + _mask(payload, key)


class WsClient:
    def __init__(self, sock: socket.socket, leftover: bytes) -> None:
        self.sock = sock
        self.buffer = bytearray(leftover)
        self.answer_pings = True
        self.pings: list[bytes] = []  # payloads of the pings received
        self.pongs: list[bytes] = []
        self.close_code: int | None = None
        self.close_reason = ""

    # --- connecting -------------------------------------------------------------------------------

    @classmethod
    def connect(cls, port: int, path: str, headers: dict[str, str] | None = None, *, rcvbuf: int | None = None,
                timeout_s: float = TIMEOUT_S) -> WsClient:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(timeout_s)
        sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket", "Connection: Upgrade",
                 f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head, rest = _read_head(sock)
        status, reply_headers = _parse_head(head)
        if status != 101:
            body = _read_body(sock, rest, reply_headers)
            sock.close()
            raise HandshakeRefused(status, reply_headers, body)
        expected = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        assert reply_headers.get("sec-websocket-accept") == expected, reply_headers
        return cls(sock, rest)

    def __enter__(self) -> WsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    # --- sending ------------------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_text(self, text: str | bytes) -> None:
        self.send_raw(encode_frame(0x1, text.encode() if isinstance(text, str) else text))

    def send_json(self, obj: Any) -> None:
        self.send_text(json.dumps(obj))

    def ping(self, payload: bytes = b"") -> None:
        self.send_raw(encode_frame(0x9, payload))

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        self.send_raw(encode_frame(0x8, struct.pack("!H", code) + reason.encode()))

    # --- receiving -----------------------------------------------------------------------------------

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no WebSocket frame in time")
        self.sock.settimeout(remaining)
        data = self.sock.recv(262_144)
        if not data:
            raise Closed(self.close_code, "TCP connection closed" if self.close_code is None else self.close_reason)
        self.buffer += data

    def recv_frame(self, timeout_s: float = TIMEOUT_S) -> tuple[int, bool, bytes]:
        """(opcode, fin, payload) of the next frame, control frames included."""
        deadline = time.monotonic() + timeout_s
        while True:
            frame = self._parse()
            if frame is not None:
                return frame
            self._fill(deadline)

    def _parse(self) -> tuple[int, bool, bytes] | None:
        buf = self.buffer
        if len(buf) < 2:
            return None
        fin, opcode = bool(buf[0] & 0x80), buf[0] & 0x0F
        assert not buf[1] & 0x80, "a server frame must not be masked"
        assert not buf[0] & 0x70, "no extension was negotiated: RSV bits must be 0"
        length, offset = buf[1] & 0x7F, 2
        if length == 126:
            if len(buf) < 4:
                return None
            length, offset = struct.unpack("!H", buf[2:4])[0], 4
        elif length == 127:
            if len(buf) < 10:
                return None
            length, offset = struct.unpack("!Q", buf[2:10])[0], 10
        if len(buf) < offset + length:
            return None
        payload = bytes(buf[offset:offset + length])
        del buf[:offset + length]
        return opcode, fin, payload

    def recv_message(self, timeout_s: float = TIMEOUT_S) -> bytes:
        """The next data message's payload; pings are answered (unless `answer_pings` is False) and
        recorded; a Close frame raises Closed."""
        deadline = time.monotonic() + timeout_s
        parts: list[bytes] = []
        while True:
            opcode, fin, payload = self.recv_frame(max(0.001, deadline - time.monotonic()))
            if opcode == 0x9:
                self.pings.append(payload)
                if self.answer_pings:
                    self.send_raw(encode_frame(0xA, payload))
                continue
            if opcode == 0xA:
                self.pongs.append(payload)
                continue
            if opcode == 0x8:
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                self.close_reason = payload[2:].decode()
                raise Closed(self.close_code, self.close_reason)
            parts.append(payload)
            if fin:
                return b"".join(parts)

    def recv_json(self, timeout_s: float = TIMEOUT_S) -> Any:
        return json.loads(self.recv_message(timeout_s))

    def recv_until(self, predicate: Callable[[Any], bool], timeout_s: float = TIMEOUT_S) -> tuple[Any, list[Any]]:
        """Read messages until one satisfies `predicate`; returns it and every message before it."""
        deadline = time.monotonic() + timeout_s
        seen: list[Any] = []
        while True:
            message = self.recv_json(max(0.001, deadline - time.monotonic()))
            if predicate(message):
                return message, seen
            seen.append(message)

    def expect_nothing(self, within_s: float = 0.3) -> None:
        """Assert no data message arrives for a while (pings are answered and ignored)."""
        try:
            message = self.recv_message(within_s)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message: {message[:300]!r}")


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed during the handshake: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


def _read_body(sock: socket.socket, rest: bytes, headers: dict[str, str]) -> bytes:
    length = int(headers.get("content-length", "0"))
    body = rest
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return body[:length]
