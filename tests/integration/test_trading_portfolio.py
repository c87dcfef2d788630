"""Portfolio reads over real HTTP (reference §4.3, §7): balance, positions (market and event, with
`settlement_status`, `count_filter`, ticker and event filters and a cursor), fills (newest first,
with fees, in the words each order was placed with), settlements, account limits and endpoint costs.
Every figure is checked against arithmetic written here (fees: reference §7.6) and every response
against Kalshi's OpenAPI document.

The story, in one market M of event E (plus a second market N in the same event):
  bob rests an ask of 10 at $0.40; alice buys 10 YES at 40c (taker): cost $4.00, fee
  0.07 x 10 x 0.40 x 0.60 = $0.168 -> balance change -$4.168, floored to -$4.17 (fee paid $0.17);
  bob rests a bid of 4 at $0.50; alice sells 4 YES at 50c (taker): proceeds $2.00, fee
  0.07 x 4 x 0.5 x 0.5 = $0.07 -> +$1.93; realized P&L $2.00 - 4/10 of $4.00 = $0.40;
  alice now holds 6 YES that cost $2.40, fees $0.24, total traded $4.00 + 4 x (1 - 0.50) = $6.00.
  Bob (maker, no maker fees on a quadratic series) opened 10 NO at $0.60 ($6.00) and closed 4 at
  $0.50 (+$2.00, realized -$0.40): -6 NO costing $3.60.
  In N alice buys and sells 2 at $0.30 with carol: flat, but traded.
Then M settles YES: alice is paid 6 x $1.00, bob nothing."""

from __future__ import annotations

import time
from typing import Any

import pytest

from integration.server_fixture import V2, RunningServer
from integration.trading_helpers import (
    Trader,
    cash_change_microdollars,
    conforms,
    event_of,
    make_markets,
    new_trader,
    prod_server,
    settle,
    trade_fee_microdollars,
)

ALICE_CENTS = 100_000  # $1,000.00


server = prod_server("portfolio")


@pytest.fixture(scope="module")
def story(server: RunningServer) -> dict[str, Any]:
    alice, bob, carol = (new_trader(server, name, ALICE_CENTS) for name in ("alice", "bob", "carol"))
    m, n = make_markets(server, 2)
    [elsewhere] = make_markets(server)
    bob.rest(m, "ask", "10", "0.40")
    bought = alice.legacy(m, "yes", "buy", 10, 40, client_order_id="alice-buy")
    assert bought.status == 201 and bought.json()["order"]["status"] == "executed", bought
    bob.rest(m, "bid", "4", "0.50")
    sold = alice.legacy(m, "yes", "sell", 4, 50, client_order_id="alice-sell")
    assert sold.status == 201 and sold.json()["order"]["status"] == "executed", sold
    carol.rest(n, "ask", "2", "0.30")
    assert alice.v2(n, "bid", "2", "0.30").status == 201
    carol.rest(n, "bid", "2", "0.30")
    assert alice.v2(n, "ask", "2", "0.30").status == 201
    resting = alice.rest(n, "bid", "3", "0.10")
    return {"alice": alice, "bob": bob, "carol": carol, "m": m, "n": n, "elsewhere": elsewhere, "resting": resting,
            "buy": bought.json()["order"]["order_id"], "sell": sold.json()["order"]["order_id"]}


def test_fees_written_out() -> None:
    """The arithmetic the story's figures come from, with Kalshi's rounding (reference §7.6)."""
    assert trade_fee_microdollars(10, 40) == 168_000  # $0.1680
    assert cash_change_microdollars(-4_000_000, 168_000) == -4_170_000
    assert trade_fee_microdollars(4, 50) == 70_000
    assert cash_change_microdollars(2_000_000, 70_000) == 1_930_000
    # N: 0.07 x 2 x 0.3 x 0.7 = 0.0294 each way: -0.6294 -> -0.63, then +0.5706 -> +0.57
    assert trade_fee_microdollars(2, 30) == 29_400
    assert cash_change_microdollars(-600_000, 29_400) == -630_000
    assert cash_change_microdollars(600_000, 29_400) == 570_000


