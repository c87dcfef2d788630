"""Order requests of both generations into engine commands (reference §6.1-§6.5).

Legacy (`POST /portfolio/orders`): side yes/no + action buy/sell, exactly one of yes_price, no_price
(cents) or yes_price_dollars, no_price_dollars, and count and/or count_fp (equal when both). V2
(`POST /portfolio/events/orders`): book side bid/ask with a YES price string and a count string,
time in force and self-trade prevention required. Everything is checked here for shape and type;
the engine checks the rest (grid, balance, market state)."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from predictex.core import commands as c
from predictex.core.instruments import PRICE_LEVEL_STRUCTURES, grid_ticks
from predictex.core.limits import CLIENT_ORDER_ID_LENGTH_MAX, SUBACCOUNTS_PER_MEMBER_MAX, TICKER_LENGTH_MAX
from predictex.core.orders import STP_TAKER_AT_CROSS, STP_TYPES, Action, BookSide, Side, TimeInForce
from predictex.core.units import (
    PRICE_ONE_CENT_CENTICENTS,
    PRICE_ONE_DOLLAR_CENTICENTS,
    count_from_contracts,
    money_from_cents,
    price_complement,
    price_from_cents,
)
from predictex.gateways.rest.wire import (
    ApiError,
    bad_request,
    bool_field,
    int_field,
    parse_count_field,
    parse_dollars_field,
    parse_money_field,
    refuse_unknown_fields,
    str_field,
)
from predictex.readmodel.live import MarketView
from predictex.server import ids
from predictex.server.ids import Ids

E = TypeVar("E", Side, Action, BookSide, TimeInForce)
LEGACY_FIELDS = frozenset({
    "ticker", "client_order_id", "side", "action", "count", "count_fp", "type", "yes_price", "no_price",
    "yes_price_dollars", "no_price_dollars", "expiration_ts", "time_in_force", "buy_max_cost", "buy_max_cost_dollars",
    "post_only", "reduce_only", "sell_position_floor", "self_trade_prevention_type", "order_group_id",
    "cancel_order_on_pause", "subaccount", "exchange_index",
})
V2_FIELDS = frozenset({
    "ticker", "client_order_id", "side", "count", "price", "expiration_time", "time_in_force", "post_only",
    "self_trade_prevention_type", "cancel_order_on_pause", "reduce_only", "subaccount", "order_group_id", "exchange_index",
})


def client_order_id(body: dict[str, Any]) -> str:
    """The client's id, or one generated here (Kalshi always answers with one)."""
    value = str_field(body, "client_order_id", "", CLIENT_ORDER_ID_LENGTH_MAX)
    return value or str(uuid.uuid4())


def check_routing(body: dict[str, Any]) -> None:
    """One exchange: shard 0 (or "route by ticker") only. (The caller resolves `subaccount` to the
    account the command names; here it is checked for shape.)"""
    int_field(body, "subaccount", 0, 0, SUBACCOUNTS_PER_MEMBER_MAX)
    index = body.get("exchange_index")
    if index is not None and index not in (0, -1):
        raise bad_request("this exchange has one shard: exchange_index must be 0 (or -1 to route by ticker)")


def group_number(body: dict[str, Any], identities: Ids) -> int:
    value = body.get("order_group_id")
    if value is None or value == "":
        return 0
    if not isinstance(value, str):
        raise bad_request("order_group_id must be a string")
    number = identities.from_uuid(ids.ORDER_GROUP, value)
    if number is None:
        raise ApiError(404, "not_found", "order group not found", f"none has the id {value}")
    return number


def _count(body: dict[str, Any]) -> int:
    count = body.get("count")
    count_fp = body.get("count_fp")
    if count is None and count_fp is None:
        raise ApiError(400, "missing_parameters", "count or count_fp is required")
    from_int = None
    if count is not None:
        from_int = count_from_contracts(int_field(body, "count", None, 1))
    from_fp = parse_count_field(count_fp, "count_fp") if count_fp is not None else None
    if from_int is not None and from_fp is not None and from_int != from_fp:
        raise bad_request("count and count_fp disagree")
    result = from_fp if from_fp is not None else from_int
    assert result is not None
    return result


def _legacy_yes_price(body: dict[str, Any]) -> int | None:
    """The YES price from exactly one of the four price fields (None for a market order without one)."""
    given = [name for name in ("yes_price", "no_price", "yes_price_dollars", "no_price_dollars") if body.get(name) is not None]
    if len(given) > 1:
        raise bad_request(f"give exactly one price, not {', '.join(given)}")
    if not given:
        return None
    name = given[0]
    if name.endswith("_dollars"):
        price = parse_dollars_field(body[name], name)
    else:
        price = price_from_cents(int_field(body, name, None, 1, 99))
    return price if name.startswith("yes") else price_complement(price)


