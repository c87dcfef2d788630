"""The operator's API (admin role, /predictex/v1/admin) over real HTTP: creating series, events and
markets (seen at once on both public surfaces), pausing and resuming a market and the exchange,
moving close times, the result lifecycle (determine, dispute, amend, finalize) and what it pays,
deposits and withdrawals (at least $10, pending until completed or cancelled).

Positions come from orders submitted in-process through the sequencer (no order endpoint here yet);
balances are read from the read model, since the portfolio endpoints are not part of this suite."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from integration.server_fixture import DEMO_TICKER, V2, Member, RunningServer, kalshi_v2, running_server, unique
from predictex.core import commands as c
from predictex.core.limits import SETTLEMENT_TIMER_SECONDS_MAX

DOLLAR = 1_000_000  # microdollars


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("admin")) as running:
        yield running


@pytest.fixture(scope="module")
def member(server: RunningServer) -> Member:
    return server.new_member("trader@example.com", tier="prime")


def _cash(server: RunningServer, account: int) -> int:
    assert server.app.exchange is not None
    return int(server.app.exchange.live.balances[account].cash_microdollars)


def _market(server: RunningServer, ticker: str) -> dict[str, object]:
    market: dict[str, object] = server.get_ok(f"{V2}/markets/{ticker}")["market"]
    return market


def _new_market(server: RunningServer, *, timer_s: int = 0) -> str:
    """A market that opened an hour ago and closes in a day."""
    series, now = unique("KXA"), int(time.time())
    event = f"{series}-E"
    server.admin("POST", "/series", {"ticker": series, "title": "Admin tests"}, expect=201)
    server.admin("POST", "/events", {"event_ticker": event, "series_ticker": series, "title": "An event"}, expect=201)
    ticker = f"{event}-M"
    server.admin("POST", "/markets", {"ticker": ticker, "event_ticker": event, "title": "A market", "open_time": now - 3600,
                                      "close_time": now + 86_400, "settlement_timer_seconds": timer_s}, expect=201)
    return ticker


def _order(server: RunningServer, account: int, ticker: str, is_bid: bool, price_centicents: int, contracts: int) -> str | None:
    """Submit an order in-process; the engine's refusal code, or None when accepted."""
    committed = server.submit(c.CreateOrder(account, ticker, is_bid, price_centicents, contracts * 100))
    return None if committed.outcome.reject is None else committed.outcome.reject.code.value


# --- instruments ------------------------------------------------------------------------------------------

