"""The audit export: every order event of a member, read from the journal, in sequence.

An order event is an order accepted, amended, filled (either side of a trade), closed (executed or
cancelled, with the reason), or an order or cancel the engine refused. Each row carries the time to the
millisecond, the sequence number, the order id, market, side, YES price, count, order type, time in
force, action, and the source of the command that caused it (journal.records: a record's source;
server/sources.py). The member's subaccounts are followed from their `SubaccountCreated` events, and
an order's terms from its acceptance; rows are kept for the records whose time falls in the window
asked for. The journal is not read from its start: record times never decrease with the sequence
number (the sequencer's clock), so a binary search over the batches finds the last one that starts
before the window, and the newest engine snapshot at or before it gives the member's subaccounts and
the terms of its orders then open; reading starts there. Without a usable snapshot it starts at the
beginning, as the same rows come out either way."""

from __future__ import annotations

import csv
import io
import logging
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from predictex.core import events as e
from predictex.core.codec import decode_command, decode_event
from predictex.core.commands import CancelOrder, CreateOrder
from predictex.core.snapshot import restore_snapshot
from predictex.core.units import format_count_fp, format_price_dollars
from predictex.journal.journal import Journal
from predictex.journal.records import JournalError, Record, decode_batch

log = logging.getLogger("predictex.audit")

COLUMNS = (
    "time", "seq", "event", "order_id", "account", "market", "side", "yes_price", "count", "type", "time_in_force",
    "action", "detail", "source",
)
_WATCHED = frozenset({"order_accepted", "order_amended", "order_closed", "trade", "subaccount_created"})


class _Terms:
    __slots__ = ("action", "is_bid", "order_type", "ticker", "time_in_force")

    def __init__(self, ticker: str, is_bid: bool, order_type: str, time_in_force: str, action: str) -> None:
        self.ticker = ticker
        self.is_bid = is_bid
        self.order_type = order_type
        self.time_in_force = time_in_force
        self.action = action


