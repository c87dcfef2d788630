"""An incentive program run on a running server: the operator publishes a liquidity program, members
rest orders through its period (one of them a simulated trader, whom scoring leaves out), the operator
scores it (nothing paid), cannot pay it before it ends, then approves it: each member's reward is a
journaled deposit, the rewards sum to the pool to the microdollar, the program lists as paid out, and a
second approval is refused with nothing paid twice."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from integration.server_fixture import RunningServer, running_server, unique
from predictex.core import commands as c

POOL_CENTICENTS = 1_234_500  # $123.45


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(Path(tmp_path_factory.mktemp("incentives")), rate_limits=False) as running:
        yield running


def _cash(server: RunningServer, account: int) -> int:
    assert server.app.exchange is not None
    return int(server.app.exchange.live.balances[account].cash_microdollars)


def test_a_program_is_scored_paid_once_by_approval_and_sums_to_its_pool(server: RunningServer) -> None:
    series = unique("KXINC")
    ticker = f"{series}-E-M"
    server.create_instruments(series, f"{series}-E", [ticker])
    people = [server.new_member(unique("maker") + "@example.com") for _ in range(2)]
    bot = server.admin("POST", "/members", {"email": unique("bot") + "@example.com", "password": "correct horse battery",
                                            "simulated": True}, expect=201).json()
    accounts = [server.account_of(p) for p in people]
    exchange = server.app.exchange
    assert exchange is not None
    bot_account = exchange.accounts.members.get(exchange.ids.from_uuid(5, bot["member_id"])).engine_account_id
    for account in [*accounts, bot_account]:
        server.value(c.Deposit(account, 10_000 * 1_000_000, "test"))
    start_s = int(time.time())
    server.admin("PUT", f"/content/incentive_program/{series}", {
        "market_ticker": ticker, "incentive_type": "liquidity", "incentive_description": "resting liquidity",
        "start_date": start_s, "end_date": start_s + 3, "period_reward": POOL_CENTICENTS, "discount_factor_bps": 5_000,
        "target_size_fp": "100.00"}, expect=200)
    server.trade(accounts[0], ticker, True, 4_500, 40)  # best bid
    server.trade(accounts[1], ticker, True, 4_400, 80)  # a cent behind: half the multiplier, part of the target
    server.trade(bot_account, ticker, False, 5_500, 100)  # the simulated trader's ask: left out
    server.trade(accounts[1], ticker, False, 5_600, 30)
    path = f"/incentive_programs/{series}"
    early = server.admin("POST", path + "/approve", {})
    assert early.status == 409 and early.error["code"] == "program_not_ended", early
    while time.time() < start_s + 3.2:  # the period's last second must be over
        time.sleep(0.1)
    scored = server.admin("POST", path + "/score", {}, expect=200).json()
    assert scored["pool_dollars"] == scored["paid_dollars"] == "123.4500"
    assert {r["member_id"] for r in scored["rewards"]} == {p.member_id for p in people}
    before = [_cash(server, a) for a in [*accounts, bot_account]]
    paid = server.admin("POST", path + "/approve", {}, expect=200).json()
    assert paid["rewards"] == scored["rewards"] and paid["paid_out"] is True
    after = [_cash(server, a) for a in [*accounts, bot_account]]
    rewards = {r["member_id"]: int(Decimal(r["reward_dollars"]) * 1_000_000) for r in paid["rewards"]}
    assert [a - b for a, b in zip(after, before, strict=True)] == [rewards[people[0].member_id], rewards[people[1].member_id], 0]
    assert sum(rewards.values()) == POOL_CENTICENTS * 100
    again = server.admin("POST", path + "/approve", {})
    assert again.status == 409 and again.error["code"] == "already_paid_out"
    assert [_cash(server, a) for a in [*accounts, bot_account]] == after
    listed = server.get_ok("/trade-api/v2/incentive_programs?status=paid_out")["incentive_programs"]
    assert [p["id"] for p in listed] == [series] and listed[0]["paid_out"] is True


def test_scoring_refuses_unknown_programs_and_modes(server: RunningServer) -> None:
    assert server.admin("POST", "/incentive_programs/nope/score", {}).status == 404
    series = unique("KXINM")
    ticker = f"{series}-E-M"
    server.create_instruments(series, f"{series}-E", [ticker])
    now_s = int(time.time())
    server.admin("PUT", f"/content/incentive_program/{series}", {
        "market_ticker": ticker, "incentive_type": "liquidity", "incentive_description": "x", "start_date": now_s - 10,
        "end_date": now_s - 5, "period_reward": 100, "target_size_fp": "10.00"}, expect=200)
    refused = server.admin("POST", f"/incentive_programs/{series}/score", {"mode": "uniswap"})
    assert refused.status == 400 and "mode must be one of" in refused.error["message"]
    empty = server.admin("POST", f"/incentive_programs/{series}/score", {"mode": "polymarket"}, expect=200).json()
    assert empty["rewards"] == [] and empty["paid_dollars"] == "0.0000"
    server.admin("PUT", f"/content/incentive_program/{series}", {
        "market_ticker": ticker, "incentive_type": "liquidity", "incentive_description": "x", "start_date": now_s - 10,
        "end_date": now_s - 5, "period_reward": 100, "target_size_fp": "10.00", "max_reward_per_account": 50}, expect=200)
    for step in ("score", "approve"):  # a cap the scoring does not apply: refused, never paid past it
        capped = server.admin("POST", f"/incentive_programs/{series}/{step}", {})
        assert capped.status == 400 and "max_reward_per_account" in capped.error["message"], capped