def test_created_instruments_show_on_both_surfaces(server: RunningServer) -> None:
    reply = server.admin("POST", "/series", {
        "ticker": "KXRAIN", "title": "Rain in Chicago", "category": "Climate and Weather", "frequency": "weekly",
        "fee_type": "quadratic_with_maker_fees", "fee_multiplier": "0.5", "tags": ["Weather", "Rain"],
        "settlement_sources": [{"name": "NWS", "url": "https://www.weather.gov/"}], "contract_url": "https://example.com/c.pdf",
    }, expect=201)
    assert reply.json() == {"series_ticker": "KXRAIN"}
    server.admin("POST", "/events", {"event_ticker": "KXRAIN-27MAY", "series_ticker": "KXRAIN", "title": "Rain in May",
                                     "sub_title": "Total inches", "mutually_exclusive": True, "strike_date": "2027-05-31T00:00:00Z"},
                 expect=201)
    created = server.admin("POST", "/markets", {
        "ticker": "KXRAIN-27MAY-B3", "event_ticker": "KXRAIN-27MAY", "title": "3 to 4 inches", "yes_sub_title": "3-4 in",
        "no_sub_title": "not 3-4 in", "open_time": "2026-01-01T00:00:00Z", "close_time": "2027-05-31T00:00:00Z",
        "price_level_structure": "deci_cent", "fractional_trading_enabled": True, "strike_type": "between", "floor_strike": "3",
        "cap_strike": "4", "rules_primary": "Resolves Yes if between 3 and 4 inches.", "settlement_timer_seconds": 600,
        "can_close_early": True,
    }, expect=201).json()
    assert created["ticker"] == "KXRAIN-27MAY-B3" and len(created["market_id"]) == 36
    series = server.get_ok(f"{V2}/series/KXRAIN")["series"]
    assert (series["fee_type"], series["fee_multiplier"], series["tags"], series["frequency"]) == (
        "quadratic_with_maker_fees", 0.5, ["Weather", "Rain"], "weekly")
    assert series["settlement_sources"] == [{"name": "NWS", "url": "https://www.weather.gov/"}]
    event = server.get_ok(f"{V2}/events/KXRAIN-27MAY")
    assert (event["event"]["collateral_return_type"], event["event"]["mutually_exclusive"]) == ("MECNET", True)
    assert event["event"]["strike_date"] == "2027-05-31T00:00:00Z"
    assert [m["ticker"] for m in event["markets"]] == ["KXRAIN-27MAY-B3"]
    market = event["markets"][0]
    assert (market["status"], market["open_time"], market["close_time"]) == ("active", "2026-01-01T00:00:00Z", "2027-05-31T00:00:00Z")
    assert (market["price_level_structure"], market["fractional_trading_enabled"], market["settlement_timer_seconds"]) == (
        "deci_cent", True, 600)
    assert (market["strike_type"], market["floor_strike"], market["cap_strike"]) == ("between", 3, 4)
    assert (market["yes_sub_title"], market["rules_primary"]) == ("3-4 in", "Resolves Yes if between 3 and 4 inches.")
    seed = server.get_ok("/v1/markets/KXRAIN-27MAY-B3")["market"]
    assert (seed["status"], seed["series_ticker"], seed["fractional_trading"]) == ("active", "KXRAIN", True)


@pytest.mark.parametrize(("path", "body", "status", "code"), [
    ("/series", {"ticker": "INXCHI", "title": "again"}, 409, "already_exists"),
    ("/series", {"ticker": "KXBAD", "fee_type": "percent"}, 400, "invalid_parameters"),
    ("/series", {"ticker": "bad ticker"}, 400, "invalid_parameters"),
    ("/series", {"title": "no ticker"}, 400, "missing_parameters"),
    ("/events", {"event_ticker": "KXNONE-E", "series_ticker": "KXNONE"}, 404, "not_found"),
    ("/events", {"event_ticker": "INXCHI-25JAN31", "series_ticker": "INXCHI"}, 409, "already_exists"),
    ("/markets", {"ticker": "KXNONE-E-M", "event_ticker": "KXNONE-E", "close_time": 4_000_000_000}, 404, "not_found"),
    ("/markets", {"ticker": DEMO_TICKER, "event_ticker": "INXCHI-25JAN31", "close_time": 4_000_000_000}, 409, "already_exists"),
    ("/markets", {"ticker": "INXCHI-25JAN31-X", "event_ticker": "INXCHI-25JAN31"}, 400, "missing_parameters"),
    ("/markets", {"ticker": "INXCHI-25JAN31-X", "event_ticker": "INXCHI-25JAN31", "close_time": 4_000_000_000,
                  "price_level_structure": "whole_dollar"}, 400, "invalid_parameters"),
])
def test_instrument_requests_that_are_refused(server: RunningServer, path: str, body: dict[str, object], status: int, code: str) -> None:
    reply = server.admin("POST", path, body)
    assert reply.status == status and reply.error["code"] == code, reply


def test_a_settlement_timer_past_its_limit_is_refused_naming_the_limit(server: RunningServer) -> None:
    """The request says the bound the engine holds (core/limits.py), not the bound of any integer."""
    body = {"ticker": "INXCHI-25JAN31-Y", "event_ticker": "INXCHI-25JAN31", "close_time": 4_000_000_000,
            "settlement_timer_seconds": SETTLEMENT_TIMER_SECONDS_MAX + 1}
    reply = server.admin("POST", "/markets", body)
    assert (reply.status, reply.error["message"]) == (400, f"settlement_timer_seconds must be between 0 and {SETTLEMENT_TIMER_SECONDS_MAX}"), reply


