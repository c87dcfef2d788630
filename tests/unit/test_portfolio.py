"""The read model's portfolio arithmetic: positions marked to market at the last traded price, in each
position's own terms, at cost until the market trades; an account's balances and totals."""

from __future__ import annotations

from harness import Harness, contracts, usd
from predictex.readmodel import portfolio
from predictex.readmodel.live import LiveState


def _live(exchange: Harness) -> LiveState:
    return LiveState.load_from_engine(exchange.engine, 1, exchange.now_ms)


def test_positions_are_marked_at_the_last_trade_in_their_own_terms(exchange: Harness) -> None:
    ticker = exchange.market()
    yes, no, other = exchange.account(), exchange.account(), exchange.account()
    exchange.placed(no, ticker, "ask", "0.40", 3)
    exchange.placed(yes, ticker, "bid", "0.40", 3)  # yes holds 3 YES at 0.40, no holds 3 NO at 0.60
    live = _live(exchange)
    assert portfolio.mark_price_centicents(live, ticker, contracts(3)) == 4000
    assert portfolio.mark_price_centicents(live, ticker, -contracts(3)) == 6000
    exchange.placed(other, ticker, "ask", "0.55", 1)
    exchange.placed(other, ticker, "bid", "0.55", 1)  # self-trade prevention: no trade, last stays 0.40
    live = _live(exchange)
    yes_holding = live.holdings[yes][ticker]
    no_holding = live.holdings[no][ticker]
    assert portfolio.position_value_microdollars(live, ticker, yes_holding) == usd("1.20")
    assert portfolio.position_value_microdollars(live, ticker, no_holding) == usd("1.80")
    value = portfolio.valuation(live, ticker, no_holding)
    assert (value.quantity_centicontracts, value.mark_centicents, value.value_microdollars) == (contracts(3), 6000, usd("1.80"))
    assert value.unrealized_pnl_microdollars == value.value_microdollars - value.cost_microdollars
    assert value.average_price_centicents == no_holding.position_cost_microdollars // contracts(3)


def test_a_market_that_never_traded_values_positions_at_cost(exchange: Harness) -> None:
    ticker = exchange.market()
    holder = exchange.account()
    exchange.placed(holder, ticker, "bid", "0.30", 2)
    live = _live(exchange)
    assert portfolio.mark_price_centicents(live, ticker, contracts(2)) == 0
    assert portfolio.portfolio_value_microdollars(live, holder) == 0  # no position yet: the bid rests
    assert portfolio.resting_by_market(live, holder) == {ticker: contracts(2)}


def test_balances_add_cash_locked_and_positions(exchange: Harness) -> None:
    ticker = exchange.market()
    buyer, seller = exchange.account("100"), exchange.account("100")
    exchange.placed(seller, ticker, "ask", "0.25", 4)
    exchange.placed(buyer, ticker, "bid", "0.25", 4)
    exchange.placed(buyer, ticker, "bid", "0.10", 1)
    live = _live(exchange)
    found = portfolio.balances(live, buyer)
    assert found.portfolio_value_microdollars == usd("1.00")
    assert found.locked_microdollars > 0
    assert found.total_microdollars == found.cash_microdollars + found.locked_microdollars + usd("1.00")
    assert portfolio.balances(live, 999) == portfolio.Balances(0, 0, 0, 0, 0)
    assert portfolio.totals(live.holdings[buyer].values()).volume_centicontracts == contracts(4)


def test_yes_and_no_held_apart_are_valued_side_by_side(exchange: Harness) -> None:
    """Netting off: 10 YES bought at 0.40 and 10 NO at 0.45 (the last trade, at a YES price of 0.55).
    Each side is marked in its own terms (YES at 0.55, NO at 0.45); the pairs are worth their $10.00."""
    from predictex.core import commands as c

    ticker = exchange.market(waiver_ms=4_000_000_000_000)
    me, maker = exchange.account("100"), exchange.account("100")
    exchange.ok(c.SetNetting(me, 0, False))
    exchange.placed(maker, ticker, "ask", "0.40", 10)
    exchange.placed(me, ticker, "bid", "0.40", 10)
    exchange.placed(maker, ticker, "bid", "0.55", 10)
    exchange.placed(me, ticker, "ask", "0.55", 10)  # a buy of NO at 0.45: the YES held stays
    live = _live(exchange)
    holding = live.holdings[me][ticker]
    assert holding.hedged_centicontracts() == contracts(10) and holding.position_centicontracts == 0
    assert portfolio.position_value_microdollars(live, ticker, holding) == usd("10")
    sides = [(is_yes, v.quantity_centicontracts, v.cost_microdollars, v.mark_centicents, v.value_microdollars)
             for is_yes, v in portfolio.valuations(live, ticker, holding)]
    assert sides == [(True, contracts(10), usd("4"), 5500, usd("5.50")), (False, contracts(10), usd("4.50"), 4500, usd("4.50"))]
    assert portfolio.balances(live, me).total_microdollars == usd("91.50") + usd("10")
