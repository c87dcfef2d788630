"""QuickFIX, an independent FIX engine, as the initiator against predictex's acceptor, with its own
data dictionaries (FIX44, and FIXT11 + FIX50SP2) and validation on: a signed logon, orders and a
trade, a disconnect and a reconnect, the recovery of messages it missed through ResendRequest, and
Kalshi's RFQ session (a request, a maker's quote, the acceptance, the confirmation, the execution on
order entry and drop copy, and refusals).
QuickFIX answers anything its dictionary does not accept with a Reject; every test checks it sent
none.

Validation settings: the dictionaries are used (required fields, types, enumerations, groups);
`ValidateUserDefinedFields=N` and `AllowUnknownMsgFields=Y` because Kalshi's ExecutionReports carry
its own tags (LongQty/ShortQty on a fill, AggressorIndicator on FIX 4.4) that the stock dictionaries
do not list for that message."""

from __future__ import annotations

import importlib
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compat.quickfix_setup import dictionaries, quickfix
from integration.server_fixture import DEMO_TICKER, Credentials, Member, RunningServer, running_server
from predictex.gateways.fix import Kind
from predictex.server import ids

fix = quickfix()
fix44 = importlib.import_module("quickfix44")  # installed with quickfix above
fix50sp2 = importlib.import_module("quickfix50sp2")

WAIT_S = 15.0


