"""Kalshi's RFQ session (KalshiRFQ) against a real exchange: a requester's QuoteRequest reaches every
maker as a QuoteRequest; a maker's Quote is pending (QuoteStatusReport) and reaches the requester as a
Quote; the requester's AcceptQuote tells the maker (accepted, with the side and the window's end); the
maker's QuoteConfirm executes the trade, whose ExecutionReports reach both members' order-entry and
drop-copy sessions and whose fills REST shows to the cent. Refusals: a session Reject for a message
the dictionary refuses, a QuoteStatusReport (rejected or not found) or QuoteRequestReject for a
request the exchange refuses, and nothing changed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from integration.fix_client import FixClient, Received
from integration.server_fixture import Credentials, Member, RunningServer, kalshi_v2, running_server
from integration.trading_helpers import Trader, make_markets
from predictex.gateways.fix import Kind
from predictex.server import ids

FIX_PORTS = "nr=0,dc=0,rfq=0"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("fix-rfq"), environment="prod", fix_ports=FIX_PORTS, rate_limits=False) as running:
        yield running


def _member(server: RunningServer, name: str) -> Member:
    who = server.new_member(f"{name}-{time.time_ns()}@example.com")
    server.admin("POST", f"/members/{who.member_id}/deposits", {"amount_cents": 10_000}, expect=201)
    return who


def _another_key(server: RunningServer, who: Member) -> Member:
    """The same member with a second API key (one FIX session per key)."""
    exchange = server.app.exchange
    assert exchange is not None
    number = exchange.ids.from_uuid(ids.MEMBER, who.member_id)
    assert number is not None
    generated = server.on_loop(lambda: exchange.accounts.keys.generate(number, "second", "ed25519"))
    return Member(who.email, who.password, who.member_id, Credentials.from_pem(generated.key.key_id, generated.private_key_pem))


def _session(server: RunningServer, who: Member, kind: Kind, target: str, begin: str = "FIX.4.4") -> FixClient:
    fix = FixClient(server.app.fix.port(kind), who.credentials, target, begin).connect()
    fix.logon()
    return fix


def _rfq_session(server: RunningServer, who: Member, begin: str = "FIX.4.4") -> FixClient:
    return _session(server, who, Kind.RFQ, "KalshiRFQ", begin)


def _status(fix: FixClient, status: str, quote: str | None = None) -> Received:
    return fix.wait(lambda m: m.msg_type == "AI" and m.get(297) == status and (quote is None or m.get(117) == quote))


def _quote_request(fix: FixClient, client_id: str, ticker: str, qty: str = "3") -> None:
    fix.send("R", [(131, client_id), (146, 1), (55, ticker), (38, qty)])


def test_an_rfq_from_request_to_execution_over_fix(server: RunningServer) -> None:
    requester, maker, other = _member(server, "rfq-req"), _member(server, "rfq-mm"), _member(server, "rfq-mm2")
    [ticker] = make_markets(server, prefix="KXFIXRFQ")
    with _rfq_session(server, requester) as asker, _rfq_session(server, maker, "FIXT.1.1") as quoting, \
            _rfq_session(server, other) as watching, \
            _session(server, _another_key(server, requester), Kind.ORDER_ENTRY, "KalshiNR") as asker_orders, \
            _session(server, _another_key(server, maker), Kind.DROP_COPY, "KalshiDC") as maker_drop:
        client_id = str(uuid.uuid4())
        _quote_request(asker, client_id, ticker)
        mine = asker.wait(lambda m: m.msg_type == "R" and m.get(644) == client_id)
        rfq_id = mine[131]
        seen = quoting.wait(lambda m: m.msg_type == "R" and m.get(131) == rfq_id)
        assert (seen[55], seen[38], seen[146], seen.get(644)) == (ticker, "3.00", "1", None)
        assert seen[448] == mine[448]  # the requester's pseudonymous id, the same for everyone (not obscured)
        watching.wait(lambda m: m.msg_type == "R" and m.get(131) == rfq_id)

        quoting.send("S", [(117, "mm-quote-1"), (131, rfq_id), (55, ticker), (132, "40"), (133, "55")])
        pending = _status(quoting, "10")
        quote_id = pending[117]
        assert (pending[1166], pending[131], pending[132], pending[133], pending[38]) == ("mm-quote-1", rfq_id, "40", "55", "3.00")
        offered = asker.wait(lambda m: m.msg_type == "S" and m.get(117) == quote_id)
        assert (offered[131], offered[132], offered[133]) == (rfq_id, "40", "55")
        assert not [m for m in watching.drain() if m.msg_type in ("S", "AI")]  # makers never see each other's quotes

        asker.send("UA", [(117, quote_id), (54, "1")])  # buy YES at 40 cents
        accepted = _status(quoting, "0", quote_id)
        assert (accepted[54], accepted[38], accepted[132]) == ("1", "3.00", "40") and accepted.get(126)

        quoting.send("U7", [(117, quote_id)])
        taker = asker_orders.wait(lambda m: m.msg_type == "8" and m.get(150) == "F")
        maker_fill = maker_drop.wait(lambda m: m.msg_type == "8" and m.get(150) == "F")
        assert (taker[31], taker[32], taker[54], taker[11]) == ("40", "3.00", "1", f"rfq-quote-{int(quote_id[-12:], 16)}")
        assert (maker_fill[31], maker_fill[32], maker_fill[54]) == ("40", "3.00", "2")
        assert taker[880] == maker_fill[880]  # one trade

    fills = Trader(server, requester, kalshi_v2(requester.credentials)).fills(f"ticker={ticker}")
    assert [(f["side"], f["action"], f["count_fp"], f["yes_price_dollars"]) for f in fills] == [("yes", "buy", "3.00", "0.4000")]
    quote = Trader(server, maker, kalshi_v2(maker.credentials)).ok(f"/communications/quotes/{quote_id}")["quote"]
    assert quote["status"] == "executed"


def test_an_obscured_requester_and_a_withdrawn_quote(server: RunningServer) -> None:
    requester, maker = _member(server, "rfq-obs"), _member(server, "rfq-obs-mm")
    [ticker] = make_markets(server, prefix="KXFIXOBS")
    with _rfq_session(server, requester) as asker, _rfq_session(server, maker) as quoting:
        reply = Trader(server, requester, kalshi_v2(requester.credentials)).call("POST", "/communications/rfqs", {
            "market_ticker": ticker, "target_cost_dollars": "5.00", "rest_remainder": False, "obscure_creator_id": True})
        assert reply.status == 201, reply
        rfq_id = reply.json()["id"]
        mine = asker.wait(lambda m: m.msg_type == "R" and m.get(131) == rfq_id)
        theirs = quoting.wait(lambda m: m.msg_type == "R" and m.get(131) == rfq_id)
        assert theirs[448] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" != mine[448]
        assert (theirs[152], theirs.get(38)) == ("5.0000", None)
        quoting.send("S", [(117, "q"), (131, rfq_id), (55, ticker), (132, "50"), (133, "0")])
        quote_id = _status(quoting, "10")[117]
        quoting.send("Z", [(117, quote_id)])
        cancelled = _status(quoting, "6", quote_id)  # FIX 4.4 has no 17 (canceled): removed from market
        assert cancelled[58] == "deleted"
        gone = asker.wait(lambda m: m.msg_type == "AI" and m.get(117) == quote_id)
        assert (gone[297], gone[58]) == ("6", "deleted")


def test_refusals_answer_clearly_and_change_nothing(server: RunningServer) -> None:
    requester, maker = _member(server, "rfq-bad"), _member(server, "rfq-bad-mm")
    [ticker] = make_markets(server, prefix="KXFIXBAD")
    rest = Trader(server, maker, kalshi_v2(maker.credentials))
    with _rfq_session(server, requester) as asker, _rfq_session(server, maker) as quoting:
        _quote_request(asker, "no-such-market", "KXNOPE-1")
        refused = asker.wait(lambda m: m.msg_type == "AG")
        assert (refused[131], refused[658], refused[58].split(":")[0]) == ("no-such-market", "1", "MARKET_NOT_FOUND")
        asker.send("R", [(131, "both"), (146, 1), (55, ticker), (38, "3"), (152, "5")])
        assert asker.wait(lambda m: m.msg_type == "AG" and m.get(131) == "both")[58].startswith("INVALID_RFQ")
        asker.send("R", [(131, "no-group")])  # NoRelatedSym missing: the dictionary's, a session Reject
        reject = asker.wait_type("3")
        assert (reject[373], reject[371]) == ("1", "146")

        _quote_request(asker, "ok", ticker)
        rfq_id = asker.wait(lambda m: m.msg_type == "R" and m.get(644) == "ok")[131]
        quoting.wait(lambda m: m.msg_type == "R" and m.get(131) == rfq_id)
        asker.send("S", [(117, "own"), (131, rfq_id), (55, ticker), (132, "40"), (133, "55")])
        own = _status(asker, "5")
        assert own[58].startswith("INVALID_QUOTE") and (own[117], own[55]) == ("own", ticker)  # its own QuoteID: it has no other
        quoting.send("S", [(117, "x"), (131, str(uuid.uuid4())), (55, ticker), (132, "40"), (133, "55")])
        assert _status(quoting, "9")[58].startswith("RFQ_NOT_FOUND")
        quoting.send("S", [(117, "x"), (131, rfq_id), (55, "KXOTHER-1"), (132, "40"), (133, "55")])
        assert "not the RFQ's market" in _status(quoting, "5")[58]
        quoting.send("S", [(117, "x"), (131, rfq_id), (55, ticker), (132, "0"), (133, "0")])
        assert _status(quoting, "5")[58].startswith("INVALID_ORDER")
        quoting.send("S", [(117, "x"), (131, rfq_id), (55, ticker), (132, "abc"), (133, "40")])
        reject = quoting.wait_type("3")
        assert (reject[373], reject[371]) == ("6", "132")
        quoting.send("U7", [(117, str(uuid.uuid4()))])
        assert _status(quoting, "9")[58].startswith("QUOTE_NOT_FOUND")
        assert rest.ok(f"/communications/quotes?rfq_id={rfq_id}")["quotes"] == []

        quoting.send("S", [(117, "good"), (131, rfq_id), (55, ticker), (132, "40"), (133, "55")])
        quote_id = _status(quoting, "10")[117]
        quoting.send("U7", [(117, quote_id)])  # not accepted yet
        assert _status(quoting, "5", quote_id)[58].startswith("INVALID_QUOTE_STATE")
        quoting.send("UA", [(117, quote_id), (54, "1")])  # the maker cannot accept its own quote
        assert _status(quoting, "5", quote_id)[58].startswith("INVALID_QUOTE")
        asker.send("UA", [(117, quote_id), (54, "3")])
        assert (asker.wait_type("3")[373]) == "5"
        assert rest.ok(f"/communications/quotes/{quote_id}")["quote"]["status"] == "open"
