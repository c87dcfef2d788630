"""The FIX gateway against a real exchange: signed logon, order entry and its ExecutionReports, the
same order seen from REST (and a REST cancel seen on FIX), replace, mass cancel, order groups,
cancel-on-disconnect, sequence numbers that survive reconnects and restarts with resend, drop copy,
market data, and a fuzzer that must not disturb anyone else."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from integration.fix_client import FixClient, Received, new_order
from integration.server_fixture import DEMO_TICKER, V2, Member, RunningServer, kalshi_v2, running_server, unique
from predictex.gateways.fix import Kind

FIX_PORTS = "nr=0,rt=0,dc=0,md=0"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("fix"), fix_ports=FIX_PORTS, rate_limits=False) as running:
        yield running


_members = iter(range(1_000_000))


def member(server: RunningServer) -> Member:
    return server.new_member(f"fix{next(_members)}-{time.time_ns()}@example.com")


def client(server: RunningServer, who: Member, kind: Kind = Kind.ORDER_ENTRY, begin: str = "FIX.4.4") -> FixClient:
    target = {Kind.ORDER_ENTRY: "KalshiNR", Kind.ORDER_ENTRY_RT: "KalshiRT", Kind.DROP_COPY: "KalshiDC",
              Kind.MARKET_DATA: "KalshiMD"}[kind]
    return FixClient(server.app.fix.port(kind), who.credentials, target, begin).connect()


def report(fix: FixClient, cl_ord_id: str, exec_type: str) -> Received:
    return fix.wait(lambda m: m.msg_type == "8" and m.get(11) == cl_ord_id and m.get(150) == exec_type)


# --- logon ----------------------------------------------------------------------------------------

def test_logon_is_signed_and_one_session_per_key(server: RunningServer) -> None:
    who = member(server)
    with client(server, who) as fix:
        fields, stamp = fix.logon_fields(seq=1, reset=True, signature=who.credentials.sign("something else"))
        fix.send("A", fields, sending_ms=stamp)
        logout = fix.wait_type("5")
        assert "bad_signature" in logout[58]
    with client(server, who) as stale:
        fields, stamp = stale.logon_fields(seq=1, reset=True, sending_ms=int(time.time() * 1000) - 120_000)
        stale.send("A", fields, sending_ms=stamp)
        assert "stale_timestamp" in stale.wait_type("5")[58]
    with client(server, who) as first, client(server, who) as second:
        first.logon()
        refused = second.logon(expect="5")
        assert "already exists" in refused[58]
        first.send("1", [(112, "still-here")])
        assert first.wait_type("0")[112] == "still-here"


def test_fixt_session_speaks_fix50sp2(server: RunningServer) -> None:
    with client(server, member(server), begin="FIXT.1.1") as fix:
        reply = fix.logon()
        assert reply[8] == "FIXT.1.1" and reply[1137] == "9"
        fix.send("D", new_order("t1", DEMO_TICKER, "1", 30, 2))
        assert report(fix, "t1", "0")[8] == "FIXT.1.1"


# --- orders ---------------------------------------------------------------------------------------

def test_order_lifecycle_and_the_same_order_on_rest(server: RunningServer) -> None:
    who = member(server)
    auth = kalshi_v2(who.credentials)
    with client(server, who) as fix:
        fix.logon()
        fix.send("D", new_order("rest-1", DEMO_TICKER, "1", 40, 3))
        new = report(fix, "rest-1", "0")
        assert (new[39], new[38], new[151], new[14], new[44], new[54], new[55]) == ("0", "3.00", "3.00", "0.00", "40", "1", DEMO_TICKER)
        order_id = new[37]
        listed = server.get_ok(f"{V2}/portfolio/orders?status=resting", auth=auth)["orders"]
        assert [o["order_id"] for o in listed] == [order_id] and listed[0]["client_order_id"] == "rest-1"
        # a taker that crosses the demo asks (0.51-0.55): fills at 51c with fees and the position after
        fix.send("D", new_order("take-1", DEMO_TICKER, "1", 52, 5))
        fill = report(fix, "take-1", "F")
        assert (fill[39], fill[32], fill[31], fill[14], fill[151], fill[1057]) == ("2", "5.00", "51", "5.00", "0.00", "Y")
        assert fill[136] == "1" and fill[138] == "USD" and fill[137] == "0.0900"  # 0.07 x 5 x 0.51 x 0.49 = 0.0875, rounded to the cent
        assert (fill[704], fill[705]) == ("5.00", "0.00")
        # a REST cancel shows on FIX
        reply = server.request("DELETE", f"{V2}/portfolio/orders/{order_id}", auth=auth)
        assert reply.status == 200, reply
        canceled = report(fix, "rest-1", "4")
        assert (canceled[39], canceled[37], canceled[151]) == ("4", order_id, "0.00")


def test_avg_px_is_the_fills_average_yes_price(server: RunningServer) -> None:
    """AvgPx (6) over fills at two prices: 3 at 41c and 1 at 45c average 42c; LastPx (31) is each fill's own."""
    series = unique("KXAVG")
    ticker = f"{series}-T1"
    server.create_instruments(series, f"{series}-E", [ticker])
    seller = server.funded_account()
    server.trade(seller, ticker, False, 4_100, 3)
    server.trade(seller, ticker, False, 4_500, 1)
    with client(server, member(server)) as fix:
        fix.logon()
        fix.send("D", new_order("avg-1", ticker, "1", 45, 4))
        first = report(fix, "avg-1", "F")
        second = fix.wait(lambda m: m.msg_type == "8" and m.get(11) == "avg-1" and m.get(39) == "2")
    assert (first[31], first[32], first[14], first[6]) == ("41", "3.00", "3.00", "41")
    assert (second[31], second[32], second[14], second[6]) == ("45", "1.00", "4.00", "42")


