"""Amend, decrease, cancel, batches and cancel-all."""

from __future__ import annotations

from harness import Harness, contracts, of_type, price
from predictex.core import commands as c
from predictex.core.events import OrderAmended, OrderClosed, Trade
from predictex.core.rejects import RejectCode


def _two_at(exchange: Harness, ticker: str) -> tuple[int, int, int, int]:
    a, b = exchange.account(), exchange.account()
    first = exchange.placed(a, ticker, "bid", "0.40", 5)
    second = exchange.placed(b, ticker, "bid", "0.40", 5)
    return a, first, b, second


def test_amend_to_a_new_price_loses_priority(exchange: Harness) -> None:
    ticker = exchange.market()
    a, first, _, second = _two_at(exchange, ticker)
    exchange.ok(c.AmendOrder(a, first, price_centicents=price("0.41")))
    exchange.ok(c.AmendOrder(a, first, price_centicents=price("0.40")))
    assert exchange.engine.queue_position(first) == contracts(5)
    assert exchange.engine.queue_position(second) == 0


def test_amend_that_shrinks_keeps_priority_and_one_that_grows_loses_it(exchange: Harness) -> None:
    ticker = exchange.market()
    a, first, _, _second = _two_at(exchange, ticker)
    outcome = exchange.ok(c.AmendOrder(a, first, total_count_centicontracts=contracts(3)))
    assert of_type(outcome, OrderAmended)[0].priority_kept
    assert exchange.engine.queue_position(first) == 0
    outcome = exchange.ok(c.AmendOrder(a, first, total_count_centicontracts=contracts(6)))
    assert not of_type(outcome, OrderAmended)[0].priority_kept
    assert exchange.engine.queue_position(first) == contracts(5)


def test_amend_counts_the_total_including_filled(exchange: Harness) -> None:
    ticker = exchange.market()
    maker, taker = exchange.account(), exchange.account()
    order_id = exchange.placed(maker, ticker, "ask", "0.50", 10)
    exchange.placed(taker, ticker, "bid", "0.50", 4)
    exchange.refused(c.AmendOrder(maker, order_id, total_count_centicontracts=contracts(3)), RejectCode.INVALID_AMEND)
    exchange.ok(c.AmendOrder(maker, order_id, total_count_centicontracts=contracts(8)))
    assert exchange.remaining(order_id) == contracts(4)
    outcome = exchange.ok(c.AmendOrder(maker, order_id, total_count_centicontracts=contracts(4)))
    assert [(e.order_id, e.reason) for e in of_type(outcome, OrderClosed)] == [(order_id, "decreased")]


def test_amend_that_crosses_trades(exchange: Harness) -> None:
    ticker = exchange.market()
    maker, me = exchange.account(), exchange.account()
    exchange.placed(maker, ticker, "ask", "0.50", 2)
    mine = exchange.placed(me, ticker, "bid", "0.45", 5)
    outcome = exchange.ok(c.AmendOrder(me, mine, price_centicents=price("0.50")))
    assert [t.count_centicontracts for t in of_type(outcome, Trade)] == [contracts(2)]
    assert exchange.remaining(mine) == contracts(3)


def test_amend_refusals(exchange: Harness) -> None:
    ticker = exchange.market()
    me, other = exchange.account(), exchange.account()
    mine = exchange.placed(me, ticker, "bid", "0.40", 5, post_only=True, client_order_id="a")
    exchange.placed(me, ticker, "bid", "0.30", 1, client_order_id="b")
    exchange.placed(other, ticker, "ask", "0.45", 1)
    exchange.refused(c.AmendOrder(me, mine), RejectCode.INVALID_AMEND)
    exchange.refused(c.AmendOrder(me, mine, ticker="KX-OTHER", price_centicents=4100), RejectCode.ORDER_TICKER_MISMATCH)
    exchange.refused(c.AmendOrder(me, mine, side="ask", price_centicents=4100), RejectCode.ORDER_SIDE_MISMATCH)
    exchange.refused(c.AmendOrder(me, mine, price_centicents=4550), RejectCode.INVALID_PRICE)
    exchange.refused(c.AmendOrder(me, mine, price_centicents=4500), RejectCode.POST_ONLY_CROSS)
    exchange.refused(c.AmendOrder(me, mine, updated_client_order_id="b"), RejectCode.ORDER_ALREADY_EXISTS)
    exchange.refused(c.AmendOrder(other, mine, price_centicents=4100), RejectCode.ORDER_NOT_FOUND)
    exchange.ok(c.AmendOrder(me, mine, updated_client_order_id="c"))
    assert exchange.engine.ledger.accounts[me].open_client_order_ids["c"] == mine


