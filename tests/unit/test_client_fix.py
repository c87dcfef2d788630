"""The SDK's FIX framing (client/fix.py) against the exchange's codec (gateways/fix/codec.py): each
reads what the other writes, fed whole or one byte at a time, a data field holding SOH included; and
what is not FIX ends the session with a clear error instead of a guess."""

from __future__ import annotations

import pytest

from predictex.client.fix import FixReader, FixRefused, encode
from predictex.gateways.fix import codec

FIELDS = [(35, "8"), (49, "KalshiNR"), (56, "key-1"), (34, 7), (52, "20261207-17:00:00.000"), (37, "order-uuid"),
          (11, "mk.abc"), (150, "0"), (39, "0"), (55, "PXHOURLY-26DEC07H18-T0"), (54, "1"), (38, "20.00"), (44, "45"),
          (151, "20.00"), (14, "0.00"), (58, "a text with = in it")]


def test_the_exchange_reads_what_the_sdk_writes() -> None:
    data = encode(FIELDS)
    frames = codec.Framer().feed(data)
    assert len(frames) == 1 and isinstance(frames[0], codec.Frame)
    parsed = codec.parse_fields(frames[0].data)
    assert [(tag, value.decode()) for tag, value in parsed[2:-1]] == [(tag, str(value)) for tag, value in FIELDS]
    assert data == codec.encode(b"FIX.4.4", codec.body_bytes(FIELDS))  # byte for byte what the exchange would write


def test_the_sdk_reads_what_the_exchange_writes_whole_or_byte_by_byte() -> None:
    signature = "abc\x01def"  # a data field may hold SOH; its length field says where it ends
    fields = [*FIELDS[:5], (95, len(signature)), (96, signature), (98, 0)]
    two = codec.encode(b"FIX.4.4", codec.body_bytes(fields)) + codec.encode(b"FIX.4.4", codec.body_bytes(FIELDS))
    whole = FixReader().feed(two)
    reader = FixReader()
    one_by_one = [message for index in range(len(two)) for message in reader.feed(two[index:index + 1])]
    assert whole == one_by_one and len(whole) == 2
    assert whole[0].get(96) == signature and whole[0].get(98) == "0" and whole[0].msg_type == "8"
    assert whole[1][11] == "mk.abc"
    assert whole[1].get(58) == "a text with = in it" and whole[1].get(9999) is None


@pytest.mark.parametrize(("data", "says"), [
    (b"HTTP/1.1 400 Bad Request\r\n\r\n", "not FIX 4.4"),
    (b"8=FIX.4.4\x019=abc\x01", "BodyLength"),
    (b"8=FIX.4.4\x019=5\x0135=0\x0110=000\x01", "CheckSum"),
])
def test_what_is_not_fix_ends_the_session(data: bytes, says: str) -> None:
    with pytest.raises(FixRefused, match=says):
        FixReader().feed(data)


def test_a_partial_message_waits_for_the_rest() -> None:
    data = encode(FIELDS)
    reader = FixReader()
    assert reader.feed(data[:-1]) == []
    assert [message.get(11) for message in reader.feed(data[-1:])] == ["mk.abc"]
