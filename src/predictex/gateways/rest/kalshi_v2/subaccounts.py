"""Kalshi v2 subaccounts (reference §10; SDK 3.34.0's portfolio operations): create one, each one's
balance, cash transfers between them and their history, and the netting setting.

A subaccount is an engine account of its own (core/subaccounts.py); requests name it by number,
0 being the primary account. Netting is the engine's per-account setting (core/ledger.py): on, a
position is one signed count and buying one contract closes the other held; off, YES and NO are held
apart, each paid in full, until a sale or settlement. Switching is a journaled command."""

from __future__ import annotations

import uuid
from typing import Any

from predictex.accounts import Lane, Tier
from predictex.core import commands as c
from predictex.core.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from predictex.core.units import money_from_cents
from predictex.gateways.rest.handlers import Principal, commit, private
from predictex.gateways.rest.lookups import member_account, subaccount_number
from predictex.gateways.rest.wire import (
    ApiError,
    Query,
    bad_request,
    bool_field,
    decode_cursor,
    encode_cursor,
    int_field,
    json_body,
    refuse_unknown_fields,
    str_field,
)
from predictex.gateways.shapes.text import money, money_cents
from predictex.readmodel.history import SUBACCOUNT_TRANSFER_COLUMNS
from predictex.server import ids
from predictex.server.context import Exchange
from predictex.server.http import Request, Response, json_response
from predictex.server.router import Router

PREFIX = "/trade-api/v2/portfolio/subaccounts"
TRANSFER_CENTS_MAX = 100_000_000_000  # $1 billion, the engine's bound on one transfer


def register(router: Router, exchange: Exchange) -> None:
    def write(handler: Any) -> Any:
        return private(exchange, handler, scope="write", lane=Lane.WRITE)

    router.add("POST", PREFIX, write(create_subaccount))
    router.add("GET", PREFIX + "/balances", private(exchange, subaccount_balances))
    router.add("POST", PREFIX + "/transfer", write(apply_transfer))
    router.add("GET", PREFIX + "/transfers", private(exchange, list_transfers))
    router.add("GET", PREFIX + "/netting", private(exchange, get_netting))
    router.add("PUT", PREFIX + "/netting", write(update_netting))


def check_exchange_index(body: dict[str, Any]) -> None:
    if int_field(body, "exchange_index", 0) != 0:
        raise bad_request("this exchange has one shard: exchange_index must be 0")


async def create_subaccount(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    """Create a subaccount (numbered 1 to 63, in order): from the Advanced API tier up, as on Kalshi."""
    if principal.member.tier is Tier.BASIC:
        raise ApiError(403, "permission_denied", "permission denied", "subaccounts are available from the Advanced API tier up")
    body = json_body(request.body, required=False)
    refuse_unknown_fields(body, frozenset({"exchange_index"}))
    check_exchange_index(body)
    committed = await commit(exchange, c.CreateSubaccount(principal.account_id))
    return json_response(201, {"subaccount_number": committed.outcome.value})


def subaccount_balances(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Each subaccount's available balance, the primary account's (0) first."""
    live = exchange.live
    answers = []
    for number, account_id in live.member_accounts(principal.account_id).items():
        balance = live.balances.get(account_id)
        cash = balance.cash_microdollars if balance is not None else 0
        updated_ms = (balance.updated_ms if balance is not None else 0) or live.time_ms
        answers.append({"subaccount_number": number, "exchange_index": 0, "balance": money(cash), "updated_ts": updated_ms // 1000})
    return {"subaccount_balances": answers}


async def apply_transfer(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Move available cash between two of the caller's subaccounts."""
    body = json_body(request.body)
    refuse_unknown_fields(body, frozenset({"client_transfer_id", "from_subaccount", "to_subaccount", "amount_cents", "exchange_index"}))
    client_transfer_id = _uuid_text(str_field(body, "client_transfer_id", None, 64))
    source = subaccount_number(body.get("from_subaccount"), "from_subaccount")
    target = subaccount_number(body.get("to_subaccount"), "to_subaccount")
    amount_cents = int_field(body, "amount_cents", None, 1, TRANSFER_CENTS_MAX)
    check_exchange_index(body)
    member_account(exchange, principal, source)  # both must exist: a clear 400 naming the missing one
    member_account(exchange, principal, target)
    await commit(exchange, c.TransferBetweenSubaccounts(
        principal.account_id, source, target, money_from_cents(amount_cents), client_transfer_id,
    ))
    return {}


def _uuid_text(value: str) -> str:
    """client_transfer_id is a UUID (the SDK's model says so); kept in its canonical lower-case form."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise bad_request("client_transfer_id must be a UUID") from None


def list_transfers(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """The caller's transfers between subaccounts, newest first."""
    query = Query(request.query_params())
    limit = query.limit(PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
    cursor = decode_cursor(query.text("cursor"), (int,))
    conditions = "account_id = ?" + (" AND transfer_id < ?" if cursor else "")
    values: list[Any] = [principal.account_id, *(cursor or [])]
    rows = exchange.store.query(
        f"SELECT {', '.join(SUBACCOUNT_TRANSFER_COLUMNS)} FROM subaccount_transfers WHERE {conditions} "
        "ORDER BY transfer_id DESC LIMIT ?", [*values, limit + 1],
    )
    page = rows[:limit]
    answer: dict[str, Any] = {"transfers": [
        {
            "transfer_id": exchange.ids.to_uuid(ids.SUBACCOUNT_TRANSFER, transfer_id), "from_subaccount": source,
            "to_subaccount": target, "amount_cents": money_cents(amount), "created_ts": time_ms // 1000, "exchange_index": 0,
        }
        for transfer_id, _seq, time_ms, _account, source, target, amount, _client_id in page
    ]}
    if len(rows) > limit and page:
        answer["cursor"] = encode_cursor([page[-1][0]])
    return answer


def get_netting(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Netting per subaccount, as the engine keeps it (on unless the member switched it off)."""
    live = exchange.live
    return {"netting_configs": [
        {"subaccount_number": number, "enabled": live.netting_enabled(account_id), "exchange_index": 0}
        for number, account_id in live.member_accounts(principal.account_id).items()
    ]}


async def update_netting(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    """Switch a subaccount's netting (an engine command: refused while it has resting orders, and,
    switching on, while it holds both YES and NO in a market)."""
    body = json_body(request.body)
    refuse_unknown_fields(body, frozenset({"subaccount_number", "enabled"}))
    number = subaccount_number(body.get("subaccount_number"), "subaccount_number")
    if body.get("enabled") is None:
        raise ApiError(400, "missing_parameters", "enabled is required")
    enabled = bool_field(body, "enabled")
    member_account(exchange, principal, number)
    await commit(exchange, c.SetNetting(principal.account_id, number, enabled))
    return json_response(200, {})