def test_amend_of_a_filled_order_is_refused(exchange: Harness) -> None:
    ticker = exchange.market()
    maker, taker = exchange.account(), exchange.account()
    order_id = exchange.placed(maker, ticker, "ask", "0.50", 1)
    exchange.placed(taker, ticker, "bid", "0.50", 1)
    exchange.refused(c.AmendOrder(maker, order_id, price_centicents=5100), RejectCode.ORDER_NOT_FOUND)


def test_decrease_by_and_to_keep_priority(exchange: Harness) -> None:
    ticker = exchange.market()
    a, first, _, _ = _two_at(exchange, ticker)
    exchange.ok(c.DecreaseOrder(a, first, reduce_by_centicontracts=contracts(1)))
    assert exchange.remaining(first) == contracts(4)
    exchange.ok(c.DecreaseOrder(a, first, reduce_to_centicontracts=contracts(2)))
    assert exchange.remaining(first) == contracts(2)
    assert exchange.engine.queue_position(first) == 0
    exchange.refused(c.DecreaseOrder(a, first), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.DecreaseOrder(a, first, 100, 100), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.DecreaseOrder(a, first, reduce_to_centicontracts=contracts(2)), RejectCode.INVALID_ORDER_SIZE)
    outcome = exchange.ok(c.DecreaseOrder(a, first, reduce_by_centicontracts=contracts(9)))
    assert of_type(outcome, OrderClosed)[0].reason == "decreased"
    assert exchange.locked(a) == 0


def test_cancel_of_another_accounts_order_changes_nothing(exchange: Harness) -> None:
    ticker = exchange.market()
    me, other = exchange.account(), exchange.account()
    mine = exchange.placed(me, ticker, "bid", "0.40", 5)
    exchange.refused(c.CancelOrder(other, mine), RejectCode.ORDER_NOT_FOUND)
    exchange.ok(c.CancelOrder(me, mine))
    exchange.refused(c.CancelOrder(me, mine), RejectCode.ORDER_NOT_FOUND)
    assert exchange.locked(me) == 0


def test_batches_answer_item_by_item(exchange: Harness) -> None:
    ticker = exchange.market()
    me = exchange.account()
    orders = [
        c.CreateOrder(me, ticker, True, 4000, 100),
        c.CreateOrder(me, ticker, True, 4050, 100),  # off the grid
        c.CreateOrder(me, ticker, False, 6000, 100),
    ]
    outcome = exchange.ok(c.BatchCreateOrders(me, orders))
    assert [item.reject.code if item.reject else None for item in outcome.items] == [None, RejectCode.INVALID_PRICE, None]
    good = [item.value for item in outcome.items if item.reject is None]
    cancel = exchange.ok(c.BatchCancelOrders(me, [*good, 12345]))
    assert [item.reject is None for item in cancel.items] == [True, True, False]
    exchange.refused(c.BatchCreateOrders(me, [c.CreateOrder(me, ticker, True, 4000, 100)] * 21), RejectCode.BATCH_TOO_LARGE)
    exchange.refused(c.BatchCancelOrders(me, []), RejectCode.BATCH_TOO_LARGE)
    other = exchange.account()
    mixed = exchange.ok(c.BatchCreateOrders(me, [c.CreateOrder(other, ticker, True, 4000, 100)]))
    assert mixed.items[0].reject is not None and mixed.items[0].reject.code is RejectCode.INVALID_PARAMETERS


def test_cancel_all_cancels_one_market_or_every_market(exchange: Harness) -> None:
    one, two = exchange.market("KX-ONE"), exchange.market("KX-TWO")
    me = exchange.account()
    exchange.placed(me, one, "bid", "0.40", 1)
    exchange.placed(me, one, "ask", "0.60", 1)
    kept = exchange.placed(me, two, "bid", "0.40", 1)
    assert exchange.ok(c.CancelAllOrders(me, one)).value == 2
    assert exchange.is_open(kept)
    assert exchange.ok(c.CancelAllOrders(me)).value == 1
    assert exchange.locked(me) == 0
