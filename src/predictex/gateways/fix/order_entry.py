"""Order entry on FIX: NewOrderSingle (D), OrderCancelRequest (F), OrderCancelReplaceRequest (G),
OrderMassCancelRequest (q -> r) and Kalshi's OrderGroupRequest (UOG -> UOH). Each request becomes one
engine command; its answer on this session (beyond the ExecutionReports every order-entry session
of the account gets) is decided here: a rejected ExecutionReport, an OrderCancelReject (9), a
mass-cancel report, an order-group response, or a BusinessMessageReject (j)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from predictex.accounts import Lane
from predictex.core import commands as c
from predictex.gateways.fix import errors
from predictex.gateways.fix import requests as r
from predictex.gateways.fix import tags as t
from predictex.gateways.fix.peer import Peer
from predictex.gateways.fix.reports import REJECTED, ExecReport, exec_id
from predictex.gateways.fix.session import Message
from predictex.server import ids
from predictex.server.sequencer import Entry

if TYPE_CHECKING:
    from predictex.gateways.fix.gateway import FixGateway


def business_reject(connection: Peer, message: Message, reason: int, text: str, ref_id: str = "") -> None:
    body = b"45=%d\x01372=%s\x01" % (message.seq, message.msg_type)
    if ref_id:
        body += b"379=" + ref_id.encode("utf-8") + b"\x01"
    body += b"380=%d\x0158=" % reason + text.replace("\x01", " ")[:500].encode("utf-8") + b"\x01"
    connection.send(t.BUSINESS_MESSAGE_REJECT, body)


def _rate_limited(gateway: FixGateway, connection: Peer) -> bool:
    exchange = gateway.exchange
    if not exchange.config.rate_limits:
        return False
    assert connection.principal is not None
    return not exchange.accounts.rate_limit(connection.principal.member, Lane.WRITE).allowed


def handle(gateway: FixGateway, connection: Peer, message: Message, now_ms: int) -> None:
    if connection.flags.get(t.LISTENER_SESSION):
        business_reject(connection, message, 6, "a listener session cannot send orders")
        return
    msg_type = message.msg_type
    if msg_type == t.NEW_ORDER_SINGLE:
        _new_order(gateway, connection, message, now_ms)
    elif msg_type in (t.ORDER_CANCEL_REQUEST, t.ORDER_CANCEL_REPLACE_REQUEST):
        _cancel_or_replace(gateway, connection, message)
    elif msg_type == t.ORDER_MASS_CANCEL_REQUEST:
        _mass_cancel(gateway, connection, message)
    elif msg_type == t.ORDER_GROUP_REQUEST:
        _order_group(gateway, connection, message)


# --- NewOrderSingle --------------------------------------------------------------------------------

class NewOrderAnswer:
    def __init__(self, connection: Peer, message: Message) -> None:
        self.connection = connection
        self.message = message

    def placed(self, order_id: int) -> None:
        self.connection.placed.add(order_id)

    def refused(self, gateway: FixGateway, entry: Entry) -> None:
        reject = entry.outcome.reject
        assert reject is not None
        self._reject(errors.ord_rej_reason(reject), errors.reject_text(reject, gateway.exchange.ids), exec_id(entry.seq, 0).decode(),
                     entry.time_ms)

    def accepted(self, gateway: FixGateway, entry: Entry) -> None:
        pass

    def failed(self, gateway: FixGateway, text: str) -> None:
        self._reject(99, text, "-1;-1", self.connection.now_ms())

    def _reject(self, reason: int, text: str, execution: str, time_ms: int) -> None:
        message = self.message
        use_dollars = self.connection.use_dollars
        price = 0
        with contextlib.suppress(r.RequestError):
            price = r.price(message, use_dollars)
        report = ExecReport(
            "NONE", message.text(t.CL_ORD_ID)[:64] or "NONE", "", execution, REJECTED.decode(), REJECTED.decode(),
            message.text(t.SYMBOL)[:100], message.get(t.SIDE) != b"2", price, (message.text(t.TIME_IN_FORCE) or "0")[:1], 0,
            False, 0, 0, 0, transact_ms=time_ms, text=text, ord_rej_reason=reason,
        )
        self.connection.send_report(report)


def _new_order(gateway: FixGateway, connection: Peer, message: Message, now_ms: int) -> None:
    answer = NewOrderAnswer(connection, message)
    principal = connection.principal
    assert principal is not None
    if _rate_limited(gateway, connection):
        answer.failed(gateway, "RATE_LIMIT_EXCEEDED: too many requests")
        return
    try:
        account = subaccount_account(gateway, principal.account_id, r.alloc_account(message))
        command = r.new_order(message, account, connection.use_dollars, gateway.exchange.ids, now_ms)
    except r.RequestError as error:
        answer._reject(error.reason, error.text, "-1;-1", now_ms)
        return
    gateway.submit(command, answer, connection)


# --- cancel and replace ----------------------------------------------------------------------------

class CancelAnswer:
    def __init__(self, connection: Peer, message: Message, order_id: int, orig_cl_ord_id: str) -> None:
        self.connection = connection
        self.message = message
        self.order_id = order_id
        self.orig_cl_ord_id = orig_cl_ord_id

    def cancel_ids(self, order_id: int) -> tuple[str, str] | None:
        if order_id != self.order_id:
            return None
        return self.message.text(t.CL_ORD_ID), self.orig_cl_ord_id

    def refused(self, gateway: FixGateway, entry: Entry) -> None:
        reject = entry.outcome.reject
        assert reject is not None
        cancel_reject(self.connection, self.message, gateway.exchange.ids.to_uuid(ids.ORDER, self.order_id),
                      errors.cxl_rej_reason(reject), errors.reject_text(reject, gateway.exchange.ids))

    def accepted(self, gateway: FixGateway, entry: Entry) -> None:
        pass

    def failed(self, gateway: FixGateway, text: str) -> None:
        cancel_reject(self.connection, self.message, gateway.exchange.ids.to_uuid(ids.ORDER, self.order_id), 99, text)


def cancel_reject(connection: Peer, message: Message, order_uuid: str, reason: int, text: str) -> None:
    response_to = b"2" if message.msg_type == t.ORDER_CANCEL_REPLACE_REQUEST else b"1"
    body = (b"37=" + order_uuid.encode() + b"\x0111=" + (message.get(t.CL_ORD_ID) or b"NONE")[:64]
            + b"\x0141=" + (message.get(t.ORIG_CL_ORD_ID) or b"NONE")[:64] + b"\x0139=8\x01434=" + response_to
            + b"\x01102=%d\x0158=" % reason + text.replace("\x01", " ")[:500].encode("utf-8") + b"\x01")
    connection.send(t.ORDER_CANCEL_REJECT, body)


def _echo_alloc_account(message: Message) -> bytes:
    """AllocAccount (79) back on the answer, when the request named a subaccount (none when it named
    no valid one: the answer says so)."""
    try:
        number = r.alloc_account(message)
    except r.RequestError:
        return b""
    return b"79=%d\x01" % number if number else b""


def subaccount_account(gateway: FixGateway, primary: int, number: int) -> int:
    """The engine account of the member's subaccount `number` (0: the primary account)."""
    if number == 0:
        return primary
    found = gateway.exchange.live.subaccounts.get(primary, {}).get(number)
    if found is None:
        raise r.RequestError(15, f"AllocAccount (79): there is no subaccount {number}")
    return found


