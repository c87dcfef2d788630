"""A small blocking FIX client for the integration tests (the counterparty for most FIX tests;
QuickFIX is the independent one in tests/compat). It signs the Logon as Kalshi documents: RawData =
base64 RSA-PSS over SendingTime, MsgType, MsgSeqNum, SenderCompID and TargetCompID joined by SOH."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from predictex.gateways.fix.codec import Frame, Framer, body_bytes, encode, parse_fields
from predictex.gateways.fix.session import utc_timestamp

WAIT_S = 10.0


class Received:
    """A message from the server: its type and first value per tag (as str), and all fields."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.fields = [(tag, value.decode("utf-8", "replace")) for tag, value in parse_fields(data)]
        self.values: dict[int, str] = {}
        for tag, value in self.fields:
            self.values.setdefault(tag, value)
        self.msg_type = self.values[35]
        self.seq = int(self.values[34])

    def __getitem__(self, tag: int) -> str:
        return self.values[tag]

    def get(self, tag: int, default: str | None = None) -> str | None:
        return self.values.get(tag, default)

    def __repr__(self) -> str:
        return "Received(" + "|".join(f"{t}={v}" for t, v in self.fields) + ")"


class FixClient:
    def __init__(self, port: int, credentials: Any, target: str = "KalshiNR", begin_string: str = "FIX.4.4",
                 host: str = "127.0.0.1") -> None:
        self.port = port
        self.host = host
        self.credentials = credentials
        self.sender = credentials.key_id if credentials is not None else "nobody"
        self.target = target
        self.begin_string = begin_string.encode()
        self.next_out = 1
        self.sock: socket.socket | None = None
        self._framer = Framer()
        self.inbox: list[Received] = []
        self.closed = False

    # --- connection ------------------------------------------------------------------------------

    def connect(self) -> FixClient:
        self.sock = socket.create_connection((self.host, self.port), timeout=WAIT_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._framer = Framer()
        self.closed = False
        return self

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self) -> FixClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sending ---------------------------------------------------------------------------------

    def message(self, msg_type: str, fields: list[tuple[int, Any]], *, seq: int | None = None, sending_ms: int | None = None,
                header: list[tuple[int, Any]] | None = None, sender: str | None = None) -> bytes:
        number = self.next_out if seq is None else seq
        stamp = utc_timestamp(sending_ms if sending_ms is not None else time.time_ns() // 1_000_000)
        head = [(35, msg_type), (49, sender or self.sender), (56, self.target), (34, number), (52, stamp)] + (header or [])
        return encode(self.begin_string, body_bytes(head + fields))

    def send(self, msg_type: str, fields: list[tuple[int, Any]], **options: Any) -> int:
        seq = options.get("seq")
        data = self.message(msg_type, fields, **options)
        self.send_raw(data)
        if seq is None:
            self.next_out += 1
        return self.next_out - 1 if seq is None else int(seq)

    def send_raw(self, data: bytes) -> None:
        assert self.sock is not None
        self.sock.sendall(data)

    def logon_fields(self, *, seq: int, reset: bool, heartbeat_s: int = 30, extra: list[tuple[int, Any]] | None = None,
                     sending_ms: int | None = None, signature: str | None = None) -> tuple[list[tuple[int, Any]], int]:
        stamp_ms = sending_ms if sending_ms is not None else time.time_ns() // 1_000_000
        stamp = utc_timestamp(stamp_ms).decode()
        signed = "\x01".join((stamp, "A", str(seq), self.sender, self.target))
        raw = signature if signature is not None else self.credentials.sign(signed)
        fields: list[tuple[int, Any]] = [(98, 0), (108, heartbeat_s), (95, len(raw)), (96, raw)]
        if reset:
            fields.append((141, "Y"))
        if self.begin_string == b"FIXT.1.1":
            fields.append((1137, "9"))
        return fields + (extra or []), stamp_ms

    def logon(self, *, reset: bool = True, heartbeat_s: int = 30, extra: list[tuple[int, Any]] | None = None,
              expect: str = "A") -> Received:
        if reset:
            self.next_out = 1
        fields, stamp_ms = self.logon_fields(seq=self.next_out, reset=reset, heartbeat_s=heartbeat_s, extra=extra)
        self.send("A", fields, sending_ms=stamp_ms)
        reply = self.wait(lambda m: m.msg_type in ("A", "5"))
        assert reply.msg_type == expect, reply
        return reply

    # --- receiving -------------------------------------------------------------------------------

    def _read(self, timeout_s: float) -> bool:
        assert self.sock is not None
        self.sock.settimeout(timeout_s)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return True
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        for item in self._framer.feed(data):
            assert isinstance(item, Frame), f"the server sent garbage: {item}"
            self.inbox.append(Received(item.data))
        return True

    def wait(self, predicate: Callable[[Received], bool], timeout_s: float = WAIT_S) -> Received:
        deadline = time.monotonic() + timeout_s
        while True:
            for index, message in enumerate(self.inbox):
                if predicate(message):
                    del self.inbox[index]
                    return message
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching message within {timeout_s} s; inbox: {self.inbox}")
            if not self._read(min(left, 0.5)) and not self.inbox:
                raise ConnectionError(f"the server closed the connection; inbox: {self.inbox}")

    def wait_type(self, msg_type: str, timeout_s: float = WAIT_S) -> Received:
        return self.wait(lambda m: m.msg_type == msg_type, timeout_s)

    def wait_closed(self, timeout_s: float = WAIT_S) -> list[Received]:
        """Read until the server closes the connection; returns everything received meanwhile."""
        deadline = time.monotonic() + timeout_s
        while not self.closed:
            if time.monotonic() > deadline:
                raise TimeoutError("the server did not close the connection")
            self._read(0.5)
        found, self.inbox = self.inbox, []
        return found

    def drain(self, quiet_s: float = 0.2) -> list[Received]:
        """Everything that arrives until the line is quiet for `quiet_s`."""
        while True:
            before = len(self.inbox)
            if not self._read(quiet_s) or len(self.inbox) == before:
                break
        found, self.inbox = self.inbox, []
        return found


def new_order(cl_ord_id: str, symbol: str, side: str, price_cents: Any, qty: Any, tif: str = "1",
              extra: list[tuple[int, Any]] | None = None) -> list[tuple[int, Any]]:
    return [(11, cl_ord_id), (55, symbol), (54, side), (38, qty), (40, "2"), (44, price_cents), (59, tif),
            (60, utc_timestamp(time.time_ns() // 1_000_000).decode())] + (extra or [])
