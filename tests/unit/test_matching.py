"""The book: price-time priority, trades at the resting price, and the order types and options that
decide what an incoming order may take and what rests."""

from __future__ import annotations

from harness import Harness, contracts, of_type, price, usd
from predictex.core import commands as c
from predictex.core.events import BookChanged, OrderAccepted, OrderClosed, Trade
from predictex.core.rejects import RejectCode


def test_price_time_priority_and_trades_at_the_makers_price(exchange: Harness) -> None:
    ticker = exchange.market()
    first, second, better, taker = (exchange.account() for _ in range(4))
    older = exchange.placed(first, ticker, "ask", "0.60", 5)
    newer = exchange.placed(second, ticker, "ask", "0.60", 5)
    best = exchange.placed(better, ticker, "ask", "0.58", 2)
    trades = of_type(exchange.order(taker, ticker, "bid", "0.65", 8), Trade)
    assert [(t.maker_order_id, t.price_centicents, t.count_centicontracts) for t in trades] == [
        (best, price("0.58"), contracts(2)),
        (older, price("0.60"), contracts(5)),
        (newer, price("0.60"), contracts(1)),
    ]
    assert exchange.remaining(newer) == contracts(4)
    assert exchange.book(ticker) == {"bids": [], "asks": [(price("0.60"), contracts(4))]}


def test_buy_no_is_an_ask_at_one_minus_the_no_price(exchange: Harness) -> None:
    ticker = exchange.market()
    yes_buyer, no_buyer = exchange.account("100"), exchange.account("100")
    exchange.placed(yes_buyer, ticker, "bid", "0.40", 10)
    # buying NO at $0.60 is an ask at a YES price of $0.40, and it crosses the YES bid
    trade = of_type(exchange.order(no_buyer, ticker, "ask", "0.40", 10), Trade)[0]
    assert trade.price_centicents == price("0.40")
    assert exchange.position(yes_buyer, ticker) == contracts(10)
    assert exchange.position(no_buyer, ticker) == -contracts(10)
    assert exchange.cash(yes_buyer) == usd("96")  # paid $4.00, maker pays no fee here
    assert exchange.engine.markets.markets[ticker].open_interest_centicontracts == contracts(10)


def test_resting_order_events(exchange: Harness) -> None:
    ticker = exchange.market()
    account = exchange.account()
    outcome = exchange.order(account, ticker, "bid", "0.30", 3, client_order_id="mine")
    accepted = of_type(outcome, OrderAccepted)[0]
    assert (accepted.ticker, accepted.is_bid, accepted.price_centicents, accepted.client_order_id) == (ticker, True, 3000, "mine")
    change = of_type(outcome, BookChanged)[0]
    assert (change.price_centicents, change.size_after_centicontracts, change.delta_centicontracts) == (3000, 300, 300)


def test_immediate_or_cancel_leaves_nothing_resting(exchange: Harness) -> None:
    ticker = exchange.market()
    maker, taker = exchange.account(), exchange.account()
    exchange.placed(maker, ticker, "ask", "0.50", 3)
    outcome = exchange.order(taker, ticker, "bid", "0.55", 10, time_in_force="immediate_or_cancel")
    assert sum(t.count_centicontracts for t in of_type(outcome, Trade)) == contracts(3)
    closed = of_type(outcome, OrderClosed)[-1]
    assert (closed.status, closed.reason, closed.reduced_by_centicontracts) == ("canceled", "immediate_or_cancel", contracts(7))
    assert exchange.book(ticker)["bids"] == []


def test_market_order_is_immediate(exchange: Harness) -> None:
    ticker = exchange.market()
    maker, taker = exchange.account(), exchange.account()
    exchange.placed(maker, ticker, "ask", "0.50", 3)
    outcome = exchange.order(taker, ticker, "bid", "0.99", 5, order_type="market")
    assert sum(t.count_centicontracts for t in of_type(outcome, Trade)) == contracts(3)
    assert not exchange.is_open(outcome.value)


def test_fill_or_kill_fills_fully_or_is_refused(exchange: Harness) -> None:
    ticker = exchange.market()
    maker, taker = exchange.account(), exchange.account()
    exchange.placed(maker, ticker, "ask", "0.50", 3)
    exchange.placed(maker, ticker, "ask", "0.60", 3)
    exchange.refused(c.CreateOrder(taker, ticker, True, price("0.55"), contracts(4), time_in_force="fill_or_kill"),
                     RejectCode.FILL_OR_KILL_INSUFFICIENT_VOLUME)
    outcome = exchange.order(taker, ticker, "bid", "0.60", 4, time_in_force="fill_or_kill")
    assert sum(t.count_centicontracts for t in of_type(outcome, Trade)) == contracts(4)