def _default_price(market: MarketView | None, is_bid: bool) -> int:
    """A market order without a price takes anything: the best tradable price on the grid."""
    if market is None:
        return PRICE_ONE_DOLLAR_CENTICENTS - PRICE_ONE_CENT_CENTICENTS if is_bid else PRICE_ONE_CENT_CENTICENTS
    ticks = grid_ticks(PRICE_LEVEL_STRUCTURES[market.definition.price_level_structure])
    return ticks[-1] if is_bid else ticks[0]


def _choice(body: dict[str, Any], name: str, choices: tuple[str, ...], default: str | None) -> str:
    value = str_field(body, name, default, 64)
    if value not in choices:
        raise bad_request(f"{name} must be one of {', '.join(choices)}")
    return value


def _member(body: dict[str, Any], name: str, words: dict[str, E], default: str | None) -> E:
    """A field naming a member of one of the order enums by its wire word (in `words`)."""
    member = words.get(str_field(body, name, default, 64))
    if member is None:
        raise bad_request(f"{name} must be one of {', '.join(words)}")
    return member


# Kalshi's words for the order enums are their values (the journal's words were chosen as Kalshi's)
_SIDES: dict[str, Side] = {member.value: member for member in Side}
_ACTIONS: dict[str, Action] = {member.value: member for member in Action}
_BOOK_SIDES: dict[str, BookSide] = {member.value: member for member in BookSide}
_TIMES_IN_FORCE: dict[str, TimeInForce] = {member.value: member for member in TimeInForce}


def legacy_create(body: dict[str, Any], account_id: int, market: MarketView | None, identities: Ids) -> c.CreateOrder:
    refuse_unknown_fields(body, LEGACY_FIELDS)
    check_routing(body)
    side = _member(body, "side", _SIDES, None)
    action = _member(body, "action", _ACTIONS, None)
    order_type = _choice(body, "type", ("limit", "market"), "limit")
    is_bid = (action is Action.BUY) == (side is Side.YES)
    price = _legacy_yes_price(body)
    if price is None:
        if order_type != "market":
            raise ApiError(400, "missing_parameters", "a limit order needs yes_price, no_price or a *_dollars price")
        price = _default_price(market, is_bid)
    time_in_force = _member(body, "time_in_force", _TIMES_IN_FORCE, TimeInForce.GOOD_TILL_CANCELED)
    floor = body.get("sell_position_floor")
    if floor is not None and floor != 0:
        raise bad_request("sell_position_floor only accepts 0 (use reduce_only)")
    max_cost = 0
    if body.get("buy_max_cost") is not None:
        max_cost = money_from_cents(int_field(body, "buy_max_cost", None, 1))
    elif body.get("buy_max_cost_dollars") is not None:
        max_cost = parse_money_field(body["buy_max_cost_dollars"], "buy_max_cost_dollars")
    expiration_s = int_field(body, "expiration_ts", 0, 0)
    return c.CreateOrder(
        account_id, str_field(body, "ticker", None, TICKER_LENGTH_MAX), is_bid, price, _count(body), time_in_force=time_in_force,
        expiration_ms=expiration_s * 1000, post_only=bool_field(body, "post_only"), reduce_only=bool_field(body, "reduce_only"),
        self_trade_prevention=_choice(body, "self_trade_prevention_type", STP_TYPES, STP_TAKER_AT_CROSS),
        order_type=order_type, cancel_on_pause=bool_field(body, "cancel_order_on_pause"),
        client_order_id=client_order_id(body), order_group_id=group_number(body, identities), action=action,
        sell_position_floor=floor == 0 and action is Action.SELL, buy_max_cost_microdollars=max_cost,
    )


