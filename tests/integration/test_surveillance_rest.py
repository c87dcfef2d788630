"""Surveillance on a running server: a wash trade between a member's own subaccounts, and one between
two members after the operator linked them, reach the operator's API with their evidence (sequence
numbers, order and trade ids, members); the operator's decision on an alert is kept; a restart rebuilds
the same alerts from the journal with those decisions; bad input is a clear 4xx with nothing changed;
members get 403; and the console page lists the alerts with every operator string escaped, its form
going through the CSRF-checked /web/api."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integration.server_fixture import RunningServer, kalshi_v2, running_server, unique
from integration.web_client import WebClient
from predictex.core import commands as c
from predictex.core.events import SubaccountCreated

ALERTS = "/surveillance/alerts"
DOLLARS = 1_000_000


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tmp_path_factory.mktemp("surveillance"))


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[RunningServer]:
    with running_server(data_dir, rate_limits=False) as running:
        yield running


def _settled(server: RunningServer) -> None:
    """Let the event loop run the surveillance consumer's drain (queued by the last commit)."""
    server.on_loop(lambda: None)


def _market(server: RunningServer) -> str:
    series = unique("KXSV")
    ticker = f"{series}-E-M"
    server.create_instruments(series, f"{series}-E", [ticker])
    return ticker


def _alerts(server: RunningServer, query: str = "") -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = server.admin("GET", ALERTS + query, expect=200).json()["alerts"]
    return alerts


def test_a_wash_trade_across_subaccounts_reaches_the_operator_with_its_evidence(server: RunningServer) -> None:
    ticker = _market(server)
    member = server.new_member(unique("wash") + "@example.com")
    account = server.account_of(member)
    server.value(c.Deposit(account, 1_000 * DOLLARS, "test"))
    committed = server.submit(c.CreateSubaccount(account))
    [created] = [x for x in committed.outcome.events if isinstance(x, SubaccountCreated)]
    server.value(c.TransferBetweenSubaccounts(account, 0, 1, 500 * DOLLARS, unique("t")))
    server.value(c.CreateOrder(account, ticker, False, 5_000, 10_00))
    buy = server.submit(c.CreateOrder(created.subaccount_account_id, ticker, True, 5_000, 10_00))
    _settled(server)
    [alert] = _alerts(server, f"?market_ticker={ticker}")
    assert alert["kind"] == "wash_trade" and alert["state"] == "open" and alert["member_ids"] == [member.member_id]
    assert alert["evidence_count"] == 1 and "evidence" not in alert
    full = server.admin("GET", f"{ALERTS}/{alert['alert_id']}", expect=200).json()["alert"]
    [item] = full["evidence"]
    exchange = server.app.exchange
    assert exchange is not None
    assert item["seq"] == buy.seq and item["what"] == "trade" and item["member_id"] == member.member_id and item["subaccount"] == 1
    trades = server.get_ok(f"/trade-api/v2/markets/trades?ticker={ticker}")["trades"]
    assert [t["trade_id"] for t in trades] == [item["trade_id"]]


def test_linked_members_trading_together_are_a_wash_trade_from_the_link_on(server: RunningServer) -> None:
    ticker = _market(server)
    first, second = (server.new_member(unique("linked") + "@example.com") for _ in range(2))
    a, b = server.account_of(first), server.account_of(second)
    for account in (a, b):
        server.value(c.Deposit(account, 1_000 * DOLLARS, "test"))
    server.trade(a, ticker, False, 5_000, 5)
    server.trade(b, ticker, True, 5_000, 5)  # before the link: not a wash trade
    _settled(server)
    assert _alerts(server, f"?market_ticker={ticker}") == []
    link = server.admin("POST", "/surveillance/links", {"member_id": first.member_id, "other_member_id": second.member_id},
                        expect=201).json()["link"]
    assert link["member_ids"] == [first.member_id, second.member_id]
    server.trade(a, ticker, False, 5_100, 5)
    server.trade(b, ticker, True, 5_100, 5)
    _settled(server)
    [alert] = _alerts(server, f"?market_ticker={ticker}")
    assert alert["kind"] == "wash_trade" and sorted(alert["member_ids"]) == sorted([first.member_id, second.member_id])
    assert link in server.admin("GET", "/surveillance/links", expect=200).json()["links"]