def test_balance(server: RunningServer, story: dict[str, Any]) -> None:
    alice: Trader = story["alice"]
    balance = conforms(alice.call("GET", "/portfolio/balance"), "GET", "/portfolio/balance")
    # $1000 - 4.17 + 1.93 - 0.63 + 0.57 = $997.70 cash, with $0.30 (3 x 0.10) of it locked behind the resting bid
    assert (balance["balance"], balance["balance_dollars"], balance["locked_dollars"]) == (99_740, "997.4000", "0.3000")
    # six YES marked at M's last price ($0.50): $3.00
    assert (balance["portfolio_value"], balance["portfolio_value_dollars"]) == (300, "3.0000")
    assert abs(balance["updated_ts"] - time.time()) < 3600
    assert balance["balance_breakdown"] == [{"exchange_index": 0, "balance": "997.4000"}]
    assert alice.call("GET", "/portfolio/balance?subaccount=2").status == 400


def test_market_and_event_positions(server: RunningServer, story: dict[str, Any]) -> None:
    alice, bob, m, n = story["alice"], story["bob"], story["m"], story["n"]
    body = conforms(alice.call("GET", f"/portfolio/positions?event_ticker={event_of(m)}"), "GET", "/portfolio/positions")
    positions = {p["ticker"]: p for p in body["market_positions"]}
    assert positions[m] == {
        "ticker": m, "exchange_index": 0, "position_fp": "6.00", "position": 6, "market_exposure_dollars": "2.4000",
        "market_exposure": 240, "realized_pnl_dollars": "0.4000", "realized_pnl": 40, "fees_paid_dollars": "0.2400",
        "fees_paid": 24, "total_traded_dollars": "6.0000", "total_traded": 600, "resting_orders_count": 0,
        "last_updated_ts": positions[m]["last_updated_ts"],
    }
    # N: flat after a round trip at $0.30; fees $0.0294 + rounding, twice: 0.63 - 0.60 + 0.60 - 0.57 = $0.06
    assert (positions[n]["position_fp"], positions[n]["realized_pnl_dollars"], positions[n]["fees_paid_dollars"]) == ("0.00", "0.0000", "0.0600")
    assert positions[n]["resting_orders_count"] == 3
    [event] = body["event_positions"]
    assert event == {
        "event_ticker": event_of(m), "total_cost_dollars": "8.0000", "total_cost": 800, "total_cost_shares_fp": "18.00",
        "total_cost_shares": 18, "event_exposure_dollars": "2.4000", "event_exposure": 240, "realized_pnl_dollars": "0.4000",
        "realized_pnl": 40, "fees_paid_dollars": "0.3000", "fees_paid": 30, "resting_orders_count": 3,
    }
    bobs = bob.position(m)
    assert bobs is not None
    assert (bobs["position_fp"], bobs["market_exposure_dollars"], bobs["realized_pnl_dollars"], bobs["fees_paid_dollars"]) == (
        "-6.00", "3.6000", "-0.4000", "0.0000")


def test_position_filters_and_cursor(server: RunningServer, story: dict[str, Any]) -> None:
    alice, m, n = story["alice"], story["m"], story["n"]
    tickers = sorted([m, n])
    assert [p["ticker"] for p in alice.positions()["market_positions"]] == tickers
    assert [p["ticker"] for p in alice.positions("count_filter=position")["market_positions"]] == [m]
    assert [p["ticker"] for p in alice.positions("count_filter=total_traded")["market_positions"]] == tickers
    assert [p["ticker"] for p in alice.positions(f"ticker={n}")["market_positions"]] == [n]
    assert alice.positions(f"event_ticker={event_of(story['elsewhere'])}") == {"market_positions": [], "event_positions": [], "cursor": ""}
    first = alice.positions("limit=1")
    assert [p["ticker"] for p in first["market_positions"]] == tickers[:1] and first["cursor"]
    second = alice.positions(f"limit=1&cursor={first['cursor']}")
    assert [p["ticker"] for p in second["market_positions"]] == tickers[1:] and second["cursor"] == ""
    for bad in ("settlement_status=open", "count_filter=volume", "limit=0", "cursor=xyz"):
        assert alice.call("GET", f"/portfolio/positions?{bad}").status == 400, bad


