"""Drop copy: every ExecutionReport of the member's orders, whatever surface placed them, live on the
drop-copy session and kept (from the member's first drop-copy logon on, for a retention period) so
that EventResendRequest (U1, BeginExecID..EndExecID) can send them again, followed by
EventResendComplete (U2) or refused with EventResendReject (U3) (reference §11.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from predictex.core.limits import FIX_RESEND_REPORTS_MAX
from predictex.gateways.fix import tags as t
from predictex.gateways.fix.peer import Peer
from predictex.gateways.fix.reports import ExecReport, parse_exec_id
from predictex.gateways.fix.session import Message

if TYPE_CHECKING:
    from predictex.gateways.fix.gateway import FixGateway



def _reject(connection: Peer, reason: int, text: str) -> None:
    connection.send(t.EVENT_RESEND_REJECT, b"21004=%d\x0158=" % reason + text.encode() + b"\x01")


def handle(gateway: FixGateway, connection: Peer, message: Message) -> None:
    """Answer once every execution stored so far is committed (the store writes behind)."""
    gateway.writer.durable().add_done_callback(lambda done: _resend(gateway, connection, message))


def _resend(gateway: FixGateway, connection: Peer, message: Message) -> None:
    principal = connection.principal
    assert principal is not None
    begin = parse_exec_id(message.text(t.BEGIN_EXEC_ID))
    end_text = message.text(t.END_EXEC_ID)
    end = parse_exec_id(end_text) if end_text else (1 << 62, 0)
    if begin is None or end is None:
        _reject(connection, 3 if begin is None else 4, "ExecIDs look like <seq>;<index>")
        return
    last_seq = gateway.exchange.sequencer.committed_seq
    if end[0] > last_seq and end_text:
        _reject(connection, 4, f"EndExecID is past the last execution (sequence {last_seq})")
        return
    store = gateway.exchange.store
    rows = store.query(
        "SELECT exec_seq, exec_index, data FROM fix_executions WHERE account_id = ? AND exec_seq >= ? AND exec_seq <= ? "
        "ORDER BY exec_seq, exec_index LIMIT ?",
        (principal.account_id, begin[0], min(end[0], 1 << 62), FIX_RESEND_REPORTS_MAX + 1),
    )
    rows = [row for row in rows if begin <= (int(row[0]), int(row[1])) <= end]
    if len(rows) > FIX_RESEND_REPORTS_MAX:
        _reject(connection, 1, f"more than {FIX_RESEND_REPORTS_MAX} executions in the range; ask for less")
        return
    for _, _, data in rows:
        connection.send_report(ExecReport.from_values(orjson.loads(data)))
    connection.send(t.EVENT_RESEND_COMPLETE, b"21003=%d\x01" % len(rows))
    connection.flush()