# --- switches ---------------------------------------------------------------------------------------------

def test_pause_and_resume_a_market(server: RunningServer) -> None:
    ticker = _new_market(server)
    account = server.funded_account()
    assert server.admin("POST", f"/markets/{ticker}/pause", expect=200).json() == {"ticker": ticker, "status": "inactive"}
    assert _market(server, ticker)["status"] == "inactive"
    assert ticker in [m["ticker"] for m in server.get_ok(f"{V2}/markets?status=paused")["markets"]]
    assert server.get_ok(f"/v1/markets/{ticker}")["market"]["status"] == "inactive"
    assert _order(server, account, ticker, True, 4000, 1) == "market_paused"
    assert server.admin("POST", f"/markets/{ticker}/resume", expect=200).json() == {"ticker": ticker, "status": "active"}
    assert _market(server, ticker)["status"] == "active"
    assert _order(server, account, ticker, True, 4000, 1) is None
    assert server.admin("POST", "/markets/NOPE/pause").status == 404


def test_pause_trading_and_maintenance_on_the_whole_exchange(server: RunningServer) -> None:
    account = server.funded_account()
    try:
        server.admin("POST", "/exchange/status", {"exchange_active": True, "trading_active": False}, expect=200)
        assert server.get_ok(f"{V2}/exchange/status")["trading_active"] is False
        assert _order(server, account, DEMO_TICKER, True, 4000, 1) == "trading_paused"
        server.admin("POST", "/exchange/status", {"exchange_active": False, "trading_active": False}, expect=200)
        status = server.get_ok(f"{V2}/exchange/status")
        assert (status["exchange_active"], status["trading_active"]) == (False, False)
        assert _order(server, account, DEMO_TICKER, True, 4000, 1) == "exchange_paused"
    finally:
        server.admin("POST", "/exchange/status", {"exchange_active": True, "trading_active": True}, expect=200)
    assert server.get_ok(f"{V2}/exchange/status")["trading_active"] is True
    assert _order(server, account, DEMO_TICKER, True, 4000, 1) is None


def test_moving_the_close_time_closes_and_reopens_a_market(server: RunningServer) -> None:
    ticker = _new_market(server)
    now = int(time.time())
    closed = server.admin("POST", f"/markets/{ticker}/times", {"close_time": now - 60}, expect=200).json()
    assert (closed["status"], closed["close_time"]) == ("closed", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60)))
    assert _market(server, ticker)["status"] == "closed"
    assert _order(server, server.funded_account(), ticker, True, 4000, 1) == "market_closed"
    reopened = server.admin("POST", f"/markets/{ticker}/times", {"close_time": "2030-01-01T00:00:00Z"}, expect=200).json()
    assert (reopened["status"], reopened["close_time"]) == ("active", "2030-01-01T00:00:00Z")
    assert server.admin("POST", f"/markets/{ticker}/times", {}).status == 400


# --- results ----------------------------------------------------------------------------------------------

