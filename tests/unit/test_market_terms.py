"""Changing a market's terms: titles and strikes, or its price grid (orders off the new grid are
cancelled, later orders are checked against it); a finalized market's terms are final."""

from __future__ import annotations

from harness import Harness, of_type
from predictex.core import commands as c
from predictex.core.events import MarketTermsChanged, OrderClosed
from predictex.core.rejects import RejectCode
from predictex.core.snapshot import restore_snapshot, state_hash, take_snapshot


def test_a_new_grid_cancels_orders_off_it_and_checks_new_ones(exchange: Harness) -> None:
    ticker = exchange.market(structure="deci_cent")
    me = exchange.account()
    on_both = exchange.placed(me, ticker, "bid", "0.40", 1)
    off_new = exchange.placed(me, ticker, "bid", "0.415", 1)
    outcome = exchange.ok(c.UpdateMarketTerms(ticker, [["price_level_structure", "linear_cent"], ["floor_strike", "95000"]]))
    assert [e.changes for e in of_type(outcome, MarketTermsChanged)] == [[["price_level_structure", "linear_cent"], ["floor_strike", "95000"]]]
    assert [e.order_id for e in of_type(outcome, OrderClosed)] == [off_new]
    assert exchange.is_open(on_both)
    exchange.refused(c.CreateOrder(me, ticker, True, 4150, 100), RejectCode.INVALID_PRICE)
    market = exchange.engine.markets.markets[ticker]
    assert (market.floor_strike, market.price_level_structure) == ("95000", "linear_cent")
    restored = restore_snapshot(take_snapshot(exchange.engine))
    assert state_hash(restored) == state_hash(exchange.engine)


def test_bad_changes_are_refused(exchange: Harness) -> None:
    ticker = exchange.market()
    exchange.refused(c.UpdateMarketTerms(ticker, []), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.UpdateMarketTerms(ticker, [["status", "active"]]), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.UpdateMarketTerms(ticker, [["title", "a"], ["title", "b"]]), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.UpdateMarketTerms(ticker, [["price_level_structure", "whole_dollar"]]), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.UpdateMarketTerms("NOPE", [["title", "a"]]), RejectCode.MARKET_NOT_FOUND)
    exchange.ok(c.SetMarketTimes(ticker, close_time_ms=exchange.now_ms))
    exchange.ok(c.DetermineMarket(ticker, "yes"))
    exchange.refused(c.UpdateMarketTerms(ticker, [["title", "a"]]), RejectCode.INVALID_TRANSITION)
