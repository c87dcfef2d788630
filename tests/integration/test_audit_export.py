"""The audit export: one member's orders through REST, the web pages and FIX (one filled, one
cancelled, one refused), listed by the operator's REST endpoint (JSON and CSV) and by `predictex audit
export` from the journal file, in sequence, each row with its time to the millisecond, order terms and
the source its command was journaled with (surface, member, key, session, FIX session)."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integration.fix_client import FixClient, new_order
from integration.server_fixture import ADMIN, DEMO_TICKER, V2, Member, RunningServer, kalshi_v2, running_server
from integration.web_client import WebClient
from predictex.cli.main import main
from predictex.gateways.fix import Kind
from predictex.journal import Journal, audit
from predictex.journal.sqlite import SqliteStore
from predictex.server import ids


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("audit"), fix_ports="nr=0,rt=0,dc=0,md=0", rate_limits=False) as running:
        yield running


def _member_number(server: RunningServer, member: Member) -> int:
    exchange = server.app.exchange
    assert exchange is not None
    number = exchange.ids.from_uuid(ids.MEMBER, member.member_id)
    assert number is not None
    return number


def _trade_everywhere(server: RunningServer) -> tuple[Member, dict[str, Any]]:
    who = server.new_member(f"audit-{time.time_ns()}@example.com")
    auth = kalshi_v2(who.credentials)
    placed: dict[str, Any] = {"started_ms": time.time_ns() // 1_000_000}
    rest = server.request("POST", V2 + "/portfolio/orders", {
        "ticker": DEMO_TICKER, "side": "yes", "action": "buy", "count": 2, "yes_price": 51, "client_order_id": "rest-1"}, auth=auth)
    assert rest.status == 201, rest
    placed["rest"] = rest.json()["order"]["order_id"]
    refused = server.request("POST", V2 + "/portfolio/orders", {
        "ticker": DEMO_TICKER, "side": "yes", "action": "buy", "count": 90_000, "yes_price": 40}, auth=auth)
    assert refused.status == 400, refused
    page = WebClient(server.port)
    assert page.log_in(who.email, who.password).status == 303
    web = page.api("POST", "/trade-api/v2/portfolio/orders", {
        "ticker": DEMO_TICKER, "side": "yes", "action": "buy", "count": 3, "yes_price": 20, "client_order_id": "web-1"})
    assert web.status == 201, web
    placed["web"] = web.json()["order"]["order_id"]
    assert page.api("DELETE", f"/trade-api/v2/portfolio/orders/{placed['web']}").status == 200
    with FixClient(server.app.fix.port(Kind.ORDER_ENTRY), who.credentials, "KalshiNR").connect() as fix:
        fix.logon()
        fix.send("D", new_order("fix-1", DEMO_TICKER, "1", 21, 4))
        placed["fix"] = fix.wait(lambda m: m.msg_type == "8" and m.get(11) == "fix-1" and m.get(150) == "0")[37]
    placed["ended_ms"] = time.time_ns() // 1_000_000
    return who, placed


def test_a_members_order_events_in_sequence_with_their_sources(server: RunningServer, tmp_path: Path) -> None:
    who, placed = _trade_everywhere(server)
    number = _member_number(server, who)
    path = f"{ADMIN}/members/{who.member_id}/audit?from={placed['started_ms']}&to={placed['ended_ms'] + 1000}"
    reply = server.request("GET", path + "&format=json", auth=kalshi_v2(server.operator))
    assert reply.status == 200, reply
    rows = reply.json()["events"]
    seqs = [row["seq"] for row in rows]
    assert seqs == sorted(seqs)
    summary = [(row["event"], row["yes_price"], row["count"], row["source"]["surface"]) for row in rows]
    assert summary == [
        ("accepted", "0.5100", "2.00", "rest"), ("filled", "0.5100", "2.00", "rest"), ("executed", "0.5100", "", "rest"),
        ("refused", "0.4000", "90000.00", "rest"),
        ("accepted", "0.2000", "3.00", "web"), ("canceled", "0.2000", "3.00", "web"),
        ("accepted", "0.2100", "4.00", "fix"),
    ]
    rest, _, _, _, web, _, fix = rows
    assert rest["source"] == {"surface": "rest", "member": number, "key": who.credentials.key_id}
    assert web["source"]["member"] == number and len(web["source"]["session"]) == 16 and "key" not in web["source"]
    assert fix["source"] == {"surface": "fix", "member": number, "key": who.credentials.key_id,
                             "fix_session": f"{who.credentials.key_id}->KalshiNR"}
    assert rows[1]["detail"].startswith("taker, trade ") and rows[5]["detail"] == "canceled"
    for row in rows:
        assert (row["market"], row["side"], row["type"], row["action"]) == (DEMO_TICKER, "bid", "limit", "buy")
        assert row["time_in_force"] in ("good_till_canceled", "")  # a refused order keeps the word it was sent with
        assert len(row["time"]) == 24 and row["time"].endswith("Z") and row["time"][19] == "."
    assert rows[0]["time_in_force"] == "good_till_canceled"
    assert rows[6]["order_id"] > rows[4]["order_id"] > rows[0]["order_id"] > 0

    as_csv = server.request("GET", path + "&format=csv", auth=kalshi_v2(server.operator))
    assert as_csv.status == 200 and as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(as_csv.body.decode())))
    assert table[0][:4] == ["time", "seq", "event", "order_id"] and len(table) == len(rows) + 1
    assert table[1][-1] == f"rest member={number} key={who.credentials.key_id}"

    out = tmp_path / "audit.json"
    database = str(server.data_dir / "predictex.db")
    assert main(["audit", "export", "--member", who.email, "--from", str(placed["started_ms"]),
                 "--to", str(placed["ended_ms"] + 1000), "--format", "json", "--database", database, "-o", str(out)]) == 0
    assert json.loads(out.read_text())["events"] == rows


def test_the_window_and_the_operator_only(server: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    who, placed = _trade_everywhere(server)
    path = f"{ADMIN}/members/{who.member_id}/audit"
    before = server.request("GET", f"{path}?to={placed['started_ms'] - 1}", auth=kalshi_v2(server.operator))
    assert before.status == 200 and before.json() == {"events": []}
    assert server.request("GET", path, auth=kalshi_v2(who.credentials)).status == 403
    bad = server.request("GET", f"{path}?from=yesterday", auth=kalshi_v2(server.operator))
    assert bad.status == 400 and "from must be" in bad.body.decode()
    assert server.request("GET", f"{path}?format=xml", auth=kalshi_v2(server.operator)).status == 400
    database = str(server.data_dir / "predictex.db")
    assert main(["audit", "export", "--member", "nobody@example.com", "--from", "0", "--to", "1", "--database", database]) == 2
    assert "no member 'nobody@example.com'" in capsys.readouterr().err


def test_the_operators_console_lists_them_and_links_the_downloads(server: RunningServer) -> None:
    who, _placed = _trade_everywhere(server)
    details = json.loads((server.data_dir / "operator.json").read_text())
    console = WebClient(server.port)
    assert console.log_in(details["email"], details["password"]).status == 303
    page = console.get(f"/operator/audit?member_id={who.member_id}&from=2020-01-01T00:00:00")
    assert page.status == 200, page
    html = page.body.decode()
    table = html[html.index('<table id="audit-events">'):]
    assert "7 order events" in html and table.count("<tr>") == 8  # the header and seven events
    assert "fix member=" in table and f"fix_session={who.credentials.key_id}-&gt;KalshiNR" in table
    link = html[html.index('href="/web/api/predictex/v1/admin/members/') + 6:]
    link = link[:link.index('"')].replace("&amp;", "&")
    download = console.get(link)
    assert download.status == 200 and download.headers["content-type"].startswith("text/csv")
    assert len(download.body.decode().splitlines()) == 8
    wrong = console.get(f"/operator/audit?member_id={who.member_id}&from=yesterday")
    assert wrong.status == 200 and "&#39;yesterday&#39; is not a time" in wrong.body.decode()
    member = WebClient(server.port)
    assert member.log_in(who.email, who.password).status == 303
    assert member.get("/operator/audit").status == 403


def _full_scan(journal: Any, account_id: int, from_ms: int, to_ms: int) -> list[dict[str, Any]]:
    """The export as it was before the seek: every record read from the journal's start."""
    accounts, terms, rows = {account_id}, {}, []  # type: ignore[var-annotated]
    for record in journal.records(0):
        if record.time_ms > to_ms:
            break
        found = audit._rows(record, accounts, terms)
        if record.time_ms >= from_ms:
            rows.extend(found)
    return rows


