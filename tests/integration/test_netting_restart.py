"""A subaccount without netting survives a restart: the second server, recovered from the first one's
journal (and, on a third start, from the snapshot the second wrote at its clean stop), answers the netting
setting, both sides held in a live market, the settlement of a market held on both sides and every
balance exactly as the first did."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from integration.server_fixture import RunningServer, running_server
from integration.trading_helpers import Trader, make_markets, new_trader, settle

READS = ("/portfolio/subaccounts/netting", "/portfolio/subaccounts/balances", "/portfolio/positions?subaccount=1",
         "/portfolio/settlements?subaccount=1", "/portfolio/positions?subaccount=1&settlement_status=settled")


def _hedge(erin: Trader, frank: Trader, ticker: str) -> None:
    """Erin's subaccount 1 buys 5 YES at $0.30, then 5 NO at $0.60 (a YES bid of $0.40 hit)."""
    frank.rest(ticker, "ask", "5", "0.3000")
    assert erin.v2(ticker, "bid", "5", "0.3000", subaccount=1).status == 201
    frank.rest(ticker, "bid", "5", "0.4000")
    assert erin.v2(ticker, "ask", "5", "0.4000", subaccount=1).status == 201


def _reads(erin: Trader) -> dict[str, Any]:
    answers = {path: erin.ok(path) for path in READS}
    for position in answers["/portfolio/positions?subaccount=1"]["market_positions"]:
        position.pop("last_updated_ts")
    return answers


def test_holdings_kept_apart_survive_a_restart(tmp_path: Path) -> None:
    with running_server(tmp_path, environment="prod") as first:
        erin, frank = new_trader(first, "erin", 10_000), new_trader(first, "frank", 10_000)
        live, settled = make_markets(first, 2)
        assert erin.call("POST", "/portfolio/subaccounts", {}).status == 201
        assert erin.call("POST", "/portfolio/subaccounts/transfer", {
            "client_transfer_id": str(uuid.uuid4()), "from_subaccount": 0, "to_subaccount": 1, "amount_cents": 5_000}).status == 200
        assert erin.call("PUT", "/portfolio/subaccounts/netting", {"subaccount_number": 1, "enabled": False}).status == 200
        _hedge(erin, frank, live)
        _hedge(erin, frank, settled)
        settle(first, settled, "yes")
        before = _reads(erin)
    held = before["/portfolio/positions?subaccount=1"]["market_positions"]
    assert [(p["ticker"], p["position_fp"], p["market_exposure_dollars"]) for p in held] == [
        (live, "5.00", "1.5000"), (live, "-5.00", "3.0000")]
    [paid] = before["/portfolio/settlements?subaccount=1"]["settlements"]
    assert (paid["ticker"], paid["yes_count_fp"], paid["no_count_fp"], paid["revenue"]) == (settled, "5.00", "5.00", 500)
    for _ in range(2):  # recovered from the journal, then from the snapshot of a clean stop
        with running_server(tmp_path, environment="prod") as again:
            after = _reads(_bound(erin, again))
        assert after == before


def _bound(trader: Trader, server: RunningServer) -> Trader:
    return replace(trader, server=server)
