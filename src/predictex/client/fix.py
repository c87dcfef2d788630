"""A FIX 4.4 order-entry session for bots: Kalshi's session without retransmission (TargetCompID
`KalshiNR`, ResetSeqNumFlag=Y on every logon), as an asyncio initiator.

- `connect()` sends a signed Logon (RawData: the API key's signature over SendingTime, MsgType,
  MsgSeqNum, SenderCompID and TargetCompID joined by SOH) and waits for the exchange's Logon; a
  Logout in its place raises `FixRefused` with the exchange's text.
- `new_order`, `cancel` and `replace` send NewOrderSingle, OrderCancelRequest and
  OrderCancelReplaceRequest and return the first answer about that ClOrdID: an ExecutionReport, an
  OrderCancelReject (9) or a BusinessMessageReject (j). Every ExecutionReport, those about orders
  resting from earlier included (fills, cancels), also goes to `on_report`, in the order received.
- The session answers TestRequests, sends a Heartbeat when it has been quiet for HeartBtInt, and
  ends with a Logout. No answer in time, or a broken connection, raises `TransportError`: whether
  the request took effect is unknown, as with REST.

The framing is written here rather than imported from the exchange's FIX codec because the SDK imports
nothing of the server (a bot installs the SDK alone); tests/unit/test_client_fix.py checks that each
side reads what the other writes. Prices are whole or decimal cents of the YES side, as the
exchange's FIX gateway takes them by default; quantities are contracts.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, overload

from predictex.client.errors import PredictexError, TransportError
from predictex.client.signing import Signer

BEGIN_STRING = b"FIX.4.4"
ORDER_ENTRY_TARGET = "KalshiNR"
SOH = b"\x01"
MESSAGE_BYTES_MAX = 1 << 20  # a message from the exchange longer than this ends the session
ANSWER_TIMEOUT_S = 10.0
HEARTBEAT_S = 30
_DATA_FIELDS = {95: 96, 212: 213, 354: 355}  # length tag -> the data tag it measures (may hold SOH)
_ANSWERS = ("8", "9", "j")


class FixRefused(PredictexError):
    """The exchange refused the logon (its Logout's text) or broke the protocol."""


@dataclass(frozen=True)
class FixMessage:
    """A message from the exchange: its MsgType and every (tag, value) in order."""

    msg_type: str
    fields: tuple[tuple[int, str], ...]

    @overload
    def get(self, tag: int) -> str | None: ...

    @overload
    def get(self, tag: int, default: str) -> str: ...

    def get(self, tag: int, default: str | None = None) -> str | None:
        return next((value for field_tag, value in self.fields if field_tag == tag), default)

    def __getitem__(self, tag: int) -> str:
        value = self.get(tag)
        if value is None:
            raise KeyError(tag)
        return value


def utc_timestamp(now_ms: int) -> str:
    """FIX's UTCTimestamp with milliseconds: YYYYMMDD-HH:MM:SS.sss."""
    seconds, millis = divmod(now_ms, 1000)
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}"


def encode(fields: list[tuple[int, Any]], begin_string: bytes = BEGIN_STRING) -> bytes:
    """A whole message: BeginString, BodyLength, the fields in order, CheckSum."""
    body = b"".join(b"%d=%s\x01" % (tag, str(value).encode("utf-8")) for tag, value in fields)
    head = b"8=" + begin_string + b"\x019=%d\x01" % len(body)
    return head + body + b"10=%03d\x01" % (sum(head + body) & 0xFF)


def _parse_body(body: bytes) -> FixMessage:
    fields: list[tuple[int, str]] = []
    position, data_length = 0, -1
    while position < len(body):
        equals = body.index(b"=", position)
        tag = int(body[position:equals])
        if data_length >= 0:  # the data field that the previous length field measured
            end = equals + 1 + data_length
            data_length = -1
        else:
            end = body.index(SOH, equals)
        value = body[equals + 1:end].decode("utf-8", "replace")
        fields.append((tag, value))
        if tag in _DATA_FIELDS:
            data_length = int(value)
        position = end + 1
    if not fields or fields[0][0] != 35:
        raise ValueError("the first field of the body is not MsgType (35)")
    return FixMessage(fields[0][1], tuple(fields))


