"""The FIX codec and session layer, fed bytes (no sockets, no clock): framing one byte at a time gives
what all at once gives, and the scripted cases of the FIX session-level test suite, named by their
case ids, behave as that suite expects from an acceptor."""

from __future__ import annotations

import random

import pytest

from predictex.gateways.fix import tags as t
from predictex.gateways.fix.codec import Frame, Framer, Garbled, body_bytes, encode, parse_fields
from predictex.gateways.fix.session import (
    Close,
    Deliver,
    LoggedOn,
    LogonGrant,
    LogonRequest,
    Send,
    SeqStore,
    Session,
    SessionConfig,
    utc_timestamp,
)

NOW = 1_700_000_000_000
KEY = "demo_key"


class Peer:
    """The counterparty's side of the script: builds its messages with its own sequence numbers."""

    def __init__(self, target: str = "KalshiRT", begin: bytes = b"FIX.4.4") -> None:
        self.seq = 1
        self.target = target
        self.begin = begin

    def msg(self, msg_type: str, fields: list[tuple[int, object]] | None = None, *, seq: int | None = None, now: int = NOW,
            sender: str = KEY, target: str | None = None, header: list[tuple[int, object]] | None = None,
            begin: bytes | None = None) -> bytes:
        number = self.seq if seq is None else seq
        if seq is None:
            self.seq += 1
        head = [(35, msg_type), (49, sender), (56, target or self.target), (34, number), (52, utc_timestamp(now))]
        return encode(begin or self.begin, body_bytes(head + (header or []) + list(fields or [])))

    def logon(self, *, reset: bool = False, heartbeat: int = 30, seq: int | None = None, signature: str = "sig") -> bytes:
        fields: list[tuple[int, object]] = [(98, 0), (108, heartbeat), (95, len(signature)), (96, signature)]
        if reset:
            fields.append((141, "Y"))
        return self.msg("A", fields, seq=seq)


class Harness:
    def __init__(self, retransmits: bool = True, must_reset: bool = False, store: SeqStore | None = None) -> None:
        self.store = store or StoredSeqs()
        self.requests: list[LogonRequest] = []
        self.refuse = ""
        self.session = Session(SessionConfig("KalshiRT" if retransmits else "KalshiNR", retransmits=retransmits,
                                             must_reset=must_reset), self._authenticate, NOW)
        self.peer = Peer("KalshiRT" if retransmits else "KalshiNR")

    def _authenticate(self, request: LogonRequest) -> LogonGrant | str:
        self.requests.append(request)
        return self.refuse or LogonGrant("principal", self.store)

    def feed(self, data: bytes, now: int = NOW) -> list[object]:
        return list(self.session.receive(data, now))

    def logged_on(self) -> Harness:
        events = self.feed(self.peer.logon(reset=True))
        assert isinstance(events[-1], LoggedOn), events
        return self


