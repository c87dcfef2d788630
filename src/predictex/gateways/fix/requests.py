"""Order-entry requests (D, F, G, q, UOG) into engine commands: the FIX tags into domain units and
the engine's vocabulary (reference §11.4). Shape and value problems raise `RequestError` with the
OrdRejReason/CxlRejReason and text to answer with; the engine checks the rest (grid, balance,
market state) and its refusals come back through errors.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from predictex.core import commands as c
from predictex.core.limits import (
    CLIENT_ORDER_ID_LENGTH_MAX,
    ORDER_COUNT_CENTICONTRACTS_MAX,
    ORDER_GROUP_CONTRACTS_LIMIT_MAX_CENTICONTRACTS,
    ORDER_MAX_COST_MICRODOLLARS_MAX,
    SUBACCOUNTS_PER_MEMBER_MAX,
)
from predictex.core.orders import (
    ACTION_BUY,
    ACTION_SELL,
    FILL_OR_KILL,
    GOOD_TILL_CANCELED,
    IMMEDIATE_OR_CANCEL,
    STP_MAKER,
    STP_TAKER_AT_CROSS,
    book_side,
)
from predictex.core.text import ascii_int
from predictex.core.units import (
    COUNT_ONE_CONTRACT_CENTICONTRACTS,
    PRICE_ONE_DOLLAR_CENTICENTS,
    UnitError,
    parse_count_fp,
    parse_money_dollars,
    parse_price_dollars,
    parse_price_fix_cents,
)
from predictex.gateways.fix import tags as t
from predictex.gateways.fix.session import Message, parse_utc_timestamp_ms
from predictex.server import ids
from predictex.server.ids import Ids

EASTERN = "America/New_York"  # Day orders expire at 23:59:59.999 Eastern (needs the system's or tzdata's zone files)


class RequestError(Exception):
    """A request that cannot become a command: the reason code (103 or 102) and text."""

    def __init__(self, reason: int, text: str) -> None:
        super().__init__(text)
        self.reason = reason
        self.text = text


def cl_ord_id(message: Message, tag: int = t.CL_ORD_ID) -> str:
    value = message.text(tag)
    if not value or len(value) > CLIENT_ORDER_ID_LENGTH_MAX:
        raise RequestError(99, f"tag {tag} must be 1 to {CLIENT_ORDER_ID_LENGTH_MAX} characters")
    return value


def _decimal(message: Message, tag: int, parse: Callable[[str], int], decimals: int, what: str) -> int:
    """A decimal field in engine units, by the units module's `parse` (which takes `decimals` places)."""
    raw = message.text(tag)
    try:
        return parse(raw)
    except UnitError as error:
        raise RequestError(99, f"{what} must be a decimal number with at most {decimals} places, not {raw[:32]!r}") from error


def order_qty(message: Message) -> int:
    count = _decimal(message, t.ORDER_QTY, parse_count_fp, 2, "OrderQty (38)")
    if not 0 < count <= ORDER_COUNT_CENTICONTRACTS_MAX:
        raise RequestError(13, "OrderQty (38) must be positive and at most 100,000,000 contracts")
    return count


def price(message: Message, use_dollars: bool) -> int:
    """The YES price in centicents: integer (or 2-decimal) cents by default, dollars with UseDollars."""
    if message.get(t.PRICE) is None:
        raise RequestError(99, "a limit order needs Price (44)")
    if use_dollars:
        value = _decimal(message, t.PRICE, parse_price_dollars, 4, "Price (44) in dollars")
    else:
        value = _decimal(message, t.PRICE, parse_price_fix_cents, 2, "Price (44) in cents")
    if not 0 < value < PRICE_ONE_DOLLAR_CENTICENTS:
        raise RequestError(99, "Price (44) must be between 0 and 1 dollar (1 to 99 cents)")
    return value


def is_bid(message: Message) -> bool:
    side = message.get(t.SIDE)
    if side not in (b"1", b"2"):
        raise RequestError(11, "Side (54) must be 1 (buy YES) or 2 (sell YES)")
    return side == b"1"


def check_routing(message: Message) -> None:
    """One exchange (as the REST gateway: shard 0 or route by symbol); AllocAccount (79), when given,
    names a subaccount by number (the caller resolves it)."""
    destination = message.get(t.EX_DESTINATION)
    if destination not in (None, b"0", b"-1"):
        raise RequestError(99, "this exchange has one shard: ExDestination (100) must be 0 or -1")
    alloc_account(message)


def alloc_account(message: Message) -> int:
    """The subaccount number AllocAccount (79) names: 0 (the primary account, also when absent) to 63."""
    raw = message.get(t.ALLOC_ACCOUNT)
    if raw is None:
        return 0
    number = ascii_int(raw, 2)
    if number is None or number > SUBACCOUNTS_PER_MEMBER_MAX:
        raise RequestError(15, f"AllocAccount (79) must be a subaccount number from 0 to {SUBACCOUNTS_PER_MEMBER_MAX}")
    return number


def _end_of_day_ms(now_ms: int) -> int:
    """23:59:59.999 America/New_York of the current Eastern day (a Day order's expiry)."""
    local = dt.datetime.fromtimestamp(now_ms / 1000, ZoneInfo(EASTERN))
    end = local.replace(hour=23, minute=59, second=59, microsecond=999_000)
    return int(end.timestamp() * 1000)


