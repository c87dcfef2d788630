"""The seed's trading calls, exactly as its examples make them:

    POST /v1/orders        {"market_id", "side", "order_type", "price" (6500 = $0.65), "quantity",
                            "client_order_id"} -> the order, whose "id" the seed then cancels
    DELETE /v1/orders/{id} GET /v1/orders
    GET /v1/portfolio/balance | positions (with unrealized P&L from the last traded price) | fills

`side` is the contract bought (yes/no) and `price` its price in units of $0.0001; `action` may be
"sell" to sell what is held (default "buy"). Quantities are contracts (a decimal string such as
"2.50" on markets that allow fractions)."""

from __future__ import annotations

from typing import Any

from predictex.accounts import Lane
from predictex.core import commands as c
from predictex.core.limits import CLIENT_ORDER_ID_LENGTH_MAX, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from predictex.core.orders import Action, Side, outcome_side
from predictex.core.units import (
    PRICE_ONE_CENT_CENTICENTS,
    PRICE_ONE_DOLLAR_CENTICENTS,
    count_from_contracts,
    price_complement,
    price_from_seed_units,
    price_to_seed_units,
)
from predictex.gateways.rest.handlers import Principal, commit, private
from predictex.gateways.rest.lookups import order_number, own_order
from predictex.gateways.rest.wire import (
    ApiError,
    Query,
    bad_request,
    decode_cursor,
    encode_cursor,
    int_field,
    json_body,
    parse_count_field,
    refuse_unknown_fields,
    str_field,
)
from predictex.gateways.shapes import seed as shapes
from predictex.gateways.shapes.text import contracts, count_fp, money, money_cents
from predictex.readmodel import portfolio
from predictex.readmodel.live import Holding
from predictex.readmodel.queries import Queries
from predictex.server.context import Exchange
from predictex.server.http import Request, Response, json_response
from predictex.server.router import Router

PREFIX = "/v1"
ORDER_FIELDS = frozenset({
    "market_id", "ticker", "side", "action", "order_type", "price", "quantity", "client_order_id", "time_in_force",
    "post_only", "expiration_time",
})


def register(router: Router, exchange: Exchange) -> None:
    router.add("POST", PREFIX + "/orders", private(exchange, create_order, scope="write", lane=Lane.WRITE))
    router.add("GET", PREFIX + "/orders", private(exchange, list_orders))
    router.add("GET", PREFIX + "/orders/{order_id}", private(exchange, get_order))
    router.add("DELETE", PREFIX + "/orders/{order_id}", private(exchange, cancel_order, scope="write", lane=Lane.WRITE))
    router.add("GET", PREFIX + "/portfolio/balance", private(exchange, balance))
    router.add("GET", PREFIX + "/portfolio/positions", private(exchange, positions))
    router.add("GET", PREFIX + "/portfolio/fills", private(exchange, fills))


def _quantity(body: dict[str, Any]) -> int:
    value = body.get("quantity")
    if value is None:
        raise ApiError(400, "missing_parameters", "quantity is required")
    if isinstance(value, str):
        return parse_count_field(value, "quantity")
    return count_from_contracts(int_field(body, "quantity", None, 1))


def _order_command(body: dict[str, Any], account_id: int) -> c.CreateOrder:
    refuse_unknown_fields(body, ORDER_FIELDS)
    ticker = body.get("market_id") or body.get("ticker")
    if not isinstance(ticker, str):
        raise ApiError(400, "missing_parameters", "market_id is required")
    side_word = str_field(body, "side", None, 8)
    if side_word not in ("yes", "no"):
        raise bad_request("side must be yes or no")
    action_word = str_field(body, "action", "buy", 8)
    if action_word not in ("buy", "sell"):
        raise bad_request("action must be buy or sell")
    side, action = Side(side_word), Action(action_word)
    order_type = str_field(body, "order_type", "limit", 16)
    if order_type not in ("limit", "market"):
        raise bad_request("order_type must be limit or market")
    is_bid = (action is Action.BUY) == (side is Side.YES)
    if body.get("price") is None:
        if order_type != "market":
            raise ApiError(400, "missing_parameters", "a limit order needs a price (6500 = $0.65)")
        yes_price = PRICE_ONE_DOLLAR_CENTICENTS - PRICE_ONE_CENT_CENTICENTS if is_bid else PRICE_ONE_CENT_CENTICENTS
    else:
        own = price_from_seed_units(int_field(body, "price", None, 1, price_to_seed_units(PRICE_ONE_DOLLAR_CENTICENTS) - 1))
        yes_price = own if side is Side.YES else price_complement(own)
    time_in_force = str_field(body, "time_in_force", "good_till_canceled", 32)
    expiration_ms = 0
    if body.get("expiration_time") is not None:
        expiration_ms = int_field(body, "expiration_time", None, 0) * 1000
    client_id = str_field(body, "client_order_id", "", CLIENT_ORDER_ID_LENGTH_MAX)
    return c.CreateOrder(
        account_id, ticker, is_bid, yes_price, _quantity(body), time_in_force=time_in_force, expiration_ms=expiration_ms,
        post_only=bool(body.get("post_only") is True), order_type=order_type, client_order_id=client_id, action=action,
    )