def test_determine_dispute_amend_finalize_pays_the_final_result(server: RunningServer, member: Member) -> None:
    ticker = _new_market(server, timer_s=600)
    buyer = server.account_of(member)
    seller = server.funded_account(100)
    assert _order(server, seller, ticker, False, 4000, 10) is None
    cash_before = _cash(server, buyer)
    assert _order(server, buyer, ticker, True, 4000, 10) is None  # buys 10 YES at 0.40 (plus the taker fee)
    paid = cash_before - _cash(server, buyer)
    assert paid >= 4 * DOLLAR
    seller_cash = _cash(server, seller)
    server.admin("POST", f"/markets/{ticker}/times", {"close_time": int(time.time()) - 1}, expect=200)
    determined = server.admin("POST", f"/markets/{ticker}/determine", {"result": "yes", "source": "first look"}, expect=200).json()
    assert determined == {"ticker": ticker, "status": "determined", "result": "yes"}
    settlement = server.get_ok(f"/v1/markets/{ticker}/settlement")
    assert (settlement["status"], settlement["settled"], settlement["result"], settlement["source"]) == ("determined", False, "yes", "first look")
    assert settlement["determined_time"] and settlement["settlement_scheduled_time"]  # the 600 s timer runs
    assert server.admin("POST", f"/markets/{ticker}/dispute", {"reason": "wrong gauge"}, expect=200).json()["status"] == "disputed"
    amended = server.admin("POST", f"/markets/{ticker}/amend", {"result": "no", "source": "second look"}, expect=200).json()
    assert amended == {"ticker": ticker, "status": "amended", "result": "no"}
    assert server.admin("POST", f"/markets/{ticker}/finalize", expect=200).json() == {"ticker": ticker, "status": "finalized", "result": "no"}
    market = _market(server, ticker)
    assert (market["status"], market["result"], market["settlement_value_dollars"]) == ("finalized", "no", "0.0000")
    assert market["settlement_ts"]
    final = server.get_ok(f"/v1/markets/{ticker}/settlement", auth=kalshi_v2(member.credentials))
    assert (final["settled"], final["result"], final["source"], final["settlement_value"]) == (True, "no", "second look", 0)
    position = final["position"]
    assert (position["quantity"], position["side"], position["cost_dollars"], position["payout_dollars"]) == (10, "yes", "4.0000", "0.0000")
    assert _cash(server, buyer) == cash_before - paid  # YES lost: nothing back
    assert _cash(server, seller) == seller_cash + 10 * DOLLAR  # the NO side collects $1.00 a contract
    assert server.get_ok(f"/v1/markets/{ticker}/settlement", auth=kalshi_v2(server.operator))["position"] is None


@pytest.mark.parametrize(("timer_s", "steps", "refused", "words"), [
    (600, [], "determine", "a market must be closed"),
    (600, [], "finalize", "only a determined or amended market can be finalized"),
    (600, ["close"], "dispute", "only a determined or amended market can be disputed"),
    (600, ["close", "determine"], "amend", "only a disputed market can have its result amended"),
    (0, ["close", "determine"], "determine", "is finalized"),  # with no settlement timer, determining settles at once
    (0, ["close", "determine"], "finalize", "is finalized"),
])
def test_lifecycle_steps_out_of_order_are_refused(server: RunningServer, timer_s: int, steps: list[str], refused: str, words: str) -> None:
    ticker = _new_market(server, timer_s=timer_s)
    bodies = {"determine": {"result": "yes"}, "amend": {"result": "no"}, "dispute": {}, "finalize": {}}
    for step in steps:
        if step == "close":
            server.admin("POST", f"/markets/{ticker}/times", {"close_time": int(time.time()) - 1}, expect=200)
        else:
            server.admin("POST", f"/markets/{ticker}/{step}", bodies[step], expect=200)
    reply = server.admin("POST", f"/markets/{ticker}/{refused}", bodies[refused])
    assert reply.status == 409 and reply.error["code"] == "invalid_transition" and words in reply.error["details"], reply


def test_a_result_must_be_a_known_one(server: RunningServer) -> None:
    ticker = _new_market(server)
    server.admin("POST", f"/markets/{ticker}/times", {"close_time": int(time.time()) - 1}, expect=200)
    assert server.admin("POST", f"/markets/{ticker}/determine", {"result": "maybe"}).status == 400
    assert server.admin("POST", f"/markets/{ticker}/determine", {}).error["code"] == "missing_parameters"
    assert _market(server, ticker)["status"] == "closed"


# --- money --------------------------------------------------------------------------------------------

