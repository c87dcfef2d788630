"""Kalshi v2 order entry and order reads, both generations (reference §4.4, §6):

    legacy   POST/DELETE /portfolio/orders[...], amend, decrease, batched   -> full Order objects
    current  POST/DELETE /portfolio/events/orders[...], amend, decrease, batched, cancel-all -> light answers
    reads    GET /portfolio/orders, /portfolio/orders/{id}, queue positions

Every order is the caller's own: anyone else's reads as not found."""

from __future__ import annotations

from typing import Any

from predictex.accounts import Lane
from predictex.core import commands as c
from predictex.core import events as ev
from predictex.core.limits import BATCH_ORDERS_MAX, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from predictex.core.orders import OrderStatus
from predictex.gateways.rest.errors import reject_body
from predictex.gateways.rest.handlers import Principal, commit, private
from predictex.gateways.rest.kalshi_v2 import order_requests as requests
from predictex.gateways.rest.lookups import (
    body_account,
    order_number,
    own_order,
    owner,
    queries,
    query_account,
    query_accounts,
)
from predictex.gateways.rest.wire import ApiError, Query, bad_request, decode_cursor, encode_cursor, json_body
from predictex.gateways.shapes import kalshi as shapes
from predictex.gateways.shapes.text import contracts, count_fp
from predictex.readmodel.live import OrderView
from predictex.server import ids
from predictex.server.context import Exchange
from predictex.server.http import Request, Response, empty_response, json_response
from predictex.server.router import Router

PREFIX = "/trade-api/v2/portfolio"


def register(router: Router, exchange: Exchange) -> None:
    def write(handler: Any, cost: int | None = None) -> Any:
        return private(exchange, handler, scope="write", lane=Lane.WRITE, cost=cost)

    def read(handler: Any) -> Any:
        return private(exchange, handler)

    router.add("POST", PREFIX + "/orders", write(legacy_create))
    router.add("POST", PREFIX + "/orders/batched", write(legacy_batch_create))
    router.add("DELETE", PREFIX + "/orders/batched", write(legacy_batch_cancel))
    router.add("DELETE", PREFIX + "/orders/{order_id}", write(legacy_cancel))
    router.add("POST", PREFIX + "/orders/{order_id}/amend", write(legacy_amend))
    router.add("POST", PREFIX + "/orders/{order_id}/decrease", write(legacy_decrease))
    router.add("POST", PREFIX + "/events/orders", write(v2_create))
    router.add("DELETE", PREFIX + "/events/orders", write(v2_cancel_all))
    router.add("POST", PREFIX + "/events/orders/batched", write(v2_batch_create))
    router.add("DELETE", PREFIX + "/events/orders/batched", write(v2_batch_cancel))
    router.add("DELETE", PREFIX + "/events/orders/{order_id}", write(v2_cancel))
    router.add("POST", PREFIX + "/events/orders/{order_id}/amend", write(v2_amend))
    router.add("POST", PREFIX + "/events/orders/{order_id}/decrease", write(v2_decrease))
    router.add("GET", PREFIX + "/orders", read(list_orders))
    router.add("GET", PREFIX + "/orders/queue_positions", read(queue_positions))
    router.add("GET", PREFIX + "/orders/{order_id}", read(get_order))
    router.add("GET", PREFIX + "/orders/{order_id}/queue_position", read(queue_position))


# --- helpers ---------------------------------------------------------------------------------------

def member_uuid(exchange: Exchange, principal: Principal) -> str:
    return exchange.ids.to_uuid(ids.MEMBER, principal.member.member_id)


def order_json(exchange: Exchange, principal: Principal, order_id: int) -> dict[str, Any]:
    view = own_order(exchange, principal, order_id)
    return shapes.order(view, member_uuid(exchange, principal), exchange.ids, exchange.live.subaccount_number(view.account_id))