def test_cancel_replace_and_mass_cancel(server: RunningServer) -> None:
    with client(server, member(server)) as fix:
        fix.logon()
        fix.send("D", new_order("a1", DEMO_TICKER, "1", 20, 2))
        order_id = report(fix, "a1", "0")[37]
        fix.send("G", [(11, "a2"), (41, "a1"), (55, DEMO_TICKER), (54, "1"), (40, "2"), (44, 21), (38, 4)])
        replaced = report(fix, "a2", "5")
        assert (replaced[41], replaced[37], replaced[44], replaced[38]) == ("a1", order_id, "21", "4.00")
        fix.send("F", [(11, "x1"), (41, "nope"), (55, DEMO_TICKER), (54, "1")])
        refused = fix.wait_type("9")
        assert (refused[434], refused[102], refused[11]) == ("1", "1", "x1")
        fix.send("D", new_order("b1", DEMO_TICKER, "2", 90, 1))
        report(fix, "b1", "0")
        fix.send("q", [(11, "mass-1"), (530, "7")])
        mass = fix.wait_type("r")
        assert (mass[531], mass[533]) == ("7", "2")
        report(fix, "a2", "4")
        report(fix, "b1", "4")
        fix.send("F", [(11, "a3"), (41, "a2"), (55, DEMO_TICKER), (54, "1")])
        assert fix.wait_type("9")[102] == "1"


def test_refusals_are_rejected_execution_reports(server: RunningServer) -> None:
    with client(server, member(server)) as fix:
        fix.logon()
        fix.send("D", new_order("big", DEMO_TICKER, "1", 50, 1_000_000))
        rejected = report(fix, "big", "8")
        assert rejected[39] == "8" and rejected[103] == "3" and rejected[58].startswith("INSUFFICIENT_BALANCE")
        fix.send("D", new_order("where", "NO-SUCH-MARKET", "1", 50, 1))
        assert report(fix, "where", "8")[103] == "1"
        fix.send("D", new_order("price", DEMO_TICKER, "1", 100, 1))
        assert "Price" in report(fix, "price", "8")[58]
        fix.send("D", new_order("dup", DEMO_TICKER, "1", 10, 1))
        report(fix, "dup", "0")
        fix.send("D", new_order("dup", DEMO_TICKER, "1", 10, 1))
        assert report(fix, "dup", "8")[103] == "6"


def test_order_groups(server: RunningServer) -> None:
    with client(server, member(server)) as fix:
        fix.logon()
        fix.send("UOG", [(20131, 1), (20132, 10)])
        created = fix.wait_type("UOH")
        group = created[20130]
        fix.send("D", new_order("g1", DEMO_TICKER, "1", 10, 1, extra=[(526, group)]))
        assert report(fix, "g1", "0")[526] == group
        fix.send("UOG", [(20131, 4), (20130, group)])
        fix.wait_type("UOH")
        assert report(fix, "g1", "4")[58] == "ORDER_GROUP_CANCEL"
        fix.send("UOG", [(20131, 3), (20130, "not-a-group")])
        assert fix.wait_type("j")[380] == "1"


