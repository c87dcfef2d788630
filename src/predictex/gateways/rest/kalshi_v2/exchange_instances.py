"""Kalshi's money movement between exchange instances and shards, and the target balance allocation,
as Kalshi answers them on a single instance (reference §10; SDK 3.34.0's models).

predictex is one exchange instance (`event_contract`) with one shard (0): there is no `margined`
instance and no other shard to move money to or rebalance across. What remains is what Kalshi allows
within `event_contract`: a transfer between two of the member's subaccounts on shard 0, which is an
engine subaccount transfer (core/subaccounts.py) and is listed, like every subaccount transfer of the
member, in the intra-instance transfer history (status `complete`: it is applied when acknowledged).
The target allocation is the one there can be: 100% to shard 0, reserving the `sum` of resting orders'
collateral (nothing is ever swept, so no other reservation would mean anything here)."""

from __future__ import annotations

import uuid
from typing import Any

from predictex.accounts import Lane
from predictex.core import commands as c
from predictex.core.limits import BALANCE_INCREMENT_MICRODOLLARS, PAGE_SIZE_DEFAULT
from predictex.core.units import money_from_centicents
from predictex.gateways.rest.handlers import Principal, commit, private
from predictex.gateways.rest.lookups import member_account, subaccount_number
from predictex.gateways.rest.wire import (
    ApiError,
    Query,
    bad_request,
    decode_cursor,
    encode_cursor,
    int_field,
    json_body,
    not_found,
    refuse_unknown_fields,
    str_field,
)
from predictex.gateways.shapes.text import money
from predictex.readmodel.history import SUBACCOUNT_TRANSFER_COLUMNS
from predictex.server import ids
from predictex.server.context import Exchange
from predictex.server.http import Request
from predictex.server.router import Router

PREFIX = "/trade-api/v2/portfolio"
INSTANCE = "event_contract"
INSTANCES = ("event_contract", "margined")
TRANSFERS_PAGE_MAX = 500  # the SDK documents at most 500 a page
TRANSFER_CENTICENTS_MAX = 10_000_000_000_000  # $1 billion, the engine's bound on one transfer
RESERVATIONS = ("none", "max", "sum")


def register(router: Router, exchange: Exchange) -> None:
    def write(handler: Any) -> Any:
        return private(exchange, handler, scope="write", lane=Lane.WRITE)

    router.add("POST", PREFIX + "/intra_exchange_instance_transfer", write(transfer))
    router.add("GET", PREFIX + "/intra_exchange_instance_transfers", private(exchange, list_transfers))
    router.add("GET", PREFIX + "/intra_exchange_instance_transfers/{transfer_id}", private(exchange, get_transfer))
    router.add("GET", PREFIX + "/target_balance_allocation", private(exchange, get_allocation))
    router.add("POST", PREFIX + "/target_balance_allocation", write(set_allocation))


def _instance(body: dict[str, Any], name: str) -> str:
    value = str_field(body, name, None, 32)
    if value not in INSTANCES:
        raise bad_request(f"{name} must be one of {', '.join(INSTANCES)}")
    if value != INSTANCE:
        raise bad_request(f"this exchange has one instance, {INSTANCE}: there is no {value} instance to transfer with")
    return value


