"""What predictex accepts on the wire: the header and trailer, every message type it receives, their
fields with types and allowed values, required fields and repeating groups (FIX 4.4 and FIX 5.0 SP2
share these; Kalshi's custom tags are included). `check(msg_type, fields)` walks a parsed message and
raises `FieldError` with the SessionRejectReason(373) and the tag for the first fault, as the FIX
session test cases 14a-14i expect: an undefined tag (0), a required tag missing (1), a tag not defined
for the message type (2), a tag without a value (4), a value out of range (5), a bad data format (6),
a tag repeated (13), header fields after the body (14), a group count that does not match (16).

Business rules (is this market open, is this price on the grid) are not here: they belong to the
engine, and come back as execution reports."""

from __future__ import annotations

import re
from collections.abc import Sequence

from predictex.gateways.fix.codec import FieldError

# types
INT, SEQ, QTY, PRICE, BOOL, TIME, CHAR, STR, DATA = "int", "seq", "qty", "price", "bool", "time", "char", "str", "data"

_INT = re.compile(rb"-?\d{1,18}\Z")
_SEQ = re.compile(rb"\d{1,18}\Z")
_DECIMAL = re.compile(rb"-?(\d{1,15}(\.\d{0,12})?|\.\d{1,12})\Z")
_TIME = re.compile(rb"\d{8}-\d\d:\d\d:\d\d(\.\d{1,9})?\Z")

HEADER: dict[int, str] = {
    8: STR, 9: SEQ, 35: STR, 49: STR, 56: STR, 34: SEQ, 52: TIME, 43: BOOL, 97: BOOL, 122: TIME, 115: STR, 128: STR,
    50: STR, 57: STR, 142: STR, 143: STR, 116: STR, 129: STR, 144: STR, 145: STR, 212: SEQ, 213: DATA, 347: STR,
    369: SEQ, 1128: STR, 1129: STR, 1156: INT, 90: SEQ, 91: DATA, 627: SEQ, 628: STR, 629: TIME, 630: SEQ,
}
TRAILER: dict[int, str] = {93: SEQ, 89: DATA, 10: STR}
HEADER_REQUIRED = (8, 9, 35, 49, 56, 34, 52)
_HEADER_GROUPS = {627: (628, frozenset({628, 629, 630}))}

_ORD_TYPES = frozenset(b"123456789ABCDEFGHIJKLMP")
_SIDES = frozenset(b"123456789ABCDEFG")
_TIME_IN_FORCE = frozenset(b"0123456789")


class MessageSpec:
    def __init__(self, fields: dict[int, str], required: Sequence[int] = (), enums: dict[int, frozenset[bytes]] | None = None,
                 groups: dict[int, tuple[int, frozenset[int]]] | None = None) -> None:
        self.fields = fields
        self.required = tuple(required)
        self.enums = enums or {}
        self.groups = groups or {}
        self.group_members = frozenset(tag for _, members in self.groups.values() for tag in members)


def _chars(values: frozenset[int]) -> frozenset[bytes]:
    return frozenset(bytes([v]) for v in values)


_PARTIES = {453: (448, frozenset({448, 447, 452, 802, 523, 803}))}
_ORDER_COMMON = {
    11: STR, 37: STR, 41: STR, 38: QTY, 40: CHAR, 44: PRICE, 54: CHAR, 55: STR, 59: CHAR, 126: TIME, 18: STR, 100: STR,
    117: STR, 21023: STR, 79: STR, 453: SEQ, 448: STR, 447: CHAR, 452: INT, 802: SEQ, 523: STR, 803: INT, 526: STR,
    2964: INT, 21006: BOOL, 21009: PRICE, 60: TIME, 1: STR, 21: CHAR, 58: STR, 152: QTY, 110: QTY, 99: PRICE, 1138: QTY,
    22: STR, 48: STR, 207: STR, 167: STR,
}