def time_in_force(message: Message, now_ms: int) -> tuple[str, int]:
    """(engine time in force, expiration ms): Day and GTD are good-till-canceled with an expiry; a GTD
    in the past is immediate-or-cancel."""
    code = message.get(t.TIME_IN_FORCE) or b"0"
    if code == b"1":
        return GOOD_TILL_CANCELED, 0
    if code == b"3":
        return IMMEDIATE_OR_CANCEL, 0
    if code == b"4":
        return FILL_OR_KILL, 0
    if code == b"0":
        return GOOD_TILL_CANCELED, _end_of_day_ms(now_ms)
    if code == b"6":
        raw = message.get(t.EXPIRE_TIME)
        expire_ms = parse_utc_timestamp_ms(raw) if raw is not None else None
        if expire_ms is None:
            raise RequestError(99, "TimeInForce 6 (GTD) needs ExpireTime (126)")
        return (IMMEDIATE_OR_CANCEL, 0) if expire_ms <= now_ms else (GOOD_TILL_CANCELED, expire_ms)
    raise RequestError(11, "TimeInForce (59) must be 0, 1, 3, 4 or 6")


def group_number(message: Message, identities: Ids) -> int:
    value = message.text(t.SECONDARY_CL_ORD_ID)
    if not value:
        return 0
    number = identities.from_uuid(ids.ORDER_GROUP, value)
    if number is None:
        raise RequestError(99, f"ORDER_GROUP_NOT_FOUND: none has the id {value[:64]}")
    return number


def new_order(message: Message, account_id: int, use_dollars: bool, identities: Ids, now_ms: int) -> c.CreateOrder:
    check_routing(message)
    if message.get(t.ORD_TYPE) != b"2":
        raise RequestError(11, "OrdType (40) must be 2 (limit)")
    if message.get(117) is not None or message.get(21023) is not None:
        raise RequestError(11, "accepting RFQ quotes is not supported")
    bid = is_bid(message)
    tif, expiration_ms = time_in_force(message, now_ms)
    stp = message.get(t.SELF_TRADE_PREVENTION_TYPE) or b"1"
    if stp not in (b"1", b"2"):
        raise RequestError(11, "SelfTradePreventionType (2964) must be 1 or 2")
    max_cost = 0
    if message.get(t.MAX_EXECUTION_COST) is not None:
        max_cost = _decimal(message, t.MAX_EXECUTION_COST, parse_money_dollars, 6, "MaxExecutionCost (21009)")
        if not 0 < max_cost <= ORDER_MAX_COST_MICRODOLLARS_MAX:
            raise RequestError(99, "MaxExecutionCost (21009) must be positive and at most $1,000,000,000")
    exec_inst = message.text(t.EXEC_INST).split(" ")  # MultipleCharValue: separated by ASCII spaces only
    return c.CreateOrder(
        account_id, message.text(t.SYMBOL), bid, price(message, use_dollars), order_qty(message),
        time_in_force=tif, expiration_ms=expiration_ms, post_only="6" in exec_inst,
        self_trade_prevention=STP_TAKER_AT_CROSS if stp == b"1" else STP_MAKER,
        cancel_on_pause=message.get(t.CANCEL_ORDER_ON_PAUSE) == b"Y", client_order_id=cl_ord_id(message),
        order_group_id=group_number(message, identities), action=ACTION_BUY if bid else ACTION_SELL,
        buy_max_cost_microdollars=max_cost,
    )


def replace(message: Message, account_id: int, order_id: int, use_dollars: bool) -> c.AmendOrder:
    check_routing(message)
    if message.get(t.ORD_TYPE) != b"2":
        raise RequestError(99, "OrdType (40) must be 2 (limit)")
    new_price = price(message, use_dollars) if message.get(t.PRICE) is not None else 0
    total = order_qty(message) if message.get(t.ORDER_QTY) is not None else 0
    return c.AmendOrder(
        account_id, order_id, ticker=message.text(t.SYMBOL), side=book_side(is_bid(message)),
        price_centicents=new_price, total_count_centicontracts=total, updated_client_order_id=cl_ord_id(message),
    )


def order_group(message: Message, account_id: int, identities: Ids) -> c.Command:
    """UOG: 1 create (with a contracts limit), 2 reset, 3 delete, 4 trigger, 5 update the limit."""
    action = message.get(t.ORDER_GROUP_ACTION)
    limit = 0
    if message.get(t.ORDER_GROUP_CONTRACTS_LIMIT) is not None:
        limit = _decimal(message, t.ORDER_GROUP_CONTRACTS_LIMIT, parse_count_fp, 2, "OrderGroupContractsLimit (20132)")
    if action in (b"1", b"5") and not COUNT_ONE_CONTRACT_CENTICONTRACTS <= limit <= ORDER_GROUP_CONTRACTS_LIMIT_MAX_CENTICONTRACTS:
        raise RequestError(5, "OrderGroupContractsLimit (20132) must be 1 to 1,000,000 contracts")
    if action == b"1":
        return c.CreateOrderGroup(account_id, limit)
    value = message.text(t.ORDER_GROUP_ID)
    number = identities.from_uuid(ids.ORDER_GROUP, value) if value else None
    if number is None:
        raise RequestError(5 if not value else 1, f"no order group {value[:64]}" if value else "OrderGroupID (20130) is required")
    change = {b"2": "reset", b"3": "delete", b"4": "trigger", b"5": "limit"}[action or b"2"]
    return c.ChangeOrderGroup(account_id, number, change, limit)
