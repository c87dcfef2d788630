"""Collateral: what resting orders lock, what closing a position needs, and refusals for
insufficient balance (with the numbers a client needs)."""

from __future__ import annotations

from harness import Harness, contracts, of_type, usd
from predictex.core import commands as c
from predictex.core.events import BalanceChanged, Trade
from predictex.core.fees import FEE_QUADRATIC_WITH_MAKER_FEES
from predictex.core.rejects import RejectCode


def _long_yes(exchange: Harness, ticker: str, account: int, count: int, price_text: str = "0.50") -> None:
    """The account buys `count` YES as the maker (no fee on this series)."""
    seller = exchange.account()
    exchange.placed(account, ticker, "bid", price_text, count)
    exchange.placed(seller, ticker, "ask", price_text, count)
    assert exchange.position(account, ticker) == contracts(count)


def test_buying_yes_locks_the_price_and_buying_no_locks_one_minus_it(exchange: Harness) -> None:
    ticker = exchange.market()
    me = exchange.account("100")
    exchange.placed(me, ticker, "bid", "0.30", 10)
    assert exchange.locked(me) == usd("3.00")
    exchange.placed(me, ticker, "ask", "0.70", 10)  # buys NO at $0.30
    assert exchange.locked(me) == usd("6.00")
    assert exchange.cash(me) == usd("94.00")


def test_insufficient_balance_says_how_much(exchange: Harness) -> None:
    ticker = exchange.market()
    me = exchange.account("3.20")
    reject = exchange.refused(c.CreateOrder(me, ticker, True, 6500, 1000), RejectCode.INSUFFICIENT_BALANCE)
    assert reject.detail == "need $6.5000, have $3.2000"


def test_a_crossing_order_must_cover_its_worst_taker_fee(exchange: Harness) -> None:
    ticker = exchange.market()
    seller = exchange.account()
    exchange.placed(seller, ticker, "ask", "0.50", 10)
    poor = exchange.account("5.17")
    exchange.refused(c.CreateOrder(poor, ticker, True, 5000, 1000), RejectCode.INSUFFICIENT_BALANCE)
    enough = exchange.account("5.18")  # $5.00 + $0.175 fee, rounded up to the cent
    exchange.placed(enough, ticker, "bid", "0.50", 10)
    assert exchange.cash(enough) == 0


def test_selling_a_position_locks_the_position_not_cash(exchange: Harness) -> None:
    ticker = exchange.market()
    me = exchange.account("5")
    _long_yes(exchange, ticker, me, 10)
    assert exchange.cash(me) == 0
    order_id = exchange.placed(me, ticker, "ask", "0.60", 10)
    assert exchange.locked(me) == 0
    assert exchange.engine.trading.orders[order_id].closing_centicontracts == contracts(10)


def test_the_position_goes_to_the_orders_that_fill_first(exchange: Harness) -> None:
    ticker = exchange.market()
    me = exchange.account("10")
    _long_yes(exchange, ticker, me, 10)  # cash left: $5.00
    far = exchange.placed(me, ticker, "ask", "0.70", 10)
    assert exchange.locked(me) == 0
    near = exchange.placed(me, ticker, "ask", "0.60", 5)
    # the nearer ask fills first, so it takes 5 of the position; the far one now opens 5 NO at $0.30
    orders = exchange.engine.trading.orders
    assert orders[near].closing_centicontracts == contracts(5)
    assert orders[far].closing_centicontracts == contracts(5)
    assert exchange.locked(me) == usd("1.50")


def test_cash_too_small_to_reassign_the_position_refuses_the_order(exchange: Harness) -> None:
    ticker = exchange.market()
    me = exchange.account("5")
    _long_yes(exchange, ticker, me, 10)  # cash left: $0
    exchange.placed(me, ticker, "ask", "0.70", 10)
    exchange.refused(c.CreateOrder(me, ticker, False, 6000, 500), RejectCode.INSUFFICIENT_BALANCE)