SPECS: dict[bytes, MessageSpec] = {
    b"0": MessageSpec({112: STR}),
    b"1": MessageSpec({112: STR}, [112]),
    b"2": MessageSpec({7: SEQ, 16: SEQ}, [7, 16]),
    b"3": MessageSpec({45: SEQ, 371: SEQ, 372: STR, 373: INT, 58: STR, 354: SEQ, 355: DATA}, [45]),
    b"4": MessageSpec({123: BOOL, 36: SEQ}, [36]),
    b"5": MessageSpec({58: STR, 354: SEQ, 355: DATA}),
    b"A": MessageSpec(
        {98: INT, 108: INT, 95: SEQ, 96: DATA, 141: BOOL, 789: SEQ, 383: SEQ, 384: SEQ, 372: STR, 385: CHAR, 464: BOOL,
         553: STR, 554: STR, 1137: STR, 1400: INT, 1401: DATA, 1402: DATA, 58: STR,
         8013: BOOL, 20126: BOOL, 20127: BOOL, 20200: INT, 21005: BOOL, 21011: BOOL, 21003: BOOL, 21012: BOOL,
         21007: BOOL, 21008: BOOL, 21026: BOOL, 21027: BOOL},
        [98, 108], groups={384: (372, frozenset({372, 385}))},
    ),
    b"D": MessageSpec(_ORDER_COMMON, [11, 38, 40, 54, 55],
                      {40: _chars(_ORD_TYPES), 54: _chars(_SIDES), 59: _chars(_TIME_IN_FORCE)}, dict(_PARTIES)),
    b"F": MessageSpec(_ORDER_COMMON, [11, 54, 55], {54: _chars(_SIDES)}, dict(_PARTIES)),
    b"G": MessageSpec(_ORDER_COMMON, [11, 54, 55, 40],
                      {40: _chars(_ORD_TYPES), 54: _chars(_SIDES), 59: _chars(_TIME_IN_FORCE)}, dict(_PARTIES)),
    b"q": MessageSpec({11: STR, 530: CHAR, 55: STR, 60: TIME, 54: CHAR, 79: STR, 100: STR, 1: STR, 58: STR,
                       453: SEQ, 448: STR, 447: CHAR, 452: INT},
                      [11, 530], {530: _chars(frozenset(b"1234567ABC"))}, dict(_PARTIES)),
    b"V": MessageSpec({262: STR, 263: CHAR, 264: INT, 265: INT, 266: BOOL, 267: SEQ, 269: CHAR, 146: SEQ, 55: STR,
                       48: STR, 22: STR, 207: STR},
                      [262, 263], {263: _chars(frozenset(b"012"))},
                      {267: (269, frozenset({269})), 146: (55, frozenset({55, 48, 22, 207}))}),
    b"e": MessageSpec({324: STR, 263: CHAR, 55: STR, 48: STR, 22: STR}, [324, 263], {263: _chars(frozenset(b"012"))}),
    b"UOG": MessageSpec({11: STR, 20130: STR, 20131: INT, 20132: QTY, 79: STR, 100: STR, 58: STR}, [20131],
                        {20131: frozenset({b"1", b"2", b"3", b"4", b"5"})}),
    b"U1": MessageSpec({21001: STR, 21002: STR, 79: STR}, [21001]),
    # the RFQ session (Kalshi's): QuoteRequest, Quote, QuoteCancel, QuoteConfirm, AcceptQuote
    b"R": MessageSpec({131: STR, 644: STR, 146: SEQ, 55: STR, 38: QTY, 152: QTY, 79: STR, 100: STR, 1: STR, 58: STR,
                       21015: BOOL, 21016: BOOL, 453: SEQ, 448: STR, 447: CHAR, 452: INT},
                      [131, 146], groups={146: (55, frozenset({55, 38, 152})), **_PARTIES}),
    b"S": MessageSpec({117: STR, 131: STR, 55: STR, 132: PRICE, 133: PRICE, 38: QTY, 60: TIME, 58: STR, 1: STR, 79: STR},
                      [117, 131, 55, 132, 133]),
    b"Z": MessageSpec({117: STR, 131: STR, 298: INT, 55: STR, 60: TIME, 58: STR, 1: STR}, [117]),
    b"U7": MessageSpec({117: STR, 131: STR, 55: STR, 60: TIME, 58: STR}, [117]),
    b"UA": MessageSpec({117: STR, 131: STR, 54: CHAR, 55: STR, 60: TIME, 58: STR}, [117, 54], {54: frozenset({b"1", b"2"})}),
}
ADMIN_TYPES = frozenset({b"0", b"1", b"2", b"3", b"4", b"5", b"A"})
_VALID_TYPE = re.compile(rb"([0-9A-Za-z]|A[A-Z]|B[A-Z]|C[A-N]|U[0-9A-Za-z]{1,6})\Z")


def is_valid_msg_type(msg_type: bytes) -> bool:
    """A MsgType the FIX specification defines (or a user-defined U...), supported here or not."""
    return _VALID_TYPE.match(msg_type) is not None