def iso_ms(time_ms: int) -> str:
    """A UTC time to the millisecond: 2026-12-07T17:50:01.123Z."""
    return datetime.fromtimestamp(time_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{time_ms % 1000:03d}Z"


def order_events(journal: Journal, account_id: int, from_ms: int, to_ms: int) -> Iterator[dict[str, Any]]:
    """The order events of the member whose primary engine account is `account_id` (and of its
    subaccounts), for records timed from `from_ms` to `to_ms` inclusive, in sequence."""
    accounts = {account_id}
    terms: dict[int, _Terms] = {}
    for record in journal.records(_start(journal, account_id, from_ms, accounts, terms)):
        if record.time_ms > to_ms:
            return
        rows = _rows(record, accounts, terms)
        if record.time_ms >= from_ms:
            yield from rows


def _start(journal: Journal, account_id: int, from_ms: int, accounts: set[int], terms: dict[int, _Terms]) -> int:
    """The sequence number to read after: the newest snapshot before every record of the window, its
    state put into `accounts` and `terms` (0, and nothing added, when there is none)."""
    before = _last_seq_before(journal, from_ms)
    for stored in journal.store.snapshots():  # newest first
        if stored.seq > before:
            continue
        try:
            engine = restore_snapshot(orjson.loads(zlib.decompress(stored.data)))
        except (zlib.error, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            log.warning("audit export: snapshot at %d unreadable (%s); trying an older one", stored.seq, error)
            continue
        accounts.update(engine.ledger.subaccounts.by_primary.get(account_id, {}).values())
        for order in engine.trading.orders.values():
            if order.account_id in accounts:
                terms[order.order_id] = _Terms(order.ticker, order.is_bid, order.order_type, order.time_in_force.value,
                                               order.action.value)
        return stored.seq
    return 0


def _last_seq_before(journal: Journal, from_ms: int) -> int:
    """A sequence number every record up to which is timed before `from_ms` (0 if none is known): the
    one before the last batch whose first record is, found by a binary search over the batches."""
    low, high = 1, journal.last_seq()
    found = 0
    while low <= high:
        middle = (low + high) // 2
        rows = journal.store.query("SELECT first_seq, record_count, data FROM journal_batches WHERE first_seq <= ? "
                                   "ORDER BY first_seq DESC LIMIT 1", (middle,))
        if not rows:
            low = middle + 1
            continue
        first_seq, count, data = int(rows[0][0]), int(rows[0][1]), bytes(rows[0][2])
        try:
            first_time_ms = decode_batch(data, first_seq, count)[0].time_ms
        except (JournalError, IndexError):
            return found  # the reading itself reports damage
        if first_time_ms < from_ms:
            found = first_seq - 1
            low = middle + 1
        else:
            high = first_seq - 1
    return found


def _rows(record: Record, accounts: set[int], terms: dict[int, _Terms]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for raw in orjson.loads(record.events_json) if record.event_count else ():
        if raw[0] not in _WATCHED:
            continue
        event = decode_event(raw)
        if isinstance(event, e.SubaccountCreated):
            if event.account_id in accounts:
                accounts.add(event.subaccount_account_id)
        elif isinstance(event, e.OrderAccepted):
            if event.account_id in accounts:
                terms[event.order_id] = _Terms(event.ticker, event.is_bid, event.order_type, event.time_in_force.value, event.action.value)
                rows.append(_row(record, "accepted", event.order_id, event.account_id, event.price_centicents,
                                 event.count_centicontracts, terms[event.order_id], event.client_order_id))
        elif isinstance(event, e.OrderAmended):
            if event.account_id in accounts and event.order_id in terms:
                rows.append(_row(record, "amended", event.order_id, event.account_id, event.price_centicents,
                                 event.remaining_centicontracts, terms[event.order_id],
                                 "kept its place in the queue" if event.priority_kept else "went to the back of the queue"))
        elif isinstance(event, e.Trade):
            for order_id, account, role in ((event.taker_order_id, event.taker_account_id, "taker"),
                                            (event.maker_order_id, event.maker_account_id, "maker")):
                if account in accounts and order_id in terms:
                    rows.append(_row(record, "filled", order_id, account, event.price_centicents, event.count_centicontracts,
                                     terms[order_id], f"{role}, trade {event.trade_id}"))
        elif isinstance(event, e.OrderClosed) and event.account_id in accounts:
            known = terms.pop(event.order_id, None) or _Terms(event.ticker, event.is_bid, event.order_type,
                                                              event.time_in_force.value, event.action.value)
            rows.append(_row(record, event.status.value, event.order_id, event.account_id, event.price_centicents,
                             event.reduced_by_centicontracts, known, event.reason.value))
    return rows if record.event_count else _refusal(record, accounts, terms)


def _refusal(record: Record, accounts: set[int], terms: dict[int, _Terms]) -> list[dict[str, Any]]:
    """A row for an order or cancel of the member that the engine refused (its record has no events
    of the order's)."""
    command = decode_command(orjson.loads(record.command_json))
    if isinstance(command, CreateOrder) and command.account_id in accounts:
        return [_row(record, "refused", 0, command.account_id, command.price_centicents, command.count_centicontracts,
                     _Terms(command.ticker, command.is_bid, command.order_type, _word(command.time_in_force), _word(command.action)),
                     "the order was refused")]
    if isinstance(command, CancelOrder) and command.account_id in accounts:
        known = terms.get(command.order_id)
        return [_row(record, "cancel refused", command.order_id, command.account_id, 0, 0, known, "the cancel was refused")]
    return []


def _word(value: object) -> str:
    """An order enum's word (commands may hold the word as the member sent it)."""
    word = getattr(value, "value", value)
    return str(word)


def _row(record: Record, event: str, order_id: int, account: int, price_centicents: int, count_centicontracts: int,
         terms: _Terms | None, detail: str) -> dict[str, Any]:
    return {
        "time": iso_ms(record.time_ms), "seq": record.seq, "event": event, "order_id": order_id, "account": account,
        "market": terms.ticker if terms else "", "side": ("bid" if terms.is_bid else "ask") if terms else "",
        "yes_price": format_price_dollars(price_centicents) if price_centicents else "",
        "count": format_count_fp(count_centicontracts) if count_centicontracts else "",
        "type": terms.order_type if terms else "", "time_in_force": terms.time_in_force if terms else "",
        "action": terms.action if terms else "", "detail": detail, "source": record.source or {"surface": "system"},
    }


def source_text(source: dict[str, Any]) -> str:
    """A source as one CSV cell: `rest member=7 key=...`."""
    return " ".join([str(source.get("surface", "system"))] + [f"{k}={v}" for k, v in source.items() if k != "surface"])


def to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([source_text(row[c]) if c == "source" else row[c] for c in COLUMNS])
    return buffer.getvalue()


def to_json(rows: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"events": rows})
