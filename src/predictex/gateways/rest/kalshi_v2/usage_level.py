"""Kalshi's API usage level: the member's progress toward the volume-based tiers, and the self-service
upgrade to Advanced (SDK 3.34.0's account operations).

Volume progress is computed when asked (Kalshi computes it on a schedule; `computed_ts` says when):
the member's contracts traded over the trailing 30 days, every subaccount included, from the fills
history. The goals follow the qualification Kalshi publishes for its volume tiers, a share of the
exchange's traded volume in the period: Premier 3.75%, Prime 7.5% (docs.kalshi.com, rate limits and
tiers), applied to this exchange's trailing 30-day volume; a goal is earned and kept at the same share.
The upgrade grants the Advanced level for good to a Basic member who placed an order through the API
(Kalshi: at least one of the last 100 orders); every order here is placed through an API."""

from __future__ import annotations

from typing import Any

from predictex.accounts import AccountsError, Lane, Tier
from predictex.gateways.rest.handlers import Principal, private
from predictex.gateways.rest.kalshi_v2.keys import accounts_error
from predictex.gateways.rest.wire import ApiError
from predictex.gateways.shapes.text import count_fp
from predictex.server.context import Exchange
from predictex.server.http import Request, Response, empty_response
from predictex.server.router import Router

PREFIX = "/trade-api/v2/account/api_usage_level"
WINDOW_MS = 30 * 24 * 3600 * 1000
# level -> share of the exchange's traded volume as a fraction (Kalshi's published qualification:
# Premier 3.75% = 3/80, Prime 7.5% = 3/40)
VOLUME_GOALS = (("premier", 3, 80), ("prime", 3, 40))


def register(router: Router, exchange: Exchange) -> None:
    router.add("GET", PREFIX + "/volume_progress", private(exchange, volume_progress))
    router.add("POST", PREFIX + "/upgrade", private(exchange, upgrade, scope="write", lane=Lane.WRITE))


def _member_accounts(exchange: Exchange, principal: Principal) -> list[int]:
    return list(exchange.live.member_accounts(principal.account_id).values())


def volume_progress(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """The member's trailing 30-day volume and the volume each volume-based level asks for."""
    now_ms = exchange.live.time_ms
    since = now_ms - WINDOW_MS
    accounts = _member_accounts(exchange, principal)
    [(mine,)] = exchange.store.query(
        f"SELECT COALESCE(SUM(count_centicontracts), 0) FROM fills WHERE account_id IN ({', '.join('?' for _ in accounts)}) "
        "AND time_ms > ?", [*accounts, since])
    [(everyone,)] = exchange.store.query("SELECT COALESCE(SUM(count_centicontracts), 0) FROM trades WHERE time_ms > ?", [since])
    goals = []
    for level, numerator, denominator in VOLUME_GOALS:
        goal = -(-int(everyone) * numerator // denominator)  # rounded up: the goal is reached, never missed by rounding
        goals.append({"level": level, "earn_volume_goal_fp": count_fp(goal), "keep_volume_goal_fp": count_fp(goal)})
    return {"volume_progress": [{"computed_ts": now_ms // 1000, "trailing_30d_volume_fp": count_fp(int(mine)), "goals": goals}]}


def upgrade(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    """Grant the Advanced level to a Basic member who has placed an order through the API."""
    if principal.member.tier is not Tier.BASIC:
        return empty_response(201)  # Advanced or above already: the grant changes nothing
    accounts = _member_accounts(exchange, principal)
    placed = any(exchange.live.orders_by_account.get(account) for account in accounts) or bool(exchange.store.query(
        f"SELECT 1 FROM orders WHERE account_id IN ({', '.join('?' for _ in accounts)}) LIMIT 1", accounts))
    if not placed:
        raise ApiError(403, "permission_denied", "permission denied",
                       "the Advanced level is granted once one of your last 100 orders was placed through the API; you have placed none")
    try:
        exchange.accounts.members.set_tier(principal.member.member_id, Tier.ADVANCED)
    except AccountsError as error:
        raise accounts_error(error) from error
    return empty_response(201)
