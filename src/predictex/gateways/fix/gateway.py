"""The FIX application layer: who is logged on, what their orders look like, and how committed
events become ExecutionReports, market data and security status on the right sessions.

Everything an order does reaches FIX through the fan-out bus, whatever surface placed it: the
gateway keeps the open orders of every account that has an order-entry or drop-copy session (loaded
from the read model at logon, then kept by the events), so a REST cancel or a fill against a REST
order produces the same ExecutionReport as one placed over FIX. Commands sent from FIX are
remembered until their batch commits, so a refusal is answered on the session that asked, in the
form that request needs (a rejected ExecutionReport, an OrderCancelReject, a mass-cancel report).

A retransmitting order-entry session (KalshiRT) whose connection has gone goes on getting its
ExecutionReports, numbered and stored but not sent, until its key logs on again or 24 hours pass
(Kalshi's default MessageRetentionPeriod): the next logon's sequence number shows the gap and the
peer's ResendRequest brings them, as PossDupFlag=Y. A session that logged on with
SkipPendingExecReports=Y keeps nothing. This lasts for the life of the process: reports of what
happens after a restart, before the key logs on again, are not kept.

Every session watches the key it logged on with (accounts/revocation.py): deleting the key or
suspending its member logs the session out with the reason and closes it at once, and a
connection-less retransmitting session of that key stops keeping reports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from predictex.accounts import AuthFailure
from predictex.core import commands as c
from predictex.core import events as ev
from predictex.core.orders import CloseReason, OrderStatus
from predictex.core.units import notional_microdollars
from predictex.gateways.fix import tags as t
from predictex.gateways.fix.errors import CLOSE_TEXT
from predictex.gateways.fix.kinds import REQUIRED_SCOPE, RETRANSMITTING, TARGET_COMP_IDS, Kind
from predictex.gateways.fix.market_data import MarketData
from predictex.gateways.fix.peer import Peer, Principal
from predictex.gateways.fix.reports import (
    CANCELED,
    EXPIRED,
    FILLED,
    NEW,
    PARTIAL,
    REPLACED,
    TRADE,
    ExecReport,
    TrackedOrder,
    exec_id,
    tif_code,
)
from predictex.gateways.fix.rfq_reports import quote_changed, rfq_changed
from predictex.gateways.fix.session import LogonGrant, LogonRequest, MemorySeqStore
from predictex.gateways.fix.store import StoreWriter
from predictex.journal.base import TableWrite
from predictex.server import ids, sources
from predictex.server.sequencer import Entry, SequencerBusy, SequencerStopped

if TYPE_CHECKING:
    from predictex.server.context import Exchange

log = logging.getLogger("predictex.fix")

EXECUTION_COLUMNS = ("account_id", "exec_seq", "exec_index", "time_ms", "data")
OFFLINE_RETENTION_MS = 24 * 3600 * 1000  # Kalshi's default MessageRetentionPeriod (20200): 24 hours


class Answer(Protocol):
    """What to say on the session that sent a command, once its batch commits."""

    def refused(self, gateway: FixGateway, entry: Entry) -> None: ...

    def accepted(self, gateway: FixGateway, entry: Entry) -> None: ...

    def failed(self, gateway: FixGateway, text: str) -> None: ...


class AccountOrders:
    """The open orders of one account, by engine id and by the client's current ClOrdID."""

    __slots__ = ("by_cl_ord_id", "orders", "users")

    def __init__(self) -> None:
        self.orders: dict[int, TrackedOrder] = {}
        self.by_cl_ord_id: dict[str, int] = {}
        self.users = 0

    def add(self, order: TrackedOrder) -> None:
        self.orders[order.order_id] = order
        if order.cl_ord_id:
            self.by_cl_ord_id[order.cl_ord_id] = order.order_id

    def pop(self, order_id: int) -> TrackedOrder | None:
        order = self.orders.pop(order_id, None)
        if order is not None and self.by_cl_ord_id.get(order.cl_ord_id) == order_id:
            del self.by_cl_ord_id[order.cl_ord_id]
        return order

    def rename(self, order: TrackedOrder, cl_ord_id: str) -> None:
        if self.by_cl_ord_id.get(order.cl_ord_id) == order.order_id:
            del self.by_cl_ord_id[order.cl_ord_id]
        order.cl_ord_id = cl_ord_id
        if cl_ord_id:
            self.by_cl_ord_id[cl_ord_id] = order.order_id