class Counterparty(fix.Application):  # type: ignore[misc]
    """Signs the Logon (RawData over SendingTime, MsgType, MsgSeqNum, SenderCompID, TargetCompID)
    and records what arrives."""

    def __init__(self, member: Member) -> None:
        super().__init__()
        self.member = member
        self.logged_on = threading.Event()
        self.logged_out = threading.Event()
        self.app: queue.Queue[str] = queue.Queue()
        self.admin_in: list[str] = []
        self.rejects_sent: list[str] = []
        self.session: Any = None

    def onCreate(self, session_id: Any) -> None:
        self.session = session_id

    def onLogon(self, session_id: Any) -> None:
        self.logged_out.clear()
        self.logged_on.set()

    def onLogout(self, session_id: Any) -> None:
        self.logged_on.clear()
        self.logged_out.set()

    def toAdmin(self, message: Any, session_id: Any) -> None:
        header = message.getHeader()
        msg_type = header.getField(35)
        if msg_type == "A":
            signed = "\x01".join(header.getField(tag) for tag in (52, 35, 34, 49, 56))
            signature = self.member.credentials.sign(signed)
            message.setField(fix.RawDataLength(len(signature)))
            message.setField(fix.RawData(signature))
        elif msg_type == "3":
            self.rejects_sent.append(message.toString().replace("\x01", "|"))

    def fromAdmin(self, message: Any, session_id: Any) -> None:
        self.admin_in.append(message.toString().replace("\x01", "|"))

    def toApp(self, message: Any, session_id: Any) -> None:
        pass

    def fromApp(self, message: Any, session_id: Any) -> None:
        self.app.put(message.toString())

    def next_app(self, predicate: Any) -> dict[int, str]:
        deadline = time.monotonic() + WAIT_S
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no matching application message; rejects sent: {self.rejects_sent}"
            raw = self.app.get(timeout=left)
            fields: dict[int, str] = {}
            for part in raw.split("\x01")[:-1]:
                tag, _, value = part.partition("=")
                fields.setdefault(int(tag), value)
            if predicate(fields):
                return fields

    def wait_admin(self, predicate: Any) -> str:
        """The first admin message received that `predicate` accepts, waiting up to WAIT_S for it."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            found = next((admin for admin in list(self.admin_in) if predicate(admin)), None)
            if found is not None:
                return found
            time.sleep(0.01)
        raise AssertionError(f"no matching admin message among {self.admin_in}")


def settings_text(tmp: Path, port: int, member: Member, *, fixt: bool, target: str, reset: bool) -> str:
    share = dictionaries()
    lines = [
        "[DEFAULT]", "ConnectionType=initiator", "ReconnectInterval=1", f"FileStorePath={tmp / 'store'}",
        f"FileLogPath={tmp / 'log'}", "StartTime=00:00:00", "EndTime=00:00:00", "UseDataDictionary=Y",
        "ValidateUserDefinedFields=N", "AllowUnknownMsgFields=Y", "HeartBtInt=30", "SocketConnectHost=127.0.0.1",
        f"ResetOnLogon={'Y' if reset else 'N'}", "", "[SESSION]",
        f"SenderCompID={member.credentials.key_id}", f"TargetCompID={target}", f"SocketConnectPort={port}",
    ]
    if fixt:
        lines += ["BeginString=FIXT.1.1", "DefaultApplVerID=FIX.5.0SP2", f"TransportDataDictionary={share / 'FIXT11.xml'}",
                  f"AppDataDictionary={share / 'FIX50SP2.xml'}"]
    else:
        lines += ["BeginString=FIX.4.4", f"DataDictionary={share / 'FIX44.xml'}"]
    return "\n".join(lines) + "\n"


class Initiator:
    def __init__(self, tmp: Path, port: int, member: Member, *, fixt: bool = False, target: str = "KalshiNR",
                 reset: bool = True, application: Counterparty | None = None) -> None:
        path = tmp / "quickfix.cfg"
        path.write_text(settings_text(tmp, port, member, fixt=fixt, target=target, reset=reset))
        settings = fix.SessionSettings(str(path))
        self.application = application or Counterparty(member)
        self.initiator = fix.SocketInitiator(self.application, fix.FileStoreFactory(settings), settings,
                                             fix.FileLogFactory(settings))

    def __enter__(self) -> Counterparty:
        self.initiator.start()
        assert self.application.logged_on.wait(WAIT_S), f"QuickFIX did not log on: {self.application.admin_in}"
        return self.application

    def __exit__(self, *exc: object) -> None:
        self.initiator.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("quickfix"), fix_ports="nr=0,rt=0,dc=0,rfq=0", rate_limits=False) as running:
        yield running


def send(application: Counterparty, message: Any) -> None:
    assert fix.Session.sendToTarget(message, application.session)


def fix44_order(cl_ord_id: str, side: str, price_cents: int, contracts: int) -> Any:
    message = fix44.NewOrderSingle()
    for field in (fix.ClOrdID(cl_ord_id), fix.Side(side), fix.TransactTime(), fix.OrdType(fix.OrdType_LIMIT)):
        message.setField(field)
    message.setField(fix.Symbol(DEMO_TICKER))
    message.setField(fix.OrderQty(contracts))
    message.setField(fix.Price(price_cents))
    message.setField(fix.TimeInForce(fix.TimeInForce_GOOD_TILL_CANCEL))
    return message


def test_quickfix_fix44_trades_reconnects_and_recovers_missed_messages_by_resend(server: RunningServer, tmp_path: Path) -> None:
    member = server.new_member(f"quickfix44-{time.time_ns()}@example.com")
    port = server.app.fix.port(Kind.ORDER_ENTRY_RT)
    with Initiator(tmp_path, port, member, target="KalshiRT", reset=True) as application:
        send(application, fix44_order("qf-1", fix.Side_BUY, 30, 2))
        new = application.next_app(lambda m: m.get(11) == "qf-1")
        assert (new[35], new[150], new[39], new[151]) == ("8", "0", "0", "2.00")
        send(application, fix44_order("qf-2", fix.Side_BUY, 52, 3))  # crosses the demo asks at 0.51
        fill = application.next_app(lambda m: m.get(11) == "qf-2" and m.get(150) == "F")
        assert (fill[39], fill[32], fill[31], fill[14], fill[138]) == ("2", "3.00", "51", "3.00", "USD")
        assert application.rejects_sent == []
    # QuickFIX forgets the last messages it received (as if they were lost on the way), then reconnects
    # without resetting: predictex's Logon shows a higher sequence number, QuickFIX asks for a resend
    seqnums = next((tmp_path / "store").glob("*.seqnums"))
    sender_seq, _ = (int(part) for part in seqnums.read_text().split(":"))
    seqnums.write_text(f"{sender_seq:010d} : {2:010d}")
    recovered = Counterparty(member)
    with Initiator(tmp_path, port, member, target="KalshiRT", reset=False, application=recovered):
        again = recovered.next_app(lambda m: m.get(11) == "qf-2" and m.get(150) == "F")
        assert again[43] == "Y" and 122 in again  # PossDupFlag and OrigSendingTime
        recovered.wait_admin(lambda admin: "|35=4|" in admin and "|123=Y|" in admin)  # admin messages gap-filled
        send(recovered, fix44_order("qf-3", fix.Side_BUY, 31, 1))
        assert recovered.next_app(lambda m: m.get(11) == "qf-3")[150] == "0"
        assert recovered.rejects_sent == []


def test_quickfix_fixt11_fix50sp2_orders_and_cancels(server: RunningServer, tmp_path: Path) -> None:
    member = server.new_member(f"quickfix50-{time.time_ns()}@example.com")
    with Initiator(tmp_path, server.app.fix.port(Kind.ORDER_ENTRY), member, fixt=True) as application:
        order = fix50sp2.NewOrderSingle()
        for field in (fix.ClOrdID("sp2-1"), fix.Side(fix.Side_SELL), fix.TransactTime(), fix.OrdType(fix.OrdType_LIMIT)):
            order.setField(field)
        order.setField(fix.Symbol(DEMO_TICKER))
        order.setField(fix.OrderQty(4))
        order.setField(fix.Price(80))
        order.setField(fix.TimeInForce(fix.TimeInForce_GOOD_TILL_CANCEL))
        send(application, order)
        new = application.next_app(lambda m: m.get(11) == "sp2-1")
        assert (new[8], new[150], new[54], new[44]) == ("FIXT.1.1", "0", "2", "80")
        cancel = fix50sp2.OrderCancelRequest()
        for field in (fix.ClOrdID("sp2-2"), fix.Side(fix.Side_SELL), fix.TransactTime()):
            cancel.setField(field)
        cancel.setField(fix.OrigClOrdID("sp2-1"))
        cancel.setField(fix.Symbol(DEMO_TICKER))
        send(application, cancel)
        canceled = application.next_app(lambda m: m.get(11) == "sp2-2")
        assert (canceled[150], canceled[39], canceled[41], canceled[37]) == ("4", "4", "sp2-1", new[37])
        assert application.rejects_sent == []


# --- the RFQ session --------------------------------------------------------------------------------

def _kalshi_message(msg_type: str, fields: list[tuple[int, str]]) -> Any:
    """One of Kalshi's own messages (QuoteConfirm U7, AcceptQuote UA), which the stock dictionaries lack."""
    message = fix.Message()
    message.getHeader().setField(fix.MsgType(msg_type))
    for tag, value in fields:
        message.setField(tag, value)
    return message


