"""The communications endpoints refuse bad input clearly and change nothing: malformed JSON, wrong
types, ids this exchange never issued, unknown markets, fields that disagree; the obscured creator id;
a restart keeps open RFQs and quotes readable and their deadlines running."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from integration.server_fixture import RunningServer, running_server
from integration.trading_helpers import Trader, make_markets, new_trader, settle

OBSCURED = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("communications"), environment="prod") as running:
        yield running


@pytest.fixture(scope="module")
def traders(server: RunningServer) -> tuple[Trader, Trader]:
    return new_trader(server, "rfq-a", 10_000), new_trader(server, "rfq-b", 10_000)


def _rfq(trader: Trader, ticker: str, **body: object) -> str:
    reply = trader.call("POST", "/communications/rfqs", {"market_ticker": ticker, "contracts": 3, "rest_remainder": False, **body})
    assert reply.status == 201, reply
    return str(reply.json()["id"])


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/communications/rfqs", b"{not json", 400),
    ("/communications/rfqs", {"market_ticker": "NOPE", "contracts": 3, "rest_remainder": False}, 404),
    ("/communications/rfqs", {"market_ticker": "{ticker}", "rest_remainder": False}, 400),
    ("/communications/rfqs", {"market_ticker": "{ticker}", "contracts": 3}, 400),
    ("/communications/rfqs", {"market_ticker": "{ticker}", "contracts": "3", "rest_remainder": False}, 400),
    ("/communications/rfqs", {"market_ticker": "{ticker}", "contracts": 3, "contracts_fp": "4.00", "rest_remainder": False}, 400),
    ("/communications/rfqs", {"market_ticker": "{ticker}", "contracts": 3, "target_cost_dollars": "5.00", "rest_remainder": False}, 400),
    ("/communications/rfqs", {"market_ticker": "{ticker}", "contracts": 3, "rest_remainder": False, "subaccount": 2}, 400),
    ("/communications/quotes", {"rfq_id": "not-a-uuid", "yes_bid": "0.50", "no_bid": "0.40", "rest_remainder": False}, 400),
    ("/communications/quotes", {"rfq_id": "{rfq}", "yes_bid": 0.5, "no_bid": "0.40", "rest_remainder": False}, 400),
    ("/communications/quotes", {"rfq_id": "{rfq}", "yes_bid": "0.50", "rest_remainder": False}, 400),
    ("/communications/block-trade-proposals", {"buyer_user_id": "x", "seller_user_id": "y"}, 400),
])
def test_bad_writes_are_refused_and_change_nothing(server: RunningServer, traders: tuple[Trader, Trader], path: str,
                                                   body: object, status: int) -> None:
    a, b = traders
    [ticker] = make_markets(server, prefix="KXBADRFQ")
    rfq = _rfq(a, ticker)
    if isinstance(body, dict):
        body = {k: (v.replace("{ticker}", ticker).replace("{rfq}", rfq) if isinstance(v, str) else v) for k, v in body.items()}
    before = (a.ok("/communications/rfqs?limit=100"), b.ok("/communications/quotes"), a.cash_cents(), b.cash_cents())
    if isinstance(body, bytes):
        reply = server.request("POST", "/trade-api/v2" + path, raw=body, auth=b.auth)
    else:
        reply = b.call("POST", path, body)
    assert reply.status == status, reply
    assert set(reply.json()["error"]) >= {"code", "message"}
    assert (a.ok("/communications/rfqs?limit=100"), b.ok("/communications/quotes"), a.cash_cents(), b.cash_cents()) == before


def test_unknown_ids_are_not_found_or_bad_requests(traders: tuple[Trader, Trader]) -> None:
    a, _ = traders
    foreign = "00000000-0000-4000-8000-000000000001"
    assert a.call("GET", f"/communications/rfqs/{foreign}").status == 400
    assert a.call("GET", "/communications/quotes/nope").status == 400
    assert a.call("PUT", f"/communications/quotes/{foreign}/confirm").status == 400
    assert a.call("POST", f"/communications/block-trade-proposals/{foreign}/accept").status == 400


def test_an_obscured_creator_is_hidden_from_others_until_execution(server: RunningServer, traders: tuple[Trader, Trader]) -> None:
    a, b = traders
    [ticker] = make_markets(server, prefix="KXOBS")
    rfq = _rfq(a, ticker, obscure_creator_id=True)
    mine = a.ok(f"/communications/rfqs/{rfq}")["rfq"]
    theirs = b.ok(f"/communications/rfqs/{rfq}")["rfq"]
    assert mine["creator_id"] == a.ok("/communications/id")["communications_id"] and "creator_user_id" in mine
    assert theirs["creator_id"] == OBSCURED and "creator_user_id" not in theirs
    quote = b.call("POST", "/communications/quotes", {"rfq_id": rfq, "yes_bid": "0.50", "no_bid": "0.45", "rest_remainder": False}).json()["id"]
    assert b.ok(f"/communications/quotes/{quote}")["quote"]["rfq_creator_id"] == OBSCURED
    assert a.call("PUT", f"/communications/rfqs/{rfq}/quotes/{quote}/accept", {"accepted_side": "yes"}).status == 204
    assert b.ok(f"/communications/quotes/{quote}")["quote"]["rfq_creator_id"] == OBSCURED, "accepting does not reveal it"
    assert b.call("PUT", f"/communications/rfqs/{rfq}/quotes/{quote}/confirm").status == 204
    executed = b.ok(f"/communications/quotes/{quote}")["quote"]
    assert executed["status"] == "executed" and executed["rfq_creator_id"] == mine["creator_id"]
    [trade] = a.ok(f"/markets/trades?ticker={ticker}")["trades"]
    assert (trade["is_block_trade"], trade["count_fp"], trade["yes_price_dollars"]) == (True, "3.00", "0.5000")
    assert a.ok(f"/markets/trades?ticker={ticker}&is_block_trade=false")["trades"] == []
    assert [t["trade_id"] for t in a.ok(f"/markets/trades?ticker={ticker}&is_block_trade=true")["trades"]] == [trade["trade_id"]]


def test_a_restart_keeps_open_rfqs_and_quotes(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = tmp_path_factory.mktemp("communications-restart")
    with running_server(data, environment="prod") as server:
        a, b = new_trader(server, "restart-a", 10_000), new_trader(server, "restart-b", 10_000)
        [ticker] = make_markets(server, prefix="KXRESTART")
        rfq = _rfq(a, ticker)
        quote = b.call("POST", "/communications/quotes", {"rfq_id": rfq, "yes_bid": "0.30", "no_bid": "0.60", "rest_remainder": False}).json()["id"]
        assert a.call("PUT", f"/communications/quotes/{quote}/accept", {"accepted_side": "no"}).status == 204
        before = b.ok(f"/communications/quotes/{quote}")["quote"]
    with running_server(data, environment="prod") as server:
        a = Trader(server, a.member, a.auth)
        b = Trader(server, b.member, b.auth)
        after = b.ok(f"/communications/quotes/{quote}")["quote"]
        assert (after["status"], after["accepted_side"], after["yes_bid_dollars"]) == (before["status"], "no", "0.3000")
        assert a.ok(f"/communications/rfqs/{rfq}")["rfq"]["status"] == "open"
        assert b.call("PUT", f"/communications/quotes/{quote}/confirm").status == 204
        assert a.position(ticker) is not None and a.position(ticker)["position_fp"] == "-3.00"  # type: ignore[index]


def test_rfq_and_block_trades_reach_candlesticks_and_settle(server: RunningServer, traders: tuple[Trader, Trader]) -> None:
    """A quote's execution and a block trade are trades like any other: in the market's candle for
    their minute (volume, close), and paid out when the market settles."""
    a, b = traders
    [ticker] = make_markets(server, prefix="KXRFQSET")
    series = ticker.split("-")[0]
    start = int(time.time()) - 60
    rfq = _rfq(a, ticker)
    quote = b.call("POST", "/communications/quotes", {"rfq_id": rfq, "yes_bid": "0.30", "no_bid": "0.60", "rest_remainder": False}).json()["id"]
    assert a.call("PUT", f"/communications/quotes/{quote}/accept", {"accepted_side": "yes"}).status == 204
    assert b.call("PUT", f"/communications/quotes/{quote}/confirm").status == 204  # A buys 3 YES at $0.30
    expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 300))
    proposed = a.call("POST", "/communications/block-trade-proposals", {
        "buyer_user_id": a.member.member_id, "seller_user_id": b.member.member_id, "market_ticker": ticker,
        "price_centi_cents": 4000, "centicount": 200, "maker_side": "yes", "expiration_ts": expiration})
    assert proposed.status == 201, proposed
    assert b.call("POST", f"/communications/block-trade-proposals/{proposed.json()['block_trade_proposal_id']}/accept").status == 204
    end = int(time.time()) + 60
    candles = a.ok(f"/series/{series}/markets/{ticker}/candlesticks?start_ts={start}&end_ts={end}&period_interval=1")["candlesticks"]
    assert sum(float(c["volume_fp"]) for c in candles) == 5.0
    assert [c["price"]["close_dollars"] for c in candles if float(c["volume_fp"])][-1] == "0.4000"
    before = a.cash_cents()
    settle(server, ticker, "yes")
    [settled] = [s for s in a.ok("/portfolio/settlements")["settlements"] if s["ticker"] == ticker]
    assert (settled["yes_count_fp"], settled["revenue"]) == ("5.00", 500)
    assert a.cash_cents() == before + 500