def test_fills_newest_first_in_the_orders_own_words(server: RunningServer, story: dict[str, Any]) -> None:
    alice, m, n = story["alice"], story["m"], story["n"]
    body = conforms(alice.call("GET", "/portfolio/fills"), "GET", "/portfolio/fills")
    fills = body["fills"]
    assert [(f["ticker"], f["side"], f["action"], f["outcome_side"], f["book_side"], f["count_fp"], f["yes_price_dollars"]) for f in fills] == [
        (n, "no", "buy", "no", "ask", "2.00", "0.3000"),  # V2 ask: in legacy words, buy NO
        (n, "yes", "buy", "yes", "bid", "2.00", "0.3000"),
        (m, "yes", "sell", "no", "ask", "4.00", "0.5000"),
        (m, "yes", "buy", "yes", "bid", "10.00", "0.4000"),
    ]
    assert [f["fee_cost"] for f in fills] == ["0.0300", "0.0300", "0.0700", "0.1700"]
    assert all(f["is_taker"] for f in fills)
    sell = fills[2]
    assert (sell["order_id"], sell["client_order_id"], sell["yes_price"], sell["no_price"], sell["price"], sell["count"]) == (
        story["sell"], "alice-sell", 50, 50, 0.5, 4)
    assert sell["created_time"].endswith("Z") and isinstance(sell["ts"], int)
    # filters: ticker (comma list), order_id, time; a cursor
    assert [f["ticker"] for f in alice.fills(f"ticker={m}")] == [m, m]
    assert [f["order_id"] for f in alice.fills(f"order_id={story['buy']}")] == [story["buy"]]
    assert len(alice.fills(f"ticker={m},{n}")) == 4
    assert alice.fills(f"max_ts={int(time.time()) - 3600}") == []
    assert len(alice.fills(f"min_ts={int(time.time()) - 3600}")) == 4
    page = alice.ok("/portfolio/fills?limit=3")
    rest = alice.ok(f"/portfolio/fills?limit=3&cursor={page['cursor']}")
    assert [f["fill_id"] for f in page["fills"] + rest["fills"]] == [f["fill_id"] for f in fills] and rest["cursor"] == ""
    # bob's side of the first trade: a maker, no fee
    bobs = story["bob"].fills(f"ticker={m}")
    assert [(f["side"], f["action"], f["is_taker"], f["fee_cost"]) for f in bobs] == [("yes", "buy", False, "0.0000"),
                                                                                       ("no", "buy", False, "0.0000")]


