"""The RFQ session's messages from committed events (see rfq.py for the session): a QuoteRequest (R)
to every RFQ session when an RFQ opens; QuoteStatusReports (AI) to a quote's maker as it is created,
accepted, cancelled or expires; the quote (S), and its withdrawal, to its requester. The gateway calls
these with its sessions, so this module needs nothing of the gateway."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from predictex.core import events as ev
from predictex.core.communications import QUOTE_ACCEPTED, QUOTE_CANCELLED, QUOTE_OPEN, RFQ_OPEN, SIDE_YES
from predictex.core.units import format_count_fix, format_money_fix, format_price_fix_cents, format_price_fix_dollars
from predictex.gateways.fix import tags as t
from predictex.gateways.fix.peer import Peer
from predictex.gateways.fix.session import utc_timestamp
from predictex.server import ids
from predictex.server.ids import OBSCURED_COMMUNICATIONS_ID, Ids, communications_id

# QuoteStatus (297); FIX 4.4 has no plain "canceled" (17 came with FIX 5.0): its sessions get 6,
# removed from market
ACCEPTED, REJECTED, REMOVED, EXPIRED, NOT_FOUND, PENDING, CANCELED = 0, 5, 6, 7, 9, 10, 17


def canceled(connection: Peer) -> int:
    return REMOVED if connection.session.begin_string == t.FIX44 else CANCELED


def clean_text(value: bytes, most: int) -> bytes:
    return value.replace(b"\x01", b" ")[:most]


def rfq_changed(sessions: dict[int, list[Peer]], identities: Ids, member_of: Callable[[int], int], touched: list[Peer],
                event: ev.RfqChanged, answer: Any) -> None:
    """A new RFQ: a QuoteRequest to every RFQ session; the one whose QuoteRequest made it gets that
    request's QuoteReqID back in RFQReqID (644)."""
    if event.status != RFQ_OPEN:
        return
    creator = member_of(event.account_id)
    common = b"131=%s\x01146=1\x0155=%s\x01" % (identities.to_uuid(ids.RFQ, event.rfq_id).encode(), event.ticker.encode())
    if event.count_centicontracts:
        common += b"38=%s\x01" % format_count_fix(event.count_centicontracts)
    if event.target_cost_microdollars:
        common += b"152=%s\x01" % format_money_fix(event.target_cost_microdollars)
    named = communications_id(identities, creator).encode()
    client_id: bytes = getattr(answer, "client_id", b"")
    asked_by = getattr(answer, "connection", None) if client_id else None
    for member, held in sessions.items():
        party = named if member == creator or not event.obscure_creator else OBSCURED_COMMUNICATIONS_ID.encode()
        body = common + b"453=1\x01448=%s\x01452=3\x01" % party
        for connection in held:
            connection.send(t.QUOTE_REQUEST, body + (b"644=%s\x01" % client_id if asked_by is connection else b""))
            touched.append(connection)


def quote_changed(sessions: dict[int, list[Peer]], identities: Ids, member_of: Callable[[int], int], touched: list[Peer],
                  event: ev.QuoteChanged, time_ms: int, answer: Any) -> None:
    """A quote's changes: QuoteStatusReports to its maker's RFQ sessions (the one whose Quote made it
    gets that Quote's QuoteID back in QuoteMsgID (1166)); the quote itself (S), and its withdrawal
    (AI), to the requester's."""
    quote_uuid = identities.to_uuid(ids.QUOTE, event.quote_id).encode()
    rfq_uuid = identities.to_uuid(ids.RFQ, event.rfq_id).encode()
    status = _status(event)
    client_quote_id: bytes = getattr(answer, "client_quote_id", b"")
    asked_by = getattr(answer, "connection", None) if client_quote_id else None
    if status is not None:
        for connection in sessions.get(member_of(event.account_id), ()):
            body = b"117=%s\x01" % quote_uuid
            if asked_by is connection and event.change == "created":
                body += b"1166=%s\x01" % client_quote_id
            body += b"131=%s\x01297=%d\x0155=%s\x01" % (rfq_uuid, status(connection), event.ticker.encode())
            body += _terms(connection, event)
            if event.status == QUOTE_ACCEPTED:
                side = b"1" if event.accepted_side == SIDE_YES else b"2"
                body += b"54=%s\x01126=%s\x01" % (side, utc_timestamp(event.confirm_deadline_ms))
            if event.status == QUOTE_CANCELLED:
                body += b"58=%s\x01" % event.change.encode()
            body += b"60=%s\x01" % utc_timestamp(time_ms)
            connection.send(t.QUOTE_STATUS_REPORT, body)
            touched.append(connection)
    for connection in sessions.get(member_of(event.rfq_account_id), ()):
        if event.status == QUOTE_OPEN:
            body = b"117=%s\x01131=%s\x0155=%s\x01" % (quote_uuid, rfq_uuid, event.ticker.encode()) + _terms(connection, event)
            connection.send(t.QUOTE, body)
        elif event.status == QUOTE_CANCELLED and status is not None:
            body = b"117=%s\x01131=%s\x01297=%d\x0155=%s\x0158=%s\x01" % (
                quote_uuid, rfq_uuid, status(connection), event.ticker.encode(), event.change.encode())
            connection.send(t.QUOTE_STATUS_REPORT, body)
        else:
            continue
        touched.append(connection)


def _status(event: ev.QuoteChanged) -> Callable[[Peer], int] | None:
    """The QuoteStatus a change is reported with, per session (none for an execution: its
    ExecutionReports say it)."""
    if event.status == QUOTE_CANCELLED:
        return (lambda _: EXPIRED) if event.change == "expired" else canceled
    if event.change == "created":
        return lambda _: PENDING
    if event.change == "accepted":
        return lambda _: ACCEPTED
    return None




def _terms(connection: Peer, event: ev.QuoteChanged) -> bytes:
    """OrderQty (what the accepted side trades, else the larger offer), BidPx and OfferPx."""
    price = format_price_fix_dollars if connection.use_dollars else format_price_fix_cents
    if event.accepted_side:
        count = event.yes_count_centicontracts if event.accepted_side == SIDE_YES else event.no_count_centicontracts
    else:
        count = max(event.yes_count_centicontracts, event.no_count_centicontracts)
    return b"38=%s\x01132=%s\x01133=%s\x01" % (format_count_fix(count), price(event.yes_bid_centicents), price(event.no_bid_centicents))