def test_a_yes_and_a_no_net_out_and_pay_a_dollar_back(exchange: Harness) -> None:
    ticker = exchange.market()
    me = exchange.account("5")
    _long_yes(exchange, ticker, me, 10, "0.50")  # paid $5.00
    buyer = exchange.account()
    exchange.placed(buyer, ticker, "bid", "0.70", 10)
    outcome = exchange.order(me, ticker, "ask", "0.70", 10)  # buying NO at $0.30 closes the YES
    trade = of_type(outcome, Trade)[0]
    assert trade.taker_position_centicontracts == 0
    # $0.70 x 10 = $7.00 revenue, less the taker fee 0.07 x 10 x 0.21 = $0.147 -> $6.853 -> $6.85
    assert exchange.cash(me) == usd("6.85")
    assert exchange.holding(me, ticker).realized_pnl_microdollars == usd("2.00")
    assert exchange.engine.markets.markets[ticker].open_interest_centicontracts == contracts(10)


def test_resting_orders_on_a_maker_fee_series_lock_their_maker_fee(exchange: Harness) -> None:
    ticker = exchange.market(fee_type=FEE_QUADRATIC_WITH_MAKER_FEES)
    me = exchange.account("100")
    exchange.placed(me, ticker, "bid", "0.50", 10)
    # $5.00 + 10 x roundup(0.0175 x 0.25 = 0.004375 -> 0.0044) = $5.044 -> $5.05
    assert exchange.locked(me) == usd("5.05")


def test_fills_release_collateral_and_report_balances(exchange: Harness) -> None:
    ticker = exchange.market()
    maker, taker = exchange.account("100"), exchange.account("100")
    exchange.placed(maker, ticker, "bid", "0.40", 10)
    outcome = exchange.order(taker, ticker, "ask", "0.40", 4)
    balances = {e.account_id: (e.cash_microdollars, e.locked_microdollars) for e in of_type(outcome, BalanceChanged)}
    assert balances[maker] == (usd("96"), usd("2.40"))
    # the taker bought 4 NO at $0.60: $2.40 + fee 0.07 x 4 x 0.24 = $0.0672 -> $2.4672 -> $2.47
    assert balances[taker] == (usd("97.53"), 0)


def test_fill_order_is_kept_through_amends_cancels_and_fills_while_a_position_is_closed(exchange: Harness) -> None:
    # a seller of its YES with many asks at few prices: the position is assigned in fill order, which
    # the ledger builds once and then keeps up to date (the invariants compare it with a fresh sort
    # after every command)
    import random

    ticker = exchange.market()
    me = exchange.account("1000")
    _long_yes(exchange, ticker, me, 30)
    buyer = exchange.account("1000")
    rnd = random.Random(7)
    open_ids = [exchange.placed(me, ticker, "ask", f"0.{rnd.randint(60, 64)}", rnd.randint(1, 4)) for _ in range(20)]
    asks = exchange.engine.ledger.accounts[me].markets[ticker].asks
    assert asks.kept_fill_order() is not None  # the position made the ledger order the asks
    for _ in range(300):
        roll = rnd.random()
        order_id = rnd.choice(open_ids)
        if roll < 0.5:
            order = exchange.engine.trading.orders[order_id]
            new_price = 6000 + 100 * rnd.randint(0, 4)
            if new_price != order.price_centicents:
                exchange.ok(c.AmendOrder(me, order_id, price_centicents=new_price))
        elif roll < 0.65:
            exchange.ok(c.CancelOrder(me, order_id))
            open_ids.remove(order_id)
        elif roll < 0.8:
            exchange.placed(buyer, ticker, "bid", "0.60", 1)  # takes the best ask, if one is at 0.60
        else:
            open_ids.append(exchange.placed(me, ticker, "ask", f"0.{rnd.randint(60, 64)}", rnd.randint(1, 4)))
        open_ids = [i for i in open_ids if i in exchange.engine.trading.orders]
        if not open_ids:
            open_ids.append(exchange.placed(me, ticker, "ask", "0.62", 2))
    kept = asks.kept_fill_order()
    assert kept is not None and len(kept) == len(open_ids)
    assert [(o.price_centicents, o.priority) for o in kept] == sorted((o.price_centicents, o.priority) for o in kept)