def test_an_export_of_a_recent_window_starts_at_a_snapshot_and_lists_what_a_full_reading_lists(tmp_path: Path) -> None:
    """An order and a subaccount made before a snapshot, the order filled and the subaccount trading
    after it: a window after the snapshot has the rows a reading from the start has (the fill knows the
    order's terms, the subaccount is the member's), and the reading starts at the snapshot."""
    with running_server(tmp_path, rate_limits=False, snapshot_every=20) as server:
        server.admin("POST", "/series", {"ticker": "KXAUD", "title": "Audit", "category": "Test"}, expect=201)
        server.admin("POST", "/events", {"event_ticker": "KXAUD-E", "series_ticker": "KXAUD", "title": "Audit"}, expect=201)
        server.admin("POST", "/markets", {"ticker": "KXAUD-E-A", "event_ticker": "KXAUD-E", "title": "A",
                                          "close_time": int(time.time()) + 86_400}, expect=201)  # an empty book
        who, other = server.new_member("seeker@example.com", tier="advanced"), server.new_member("other@example.com")
        mine, theirs = kalshi_v2(who.credentials), kalshi_v2(other.credentials)

        def order(auth: Any, side: str, action: str, price: int, subaccount: int = 0) -> None:
            body = {"ticker": "KXAUD-E-A", "side": side, "action": action, "count": 1, "yes_price": price, "subaccount": subaccount}
            assert server.request("POST", V2 + "/portfolio/orders", body, auth=auth).status == 201

        assert server.request("POST", V2 + "/portfolio/subaccounts", {}, auth=mine).status == 201
        transfer = {"client_transfer_id": "0b6f2c1e-7d1a-4a59-9d7e-3d2f5b8e4c10", "from_subaccount": 0, "to_subaccount": 1,
                    "amount_cents": 10_000}
        assert server.request("POST", V2 + "/portfolio/subaccounts/transfer", transfer, auth=mine).status == 200
        order(mine, "yes", "buy", 11)  # rests until the window
        for price in range(60, 90):  # commands enough for a snapshot or two
            order(theirs, "yes", "sell", price)
        time.sleep(0.01)
        from_ms = time.time_ns() // 1_000_000
        time.sleep(0.01)
        order(theirs, "yes", "sell", 11)  # fills the resting order
        order(mine, "yes", "buy", 60, subaccount=1)  # the subaccount takes
        to_ms = time.time_ns() // 1_000_000 + 1_000
        exchange = server.app.exchange
        assert exchange is not None
        account = exchange.accounts.members.get(_member_number(server, who)).engine_account_id
        journal = Journal(SqliteStore(server.data_dir / "predictex.db"))
        snapshots = [s.seq for s in journal.store.snapshots()]
        start = audit._start(journal, account, from_ms, set(), {})
        assert start in snapshots and start > 0
        seeking = list(audit.order_events(journal, account, from_ms, to_ms))
        assert seeking == _full_scan(journal, account, from_ms, to_ms)
        assert [row["event"] for row in seeking] == ["filled", "executed", "accepted", "filled", "executed"], [(r["event"], r["yes_price"], r["detail"]) for r in seeking]
        assert seeking[0]["yes_price"] == "0.1100" and seeking[0]["market"] == "KXAUD-E-A" and seeking[0]["side"] == "bid"
        assert len({row["account"] for row in seeking}) == 2  # the member's primary account and its subaccount
        for window in ((0, to_ms), (from_ms - 50, from_ms + 5), (to_ms, to_ms + 1)):
            assert list(audit.order_events(journal, account, *window)) == _full_scan(journal, account, *window)
