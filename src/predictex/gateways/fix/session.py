"""The FIX session layer, without I/O: bytes and time in, events out.

One `Session` per connection. `receive(data, now_ms)` takes bytes as they arrive (split anywhere);
`timer(now_ms)` lets time pass (heartbeats, test requests, timeouts); `send(msg_type, body, now_ms)`
sends an application message; `logout(text, now_ms)` starts the logout handshake; `terminate(text,
now_ms)` sends a Logout and closes at once (a revoked credential). Each returns a list
of events, in order: `Send(bytes)` for the transport to write, `Deliver(msg)` for the application
layer (never an administrative message), `LoggedOn(grant, flags)` once, `Close(reason)` last.

What it does, following the FIX session protocol (FIXT.1.1 and FIX 4.4 share it):
- the first message must be a Logon; it is authenticated by the injected `authenticate` callback
  (the gateway checks the API key signature in RawData and that the key has no other session);
- sequence numbers: too high -> ResendRequest (on sessions that retransmit; others accept the gap),
  too low without PossDupFlag -> Logout and disconnect, PossDup duplicates ignored;
- ResendRequest answered from the `SeqStore` with PossDupFlag=Y and OrigSendingTime, administrative
  messages replaced by SequenceReset-GapFill (sessions without retransmission gap-fill it all);
- SequenceReset in both modes, ResetSeqNumFlag on Logon, TestRequest/Heartbeat, Logout handshake;
- garbled input (bad checksum or body length) is discarded without touching sequence numbers;
  an invalid message is answered with Reject(3) naming the tag and reason, and counted.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable
from typing import Any, Protocol

from predictex.core.text import is_ascii_digits
from predictex.gateways.fix import dictionary
from predictex.gateways.fix import tags as t
from predictex.gateways.fix.codec import SOH, FieldError, Frame, Framer, Garbled, encode, field_value, parse_fields

SENDING_TIME_WINDOW_MS = 30_000
HEARTBEAT_MIN_S = 4  # Kalshi: HeartBtInt > 3
HEARTBEAT_MAX_S = 3600
LOGON_TIMEOUT_MS = 10_000
LOGOUT_TIMEOUT_MS = 5_000
TEST_REQUEST_GRACE = 1.2  # a peer is late after 1.2 heartbeat intervals of silence


class SeqStore(Protocol):
    """A session's sequence numbers and sent messages (durable on sessions that retransmit)."""

    next_in: int
    next_out: int

    def sent(self, seq: int, data: bytes | None) -> None:
        """Message `seq` was sent (data: an application message to keep for resends; None: admin)."""

    def received(self, next_in: int) -> None: ...

    def reset(self) -> None:
        """Both sequences back to 1, stored messages forgotten."""

    def messages(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        """Stored application messages with begin <= seq <= end, in order."""


class MemorySeqStore:
    """Sequence numbers that live as long as the connection (sessions without retransmission)."""

    def __init__(self) -> None:
        self.next_in = 1
        self.next_out = 1

    def sent(self, seq: int, data: bytes | None) -> None:
        self.next_out = seq + 1

    def received(self, next_in: int) -> None:
        self.next_in = next_in

    def reset(self) -> None:
        self.next_in = self.next_out = 1

    def messages(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        return []


class Message:
    """A received message: its type, fields in order, and the first value of each tag."""

    __slots__ = ("begin_string", "fields", "msg_type", "seq", "values")

    def __init__(self, begin_string: bytes, msg_type: bytes, fields: list[tuple[int, bytes]], seq: int) -> None:
        self.begin_string = begin_string
        self.msg_type = msg_type
        self.fields = fields
        self.seq = seq
        values: dict[int, bytes] = {}
        for tag, value in fields:
            values.setdefault(tag, value)
        self.values = values

    def get(self, tag: int) -> bytes | None:
        return self.values.get(tag)

    def text(self, tag: int, default: str = "") -> str:
        value = self.values.get(tag)
        return default if value is None else value.decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"Message({self.msg_type.decode('latin-1')}, seq={self.seq})"


# --- events ---------------------------------------------------------------------------------------

class Send:
    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"Send({self.data!r})"


class Deliver:
    __slots__ = ("message",)

    def __init__(self, message: Message) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"Deliver({self.message!r})"


class LoggedOn:
    __slots__ = ("flags", "grant")

    def __init__(self, grant: Any, flags: dict[int, bool]) -> None:
        self.grant = grant
        self.flags = flags


class Close:
    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Close({self.reason!r})"


Event = Send | Deliver | LoggedOn | Close


# --- logon ----------------------------------------------------------------------------------------

class LogonRequest:
    """What the authenticator is given: the key id, the exact bytes the signature must cover, the
    base64 signature (RawData), SendingTime in ms, and the logon flags."""

    __slots__ = ("begin_string", "flags", "key_id", "sending_time_ms", "signature", "signed_bytes", "target_comp_id")

    def __init__(self, key_id: str, target_comp_id: str, signed_bytes: bytes, signature: str, sending_time_ms: int,
                 flags: dict[int, bool], begin_string: bytes) -> None:
        self.key_id = key_id
        self.target_comp_id = target_comp_id
        self.signed_bytes = signed_bytes
        self.signature = signature
        self.sending_time_ms = sending_time_ms
        self.flags = flags
        self.begin_string = begin_string


class LogonGrant:
    """A successful logon: who it is (opaque to the session) and the store of its sequence numbers."""

    def __init__(self, principal: Any, store: SeqStore) -> None:
        self.principal = principal
        self.store = store


Authenticator = Callable[[LogonRequest], "LogonGrant | str"]

_LOGON_FLAGS = (t.CANCEL_ORDERS_ON_DISCONNECT, t.LISTENER_SESSION, 20127, t.USE_DOLLARS, t.SKIP_PENDING_EXEC_REPORTS,
                21003, t.USE_EXPIRED_ORD_STATUS, 21007, t.PRESERVE_ORIGINAL_ORDER_QTY, 21026, 21027)


def parse_utc_timestamp_ms(value: bytes) -> int | None:
    """YYYYMMDD-HH:MM:SS[.fraction] in UTC, as ms since the epoch; None if it is not one."""
    if len(value) < 17 or value[8:9] != b"-" or value[11:12] != b":" or value[14:15] != b":":
        return None
    if not (is_ascii_digits(value[0:8]) and is_ascii_digits(value[9:11]) and is_ascii_digits(value[12:14])
            and is_ascii_digits(value[15:17])):
        return None  # int() would take " 1", "+1" or "1_0"
    try:
        year, month, day = int(value[0:4]), int(value[4:6]), int(value[6:8])
        hour, minute, second = int(value[9:11]), int(value[12:14]), int(value[15:17])
        fraction = value[18:] if len(value) > 17 else b""
        if len(value) > 17 and (value[17:18] != b"." or not is_ascii_digits(fraction) or len(fraction) > 9):
            return None
        if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
            return None
        seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except ValueError:
        return None
    return seconds * 1000 + (int(fraction[:3].ljust(3, b"0")) if fraction else 0)


_time_cache: list[Any] = [-1, b""]


def utc_timestamp(now_ms: int) -> bytes:
    """YYYYMMDD-HH:MM:SS.sss (cached per millisecond)."""
    if _time_cache[0] == now_ms:
        return bytes(_time_cache[1])
    seconds, millis = divmod(now_ms, 1000)
    text = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(seconds)).encode() + b".%03d" % millis
    _time_cache[0], _time_cache[1] = now_ms, text
    return text


class SessionConfig:
    def __init__(self, target_comp_id: str, *, retransmits: bool, must_reset: bool,
                 begin_strings: tuple[bytes, ...] = t.BEGIN_STRINGS, sending_time_window_ms: int = SENDING_TIME_WINDOW_MS,
                 heartbeat_min_s: int = HEARTBEAT_MIN_S) -> None:
        self.target_comp_id = target_comp_id
        self.retransmits = retransmits
        self.must_reset = must_reset
        self.begin_strings = begin_strings
        self.sending_time_window_ms = sending_time_window_ms
        self.heartbeat_min_s = heartbeat_min_s


AWAITING_LOGON, ACTIVE, LOGGING_OUT, CLOSED = "awaiting_logon", "active", "logging_out", "closed"


class Session:
    def __init__(self, config: SessionConfig, authenticate: Authenticator, now_ms: int,
                 supported: Callable[[bytes], bool] = lambda msg_type: msg_type in dictionary.SPECS) -> None:
        self.config = config
        self._authenticate = authenticate
        self._supported = supported
        self._framer = Framer()
        self.state = AWAITING_LOGON
        self.store: SeqStore = MemorySeqStore()
        self.grant: LogonGrant | None = None
        self.begin_string = b""
        self.peer_comp_id = b""
        self.heartbeat_ms = 30_000
        self._created_ms = now_ms
        self._last_sent_ms = now_ms
        self._last_received_ms = now_ms
        self._test_request_ms = 0  # when our outstanding TestRequest went out (0: none)
        self._test_requests = 0
        self._logout_sent_ms = 0
        self._resend_until = 0  # a ResendRequest of ours is outstanding up to this seq
        self._header_prefix = b""
        self.garbled = 0
        self._out: list[Event] = []

    # --- public ----------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.state == ACTIVE

    def receive(self, data: bytes, now_ms: int) -> list[Event]:
        out = self._out = []
        if self.state == CLOSED:
            return out
        for item in self._framer.feed(data):
            if isinstance(item, Garbled):
                self.garbled += 1
                continue
            self._last_received_ms = now_ms
            self._test_request_ms = 0
            self._frame(item, now_ms)
            if self.state == CLOSED:
                break
        return out

    def timer(self, now_ms: int) -> list[Event]:
        out = self._out = []
        if self.state == AWAITING_LOGON:
            if now_ms - self._created_ms >= LOGON_TIMEOUT_MS:
                self._close("no Logon received in time")
            return out
        if self.state == LOGGING_OUT:
            if now_ms - self._logout_sent_ms >= LOGOUT_TIMEOUT_MS:
                self._close("no Logout reply in time")
            return out
        if self.state != ACTIVE:
            return out
        interval = self.heartbeat_ms
        silent_ms = now_ms - self._last_received_ms
        if self._test_request_ms and now_ms - self._test_request_ms >= interval * TEST_REQUEST_GRACE:
            self._logout("no answer to TestRequest: heartbeat timeout", now_ms)
            self._close("heartbeat timeout")
            return out
        if not self._test_request_ms and silent_ms >= interval * TEST_REQUEST_GRACE:
            self._test_requests += 1
            self._test_request_ms = now_ms
            self._admin(t.TEST_REQUEST, [(t.TEST_REQ_ID, b"TEST-%d" % self._test_requests)], now_ms)
        if now_ms - self._last_sent_ms >= interval:
            self._admin(t.HEARTBEAT, [], now_ms)
        return out

    def next_timer_ms(self) -> int:
        """When `timer` next has something to do (the transport may call it more often)."""
        if self.state == AWAITING_LOGON:
            return self._created_ms + LOGON_TIMEOUT_MS
        if self.state == LOGGING_OUT:
            return self._logout_sent_ms + LOGOUT_TIMEOUT_MS
        interval = self.heartbeat_ms
        due = self._last_sent_ms + interval
        if self._test_request_ms:
            return min(due, self._test_request_ms + int(interval * TEST_REQUEST_GRACE))
        return min(due, self._last_received_ms + int(interval * TEST_REQUEST_GRACE))

    def send(self, msg_type: bytes, body: bytes, now_ms: int) -> list[Event]:
        """An application message (body: tag=value SOH ... after the header). Sent only while the
        session is active; otherwise nothing happens."""
        out = self._out = []
        if self.state == ACTIVE:
            self._emit(msg_type, body, now_ms, keep=True)
        return out

    def keep(self, msg_type: bytes, body: bytes, now_ms: int) -> bool:
        """An application message for a retransmitting session whose connection has gone: numbered and
        stored, nothing sent, so that the peer's next logon shows the gap and its ResendRequest brings
        the message (PossDupFlag=Y). False (nothing kept) unless the session retransmits, logged on
        and has closed."""
        if self.state != CLOSED or not self.config.retransmits or self.grant is None:
            return False
        self._out = []
        self._emit(msg_type, body, now_ms, keep=True)
        self._out = []
        return True

    def logout(self, text: str, now_ms: int) -> list[Event]:
        out = self._out = []
        if self.state == ACTIVE:
            self._logout(text, now_ms)
            self.state = LOGGING_OUT
            self._logout_sent_ms = now_ms
        elif self.state == AWAITING_LOGON:
            self._close(text)
        return out

    def terminate(self, text: str, now_ms: int) -> list[Event]:
        """End the session now, without waiting for the peer: a Logout saying why (if logged on),
        then Close. Nothing the peer sends afterwards is delivered (the credential was revoked)."""
        out = self._out = []
        if self.state in (ACTIVE, LOGGING_OUT):
            self._logout(text, now_ms)
        if self.state != CLOSED:
            self._close(text)
        return out

    def disconnected(self) -> None:
        self.state = CLOSED

    # --- sending ---------------------------------------------------------------------------------

    def _emit(self, msg_type: bytes, body: bytes, now_ms: int, keep: bool, extra_header: bytes = b"") -> None:
        store = self.store
        seq = store.next_out
        data = encode(self.begin_string, b"35=" + msg_type + self._header_prefix + b"34=%d\x0152=" % seq
                      + utc_timestamp(now_ms) + SOH + extra_header + body)
        store.sent(seq, data if keep and self.config.retransmits else None)
        self._last_sent_ms = now_ms
        self._out.append(Send(data))

    def _admin(self, msg_type: bytes, fields: list[tuple[int, bytes]], now_ms: int) -> None:
        self._emit(msg_type, b"".join(b"%d=%s\x01" % (tag, value) for tag, value in fields), now_ms, keep=False)

    def _reject(self, seq: int, msg_type: bytes, tag: int, reason: int, text: str, now_ms: int) -> None:
        fields = [(t.REF_SEQ_NUM, b"%d" % seq)]
        if tag:
            fields.append((t.REF_TAG_ID, b"%d" % tag))
        if msg_type:
            fields.append((t.REF_MSG_TYPE, msg_type))
        fields += [(t.SESSION_REJECT_REASON, b"%d" % reason), (t.TEXT, _clean(text))]
        self._admin(t.REJECT, fields, now_ms)

    def _logout(self, text: str, now_ms: int) -> None:
        self._admin(t.LOGOUT, [(t.TEXT, _clean(text))] if text else [], now_ms)

    def _close(self, reason: str) -> None:
        self.state = CLOSED
        self._out.append(Close(reason))

    def _refuse_logon(self, text: str, now_ms: int, begin_string: bytes, peer: bytes, target: bytes) -> None:
        """A Logout with the reason, before any session exists (sequence number 1)."""
        self.begin_string = begin_string if begin_string in self.config.begin_strings else t.FIX44
        self._header_prefix = b"\x0149=" + target + b"\x0156=" + peer + SOH
        self._logout(text, now_ms)
        self._close(f"logon refused: {text}")

    # --- receiving -------------------------------------------------------------------------------

    def _frame(self, frame: Frame, now_ms: int) -> None:
        data = frame.data
        try:
            fields = parse_fields(data)
        except FieldError as error:
            self._unparseable(frame, error, now_ms)
            return
        if len(fields) < 4 or fields[0][0] != t.BEGIN_STRING or fields[1][0] != t.BODY_LENGTH or fields[2][0] != t.MSG_TYPE:
            self.garbled += 1  # the first three fields out of order: garbled (test case 2g/2t)
            return
        msg_type = fields[2][1]
        if self.state == AWAITING_LOGON:
            self._logon(frame.begin_string, msg_type, fields, now_ms)
            return
        if frame.begin_string != self.begin_string:
            self._logout(f"BeginString {frame.begin_string.decode('latin-1')} does not match the session's "
                         f"{self.begin_string.decode('latin-1')}", now_ms)
            self._close("BeginString changed")
            return
        seq_value = field_value(fields, t.MSG_SEQ_NUM)
        if seq_value is None or not seq_value.isdigit():
            self._logout("MsgSeqNum (34) missing or not a number", now_ms)
            self._close("MsgSeqNum missing")
            return
        message = Message(frame.begin_string, msg_type, fields, int(seq_value))
        if not self._check_header(message, now_ms):
            return
        self._sequenced(message, now_ms)

    def _unparseable(self, frame: Frame, error: FieldError, now_ms: int) -> None:
        """A frame whose fields cannot be split: rejected (naming the tag) if it has a usable MsgSeqNum."""
        if self.state != ACTIVE:
            self._close(f"unreadable message before logon: {error.text}")
            return
        seq = _scan_seq(frame.data)
        if seq is None:
            self.garbled += 1
            return
        msg_type = _scan_type(frame.data)
        expected = self.store.next_in
        if seq == expected:
            self.store.received(expected + 1)
            self._reject(seq, msg_type, error.tag, error.reason, error.text, now_ms)
        elif seq > expected:
            self._gap(expected, seq, now_ms)
            if not self.config.retransmits:
                self.store.received(seq + 1)
                self._reject(seq, msg_type, error.tag, error.reason, error.text, now_ms)

    def _check_header(self, message: Message, now_ms: int) -> bool:
        values = message.values
        if values.get(t.SENDER_COMP_ID) != self.peer_comp_id or values.get(t.TARGET_COMP_ID) != self.config.target_comp_id.encode():
            self._reject(message.seq, message.msg_type, t.SENDER_COMP_ID if values.get(t.SENDER_COMP_ID) != self.peer_comp_id
                         else t.TARGET_COMP_ID, 9, "CompID problem", now_ms)
            self._logout("CompID problem", now_ms)
            self._close("CompID problem")
            return False
        sending = values.get(t.SENDING_TIME)
        sent_ms = parse_utc_timestamp_ms(sending) if sending is not None else None
        if sent_ms is None or abs(now_ms - sent_ms) > self.config.sending_time_window_ms:
            if message.seq == self.store.next_in:
                self.store.received(message.seq + 1)
            self._reject(message.seq, message.msg_type, t.SENDING_TIME, 10, "SendingTime accuracy problem", now_ms)
            self._logout("SendingTime accuracy problem", now_ms)
            self._close("SendingTime accuracy problem")
            return False
        return True

    def _sequenced(self, message: Message, now_ms: int) -> None:
        msg_type = message.msg_type
        seq = message.seq
        expected = self.store.next_in
        if msg_type == t.SEQUENCE_RESET and message.values.get(t.GAP_FILL_FLAG) != b"Y":
            self._sequence_reset(message, now_ms)
            return
        if seq < expected:
            if message.values.get(t.POSS_DUP_FLAG) == b"Y":
                self._poss_dup_duplicate(message, now_ms)
                return
            text = f"MsgSeqNum too low, expecting {expected} but received {seq}"
            self._logout(text, now_ms)
            self._close(text)
            return
        if seq > expected:
            if msg_type == t.RESEND_REQUEST:
                self._resend_request(message, now_ms)
            elif msg_type == t.LOGOUT:
                self._logout("", now_ms)
                self._close("peer logged out")
                return
            self._gap(expected, seq, now_ms)
            if self.config.retransmits:
                return
        self.store.received(seq + 1)
        if self._resend_until and seq >= self._resend_until:
            self._resend_until = 0
        if seq > expected and msg_type == t.RESEND_REQUEST:
            return
        self._process(message, now_ms)

    def _gap(self, expected: int, seq: int, now_ms: int) -> None:
        if not self.config.retransmits or self._resend_until:
            return
        self._resend_until = seq
        self._admin(t.RESEND_REQUEST, [(t.BEGIN_SEQ_NO, b"%d" % expected), (t.END_SEQ_NO, b"0")], now_ms)

    def _poss_dup_duplicate(self, message: Message, now_ms: int) -> None:
        """A PossDup resend of something already received: ignored, unless its OrigSendingTime is
        missing or later than its SendingTime (test case 2e)."""
        original = message.values.get(t.ORIG_SENDING_TIME)
        if message.msg_type == t.SEQUENCE_RESET:
            return
        if original is None:
            self._reject(message.seq, message.msg_type, t.ORIG_SENDING_TIME, 1, "OrigSendingTime (122) missing on a PossDup message", now_ms)
            return
        original_ms = parse_utc_timestamp_ms(original)
        sending = parse_utc_timestamp_ms(message.values.get(t.SENDING_TIME, b""))
        if original_ms is None or sending is None or original_ms > sending:
            self._reject(message.seq, message.msg_type, t.ORIG_SENDING_TIME, 10, "SendingTime accuracy problem", now_ms)
            self._logout("SendingTime accuracy problem", now_ms)
            self._close("OrigSendingTime after SendingTime")

    def _process(self, message: Message, now_ms: int) -> None:
        msg_type = message.msg_type
        try:
            dictionary.check(msg_type, message.fields)
        except FieldError as error:
            self._reject(message.seq, msg_type, error.tag, error.reason, error.text, now_ms)
            return
        if msg_type == t.HEARTBEAT:
            return
        if msg_type == t.TEST_REQUEST:
            self._admin(t.HEARTBEAT, [(t.TEST_REQ_ID, message.values[t.TEST_REQ_ID])], now_ms)
        elif msg_type == t.RESEND_REQUEST:
            self._resend_request(message, now_ms)
        elif msg_type == t.REJECT:
            return
        elif msg_type == t.SEQUENCE_RESET:
            self._gap_fill(message, now_ms)
        elif msg_type == t.LOGOUT:
            if self.state == ACTIVE:
                self._logout("", now_ms)
            self._close("peer logged out")
        elif msg_type == t.LOGON:
            self._reject(message.seq, msg_type, 0, 11, "already logged on", now_ms)
        elif not dictionary.is_valid_msg_type(msg_type):
            self._reject(message.seq, msg_type, t.MSG_TYPE, 11, f"invalid MsgType {msg_type[:10].decode('latin-1')}", now_ms)
        elif not self._supported(msg_type):
            self._admin(t.BUSINESS_MESSAGE_REJECT, [
                (t.REF_SEQ_NUM, b"%d" % message.seq), (t.REF_MSG_TYPE, msg_type), (t.BUSINESS_REJECT_REASON, b"3"),
                (t.TEXT, b"unsupported message type on this session"),
            ], now_ms)
        elif self.state == ACTIVE:
            self._out.append(Deliver(message))

    def _gap_fill(self, message: Message, now_ms: int) -> None:
        new_seq = int(message.values[t.NEW_SEQ_NO])
        if new_seq <= message.seq:
            self._reject(message.seq, message.msg_type, t.NEW_SEQ_NO, 5, f"NewSeqNo {new_seq} is not above {message.seq}", now_ms)
            return
        self.store.received(new_seq)
        if self._resend_until and new_seq > self._resend_until:
            self._resend_until = 0

    def _sequence_reset(self, message: Message, now_ms: int) -> None:
        """SequenceReset-Reset: MsgSeqNum is ignored; NewSeqNo may only move forward (11a-11c)."""
        try:
            dictionary.check(message.msg_type, message.fields)
        except FieldError as error:
            self._reject(message.seq, message.msg_type, error.tag, error.reason, error.text, now_ms)
            return
        new_seq = int(message.values[t.NEW_SEQ_NO])
        expected = self.store.next_in
        if new_seq < expected:
            self._reject(message.seq, message.msg_type, t.NEW_SEQ_NO, 5,
                         f"NewSeqNo {new_seq} is below the expected {expected}", now_ms)
        elif new_seq > expected:
            self.store.received(new_seq)
            self._resend_until = 0

    def _resend_request(self, message: Message, now_ms: int) -> None:
        values = message.values
        begin_text, end_text = values.get(t.BEGIN_SEQ_NO, b""), values.get(t.END_SEQ_NO, b"")
        if not begin_text.isdigit() or not end_text.isdigit():
            self._reject(message.seq, message.msg_type, t.BEGIN_SEQ_NO if not begin_text.isdigit() else t.END_SEQ_NO, 6,
                         "BeginSeqNo and EndSeqNo must be numbers", now_ms)
            return
        begin, end = int(begin_text), int(end_text)
        last = self.store.next_out - 1
        if end == 0 or end > last:
            end = last
        if begin < 1 or begin > end:
            return
        stored = self.store.messages(begin, end) if self.config.retransmits else []
        next_seq = begin
        for seq, data in stored:
            if seq > next_seq:
                self._gap_fill_out(next_seq, seq, now_ms)
            self._out.append(Send(self._poss_dup(data, now_ms)))
            next_seq = seq + 1
        if next_seq <= end:
            self._gap_fill_out(next_seq, end + 1, now_ms)
        self._last_sent_ms = now_ms

    def _gap_fill_out(self, seq: int, new_seq: int, now_ms: int) -> None:
        body = b"35=4" + self._header_prefix + b"34=%d\x0143=Y\x0152=" % seq + utc_timestamp(now_ms) + b"\x01122=" \
            + utc_timestamp(now_ms) + b"\x01123=Y\x0136=%d\x01" % new_seq
        self._out.append(Send(encode(self.begin_string, body)))

    def _poss_dup(self, data: bytes, now_ms: int) -> bytes:
        """A stored message as resent: PossDupFlag=Y, OrigSendingTime = its SendingTime, a new SendingTime."""
        fields = parse_fields(data)
        head: list[tuple[int, bytes]] = []
        rest: list[tuple[int, bytes]] = []
        original = b""
        for tag, value in fields[2:-1]:
            if tag == t.SENDING_TIME:
                original = value
            elif tag in (t.MSG_TYPE, t.SENDER_COMP_ID, t.TARGET_COMP_ID, t.MSG_SEQ_NUM):
                head.append((tag, value))
            elif tag not in (t.POSS_DUP_FLAG, t.ORIG_SENDING_TIME):
                rest.append((tag, value))
        head += [(t.POSS_DUP_FLAG, b"Y"), (t.SENDING_TIME, utc_timestamp(now_ms)), (t.ORIG_SENDING_TIME, original)]
        return encode(self.begin_string, b"".join(b"%d=%s\x01" % pair for pair in head + rest))

    # --- logon -----------------------------------------------------------------------------------

    def _logon(self, begin_string: bytes, msg_type: bytes, fields: list[tuple[int, bytes]], now_ms: int) -> None:
        if msg_type != t.LOGON:
            self._close("the first message was not a Logon")
            return
        values: dict[int, bytes] = {}
        for tag, value in fields:
            values.setdefault(tag, value)
        peer = values.get(t.SENDER_COMP_ID, b"")
        target = values.get(t.TARGET_COMP_ID, b"")
        reply_target = self.config.target_comp_id.encode()

        def refuse(text: str) -> None:
            self._refuse_logon(text, now_ms, begin_string, peer or b"UNKNOWN", reply_target)

        if begin_string not in self.config.begin_strings:
            refuse(f"BeginString {begin_string[:20].decode('latin-1')} is not supported (FIX.4.4 or FIXT.1.1)")
            return
        try:
            dictionary.check(msg_type, fields)
        except FieldError as error:
            refuse(f"invalid Logon: {error.text}")
            return
        if target != reply_target:
            refuse(f"TargetCompID must be {self.config.target_comp_id} on this port")
            return
        problem = self._logon_problem(begin_string, values)
        if problem:
            refuse(problem)
            return
        sending_ms = parse_utc_timestamp_ms(values[t.SENDING_TIME])
        if sending_ms is None:
            refuse("SendingTime (52) is not a UTC timestamp")
            return
        flags = {tag: values.get(tag) == b"Y" for tag in _LOGON_FLAGS}
        signed = SOH.join((values[t.SENDING_TIME], t.LOGON, values[t.MSG_SEQ_NUM], peer, target))
        request = LogonRequest(peer.decode("utf-8", "replace"), target.decode(), signed,
                               values.get(t.RAW_DATA, b"").decode("latin-1"), sending_ms, flags, begin_string)
        granted = self._authenticate(request)
        if isinstance(granted, str):
            refuse(granted)
            return
        self._start(granted, begin_string, values, peer, flags, now_ms)

    def _logon_problem(self, begin_string: bytes, values: dict[int, bytes]) -> str:
        if values.get(t.ENCRYPT_METHOD) != b"0":
            return "EncryptMethod (98) must be 0"
        heartbeat = int(values[t.HEART_BT_INT])
        if not self.config.heartbeat_min_s <= heartbeat <= HEARTBEAT_MAX_S:
            return f"HeartBtInt (108) must be {self.config.heartbeat_min_s} to {HEARTBEAT_MAX_S} seconds"
        if t.RAW_DATA not in values:
            return "RawData (96) must carry the logon signature"
        if self.config.must_reset and values.get(t.RESET_SEQ_NUM_FLAG) != b"Y":
            return "ResetSeqNumFlag (141) must be Y on this session"
        if values.get(t.RESET_SEQ_NUM_FLAG) == b"Y" and values[t.MSG_SEQ_NUM] != b"1":
            return "a Logon with ResetSeqNumFlag=Y must have MsgSeqNum 1"
        applied = values.get(t.DEFAULT_APPL_VER_ID)
        if begin_string == t.FIXT11 and applied not in (None, t.APPL_VER_FIX50SP2, b"FIX.5.0SP2"):
            return "DefaultApplVerID (1137) must be 9 (FIX 5.0 SP2)"
        return ""

    def _start(self, grant: LogonGrant, begin_string: bytes, values: dict[int, bytes], peer: bytes,
               flags: dict[int, bool], now_ms: int) -> None:
        store = self.store = grant.store
        self.grant = grant
        self.begin_string = begin_string
        self.peer_comp_id = peer
        self.heartbeat_ms = int(values[t.HEART_BT_INT]) * 1000
        self._header_prefix = b"\x0149=" + self.config.target_comp_id.encode() + b"\x0156=" + peer + SOH
        seq = int(values[t.MSG_SEQ_NUM])
        reset = values.get(t.RESET_SEQ_NUM_FLAG) == b"Y"
        if reset:
            store.reset()
        elif seq < store.next_in:
            text = f"MsgSeqNum too low, expecting {store.next_in} but received {seq}"
            self._logout(text, now_ms)
            self._close(text)
            return
        reply = [(t.ENCRYPT_METHOD, b"0"), (t.HEART_BT_INT, values[t.HEART_BT_INT])]
        if reset:
            reply.append((t.RESET_SEQ_NUM_FLAG, b"Y"))
        if begin_string == t.FIXT11:
            reply.append((t.DEFAULT_APPL_VER_ID, t.APPL_VER_FIX50SP2))
        self.state = ACTIVE
        self._admin(t.LOGON, reply, now_ms)
        self._out.append(LoggedOn(grant, flags))
        if seq > store.next_in and self.config.retransmits:
            self._gap(store.next_in, seq, now_ms)
        else:
            store.received(seq + 1)


def _scan_seq(data: bytes) -> int | None:
    start = data.find(b"\x0134=")
    if start < 0:
        return None
    end = data.find(SOH, start + 4)
    value = data[start + 4:end]
    return int(value) if value.isdigit() and len(value) <= 18 else None


def _scan_type(data: bytes) -> bytes:
    start = data.find(b"\x0135=")
    end = data.find(SOH, start + 4) if start >= 0 else -1
    return data[start + 4:end] if end > 0 else b""


def _clean(text: str) -> bytes:
    """Free text for tag 58: no SOH, bounded."""
    return text.replace("\x01", " ")[:500].encode("utf-8", "replace") or b"-"
