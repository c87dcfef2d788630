"""Position limits set by the operator per series or market, enforced by the engine at order entry
with a reject of their own (REST `position_limit_exceeded`, FIX 103=3 `EXCEEDED_POSITION_LIMIT`) whose
message states the limit and the position; refused through REST, the web pages and FIX with nothing
changed (no order, the same balance); shown by `get_account_limits` and the operator API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from integration.fix_client import FixClient, new_order
from integration.server_fixture import ADMIN, V2, Member, RunningServer, kalshi_v2, running_server, unique
from integration.web_client import WebClient
from predictex.gateways.fix import Kind


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("limits"), fix_ports="nr=0,rt=0,dc=0,md=0", rate_limits=False) as running:
        yield running


def _limited_markets(server: RunningServer) -> tuple[str, str, str]:
    series = unique("KXLIM").upper()
    event = f"{series}-E"
    first, second = f"{event}-A", f"{event}-B"
    server.create_instruments(series, event, [first, second])
    limits = server.admin("POST", "/position_limits", {"series_ticker": series, "market_limit": 5, "event_limit": 8}).json()
    assert {"series_ticker": series, "market_limit_fp": "5.00", "event_limit_fp": "8.00"} in limits["series"]
    return series, first, second


def _order(ticker: str, count: int, price: int = 30) -> dict[str, Any]:
    return {"ticker": ticker, "side": "yes", "action": "buy", "count": count, "yes_price": price}


def _state(server: RunningServer, who: Member) -> tuple[int, list[str]]:
    auth = kalshi_v2(who.credentials)
    balance = server.get_ok(V2 + "/portfolio/balance", auth=auth)["balance"]
    orders = server.get_ok(V2 + "/portfolio/orders?status=resting", auth=auth)["orders"]
    return balance, sorted(o["order_id"] for o in orders)


def test_limits_refuse_orders_on_every_surface_with_nothing_changed(server: RunningServer) -> None:
    series, first, second = _limited_markets(server)
    who = server.new_member(f"limits-{time.time_ns()}@example.com")
    auth = kalshi_v2(who.credentials)
    assert server.request("POST", V2 + "/portfolio/orders", _order(first, 4), auth=auth).status == 201
    before = _state(server, who)

    refused = server.request("POST", V2 + "/portfolio/orders", _order(first, 2), auth=auth)
    assert refused.status == 400 and refused.error["code"] == "position_limit_exceeded", refused
    assert refused.error["details"] == (
        f"at most 5.00 contracts per member in {first}: the position is flat, and with this order and the "
        "resting bids it could reach 6.00 YES")
    assert _state(server, who) == before

    page = WebClient(server.port)
    assert page.log_in(who.email, who.password).status == 303
    on_page = page.api("POST", "/trade-api/v2/portfolio/orders", _order(first, 3))
    assert on_page.status == 400 and on_page.json()["error"]["code"] == "position_limit_exceeded", on_page
    assert _state(server, who) == before

    with FixClient(server.app.fix.port(Kind.ORDER_ENTRY), who.credentials, "KalshiNR").connect() as fix:
        fix.logon()
        fix.send("D", new_order("lim-1", first, "1", 30, 2))
        report = fix.wait(lambda m: m.msg_type == "8" and m.get(11) == "lim-1")
        assert (report[150], report[103]) == ("8", "3")
        assert report[58].startswith(f"EXCEEDED_POSITION_LIMIT: at most 5.00 contracts per member in {first}")
    assert _state(server, who) == before

    assert server.request("POST", V2 + "/portfolio/orders", _order(second, 4), auth=auth).status == 201
    event_refusal = server.request("POST", V2 + "/portfolio/orders", _order(second, 1), auth=auth)
    assert event_refusal.status == 400 and event_refusal.error["code"] == "position_limit_exceeded"
    assert "at most 8.00 contracts per member in event" in event_refusal.error["details"]
    assert "could reach 9.00" in event_refusal.error["details"]

    limits = server.get_ok(V2 + "/account/limits", auth=auth)["position_limits"]
    assert [(row["market_ticker"], row["market_limit_fp"], row["event_limit_fp"], row["position_fp"]) for row in limits] == [
        (first, "5.00", "8.00", "0.00"), (second, "5.00", "8.00", "0.00")]
    portfolio = page.get("/portfolio").body.decode()
    table = portfolio[portfolio.index('<table id="position-limits">'):]
    assert f"<td>{first}</td>" in table and f"<td>{second}</td>" in table and '<td class="num">8.00</td>' in table
    details = json.loads((server.data_dir / "operator.json").read_text())
    console = WebClient(server.port)
    assert console.log_in(details["email"], details["password"]).status == 303
    markets = console.get("/operator").body.decode()
    assert f"<td>{series} (series)</td>" in markets and 'id="limits-form"' in markets


def test_a_market_limit_overrides_its_series_and_selling_back_is_never_refused(server: RunningServer) -> None:
    _series, first, _second = _limited_markets(server)
    assert server.admin("POST", "/position_limits", {"market_ticker": first, "market_limit": 2}).status == 200
    listed = server.admin("GET", "/position_limits").json()
    assert {"market_ticker": first, "market_limit_fp": "2.00"} in listed["markets"]
    who = server.new_member(f"limits-sell-{time.time_ns()}@example.com")
    auth = kalshi_v2(who.credentials)
    seller = server.funded_account()
    server.trade(seller, first, False, 3_000, 2)  # asks 2 at 30c: the member's bid fills
    assert server.request("POST", V2 + "/portfolio/orders", _order(first, 2), auth=auth).status == 201
    more = server.request("POST", V2 + "/portfolio/orders", _order(first, 1, 20), auth=auth)
    assert more.status == 400 and "the position is 2.00 YES" in more.error["details"], more
    selling = server.request("POST", V2 + "/portfolio/orders", {
        "ticker": first, "side": "yes", "action": "sell", "count": 2, "yes_price": 90}, auth=auth)
    assert selling.status == 201, selling


def test_the_operator_api_refuses_bad_limits(server: RunningServer) -> None:
    series, first, _ = _limited_markets(server)
    cases = [
        ({"market_limit": 5}, 400), ({"series_ticker": series, "market_ticker": first, "market_limit": 5}, 400),
        ({"series_ticker": "KXNOSUCH", "market_limit": 5}, 404), ({"market_ticker": first, "event_limit": 5}, 400),
        ({"series_ticker": series, "market_limit": -1}, 400), ({"series_ticker": series, "market_limit": "5"}, 400),
    ]
    for body, status in cases:
        assert server.admin("POST", "/position_limits", body, expect=status).status == status, body
    who = server.new_member(f"limits-member-{time.time_ns()}@example.com")
    assert server.request("POST", ADMIN + "/position_limits", {"series_ticker": series, "market_limit": 1},
                          auth=kalshi_v2(who.credentials)).status == 403