def _find_order(gateway: FixGateway, connection: Peer, message: Message) -> tuple[int, str, int] | r.RequestError:
    """(order id, its current ClOrdID, the account holding it) from OrderID (37) or OrigClOrdID (41),
    or why not (with its CxlRejReason)."""
    principal = connection.principal
    assert principal is not None
    book = gateway.tracked.get(principal.account_id)
    orig = message.text(t.ORIG_CL_ORD_ID)
    order_text = message.text(t.ORDER_ID)
    order_id: int | None = None
    if order_text:
        order_id = gateway.exchange.ids.from_uuid(ids.ORDER, order_text)
    elif orig and book is not None:
        order_id = book.by_cl_ord_id.get(orig)
    elif not orig:
        return r.RequestError(99, "OrigClOrdID (41) or OrderID (37) is required")
    order = book.orders.get(order_id) if book is not None and order_id is not None else None
    if order is None:
        return r.RequestError(1, "ORDER_NOT_FOUND: no open order with that id")
    if message.text(t.SYMBOL) != order.ticker:
        return r.RequestError(99, "INVALID_ORDER: Symbol (55) does not match the order")
    return order.order_id, order.cl_ord_id, order.account_id


def _cancel_or_replace(gateway: FixGateway, connection: Peer, message: Message) -> None:
    principal = connection.principal
    assert principal is not None
    cl_ord_id = message.text(t.CL_ORD_ID)
    if not cl_ord_id or len(cl_ord_id) > 64:
        cancel_reject(connection, message, "NONE", 99, "ClOrdID (11) must be 1 to 64 characters")
        return
    if _rate_limited(gateway, connection):
        cancel_reject(connection, message, "NONE", 99, "RATE_LIMIT_EXCEEDED: too many requests")
        return
    found = _find_order(gateway, connection, message)
    if isinstance(found, r.RequestError):
        cancel_reject(connection, message, message.text(t.ORDER_ID)[:64] or "NONE", found.reason, found.text)
        return
    order_id, current, account = found
    if message.msg_type == t.ORDER_CANCEL_REQUEST:
        command: c.Command = c.CancelOrder(account, order_id)
    else:
        try:
            command = r.replace(message, account, order_id, connection.use_dollars)
        except r.RequestError as error:
            cancel_reject(connection, message, gateway.exchange.ids.to_uuid(ids.ORDER, order_id), 99, error.text)
            return
    gateway.submit(command, CancelAnswer(connection, message, order_id, current), connection)


