"""The Kalshi WebSocket `communications` channel: every subscriber hears of RFQs (an obscured creator
stays hidden from all but its creator), only a quote's maker and requester hear of it, and each side
of an executed quote gets its own order id, the one its fill carries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integration.server_fixture import V2, Member, RunningServer, kalshi_v2, running_server
from integration.ws_support import barrier, kalshi_ws, make_markets, subscribe
from predictex.accounts.members import ScryptCost

OBSCURED = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(Path(tmp_path_factory.mktemp("ws-communications")), rate_limits=False) as running:
        exchange = running.app.exchange
        assert exchange is not None
        exchange.accounts.members._cost = ScryptCost(log2_n=10)  # test members: a cheap password hash
        yield running


def _member(server: RunningServer, name: str) -> Member:
    member = server.new_member(f"{name}@ws-comms.test", key_type="ed25519")
    server.admin("POST", f"/members/{member.member_id}/deposits", {"amount_cents": 10_000}, expect=201)
    return member


def _call(server: RunningServer, member: Member, method: str, path: str, body: Any = None) -> Any:
    reply = server.request(method, V2 + path, body, auth=kalshi_v2(member.credentials))
    assert reply.status in (200, 201, 204), reply
    return reply.json() if reply.status != 204 else None


def test_rfqs_reach_everyone_quotes_only_their_two_sides(server: RunningServer) -> None:
    requester, maker, other = (_member(server, name) for name in ("requester", "maker", "other"))
    [ticker] = make_markets(server, prefix="KXWSRFQ")
    ids = {who: _call(server, m, "GET", "/communications/id")["communications_id"]
           for who, m in (("requester", requester), ("maker", maker), ("other", other))}
    with kalshi_ws(server, requester) as r_ws, kalshi_ws(server, maker) as m_ws, kalshi_ws(server, other) as o_ws:
        for ws in (r_ws, m_ws):
            subscribe(ws, ["communications"])
        subscribe(o_ws, ["communications", "trade"])
        rfq = _call(server, requester, "POST", "/communications/rfqs",
                    {"market_ticker": ticker, "contracts": 4, "rest_remainder": False, "obscure_creator_id": True})["id"]
        quote = _call(server, maker, "POST", "/communications/quotes",
                      {"rfq_id": rfq, "yes_bid": "0.45", "no_bid": "0.50", "rest_remainder": False})["id"]
        _call(server, requester, "PUT", f"/communications/rfqs/{rfq}/quotes/{quote}/accept", {"accepted_side": "yes"})
        _call(server, maker, "PUT", f"/communications/rfqs/{rfq}/quotes/{quote}/confirm")
        got = {who: barrier(ws) for who, ws in (("requester", r_ws), ("maker", m_ws), ("other", o_ws))}
    for messages in got.values():
        by_sid: dict[int, list[int]] = {}
        for m in messages:
            by_sid.setdefault(m["sid"], []).append(m["seq"])
        assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in by_sid.values())
    trades = [m for m in got["other"] if m["type"] == "trade"]
    assert [(t["msg"]["is_block_trade"], t["msg"]["count_fp"], t["msg"]["yes_price_dollars"]) for t in trades] == [(True, "4.00", "0.4500")]
    got["other"] = [m for m in got["other"] if m["type"] != "trade"]
    assert [m["type"] for m in got["other"]] == ["rfq_created", "rfq_deleted"]
    assert [m["type"] for m in got["maker"]] == ["rfq_created", "quote_created", "quote_accepted", "quote_executed", "rfq_deleted"]
    assert [m["type"] for m in got["requester"]] == ["rfq_created", "quote_created", "quote_accepted", "quote_executed", "rfq_deleted"]
    created = {who: messages[0]["msg"] for who, messages in got.items()}
    assert created["requester"]["creator_id"] == ids["requester"]
    assert created["maker"]["creator_id"] == created["other"]["creator_id"] == OBSCURED
    assert (created["other"]["id"], created["other"]["market_ticker"], created["other"]["contracts_fp"]) == (rfq, ticker, "4.00")
    quote_created = got["maker"][1]["msg"]
    assert (quote_created["quote_id"], quote_created["quote_creator_id"], quote_created["rfq_creator_id"]) == (quote, ids["maker"], OBSCURED)
    assert (quote_created["yes_bid_dollars"], quote_created["no_bid_dollars"], quote_created["yes_contracts_offered_fp"]) == (
        "0.4500", "0.5000", "4.00")
    accepted = got["requester"][2]["msg"]
    assert (accepted["accepted_side"], accepted["contracts_accepted_fp"], accepted["rfq_creator_id"]) == ("yes", "4.00", ids["requester"])
    executed = {who: got[who][3]["msg"] for who in ("requester", "maker")}
    assert executed["maker"]["rfq_creator_id"] == ids["requester"], "execution reveals the requester"
    assert executed["requester"]["order_id"] != executed["maker"]["order_id"]
    assert executed["requester"]["client_order_id"].startswith("rfq-quote-")
    for who, member in (("requester", requester), ("maker", maker)):
        [fill] = _call(server, member, "GET", f"/portfolio/fills?ticker={ticker}")["fills"]
        assert fill["order_id"] == executed[who]["order_id"]