def test_settlement_pays_and_moves_the_position_to_settled(server: RunningServer, story: dict[str, Any]) -> None:
    alice, bob, m, n = story["alice"], story["bob"], story["m"], story["n"]
    cash_before = alice.cash_cents()
    bob_before = bob.cash_cents()
    settle(server, m, "yes")
    assert alice.cash_cents() == cash_before + 600 and bob.cash_cents() == bob_before
    body = conforms(alice.call("GET", "/portfolio/settlements"), "GET", "/portfolio/settlements")
    [mine] = body["settlements"]
    assert {k: v for k, v in mine.items() if k != "settled_time"} == {
        "ticker": m, "event_ticker": event_of(m), "exchange_index": 0, "market_result": "yes", "predictex_result": "yes",
        "yes_count": 6, "yes_count_fp": "6.00", "yes_total_cost": 240, "yes_total_cost_dollars": "2.4000", "no_count": 0,
        "no_count_fp": "0.00", "no_total_cost": 0, "no_total_cost_dollars": "0.0000", "revenue": 600, "revenue_dollars": "6.0000",
        "fee_cost": "0.2400", "value": 100,
    }
    [bobs] = bob.ok("/portfolio/settlements")["settlements"]
    assert (bobs["no_count"], bobs["no_total_cost"], bobs["revenue"], bobs["market_result"]) == (6, 360, 0, "yes")
    assert alice.ok(f"/portfolio/settlements?ticker={n}")["settlements"] == []
    assert len(alice.ok(f"/portfolio/settlements?event_ticker={event_of(m)}")["settlements"]) == 1
    # M has left the unsettled positions; settled, it shows the P&L of its whole life
    assert [p["ticker"] for p in alice.positions()["market_positions"]] == [n]
    [settled] = alice.positions("settlement_status=settled")["market_positions"]
    # realized: $0.40 from the sale + ($6.00 paid - $2.40 cost) at settlement = $4.00; bob: -$0.40 - $3.60
    assert (settled["ticker"], settled["position_fp"], settled["realized_pnl_dollars"], settled["fees_paid_dollars"],
            settled["total_traded_dollars"], settled["market_exposure_dollars"]) == (m, "0.00", "4.0000", "0.2400", "6.0000", "0.0000")
    assert bob.positions("settlement_status=settled")["market_positions"][0]["realized_pnl_dollars"] == "-4.0000"
    assert [p["ticker"] for p in alice.positions("settlement_status=all")["market_positions"]] == sorted([m, n])
    # the market itself reads finalized with its result
    market = server.get_ok(f"{V2}/markets/{m}")["market"]
    assert (market["status"], market["result"]) == ("finalized", "yes")


def test_account_limits_and_endpoint_costs(server: RunningServer, story: dict[str, Any]) -> None:
    limits = story["alice"].ok("/account/limits")
    assert limits["usage_tier"] == "prestige"
    assert limits["read"] == {"refill_rate": 10_000, "bucket_capacity": 10_000}
    assert limits["write"] == {"refill_rate": 8_000, "bucket_capacity": 16_000}
    assert server.get("/trade-api/v2/account/limits").status == 401
    costs = server.get_ok(V2 + "/account/endpoint_costs")
    assert costs["default_cost"] == 10
    for entry in costs["endpoint_costs"]:
        assert set(entry) == {"method", "path", "cost"} and isinstance(entry["cost"], int)


def test_deposits_and_withdrawals_newest_first(server: RunningServer) -> None:
    dana = new_trader(server, "dana", 12_345)  # $123.45 deposited by the operator
    reply = server.admin("POST", f"/members/{dana.member.member_id}/withdrawals", {"amount_cents": 2_500}, expect=201)
    withdrawal_id = reply.json()["withdrawal_id"]
    server.admin("POST", f"/members/{dana.member.member_id}/deposits", {"amount_cents": 1_000, "reference": "adjustment"}, expect=201)
    deposits = dana.ok("/portfolio/deposits")["deposits"]
    assert [(d["amount_cents"], d.get("reference")) for d in deposits][:2] == [(1_000, "adjustment"), (12_345, None)]  # newest first
    deposit = deposits[1]
    assert (deposit["amount_cents"], deposit["status"], deposit["type"], deposit["fee_cents"]) == (12_345, "applied", "apm", 0)
    assert deposit["id"].startswith("deposit-") and deposit["created_ts"] == deposit["finalized_ts"]
    [withdrawal] = dana.ok("/portfolio/withdrawals")["withdrawals"]
    assert (withdrawal["id"], withdrawal["amount_cents"], withdrawal["status"], withdrawal["finalized_ts"]) == (
        withdrawal_id, 2_500, "pending", None)
    assert dana.ok("/portfolio/deposits")["cursor"] == ""
    first = dana.ok("/portfolio/deposits?limit=1")
    assert first["deposits"] == deposits[:1] and first["cursor"]
    rest = dana.ok(f"/portfolio/deposits?limit=500&cursor={first['cursor']}")
    assert rest["deposits"] == deposits[1:] and rest["cursor"] == ""