def test_cancel_orders_on_disconnect(server: RunningServer) -> None:
    who = member(server)
    auth = kalshi_v2(who.credentials)
    with client(server, who) as fix:
        fix.logon(extra=[(8013, "Y")])
        fix.send("D", new_order("c1", DEMO_TICKER, "1", 11, 1))
        report(fix, "c1", "0")
    deadline = time.monotonic() + 10
    while server.get_ok(f"{V2}/portfolio/orders?status=resting", auth=auth)["orders"]:
        assert time.monotonic() < deadline, "orders were not cancelled on disconnect"
        time.sleep(0.05)


# --- sequence numbers and resend --------------------------------------------------------------------

def test_retransmitting_session_keeps_sequence_numbers_across_reconnects_and_restarts(tmp_path: Path) -> None:
    with running_server(tmp_path, fix_ports=FIX_PORTS, rate_limits=False) as first:
        who = member(first)
        fix = client(first, who, Kind.ORDER_ENTRY_RT)
        fix.logon(reset=True)
        fix.send("D", new_order("r1", DEMO_TICKER, "1", 15, 1))
        assert report(fix, "r1", "0").seq == 2
        fix.close()
        again = client(first, who, Kind.ORDER_ENTRY_RT)
        again.next_out = fix.next_out
        assert again.logon(reset=False).seq == 3
        again.send("D", new_order("r2", DEMO_TICKER, "1", 16, 1))
        assert report(again, "r2", "0").seq == 4
        next_out = again.next_out
        again.close()
    with running_server(tmp_path, fix_ports=FIX_PORTS, rate_limits=False) as second:
        fix = client(second, who, Kind.ORDER_ENTRY_RT)
        fix.next_out = next_out
        assert fix.logon(reset=False).seq == 5
        fix.send("2", [(7, 1), (16, 0)])  # missed something? ask for everything again
        resent = [fix.wait(lambda m: m.get(43) == "Y") for _ in range(4)]
        assert [(m.msg_type, m.seq) for m in resent] == [("4", 1), ("8", 2), ("4", 3), ("8", 4)]
        assert resent[1][11] == "r1" and resent[3][11] == "r2" and "122" in {str(t) for t, _ in resent[1].fields}
        fix.send("5", [])
        fix.wait_closed()


def _until_away(server: RunningServer, account: int) -> None:
    """Until the gateway has seen the connection go (the peer's close reaches it asynchronously)."""
    deadline = time.monotonic() + 10
    while not server.on_loop(lambda: account in server.app.fix.gateway.offline_sessions):
        assert time.monotonic() < deadline, "the gateway did not see the disconnect"
        time.sleep(0.02)


def test_reports_made_while_a_retransmitting_session_is_away_come_back_by_resend(server: RunningServer) -> None:
    """A fill or cancel of an RT session's order while its connection is gone is numbered and stored:
    the next logon shows the gap, and the ResendRequest brings the reports (PossDupFlag=Y)."""
    who = member(server)
    auth = kalshi_v2(who.credentials)
    fix = client(server, who, Kind.ORDER_ENTRY_RT)
    fix.logon(reset=True)
    fix.send("D", new_order("away-1", DEMO_TICKER, "1", 12, 2))
    fix.send("D", new_order("away-2", DEMO_TICKER, "1", 13, 1))
    first, second = report(fix, "away-1", "0"), report(fix, "away-2", "0")
    next_out = fix.next_out
    fix.close()
    _until_away(server, server.account_of(who))
    for order in (first, second):
        reply = server.request("DELETE", f"{V2}/portfolio/orders/{order[37]}", auth=auth)
        assert reply.status == 200, reply
    again = client(server, who, Kind.ORDER_ENTRY_RT)
    again.next_out = next_out
    assert again.logon(reset=False).seq == second.seq + 3  # two reports were numbered while away
    again.send("2", [(7, second.seq + 1), (16, 0)])
    resent = [again.wait(lambda m: m.msg_type == "8" and m.get(43) == "Y") for _ in range(2)]
    assert [(m.seq, m[11], m[150], m[39]) for m in resent] == [(second.seq + 1, "away-1", "4", "4"), (second.seq + 2, "away-2", "4", "4")]
    assert server.on_loop(lambda: server.account_of(who) not in server.app.fix.gateway.offline_sessions)
    # back online: reports are sent, not kept
    again.send("D", new_order("back-1", DEMO_TICKER, "1", 14, 1))
    assert report(again, "back-1", "0").seq == second.seq + 4
    again.close()