def test_deposits_and_withdrawals(server: RunningServer, member: Member) -> None:
    account = server.account_of(member)
    start = _cash(server, account)
    deposit = server.admin("POST", f"/members/{member.member_id}/deposits", {"amount_dollars": "50.00", "reference": "wire 17"}, expect=201)
    assert deposit.json() == {"member_id": member.member_id, "status": "completed"}
    assert _cash(server, account) == start + 50 * DOLLAR
    too_small = server.admin("POST", f"/members/{member.member_id}/withdrawals", {"amount_dollars": "9.99"})
    assert too_small.status == 400 and too_small.error["details"] == "the minimum withdrawal is $10.0000"
    pending = server.admin("POST", f"/members/{member.member_id}/withdrawals", {"amount_dollars": "20.00"}, expect=201).json()
    assert pending["status"] == "pending"
    assert _cash(server, account) == start + 30 * DOLLAR  # held while pending
    completed = server.admin("POST", f"/withdrawals/{pending['withdrawal_id']}/complete", expect=200).json()
    assert completed == {"withdrawal_id": pending["withdrawal_id"], "status": "completed"}
    assert server.admin("POST", f"/withdrawals/{pending['withdrawal_id']}/complete").status == 404  # only once
    own = server.request("POST", "/predictex/v1/withdrawals", {"amount_cents": 1500}, auth=kalshi_v2(member.credentials))
    assert own.status == 201 and own.json()["status"] == "pending"
    assert _cash(server, account) == start + 15 * DOLLAR
    cancelled = server.admin("POST", f"/withdrawals/{own.json()['withdrawal_id']}/cancel", expect=200).json()
    assert cancelled["status"] == "cancelled"
    assert _cash(server, account) == start + 30 * DOLLAR  # given back
    transfers = server.get_ok("/predictex/v1/transfers", auth=kalshi_v2(member.credentials))["transfers"]
    assert [(t["kind"], t["status"], t["amount_dollars"]) for t in transfers[:3]] == [
        ("withdrawal", "cancelled", "15.0000"), ("withdrawal", "completed", "20.0000"), ("deposit", "completed", "50.0000")]
    assert transfers[2]["reference"] == "wire 17" and transfers[1]["withdrawal_id"] == pending["withdrawal_id"]
    too_much = server.admin("POST", f"/members/{member.member_id}/withdrawals", {"amount_dollars": "99999999.00"})
    assert too_much.status == 400 and too_much.error["code"] == "insufficient_balance"


@pytest.mark.parametrize("body", [{}, {"amount_dollars": "abc"}, {"amount_dollars": 5}, {"amount_dollars": "-5.00"},
                                  {"amount_cents": "500"}, {"amount_dollars": "0.001"}, {"amount_dollars": "0"}])
def test_amounts_that_are_refused(server: RunningServer, member: Member, body: dict[str, object]) -> None:
    reply = server.admin("POST", f"/members/{member.member_id}/deposits", body)
    assert reply.status == 400 and reply.error["code"] in {"invalid_parameters", "missing_parameters"}, reply


def test_money_for_an_unknown_member_or_withdrawal(server: RunningServer) -> None:
    assert server.admin("POST", "/members/not-a-member/deposits", {"amount_dollars": "10.00"}).status == 404
    assert server.admin("POST", "/withdrawals/00000000-0000-4000-8000-000000000000/complete").status == 404


def test_simulated_traders_are_marked_for_operators(server: RunningServer) -> None:
    made = server.admin("POST", "/members", {"email": "maker-0@sim.example.com", "password": "a fine password", "simulated": True},
                        expect=201).json()
    person = server.admin("POST", "/members", {"email": "person@example.com", "password": "a fine password"}, expect=201).json()
    assert (made["simulated"], person["simulated"]) == (True, False)
    listed = {m["email"]: m["simulated"] for m in server.admin("GET", "/members", expect=200).json()["members"]}
    assert listed["maker-0@sim.example.com"] is True and listed["person@example.com"] is False
    wrong = server.admin("POST", "/members", {"email": "x@sim.example.com", "password": "a fine password", "simulated": "yes"})
    assert wrong.status == 400 and "simulated" in wrong.error["message"], wrong
    assert "x@sim.example.com" not in {m["email"] for m in server.admin("GET", "/members", expect=200).json()["members"]}
