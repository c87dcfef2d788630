"""Execution reports: what the gateway knows about each order it reports on, the report itself as
plain values (kept as such for drop-copy resends), and its rendering on the wire. Prices are YES
prices, in integer-or-decimal cents by default or 4-decimal dollars with UseDollars (reference §11.7);
quantities are decimal contracts with two places; fees are dollars."""

from __future__ import annotations

from typing import Any

from predictex.core import events as ev
from predictex.core.orders import TimeInForce
from predictex.core.text import ascii_int
from predictex.core.units import (
    PRICE_ONE_DOLLAR_CENTICENTS,
    average_price_centicents,
    format_count_fix,
    format_money_fix,
    format_price_fix_cents,
    format_price_fix_dollars,
    notional_microdollars,
)
from predictex.gateways.fix import tags as t
from predictex.gateways.fix.session import utc_timestamp

# ExecType(150) / OrdStatus(39)
NEW, PARTIAL, FILLED, TRADE, CANCELED, REPLACED, REJECTED, EXPIRED = b"0", b"1", b"2", b"F", b"4", b"5", b"8", b"C"


def exec_id(seq: int, index: int) -> bytes:
    return b"%d;%d" % (seq, index)


def parse_exec_id(text: str) -> tuple[int, int] | None:
    """(sequence number, event index) of an ExecID made by `exec_id`, or None (ASCII digits only)."""
    seq, _, index = text.partition(";")
    seq_number, index_number = ascii_int(seq), ascii_int(index)
    if seq_number is None or index_number is None:
        return None
    return seq_number, index_number


class TrackedOrder:
    """An open order as the gateway reports it: terms, progress and the client's current ClOrdID."""

    __slots__ = ("account_id", "cl_ord_id", "expiration_ms", "fill_cost_yes", "filled", "group_id", "is_bid", "leaves",
                 "order_id", "order_type", "post_only", "price", "ticker", "time_in_force")

    def __init__(self, order_id: int, account_id: int, ticker: str, is_bid: bool, price: int, leaves: int, filled: int,
                 fill_cost_yes: int, cl_ord_id: str, time_in_force: TimeInForce, expiration_ms: int, post_only: bool,
                 group_id: int) -> None:
        self.order_id = order_id
        self.account_id = account_id
        self.ticker = ticker
        self.is_bid = is_bid
        self.price = price
        self.leaves = leaves
        self.filled = filled
        self.fill_cost_yes = fill_cost_yes  # the YES notional of its fills (microdollars), for AvgPx
        self.cl_ord_id = cl_ord_id
        self.time_in_force = time_in_force
        self.expiration_ms = expiration_ms
        self.post_only = post_only
        self.group_id = group_id
        self.order_type = "limit"

    @classmethod
    def accepted(cls, e: ev.OrderAccepted) -> TrackedOrder:
        return cls(e.order_id, e.account_id, e.ticker, e.is_bid, e.price_centicents, e.count_centicontracts, 0, 0,
                   e.client_order_id, e.time_in_force, e.expiration_ms, e.post_only, e.order_group_id)

    @classmethod
    def from_view(cls, view: Any) -> TrackedOrder:
        own_cost = view.taker_fill_cost_microdollars + view.maker_fill_cost_microdollars
        filled = view.filled_centicontracts
        yes_cost = own_cost if view.is_bid else notional_microdollars(PRICE_ONE_DOLLAR_CENTICENTS, filled) - own_cost
        return cls(view.order_id, view.account_id, view.ticker, view.is_bid, view.price_centicents,
                   view.remaining_centicontracts, filled, yes_cost, view.client_order_id, view.time_in_force,
                   view.expiration_ms, view.post_only, view.order_group_id)

    @property
    def avg_px(self) -> int:
        return average_price_centicents(self.fill_cost_yes, self.filled) if self.filled else 0

    @property
    def status(self) -> bytes:
        return PARTIAL if self.filled else NEW


def tif_code(time_in_force: TimeInForce, expiration_ms: int) -> bytes:
    """TimeInForce (59): 3 IOC, 4 FOK, 1 GTC, or 6 GTD for a good-till-canceled order with an expiry."""
    if time_in_force is TimeInForce.IMMEDIATE_OR_CANCEL:
        return b"3"
    if time_in_force is TimeInForce.FILL_OR_KILL:
        return b"4"
    return b"6" if expiration_ms else b"1"


