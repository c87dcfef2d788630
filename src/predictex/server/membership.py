"""Joining the exchange: a member (login, keys, tier) and the engine account they trade with, created
together; play money for demo accounts. Used by the REST API and by the operator's bootstrap."""

from __future__ import annotations

import asyncio

from predictex.accounts import AccountsError, Member
from predictex.accounts.members import Role, Tier
from predictex.core import commands as c
from predictex.server.config import DEMO_STARTING_BALANCE_MICRODOLLARS
from predictex.server.context import Exchange


class MembershipError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


async def _apply(exchange: Exchange, command: c.Command) -> int:
    committed = await exchange.sequencer.submit(command)
    if committed.outcome.reject is not None:
        raise MembershipError(committed.outcome.reject.code.value, committed.outcome.reject.detail)
    return committed.outcome.value


async def sign_up(exchange: Exchange, email: str, password: str, *, role: Role = Role.MEMBER, tier: Tier = Tier.BASIC,
                  simulated: bool = False) -> Member:
    """A new member with an engine account (funded with play money in demo). For the operator: an email
    already taken is refused by name (duplicate_email); a stranger signing up goes through
    `sign_up_quietly`."""
    members = exchange.accounts.members
    try:
        members.check_new(email, password)
    except AccountsError as error:
        raise MembershipError(error.code, error.message) from error
    if members.get_by_email(email) is not None:
        raise MembershipError("duplicate_email", f"{email} is already a member")
    account_id = await _apply(exchange, c.OpenAccount())
    loop = asyncio.get_running_loop()
    try:
        member: Member = await loop.run_in_executor(None, lambda: members.create(email, password, account_id, role=role, tier=tier,
                                                                                    simulated=simulated))
    except AccountsError as error:
        raise MembershipError(error.code, error.message) from error
    if exchange.config.is_demo:
        await _apply(exchange, c.Deposit(account_id, DEMO_STARTING_BALANCE_MICRODOLLARS, "demo starting balance"))
    return member


async def sign_up_quietly(exchange: Exchange, email: str, password: str) -> None:
    """A stranger's sign-up, which must not tell them who is already a member: a malformed email or a
    short password is refused (that depends only on what they sent), and otherwise the answer is the
    same, and takes about as long, whether a member was made or the email was taken (a password is
    hashed either way; hashing is nearly all of the time a sign-up takes)."""
    members = exchange.accounts.members
    try:
        members.check_new(email, password)
    except AccountsError as error:
        raise MembershipError(error.code, error.message) from error
    if members.get_by_email(email) is not None:
        await asyncio.get_running_loop().run_in_executor(None, members.spend_a_hash, password)
        return
    try:
        await sign_up(exchange, email, password)
    except MembershipError as error:
        if error.code != "duplicate_email":  # taken meanwhile by a sign-up running alongside: same answer
            raise


async def deposit(exchange: Exchange, member: Member, amount_microdollars: int, reference: str) -> None:
    await _apply(exchange, c.Deposit(member.engine_account_id, amount_microdollars, reference))