async def transfer(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Move cash within the event_contract instance: between two of the caller's subaccounts on shard 0."""
    body = json_body(request.body)
    refuse_unknown_fields(body, frozenset({
        "client_transfer_id", "source", "destination", "amount", "source_exchange_shard", "destination_exchange_shard",
        "source_subaccount", "destination_subaccount"}))
    _instance(body, "source")
    _instance(body, "destination")
    for name in ("source_exchange_shard", "destination_exchange_shard"):
        if int_field(body, name, 0, 0, 100) != 0:
            raise bad_request(f"this exchange has one shard: {name} must be 0")
    amount = int_field(body, "amount", None, 1, TRANSFER_CENTICENTS_MAX)
    if money_from_centicents(amount) % BALANCE_INCREMENT_MICRODOLLARS:
        raise bad_request("amount is in centicents and moves whole cents: a multiple of 100")
    source = subaccount_number(body.get("source_subaccount", 0), "source_subaccount")
    target = subaccount_number(body.get("destination_subaccount", 0), "destination_subaccount")
    client_id = body.get("client_transfer_id")
    if client_id is not None and (source or target):
        raise bad_request("client_transfer_id is for transfers between primary accounts; a transfer with a numbered subaccount takes none")
    if source == target:
        raise bad_request("source and destination are the same account on the same shard: there is nothing to move")
    member_account(exchange, principal, source)
    member_account(exchange, principal, target)
    committed = await commit(exchange, c.TransferBetweenSubaccounts(
        principal.account_id, source, target, money_from_centicents(amount), str(uuid.uuid4()),
    ))
    return {"transfer_id": exchange.ids.to_uuid(ids.SUBACCOUNT_TRANSFER, committed.outcome.value)}


def _shape(exchange: Exchange, row: tuple[Any, ...]) -> dict[str, Any]:
    transfer_id, _seq, time_ms, _account, _source, _target, amount, _client_id = row
    return {
        "transfer_id": exchange.ids.to_uuid(ids.SUBACCOUNT_TRANSFER, transfer_id), "source": INSTANCE, "destination": INSTANCE,
        "source_exchange_shard": 0, "destination_exchange_shard": 0, "amount": money(amount), "status": "complete",
        "created_ts": time_ms // 1000,
    }


_SELECT = f"SELECT {', '.join(SUBACCOUNT_TRANSFER_COLUMNS)} FROM subaccount_transfers"


def list_transfers(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """The caller's transfers within the instance (between its subaccounts), newest first."""
    query = Query(request.query_params())
    limit = query.limit(PAGE_SIZE_DEFAULT, TRANSFERS_PAGE_MAX)
    cursor = decode_cursor(query.text("cursor"), (int,))
    rows = exchange.store.query(
        f"{_SELECT} WHERE account_id = ?{' AND transfer_id < ?' if cursor else ''} ORDER BY transfer_id DESC LIMIT ?",
        [principal.account_id, *(cursor or []), limit + 1],
    )
    page = rows[:limit]
    answer: dict[str, Any] = {"transfers": [_shape(exchange, row) for row in page]}
    if len(rows) > limit and page:
        answer["cursor"] = encode_cursor([page[-1][0]])
    return answer


def get_transfer(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    number = exchange.ids.from_uuid(ids.SUBACCOUNT_TRANSFER, params["transfer_id"])
    rows = exchange.store.query(f"{_SELECT} WHERE transfer_id = ? AND account_id = ?", [number, principal.account_id]) if number else []
    if not rows:
        raise not_found(f"no transfer {params['transfer_id']}")
    return {"transfer": _shape(exchange, rows[0])}


def get_allocation(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """All of the sweepable balance is on shard 0, the only one."""
    return {"allocations": [{"exchange_index": 0, "percent": 100}], "resting_margin_reservation": "sum"}


def set_allocation(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Accepts the one allocation a single shard can have; anything else is refused, saying why."""
    body = json_body(request.body)
    refuse_unknown_fields(body, frozenset({"allocations", "resting_margin_reservation"}))
    allocations = body.get("allocations")
    if not isinstance(allocations, list) or not 1 <= len(allocations) <= 101:
        raise bad_request("allocations must be a list of 1 to 101 {exchange_index, percent}")
    total = 0
    for entry in allocations:
        if not isinstance(entry, dict):
            raise bad_request("each allocation is an object {exchange_index, percent}")
        refuse_unknown_fields(entry, frozenset({"exchange_index", "percent"}))
        index = int_field(entry, "exchange_index", None, 0)
        percent = int_field(entry, "percent", None, 0, 100)
        if index != 0 and percent:
            raise bad_request(f"this exchange has one shard: exchange_index {index} cannot receive a balance")
        total += percent
    if total != 100:
        raise bad_request(f"allocations must add up to 100 percent, not {total}")
    reservation = str_field(body, "resting_margin_reservation", "sum", 8)
    if reservation not in RESERVATIONS:
        raise bad_request(f"resting_margin_reservation must be one of {', '.join(RESERVATIONS)}")
    if reservation != "sum":
        raise ApiError(400, "invalid_parameters", "invalid parameters",
                       "with one shard nothing is swept: every resting order keeps its collateral (sum)")
    return {}