class FixReader:
    """Bytes from the exchange in, split anywhere; whole messages out. Anything that is not a well-formed
    message (the exchange never sends one) raises `FixRefused`: the session cannot go on."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[FixMessage]:
        self._buffer += data
        messages: list[FixMessage] = []
        while True:
            message = self._next()
            if message is None:
                return messages
            messages.append(message)

    def _next(self) -> FixMessage | None:
        buffer = self._buffer
        prefix = b"8=" + BEGIN_STRING + b"\x019="
        if len(buffer) < len(prefix):
            if not prefix.startswith(bytes(buffer)):
                raise FixRefused(f"the exchange sent something that is not FIX 4.4: {bytes(buffer[:40])!r}")
            return None
        if not buffer.startswith(prefix):
            raise FixRefused(f"the exchange sent something that is not FIX 4.4: {bytes(buffer[:40])!r}")
        length_end = buffer.find(SOH, len(prefix))
        if length_end < 0:
            if len(buffer) > len(prefix) + 8:
                raise FixRefused("BodyLength (9) is not a number")
            return None
        length_text = bytes(buffer[len(prefix):length_end])
        if not length_text.isdigit() or int(length_text) > MESSAGE_BYTES_MAX:
            raise FixRefused(f"BodyLength (9) is {length_text[:20]!r}")
        body_start = length_end + 1
        body_end = body_start + int(length_text)
        if len(buffer) < body_end + 7:
            return None
        trailer = bytes(buffer[body_end:body_end + 7])
        if trailer != b"10=%03d\x01" % (sum(buffer[:body_end]) & 0xFF):
            raise FixRefused(f"a message with a bad CheckSum or BodyLength (trailer {trailer!r})")
        body = bytes(buffer[body_start:body_end])
        del buffer[:body_end + 7]
        try:
            return _parse_body(body)
        except ValueError as error:
            raise FixRefused(f"a malformed message from the exchange: {error}") from error


class AsyncFixSession:
    """One order-entry session. `on_report` is called with every ExecutionReport as it arrives."""

    def __init__(self, host: str, port: int, signer: Signer, *, target: str = ORDER_ENTRY_TARGET,
                 heartbeat_s: int = HEARTBEAT_S, on_report: Callable[[FixMessage], None] | None = None,
                 tls: ssl.SSLContext | None = None, answer_timeout_s: float = ANSWER_TIMEOUT_S) -> None:
        self.host, self.port, self.signer, self.target = host, port, signer, target
        self.heartbeat_s = heartbeat_s
        self.on_report = on_report
        self.tls = tls
        self.answer_timeout_s = answer_timeout_s
        self.closed_reason = "not connected"
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._next_out = 1
        self._last_sent_s = 0.0
        self._waiting: dict[str, asyncio.Future[FixMessage]] = {}  # ClOrdID -> its first answer
        self._sent_cl_ord_ids: dict[int, str] = {}  # MsgSeqNum -> ClOrdID, for a BusinessMessageReject
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def closed(self) -> bool:
        return self._writer is None

    # --- the session ------------------------------------------------------------------------------

    async def connect(self, timeout_s: float = ANSWER_TIMEOUT_S) -> None:
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, ssl=self.tls), timeout_s)
        except (OSError, TimeoutError) as error:
            raise TransportError(f"cannot connect to FIX at {self.host}:{self.port}: {error}") from error
        self._next_out = 1
        framer = FixReader()
        stamp_ms = _now_ms()
        signed = "\x01".join((utc_timestamp(stamp_ms), "A", "1", self.signer.key_id, self.target))
        signature = self.signer.sign(signed.encode())
        self._send("A", [(98, 0), (108, self.heartbeat_s), (95, len(signature)), (96, signature), (141, "Y")], stamp_ms)
        try:
            reply = await asyncio.wait_for(self._first_message(framer), timeout_s)
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as error:
            await self._drop(f"no Logon answer: {error!r}")
            raise TransportError(f"the FIX exchange did not answer the Logon: {error!r}") from error
        if reply.msg_type != "A":
            text = reply.get(58) or f"MsgType {reply.msg_type}"
            await self._drop(f"logon refused: {text}")
            raise FixRefused(f"the exchange refused the FIX logon: {text}")
        self.closed_reason = ""
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._read_loop(framer), name="fix-read"),
                       loop.create_task(self._heartbeat_loop(), name="fix-heartbeat")]

    async def _first_message(self, framer: FixReader) -> FixMessage:
        assert self._reader is not None
        while True:
            data = await self._reader.read(65536)
            if not data:
                raise ConnectionError("the exchange closed the connection")
            messages = framer.feed(data)
            if messages:
                return messages[0]

    async def close(self) -> None:
        """Log out (waiting a moment for the exchange's Logout) and close."""
        if self._writer is None:
            return
        with contextlib.suppress(OSError, RuntimeError):
            self._send("5", [])
            await asyncio.wait_for(asyncio.shield(asyncio.gather(*self._tasks[:1], return_exceptions=True)), 2.0)
        await self._drop("logged out")

    async def _drop(self, reason: str) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return  # dropped already
        self.closed_reason = reason
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        self._fail_waiting(reason)
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()

    def _fail_waiting(self, reason: str) -> None:
        waiting, self._waiting = self._waiting, {}
        self._sent_cl_ord_ids.clear()
        for future in waiting.values():
            if not future.done():
                future.set_exception(TransportError(f"the FIX session ended before an answer: {reason}"))

    def _send(self, msg_type: str, fields: list[tuple[int, Any]], stamp_ms: int | None = None) -> int:
        writer = self._writer
        if writer is None:
            raise TransportError(f"the FIX session is closed ({self.closed_reason})")
        number = self._next_out
        stamp = utc_timestamp(stamp_ms if stamp_ms is not None else _now_ms())
        header: list[tuple[int, Any]] = [(35, msg_type), (49, self.signer.key_id), (56, self.target), (34, number), (52, stamp)]
        writer.write(encode(header + fields))
        self._next_out += 1
        self._last_sent_s = time.monotonic()
        return number

    async def _read_loop(self, framer: FixReader) -> None:
        assert self._reader is not None
        reason = "the exchange closed the connection"
        try:
            while True:
                data = await self._reader.read(65536)
                if not data:
                    break
                for message in framer.feed(data):
                    if not self._receive(message):
                        reason = f"the exchange logged out: {message.get(58, '')}"
                        return
        except (OSError, FixRefused) as error:
            reason = str(error)
        finally:
            await self._drop(reason)

    def _receive(self, message: FixMessage) -> bool:
        """Handle one message; False after a Logout."""
        kind = message.msg_type
        if kind == "1":
            self._send("0", [(112, message.get(112, ""))])
        elif kind == "5":
            with contextlib.suppress(TransportError, OSError):
                self._send("5", [])
            return False
        elif kind == "8" and self.on_report is not None:
            self.on_report(message)
        if kind in _ANSWERS or kind == "3":
            self._answer(message)
        return True

    def _answer(self, message: FixMessage) -> None:
        cl_ord_id = message.get(11)
        if message.msg_type in ("j", "3"):  # they name the refused message by its MsgSeqNum
            cl_ord_id = self._sent_cl_ord_ids.get(int(message.get(45) or 0))
        future = self._waiting.pop(cl_ord_id, None) if cl_ord_id is not None else None
        if future is not None and not future.done():
            future.set_result(message)

    async def _heartbeat_loop(self) -> None:
        while self._writer is not None:
            await asyncio.sleep(max(0.5, self._last_sent_s + self.heartbeat_s - time.monotonic()))
            if self._writer is not None and time.monotonic() - self._last_sent_s >= self.heartbeat_s:
                self._send("0", [])

    # --- orders -------------------------------------------------------------------------------------

    async def _request(self, msg_type: str, cl_ord_id: str, fields: list[tuple[int, Any]]) -> FixMessage:
        if cl_ord_id in self._waiting:
            raise ValueError(f"ClOrdID {cl_ord_id} already awaits an answer")
        future: asyncio.Future[FixMessage] = asyncio.get_running_loop().create_future()
        self._waiting[cl_ord_id] = future
        try:
            number = self._send(msg_type, [(11, cl_ord_id), *fields])
        except TransportError:
            self._waiting.pop(cl_ord_id, None)
            raise
        self._sent_cl_ord_ids[number] = cl_ord_id
        try:
            return await asyncio.wait_for(future, self.answer_timeout_s)
        except TimeoutError as error:
            raise TransportError(f"no FIX answer to {cl_ord_id} within {self.answer_timeout_s} s") from error
        finally:
            self._waiting.pop(cl_ord_id, None)
            self._sent_cl_ord_ids.pop(number, None)

    async def new_order(self, cl_ord_id: str, symbol: str, is_bid: bool, price_cents: int, contracts: int, *,
                        time_in_force: str = "1", post_only: bool = False) -> FixMessage:
        """A limit order for `contracts` at `price_cents` (YES); time in force 1 GTC, 3 IOC, 4 FOK."""
        fields: list[tuple[int, Any]] = [(55, symbol), (54, "1" if is_bid else "2"), (38, contracts), (40, "2"),
                                         (44, price_cents), (59, time_in_force), (60, _now())]
        if post_only:
            fields.append((18, "6"))
        return await self._request("D", cl_ord_id, fields)

    async def cancel(self, cl_ord_id: str, order_id: str, symbol: str, is_bid: bool) -> FixMessage:
        return await self._request("F", cl_ord_id, [(37, order_id), (55, symbol), (54, "1" if is_bid else "2"),
                                                    (60, _now())])

    async def replace(self, cl_ord_id: str, order_id: str, symbol: str, is_bid: bool, price_cents: int,
                      total_contracts: int) -> FixMessage:
        """Amend a resting order: its new price and its new total count (filled plus what should rest)."""
        return await self._request("G", cl_ord_id, [(37, order_id), (55, symbol), (54, "1" if is_bid else "2"),
                                                    (38, total_contracts), (40, "2"), (44, price_cents), (60, _now())])


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _now() -> str:
    return utc_timestamp(_now_ms())
