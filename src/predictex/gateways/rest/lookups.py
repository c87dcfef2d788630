"""What a REST request names, found for both APIs (Kalshi v2 and the seed's /v1): an order by its wire
UUID (the caller's own: anyone else's reads as not found), and the markets a `status` filter word
means (the seed's filter takes Kalshi's words)."""

from __future__ import annotations

from predictex.gateways.rest.handlers import Principal
from predictex.gateways.rest.wire import not_found
from predictex.readmodel.live import OrderView
from predictex.readmodel.queries import Queries
from predictex.server import ids
from predictex.server.context import Exchange

# the `status` filter's words (reference §5.3) and the market statuses each one means
MARKET_STATUS_FILTER: dict[str, frozenset[str]] = {
    "unopened": frozenset({"initialized"}),
    "open": frozenset({"active"}),
    "paused": frozenset({"inactive"}),
    "closed": frozenset({"closed", "determined", "disputed", "amended"}),
    "settled": frozenset({"finalized"}),
}


def queries(exchange: Exchange) -> Queries:
    return Queries(exchange.live, exchange.store)


def order_number(exchange: Exchange, text: str) -> int:
    number = exchange.ids.from_uuid(ids.ORDER, text)
    if number is None:
        raise not_found(f"no order {text}")
    return number


def own_order(exchange: Exchange, principal: Principal, order_id: int) -> OrderView:
    view = queries(exchange).order(order_id)
    if view is None or view.account_id != principal.account_id:
        raise not_found(f"no order {exchange.ids.to_uuid(ids.ORDER, order_id)}")
    return view