class ExecReport:
    """One ExecutionReport as values (kept in drop-copy storage as a list)."""

    FIELDS = ("order_uuid", "cl_ord_id", "orig_cl_ord_id", "exec_id", "exec_type", "ord_status", "ticker", "is_bid",
              "price", "time_in_force", "expiration_ms", "post_only", "leaves", "cum", "avg_px", "last_qty", "last_px",
              "transact_ms", "text", "ord_rej_reason", "fee", "trade_uuid", "aggressor", "position", "group_uuid",
              "alloc_account")  # new fields go last, with a default: drop-copy storage keeps older rows as lists
    __slots__ = FIELDS

    def __init__(self, order_uuid: str, cl_ord_id: str, orig_cl_ord_id: str, exec_id: str, exec_type: str, ord_status: str,
                 ticker: str, is_bid: bool, price: int, time_in_force: str, expiration_ms: int, post_only: bool,
                 leaves: int, cum: int, avg_px: int, last_qty: int = 0, last_px: int = 0, transact_ms: int = 0,
                 text: str = "", ord_rej_reason: int = -1, fee: int = -1, trade_uuid: str = "", aggressor: int = -1,
                 position: int | None = None, group_uuid: str = "", alloc_account: int = 0) -> None:
        self.order_uuid = order_uuid
        self.cl_ord_id = cl_ord_id
        self.orig_cl_ord_id = orig_cl_ord_id
        self.exec_id = exec_id
        self.exec_type = exec_type
        self.ord_status = ord_status
        self.ticker = ticker
        self.is_bid = is_bid
        self.price = price
        self.time_in_force = time_in_force
        self.expiration_ms = expiration_ms
        self.post_only = post_only
        self.leaves = leaves
        self.cum = cum
        self.avg_px = avg_px
        self.last_qty = last_qty
        self.last_px = last_px
        self.transact_ms = transact_ms
        self.text = text
        self.ord_rej_reason = ord_rej_reason
        self.fee = fee
        self.trade_uuid = trade_uuid
        self.aggressor = aggressor
        self.position = position
        self.group_uuid = group_uuid
        self.alloc_account = alloc_account  # the member's subaccount holding the order (0: the primary account)

    def values(self) -> list[Any]:
        return [getattr(self, name) for name in self.FIELDS]

    @classmethod
    def from_values(cls, values: list[Any]) -> ExecReport:
        return cls(*values)


def render(report: ExecReport, dollars: bool) -> bytes:
    """The body of an ExecutionReport (after the header)."""
    price = format_price_fix_dollars if dollars else format_price_fix_cents
    qty = format_count_fix
    parts = [
        b"37=", report.order_uuid.encode(), b"\x0111=", report.cl_ord_id.encode("utf-8"), b"\x01",
    ]
    if report.orig_cl_ord_id:
        parts += [b"41=", report.orig_cl_ord_id.encode("utf-8"), b"\x01"]
    parts += [
        b"17=", report.exec_id.encode(), b"\x01150=", report.exec_type.encode(), b"\x0139=", report.ord_status.encode(),
        b"\x0155=", report.ticker.encode("utf-8"), b"\x0154=", b"1" if report.is_bid else b"2",
        b"\x0138=", qty(report.cum + report.leaves), b"\x0140=2\x0144=", price(report.price),
        b"\x0159=", report.time_in_force.encode(), b"\x01",
    ]
    if report.expiration_ms:
        parts += [b"126=", utc_timestamp(report.expiration_ms), b"\x01"]
    if report.post_only:
        parts.append(b"18=6\x01")
    parts += [
        b"151=", qty(report.leaves), b"\x0114=", qty(report.cum), b"\x016=", price(report.avg_px), b"\x01",
        b"60=", utc_timestamp(report.transact_ms), b"\x01",
    ]
    if report.last_qty:
        parts += [b"32=", qty(report.last_qty), b"\x0131=", price(report.last_px), b"\x01"]
    if report.ord_rej_reason >= 0:
        parts += [b"103=%d\x01" % report.ord_rej_reason]
    if report.text:
        parts += [b"58=", report.text.replace("\x01", " ")[:500].encode("utf-8"), b"\x01"]
    if report.group_uuid:
        parts += [b"526=", report.group_uuid.encode(), b"\x01"]
    if report.alloc_account:
        parts.append(b"79=%d\x01" % report.alloc_account)
    if report.trade_uuid:
        parts += [b"880=", report.trade_uuid.encode(), b"\x01"]
    if report.aggressor >= 0:
        parts.append(b"1057=Y\x01" if report.aggressor else b"1057=N\x01")
    if report.fee >= 0:
        parts += [b"136=1\x01137=", format_money_fix(report.fee), b"\x01138=USD\x01139=4\x01891=0\x01"]
    if report.position is not None:
        parts += [b"704=", qty(max(report.position, 0)), b"\x01705=", qty(max(-report.position, 0)), b"\x01"]
    return b"".join(parts)


REPORT_TYPE = t.EXECUTION_REPORT