def _check_value(tag: int, kind: str, value: bytes, enums: dict[int, frozenset[bytes]]) -> None:
    if kind == STR or kind == DATA:
        pass
    elif kind == SEQ:
        if _SEQ.match(value) is None:
            raise FieldError(tag, 6, f"tag {tag} must be a non-negative integer")
    elif kind == INT:
        if _INT.match(value) is None:
            raise FieldError(tag, 6, f"tag {tag} must be an integer")
    elif kind == QTY or kind == PRICE:
        if _DECIMAL.match(value) is None:
            raise FieldError(tag, 6, f"tag {tag} must be a decimal number")
    elif kind == BOOL:
        if value not in (b"Y", b"N"):
            raise FieldError(tag, 5, f"tag {tag} must be Y or N")
    elif kind == TIME:
        if _TIME.match(value) is None:
            raise FieldError(tag, 6, f"tag {tag} must be a UTC timestamp YYYYMMDD-HH:MM:SS[.sss]")
    elif kind == CHAR and len(value) != 1:
        raise FieldError(tag, 6, f"tag {tag} must be one character")
    allowed = enums.get(tag)
    if allowed is not None and value not in allowed:
        raise FieldError(tag, 5, f"value {value[:20]!r} is not allowed for tag {tag}")


def check(msg_type: bytes, fields: Sequence[tuple[int, bytes]]) -> None:
    """Raise FieldError for the first fault of a parsed message (BeginString to CheckSum)."""
    spec = SPECS.get(msg_type)
    if spec is None:
        return
    seen: set[int] = set()
    in_body = False
    index = 3  # 8, 9, 35 were checked by the framer and the session
    count = len(fields) - 1  # the CheckSum is last
    while index < count:
        tag, value = fields[index]
        kind = HEADER.get(tag)
        if kind is not None and tag not in spec.fields:
            if in_body:
                raise FieldError(tag, 14, f"header tag {tag} after the body")
            if tag in seen:
                raise FieldError(tag, 13, f"tag {tag} appears more than once")
            seen.add(tag)
            _check_value(tag, kind, value, {})
            index = _walk_group(fields, index, count, _HEADER_GROUPS.get(tag), HEADER, {}) if tag in _HEADER_GROUPS else index + 1
            continue
        if tag in TRAILER and tag != 10:
            index += 1
            continue
        kind = spec.fields.get(tag)
        if kind is None:
            if tag >= 5000 or tag in HEADER or tag in TRAILER:
                raise FieldError(tag, 2, f"tag {tag} is not defined for message type {msg_type.decode('latin-1')}")
            raise FieldError(tag, 2 if tag < 2000 else 0, f"tag {tag} is not defined for message type {msg_type.decode('latin-1')}")
        in_body = True
        if tag in spec.group_members and tag not in spec.groups:
            raise FieldError(tag, 2, f"tag {tag} outside its repeating group")
        if tag in seen:
            raise FieldError(tag, 13, f"tag {tag} appears more than once")
        seen.add(tag)
        _check_value(tag, kind, value, spec.enums)
        group = spec.groups.get(tag)
        index = _walk_group(fields, index, count, group, spec.fields, spec.enums) if group is not None else index + 1
    for tag in spec.required:
        if tag not in seen:
            raise FieldError(tag, 1, f"required tag {tag} missing")
    for tag in HEADER_REQUIRED[3:]:
        if tag not in seen:
            raise FieldError(tag, 1, f"required header tag {tag} missing")


def _walk_group(fields: Sequence[tuple[int, bytes]], index: int, end: int, group: tuple[int, frozenset[int]] | None,
                kinds: dict[int, str], enums: dict[int, frozenset[bytes]]) -> int:
    """Check the instances of the group whose count is at `index`; returns the index after them."""
    assert group is not None
    count_tag, count_value = fields[index]
    expected = int(count_value)
    delimiter, members = group
    index += 1
    instances = 0
    seen: set[int] = set()
    while index < end:
        tag, value = fields[index]
        if tag == delimiter:
            instances += 1
            seen = set()
        elif tag not in members or instances == 0:
            break
        if tag in seen:
            raise FieldError(tag, 13, f"tag {tag} appears twice in one instance of group {count_tag}")
        seen.add(tag)
        _check_value(tag, kinds.get(tag, STR), value, enums)
        index += 1
    if instances != expected:
        raise FieldError(count_tag, 16, f"group {count_tag} says {expected} entries but has {instances}")
    return index
