"""Kalshi v2 order groups (reference §4.4): a contracts limit over a rolling 15 seconds; hitting it
cancels every order in the group until it is reset."""

from __future__ import annotations

from typing import Any

from predictex.accounts import Lane
from predictex.core import commands as c
from predictex.core.units import count_from_contracts
from predictex.gateways.rest.handlers import Principal, commit, private
from predictex.gateways.rest.kalshi_v2.order_requests import check_routing
from predictex.gateways.rest.lookups import body_account, owner, query_accounts
from predictex.gateways.rest.wire import ApiError, Query, bad_request, int_field, json_body, not_found, parse_count_field
from predictex.gateways.shapes import kalshi as shapes
from predictex.server import ids
from predictex.server.context import Exchange
from predictex.server.http import Request, Response, json_response
from predictex.server.router import Router

PREFIX = "/trade-api/v2/portfolio/order_groups"


def register(router: Router, exchange: Exchange) -> None:
    def write(handler: Any) -> Any:
        return private(exchange, handler, scope="write", lane=Lane.WRITE)

    router.add("GET", PREFIX, private(exchange, list_groups))
    router.add("POST", PREFIX + "/create", write(create_group))
    router.add("GET", PREFIX + "/{group_id}", private(exchange, get_group))
    router.add("DELETE", PREFIX + "/{group_id}", write(lambda e, p, r, a: change(e, p, r, a, "delete")))
    router.add("PUT", PREFIX + "/{group_id}/reset", write(lambda e, p, r, a: change(e, p, r, a, "reset")))
    router.add("POST", PREFIX + "/{group_id}/reset", write(lambda e, p, r, a: change(e, p, r, a, "reset")))  # SDK 2.x
    router.add("PUT", PREFIX + "/{group_id}/trigger", write(lambda e, p, r, a: change(e, p, r, a, "trigger")))
    router.add("PUT", PREFIX + "/{group_id}/limit", write(lambda e, p, r, a: change(e, p, r, a, "limit")))


def _limit(body: dict[str, Any]) -> int:
    if body.get("contracts_limit_fp") is not None:
        return parse_count_field(body["contracts_limit_fp"], "contracts_limit_fp")
    if body.get("contracts_limit") is not None:
        return count_from_contracts(int_field(body, "contracts_limit", None, 1))
    raise ApiError(400, "missing_parameters", "contracts_limit or contracts_limit_fp is required")


def _group(exchange: Exchange, principal: Principal, text: str) -> tuple[int, tuple[int, int, bool]]:
    number = exchange.ids.from_uuid(ids.ORDER_GROUP, text)
    group = exchange.live.order_groups.get(number) if number is not None else None
    if number is None or group is None or owner(exchange, group[0]) != principal.account_id:
        raise not_found(f"no order group {text}")
    return number, group


def _json(exchange: Exchange, number: int, group: tuple[int, int, bool]) -> dict[str, Any]:
    _account, limit, triggered = group
    return shapes.order_group(exchange.ids.to_uuid(ids.ORDER_GROUP, number), limit, triggered)


def list_groups(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    groups = exchange.live.order_groups
    query = Query(request.query_params())
    accounts = set(query_accounts(exchange, principal, query))
    return {"order_groups": [_json(exchange, n, g) for n, g in groups.items() if g[0] in accounts]}


async def create_group(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    body = json_body(request.body)
    check_routing(body)
    account = body_account(exchange, principal, body)
    committed = await commit(exchange, c.CreateOrderGroup(account, _limit(body)))
    return json_response(201, {
        "order_group_id": exchange.ids.to_uuid(ids.ORDER_GROUP, committed.outcome.value),
        "subaccount": exchange.live.subaccount_number(account), "exchange_index": 0,
    })


def get_group(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    number, group = _group(exchange, principal, params["group_id"])
    members = [
        exchange.ids.to_uuid(ids.ORDER, view.order_id)
        for view in exchange.live.orders_by_account.get(group[0], {}).values() if view.order_group_id == number
    ]
    return {**_json(exchange, number, group), "orders": members}


async def change(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str], what: str) -> dict[str, Any]:
    number, group = _group(exchange, principal, params["group_id"])
    limit = 0
    if what == "limit":
        body = json_body(request.body)
        limit = _limit(body)
    elif request.body.strip() and request.body.strip() != b"{}":
        body = json_body(request.body, required=False)
        if body:
            raise bad_request(f"{what} takes no fields")
    await commit(exchange, c.ChangeOrderGroup(group[0], number, what, limit))
    return {}
