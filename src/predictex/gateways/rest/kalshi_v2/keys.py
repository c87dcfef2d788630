"""Kalshi v2 API keys, logins and account limits (reference §2.2, §2.3, §4.1, §8.3)."""

from __future__ import annotations

import logging
from typing import Any

from predictex.accounts import AccountsError, Lane, budget
from predictex.accounts.keys import KeyType
from predictex.gateways.rest.handlers import (
    PASSWORD,
    SESSION,
    Principal,
    auth_error,
    log_in_with_password,
    private,
    public,
    session_authorization,
)
from predictex.gateways.rest.wire import ApiError, bad_request, json_body, str_field
from predictex.gateways.shapes.position_limits import member_position_limits
from predictex.server import ids
from predictex.server.context import Exchange
from predictex.server.http import Request, Response, empty_response, json_response
from predictex.server.router import Router

log = logging.getLogger("predictex.accounts")

PREFIX = "/trade-api/v2"
_ACCOUNTS_ERRORS_NOT_FOUND = frozenset({"key_not_found", "member_not_found"})


def register(router: Router, exchange: Exchange) -> None:
    router.add("GET", PREFIX + "/api_keys", private(exchange, list_keys))
    router.add("POST", PREFIX + "/api_keys", private(exchange, register_key, scope="write", lane=Lane.WRITE))
    router.add("POST", PREFIX + "/api_keys/generate", private(exchange, generate_key, scope="write", lane=Lane.WRITE))
    router.add("DELETE", PREFIX + "/api_keys/{api_key}", private(exchange, delete_key, scope="write", lane=Lane.WRITE))
    router.add("POST", PREFIX + "/login", public(exchange, password_login, security=(PASSWORD,)))
    router.add("POST", PREFIX + "/logout", public(exchange, logout, security=(SESSION,)))
    router.add("GET", PREFIX + "/account/limits", private(exchange, account_limits))
    router.add("GET", PREFIX + "/account/endpoint_costs", public(exchange, endpoint_costs))


def accounts_error(error: AccountsError) -> ApiError:
    status = 404 if error.code in _ACCOUNTS_ERRORS_NOT_FOUND else 409 if error.code in ("duplicate_email", "member_closed") else 400
    return ApiError(status, error.code, error.message)


def _key_json(key: Any) -> dict[str, Any]:
    return {"api_key_id": key.key_id, "name": key.name, "scopes": list(key.scopes), "key_type": key.key_type.value}


def list_keys(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    keys = exchange.accounts.keys.list(principal.member.member_id)
    return {"api_keys": [_key_json(key) for key in keys]}


def _scopes(body: dict[str, Any]) -> list[str] | None:
    scopes = body.get("scopes")
    if scopes is None:
        return None
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise bad_request("scopes must be a list of strings")
    return scopes


def _unrestricted(body: dict[str, Any]) -> None:
    """Kalshi can bind a key to one subaccount (`subaccount`) or one FCM subtrader (`fcm_subtrader_id`);
    predictex's keys act for the whole member, so a request for a bound key is refused rather than
    answered with an unbound one."""
    if body.get("subaccount") is not None:
        raise bad_request("subaccount: keys restricted to one subaccount are not offered here; omit it for a key of the "
                          "whole member (name the subaccount on each request instead)")
    if body.get("fcm_subtrader_id") is not None:
        raise bad_request("fcm_subtrader_id is for FCM members; this exchange has none")


def register_key(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    body = json_body(request.body)
    _unrestricted(body)
    try:
        key = exchange.accounts.keys.register(
            principal.member.member_id, str_field(body, "name", "", 200), str_field(body, "public_key"), _scopes(body),
        )
    except AccountsError as error:
        raise accounts_error(error) from error
    return json_response(201, {"api_key_id": key.key_id})


def generate_key(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    body = json_body(request.body, required=False)
    _unrestricted(body)
    key_type = str_field(body, "key_type", "rsa", 20)
    if key_type not in (KeyType.RSA.value, KeyType.ED25519.value):
        raise bad_request("key_type must be rsa or ed25519")
    try:
        generated = exchange.accounts.keys.generate(
            principal.member.member_id, str_field(body, "name", "", 200), KeyType(key_type), _scopes(body),
        )
    except AccountsError as error:
        raise accounts_error(error) from error
    return json_response(201, {
        "api_key_id": generated.key.key_id, "key_type": key_type, "private_key": generated.private_key_pem,
    })


def delete_key(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    try:
        exchange.accounts.keys.delete(params["api_key"], member_id=principal.member.member_id)
    except AccountsError as error:
        raise accounts_error(error) from error
    return empty_response(204)


async def password_login(exchange: Exchange, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """The legacy `POST /login` with email and password (hashing runs off the event loop)."""
    result = await log_in_with_password(exchange, request, json_body(request.body))
    return {"member_id": exchange.ids.to_uuid(ids.MEMBER, result.member_id), "token": result.token}


def logout(exchange: Exchange, request: Request, params: dict[str, str]) -> Response:
    failure = exchange.accounts.sessions.log_out(session_authorization(exchange, request.header("authorization")))
    if failure is not None:
        raise auth_error(failure)
    return empty_response(204)


def account_limits(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    tier = principal.member.tier
    read, write = budget(tier, Lane.READ), budget(tier, Lane.WRITE)
    return {
        "usage_tier": tier.value,
        "read": {"refill_rate": read.refill_rate, "bucket_capacity": read.bucket_capacity},
        "write": {"refill_rate": write.refill_rate, "bucket_capacity": write.bucket_capacity},
        "grants": [{"exchange_instance": "event_contract", "level": tier.value, "source": "operator"}],
        "position_limits": member_position_limits(exchange.live, principal.account_id),
    }


def endpoint_costs(exchange: Exchange, request: Request, params: dict[str, str]) -> dict[str, Any]:
    limiter = exchange.accounts.limits
    return {
        "default_cost": limiter.default_cost,
        "endpoint_costs": [{"method": method, "path": path, "cost": cost} for (method, path), cost in sorted(limiter.costs.items())],
    }
