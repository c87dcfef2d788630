"""A member's eligibility to trade, carried from the accounts (verification, state of residence, the
restricted states: accounts/eligibility.py) into the engine, which refuses their orders at entry with
the reason (`SetTradingEligibility`, `member_not_eligible`). Called after every change the operator
makes to any of those; `reconcile` at start-up repairs a change whose engine command a crash lost."""

from __future__ import annotations

from collections.abc import Iterable

from predictex.core import commands as c
from predictex.server import sources
from predictex.server.context import Exchange

MEMBERS_PAGE = 1_000


async def sync(exchange: Exchange, members: Iterable[tuple[int, int]], operator: int = 0) -> None:
    """Bring the engine in line for (member_id, engine account) pairs: one command for each whose
    reason changed."""
    eligibility = exchange.accounts.eligibility
    restricted = eligibility.restricted_states()
    changes = []
    for member_id, account_id in members:
        reason = eligibility.reason_not_eligible(member_id, restricted)
        if exchange.live.not_eligible.get(account_id, "") != reason:
            changes.append(c.SetTradingEligibility(account_id, reason))
    if changes:
        source = sources.source_json("admin", member=operator, operator=operator) if operator else sources.SYSTEM
        await exchange.sequencer.submit_many(changes, source)


async def reconcile(exchange: Exchange) -> None:
    """Every member checked (start-up)."""
    after = 0
    while True:
        members = exchange.accounts.members.list(after_id=after, limit=MEMBERS_PAGE)
        if not members:
            return
        await sync(exchange, [(m.member_id, m.engine_account_id) for m in members])
        after = members[-1].member_id