def test_buy_max_cost_bounds_the_cost_and_forces_fill_or_kill(exchange: Harness) -> None:
    ticker = exchange.market()
    maker, taker = exchange.account(), exchange.account()
    exchange.placed(maker, ticker, "ask", "0.50", 3)
    exchange.placed(maker, ticker, "ask", "0.60", 3)
    # 4 contracts cost 3 x 0.50 + 0.60 = $2.10
    exchange.refused(c.CreateOrder(taker, ticker, True, price("0.99"), contracts(4), buy_max_cost_microdollars=usd("2.09")),
                     RejectCode.BUY_MAX_COST_EXCEEDED)
    outcome = exchange.order(taker, ticker, "bid", "0.99", 4, buy_max_cost_microdollars=usd("2.10"))
    assert sum(t.count_centicontracts for t in of_type(outcome, Trade)) == contracts(4)
    assert not exchange.is_open(outcome.value)


def test_post_only_never_takes(exchange: Harness) -> None:
    ticker = exchange.market()
    maker, other = exchange.account(), exchange.account()
    exchange.placed(maker, ticker, "ask", "0.50", 3)
    exchange.refused(c.CreateOrder(other, ticker, True, price("0.50"), contracts(1), post_only=True), RejectCode.POST_ONLY_CROSS)
    resting = exchange.placed(other, ticker, "bid", "0.49", 1, post_only=True)
    assert exchange.is_open(resting)


def test_good_till_date_expires(exchange: Harness) -> None:
    ticker = exchange.market()
    account = exchange.account()
    order_id = exchange.placed(account, ticker, "bid", "0.30", 1, expiration_ms=exchange.now_ms + 5_000)
    assert exchange.engine.next_deadline_ms() == exchange.now_ms + 5_000
    exchange.advance(4_999)
    assert exchange.is_open(order_id)
    closed = of_type(exchange.advance(1), OrderClosed)
    assert [(e.order_id, e.reason) for e in closed] == [(order_id, "expired")]
    assert exchange.locked(account) == 0


def test_expiration_must_be_in_the_future_and_only_on_resting_orders(exchange: Harness) -> None:
    ticker = exchange.market()
    account = exchange.account()
    exchange.refused(c.CreateOrder(account, ticker, True, 3000, 100, expiration_ms=exchange.now_ms), RejectCode.INVALID_EXPIRATION)
    exchange.refused(c.CreateOrder(account, ticker, True, 3000, 100, time_in_force="immediate_or_cancel",
                                   expiration_ms=exchange.now_ms + 1000), RejectCode.INVALID_EXPIRATION)


def test_self_trade_prevention_taker_at_cross_cancels_the_incoming_order(exchange: Harness) -> None:
    ticker = exchange.market()
    me, other = exchange.account(), exchange.account()
    exchange.placed(other, ticker, "ask", "0.50", 2)
    mine = exchange.placed(me, ticker, "ask", "0.51", 5)
    outcome = exchange.order(me, ticker, "bid", "0.55", 10)
    assert [t.count_centicontracts for t in of_type(outcome, Trade)] == [contracts(2)]  # partial fill kept
    closed = of_type(outcome, OrderClosed)[-1]
    assert (closed.order_id, closed.reason) == (outcome.value, "self_trade_taker")
    assert exchange.is_open(mine)


def test_self_trade_prevention_maker_cancels_the_resting_order_and_continues(exchange: Harness) -> None:
    ticker = exchange.market()
    me, other = exchange.account(), exchange.account()
    mine = exchange.placed(me, ticker, "ask", "0.50", 5)
    exchange.placed(other, ticker, "ask", "0.51", 5)
    outcome = exchange.order(me, ticker, "bid", "0.55", 3, self_trade_prevention="maker")
    assert next((e.order_id, e.reason) for e in of_type(outcome, OrderClosed)) == (mine, "self_trade_maker")
    assert [t.price_centicents for t in of_type(outcome, Trade)] == [price("0.51")]


