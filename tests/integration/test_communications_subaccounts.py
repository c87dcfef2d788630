"""RFQs, quotes and block trades from subaccounts, as Kalshi's CreateRFQRequest, CreateQuoteRequest,
block-trade proposals and accepts carry them: the subaccount's collateral pays and its position
holds the trade; accept and confirm act in the subaccount that made the RFQ or the quote (Kalshi's
accept and confirm carry none); each member sees its own subaccount and never the other side's, on
REST, on the WebSocket (`subaccount` on quote messages) and on FIX (AllocAccount 79 on QuoteRequest
and Quote; the executions' reports carry it); the member's communications id is one, whichever
subaccount acts. FIX's mass cancel and order groups follow AllocAccount too."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from integration.fix_client import FixClient, Received, new_order
from integration.server_fixture import Credentials, Member, RunningServer, running_server
from integration.trading_helpers import Trader, make_markets, new_trader
from integration.ws_support import barrier, kalshi_ws, subscribe
from predictex.gateways.fix import Kind
from predictex.server import ids as id_kinds


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("comms-subaccounts"), environment="prod", fix_ports="nr=0,dc=0,rfq=0",
                        rate_limits=False) as running:
        yield running


def _with_subaccount(server: RunningServer, name: str, cents: int) -> Trader:
    """A member holding $100 with subaccount 1 funded with `cents` of it."""
    trader = new_trader(server, name, 10_000)
    assert trader.call("POST", "/portfolio/subaccounts", {}).status == 201
    moved = trader.call("POST", "/portfolio/subaccounts/transfer", {
        "client_transfer_id": str(uuid.uuid4()), "from_subaccount": 0, "to_subaccount": 1, "amount_cents": cents})
    assert moved.status == 200, moved
    return trader


def _balance(trader: Trader, subaccount: int) -> int:
    found: int = trader.ok(f"/portfolio/balance?subaccount={subaccount}")["balance"]
    return found


def _position(trader: Trader, ticker: str, subaccount: int) -> str:
    found = trader.ok(f"/portfolio/positions?ticker={ticker}&subaccount={subaccount}")["market_positions"]
    return str(found[0]["position_fp"]) if found else "0.00"


def _write(trader: Trader, method: str, path: str, body: Any = None) -> Any:
    reply = trader.call(method, path, body)
    assert reply.status in (200, 201, 204), reply
    return reply.json() if reply.status != 204 else None


def test_a_subaccount_requests_another_quotes_and_the_trade_is_theirs(server: RunningServer) -> None:
    requester, maker = _with_subaccount(server, "sub-rfq", 5_000), _with_subaccount(server, "sub-mm", 3_000)
    [ticker] = make_markets(server, prefix="KXSUBRFQ")
    ids = {who: t.ok("/communications/id")["communications_id"] for who, t in (("requester", requester), ("maker", maker))}
    with kalshi_ws(server, requester.member) as r_ws, kalshi_ws(server, maker.member) as m_ws:
        for ws in (r_ws, m_ws):
            subscribe(ws, ["communications"])
        rfq = _write(requester, "POST", "/communications/rfqs",
                     {"market_ticker": ticker, "contracts": 10, "rest_remainder": False, "subaccount": 1})["id"]
        refused = requester.call("POST", "/communications/quotes", {"rfq_id": rfq, "yes_bid": "0.40", "no_bid": "0",
                                                                     "rest_remainder": False, "subaccount": 0})
        assert refused.status == 400 and "own request" in refused.json()["error"]["details"], refused  # never its own RFQ
        quote = _write(maker, "POST", "/communications/quotes",
                       {"rfq_id": rfq, "yes_bid": "0.40", "no_bid": "0.50", "rest_remainder": False, "subaccount": 1})["id"]
        own = maker.call("PUT", f"/communications/rfqs/{rfq}/quotes/{quote}/accept", {"accepted_side": "yes"})
        assert own.status == 400 and "requester accepts" in own.json()["error"]["details"], own  # the maker's subaccount made it
        _write(requester, "PUT", f"/communications/rfqs/{rfq}/quotes/{quote}/accept", {"accepted_side": "yes"})
        _write(maker, "PUT", f"/communications/rfqs/{rfq}/quotes/{quote}/confirm")
        got = {who: barrier(ws) for who, ws in (("requester", r_ws), ("maker", m_ws))}

    # the subaccounts paid and hold the trade; the primary accounts are untouched
    assert _balance(requester, 1) == 5_000 - 400 - 17 and _balance(requester, 0) == 5_000  # $4.00 + a $0.17 taker fee
    assert _balance(maker, 1) == 3_000 - 600 and _balance(maker, 0) == 7_000
    assert (_position(requester, ticker, 1), _position(requester, ticker, 0)) == ("10.00", "0.00")
    assert (_position(maker, ticker, 1), _position(maker, ticker, 0)) == ("-10.00", "0.00")
    [fill] = requester.ok(f"/portfolio/fills?ticker={ticker}")["fills"]
    assert fill.get("subaccount_number", 1) == 1

    # REST: each sees its own subaccount, never the other's; the communications id is the member's
    mine = requester.ok(f"/communications/rfqs/{rfq}")["rfq"]
    assert (mine["creator_subaccount"], mine["creator_id"]) == (1, ids["requester"])
    for who, view in (("requester", requester.ok(f"/communications/quotes/{quote}")["quote"]),
                      ("maker", maker.ok(f"/communications/quotes/{quote}")["quote"])):
        assert (view["creator_id"], view["rfq_creator_id"]) == (ids["maker"], ids["requester"])
        assert view.get("rfq_creator_subaccount") == (1 if who == "requester" else None)
        assert view.get("creator_subaccount") == (1 if who == "maker" else None)
    listed = {r["id"] for r in requester.ok("/communications/rfqs?status=closed&subaccount=1")["rfqs"]}
    assert rfq in listed and rfq not in {r["id"] for r in requester.ok("/communications/rfqs?status=closed&subaccount=0")["rfqs"]}
    assert rfq in {r["id"] for r in requester.ok("/communications/rfqs?status=closed")["rfqs"]}  # omitted: every subaccount
    assert quote in {q["id"] for q in maker.ok("/communications/quotes?subaccount=1")["quotes"]}
    assert quote not in {q["id"] for q in maker.ok("/communications/quotes?subaccount=0")["quotes"]}

    # the WebSocket: quote messages carry the viewer's own subaccount
    for who in ("requester", "maker"):
        quotes = [m for m in got[who] if m["type"] in ("quote_created", "quote_accepted", "quote_executed")]
        assert [m["type"] for m in quotes] == ["quote_created", "quote_accepted", "quote_executed"], got[who]
        assert {m["msg"]["subaccount"] for m in quotes} == {1}
        assert {(m["msg"]["quote_creator_id"], m["msg"]["rfq_creator_id"]) for m in quotes} == {(ids["maker"], ids["requester"])}
    created = [m for m in got["maker"] if m["type"] == "rfq_created" and m["msg"]["id"] == rfq]
    assert created and created[0]["msg"]["creator_id"] == ids["requester"]


def test_a_subaccounts_collateral_is_checked_not_the_members(server: RunningServer) -> None:
    requester, maker = _with_subaccount(server, "sub-poor", 300), new_trader(server, "sub-rich-mm", 10_000)
    [ticker] = make_markets(server, prefix="KXSUBPOOR")
    rfq = _write(requester, "POST", "/communications/rfqs",
                 {"market_ticker": ticker, "contracts": 10, "rest_remainder": False, "subaccount": 1})["id"]
    quote = _write(maker, "POST", "/communications/quotes", {"rfq_id": rfq, "yes_bid": "0.40", "no_bid": "0", "rest_remainder": False})["id"]
    refused = requester.call("PUT", f"/communications/rfqs/{rfq}/quotes/{quote}/accept", {"accepted_side": "yes"})
    assert refused.status == 400 and refused.json()["error"]["code"] == "insufficient_balance", refused  # $4+ > the $3 held there
    assert maker.ok(f"/communications/quotes/{quote}")["quote"]["status"] == "open"
    missing = requester.call("POST", "/communications/rfqs", {"market_ticker": ticker, "contracts": 1, "rest_remainder": False,
                                                              "subaccount": 7})
    assert missing.status == 400 and "subaccount 7" in missing.json()["error"]["message"]


def test_a_block_trade_between_subaccounts(server: RunningServer) -> None:
    buyer, seller = _with_subaccount(server, "sub-blk-b", 2_000), _with_subaccount(server, "sub-blk-s", 2_000)
    [ticker] = make_markets(server, prefix="KXSUBBLK")
    seller_id = seller.member.member_id
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    terms = {"buyer_user_id": buyer.member.member_id, "seller_user_id": seller_id, "market_ticker": ticker,
             "price_centi_cents": 3_000, "centicount": 500, "maker_side": "yes", "expiration_ts": expires}
    refused = buyer.call("POST", "/communications/block-trade-proposals", {**terms, "buyer_subaccount": 1, "seller_subaccount": 1})
    assert refused.status == 400, refused  # the other side chooses its own subaccount when it accepts
    proposal = _write(buyer, "POST", "/communications/block-trade-proposals", {**terms, "buyer_subaccount": 1})["block_trade_proposal_id"]
    _write(seller, "POST", f"/communications/block-trade-proposals/{proposal}/accept", {"subaccount": 1})
    assert (_position(buyer, ticker, 1), _position(seller, ticker, 1)) == ("5.00", "-5.00")
    assert (_position(buyer, ticker, 0), _position(seller, ticker, 0)) == ("0.00", "0.00")
    assert _balance(buyer, 0) == 8_000 and _balance(seller, 0) == 8_000
    [listed] = [p for p in seller.ok("/communications/block-trade-proposals")["block_trade_proposals"] if p["id"] == proposal]
    assert (listed["status"], listed["seller_user_id"], listed["buyer_user_id"]) == ("executed", seller_id, "")


def _fix(server: RunningServer, trader: Trader, kind: Kind, target: str, member: Member | None = None) -> FixClient:
    fix = FixClient(server.app.fix.port(kind), (member or trader.member).credentials, target).connect()
    fix.logon()
    return fix


def _second_key(server: RunningServer, trader: Trader) -> Member:
    """The same member with a second API key (one FIX session per key)."""
    exchange = server.app.exchange
    assert exchange is not None
    number = exchange.ids.from_uuid(id_kinds.MEMBER, trader.member.member_id)
    assert number is not None
    generated = server.on_loop(lambda: exchange.accounts.keys.generate(number, "drop copy", "ed25519"))
    who = trader.member
    return Member(who.email, who.password, who.member_id, Credentials.from_pem(generated.key.key_id, generated.private_key_pem))


def test_fix_rfqs_quotes_mass_cancel_and_groups_follow_alloc_account(server: RunningServer) -> None:
    requester, maker = _with_subaccount(server, "sub-fix", 5_000), _with_subaccount(server, "sub-fix-mm", 5_000)
    [ticker] = make_markets(server, prefix="KXSUBFIX")
    with _fix(server, requester, Kind.RFQ, "KalshiRFQ") as asker, _fix(server, maker, Kind.RFQ, "KalshiRFQ") as quoting, \
            _fix(server, requester, Kind.DROP_COPY, "KalshiDC", _second_key(server, requester)) as drop:
        asker.send("R", [(131, "ask-1"), (146, 1), (55, ticker), (38, "4"), (79, 1)])
        rfq_id = asker.wait(lambda m: m.msg_type == "R" and m.get(644) == "ask-1")[131]
        quoting.wait(lambda m: m.msg_type == "R" and m.get(131) == rfq_id)
        quoting.send("S", [(117, "q-1"), (131, rfq_id), (55, ticker), (132, "30"), (133, "60"), (79, 1)])
        quote_id = quoting.wait(lambda m: m.msg_type == "AI" and m.get(297) == "10")[117]
        asker.wait(lambda m: m.msg_type == "S" and m.get(117) == quote_id)
        asker.send("UA", [(117, quote_id), (54, "1")])
        quoting.wait(lambda m: m.msg_type == "AI" and m.get(297) == "0" and m.get(117) == quote_id)
        quoting.send("U7", [(117, quote_id)])
        fill = drop.wait(lambda m: m.msg_type == "8" and m.get(150) == "F")
        assert (fill[79], fill[32], fill[54]) == ("1", "4.00", "1")  # the requester's execution, in its subaccount 1
        quoting.send("R", [(131, "ask-2"), (146, 1), (55, ticker), (38, "4"), (79, 9)])
        refused = quoting.wait(lambda m: m.msg_type == "AG" and m.get(131) == "ask-2")
        assert "subaccount 9" in refused[58]
    assert (_position(requester, ticker, 1), _position(maker, ticker, 1)) == ("4.00", "-4.00")
    assert _balance(requester, 0) == 5_000 and _balance(maker, 0) == 5_000
    rfq = requester.ok(f"/communications/rfqs/{rfq_id}")["rfq"]
    assert rfq["creator_subaccount"] == 1

    with _fix(server, maker, Kind.ORDER_ENTRY, "KalshiNR") as orders:
        orders.send("UOG", [(11, "g1"), (20131, 1), (20132, "5"), (79, 1)])
        group = orders.wait(lambda m: m.msg_type == "UOH" and m.get(11) == "g1")
        assert group[79] == "1"
        groups = {g["id"] for g in maker.ok("/portfolio/order_groups?subaccount=1")["order_groups"]}
        assert group[20130] in groups and group[20130] not in {g["id"] for g in maker.ok("/portfolio/order_groups?subaccount=0")["order_groups"]}
        for cl_ord_id, alloc in (("o-sub", [(79, 1)]), ("o-primary", [])):
            orders.send("D", new_order(cl_ord_id, ticker, "1", 10, 1, extra=alloc))
            orders.wait(lambda m, c=cl_ord_id: m.msg_type == "8" and m.get(11) == c and m.get(150) == "0")
        orders.send("q", [(11, "mc-1"), (530, 7), (79, 1)])
        report: Received = orders.wait(lambda m: m.msg_type == "r" and m.get(11) == "mc-1")
        assert (report[531], report[533], report[79]) == ("7", "1", "1")  # the subaccount's one order, not the primary's
        cancelled = orders.wait(lambda m: m.msg_type == "8" and m.get(150) == "4")
        assert cancelled[11] == "o-sub"
    resting = maker.ok(f"/portfolio/orders?ticker={ticker}&status=resting")["orders"]
    assert [o["client_order_id"] for o in resting] == ["o-primary"]