def order_account(exchange: Exchange, principal: Principal, order_id: int) -> int:
    """The account holding the caller's open order (whichever subaccount placed it); the caller's
    primary account for anything else, which the engine then refuses as not found."""
    view = exchange.live.orders.get(order_id)
    if view is not None and owner(exchange, view.account_id) == principal.account_id:
        return view.account_id
    return principal.account_id


def reduced_by(events: list[ev.Event], order_id: int) -> int:
    return sum(e.reduced_by_centicontracts for e in events if isinstance(e, ev.OrderClosed) and e.order_id == order_id)


def _market(exchange: Exchange, body: dict[str, Any]) -> Any:
    ticker = body.get("ticker")
    return exchange.live.markets.get(ticker) if isinstance(ticker, str) else None


def _check_batch(body: dict[str, Any], name: str) -> list[Any]:
    items = body.get(name)
    if not isinstance(items, list):
        raise bad_request(f"{name} must be a list")
    if not 1 <= len(items) <= BATCH_ORDERS_MAX:
        raise bad_request(f"a batch holds 1 to {BATCH_ORDERS_MAX} orders")
    return items


def _error_body(error: ApiError) -> dict[str, str]:
    return {"code": error.code, "message": error.message, "details": error.details}


# --- legacy ------------------------------------------------------------------------------------------

