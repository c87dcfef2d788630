"""Settlement: $1.00 per winning contract, scalar splits, void refunds at cost, and the money trail."""

from __future__ import annotations

from harness import Harness, contracts, of_type, usd
from predictex.core import commands as c
from predictex.core.events import PositionSettled


def _traded_market(exchange: Harness) -> tuple[str, int, int]:
    """yes_holder buys 10 YES at $0.40 (maker) from no_holder (taker, pays NO at $0.60 + fee)."""
    ticker = exchange.market()
    yes_holder, no_holder = exchange.account("100"), exchange.account("100")
    exchange.placed(yes_holder, ticker, "bid", "0.40", 10)
    exchange.placed(no_holder, ticker, "ask", "0.40", 10)
    exchange.ok(c.SetMarketTimes(ticker, close_time_ms=exchange.now_ms))
    return ticker, yes_holder, no_holder


def test_yes_pays_a_dollar_per_yes_contract(exchange: Harness) -> None:
    ticker, yes_holder, no_holder = _traded_market(exchange)
    before = exchange.cash(yes_holder), exchange.cash(no_holder)
    outcome = exchange.ok(c.DetermineMarket(ticker, "yes", source="official"))
    settled = {e.account_id: e for e in of_type(outcome, PositionSettled)}
    assert settled[yes_holder].payout_microdollars == usd("10")
    assert settled[no_holder].payout_microdollars == 0
    assert exchange.cash(yes_holder) == before[0] + usd("10")
    assert exchange.cash(no_holder) == before[1]
    assert exchange.position(yes_holder, ticker) == 0
    assert exchange.engine.markets.markets[ticker].open_interest_centicontracts == 0


def test_no_pays_the_no_holders(exchange: Harness) -> None:
    ticker, _yes_holder, no_holder = _traded_market(exchange)
    before = exchange.cash(no_holder)
    exchange.ok(c.DetermineMarket(ticker, "no"))
    assert exchange.cash(no_holder) == before + usd("10")


def test_scalar_splits_the_dollar(exchange: Harness) -> None:
    ticker, yes_holder, no_holder = _traded_market(exchange)
    yes_before, no_before = exchange.cash(yes_holder), exchange.cash(no_holder)
    exchange.ok(c.DetermineMarket(ticker, "scalar", 3_333))
    # 10 x $0.3333 = $3.333 -> $3.33 (rounding $0.003 kept); 10 x $0.6667 = $6.667 -> $6.66
    assert exchange.cash(yes_holder) == yes_before + usd("3.33")
    assert exchange.cash(no_holder) == no_before + usd("6.66")


def test_void_refunds_at_cost(exchange: Harness) -> None:
    ticker, yes_holder, no_holder = _traded_market(exchange)
    yes_before, no_before = exchange.cash(yes_holder), exchange.cash(no_holder)
    exchange.ok(c.DetermineMarket(ticker, "void"))
    assert exchange.cash(yes_holder) == yes_before + usd("4")
    assert exchange.cash(no_holder) == no_before + usd("6")


def test_void_after_positions_changed_hands_is_funded_by_the_exchange(exchange: Harness) -> None:
    ticker = exchange.market()
    a, b, d = exchange.account("100"), exchange.account("100"), exchange.account("100")
    exchange.placed(a, ticker, "bid", "0.40", 10)
    exchange.placed(b, ticker, "ask", "0.40", 10)  # a: +10 YES cost $4, b: -10 (NO) cost $6
    exchange.placed(d, ticker, "bid", "0.70", 10)
    exchange.placed(a, ticker, "ask", "0.70", 10)  # a sells to d: d cost $7
    revenue_before = exchange.revenue()
    exchange.ok(c.SetMarketTimes(ticker, close_time_ms=exchange.now_ms))
    exchange.ok(c.DetermineMarket(ticker, "void"))
    # the pool held $10; refunds are $7 (d) + $6 (b) = $13; the exchange pays the $3 difference
    assert exchange.revenue() == revenue_before - usd("3")


def test_fractional_positions_settle_to_the_cent(exchange: Harness) -> None:
    ticker = exchange.market(fractional=True)
    yes_holder, no_holder = exchange.account("100"), exchange.account("100")
    exchange.placed(yes_holder, ticker, "bid", "0.40", "0.55")
    exchange.placed(no_holder, ticker, "ask", "0.40", "0.55")
    exchange.ok(c.SetMarketTimes(ticker, close_time_ms=exchange.now_ms))
    before = exchange.cash(yes_holder)
    outcome = exchange.ok(c.DetermineMarket(ticker, "yes"))
    assert exchange.cash(yes_holder) == before + usd("0.55")
    assert of_type(outcome, PositionSettled)[0].position_centicontracts == contracts("0.55")
