"""The WebSocket codec fed bytes directly: every rule of RFC 6455 the server enforces, and the same
events whether the bytes come all at once or one at a time."""

from __future__ import annotations

import os
import struct

import pytest

from predictex.gateways.ws import frames, handshake
from predictex.gateways.ws.frames import Binary, Close, FrameParser, Ping, Pong, Text, TooBig, Violation
from predictex.server.http import Request

LIMIT = 1_000


def client_frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True, rsv: int = 0) -> bytes:
    """Built by hand here (not with frames.frame) so the parser is not checked against itself."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    size = len(payload)
    mask_bit = 0x80 if masked else 0
    if size < 126:
        head = bytes([first, mask_bit | size])
    elif size < 65_536:
        head = bytes([first, mask_bit | 126]) + struct.pack("!H", size)
    else:
        head = bytes([first, mask_bit | 127]) + struct.pack("!Q", size)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def parse(data: bytes, *, limit: int = LIMIT) -> list[frames.Event]:
    return FrameParser(expect_masked=True, message_bytes_max=limit).feed(data)


def parse_bytewise(data: bytes, *, limit: int = LIMIT) -> list[frames.Event]:
    parser = FrameParser(expect_masked=True, message_bytes_max=limit)
    events: list[frames.Event] = []
    for i in range(len(data)):
        events += parser.feed(data[i:i + 1])
    return events


def both(data: bytes, *, limit: int = LIMIT) -> list[frames.Event]:
    """The events, checked to be the same fed at once, byte by byte and in uneven chunks."""
    whole = parse(data, limit=limit)
    assert parse_bytewise(data, limit=limit) == whole
    parser = FrameParser(expect_masked=True, message_bytes_max=limit)
    chunked: list[frames.Event] = []
    for start in range(0, len(data), 7):
        chunked += parser.feed(data[start:start + 7])
    assert chunked == whole
    return whole


def test_accept_key_is_the_rfc_example() -> None:
    assert frames.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_messages_of_every_size_class_arrive_whole() -> None:
    payloads = [b"", b"x" * 125, b"y" * 126, b"z" * 65_535, b"w" * 65_536]
    data = b"".join(client_frame(frames.OP_TEXT, p) for p in payloads)
    assert both(data, limit=100_000) == [Text(p) for p in payloads]


def test_fragments_join_and_control_frames_may_come_between_them() -> None:
    data = (client_frame(frames.OP_TEXT, b'{"a":', fin=False) + client_frame(frames.OP_PING, b"hi")
            + client_frame(frames.OP_CONTINUATION, b" 1", fin=False) + client_frame(frames.OP_CONTINUATION, b"}")
            + client_frame(frames.OP_BINARY, b"\x00\xff") + client_frame(frames.OP_PONG, b"") + client_frame(frames.OP_CLOSE, b"\x03\xe8bye"))
    assert both(data) == [Ping(b"hi"), Text(b'{"a": 1}'), Binary(b"\x00\xff"), Pong(b""), Close(1000, "bye")]


def test_a_close_without_a_code_means_no_status() -> None:
    assert both(client_frame(frames.OP_CLOSE, b"")) == [Close(frames.CLOSE_NO_STATUS, "")]


def test_an_oversized_message_is_skipped_and_the_stream_goes_on() -> None:
    big = b"a" * (LIMIT + 1)
    data = client_frame(frames.OP_TEXT, big) + client_frame(frames.OP_TEXT, b"after")
    assert both(data) == [TooBig(LIMIT + 1), Text(b"after")]


def test_an_oversized_fragmented_message_is_reported_once_and_skipped_to_its_end() -> None:
    data = (client_frame(frames.OP_TEXT, b"a" * 600, fin=False) + client_frame(frames.OP_PING, b"p")
            + client_frame(frames.OP_CONTINUATION, b"b" * 600, fin=False) + client_frame(frames.OP_CONTINUATION, b"c" * 10)
            + client_frame(frames.OP_TEXT, b"next"))
    assert both(data) == [Ping(b"p"), TooBig(1_200), Text(b"next")]


def test_the_limit_is_inclusive() -> None:
    assert both(client_frame(frames.OP_TEXT, b"a" * LIMIT)) == [Text(b"a" * LIMIT)]


@pytest.mark.parametrize(("data", "code"), [
    (client_frame(frames.OP_TEXT, b"x", masked=False), frames.CLOSE_PROTOCOL_ERROR),
    (client_frame(frames.OP_TEXT, b"x", rsv=4), frames.CLOSE_PROTOCOL_ERROR),
    (client_frame(0x3, b"x"), frames.CLOSE_PROTOCOL_ERROR),
    (client_frame(0xB, b"x"), frames.CLOSE_PROTOCOL_ERROR),
    (client_frame(frames.OP_PING, b"x" * 126), frames.CLOSE_PROTOCOL_ERROR),
    (client_frame(frames.OP_PING, b"x", fin=False), frames.CLOSE_PROTOCOL_ERROR),
    (client_frame(frames.OP_CONTINUATION, b"x"), frames.CLOSE_PROTOCOL_ERROR),
    (client_frame(frames.OP_TEXT, b"x", fin=False) + client_frame(frames.OP_TEXT, b"y"), frames.CLOSE_PROTOCOL_ERROR),
    (client_frame(frames.OP_TEXT, b"\xff\xfe"), frames.CLOSE_INVALID_DATA),
    (client_frame(frames.OP_TEXT, "é".encode()[:1]), frames.CLOSE_INVALID_DATA),
    (client_frame(frames.OP_CLOSE, b"\x03"), frames.CLOSE_PROTOCOL_ERROR),
    (client_frame(frames.OP_CLOSE, struct.pack("!H", 1005)), frames.CLOSE_PROTOCOL_ERROR),
    (client_frame(frames.OP_CLOSE, struct.pack("!H", 999)), frames.CLOSE_PROTOCOL_ERROR),
    (client_frame(frames.OP_CLOSE, struct.pack("!H", 1000) + b"\xff"), frames.CLOSE_INVALID_DATA),
    (bytes([0x81, 0xFF]) + b"\x80" + b"\x00" * 7 + b"mask", frames.CLOSE_PROTOCOL_ERROR),  # 64-bit length with the top bit set
], ids=["unmasked", "rsv", "opcode-3", "opcode-11", "long-ping", "fragmented-ping", "lone-continuation", "interleaved-messages",
        "bad-utf8", "cut-utf8", "one-byte-close", "close-1005", "close-999", "close-reason-utf8", "length-top-bit"])
def test_protocol_violations_end_the_stream_with_the_rfc_code(data: bytes, code: int) -> None:
    events = both(data + client_frame(frames.OP_TEXT, b"never seen"))
    assert len(events) == 1 and isinstance(events[0], Violation) and events[0].code == code, events


def test_valid_utf8_split_across_fragments_is_accepted() -> None:
    text = "prix: 0,65 €".encode()
    data = client_frame(frames.OP_TEXT, text[:-2], fin=False) + client_frame(frames.OP_CONTINUATION, text[-2:])
    assert both(data) == [Text(text)]


def test_a_client_parser_refuses_masked_server_frames() -> None:
    parser = FrameParser(expect_masked=False, message_bytes_max=LIMIT)
    assert parser.feed(frames.frame(frames.OP_TEXT, b"ok")) == [Text(b"ok")]
    events = parser.feed(frames.frame(frames.OP_TEXT, b"no", mask=b"abcd"))
    assert isinstance(events[0], Violation)


def test_encoding_round_trips_through_the_parser() -> None:
    for size in (0, 1, 125, 126, 65_535, 65_536):
        payload = os.urandom(size)
        data = frames.frame(frames.OP_BINARY, payload, mask=os.urandom(4))
        assert parse(data, limit=100_000) == [Binary(payload)]
        assert frames.text_header(size) == frames.frame(frames.OP_TEXT, payload)[: -size or None]


def test_close_payload_cuts_long_reasons_on_a_character_boundary() -> None:
    payload = frames.close_payload(1000, "€" * 100)
    assert len(payload) <= 125
    assert parse(client_frame(frames.OP_CLOSE, payload)) == [Close(1000, "€" * 41)]


# --- the opening handshake ------------------------------------------------------------------------


def upgrade_request(method: str = "GET", **headers: str) -> Request:
    base = {"upgrade": "websocket", "connection": "keep-alive, Upgrade", "sec-websocket-version": "13",
            "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="}
    base.update({name.replace("_", "-"): value for name, value in headers.items()})
    base = {k: v for k, v in base.items() if v}
    return Request(method, "/trade-api/ws/v2", b"/trade-api/ws/v2", "", base, list(base.items()), b"", None)


def test_a_valid_upgrade_gets_its_accept_key() -> None:
    key = handshake.client_key(upgrade_request())
    assert key == "dGhlIHNhbXBsZSBub25jZQ=="
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in handshake.switching_protocols(key)


@pytest.mark.parametrize(("request_", "status"), [
    (upgrade_request("POST"), 405),
    (upgrade_request(connection="keep-alive"), 400),
    (upgrade_request(upgrade="h2c"), 400),
    (upgrade_request(sec_websocket_version="12"), 426),
    (upgrade_request(sec_websocket_key=""), 400),
    (upgrade_request(sec_websocket_key="c2hvcnQ="), 400),  # 5 bytes, not 16
    (upgrade_request(sec_websocket_key="not base64!"), 400),
])
def test_a_bad_upgrade_is_answered_with_http(request_: Request, status: int) -> None:
    with pytest.raises(handshake.HandshakeError) as refused:
        handshake.client_key(request_)
    assert refused.value.response.status == status