async def create_order(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    body = json_body(request.body)
    command = _order_command(body, principal.account_id)
    committed = await commit(exchange, command)
    return json_response(201, shapes.order(own_order(exchange, principal, committed.outcome.value), exchange.ids))


async def cancel_order(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    order_id = order_number(exchange, params["order_id"])
    await commit(exchange, c.CancelOrder(principal.account_id, order_id))
    return shapes.order(own_order(exchange, principal, order_id), exchange.ids)


def get_order(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    return shapes.order(own_order(exchange, principal, order_number(exchange, params["order_id"])), exchange.ids)


def list_orders(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Open orders by default; `status` = resting, canceled, executed or all."""
    query = Query(request.query_params())
    limit = query.limit(PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
    status = query.text("status", "resting")
    if status not in ("resting", "canceled", "executed", "all"):
        raise bad_request("status must be resting, canceled, executed or all")
    ticker = query.text("market_id") or query.text("ticker")
    cursor = decode_cursor(query.text("cursor"), (int, int))
    found = Queries(exchange.live, exchange.store).orders(
        principal.account_id, status="" if status == "all" else status, tickers=frozenset({ticker}) if ticker else None,
        limit=limit, before=(cursor[0], cursor[1]) if cursor else None,
    )
    page = found[:limit]
    return {
        "orders": [shapes.order(view, exchange.ids) for view in page],
        "cursor": encode_cursor([page[-1].created_ms, page[-1].order_id]) if len(found) > limit and page else "",
    }


def balance(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    found = portfolio.balances(exchange.live, principal.account_id)
    return {
        "balance": money_cents(found.cash_microdollars),
        "balance_dollars": money(found.cash_microdollars),
        "available_dollars": money(found.cash_microdollars),
        "locked_dollars": money(found.locked_microdollars),
        "portfolio_value_dollars": money(found.portfolio_value_microdollars),
        "total_dollars": money(found.total_microdollars),
        "currency": "USD",
    }


def positions(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Holdings with their cost, value at the last traded price, and unrealized P&L."""
    answers = []
    for ticker, holding in sorted(exchange.live.holdings.get(principal.account_id, {}).items()):
        market = exchange.live.markets[ticker]
        for index, (is_yes, value) in enumerate(portfolio.valuations(exchange.live, ticker, holding)):
            answers.append(_position(ticker, market.status, holding, is_yes, value, index == 0))
    return {"positions": answers}


def _position(ticker: str, status: str, holding: Holding, is_yes: bool, value: portfolio.Valuation, first: bool) -> dict[str, Any]:
    """One side held (both YES and NO are listed for an account without netting that holds both: the
    market's realized P&L and fees on the first)."""
    return {
        "market_id": ticker,
        "side": outcome_side(is_yes),
        "quantity": contracts(value.quantity_centicontracts),
        "quantity_fp": count_fp(value.quantity_centicontracts),
        "average_price": price_to_seed_units(value.average_price_centicents),
        "cost_dollars": money(value.cost_microdollars),
        "last_price": price_to_seed_units(value.mark_centicents) if value.mark_centicents else None,
        "market_value_dollars": money(value.value_microdollars),
        "unrealized_pnl_dollars": money(value.unrealized_pnl_microdollars),
        "realized_pnl_dollars": money(holding.realized_pnl_microdollars if first else 0),
        "fees_paid_dollars": money(holding.fees_paid_microdollars if first else 0),
        "market_status": status,
    }


def fills(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    query = Query(request.query_params())
    limit = query.limit(PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
    ticker = query.text("market_id") or query.text("ticker")
    cursor = decode_cursor(query.text("cursor"), (int,))
    rows = Queries(exchange.live, exchange.store).fills(
        principal.account_id, tickers=frozenset({ticker}) if ticker else None, limit=limit,
        before=(cursor[0], 0) if cursor else None,
    )
    page = rows[:limit]
    actions = Queries(exchange.live, exchange.store).order_labels([row[3] for row in page])
    answers = [shapes.fill(row, exchange.ids, actions.get(row[3], (Action.BUY, ""))[0]) for row in page]
    return {"fills": answers, "cursor": encode_cursor([page[-1][0]]) if len(rows) > limit and page else ""}
