"""The FIX session kinds (reference §11.1): each listens on a port of its own, answers to its own
TargetCompID, and accepts its own application messages."""

from __future__ import annotations

import enum

from predictex.gateways.fix import tags as t
from predictex.gateways.fix.session import SessionConfig


class Kind(enum.StrEnum):
    ORDER_ENTRY = "order_entry"  # no retransmission; ResetSeqNumFlag=Y on every logon
    ORDER_ENTRY_RT = "order_entry_rt"  # with retransmission: sequence numbers kept across reconnects
    DROP_COPY = "drop_copy"
    MARKET_DATA = "market_data"
    RFQ = "rfq"  # Kalshi's RFQ session: quote requests, quotes, their acceptance and confirmation; with retransmission


TARGET_COMP_IDS = {
    Kind.ORDER_ENTRY: "KalshiNR", Kind.ORDER_ENTRY_RT: "KalshiRT", Kind.DROP_COPY: "KalshiDC", Kind.MARKET_DATA: "KalshiMD",
    Kind.RFQ: "KalshiRFQ",
}
DEFAULT_PORTS = {Kind.ORDER_ENTRY: 8228, Kind.DROP_COPY: 8229, Kind.ORDER_ENTRY_RT: 8230, Kind.MARKET_DATA: 8233, Kind.RFQ: 8231}
_ORDER_ENTRY = frozenset({t.NEW_ORDER_SINGLE, t.ORDER_CANCEL_REQUEST, t.ORDER_CANCEL_REPLACE_REQUEST,
                          t.ORDER_MASS_CANCEL_REQUEST, t.ORDER_GROUP_REQUEST})
SUPPORTED: dict[Kind, frozenset[bytes]] = {
    Kind.ORDER_ENTRY: _ORDER_ENTRY,
    Kind.ORDER_ENTRY_RT: _ORDER_ENTRY,
    Kind.DROP_COPY: frozenset({t.EVENT_RESEND_REQUEST}),
    Kind.MARKET_DATA: frozenset({t.MARKET_DATA_REQUEST, t.SECURITY_STATUS_REQUEST}),
    Kind.RFQ: frozenset({t.QUOTE_REQUEST, t.QUOTE, t.QUOTE_CANCEL, t.QUOTE_CONFIRM, t.ACCEPT_QUOTE}),
}
REQUIRED_SCOPE = {Kind.ORDER_ENTRY: "write", Kind.ORDER_ENTRY_RT: "write", Kind.DROP_COPY: "read", Kind.MARKET_DATA: "read", Kind.RFQ: "write"}


RETRANSMITTING = frozenset({Kind.ORDER_ENTRY_RT, Kind.RFQ})  # sequence numbers and sent messages kept across reconnects


def session_config(kind: Kind) -> SessionConfig:
    retransmits = kind in RETRANSMITTING
    return SessionConfig(TARGET_COMP_IDS[kind], retransmits=retransmits, must_reset=not retransmits)


def parse_ports(text: str) -> dict[Kind, int]:
    """"order_entry=8228,drop_copy=8229,..." (names or NR/RT/DC/MD); kinds left out are not served."""
    aliases = {"nr": Kind.ORDER_ENTRY, "rt": Kind.ORDER_ENTRY_RT, "dc": Kind.DROP_COPY, "md": Kind.MARKET_DATA, "rfq": Kind.RFQ}
    ports: dict[Kind, int] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, number = part.partition("=")
        key = name.strip().lower()
        kind = aliases.get(key) or next((k for k in Kind if k.value == key), None)
        if kind is None or not sep or not number.strip().isdigit() or not 0 <= int(number) < 65536:
            raise ValueError(f"FIX ports are kind=port (kinds: nr, rt, dc, md, rfq), not {part.strip()!r}")
        ports[kind] = int(number)
    return ports