def test_the_operators_decision_is_kept_and_bad_input_changes_nothing(server: RunningServer) -> None:
    [alert, *_] = _alerts(server, "?kind=wash_trade")
    path = f"{ALERTS}/{alert['alert_id']}"
    updated = server.admin("PUT", path, {"state": "escalated", "note": "<script>alert(1)</script> referred"}, expect=200).json()["alert"]
    assert updated["state"] == "escalated" and updated["state_changed_time"]
    for body, status in (({"state": "closed"}, 400), ({"note": "no state"}, 400), ({"state": "open", "note": "x" * 2_001}, 400)):
        refused = server.admin("PUT", path, body)
        assert refused.status == status, refused
    assert server.admin("PUT", f"{ALERTS}/wash-0", {"state": "dismissed"}).status == 404
    assert server.admin("GET", f"{ALERTS}/wash-0").status == 404
    assert server.admin("GET", ALERTS + "?state=shut").status == 400
    assert server.admin("GET", ALERTS + "?kind=nonsense").status == 400
    kept = server.admin("GET", path, expect=200).json()["alert"]
    assert kept["state"] == "escalated" and kept["note"] == "<script>alert(1)</script> referred"
    assert [a["alert_id"] for a in _alerts(server, "?state=escalated")] == [alert["alert_id"]]
    member = server.new_member(unique("nosy") + "@example.com")
    for method, target in (("GET", ALERTS), ("GET", path), ("PUT", path), ("GET", "/surveillance/links")):
        reply = server.request(method, "/predictex/v1/admin" + target, {"state": "dismissed"} if method == "PUT" else None,
                               auth=kalshi_v2(member.credentials))
        assert reply.status == 403, (target, reply)
    status = server.admin("GET", "/surveillance/status", expect=200).json()
    assert status["processed_seq"] == status["committed_seq"] and status["alerts"]["escalated"] == 1
    assert status["thresholds"]["wash_window_ms"] > 0


def test_the_console_lists_alerts_escaped_and_its_form_needs_the_csrf_token(server: RunningServer) -> None:
    details = json.loads((server.data_dir / "operator.json").read_text())
    operator = WebClient(server.port)
    assert operator.log_in(details["email"], details["password"]).status == 303
    page = operator.get("/operator/surveillance")
    assert page.status == 200, page
    html = page.body.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; referred" in html
    assert 'data-path="/predictex/v1/admin/surveillance/alerts/{alert_id}"' in html
    [alert, *_] = _alerts(server, "?state=escalated")
    path = f"/predictex/v1/admin/surveillance/alerts/{alert['alert_id']}"
    assert operator.api("PUT", path, {"state": "dismissed"}, csrf=False).status == 403
    assert server.admin("GET", f"{ALERTS}/{alert['alert_id']}", expect=200).json()["alert"]["state"] == "escalated"
    member = WebClient(server.port)
    email = unique("page") + "@example.com"
    server.new_member(email, password="correct horse battery")
    assert member.log_in(email, "correct horse battery").status == 303
    assert member.get("/operator/surveillance").status == 403


def test_a_restart_rebuilds_the_same_alerts_with_the_operators_decisions(server: RunningServer, data_dir: Path) -> None:
    before = [server.admin("GET", f"{ALERTS}/{a['alert_id']}", expect=200).json()["alert"] for a in _alerts(server)]
    assert before and any(a["state"] == "escalated" for a in before)
    read = server.admin("GET", "/surveillance/status", expect=200).json()["processed_seq"]
    server.stop()  # a clean stop leaves a checkpoint
    with running_server(data_dir, rate_limits=False) as again:
        while (status := again.admin("GET", "/surveillance/status")).status == 503:  # reading the journal on a worker thread
            time.sleep(0.05)
        assert status.json()["resumed_from_seq"] >= read > 0  # the journal after the checkpoint read, not all of it
        after = [again.admin("GET", f"{ALERTS}/{a['alert_id']}", expect=200).json()["alert"] for a in _alerts(again)]
        assert after == before
