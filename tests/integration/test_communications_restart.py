"""RFQs, quotes and block-trade proposals, open and closed, read the same after a restart, on SQLite and
on PostgreSQL, and again after the read model's history is rebuilt from the journal: every list (each
page of it) and every get, for each member, byte for byte."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integration.server_fixture import RunningServer, postgres_database, running_server
from integration.trading_helpers import Trader, make_markets, new_trader
from predictex.journal.journal import open_store
from predictex.readmodel.history import HISTORY_VERSION


def _rfq(trader: Trader, ticker: str, **body: object) -> str:
    sized = {} if "target_cost_dollars" in body else {"contracts": 3}
    reply = trader.call("POST", "/communications/rfqs", {"market_ticker": ticker, **sized, "rest_remainder": False, **body})
    assert reply.status == 201, reply
    return str(reply.json()["id"])


def _quote(trader: Trader, rfq: str, yes: str, no: str) -> str:
    reply = trader.call("POST", "/communications/quotes", {"rfq_id": rfq, "yes_bid": yes, "no_bid": no, "rest_remainder": False})
    assert reply.status == 201, reply
    return str(reply.json()["id"])


def _propose(proposer: Trader, buyer: Trader, seller: Trader, ticker: str, price_centicents: int) -> str:
    expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600))
    reply = proposer.call("POST", "/communications/block-trade-proposals", {
        "buyer_user_id": buyer.member.member_id, "seller_user_id": seller.member.member_id, "market_ticker": ticker,
        "price_centi_cents": price_centicents, "centicount": 200, "maker_side": "yes", "expiration_ts": expiration})
    assert reply.status == 201, reply
    return str(reply.json()["block_trade_proposal_id"])


def _story(server: RunningServer) -> tuple[list[Trader], list[str], list[str]]:
    """Three members' RFQs, quotes and proposals in every state: (the members, the RFQ ids, the quote ids)."""
    a, b, c = (new_trader(server, f"restart-{name}", 10_000) for name in "abc")
    [ticker] = make_markets(server, prefix="KXCOMMRS")
    executed = _rfq(a, ticker)
    replaced = _quote(b, executed, "0.30", "0.60")
    lost = _quote(c, executed, "0.35", "0.55")
    winner = _quote(b, executed, "0.40", "0.50")  # replaces b's first quote
    assert a.call("PUT", f"/communications/quotes/{winner}/accept", {"accepted_side": "yes"}).status == 204
    assert b.call("PUT", f"/communications/quotes/{winner}/confirm").status == 204  # executes; c's quote is cancelled
    deleted = _rfq(a, ticker, obscure_creator_id=True, contracts=2)
    withdrawn = _quote(c, deleted, "0.20", "0.70")
    assert c.call("DELETE", f"/communications/quotes/{withdrawn}").status == 204
    assert a.call("DELETE", f"/communications/rfqs/{deleted}").status == 204
    open_rfq = _rfq(b, ticker, target_cost_dollars="5.00", obscure_creator_id=True)
    waiting = _quote(a, open_rfq, "0.45", "0.45")
    accepted = _quote(c, open_rfq, "0.25", "0.65")
    assert b.call("PUT", f"/communications/rfqs/{open_rfq}/quotes/{accepted}/accept", {"accepted_side": "no"}).status == 204
    done = _propose(a, a, b, ticker, 4000)
    assert b.call("POST", f"/communications/block-trade-proposals/{done}/accept").status == 204
    refused = _propose(a, c, a, ticker, 5000)
    assert c.call("POST", f"/communications/block-trade-proposals/{refused}/reject").status == 204
    _propose(b, b, c, ticker, 6000)  # stays pending
    return [a, b, c], [executed, deleted, open_rfq], [replaced, lost, winner, withdrawn, waiting, accepted]


