"""What a REST request names, found for both APIs (Kalshi v2 and the seed's /v1): an order by its wire
UUID (the caller's own, in any of their subaccounts: anyone else's reads as not found), a subaccount by
its number, and the markets a `status` filter word means (the seed's filter takes Kalshi's words)."""

from __future__ import annotations

from typing import Any

from predictex.core.instruments import ACTIVE, AMENDED, CLOSED, DETERMINED, DISPUTED, FINALIZED, INACTIVE, INITIALIZED
from predictex.core.limits import SUBACCOUNTS_PER_MEMBER_MAX
from predictex.gateways.rest.handlers import Principal
from predictex.gateways.rest.wire import Query, bad_request, not_found
from predictex.readmodel.live import OrderView
from predictex.readmodel.queries import Queries
from predictex.server import ids
from predictex.server.context import Exchange

# the `status` filter's words (reference §5.3) and the market statuses each one means
MARKET_STATUS_FILTER: dict[str, frozenset[str]] = {
    "unopened": frozenset({INITIALIZED}),
    "open": frozenset({ACTIVE}),
    "paused": frozenset({INACTIVE}),
    "closed": frozenset({CLOSED, DETERMINED, DISPUTED, AMENDED}),
    "settled": frozenset({FINALIZED}),
}


def queries(exchange: Exchange) -> Queries:
    return Queries(exchange.live, exchange.store)


def order_number(exchange: Exchange, text: str) -> int:
    number = exchange.ids.from_uuid(ids.ORDER, text)
    if number is None:
        raise not_found(f"no order {text}")
    return number


def owner(exchange: Exchange, account_id: int) -> int:
    """The primary account of the member an engine account belongs to."""
    found = exchange.live.subaccount_of.get(account_id)
    return account_id if found is None else found[0]


def own_order(exchange: Exchange, principal: Principal, order_id: int) -> OrderView:
    view = queries(exchange).order(order_id)
    if view is None or owner(exchange, view.account_id) != principal.account_id:
        raise not_found(f"no order {exchange.ids.to_uuid(ids.ORDER, order_id)}")
    return view


def subaccount_number(value: Any, name: str = "subaccount") -> int:
    """A subaccount number as a request gives it: 0 (the primary account) to 63."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= SUBACCOUNTS_PER_MEMBER_MAX:
        raise bad_request(f"{name} must be an integer from 0 (the primary account) to {SUBACCOUNTS_PER_MEMBER_MAX}")
    return value


def member_account(exchange: Exchange, principal: Principal, number: int) -> int:
    """The engine account of the caller's subaccount `number` (0: the primary account)."""
    if number == 0:
        return principal.account_id
    found = exchange.live.subaccounts.get(principal.account_id, {}).get(number)
    if found is None:
        raise bad_request(f"subaccount {number} does not exist: create it first (POST /portfolio/subaccounts)")
    return found


def body_account(exchange: Exchange, principal: Principal, body: dict[str, Any]) -> int:
    """The account a request body's `subaccount` names (absent: the primary account)."""
    value = body.get("subaccount")
    return member_account(exchange, principal, 0 if value is None else subaccount_number(value))


def query_account(exchange: Exchange, principal: Principal, query: Query) -> int:
    """The account the query's `subaccount` names (absent: the primary account)."""
    return member_account(exchange, principal, query.integer("subaccount", 0, 0, SUBACCOUNTS_PER_MEMBER_MAX) or 0)


def query_accounts(exchange: Exchange, principal: Principal, query: Query) -> list[int]:
    """The accounts a list query covers: the one its `subaccount` names, or all of the member's."""
    if query.text("subaccount"):
        return [query_account(exchange, principal, query)]
    return list(exchange.live.member_accounts(principal.account_id).values())
