"""The operator's incentive-program runs, under /predictex/v1/admin/incentive_programs/{program_id}: score a
program (the published `incentive_program` document: market, period, `period_reward` in centi-cents,
`discount_factor_bps`, `target_size_fp`) by replaying the journal (predictex.surveillance.incentives), and
pay it once the operator approves: each member's reward is a `Deposit` with the reference
`incentive_program:<id>` (journaled; whole cents, as every deposit, the rewards summing to the pool), then the
program is published again with `paid_out: true`. Approving again pays only members not yet paid (the
money history says who was), so a run cut short is finished, never paid twice. Simulated members and
members the operator linked are left out."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from predictex.accounts import Lane
from predictex.core import commands as c
from predictex.core.codec import decode_event
from predictex.core.units import (
    MONEY_ONE_CENT_MICRODOLLARS,
    MONEY_ONE_CENTICENT_MICRODOLLARS,
    format_count_fp,
    format_price_dollars,
    parse_count_fp,
)
from predictex.gateways.rest.admin_surveillance import member_id
from predictex.gateways.rest.content_shapes import time_ms
from predictex.gateways.rest.handlers import Principal, execute, private
from predictex.gateways.rest.wire import ApiError, bad_request, int_field, json_body, not_found, str_field
from predictex.gateways.shapes.text import money
from predictex.journal.journal import Journal
from predictex.server.context import Exchange
from predictex.server.http import Request
from predictex.server.router import Router
from predictex.surveillance.incentives import KALSHI, MODES, POLYMARKET, Program, allocate, score

PREFIX = "/predictex/v1/admin/incentive_programs"
KIND = "incentive_program"


def register(router: Router, exchange: Exchange) -> None:
    router.add("POST", PREFIX + "/{program_id}/score", private(exchange, score_program, admin=True))
    router.add("POST", PREFIX + "/{program_id}/approve", private(exchange, approve_program, scope="write", lane=Lane.WRITE, admin=True))


def _program(exchange: Exchange, program_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], Program]:
    document = exchange.live.schedules.documents(KIND).get(program_id)
    if document is None:
        raise not_found(f"no incentive program {program_id!r}")
    if document["incentive_type"] != "liquidity":
        raise bad_request("only liquidity programs are scored from the book")
    if document.get("max_reward_per_account") is not None:  # never pay past a cap the scoring does not apply
        raise bad_request("a program with max_reward_per_account is not scored here: the cap is not applied yet (publish it without one)")
    mode = str_field(body, "mode", KALSHI, 16)
    if mode not in MODES:
        raise bad_request(f"mode must be one of {', '.join(MODES)}")
    try:
        target = parse_count_fp(document.get("target_size_fp") or "0")
    except ValueError as error:
        raise bad_request(f"the program's target_size_fp is not a count: {error}") from error
    if mode == KALSHI and target <= 0:
        raise bad_request("a kalshi-mode program needs target_size_fp")
    if int(document["period_reward"]) * MONEY_ONE_CENTICENT_MICRODOLLARS % MONEY_ONE_CENT_MICRODOLLARS:
        raise bad_request("the program's period_reward is paid as deposits, in whole cents: make it a multiple of 100 centi-cents")
    program = Program(
        document["market_ticker"], time_ms(document["start_date"]), time_ms(document["end_date"]),
        int(document["period_reward"]) * MONEY_ONE_CENTICENT_MICRODOLLARS, mode, target_size_centicontracts=target,
        discount_factor_bps=int(document.get("discount_factor_bps") or 10_000),
        max_spread_centicents=int_field(body, "max_spread_centicents", 300 if mode == POLYMARKET else 0, 0, 10_000),
        min_size_centicontracts=int_field(body, "min_size_centicontracts", 0, 0),
    )
    return document, program


def _excluded(exchange: Exchange) -> Any:
    linked = exchange.surveillance.linked_accounts() if exchange.surveillance is not None else set()

    def excluded(account: int) -> bool:
        member = exchange.accounts.members.get_by_account(account)
        return account in linked or (member is not None and member.simulated)

    return excluded


def _run(exchange: Exchange, program: Program, last_seq: int) -> dict[int, int]:
    """Replay the journal's entries up to `last_seq` through the scorer (on a worker thread)."""
    journal = Journal(exchange.store)

    def entries() -> Any:
        for record in journal.records(0):
            if record.seq > last_seq:
                return
            yield record.time_ms, [decode_event(x) for x in record.events]

    return allocate(program.pool_microdollars, score(program, entries(), _excluded(exchange)), MONEY_ONE_CENT_MICRODOLLARS)


def _rewards_json(exchange: Exchange, program_id: str, program: Program, rewards: dict[int, int]) -> dict[str, Any]:
    return {
        "program_id": program_id, "market_ticker": program.ticker, "mode": program.mode,
        "pool_dollars": money(program.pool_microdollars), "paid_dollars": money(sum(rewards.values())),
        "rewards": [{"member_id": member_id(exchange, account), "reward_dollars": money(amount)}
                    for account, amount in sorted(rewards.items(), key=lambda item: (-item[1], item[0]))],
        "target_size_fp": format_count_fp(program.target_size_centicontracts) if program.mode == KALSHI else None,
        "max_spread_dollars": format_price_dollars(program.max_spread_centicents) if program.mode == POLYMARKET else None,
    }


async def score_program(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Score an incentive program from the journal and show each member's reward (nothing is paid)"""
    body = json_body(request.body, required=False)
    _, program = _program(exchange, params["program_id"], body)
    rewards = await asyncio.get_running_loop().run_in_executor(None, _run, exchange, program, exchange.sequencer.committed_seq)
    return _rewards_json(exchange, params["program_id"], program, rewards)


async def approve_program(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Pay an ended incentive program: each member's reward credited as a deposit, then the program marked paid out"""
    body = json_body(request.body, required=False)
    program_id = params["program_id"]
    document, program = _program(exchange, program_id, body)
    if document.get("paid_out"):
        raise ApiError(409, "already_paid_out", f"incentive program {program_id!r} is paid out")
    if exchange.clock.now_ms() < program.end_ms:
        raise ApiError(409, "program_not_ended", f"incentive program {program_id!r} ends at {document['end_date']}")
    rewards = await asyncio.get_running_loop().run_in_executor(None, _run, exchange, program, exchange.sequencer.committed_seq)
    reference = f"{KIND}:{program_id}"
    paid = {account for (account,) in exchange.store.query("SELECT account_id FROM money WHERE kind = 'deposit' AND reference = ?", (reference,))}
    for account, amount in sorted(rewards.items()):
        if account not in paid:
            await execute(exchange, c.Deposit(account, amount, reference))
    await execute(exchange, c.PublishContent(KIND, program_id, orjson.dumps({**document, "paid_out": True}).decode()))
    return {**_rewards_json(exchange, program_id, program, rewards), "paid_out": True}