def _pages(trader: Trader, path: str, key: str) -> list[Any]:
    pages = []
    cursor = ""
    while True:
        page = trader.ok(f"{path}{'&cursor=' + cursor if cursor else ''}")
        pages.append(page)
        cursor = page["cursor"]
        if not cursor:
            return pages
        assert page[key], page  # a cursor only after a full page


def _reads(server: RunningServer, traders: list[Trader], rfqs: list[str], quotes: list[str]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for index, member in enumerate(traders):
        trader = Trader(server, member.member, member.auth)
        for path, key in (
            ("/communications/rfqs?limit=100", "rfqs"), ("/communications/rfqs?limit=1", "rfqs"),
            ("/communications/rfqs?status=closed&limit=100", "rfqs"), ("/communications/rfqs?user_filter=self&limit=100", "rfqs"),
            ("/communications/quotes?limit=500", "quotes"), ("/communications/quotes?limit=2", "quotes"),
            ("/communications/quotes?status=cancelled&limit=500", "quotes"),
            ("/communications/block-trade-proposals?limit=100", "block_trade_proposals"),
            ("/communications/block-trade-proposals?limit=1", "block_trade_proposals"),
        ):
            seen[f"{index} {path}"] = _pages(trader, path, key)
        for rfq in rfqs:
            reply = trader.call("GET", f"/communications/rfqs/{rfq}")
            seen[f"{index} rfq {rfq}"] = (reply.status, reply.json())
        for quote in quotes:
            reply = trader.call("GET", f"/communications/quotes/{quote}")
            seen[f"{index} quote {quote}"] = (reply.status, reply.json())
    return seen


def _kinds(seen: dict[str, Any]) -> tuple[set[str], set[str], set[str]]:
    """The RFQ, quote and proposal statuses member 0 and 1 can read (together: every state the story made)."""
    rfqs = {r["status"] for key in ("0", "1") for page in seen[f"{key} /communications/rfqs?limit=100"] for r in page["rfqs"]}
    quotes = {q.get("cancellation_reason", q["status"]) for key in ("0", "1", "2")
              for page in seen[f"{key} /communications/quotes?limit=500"] for q in page["quotes"]}
    proposals = {p["status"] for key in ("0", "1")
                 for page in seen[f"{key} /communications/block-trade-proposals?limit=100"] for p in page["block_trade_proposals"]}
    return rfqs, quotes, proposals


@contextlib.contextmanager
def _database(kind: str) -> Iterator[str]:
    if kind == "postgres":
        with postgres_database() as url:
            yield url
    else:
        yield ""


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_communications_read_the_same_after_a_restart_and_a_history_rebuild(tmp_path: Path, kind: str) -> None:
    with _database(kind) as database_url:
        with running_server(tmp_path, environment="prod", database_url=database_url) as first:
            traders, rfqs, quotes = _story(first)
            before = _reads(first, traders, rfqs, quotes)
            location = first.config.database_url
        assert _kinds(before) == (
            {"open", "closed"}, {"replaced", "rfq_closed", "executed", "deleted", "open", "accepted"}, {"executed", "rejected", "pending"},
        )
        with running_server(tmp_path, environment="prod", database_url=database_url) as second:
            assert _reads(second, traders, rfqs, quotes) == before
        store = open_store(location)
        try:
            assert store.query("SELECT COUNT(*) FROM quotes") == [(6,)]
            store.set_meta("history_version", str(int(HISTORY_VERSION) - 1))  # the next start drops and rebuilds the history
        finally:
            store.close()
        with running_server(tmp_path, environment="prod", database_url=database_url) as third:
            assert _reads(third, traders, rfqs, quotes) == before
            b = Trader(third, traders[1].member, traders[1].auth)
            c = Trader(third, traders[2].member, traders[2].auth)
            assert c.call("PUT", f"/communications/quotes/{quotes[5]}/confirm").status == 204  # the accepted quote still executes
            assert b.ok(f"/communications/rfqs/{rfqs[2]}")["rfq"]["status"] == "closed"