# --- mass cancel -----------------------------------------------------------------------------------

class MassCancelAnswer:
    def __init__(self, connection: Peer, message: Message) -> None:
        self.connection = connection
        self.message = message

    def refused(self, gateway: FixGateway, entry: Entry) -> None:
        reject = entry.outcome.reject
        assert reject is not None
        self.report(0, errors.reject_text(reject, gateway.exchange.ids))

    def accepted(self, gateway: FixGateway, entry: Entry) -> None:
        self.report(entry.outcome.value, "")

    def failed(self, gateway: FixGateway, text: str) -> None:
        self.report(0, text)

    def report(self, affected: int, text: str) -> None:
        request_type = self.message.get(t.MASS_CANCEL_REQUEST_TYPE) or b"7"
        response = b"0" if text else request_type
        body = (b"11=" + (self.message.get(t.CL_ORD_ID) or b"NONE")[:64] + b"\x0137=NONE\x01530=" + request_type
                + b"\x01531=" + response + b"\x01")
        if text:
            body += b"532=99\x0158=" + text.replace("\x01", " ")[:500].encode("utf-8") + b"\x01"
        else:
            body += b"533=%d\x01" % affected
        symbol = self.message.get(t.SYMBOL)
        if symbol:
            body += b"55=" + symbol + b"\x01"
        body += _echo_alloc_account(self.message)
        self.connection.send(t.ORDER_MASS_CANCEL_REPORT, body)


def _mass_cancel(gateway: FixGateway, connection: Peer, message: Message) -> None:
    principal = connection.principal
    assert principal is not None
    answer = MassCancelAnswer(connection, message)
    request_type = message.get(t.MASS_CANCEL_REQUEST_TYPE)
    if request_type not in (b"1", b"7"):
        answer.report(0, "MassCancelRequestType (530) must be 1 (one symbol) or 7 (all orders)")
        return
    ticker = message.text(t.SYMBOL)
    if request_type == b"1" and not ticker:
        answer.report(0, "MassCancelRequestType 1 needs Symbol (55)")
        return
    if _rate_limited(gateway, connection):
        answer.report(0, "RATE_LIMIT_EXCEEDED: too many requests")
        return
    try:  # AllocAccount (79): the subaccount whose orders are cancelled (absent: the primary account's)
        account = subaccount_account(gateway, principal.account_id, r.alloc_account(message))
    except r.RequestError as error:
        answer.report(0, error.text)
        return
    gateway.submit(c.CancelAllOrders(account, ticker if request_type == b"1" else ""), answer, connection)


# --- order groups ----------------------------------------------------------------------------------

class OrderGroupAnswer:
    def __init__(self, connection: Peer, message: Message, group_uuid: str) -> None:
        self.connection = connection
        self.message = message
        self.group_uuid = group_uuid

    def refused(self, gateway: FixGateway, entry: Entry) -> None:
        reject = entry.outcome.reject
        assert reject is not None
        business_reject(self.connection, self.message, errors.business_reject_reason(reject),
                        errors.reject_text(reject, gateway.exchange.ids), self.group_uuid)

    def accepted(self, gateway: FixGateway, entry: Entry) -> None:
        command = entry.command
        group = self.group_uuid
        if isinstance(command, c.CreateOrderGroup):
            group = gateway.exchange.ids.to_uuid(ids.ORDER_GROUP, entry.outcome.value)
        body = b"20130=" + group.encode() + b"\x0120131=" + (self.message.get(t.ORDER_GROUP_ACTION) or b"1") + b"\x01"
        limit = self.message.get(t.ORDER_GROUP_CONTRACTS_LIMIT)
        if limit is not None:
            body += b"20132=" + limit + b"\x01"
        cl_ord_id = self.message.get(t.CL_ORD_ID)
        if cl_ord_id is not None:
            body = b"11=" + cl_ord_id + b"\x01" + body
        self.connection.send(t.ORDER_GROUP_RESPONSE, body + _echo_alloc_account(self.message))

    def failed(self, gateway: FixGateway, text: str) -> None:
        business_reject(self.connection, self.message, 4, text, self.group_uuid)


def _order_group(gateway: FixGateway, connection: Peer, message: Message) -> None:
    principal = connection.principal
    assert principal is not None
    if _rate_limited(gateway, connection):
        business_reject(connection, message, 0, "RATE_LIMIT_EXCEEDED: too many requests")
        return
    try:  # AllocAccount (79): the subaccount the group belongs to (absent: the primary account)
        account = subaccount_account(gateway, principal.account_id, r.alloc_account(message))
        command = r.order_group(message, account, gateway.exchange.ids)
    except r.RequestError as error:
        business_reject(connection, message, 1 if error.reason == 1 else 5 if error.reason == 5 else 0, error.text)
        return
    gateway.submit(command, OrderGroupAnswer(connection, message, message.text(t.ORDER_GROUP_ID)), connection)