def test_a_session_that_skips_pending_reports_keeps_nothing_while_away(server: RunningServer) -> None:
    who = member(server)
    auth = kalshi_v2(who.credentials)
    fix = client(server, who, Kind.ORDER_ENTRY_RT)
    fix.logon(reset=True, extra=[(21011, "Y")])
    fix.send("D", new_order("skip-1", DEMO_TICKER, "1", 12, 1))
    placed = report(fix, "skip-1", "0")
    next_out = fix.next_out
    fix.close()
    deadline = time.monotonic() + 10
    while server.on_loop(lambda: who.credentials.key_id in server.app.fix.gateway.sessions):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert server.request("DELETE", f"{V2}/portfolio/orders/{placed[37]}", auth=auth).status == 200
    again = client(server, who, Kind.ORDER_ENTRY_RT)
    again.next_out = next_out
    assert again.logon(reset=False).seq == placed.seq + 1  # no gap
    again.close()


def test_sequence_number_too_low_after_reconnect_is_logged_out(server: RunningServer) -> None:
    who = member(server)
    with client(server, who, Kind.ORDER_ENTRY_RT) as fix:
        fix.logon(reset=True)
        fix.send("0", [])
    deadline = time.monotonic() + 10  # the server forgets the session once it has seen the socket close
    while server.on_loop(lambda: who.credentials.key_id in server.app.fix.gateway.sessions):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    with client(server, who, Kind.ORDER_ENTRY_RT) as late:
        late.next_out = 2
        assert "too low" in late.logon(reset=False, expect="5")[58]


# --- drop copy and market data -----------------------------------------------------------------------

def test_drop_copy_sees_orders_from_every_surface_and_resends_by_exec_id(server: RunningServer) -> None:
    who = member(server)
    auth = kalshi_v2(who.credentials)
    with client(server, who, Kind.DROP_COPY) as drop:
        drop.logon()
        created = server.request("POST", f"{V2}/portfolio/orders", {"ticker": DEMO_TICKER, "side": "yes", "action": "buy",
                                                                      "count": 2, "yes_price": 12, "client_order_id": "via-rest"},
                                 auth=auth)
        assert created.status == 201, created
        live = report(drop, "via-rest", "0")
        order_id = live[37]
        assert server.request("DELETE", f"{V2}/portfolio/orders/{order_id}", auth=auth).status == 200
        canceled = report(drop, "via-rest", "4")
        drop.send("U1", [(21001, live[17]), (21002, canceled[17])])
        again = [drop.wait_type("8"), drop.wait_type("8")]
        assert [m[17] for m in again] == [live[17], canceled[17]] and [m[150] for m in again] == ["0", "4"]
        assert drop.wait_type("U2")[21003] == "2"
        drop.send("U1", [(21001, "garbage")])
        assert drop.wait_type("U3")[21004] == "3"


def test_market_data_snapshot_updates_and_security_status(server: RunningServer) -> None:
    watcher = member(server)
    with client(server, watcher, Kind.MARKET_DATA) as md, client(server, member(server)) as trader:
        md.logon()
        md.send("V", [(262, "book-1"), (263, "1"), (264, 0), (267, 2), (269, "0"), (269, "1"), (146, 1), (55, DEMO_TICKER)])
        snapshot = md.wait_type("W")
        entries = [v for t, v in snapshot.fields if t in (269, 270, 271)]
        levels = [tuple(entries[i:i + 3]) for i in range(0, len(entries), 3)]
        bids = [(price, size) for side, price, size in levels if side == "0"]
        offers = [(price, size) for side, price, size in levels if side == "1"]
        assert bids[0][0] == "0.4900" and offers[0][0] == "0.5100"  # YES frame: best bid 0.49, best offer 0.51
        assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True) and [p for p, _ in offers] == sorted(p for p, _ in offers)
        before = dict(bids).get("0.3300")
        trader.logon()
        trader.send("D", new_order("md-1", DEMO_TICKER, "1", 33, 7))
        update = md.wait(lambda m: m.msg_type == "X" and m.get(270) == "0.3300")
        expected_size = str(Decimal("7.00") + Decimal(before or "0"))
        assert (update[262], update[279], update[269], update[271]) == ("book-1", "1" if before else "0", "0", expected_size)
        server.admin("POST", f"/markets/{DEMO_TICKER}/pause", {}, expect=200)
        try:
            status = md.wait_type("f")
            assert (status[55], status[326]) == (DEMO_TICKER, "2")
        finally:
            server.admin("POST", f"/markets/{DEMO_TICKER}/resume", {}, expect=200)
        assert md.wait_type("f")[326] == "3"


