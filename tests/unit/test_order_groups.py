"""Order groups: a contracts limit over a rolling 15-second window; hitting it cancels the group's
orders and blocks it until reset."""

from __future__ import annotations

from harness import Harness, contracts, of_type
from predictex.core import commands as c
from predictex.core.events import OrderClosed, OrderGroupChanged, Trade
from predictex.core.rejects import RejectCode


def _group(exchange: Harness, account: int, limit: int) -> int:
    return exchange.ok(c.CreateOrderGroup(account, contracts(limit))).value


def test_hitting_the_limit_caps_the_fill_cancels_the_group_and_blocks_it(exchange: Harness) -> None:
    ticker = exchange.market()
    mm, taker = exchange.account(), exchange.account()
    group = _group(exchange, mm, 5)
    bid = exchange.placed(mm, ticker, "bid", "0.40", 10, order_group_id=group)
    ask = exchange.placed(mm, ticker, "ask", "0.60", 10, order_group_id=group)
    outcome = exchange.order(taker, ticker, "ask", "0.40", 8)
    assert [t.count_centicontracts for t in of_type(outcome, Trade)] == [contracts(5)]
    closed = {e.order_id: e.reason for e in of_type(outcome, OrderClosed)}
    assert closed[bid] == "order_group" and closed[ask] == "order_group"
    assert [e.change for e in of_type(outcome, OrderGroupChanged)] == ["triggered"]
    exchange.refused(c.CreateOrder(mm, ticker, True, 4000, 100, order_group_id=group), RejectCode.ORDER_GROUP_LIMIT)
    exchange.ok(c.ChangeOrderGroup(mm, group, "reset"))
    exchange.placed(mm, ticker, "bid", "0.40", 1, order_group_id=group)


def test_the_window_rolls_after_fifteen_seconds(exchange: Harness) -> None:
    ticker = exchange.market()
    mm, taker = exchange.account(), exchange.account()
    group = _group(exchange, mm, 5)
    exchange.placed(mm, ticker, "bid", "0.40", 10, order_group_id=group)
    exchange.order(taker, ticker, "ask", "0.40", 4)
    exchange.advance(15_000)
    outcome = exchange.order(taker, ticker, "ask", "0.40", 4)
    assert [t.count_centicontracts for t in of_type(outcome, Trade)] == [contracts(4)]
    assert not of_type(outcome, OrderGroupChanged)


def test_taker_in_a_group_is_capped_too(exchange: Harness) -> None:
    ticker = exchange.market()
    maker, me = exchange.account(), exchange.account()
    group = _group(exchange, me, 3)
    exchange.placed(maker, ticker, "ask", "0.50", 10)
    outcome = exchange.order(me, ticker, "bid", "0.50", 10, order_group_id=group)
    assert sum(t.count_centicontracts for t in of_type(outcome, Trade)) == contracts(3)
    assert of_type(outcome, OrderClosed)[-1].reason == "order_group"


def test_trigger_delete_and_limit_changes(exchange: Harness) -> None:
    ticker = exchange.market()
    me, other = exchange.account(), exchange.account()
    group = _group(exchange, me, 5)
    order_id = exchange.placed(me, ticker, "bid", "0.40", 1, order_group_id=group)
    exchange.ok(c.ChangeOrderGroup(me, group, "trigger"))
    assert not exchange.is_open(order_id)
    exchange.ok(c.ChangeOrderGroup(me, group, "reset"))
    exchange.ok(c.ChangeOrderGroup(me, group, "limit", contracts(9)))
    assert exchange.engine.trading.groups[group].contracts_limit_centicontracts == contracts(9)
    exchange.refused(c.ChangeOrderGroup(me, group, "limit", 0), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.ChangeOrderGroup(me, group, "explode"), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.ChangeOrderGroup(other, group, "delete"), RejectCode.ORDER_GROUP_NOT_FOUND)
    kept = exchange.placed(me, ticker, "bid", "0.40", 1, order_group_id=group)
    exchange.ok(c.ChangeOrderGroup(me, group, "delete"))
    assert not exchange.is_open(kept)
    exchange.refused(c.CreateOrder(me, ticker, True, 4000, 100, order_group_id=group), RejectCode.ORDER_GROUP_NOT_FOUND)