async def legacy_create(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    body = json_body(request.body)
    command = requests.legacy_create(body, body_account(exchange, principal, body), _market(exchange, body), exchange.ids)
    committed = await commit(exchange, command)
    return json_response(201, {"order": order_json(exchange, principal, committed.outcome.value)})


async def legacy_cancel(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    order_id = order_number(exchange, params["order_id"])
    committed = await commit(exchange, c.CancelOrder(order_account(exchange, principal, order_id), order_id))
    reduced = reduced_by(committed.outcome.events, order_id)
    return {"order": order_json(exchange, principal, order_id), "reduced_by": contracts(reduced), "reduced_by_fp": count_fp(reduced)}


def _check_client_order_id(body: dict[str, Any], order: dict[str, Any]) -> None:
    """An amend naming the order by its client id too must name the same order (reference §6.4)."""
    given = body.get("client_order_id")
    if given is not None and given != "" and given != order["client_order_id"]:
        raise ApiError(400, "order_id_and_client_order_id_mismatch", "order id and client order id mismatch",
                       f"order {order['order_id']} has client_order_id {order['client_order_id']!r}, not {given!r}")


async def legacy_amend(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    order_id = order_number(exchange, params["order_id"])
    old = order_json(exchange, principal, order_id)
    body = json_body(request.body)
    command = requests.legacy_amend(body, order_account(exchange, principal, order_id), order_id)
    _check_client_order_id(body, old)
    await commit(exchange, command)
    return {"old_order": old, "order": order_json(exchange, principal, order_id)}


async def legacy_decrease(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    order_id = order_number(exchange, params["order_id"])
    await commit(exchange, requests.decrease(json_body(request.body), order_account(exchange, principal, order_id), order_id, v2=False))
    return {"order": order_json(exchange, principal, order_id)}


async def _batch_create(exchange: Exchange, principal: Principal, items: list[Any], parse: Any) -> tuple[list[Any], int]:
    """Parse each item (a bad one is answered alone), then send the good ones as one batch. Returns, per
    item, an ApiError or the item's Outcome, and the time the batch was applied at."""
    results: list[Any] = []
    commands: list[c.CreateOrder] = []
    for item in items:
        try:
            if not isinstance(item, dict):
                raise bad_request("each order is an object")
            command = parse(item, body_account(exchange, principal, item))
            if commands and command.account_id != commands[0].account_id:
                raise bad_request("the orders of one batch are placed in one subaccount")
            commands.append(command)
            results.append(len(commands) - 1)
        except ApiError as error:
            results.append(error)
    if not commands:
        return results, exchange.clock.now_ms()
    committed = await commit(exchange, c.BatchCreateOrders(commands[0].account_id, commands))
    outcome = committed.outcome
    return [r if isinstance(r, ApiError) else outcome.items[r] for r in results], committed.time_ms


async def legacy_batch_create(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    body = json_body(request.body)
    items = _check_batch(body, "orders")
    results, _ = await _batch_create(
        exchange, principal, items,
        lambda item, account: requests.legacy_create(item, account, _market(exchange, item), exchange.ids),
    )
    answers = []
    for item, result in zip(items, results, strict=True):
        client_id = item.get("client_order_id") if isinstance(item, dict) else None
        if isinstance(result, ApiError):
            answers.append({"client_order_id": client_id, "order": None, "error": _error_body(result)})
        elif result.reject is not None:
            answers.append({"client_order_id": client_id, "order": None, "error": reject_body(result.reject, exchange.ids)})
        else:
            order = order_json(exchange, principal, result.value)
            answers.append({"client_order_id": order["client_order_id"], "order": order, "error": None})
    return json_response(201, {"orders": answers})


def _cancel_targets(exchange: Exchange, body: dict[str, Any]) -> list[tuple[str, int | None]]:
    if "ids" in body:
        raw = body["ids"]
        if not isinstance(raw, list) or not all(isinstance(i, str) for i in raw):
            raise bad_request("ids must be a list of order ids")
        texts = raw
    else:
        entries = _check_batch(body, "orders")
        if not all(isinstance(e, dict) and isinstance(e.get("order_id"), str) for e in entries):
            raise bad_request("each entry needs an order_id")
        texts = [e["order_id"] for e in entries]
    if not 1 <= len(texts) <= BATCH_ORDERS_MAX:
        raise bad_request(f"a batch holds 1 to {BATCH_ORDERS_MAX} orders")
    return [(text, exchange.ids.from_uuid(ids.ORDER, text)) for text in texts]


async def _batch_cancel(exchange: Exchange, principal: Principal, targets: list[tuple[str, int | None]]) -> list[Any]:
    """Cancel the known orders, one batch per subaccount holding them; each target's item Outcome
    (None for an id that names no order)."""
    by_account: dict[int, list[int]] = {}
    for _, number in targets:
        if number is not None:
            by_account.setdefault(order_account(exchange, principal, number), []).append(number)
    outcomes: dict[int, list[Any]] = {}
    for account, numbers in by_account.items():
        outcomes[account] = list(reversed((await commit(exchange, c.BatchCancelOrders(account, numbers))).outcome.items))
    results: list[Any] = []
    for _text, number in targets:
        if number is None:
            results.append(None)
        else:
            results.append(outcomes[order_account_of(by_account, number)].pop())
    return results


def order_account_of(by_account: dict[int, list[int]], number: int) -> int:
    return next(account for account, numbers in by_account.items() if number in numbers)


async def legacy_batch_cancel(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    targets = _cancel_targets(exchange, json_body(request.body))
    answers = []
    for (text, number), result in zip(targets, await _batch_cancel(exchange, principal, targets), strict=True):
        if result is None or result.reject is not None:
            error = reject_body(result.reject, exchange.ids) if result is not None and result.reject else {
                "code": "not_found", "message": "order not found", "details": f"no order {text}"}
            answers.append({"order_id": text, "order": None, "reduced_by": 0, "reduced_by_fp": "0.00", "error": error})
        else:
            assert number is not None
            reduced = reduced_by(result.events, number)
            answers.append({"order_id": text, "order": order_json(exchange, principal, number), "reduced_by": contracts(reduced),
                            "reduced_by_fp": count_fp(reduced), "error": None})
    return {"orders": answers}


# --- current (V2) --------------------------------------------------------------------------------------

def own_live_order(exchange: Exchange, principal: Principal, order_id: int) -> OrderView | None:
    """The caller's order if it is resting, from the live state (no SQL)."""
    view = exchange.live.orders.get(order_id)
    return view if view is not None and owner(exchange, view.account_id) == principal.account_id else None


def _v2_result(exchange: Exchange, principal: Principal, order_id: int, events: list[ev.Event], ts_ms: int,
               entered_client_order_id: str | None = None) -> dict[str, Any]:
    """The v2 answer to a create or amend. `entered_client_order_id` is given for an order the caller
    just created: if it is no longer resting it closed on entry (filled, IOC or FOK), with nothing left,
    and its closed view (a history query) is not needed."""
    view = own_live_order(exchange, principal, order_id)
    if view is None and entered_client_order_id:
        client_order_id, remaining = entered_client_order_id, 0
    else:
        view = view or own_order(exchange, principal, order_id)
        client_order_id, remaining = view.client_order_id, view.remaining_centicontracts
    filled, _notional, _fees = shapes.fills_summary(events, order_id)
    order_uuid = exchange.ids.to_uuid(ids.ORDER, order_id)
    return {
        "order_id": order_uuid,
        "client_order_id": client_order_id or order_uuid,
        "fill_count": count_fp(filled),
        "remaining_count": count_fp(remaining),
        **shapes.fill_report(events, order_id),
        "ts_ms": ts_ms,
    }


async def v2_create(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    body = json_body(request.body)
    command = requests.v2_create(body, body_account(exchange, principal, body), exchange.ids)
    committed = await commit(exchange, command)
    outcome = committed.outcome
    return json_response(201, _v2_result(exchange, principal, outcome.value, outcome.events, committed.time_ms, command.client_order_id))


async def v2_cancel(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    order_id = order_number(exchange, params["order_id"])
    resting = own_live_order(exchange, principal, order_id)  # before it closes
    committed = await commit(exchange, c.CancelOrder(order_account(exchange, principal, order_id), order_id))
    view = resting or own_order(exchange, principal, order_id)
    order_uuid = params["order_id"]
    return {
        "order_id": order_uuid, "client_order_id": view.client_order_id or order_uuid,
        "reduced_by": count_fp(reduced_by(committed.outcome.events, order_id)), "ts_ms": committed.time_ms,
    }


async def v2_amend(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    order_id = order_number(exchange, params["order_id"])
    body = json_body(request.body)
    command = requests.v2_amend(body, order_account(exchange, principal, order_id), order_id)
    _check_client_order_id(body, order_json(exchange, principal, order_id))
    committed = await commit(exchange, command)
    return _v2_result(exchange, principal, order_id, committed.outcome.events, committed.time_ms)


async def v2_decrease(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    order_id = order_number(exchange, params["order_id"])
    committed = await commit(exchange, requests.decrease(json_body(request.body), order_account(exchange, principal, order_id), order_id, v2=True))
    view = own_order(exchange, principal, order_id)
    return {
        "order_id": params["order_id"], "client_order_id": view.client_order_id or params["order_id"],
        "remaining_count": count_fp(view.remaining_centicontracts), "ts_ms": committed.time_ms,
    }


async def v2_batch_create(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    body = json_body(request.body)
    items = _check_batch(body, "orders")
    results, applied_ms = await _batch_create(
        exchange, principal, items, lambda item, account: requests.v2_create(item, account, exchange.ids),
    )
    answers = []
    for item, result in zip(items, results, strict=True):
        client_id = item.get("client_order_id") if isinstance(item, dict) else None
        if isinstance(result, ApiError):
            answers.append({"client_order_id": client_id, "error": _error_body(result)})
        elif result.reject is not None:
            answers.append({"client_order_id": client_id, "error": reject_body(result.reject, exchange.ids)})
        else:
            entered = client_id if isinstance(client_id, str) else None  # None: the exchange named it
            answers.append({**_v2_result(exchange, principal, result.value, result.events, applied_ms, entered), "error": None})
    return json_response(201, {"orders": answers})


async def v2_batch_cancel(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    targets = _cancel_targets(exchange, json_body(request.body))
    now = exchange.clock.now_ms()
    resting = {number: own_live_order(exchange, principal, number) for _, number in targets if number is not None}  # before they close
    answers: list[dict[str, Any]] = []
    for (text, number), result in zip(targets, await _batch_cancel(exchange, principal, targets), strict=True):
        if result is None or result.reject is not None:
            error = reject_body(result.reject, exchange.ids) if result is not None and result.reject else {
                "code": "not_found", "message": "order not found", "details": f"no order {text}"}
            answers.append({"order_id": text, "reduced_by": "0.00", "error": error})
        else:
            assert number is not None
            view = resting.get(number) or own_order(exchange, principal, number)
            answers.append({"order_id": text, "client_order_id": view.client_order_id or text,
                            "reduced_by": count_fp(reduced_by(result.events, number)), "ts_ms": now, "error": None})
    return {"orders": answers}


async def v2_cancel_all(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    query = Query(request.query_params())
    await commit(exchange, c.CancelAllOrders(query_account(exchange, principal, query), query.text("ticker")))
    return empty_response(204)


# --- reads -------------------------------------------------------------------------------------------

ORDER_STATUSES = tuple(status.value for status in OrderStatus)


def list_orders(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    query = Query(request.query_params())
    limit = query.limit(PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
    status = query.text("status")
    if status and status not in ORDER_STATUSES:
        raise bad_request(f"status must be one of {', '.join(ORDER_STATUSES)}")
    tickers: set[str] = set(query.texts("ticker"))
    events = query.texts("event_ticker")
    if len(events) > 10:
        raise bad_request("event_ticker names at most 10 events")
    for event in events:
        # an event without markets matches nothing: a ticker no market can have keeps the filter non-empty
        tickers.update(exchange.live.event_markets.get(event, []) or [f"\0{event}"])
    cursor = decode_cursor(query.text("cursor"), (int, int))
    found = queries(exchange).orders(
        query_accounts(exchange, principal, query), status=status, tickers=frozenset(tickers) if tickers else None,
        min_ms=(query.integer("min_ts", 0, 0) or 0) * 1000, max_ms=(query.integer("max_ts", 1 << 40, 0) or 0) * 1000 + 999,
        limit=limit, before=(cursor[0], cursor[1]) if cursor else None,
        closed_since_ms=exchange.live.schedules.archive_cutoff_ms[2],  # older ones: /historical/orders
    )
    page = found[:limit]
    member = member_uuid(exchange, principal)
    more = len(found) > limit
    return {
        "orders": [shapes.order(view, member, exchange.ids, exchange.live.subaccount_number(view.account_id)) for view in page],
        "cursor": encode_cursor([page[-1].created_ms, page[-1].order_id]) if more and page else "",
    }


def get_order(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    return {"order": order_json(exchange, principal, order_number(exchange, params["order_id"]))}


def _queue_position(exchange: Exchange, order_id: int) -> int:
    """From the read model (committed state), like every read."""
    ahead = exchange.live.queue_position(order_id)
    return 0 if ahead is None else ahead


def queue_position(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    order_id = order_number(exchange, params["order_id"])
    view = own_order(exchange, principal, order_id)
    if view.status is not OrderStatus.RESTING:  # Kalshi declares 404 here: only a resting order has a queue position
        raise ApiError(404, "not_found", "not found", "the order is not resting: only a resting order has a queue position")
    ahead = _queue_position(exchange, order_id)
    return {"queue_position_fp": count_fp(ahead), "queue_position": contracts(ahead)}


def queue_positions(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    query = Query(request.query_params())
    tickers = set(query.texts("market_tickers"))
    event = query.text("event_ticker")
    if event:
        tickers.update(exchange.live.event_markets.get(event, []))
    if not tickers:
        raise ApiError(400, "missing_parameters", "market_tickers or event_ticker is required")
    answers = []
    views = [view for account in query_accounts(exchange, principal, query) for view in exchange.live.orders_by_account.get(account, {}).values()]
    for view in views:
        if view.ticker in tickers:
            ahead = _queue_position(exchange, view.order_id)
            answers.append({
                "order_id": exchange.ids.to_uuid(ids.ORDER, view.order_id), "market_ticker": view.ticker,
                "queue_position_fp": count_fp(ahead), "queue_position": contracts(ahead),
            })
    return {"queue_positions": answers}
