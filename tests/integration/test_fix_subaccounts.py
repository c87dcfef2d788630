"""Subaccounts on FIX: AllocAccount (79) on a NewOrderSingle places the order in that subaccount (its
collateral, as REST shows), the ExecutionReports carry 79, a replace and a cancel find the order in
whichever subaccount holds it, and an AllocAccount that names no subaccount is rejected (103=15)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from integration.fix_client import FixClient, Received, new_order
from integration.server_fixture import DEMO_TICKER, V2, RunningServer, kalshi_v2, running_server
from predictex.gateways.fix import Kind


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("fix-subaccounts"), fix_ports="nr=0,rt=0,dc=0,md=0", rate_limits=False) as running:
        yield running


def _report(fix: FixClient, cl_ord_id: str, exec_type: str) -> Received:
    return fix.wait(lambda m: m.msg_type == "8" and m.get(11) == cl_ord_id and m.get(150) == exec_type)


def test_alloc_account_places_replaces_and_cancels_in_a_subaccount(server: RunningServer) -> None:
    who = server.new_member(f"fix-sub-{time.time_ns()}@example.com", tier="advanced")
    auth = kalshi_v2(who.credentials)
    assert server.request("POST", V2 + "/portfolio/subaccounts", {}, auth=auth).status == 201
    moved = server.request("POST", V2 + "/portfolio/subaccounts/transfer", {
        "client_transfer_id": str(uuid.uuid4()), "from_subaccount": 0, "to_subaccount": 1, "amount_cents": 2_000}, auth=auth)
    assert moved.status == 200, moved

    def sub_balance() -> tuple[int, str]:
        found = server.get_ok(f"{V2}/portfolio/balance?subaccount=1", auth=auth)
        return found["balance"], found["locked_dollars"]

    with FixClient(server.app.fix.port(Kind.ORDER_ENTRY), who.credentials, "KalshiNR").connect() as fix:
        fix.logon()
        fix.send("D", new_order("s1", DEMO_TICKER, "1", 10, 3, extra=[(79, 1)]))
        placed = _report(fix, "s1", "0")
        assert placed[79] == "1"
        assert sub_balance() == (1_970, "0.3000")  # 3 at 10c locked in subaccount 1
        [order] = [o for o in server.get_ok(f"{V2}/portfolio/orders?subaccount=1", auth=auth)["orders"] if o["order_id"] == placed[37]]
        assert order["subaccount_number"] == 1
        fix.send("G", [(11, "s2"), (41, "s1"), (55, DEMO_TICKER), (54, "1"), (40, "2"), (44, 11), (38, 3)])
        replaced = _report(fix, "s2", "5")
        assert (replaced[37], replaced[44], replaced[79]) == (placed[37], "11", "1")
        assert sub_balance() == (1_967, "0.3300")
        fix.send("F", [(11, "s3"), (41, "s2"), (55, DEMO_TICKER), (54, "1")])
        assert _report(fix, "s3", "4")[79] == "1"
        assert sub_balance() == (2_000, "0.0000")
        fix.send("D", new_order("p1", DEMO_TICKER, "1", 10, 1))
        assert _report(fix, "p1", "0").get(79) is None  # the primary account's order carries no AllocAccount
        for cl_ord_id, value in (("x1", 2), ("x2", 64), ("x3", "one")):
            fix.send("D", new_order(cl_ord_id, DEMO_TICKER, "1", 10, 1, extra=[(79, value)]))
            assert _report(fix, cl_ord_id, "8")[103] == "15"
