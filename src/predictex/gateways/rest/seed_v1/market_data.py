"""The seed's public market data and its login (/v1/markets, /v1/markets/{ticker},
/v1/markets/{ticker}/orderbook, /v1/markets/{ticker}/settlement, POST /v1/log_in).

Prices are integers in units of $0.0001 (6500 = $0.65), with dollar strings alongside; quantities
are contracts (with `*_fp` strings for fractional markets)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from predictex.accounts import AuthFailure, Session
from predictex.core.instruments import FINALIZED
from predictex.core.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from predictex.core.orders import outcome_side
from predictex.core.units import price_to_seed_units
from predictex.gateways.rest.handlers import (
    PASSWORD,
    SESSION,
    SIGNED,
    auth_error,
    authenticate,
    log_in_with_password,
    public,
    session_authorization,
)
from predictex.gateways.rest.lookups import MARKET_STATUS_FILTER
from predictex.gateways.rest.wire import ApiError, Query, bad_request, decode_cursor, encode_cursor, json_body
from predictex.gateways.shapes import seed as shapes
from predictex.gateways.shapes.text import contracts, count_fp, dollars, money, optional_rfc3339, rfc3339
from predictex.readmodel import portfolio
from predictex.readmodel.live import MarketView
from predictex.server import ids
from predictex.server.context import Exchange
from predictex.server.http import Request
from predictex.server.router import Router

PREFIX = "/v1"


def register(router: Router, exchange: Exchange) -> None:
    router.add("GET", PREFIX + "/markets", public(exchange, list_markets))
    router.add("GET", PREFIX + "/markets/{ticker}", public(exchange, get_market))
    router.add("GET", PREFIX + "/markets/{ticker}/orderbook", public(exchange, get_orderbook))
    router.add("GET", PREFIX + "/markets/{ticker}/settlement", public(exchange, get_settlement))
    router.add("POST", PREFIX + "/log_in", public(exchange, log_in, security=(SIGNED, SESSION, PASSWORD)))


def _market(exchange: Exchange, ticker: str) -> MarketView:
    market = exchange.live.markets.get(ticker)
    if market is None:
        raise ApiError(404, "market_not_found", f"no market {ticker!r}")
    return market


def list_markets(exchange: Exchange, request: Request, params: dict[str, str]) -> dict[str, Any]:
    query = Query(request.query_params())
    limit = query.limit(PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
    status = query.text("status")
    statuses = MARKET_STATUS_FILTER.get(status) if status else None
    if status and statuses is None:
        raise bad_request(f"status must be one of {', '.join(MARKET_STATUS_FILTER)}")
    after = decode_cursor(query.text("cursor"), (int,))
    page: list[dict[str, Any]] = []
    more = False
    last = 0
    for m in exchange.live.markets.values():
        number = m.definition.market_number
        if (after is not None and number <= after[0]) or (statuses is not None and m.status not in statuses):
            continue
        if len(page) == limit:
            more = True
            break
        page.append(shapes.market(m))
        last = number
    return {"markets": page, "cursor": encode_cursor([last]) if more else ""}


def get_market(exchange: Exchange, request: Request, params: dict[str, str]) -> dict[str, Any]:
    return {"market": shapes.market(_market(exchange, params["ticker"]))}


def get_orderbook(exchange: Exchange, request: Request, params: dict[str, str]) -> dict[str, Any]:
    return shapes.orderbook(_market(exchange, params["ticker"]))


def get_settlement(exchange: Exchange, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """A market's determination and settlement; with credentials, also the caller's own payout."""
    market = _market(exchange, params["ticker"])
    value = market.settlement_value_centicents
    body: dict[str, Any] = {
        "market_id": market.ticker,
        "status": market.status,
        "settled": market.status == FINALIZED,
        "result": market.result,
        "settlement_value": price_to_seed_units(value) if value >= 0 else None,
        "settlement_value_dollars": dollars(value) if value >= 0 else None,
        "source": market.settlement_source,
        "determined_time": optional_rfc3339(market.determined_ms),
        "settlement_scheduled_time": optional_rfc3339(market.settle_at_ms),
        "settled_time": optional_rfc3339(market.settled_ms),
    }
    if request.header("authorization") or request.header("kalshi-access-key"):
        principal = authenticate(exchange, request, "read")
        rows = exchange.store.query(
            "SELECT position_centicontracts, position_cost_microdollars, payout_microdollars, fees_paid_microdollars "
            "FROM settlements WHERE account_id = ? AND ticker = ?", [principal.account_id, market.ticker],
        )
        if rows:
            position, cost, payout, fees = rows[0]
            body["position"] = {
                "quantity": contracts(position), "quantity_fp": count_fp(position), "side": outcome_side(position > 0),
                "cost_dollars": money(cost), "payout_dollars": money(payout), "fees_paid_dollars": money(fees),
                "profit_dollars": money(portfolio.settlement_profit_microdollars(cost, payout, fees)),
            }
        else:
            body["position"] = None
    return body


def log_in(exchange: Exchange, request: Request, params: dict[str, str]) -> Awaitable[dict[str, Any]] | dict[str, Any]:
    """A bearer token for 30 minutes: signed in the seed's form, refreshed with a live token, or (as
    Kalshi's v1 API took it) for an email and password in the body, through the login throttle."""
    accounts = exchange.accounts
    result: Session | AuthFailure
    if request.header("kalshi-access-signature") is None and request.header("authorization"):
        result = accounts.sessions.refresh(session_authorization(exchange, request.header("authorization")))
    elif request.header("kalshi-access-signature") is None and _has_password(request.body):
        return _password_log_in(exchange, request)
    else:
        target = request.raw_path.decode("latin-1") if isinstance(request.raw_path, bytes) else request.raw_path
        result = accounts.log_in(request.headers, request.method, target, request.body)
    if isinstance(result, AuthFailure):
        raise auth_error(result)
    return _logged_in(exchange, result)


def _has_password(body: bytes) -> bool:
    if not body.strip(b" \t\r\n"):
        return False
    fields = json_body(body)  # malformed JSON: 400, as for any body
    return "email" in fields or "password" in fields


async def _password_log_in(exchange: Exchange, request: Request) -> dict[str, Any]:
    return _logged_in(exchange, await log_in_with_password(exchange, request, json_body(request.body)))


def _logged_in(exchange: Exchange, session: Session) -> dict[str, Any]:
    member_uuid = exchange.ids.to_uuid(ids.MEMBER, session.member_id)
    return {
        "token": session.token,
        "member_id": member_uuid,
        "user_id": member_uuid,  # Kalshi's v1 name for it
        "expires_time": rfc3339(session.expires_ms),
    }
