"""Members' own predictex endpoints, under /predictex/v1: signing up, play money (demo only), and
withdrawal requests (pending until the operator completes them)."""

from __future__ import annotations

from typing import Any

from predictex.accounts import Lane
from predictex.core import commands as c
from predictex.core.limits import MEMBER_TRANSFERS_LISTED_MAX
from predictex.gateways.rest.admin import _amount
from predictex.gateways.rest.handlers import Principal, authenticate, execute, private, public
from predictex.gateways.rest.wire import ApiError, json_body, str_field
from predictex.gateways.shapes.text import money, money_cents, rfc3339
from predictex.server import ids
from predictex.server.config import DEMO_FAUCET_MAX_MICRODOLLARS
from predictex.server.context import Exchange
from predictex.server.http import Request, Response, json_response
from predictex.server.membership import MembershipError, sign_up, sign_up_quietly
from predictex.server.router import Router

PREFIX = "/predictex/v1"


def register(router: Router, exchange: Exchange) -> None:
    router.add("POST", PREFIX + "/members", public(exchange, create_member))
    router.add("GET", PREFIX + "/members/me", private(exchange, me))
    router.add("POST", PREFIX + "/demo/deposits", private(exchange, demo_deposit, scope="write", lane=Lane.WRITE))
    router.add("POST", PREFIX + "/withdrawals", private(exchange, request_withdrawal, scope="write", lane=Lane.WRITE))
    router.add("GET", PREFIX + "/transfers", private(exchange, list_transfers))


async def create_member(exchange: Exchange, request: Request, params: dict[str, str]) -> Response:
    """Sign up. Open in demo; in production only an operator may add members.

    A stranger's sign-up (demo, no credentials) is answered 202 with the same body whether the email
    was free (the member is made) or already a member's (nothing changes), so that it tells nobody who
    is a member: the new member logs in with their email and password to learn their member id. The
    operator (signed or with a session) gets the member, or 409 for an email already taken."""
    credentials = any(request.headers.get(name) for name in ("authorization", "kalshi-access-key", "kalshi-access-signature"))
    if not exchange.config.is_demo or credentials:
        principal = authenticate(exchange, request, "write")
        if not principal.is_admin:
            raise ApiError(403, "permission_denied", "permission denied", "only the operator adds members this way")
    body = json_body(request.body)
    email, password = str_field(body, "email", None, 320), str_field(body, "password", None, 1024)
    try:
        if not credentials:
            await sign_up_quietly(exchange, email, password)
            return json_response(202, {"email": email.strip(" \t\r\n"), "status": "accepted", "message": SIGNED_UP})
        member = await sign_up(exchange, email, password)
    except MembershipError as error:
        raise ApiError(409 if error.code == "duplicate_email" else 400, error.code, error.message) from error
    return json_response(201, {
        "member_id": exchange.ids.to_uuid(ids.MEMBER, member.member_id), "email": member.email, "tier": member.tier.value,
    })


SIGNED_UP = ("if no member had this email, one has been made with this password: log in with POST /trade-api/v2/login "
             "to get a session token and your member id")


def me(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    member = principal.member
    return {
        "member_id": exchange.ids.to_uuid(ids.MEMBER, member.member_id), "email": member.email, "role": member.role.value,
        "tier": member.tier.value, "environment": exchange.config.environment,
    }


async def demo_deposit(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    if not exchange.config.is_demo:
        raise ApiError(403, "permission_denied", "permission denied", "play money exists only in demo; deposits go through the operator")
    body = json_body(request.body)
    amount = _amount(body)
    if amount > DEMO_FAUCET_MAX_MICRODOLLARS:
        raise ApiError(400, "invalid_parameters", "invalid parameters", f"at most ${money(DEMO_FAUCET_MAX_MICRODOLLARS)} at a time")
    await execute(exchange, c.Deposit(principal.account_id, amount, "demo faucet"))
    balance = exchange.live.balances[principal.account_id]
    return json_response(201, {"balance_dollars": money(balance.cash_microdollars), "balance": money_cents(balance.cash_microdollars)})


async def request_withdrawal(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    body = json_body(request.body)
    outcome = await execute(exchange, c.RequestWithdrawal(principal.account_id, _amount(body)))
    return json_response(201, {"withdrawal_id": exchange.ids.to_uuid(ids.WITHDRAWAL, outcome.value), "status": "pending"})


def list_transfers(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    rows = exchange.store.query(
        "SELECT seq, time_ms, kind, withdrawal_id, amount_microdollars, status, reference FROM money "
        "WHERE account_id = ? ORDER BY seq DESC, position DESC LIMIT ?", [principal.account_id, MEMBER_TRANSFERS_LISTED_MAX],
    )
    transfers: list[dict[str, Any]] = []
    withdrawals: dict[int, dict[str, Any]] = {}
    for _seq, time_ms, kind, withdrawal_id, amount, status, reference in rows:  # newest first
        if kind == "withdrawal" and withdrawal_id in withdrawals:
            # an older row of a withdrawal already listed with its latest status: keep its request time
            withdrawals[withdrawal_id]["created_time"] = rfc3339(time_ms)
            continue
        transfer = {
            "kind": kind, "status": status, "amount_dollars": money(amount), "created_time": rfc3339(time_ms),
            "reference": reference,
            "withdrawal_id": exchange.ids.to_uuid(ids.WITHDRAWAL, withdrawal_id) if kind == "withdrawal" else None,
        }
        if kind == "withdrawal":
            withdrawals[withdrawal_id] = transfer
        transfers.append(transfer)
    return {"transfers": transfers}