# --- fuzz -----------------------------------------------------------------------------------------

def _checksum_holds(data: bytearray) -> bool:
    """Whether `data` still ends in a CheckSum(10) field that matches its bytes."""
    trailer = data.rfind(b"\x0110=")
    stated = bytes(data[trailer + 4:-1])
    return trailer >= 0 and data.endswith(b"\x01") and stated.isdigit() and int(stated) == sum(data[:trailer + 1]) % 256


def test_fuzzed_input_changes_nothing_and_disturbs_no_one(server: RunningServer) -> None:
    rng = random.Random(11)
    fuzzer, bystander = member(server), member(server)
    auth = kalshi_v2(fuzzer.credentials)
    with client(server, bystander) as calm:
        calm.logon()
        for round_number in range(30):
            with client(server, fuzzer) as fix:
                if round_number % 2:
                    fix.logon()
                template = fix.message("D", new_order(f"fz{round_number}", DEMO_TICKER, "1", 5, 1))
                chunks = []
                for _ in range(8):
                    data = bytearray(template)
                    while _checksum_holds(data):  # a mutation that leaves a valid message is no fuzz
                        for _ in range(rng.randint(1, 4)):
                            position = rng.randrange(len(data))
                            data[position] = rng.choice([b for b in b"\x01=9ZA0" if b != data[position]])
                    chunks.append(bytes(data))
                chunks.append(bytes(rng.randrange(256) for _ in range(rng.randint(1, 300))))
                for chunk in chunks:
                    try:
                        fix.send_raw(chunk)
                    except OSError:
                        break
                fix.drain(0.05)
            calm.send("1", [(112, f"alive-{round_number}")])
            assert calm.wait_type("0")[112] == f"alive-{round_number}"
    # mutated orders (wrong checksum or fields) never became orders
    orders = server.get_ok(f"{V2}/portfolio/orders", auth=auth)["orders"]
    assert orders == [], orders


# --- RFQ executions ---------------------------------------------------------------------------------

def test_rfq_executions_reach_order_entry_and_drop_copy(server: RunningServer) -> None:
    """An RFQ's execution books an order for each side (core/communications.py): the requester's
    order-entry session and the maker's drop copy get its ExecutionReports like any other order's."""
    requester, maker = member(server), member(server)
    for who in (requester, maker):
        server.admin("POST", f"/members/{who.member_id}/deposits", {"amount_cents": 10_000}, expect=201)
    mine, theirs = kalshi_v2(requester.credentials), kalshi_v2(maker.credentials)
    with client(server, requester) as entry, client(server, maker, Kind.DROP_COPY) as drop:
        entry.logon()
        drop.logon()
        rfq = server.request("POST", f"{V2}/communications/rfqs", {"market_ticker": DEMO_TICKER, "contracts": 3,
                                                                  "rest_remainder": False}, auth=mine).json()["id"]
        quote = server.request("POST", f"{V2}/communications/quotes", {"rfq_id": rfq, "yes_bid": "0.20", "no_bid": "0.70",
                                                                      "rest_remainder": False}, auth=theirs).json()["id"]
        assert server.request("PUT", f"{V2}/communications/quotes/{quote}/accept", {"accepted_side": "no"}, auth=mine).status == 204
        assert server.request("PUT", f"{V2}/communications/quotes/{quote}/confirm", auth=theirs).status == 204
        executed = server.request("GET", f"{V2}/communications/quotes/{quote}", auth=mine).json()["quote"]
        fill = entry.wait(lambda m: m.msg_type == "8" and m.get(37) == executed["rfq_creator_order_id"] and m.get(150) == "F")
        assert (Decimal(fill[32]), fill[39], fill[54]) == (Decimal(3), "2", "2")  # 3 filled, the order done, NO bought
        made = server.request("GET", f"{V2}/communications/quotes/{quote}", auth=theirs).json()["quote"]
        copied = drop.wait(lambda m: m.msg_type == "8" and m.get(37) == made["creator_order_id"] and m.get(150) == "F")
        assert (Decimal(copied[32]), copied[39], copied[54]) == (Decimal(3), "2", "1")