class FixGateway:
    def __init__(self, exchange: Exchange, writer: StoreWriter) -> None:
        self.exchange = exchange
        self.writer = writer
        self.sessions: dict[str, Peer] = {}  # by API key: one session per key
        self.order_sessions: dict[int, list[Peer]] = {}  # by account
        # retransmitting sessions whose connection has gone, by account: their ExecutionReports are
        # numbered and stored until the key logs on again (or OFFLINE_RETENTION_MS passes)
        self.offline_sessions: dict[int, list[tuple[Peer, int]]] = {}
        self.drop_copy_sessions: dict[int, list[Peer]] = {}
        self.rfq_sessions: dict[int, list[Peer]] = {}  # by member (primary account): Kalshi's RFQ sessions
        self.tracked: dict[int, AccountOrders] = {}
        self.drop_copy_accounts: set[int] = {int(row[0]) for row in exchange.store.query("SELECT account_id FROM fix_drop_copy_accounts")}
        self.pending: dict[int, tuple[c.Command, Answer]] = {}
        self.touched: list[Peer] = []  # connections with bytes queued in this turn of the loop
        self.market_data = MarketData(exchange)
        for account in self.drop_copy_accounts:
            self._track(account)
        self._unsubscribe = exchange.bus.subscribe(self.committed)

    def close(self) -> None:
        self._unsubscribe()

    # --- logon and logout --------------------------------------------------------------------------

    def authenticate(self, kind: Kind, request: LogonRequest) -> LogonGrant | str:
        verified = self.exchange.accounts.verifier.verify_with_key(
            request.key_id, request.signed_bytes, request.signature, timestamp_ms=request.sending_time_ms,
            required_scope=REQUIRED_SCOPE[kind],
        )
        if isinstance(verified, AuthFailure):
            return f"{verified.reason.value}: {verified.message}"
        if request.key_id in self.sessions:
            return "already exists: this API key has a FIX session"
        principal = Principal(verified.member, request.key_id, verified)
        principal.source = sources.source_json(
            "sim" if verified.member.simulated else "fix", member=verified.member.member_id, key=request.key_id,
            fix_session=f"{request.key_id}->{TARGET_COMP_IDS[kind]}",
        )
        if kind in RETRANSMITTING:
            return LogonGrant(principal, self.writer.seq_store(f"{TARGET_COMP_IDS[kind]}:{request.key_id}"))
        return LogonGrant(principal, MemorySeqStore())

    def logged_on(self, connection: Peer) -> None:
        principal = connection.principal
        assert principal is not None
        if principal.authenticated is not None:
            connection.watch = self.exchange.accounts.watch(
                principal.authenticated, lambda revocation: self._revoked(connection, revocation.reason))
        self.sessions[principal.key_id] = connection
        account = principal.account_id
        if connection.kind in (Kind.ORDER_ENTRY, Kind.ORDER_ENTRY_RT):
            self._forget_offline(account, lambda old, _: old.principal is not None and old.principal.key_id == principal.key_id)
            self.order_sessions.setdefault(account, []).append(connection)
            self._track(account)
        elif connection.kind is Kind.RFQ:
            self.rfq_sessions.setdefault(account, []).append(connection)
        elif connection.kind is Kind.DROP_COPY:
            self.drop_copy_sessions.setdefault(account, []).append(connection)
            if account not in self.drop_copy_accounts:
                self.drop_copy_accounts.add(account)
                self._track(account)
                self.writer.put_rows(TableWrite("fix_drop_copy_accounts", ("account_id", "logon_ms"),
                                                [(account, connection.now_ms())], key=("account_id",)))
                self.writer.durable().add_done_callback(_ignore)

    def _revoked(self, connection: Peer, reason: str) -> None:
        """The session's key or member was revoked: it ends now (or, already disconnected, stops
        keeping reports for a logon that can never come)."""
        principal = connection.principal
        if connection.transport is not None and not connection.transport.is_closing():
            connection.revoked(reason)
        if principal is not None:
            self._forget_offline(principal.account_id, lambda old, _: old is connection)

    def disconnected(self, connection: Peer) -> None:
        principal = connection.principal
        if principal is None or self.sessions.get(principal.key_id) is not connection:
            if connection.watch is not None:
                connection.watch.cancel()
            return
        del self.sessions[principal.key_id]
        account = principal.account_id
        self.market_data.drop(connection)
        for table in (self.order_sessions, self.drop_copy_sessions, self.rfq_sessions):
            found = table.get(account)
            if found and connection in found:
                found.remove(connection)
                if not found:
                    del table[account]
                if table is self.order_sessions:
                    if self._keeps_reports_offline(connection):  # its watch stays: a revocation forgets it
                        self.offline_sessions.setdefault(account, []).append((connection, connection.now_ms()))
                    else:
                        self._untrack(account)
        if connection.watch is not None and not any(old is connection for old, _ in self.offline_sessions.get(account, ())):
            connection.watch.cancel()
        if connection.flags.get(t.CANCEL_ORDERS_ON_DISCONNECT) and connection.placed:
            self._cancel_on_disconnect(account, sorted(connection.placed),
                                       connection.principal.source if connection.principal is not None else sources.source_json("fix"))

    def _cancel_on_disconnect(self, account: int, order_ids: list[int], source: bytes) -> None:
        try:
            orders = self.exchange.live.orders
            future = self.exchange.sequencer.submit_many([
                c.CancelOrder(orders[order_id].account_id if order_id in orders else account, order_id) for order_id in order_ids],
                source)
        except (SequencerBusy, SequencerStopped) as error:
            log.error("could not cancel %d orders of account %d on disconnect: %s", len(order_ids), account, error)
            return
        future.add_done_callback(_ignore)

    @staticmethod
    def _keeps_reports_offline(connection: Peer) -> bool:
        """A retransmitting order-entry session that did not ask to skip pending reports (a listener
        session must) gets the reports of its connection-less time by resend, unless its key is
        revoked (it can never log on again)."""
        revoked = connection.watch is not None and connection.watch.revoked is not None
        return connection.kind is Kind.ORDER_ENTRY_RT and not connection.flags.get(t.SKIP_PENDING_EXEC_REPORTS) and not revoked

    def _keep_offline(self, account: int, report: ExecReport, time_ms: int) -> bool:
        """Number and store the report for the account's connection-less retransmitting sessions,
        forgetting those gone for longer than OFFLINE_RETENTION_MS."""
        self._forget_offline(account, lambda _, since_ms: time_ms - since_ms > OFFLINE_RETENTION_MS)
        kept = False
        for connection, _ in self.offline_sessions.get(account, ()):
            kept |= connection.keep_report(report)
        return kept

    def _forget_offline(self, account: int, which: Callable[[Peer, int], bool]) -> None:
        kept = self.offline_sessions.get(account)
        if not kept:
            return
        remaining = []
        for connection, since_ms in kept:
            if which(connection, since_ms):
                self._untrack(account)
                if connection.watch is not None:
                    connection.watch.cancel()
            else:
                remaining.append((connection, since_ms))
        if remaining:
            self.offline_sessions[account] = remaining
        else:
            del self.offline_sessions[account]

    def _member(self, account_id: int) -> int:
        """The primary account of the member an engine account belongs to: sessions, tracked orders
        and drop copies are the member's, and cover every one of its subaccounts."""
        found = self.exchange.live.subaccount_of.get(account_id)
        return account_id if found is None else found[0]

    def _track(self, account: int) -> None:
        book = self.tracked.get(account)
        if book is None:
            book = self.tracked[account] = AccountOrders()
            live = self.exchange.live
            for held_by in live.member_accounts(account).values():
                for view in live.orders_by_account.get(held_by, {}).values():
                    book.add(TrackedOrder.from_view(view))
        book.users += 1

    def _untrack(self, account: int) -> None:
        book = self.tracked.get(account)
        if book is not None:
            book.users -= 1
            if book.users <= 0:
                del self.tracked[account]

    # --- commands from FIX -----------------------------------------------------------------------

    def submit(self, command: c.Command, answer: Answer, connection: Peer) -> None:
        principal = connection.principal
        try:
            future = self.exchange.sequencer.submit(command, principal.source if principal is not None else sources.source_json("fix"))
        except SequencerBusy:
            answer.failed(self, "EXCHANGE_UNAVAILABLE: the exchange is busy; try again")
            return
        except SequencerStopped:
            answer.failed(self, "EXCHANGE_UNAVAILABLE: the exchange is not taking orders")
            return
        key = id(command)
        self.pending[key] = (command, answer)

        def settled(done: Any) -> None:
            if done.cancelled() or done.exception() is not None:
                item = self.pending.pop(key, None)
                if item is not None:
                    item[1].failed(self, "EXCHANGE_UNAVAILABLE: the exchange could not take the command")

        future.add_done_callback(settled)

    # --- committed events -------------------------------------------------------------------------

    def committed(self, entries: Sequence[Entry]) -> None:
        pending = self.pending
        tracked = self.tracked
        market_data = self.market_data
        stored = False
        for entry in entries:
            item = pending.pop(id(entry.command), None) if pending else None
            if entry.outcome.reject is not None:
                if item is not None:
                    item[1].refused(self, entry)
                continue
            if tracked or market_data.active or self.rfq_sessions:
                stored |= self._events(entry, item[1] if item is not None else None)
            if item is not None:
                item[1].accepted(self, entry)
        if stored:
            self.writer.durable().add_done_callback(_ignore)
        self.flush()

    def flush(self) -> None:
        """Write what every connection queued (one write per connection per batch)."""
        touched = self.touched
        if touched:
            self.touched = []
            for connection in touched:
                connection.flush()

    def _events(self, entry: Entry, answer: Answer | None) -> bool:
        stored = False
        handlers = _HANDLERS
        for index, event in enumerate(entry.outcome.events):
            handler = handlers.get(type(event))
            if handler is not None:
                stored |= handler(self, event, entry, index, answer)
        return stored

    def _on_accepted(self, event: ev.OrderAccepted, entry: Entry, index: int, answer: Answer | None) -> bool:
        book = self.tracked.get(self._member(event.account_id))
        if book is None:
            return False
        order = TrackedOrder.accepted(event)
        book.add(order)
        placed = getattr(answer, "placed", None)
        if placed is not None:
            placed(order.order_id)
        return self._report(order, NEW, NEW, entry, index)

    def _on_trade(self, event: ev.Trade, entry: Entry, index: int, answer: Answer | None) -> bool:
        stored = False
        tracked = self.tracked
        for order_id, account, is_taker in ((event.taker_order_id, event.taker_account_id, True),
                                            (event.maker_order_id, event.maker_account_id, False)):
            book = tracked.get(self._member(account))
            order = book.orders.get(order_id) if book is not None else None
            if order is not None:
                stored |= self._fill(order, event, is_taker, entry, index)
        if self.market_data.active:
            self.market_data.trade(event, entry.time_ms)
        return stored

    def _on_book(self, event: ev.BookChanged, entry: Entry, index: int, answer: Answer | None) -> bool:
        if self.market_data.active:
            self.market_data.book_changed(event, entry.time_ms)
        return False

    def _on_closed(self, event: ev.OrderClosed, entry: Entry, index: int, answer: Answer | None) -> bool:
        book = self.tracked.get(self._member(event.account_id))
        order = book.pop(event.order_id) if book is not None else None
        return order is not None and self._closed(order, event, entry, index, answer)

    def _on_amended(self, event: ev.OrderAmended, entry: Entry, index: int, answer: Answer | None) -> bool:
        book = self.tracked.get(self._member(event.account_id))
        order = book.orders.get(event.order_id) if book is not None else None
        return order is not None and book is not None and self._amended(book, order, event, entry, index)

    def _on_status(self, event: ev.MarketStatusChanged, entry: Entry, index: int, answer: Answer | None) -> bool:
        if self.market_data.active:
            self.market_data.status_changed(event, entry.time_ms)
        return False

    def _on_rfq(self, event: ev.RfqChanged, entry: Entry, index: int, answer: Answer | None) -> bool:
        if self.rfq_sessions:
            rfq_changed(self.rfq_sessions, self.exchange.ids, self._member, self.touched, event, answer)
        return False

    def _on_quote(self, event: ev.QuoteChanged, entry: Entry, index: int, answer: Answer | None) -> bool:
        if self.rfq_sessions:
            quote_changed(self.rfq_sessions, self.exchange.ids, self._member, self.touched, event, entry.time_ms, answer)
        return False

    def _fill(self, order: TrackedOrder, trade: ev.Trade, is_taker: bool, entry: Entry, index: int) -> bool:
        count = trade.count_centicontracts
        order.filled += count
        order.leaves -= count
        order.fill_cost_yes += notional_microdollars(trade.price_centicents, count)
        fee = trade.fee_paid_microdollars(is_taker)
        position = trade.taker_position_centicontracts if is_taker else trade.maker_position_centicontracts
        status = FILLED if order.leaves <= 0 else PARTIAL
        report = self._base(order, TRADE, status, entry, index)
        report.last_qty = count
        report.last_px = trade.price_centicents
        report.fee = max(fee, 0)
        report.trade_uuid = self.exchange.ids.to_uuid(ids.TRADE, trade.trade_id)
        report.aggressor = 1 if is_taker else 0
        report.position = position
        return self._send(order.account_id, report, entry, index)

    def _closed(self, order: TrackedOrder, closed: ev.OrderClosed, entry: Entry, index: int, answer: Answer | None) -> bool:
        if closed.status is not OrderStatus.CANCELED:
            return False
        order.leaves = 0
        status = CANCELED
        connections = self.order_sessions.get(self._member(order.account_id), ())
        if closed.reason is CloseReason.EXPIRED and any(conn.flags.get(t.USE_EXPIRED_ORD_STATUS) for conn in connections):
            status = EXPIRED
        report = self._base(order, status, status, entry, index)
        report.text = CLOSE_TEXT[closed.reason]
        ids_for = getattr(answer, "cancel_ids", None)
        if ids_for is not None:
            found = ids_for(order.order_id)
            if found is not None:
                report.cl_ord_id, report.orig_cl_ord_id = found
        return self._send(order.account_id, report, entry, index)

    def _amended(self, book: AccountOrders, order: TrackedOrder, amended: ev.OrderAmended, entry: Entry, index: int) -> bool:
        previous = order.cl_ord_id
        order.price = amended.price_centicents
        order.leaves = amended.remaining_centicontracts
        order.expiration_ms = amended.expiration_ms
        if amended.client_order_id != previous:
            book.rename(order, amended.client_order_id)
        report = self._base(order, REPLACED, order.status, entry, index)
        report.orig_cl_ord_id = previous
        return self._send(order.account_id, report, entry, index)

    def _base(self, order: TrackedOrder, exec_type: bytes, status: bytes, entry: Entry, index: int) -> ExecReport:
        group = self.exchange.ids.to_uuid(ids.ORDER_GROUP, order.group_id) if order.group_id else ""
        return ExecReport(
            self.exchange.ids.to_uuid(ids.ORDER, order.order_id), order.cl_ord_id, "", exec_id(entry.seq, index).decode(),
            exec_type.decode(), status.decode(), order.ticker, order.is_bid, order.price,
            tif_code(order.time_in_force, order.expiration_ms).decode(), order.expiration_ms, order.post_only,
            max(order.leaves, 0), order.filled, order.avg_px, transact_ms=entry.time_ms, group_uuid=group,
            alloc_account=self.exchange.live.subaccount_number(order.account_id),
        )

    def _report(self, order: TrackedOrder, exec_type: bytes, status: bytes, entry: Entry, index: int) -> bool:
        return self._send(order.account_id, self._base(order, exec_type, status, entry, index), entry, index)

    def _send(self, account: int, report: ExecReport, entry: Entry, index: int) -> bool:
        account = self._member(account)
        for connection in self.order_sessions.get(account, ()):
            connection.send_report(report)
        stored = account in self.offline_sessions and self._keep_offline(account, report, entry.time_ms)
        for connection in self.drop_copy_sessions.get(account, ()):
            connection.send_report(report)
        if account in self.drop_copy_accounts:
            self.writer.put_rows(TableWrite("fix_executions", EXECUTION_COLUMNS,
                                            [(account, entry.seq, index, entry.time_ms, orjson.dumps(report.values()).decode())],
                                            key=("account_id", "exec_seq", "exec_index")))
            return True
        return stored


_HANDLERS: dict[type, Callable[[FixGateway, Any, Entry, int, Answer | None], bool]] = {
    ev.OrderAccepted: FixGateway._on_accepted, ev.Trade: FixGateway._on_trade, ev.BookChanged: FixGateway._on_book,
    ev.OrderClosed: FixGateway._on_closed, ev.OrderAmended: FixGateway._on_amended,
    ev.MarketStatusChanged: FixGateway._on_status, ev.RfqChanged: FixGateway._on_rfq, ev.QuoteChanged: FixGateway._on_quote,
}


def _ignore(future: Any) -> None:
    if not future.cancelled():
        future.exception()
