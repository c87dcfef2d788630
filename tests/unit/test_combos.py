"""Combination markets: made from legs, traded on a book of their own, settled from their legs."""

from __future__ import annotations

from harness import FAR_FUTURE_MS, Harness, of_type
from predictex.core import commands as c
from predictex.core.events import ComboMarketCreated, MarketDetermined
from predictex.core.rejects import RejectCode
from predictex.core.snapshot import restore_snapshot, state_hash, take_snapshot


def _combo(exchange: Harness, legs: list[list[str]], ticker: str = "KXC-E-1") -> str:
    outcome = exchange.ok(c.CreateComboMarket("KXC", "S1", "KXC-E", ticker, "a combination", FAR_FUTURE_MS, legs))
    assert [e.market_ticker for e in of_type(outcome, ComboMarketCreated)] == [ticker]
    return ticker


def _settle(exchange: Harness, ticker: str, result: str) -> None:
    exchange.ok(c.SetMarketTimes(ticker, close_time_ms=exchange.now_ms))
    exchange.ok(c.DetermineMarket(ticker, result))


def test_a_combination_pays_yes_when_every_leg_lands_on_its_side(exchange: Harness) -> None:
    exchange.market("KX-A")
    exchange.market("KX-B")
    combo = _combo(exchange, [["KX-A", "yes"], ["KX-B", "no"]])
    buyer, seller = exchange.account(), exchange.account()
    exchange.placed(seller, combo, "ask", "0.30", 10)
    exchange.placed(buyer, combo, "bid", "0.30", 10)
    assert exchange.position(buyer, combo) == 1000
    _settle(exchange, "KX-A", "yes")
    assert exchange.status(combo) == "active"
    cash = exchange.cash(buyer)
    _settle(exchange, "KX-B", "no")
    assert exchange.status(combo) == "finalized"
    assert exchange.engine.markets.markets[combo].result == "yes"
    assert exchange.cash(buyer) - cash == 10_000_000  # 10 contracts at $1


def test_one_leg_on_the_other_side_settles_the_combination_no_at_once(exchange: Harness) -> None:
    exchange.market("KX-A")
    exchange.market("KX-B")
    combo = _combo(exchange, [["KX-A", "yes"], ["KX-B", "yes"]])
    exchange.ok(c.SetMarketTimes("KX-A", close_time_ms=exchange.now_ms))
    outcome = exchange.ok(c.DetermineMarket("KX-A", "no"))
    assert [(e.ticker, e.result) for e in of_type(outcome, MarketDetermined)] == [("KX-A", "no"), (combo, "no")]
    assert exchange.status(combo) == "finalized"


def test_bad_combinations_are_refused(exchange: Harness) -> None:
    exchange.market("KX-A")
    combo = _combo(exchange, [["KX-A", "yes"]])
    def refuse(legs: list[list[str]], code: RejectCode, ticker: str = "KXC-E-2", series: str = "S1") -> None:
        exchange.refused(c.CreateComboMarket("KXC", series, "KXC-E", ticker, "t", FAR_FUTURE_MS, legs), code)
    refuse([], RejectCode.INVALID_PARAMETERS)
    refuse([["KX-A", "maybe"]], RejectCode.INVALID_PARAMETERS)
    refuse([["KX-A", "yes"], ["KX-A", "no"]], RejectCode.INVALID_PARAMETERS)
    refuse([["NOPE", "yes"]], RejectCode.MARKET_NOT_FOUND)
    refuse([[combo, "yes"]], RejectCode.INVALID_PARAMETERS)
    refuse([["KX-A", "yes"]], RejectCode.ALREADY_EXISTS, ticker=combo)
    refuse([["KX-A", "yes"]], RejectCode.INVALID_PARAMETERS, series="S9")  # the event is in S1


def test_combinations_survive_a_snapshot(exchange: Harness) -> None:
    exchange.market("KX-A")
    exchange.market("KX-B")
    combo = _combo(exchange, [["KX-A", "yes"], ["KX-B", "yes"]])
    restored = restore_snapshot(take_snapshot(exchange.engine))
    assert state_hash(restored) == state_hash(exchange.engine)
    for command in (c.SetMarketTimes("KX-A", close_time_ms=exchange.now_ms), c.DetermineMarket("KX-A", "no")):
        assert restored.apply(command, exchange.now_ms).events == exchange.engine.apply(command, exchange.now_ms).events
    assert restored.markets.markets[combo].result == "no"
    assert state_hash(restored) == state_hash(exchange.engine)