class StoredSeqs:
    """A SeqStore that keeps application messages (as a durable store would). Not a subclass of
    MemorySeqStore: the session module is compiled, and compiled classes take no Python subclasses."""

    def __init__(self) -> None:
        self.next_in = 1
        self.next_out = 1
        self.kept: dict[int, bytes] = {}

    def sent(self, seq: int, data: bytes | None) -> None:
        self.next_out = seq + 1
        if data is not None:
            self.kept[seq] = data

    def received(self, next_in: int) -> None:
        self.next_in = next_in

    def reset(self) -> None:
        self.next_in = self.next_out = 1
        self.kept.clear()

    def messages(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        return sorted((s, d) for s, d in self.kept.items() if begin <= s <= end)


def sent(events: list[object]) -> list[dict[int, bytes]]:
    """The messages the session sent, as tag -> value (first occurrence)."""
    found = []
    for event in events:
        if isinstance(event, Send):
            values: dict[int, bytes] = {}
            for tag, value in parse_fields(event.data):
                values.setdefault(tag, value)
            found.append(values)
    return found


def types(events: list[object]) -> list[bytes]:
    return [m[35] for m in sent(events)]


def closed(events: list[object]) -> bool:
    return any(isinstance(e, Close) for e in events)


def delivered(events: list[object]) -> list[bytes]:
    return [e.message.msg_type for e in events if isinstance(e, Deliver)]


# --- the codec ------------------------------------------------------------------------------------

def test_encode_writes_body_length_and_checksum_that_parse_back() -> None:
    data = encode(b"FIX.4.4", b"35=0\x0149=A\x0156=B\x0134=1\x0152=20240101-00:00:00.000\x01")
    assert data.startswith(b"8=FIX.4.4\x019=") and data.endswith(b"\x01")
    [frame] = Framer().feed(data)
    assert isinstance(frame, Frame) and frame.data == data
    assert parse_fields(data)[2] == (35, b"0")


def _stream() -> bytes:
    peer = Peer()
    parts = [peer.logon(reset=True), peer.msg("1", [(112, "a")]), b"garbage\x01", peer.msg("0"),
             peer.msg("D", [(11, "x")]).replace(b"10=", b"10=9", 1)[:-4] + b"\x01",  # a bad checksum
             peer.msg("0"), peer.logon(signature="ab\x01cd=")]
    return b"".join(parts)


def _describe(items: list[Frame | Garbled]) -> list[tuple[str, bytes]]:
    return [("frame", i.data) if isinstance(i, Frame) else ("garbled", b"") for i in items]


def test_framing_one_byte_at_a_time_equals_all_at_once() -> None:
    stream = _stream()
    whole = Framer().feed(stream)
    framer = Framer()
    pieces: list[Frame | Garbled] = []
    for index in range(len(stream)):
        pieces += framer.feed(stream[index:index + 1])
    frames = [i for i in whole if isinstance(i, Frame)]
    assert len(frames) == 5  # the garbage and the bad checksum are discarded
    assert [d for kind, d in _describe(pieces) if kind == "frame"] == [f.data for f in frames]
    assert parse_fields(frames[-1].data)[10] == (96, b"ab\x01cd=")  # a data field may hold SOH


def test_session_one_byte_at_a_time_gives_the_same_output_as_all_at_once() -> None:
    peer = Peer()
    stream = b"".join([peer.logon(reset=True), peer.msg("1", [(112, "probe")]), peer.msg("D", [(11, "a"), (38, "1"), (40, "2"),
                       (54, "1"), (55, "T")]), b"junk", peer.msg("2", [(7, 1), (16, 0)]), peer.msg("5")])
    at_once = Harness()
    whole = at_once.feed(stream)
    one = Harness()
    pieces: list[object] = []
    for index in range(len(stream)):
        pieces += one.feed(stream[index:index + 1])
    assert [e.data for e in whole if isinstance(e, Send)] == [e.data for e in pieces if isinstance(e, Send)]
    assert delivered(whole) == delivered(pieces) == [b"D"]
    assert closed(whole) and closed(pieces)


def test_random_and_mutated_bytes_never_raise() -> None:
    rng = random.Random(7)
    peer = Peer()
    valid = [peer.msg("D", [(11, "a"), (38, "1"), (40, "2"), (54, "1"), (55, "T")]) for _ in range(20)]
    for round_number in range(300):
        harness = Harness().logged_on()
        data = bytearray(rng.choice(valid))
        for _ in range(rng.randint(1, 6)):
            position = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.4:
                data[position] = rng.randrange(256)
            elif choice < 0.7:
                del data[position]
            else:
                data[position:position] = bytes([rng.choice(b"\x01=0123456789A8")])
        noise = bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
        for chunk in (bytes(data), noise, bytes(data)):
            harness.feed(chunk)
        assert harness.session.state in ("active", "closed", "logging_out"), round_number


# --- logon (1) ------------------------------------------------------------------------------------

def test_1a_valid_logon_is_answered_with_logon() -> None:
    harness = Harness()
    events = harness.feed(harness.peer.logon(reset=True))
    [reply] = sent(events)
    assert reply[35] == b"A" and reply[34] == b"1" and reply[141] == b"Y" and reply[49] == b"KalshiRT" and reply[56] == KEY.encode()
    assert isinstance(events[-1], LoggedOn)
    request = harness.requests[0]
    assert request.key_id == KEY and request.signed_bytes.split(b"\x01")[1:] == [b"A", b"1", KEY.encode(), b"KalshiRT"]


def test_1a_logon_with_seq_too_high_is_answered_then_resend_requested() -> None:
    harness = Harness()
    events = harness.feed(harness.peer.logon(seq=5))
    assert types(events) == [b"A", b"2"]
    assert sent(events)[1][7] == b"1" and sent(events)[1][16] == b"0"


def test_1b_logon_refused_by_authentication_gets_logout_with_reason() -> None:
    harness = Harness()
    harness.refuse = "bad_signature: signature does not verify"
    events = harness.feed(harness.peer.logon(reset=True))
    assert types(events) == [b"5"] and b"bad_signature" in sent(events)[0][58]
    assert closed(events)


def test_1c_logon_to_the_wrong_target_is_refused() -> None:
    harness = Harness()
    events = harness.feed(harness.peer.msg("A", [(98, 0), (108, 30), (95, 3), (96, "sig"), (141, "Y")], target="KalshiXX"))
    assert types(events) == [b"5"] and b"TargetCompID" in sent(events)[0][58] and closed(events)


def test_1d_logon_with_a_bad_heartbeat_interval_or_missing_signature_is_refused() -> None:
    for fields in ([(98, 0), (108, 2), (95, 3), (96, "sig"), (141, "Y")], [(98, 0), (108, 30), (141, "Y")]):
        harness = Harness()
        events = harness.feed(harness.peer.msg("A", fields))
        assert types(events) == [b"5"] and closed(events)


def test_1e_first_message_not_a_logon_disconnects() -> None:
    harness = Harness()
    events = harness.feed(harness.peer.msg("0"))
    assert types(events) == [] and closed(events)


def test_logon_without_reset_on_a_session_that_must_reset_is_refused() -> None:
    harness = Harness(retransmits=False, must_reset=True)
    events = harness.feed(harness.peer.logon())
    assert types(events) == [b"5"] and b"ResetSeqNumFlag" in sent(events)[0][58]


def test_logon_seq_too_low_gets_logout() -> None:
    store = StoredSeqs()
    store.next_in = 10
    harness = Harness(store=store)
    events = harness.feed(harness.peer.logon(seq=3))
    assert types(events) == [b"5"] and b"MsgSeqNum too low" in sent(events)[0][58] and closed(events)


# --- sequence numbers and garbled messages (2, 3) -------------------------------------------------

def test_2a_in_sequence_application_message_is_delivered() -> None:
    harness = Harness().logged_on()
    events = harness.feed(harness.peer.msg("D", [(11, "a"), (38, "1"), (40, "2"), (54, "1"), (55, "T")]))
    assert delivered(events) == [b"D"] and harness.store.next_in == 3


def test_a_terminated_session_says_why_closes_and_delivers_nothing_more() -> None:
    """A revoked credential: Logout with the reason and Close at once, without waiting for the peer's
    Logout; an order the peer sends afterwards is not delivered."""
    harness = Harness().logged_on()
    events = list(harness.session.terminate("API key demo_key was deleted; this session is closed", NOW))
    assert types(events) == [b"5"] and closed(events)
    assert sent(events)[0][58] == b"API key demo_key was deleted; this session is closed"
    assert harness.feed(harness.peer.msg("D", [(11, "late"), (38, "1"), (40, "2"), (54, "1"), (55, "T")])) == []
    assert list(harness.session.terminate("again", NOW)) == []


def test_a_session_terminated_before_logon_closes_without_a_logout() -> None:
    harness = Harness()
    events = list(harness.session.terminate("revoked", NOW))
    assert types(events) == [] and closed(events)


def test_2b_seq_too_high_requests_resend_and_holds_the_message() -> None:
    harness = Harness().logged_on()
    events = harness.feed(harness.peer.msg("0", seq=7))
    assert types(events) == [b"2"] and sent(events)[0][7] == b"2"
    assert harness.store.next_in == 2
    again = harness.feed(harness.peer.msg("0", seq=8))
    assert types(again) == []  # one ResendRequest per gap


def test_2b_without_retransmission_a_gap_is_accepted() -> None:
    harness = Harness(retransmits=False, must_reset=True).logged_on()
    events = harness.feed(harness.peer.msg("D", [(11, "a"), (38, "1"), (40, "2"), (54, "1"), (55, "T")], seq=9))
    assert types(events) == [] and delivered(events) == [b"D"] and harness.store.next_in == 10


def test_2c_seq_too_low_without_possdup_logs_out() -> None:
    harness = Harness().logged_on()
    harness.feed(harness.peer.msg("0"))
    events = harness.feed(harness.peer.msg("0", seq=2))
    assert types(events) == [b"5"] and b"MsgSeqNum too low, expecting 3 but received 2" in sent(events)[0][58] and closed(events)


def test_2d_3b_2m_garbled_messages_are_ignored_without_consuming_a_sequence_number() -> None:
    harness = Harness().logged_on()
    good = harness.peer.msg("0")
    bad_checksum = good[:-4] + (b"%03d" % ((int(good[-4:-1]) + 1) % 256)) + b"\x01"
    bad_length = good.replace(b"\x019=", b"\x019=1", 1)
    for data in (bad_checksum, bad_length, b"8=FIX.4.4\x01no body length\x01"):
        events = harness.feed(data)
        assert types(events) == [] and not closed(events)
    assert harness.store.next_in == 2
    events = harness.feed(harness.peer.msg("1", [(112, "after")], seq=2))
    assert types(events) == [b"0"] and harness.store.next_in == 3


def test_2e_possdup_already_received_is_ignored() -> None:
    harness = Harness().logged_on()
    harness.feed(harness.peer.msg("D", [(11, "a"), (38, "1"), (40, "2"), (54, "1"), (55, "T")]))
    events = harness.feed(harness.peer.msg("D", [(11, "a"), (38, "1"), (40, "2"), (54, "1"), (55, "T")], seq=2,
                                          header=[(43, "Y"), (122, utc_timestamp(NOW - 1000))]))
    assert types(events) == [] and delivered(events) == []


def test_2e_possdup_without_orig_sending_time_is_rejected() -> None:
    harness = Harness().logged_on()
    harness.feed(harness.peer.msg("0"))
    events = harness.feed(harness.peer.msg("0", seq=2, header=[(43, "Y")]))
    assert types(events) == [b"3"] and sent(events)[0][371] == b"122" and sent(events)[0][373] == b"1"


def test_2f_possdup_not_yet_received_is_delivered() -> None:
    harness = Harness().logged_on()
    events = harness.feed(harness.peer.msg("D", [(11, "a"), (38, "1"), (40, "2"), (54, "1"), (55, "T")],
                                          header=[(43, "Y"), (122, utc_timestamp(NOW - 1000))]))
    assert delivered(events) == [b"D"]


def test_2g_2t_first_three_fields_out_of_order_is_garbled() -> None:
    harness = Harness().logged_on()
    body = b"49=" + KEY.encode() + b"\x0135=0\x0156=KalshiRT\x0134=2\x0152=" + utc_timestamp(NOW) + b"\x01"
    events = harness.feed(encode(b"FIX.4.4", body))
    assert types(events) == [] and not closed(events) and harness.store.next_in == 2


def test_2i_begin_string_changed_logs_out() -> None:
    harness = Harness().logged_on()
    events = harness.feed(harness.peer.msg("0", begin=b"FIXT.1.1"))
    assert types(events) == [b"5"] and closed(events)


def test_2k_comp_id_problem_is_rejected_and_logged_out() -> None:
    harness = Harness().logged_on()
    events = harness.feed(harness.peer.msg("0", sender="someone_else"))
    assert types(events) == [b"3", b"5"] and sent(events)[0][373] == b"9" and closed(events)


def test_2o_sending_time_out_of_range_is_rejected_and_logged_out() -> None:
    harness = Harness().logged_on()
    events = harness.feed(harness.peer.msg("0", now=NOW - 120_000))
    assert types(events) == [b"3", b"5"] and sent(events)[0][373] == b"10" and closed(events)


def test_2q_invalid_msg_type_is_rejected() -> None:
    harness = Harness().logged_on()
    events = harness.feed(harness.peer.msg("ZZZZ"))
    assert types(events) == [b"3"] and sent(events)[0][373] == b"11" and harness.store.next_in == 3


def test_2r_unsupported_msg_type_gets_business_reject() -> None:
    harness = Harness().logged_on()
    events = harness.feed(harness.peer.msg("AE"))
    assert types(events) == [b"j"] and sent(events)[0][380] == b"3"


# --- heartbeats (4, 6) ----------------------------------------------------------------------------

def test_4a_heartbeat_sent_when_nothing_was_sent_for_an_interval() -> None:
    harness = Harness().logged_on()
    assert types(harness.session.timer(NOW + 10_000)) == []
    assert types(harness.session.timer(NOW + 30_000)) == [b"0"]


def test_4b_test_request_is_answered_with_its_id() -> None:
    harness = Harness().logged_on()
    events = harness.feed(harness.peer.msg("1", [(112, "ping-7")]))
    assert types(events) == [b"0"] and sent(events)[0][112] == b"ping-7"


def test_6_silence_brings_a_test_request_then_a_disconnect() -> None:
    harness = Harness().logged_on()
    events = harness.session.timer(NOW + 36_000)
    assert b"1" in types(events)
    later = harness.session.timer(NOW + 36_000 + 37_000)
    assert types(later) == [b"5"] and closed(later)


def test_7_reject_received_is_counted() -> None:
    harness = Harness().logged_on()
    events = harness.feed(harness.peer.msg("3", [(45, 1)]))
    assert types(events) == [] and harness.store.next_in == 3


# --- sequence reset (10, 11) ----------------------------------------------------------------------

def test_10_gap_fill_moves_the_expected_number() -> None:
    harness = Harness().logged_on()
    events = harness.feed(harness.peer.msg("4", [(123, "Y"), (36, 10)], seq=2))
    assert types(events) == [] and harness.store.next_in == 10


def test_10_gap_fill_with_seq_too_high_requests_resend() -> None:
    harness = Harness().logged_on()
    events = harness.feed(harness.peer.msg("4", [(123, "Y"), (36, 10)], seq=5))
    assert types(events) == [b"2"]


def test_10_gap_fill_going_backwards_is_rejected() -> None:
    harness = Harness().logged_on()
    events = harness.feed(harness.peer.msg("4", [(123, "Y"), (36, 2)], seq=2))
    assert types(events) == [b"3"] and sent(events)[0][373] == b"5"


def test_11a_sequence_reset_forward() -> None:
    harness = Harness().logged_on()
    events = harness.feed(harness.peer.msg("4", [(36, 20)], seq=99))
    assert types(events) == [] and harness.store.next_in == 20


def test_11b_sequence_reset_to_the_expected_number_changes_nothing() -> None:
    harness = Harness().logged_on()
    events = harness.feed(harness.peer.msg("4", [(36, 2)], seq=50))
    assert types(events) == [] and harness.store.next_in == 2


def test_11c_sequence_reset_backwards_is_rejected() -> None:
    harness = Harness().logged_on()
    harness.feed(harness.peer.msg("0"))
    harness.feed(harness.peer.msg("0"))
    events = harness.feed(harness.peer.msg("4", [(36, 2)], seq=1))
    assert types(events) == [b"3"] and sent(events)[0][373] == b"5" and harness.store.next_in == 4


# --- resend ---------------------------------------------------------------------------------------

def test_resend_request_is_answered_with_possdup_and_gap_fill_for_admin_messages() -> None:
    harness = Harness().logged_on()  # our Logon is seq 1
    harness.session.send(t.EXECUTION_REPORT, b"37=o1\x0111=a\x01", NOW)  # 2
    harness.session.timer(NOW + 30_000)  # heartbeat 3
    harness.session.send(t.EXECUTION_REPORT, b"37=o2\x0111=b\x01", NOW + 30_000)  # 4
    events = harness.feed(harness.peer.msg("2", [(7, 1), (16, 0)], now=NOW + 31_000), NOW + 31_000)
    replies = sent(events)
    assert [(m[35], m[34]) for m in replies] == [(b"4", b"1"), (b"8", b"2"), (b"4", b"3"), (b"8", b"4")]
    assert replies[0][123] == b"Y" and replies[0][36] == b"2" and replies[2][36] == b"4"
    assert all(m[43] == b"Y" for m in replies)
    assert replies[1][122] == utc_timestamp(NOW) and replies[1][52] == utc_timestamp(NOW + 31_000) and replies[1][37] == b"o1"
    assert harness.store.next_out == 5  # resends do not take new numbers


def test_resend_without_retransmission_is_one_gap_fill() -> None:
    harness = Harness(retransmits=False, must_reset=True).logged_on()
    harness.session.send(t.EXECUTION_REPORT, b"37=o1\x01", NOW)
    events = harness.feed(harness.peer.msg("2", [(7, 1), (16, 0)]))
    [fill] = sent(events)
    assert fill[35] == b"4" and fill[34] == b"1" and fill[36] == b"3" and fill[123] == b"Y"


def test_20_simultaneous_resend_request_is_answered_then_a_resend_asked() -> None:
    harness = Harness().logged_on()
    harness.session.send(t.EXECUTION_REPORT, b"37=o1\x01", NOW)
    events = harness.feed(harness.peer.msg("2", [(7, 2), (16, 0)], seq=5))
    assert types(events) == [b"8", b"2"]


def test_reset_seq_num_flag_starts_both_sides_at_one() -> None:
    store = StoredSeqs()
    store.next_in, store.next_out = 40, 50
    harness = Harness(store=store)
    events = harness.feed(harness.peer.logon(reset=True))
    assert sent(events)[0][34] == b"1" and store.next_in == 2 and store.next_out == 2


# --- logout (13) ----------------------------------------------------------------------------------

def test_13b_unsolicited_logout_is_answered_and_the_session_closes() -> None:
    harness = Harness().logged_on()
    events = harness.feed(harness.peer.msg("5", [(58, "bye")]))
    assert types(events) == [b"5"] and closed(events)


def test_13a_our_logout_waits_for_the_reply_then_closes() -> None:
    harness = Harness().logged_on()
    assert types(harness.session.logout("maintenance", NOW)) == [b"5"]
    events = harness.feed(harness.peer.msg("5"))
    assert types(events) == [] and closed(events)
    harness2 = Harness().logged_on()
    harness2.session.logout("maintenance", NOW)
    assert closed(harness2.session.timer(NOW + 6_000))


# --- invalid messages (14) ------------------------------------------------------------------------

ORDER = [(11, "a"), (38, "1"), (40, "2"), (54, "1"), (55, "T")]


@pytest.mark.parametrize(("case", "fields", "tag", "reason"), [
    ("14a_bad_field", [*ORDER, (4999, "x")], 4999, 0),
    ("14b_required_field_missing", ORDER[1:], 11, 1),
    ("14c_tag_not_defined_for_msg_type", [*ORDER, (108, "30")], 108, 2),
    ("14e_incorrect_enum_value", [*ORDER[:3], (54, "Z"), (55, "T")], 54, 5),
    ("14f_incorrect_data_format", [(11, "a"), (38, "one"), (40, "2"), (54, "1"), (55, "T")], 38, 6),
    ("14h_repeated_tag", [*ORDER, (11, "b")], 11, 13),
    ("14i_group_count_not_equal", [*ORDER, (453, 2), (448, "p"), (452, 24)], 453, 16),
])
def test_14_invalid_message_is_rejected_naming_the_tag(case: str, fields: list[tuple[int, object]], tag: int, reason: int) -> None:
    harness = Harness().logged_on()
    events = harness.feed(harness.peer.msg("D", fields))
    assert types(events) == [b"3"], case
    reject = sent(events)[0]
    assert (reject[45], reject[371], reject[373], reject[372]) == (b"2", str(tag).encode(), str(reason).encode(), b"D"), case
    assert delivered(events) == [] and harness.store.next_in == 3  # counted, not applied


def test_14d_tag_without_value_is_rejected() -> None:
    harness = Harness().logged_on()
    data = harness.peer.msg("D", ORDER).replace(b"\x0111=a\x01", b"\x0111=\x01")
    data = encode(b"FIX.4.4", data[data.index(b"35="):data.rindex(b"10=")])
    events = harness.feed(data)
    assert types(events) == [b"3"] and sent(events)[0][373] == b"4" and sent(events)[0][371] == b"11"


def test_14g_header_field_after_the_body_is_rejected() -> None:
    harness = Harness().logged_on()
    events = harness.feed(harness.peer.msg("D", [*ORDER, (43, "N")]))
    assert types(events) == [b"3"] and sent(events)[0][373] == b"14"


def test_15_header_fields_in_another_order_are_accepted() -> None:
    harness = Harness().logged_on()
    body = (b"35=D\x0156=KalshiRT\x0152=" + utc_timestamp(NOW) + b"\x0134=2\x0149=" + KEY.encode() + b"\x01"
            + body_bytes(ORDER))
    assert delivered(harness.feed(encode(b"FIX.4.4", body))) == [b"D"]


def test_21_repeating_group_with_count_zero_is_accepted() -> None:
    harness = Harness().logged_on()
    assert delivered(harness.feed(harness.peer.msg("D", [*ORDER, (453, 0)]))) == [b"D"]


def test_fixt_logon_is_answered_with_default_appl_ver_id() -> None:
    harness = Harness()
    harness.peer.begin = b"FIXT.1.1"
    events = harness.feed(harness.peer.msg("A", [(98, 0), (108, 30), (95, 3), (96, "sig"), (141, "Y"), (1137, "9")]))
    reply = sent(events)[0]
    assert reply[8] == b"FIXT.1.1" and reply[1137] == b"9"