def v2_create(body: dict[str, Any], account_id: int, identities: Ids) -> c.CreateOrder:
    refuse_unknown_fields(body, V2_FIELDS)
    check_routing(body)
    side = _member(body, "side", _BOOK_SIDES, None)
    price = parse_dollars_field(body.get("price") if body.get("price") is not None else _missing("price"), "price")
    count = parse_count_field(body.get("count") if body.get("count") is not None else _missing("count"), "count")
    expiration_s = int_field(body, "expiration_time", 0, 0)
    reduce_only = bool_field(body, "reduce_only")
    return c.CreateOrder(
        account_id, str_field(body, "ticker", None, TICKER_LENGTH_MAX), side is BookSide.BID, price, count,
        time_in_force=_member(body, "time_in_force", _TIMES_IN_FORCE, None), expiration_ms=expiration_s * 1000,
        post_only=bool_field(body, "post_only"), reduce_only=reduce_only,
        self_trade_prevention=_choice(body, "self_trade_prevention_type", STP_TYPES, None),
        cancel_on_pause=bool_field(body, "cancel_order_on_pause"), client_order_id=client_order_id(body),
        # a book side names no action; a reduce-only order sells what is held (with netting off, only a sell closes)
        order_group_id=group_number(body, identities), action=Action.SELL if reduce_only else Action.BUY,
    )


def _missing(name: str) -> Any:
    raise ApiError(400, "missing_parameters", f"{name} is required")


def legacy_amend(body: dict[str, Any], account_id: int, order_id: int) -> c.AmendOrder:
    refuse_unknown_fields(body, frozenset({
        "ticker", "side", "action", "client_order_id", "updated_client_order_id", "yes_price", "no_price",
        "yes_price_dollars", "no_price_dollars", "count", "count_fp", "subaccount", "exchange_index",
    }))
    check_routing(body)
    price = _legacy_yes_price(body) or 0
    total = _count(body) if body.get("count") is not None or body.get("count_fp") is not None else 0
    side = body.get("side")
    action = body.get("action")
    book_side = ""
    if side is not None or action is not None:
        yes = _member(body, "side", _SIDES, Side.YES) is Side.YES
        buys = _member(body, "action", _ACTIONS, Action.BUY) is Action.BUY
        book_side = BookSide.BID if buys == yes else BookSide.ASK
    return c.AmendOrder(
        account_id, order_id, ticker=str_field(body, "ticker", "", TICKER_LENGTH_MAX), side=book_side, price_centicents=price,
        total_count_centicontracts=total, updated_client_order_id=str_field(body, "updated_client_order_id", "", CLIENT_ORDER_ID_LENGTH_MAX),
    )


def v2_amend(body: dict[str, Any], account_id: int, order_id: int) -> c.AmendOrder:
    refuse_unknown_fields(body, frozenset({
        "ticker", "side", "price", "count", "client_order_id", "updated_client_order_id", "expiration_time", "exchange_index",
    }))
    check_routing(body)
    side = _member(body, "side", _BOOK_SIDES, None)
    expiration = body.get("expiration_time")
    expiration_ms = -1 if expiration is None else int_field(body, "expiration_time", None, 0) * 1000
    return c.AmendOrder(
        account_id, order_id, ticker=str_field(body, "ticker", None, TICKER_LENGTH_MAX), side=side,
        price_centicents=parse_dollars_field(body.get("price") if body.get("price") is not None else _missing("price"), "price"),
        total_count_centicontracts=parse_count_field(body.get("count") if body.get("count") is not None else _missing("count"), "count"),
        updated_client_order_id=str_field(body, "updated_client_order_id", "", CLIENT_ORDER_ID_LENGTH_MAX), expiration_ms=expiration_ms,
    )


def decrease(body: dict[str, Any], account_id: int, order_id: int, *, v2: bool) -> c.DecreaseOrder:
    """reduce_by / reduce_to (counts; legacy also integer contracts or *_fp strings)."""
    refuse_unknown_fields(body, frozenset({
        "reduce_by", "reduce_to", "reduce_by_fp", "reduce_to_fp", "subaccount", "exchange_index", "market_ticker",
    }))
    check_routing(body)
    values: dict[str, int] = {}
    for family in ("reduce_by", "reduce_to"):
        for name in (family, f"{family}_fp"):
            raw = body.get(name)
            if raw is None:
                continue
            if isinstance(raw, int) and not isinstance(raw, bool) and not v2 and name == family:
                if raw < 0:
                    raise bad_request(f"{name} must not be negative")
                value = count_from_contracts(raw)
            else:
                value = parse_count_field(raw, name)
            if values.get(family, value) != value:  # SDK 3.x: the integer and the _fp form may both come, equal
                raise bad_request(f"{family} and {family}_fp disagree")
            values[family] = value
    if len(values) != 1:
        raise bad_request("give exactly one of reduce_by and reduce_to")
    return c.DecreaseOrder(account_id, order_id, values.get("reduce_by", -1), values.get("reduce_to", -1))
