"""Kalshi's FCM operations (`/fcm/*`: subtraders, their orders, positions, fills, risk caps, position
transfers) and the FCM summary `GET /portfolio/summary/total_resting_order_value`. Kalshi serves them to
futures commission merchants only and refuses every other member with 403 `permission_denied`
(reference §4.3, §4.5); predictex has no FCM members, so every caller, once authenticated and within
its rate limit, gets that refusal. A request that is not authenticated gets the 401 any private route
gives."""

from __future__ import annotations

from typing import Any

from predictex.accounts import Lane
from predictex.gateways.rest.handlers import Principal, private
from predictex.gateways.rest.wire import ApiError
from predictex.server.context import Exchange
from predictex.server.http import Request
from predictex.server.router import Router

V2 = "/trade-api/v2"
FCM_ROUTES = (
    ("GET", "/fcm/orders"), ("GET", "/fcm/positions"), ("GET", "/fcm/fills"), ("GET", "/fcm/subtraders"),
    ("POST", "/fcm/subtraders"), ("GET", "/fcm/subtraders/blocked_categories"), ("PUT", "/fcm/subtraders/blocked_categories"),
    ("GET", "/fcm/subtraders/event_contract_daily_cap"), ("PUT", "/fcm/subtraders/event_contract_daily_cap"),
    ("DELETE", "/fcm/subtraders/event_contract_daily_cap"), ("POST", "/fcm/positions/transfers"),
    ("GET", "/portfolio/summary/total_resting_order_value"),
)


def register(router: Router, exchange: Exchange) -> None:
    for method, path in FCM_ROUTES:
        if method == "GET":
            router.add(method, V2 + path, private(exchange, fcm_only, summary=f"{method} {path} (FCM members only)"))
        else:
            router.add(method, V2 + path, private(exchange, fcm_only, scope="write", lane=Lane.WRITE,
                                                  summary=f"{method} {path} (FCM members only)"))


def fcm_only(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Refused: only an FCM member may call this, and this exchange has none."""
    raise ApiError(403, "permission_denied", "permission denied",
                   "only FCM (futures commission merchant) members may use this endpoint; this member is not one")
