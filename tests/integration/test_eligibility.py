"""Member eligibility and money movement: a member residing in a restricted state (by default the
eight the seed names) or not verified is refused at order entry through REST, the web pages and FIX,
with the reason and nothing changed; the operator's list of restricted states decides; deposits and
withdrawals are payment records (ACH, wire, card) pending until completed or failed, for verified
members only, withdrawals of at least $10 and never more than the available cash."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from integration.fix_client import FixClient, new_order
from integration.server_fixture import DEMO_TICKER, V2, Member, RunningServer, kalshi_v2, running_server
from integration.web_client import WebClient
from predictex.gateways.fix import Kind


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("eligibility"), fix_ports="nr=0,rt=0,dc=0,md=0", rate_limits=False) as running:
        yield running


def _member(server: RunningServer, **eligibility: str) -> Member:
    who = server.new_member(f"elig-{time.time_ns()}@example.com")
    if eligibility:
        server.admin("PUT", f"/members/{who.member_id}/eligibility", eligibility, expect=200)
    return who


def _order() -> dict[str, Any]:
    return {"ticker": DEMO_TICKER, "side": "yes", "action": "buy", "count": 1, "yes_price": 30}


def _state(server: RunningServer, who: Member) -> tuple[int, list[str]]:
    auth = kalshi_v2(who.credentials)
    balance = server.get_ok(V2 + "/portfolio/balance", auth=auth)["balance"]
    return balance, sorted(o["order_id"] for o in server.get_ok(V2 + "/portfolio/orders?status=resting", auth=auth)["orders"])


def _refused_everywhere(server: RunningServer, who: Member, reason: str) -> None:
    before = _state(server, who)
    rest = server.request("POST", V2 + "/portfolio/orders", _order(), auth=kalshi_v2(who.credentials))
    assert rest.status == 403 and rest.error["code"] == "member_not_eligible" and rest.error["details"] == reason, rest
    page = WebClient(server.port)
    assert page.log_in(who.email, who.password).status == 303
    web = page.api("POST", "/trade-api/v2/portfolio/orders", _order())
    assert web.status == 403 and web.json()["error"]["details"] == reason, web
    with FixClient(server.app.fix.port(Kind.ORDER_ENTRY), who.credentials, "KalshiNR").connect() as fix:
        fix.logon()
        fix.send("D", new_order("elig-1", DEMO_TICKER, "1", 30, 1))
        report = fix.wait(lambda m: m.msg_type == "8" and m.get(11) == "elig-1")
        assert report[150] == "8" and report[58] == f"MEMBER_NOT_ELIGIBLE: {reason}"
    assert _state(server, who) == before


def test_a_member_residing_in_a_restricted_state_is_refused_everywhere(server: RunningServer) -> None:
    assert server.admin("GET", "/restricted_states").json()["restricted_states"] == ["AZ", "IL", "MA", "MD", "MI", "MT", "NJ", "OH"]
    who = _member(server, state_of_residence="nj")
    listed = server.admin("GET", "/members").json()["members"]
    [row] = [m for m in listed if m["member_id"] == who.member_id]
    assert row["state_of_residence"] == "NJ" and row["verification"] == "verified"
    _refused_everywhere(server, who, "members residing in NJ may not trade on this exchange (a restricted state)")
    elsewhere = _member(server, state_of_residence="NY")
    assert server.request("POST", V2 + "/portfolio/orders", _order(), auth=kalshi_v2(elsewhere.credentials)).status == 201


def test_the_operators_list_decides(server: RunningServer) -> None:
    jersey, york = _member(server, state_of_residence="NJ"), _member(server, state_of_residence="NY")
    try:
        assert server.admin("PUT", "/restricted_states", {"states": ["ny"]}, expect=200).json() == {"restricted_states": ["NY"]}
        assert server.request("POST", V2 + "/portfolio/orders", _order(), auth=kalshi_v2(jersey.credentials)).status == 201
        refused = server.request("POST", V2 + "/portfolio/orders", _order(), auth=kalshi_v2(york.credentials))
        assert refused.status == 403 and "residing in NY" in refused.error["details"]
        assert server.admin("PUT", "/restricted_states", {"states": ["XX"]}).status == 400
        assert server.admin("GET", "/restricted_states").json() == {"restricted_states": ["NY"]}
    finally:
        server.admin("PUT", "/restricted_states", {"states": ["AZ", "IL", "MA", "MD", "MI", "MT", "NJ", "OH"]}, expect=200)


def test_an_unverified_member_is_refused_until_verified(server: RunningServer) -> None:
    who = _member(server, verification="pending")
    _refused_everywhere(server, who,
                        "the member's identity is not verified yet (verification pending): the operator verifies members")
    server.admin("PUT", f"/members/{who.member_id}/eligibility", {"verification": "rejected"}, expect=200)
    refused = server.request("POST", V2 + "/portfolio/orders", _order(), auth=kalshi_v2(who.credentials))
    assert refused.status == 403 and "verification was rejected" in refused.error["details"]
    server.admin("PUT", f"/members/{who.member_id}/eligibility", {"verification": "verified"}, expect=200)
    assert server.request("POST", V2 + "/portfolio/orders", _order(), auth=kalshi_v2(who.credentials)).status == 201
    assert server.admin("PUT", f"/members/{who.member_id}/eligibility", {"verification": "maybe"}).status == 400


def test_payments_are_records_for_verified_members_within_the_rules(server: RunningServer) -> None:
    pending = _member(server, verification="pending")
    refused = server.admin("POST", f"/members/{pending.member_id}/payments",
                           {"direction": "deposit", "method": "ach", "amount_dollars": "50"})
    assert refused.status == 403 and refused.error["code"] == "member_not_verified"
    assert server.admin("GET", f"/payments?member_id={pending.member_id}").json() == {"payments": []}

    who = _member(server)
    cash = _state(server, who)[0]

    def pay(direction: str, method: str, dollars: str) -> Any:
        return server.admin("POST", f"/members/{who.member_id}/payments",
                            {"direction": direction, "method": method, "amount_dollars": dollars})

    small = pay("withdrawal", "ach", "9.99")
    assert small.status == 400 and small.error["code"] == "invalid_parameters" and "10" in small.error["details"], small
    too_much = pay("withdrawal", "wire", str(cash // 100 + 1))
    assert too_much.status == 400 and too_much.error["code"] == "insufficient_balance", too_much
    assert pay("withdrawal", "cheque", "20").status == 400
    assert _state(server, who)[0] == cash and server.admin("GET", f"/payments?member_id={who.member_id}").json()["payments"] == []

    out = pay("withdrawal", "ach", "20")
    assert out.status == 201 and out.json()["status"] == "pending", out
    assert _state(server, who)[0] == cash - 2_000  # set aside at once
    failed = server.admin("POST", f"/payments/{out.json()['payment_id']}/fail", {"reason": "bank account closed"}, expect=200).json()
    assert (failed["status"], failed["reason"]) == ("failed", "bank account closed")
    assert _state(server, who)[0] == cash
    assert server.admin("POST", f"/payments/{out.json()['payment_id']}/complete").status == 409

    money_in = pay("deposit", "wire", "100").json()
    assert money_in["status"] == "pending" and _state(server, who)[0] == cash  # no money before it completes
    assert server.admin("POST", f"/payments/{money_in['payment_id']}/complete", expect=200).json()["status"] == "completed"
    assert _state(server, who)[0] == cash + 10_000
    card = pay("withdrawal", "card", "10").json()
    assert server.admin("POST", f"/payments/{card['payment_id']}/complete", expect=200).json()["status"] == "completed"
    assert _state(server, who)[0] == cash + 9_000
    listed = server.admin("GET", f"/payments?member_id={who.member_id}").json()["payments"]
    assert [(p["direction"], p["method"], p["amount_dollars"], p["status"]) for p in listed] == [
        ("withdrawal", "ach", "20.0000", "failed"), ("deposit", "wire", "100.0000", "completed"),
        ("withdrawal", "card", "10.0000", "completed")]
    assert server.admin("POST", "/payments/999999/complete").status == 404


def test_the_operators_console_shows_and_changes_them(server: RunningServer) -> None:
    import json

    who = _member(server, state_of_residence="AZ")
    details = json.loads((server.data_dir / "operator.json").read_text())
    console = WebClient(server.port)
    assert console.log_in(details["email"], details["password"]).status == 303
    page = console.get("/operator/members").body.decode()
    row = page[page.index(f'data-member-id="{who.member_id}"'):]
    row = row[:row.index("</tr>")]
    assert "<td>verified</td><td>AZ</td><td>no: members residing in AZ may not trade" in row
    for form in ("eligibility-form", "restricted-form", "payment-form", "payment-complete-form", "payment-fail-form"):
        assert f'id="{form}"' in page
    # what the forms send, through /web/api as the page's script does
    changed = console.api("PUT", f"/predictex/v1/admin/members/{who.member_id}/eligibility", {"state_of_residence": "CA"})
    assert changed.status == 200 and changed.json()["trading_refused_because"] is None, changed
    assert server.request("POST", V2 + "/portfolio/orders", _order(), auth=kalshi_v2(who.credentials)).status == 201
    paid = console.api("POST", f"/predictex/v1/admin/members/{who.member_id}/payments",
                       {"direction": "deposit", "method": "card", "amount_dollars": "12.50"})
    assert paid.status == 201, paid
    listed = console.get("/operator/members").body.decode()
    table = listed[listed.index('<table id="payments">'):]
    assert f"<td>{who.email}</td><td>deposit</td><td>card</td><td class=\"num\">$12.5000</td><td>pending</td>" in table