def _second_key(server: RunningServer, member: Member) -> Member:
    exchange = server.app.exchange
    assert exchange is not None
    number = exchange.ids.from_uuid(ids.MEMBER, member.member_id)
    assert number is not None
    generated = server.on_loop(lambda: exchange.accounts.keys.generate(number, "second", "rsa"))
    return Member(member.email, member.password, member.member_id, Credentials.from_pem(generated.key.key_id, generated.private_key_pem))


def test_quickfix_on_the_rfq_session_request_quote_accept_confirm(server: RunningServer, tmp_path: Path) -> None:
    requester = server.new_member(f"qf-rfq-req-{time.time_ns()}@example.com")
    maker = server.new_member(f"qf-rfq-mm-{time.time_ns()}@example.com")
    rfq_port, dc_port = server.app.fix.port(Kind.RFQ), server.app.fix.port(Kind.DROP_COPY)
    for name in ("asker", "maker", "asker-dc", "maker-oe"):
        (tmp_path / name).mkdir()
    with Initiator(tmp_path / "asker", rfq_port, requester, target="KalshiRFQ") as asker, \
            Initiator(tmp_path / "maker", rfq_port, maker, fixt=True, target="KalshiRFQ") as quoting, \
            Initiator(tmp_path / "asker-dc", dc_port, _second_key(server, requester), target="KalshiDC") as asker_drop, \
            Initiator(tmp_path / "maker-oe", server.app.fix.port(Kind.ORDER_ENTRY), _second_key(server, maker), fixt=True) as maker_orders:
        request = fix44.QuoteRequest()
        request.setField(fix.QuoteReqID("qf-rfq-1"))
        group = fix44.QuoteRequest.NoRelatedSym()
        group.setField(fix.Symbol(DEMO_TICKER))
        group.setField(fix.OrderQty(2))
        request.addGroup(group)
        send(asker, request)
        mine = asker.next_app(lambda m: m.get(35) == "R" and m.get(644) == "qf-rfq-1")
        rfq_id = mine[131]
        seen = quoting.next_app(lambda m: m.get(35) == "R" and m.get(131) == rfq_id)
        assert (seen[55], seen[38], seen[448]) == (DEMO_TICKER, "2.00", mine[448])

        quote = fix50sp2.Quote()
        for field in (fix.QuoteID("mm-1"), fix.QuoteReqID(rfq_id), fix.Symbol(DEMO_TICKER), fix.BidPx(45), fix.OfferPx(52)):
            quote.setField(field)
        send(quoting, quote)
        pending = quoting.next_app(lambda m: m.get(35) == "AI" and m.get(297) == "10")
        quote_id = pending[117]
        assert (pending[1166], pending[131], pending[132], pending[133]) == ("mm-1", rfq_id, "45", "52")
        offered = asker.next_app(lambda m: m.get(35) == "S" and m.get(117) == quote_id)
        assert (offered[132], offered[133], offered[38]) == ("45", "52", "2.00")

        send(asker, _kalshi_message("UA", [(117, quote_id), (54, "2")]))  # buy NO at 52 cents
        accepted = quoting.next_app(lambda m: m.get(35) == "AI" and m.get(297) == "0")
        assert (accepted[117], accepted[54], accepted[38]) == (quote_id, "2", "2.00") and 126 in accepted
        send(quoting, _kalshi_message("U7", [(117, quote_id)]))
        taker = asker_drop.next_app(lambda m: m.get(35) == "8" and m.get(150) == "F")
        made = maker_orders.next_app(lambda m: m.get(35) == "8" and m.get(150) == "F")
        assert (taker[54], taker[31], taker[32]) == ("2", "48", "2.00")  # sells YES at 1 - 0.52
        assert (made[54], made[31], made[32], made[880]) == ("1", "48", "2.00", taker[880])

        send(quoting, _kalshi_message("U7", [(117, quote_id)]))  # executed already: refused, named
        refused = quoting.next_app(lambda m: m.get(35) == "AI" and m.get(297) in ("5", "9"))
        assert (refused[117], refused[297], refused[55]) == (quote_id, "9", DEMO_TICKER) and refused[58].startswith("QUOTE_NOT_FOUND")
        bad = fix44.QuoteRequest()
        bad.setField(fix.QuoteReqID("qf-rfq-2"))
        group = fix44.QuoteRequest.NoRelatedSym()
        group.setField(fix.Symbol("KXNOSUCH-1"))
        group.setField(fix.OrderQty(2))
        bad.addGroup(group)
        send(asker, bad)
        rejected = asker.next_app(lambda m: m.get(35) == "AG")
        assert (rejected[131], rejected[658]) == ("qf-rfq-2", "1")
        send(quoting, _kalshi_message("U7", []))  # no QuoteID: the session's Reject
        quoting.wait_admin(lambda admin: "|35=3|" in admin and "|371=117|" in admin and "|373=1|" in admin)
        for application in (asker, quoting, asker_drop, maker_orders):
            assert application.rejects_sent == []
