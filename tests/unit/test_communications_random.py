"""Seeded random sessions of RFQs, quotes, accepts, confirms, deletes, block trades and the clock,
among resting orders and trades on the book: every invariant after every command (the harness checks
them), refusals that change nothing, and a replay of the same commands and a snapshot restored midway
ending in the same state."""

from __future__ import annotations

import random

import pytest

from harness import Harness, contracts
from predictex.core import commands as c
from predictex.core.engine import Engine
from predictex.core.events import OffBookTrade
from predictex.core.snapshot import restore_snapshot, state_hash, take_snapshot

PRICES = [price * 100 for price in range(5, 96, 5)]  # $0.05 .. $0.95 in centicents


def _command(rng: random.Random, exchange: Harness, accounts: list[int], tickers: list[str]) -> c.Command:
    comms = exchange.engine.communications
    now = exchange.now_ms
    who = rng.choice(accounts)
    roll = rng.random()
    rfqs, quotes, proposals = list(comms.rfqs), list(comms.quotes), list(comms.proposals)
    if roll < 0.15:
        count = contracts(rng.randint(1, 30)) if rng.random() < 0.8 else 0
        cost = 0 if count else rng.randint(1, 50) * 1_000_000
        return c.CreateRfq(who, rng.choice(tickers), count, cost, bool(cost) and rng.random() < 0.5, rng.random() < 0.5,
                           rng.random() < 0.1, rng.random() < 0.3, now + rng.randint(1, 120) * 1000)
    if roll < 0.35 and rfqs:
        yes, no = rng.choice([0, *PRICES]), rng.choice([0, *PRICES])
        expiry = now + rng.randint(1, 60) * 1000 if rng.random() < 0.3 else 0
        return c.CreateQuote(who, rng.choice(rfqs), yes, no, rng.random() < 0.5, False, expiry)
    if roll < 0.50 and quotes:
        quote = comms.quotes[rng.choice(quotes)]
        account = quote.rfq_account_id if rng.random() < 0.9 else who
        return c.AcceptQuote(account, quote.quote_id, rng.choice(["yes", "no"]), now + rng.randint(1, 30) * 1000)
    if roll < 0.62 and quotes:
        quote = comms.quotes[rng.choice(quotes)]
        return c.ConfirmQuote(quote.account_id if rng.random() < 0.9 else who, quote.quote_id)
    if roll < 0.66 and quotes:
        quote = comms.quotes[rng.choice(quotes)]
        return c.DeleteQuote(quote.account_id, quote.quote_id)
    if roll < 0.69 and rfqs:
        rfq = comms.rfqs[rng.choice(rfqs)]
        return c.DeleteRfq(rfq.account_id, rfq.rfq_id)
    if roll < 0.75:
        buyer, seller = rng.sample(accounts, 2)
        return c.ProposeBlockTrade(rng.choice([buyer, seller]), buyer, seller, rng.choice(tickers), rng.choice(PRICES),
                                   contracts(rng.randint(1, 20)), rng.choice(["yes", "no"]), now + rng.randint(1, 90) * 1000)
    if roll < 0.82 and proposals:
        proposal = comms.proposals[rng.choice(proposals)]
        party = rng.choice([proposal.buyer_account_id, proposal.seller_account_id])
        return c.AcceptBlockTrade(party, proposal.proposal_id) if rng.random() < 0.8 else c.RejectBlockTrade(party, proposal.proposal_id)
    if roll < 0.92:
        return c.CreateOrder(who, rng.choice(tickers), rng.random() < 0.5, rng.choice(PRICES), contracts(rng.randint(1, 10)))
    return c.Tick()


@pytest.mark.parametrize("seed", range(6))
def test_random_sessions_keep_every_invariant_and_replay_exactly(seed: int) -> None:
    rng = random.Random(seed)
    exchange = Harness()
    tickers = [exchange.market(f"KX-R{n}", fee_type=rng.choice(["quadratic", "quadratic_with_maker_fees"])) for n in range(2)]
    accounts = [exchange.account(rng.choice(["20", "200", "2000"])) for _ in range(5)]
    log: list[tuple[c.Command, int]] = []
    executed = refused = 0
    midway = None
    for step in range(400):
        exchange.now_ms += rng.choice([0, 0, 200, 1000, 5000])
        command = _command(rng, exchange, accounts, tickers)
        log.append((c.Tick(), exchange.now_ms))
        exchange.apply(c.Tick())  # time passes (deadlines fall due) before the command, so its refusal is seen alone
        before = state_hash(exchange.engine)
        outcome = exchange.apply(command)  # the harness checks every invariant
        if outcome.reject is not None:
            refused += 1
            assert not outcome.events and state_hash(exchange.engine) == before, f"{command} was refused but changed things"
        executed += sum(1 for e in outcome.events if isinstance(e, OffBookTrade))
        log.append((command, exchange.now_ms))
        if step == 200:
            midway = (take_snapshot(exchange.engine), len(log))
    assert executed > 0 and refused > 0, (executed, refused)
    replay = Harness()  # the same setup, then the same commands at the same times
    rng_setup = random.Random(seed)
    for n in range(2):
        replay.market(f"KX-R{n}", fee_type=rng_setup.choice(["quadratic", "quadratic_with_maker_fees"]))
    for _ in range(5):
        replay.account(rng_setup.choice(["20", "200", "2000"]))
    engine: Engine = replay.engine
    for command, now_ms in log:
        engine.apply(command, now_ms)
    assert state_hash(engine) == state_hash(exchange.engine)
    assert midway is not None
    restored = restore_snapshot(midway[0])
    for command, now_ms in log[midway[1]:]:
        restored.apply(command, now_ms)
    assert state_hash(restored) == state_hash(exchange.engine)