def test_reduce_only_is_capped_by_the_position_and_immediate(exchange: Harness) -> None:
    ticker = exchange.market()
    me, other = exchange.account(), exchange.account()
    exchange.refused(c.CreateOrder(me, ticker, False, 5000, 100, reduce_only=True), RejectCode.REDUCE_ONLY_NO_POSITION)
    exchange.placed(other, ticker, "ask", "0.50", 3)
    exchange.placed(me, ticker, "bid", "0.50", 3)  # long 3 YES
    exchange.placed(other, ticker, "bid", "0.40", 10)
    outcome = exchange.order(me, ticker, "ask", "0.40", 10, reduce_only=True)
    assert of_type(outcome, OrderAccepted)[0].count_centicontracts == contracts(3)
    assert exchange.position(me, ticker) == 0


def test_sell_position_floor_refuses_selling_past_the_position(exchange: Harness) -> None:
    ticker = exchange.market()
    me = exchange.account()
    exchange.refused(c.CreateOrder(me, ticker, False, 5000, 100, action="sell", sell_position_floor=True), RejectCode.SELL_POSITION_FLOOR)


def test_prices_off_the_grid_and_bad_sizes_are_refused(exchange: Harness) -> None:
    cents = exchange.market("KX-CENT")
    tapered = exchange.market("KX-TAPER", structure="tapered_deci_cent")
    fractional = exchange.market("KX-FRAC", fractional=True)
    me = exchange.account()
    exchange.refused(c.CreateOrder(me, cents, True, price("0.555"), 100), RejectCode.INVALID_PRICE)
    exchange.refused(c.CreateOrder(me, cents, True, 0, 100), RejectCode.INVALID_PRICE)
    exchange.refused(c.CreateOrder(me, cents, True, 10_000, 100), RejectCode.INVALID_PRICE)
    exchange.refused(c.CreateOrder(me, cents, True, 5000, 0), RejectCode.INVALID_ORDER_SIZE)
    exchange.refused(c.CreateOrder(me, cents, True, 5000, 150), RejectCode.INVALID_ORDER_SIZE)
    exchange.refused(c.CreateOrder(me, tapered, True, price("0.505"), 100), RejectCode.INVALID_PRICE)
    assert exchange.placed(me, tapered, "bid", "0.055", 1)
    assert exchange.placed(me, fractional, "bid", "0.50", "0.25")


def test_unknown_things_and_bad_enums_are_refused(exchange: Harness) -> None:
    ticker = exchange.market()
    me = exchange.account()
    exchange.refused(c.CreateOrder(999, ticker, True, 5000, 100), RejectCode.ACCOUNT_NOT_FOUND)
    exchange.refused(c.CreateOrder(me, "KX-NOPE", True, 5000, 100), RejectCode.MARKET_NOT_FOUND)
    exchange.refused(c.CreateOrder(me, ticker, True, 5000, 100, time_in_force="day"), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.CreateOrder(me, ticker, True, 5000, 100, self_trade_prevention="none"), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.CreateOrder(me, ticker, True, 5000, 100, order_type="stop"), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.CreateOrder(me, ticker, True, 5000, 100, action="hold"), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.CreateOrder(me, ticker, True, 5000, 100, order_group_id=77), RejectCode.ORDER_GROUP_NOT_FOUND)
    exchange.refused(c.CreateOrder(me, ticker, True, 5000, 100, client_order_id="x" * 65), RejectCode.INVALID_PARAMETERS)


def test_client_order_ids_are_unique_among_open_and_recent_orders(exchange: Harness) -> None:
    ticker = exchange.market()
    me, other = exchange.account(), exchange.account()
    exchange.placed(me, ticker, "bid", "0.30", 1, client_order_id="retry-me")
    exchange.refused(c.CreateOrder(me, ticker, True, 3100, 100, client_order_id="retry-me"), RejectCode.ORDER_ALREADY_EXISTS)
    # another account may use the same id
    exchange.placed(other, ticker, "bid", "0.30", 1, client_order_id="retry-me")
    # a create that filled at once and is retried with the same id must not trade twice
    exchange.placed(other, ticker, "ask", "0.50", 1)
    exchange.placed(me, ticker, "bid", "0.50", 1, client_order_id="filled-once")
    exchange.refused(c.CreateOrder(me, ticker, True, 5000, 100, client_order_id="filled-once"), RejectCode.ORDER_ALREADY_EXISTS)


def test_queue_position_counts_contracts_ahead(exchange: Harness) -> None:
    ticker = exchange.market()
    a, b, c_ = exchange.account(), exchange.account(), exchange.account()
    exchange.placed(a, ticker, "bid", "0.40", 3)
    exchange.placed(b, ticker, "bid", "0.40", 2)
    third = exchange.placed(c_, ticker, "bid", "0.40", 1)
    assert exchange.engine.queue_position(third) == contracts(5)
