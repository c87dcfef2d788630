"""The market lifecycle, exchange pauses, and what each state allows."""

from __future__ import annotations

from harness import START_MS, Harness, of_type
from predictex.core import commands as c
from predictex.core.events import MarketStatusChanged, OrderClosed
from predictex.core.limits import TIME_MS_MAX
from predictex.core.rejects import RejectCode


def test_a_market_opens_at_its_open_time(exchange: Harness) -> None:
    ticker = exchange.market(open_ms=START_MS + 10_000)
    me = exchange.account()
    assert exchange.status(ticker) == "initialized"
    exchange.refused(c.CreateOrder(me, ticker, True, 4000, 100), RejectCode.MARKET_NOT_OPEN)
    changes = of_type(exchange.advance(10_000), MarketStatusChanged)
    assert [(e.ticker, e.status, e.reason) for e in changes] == [(ticker, "active", "open_time")]
    exchange.placed(me, ticker, "bid", "0.40", 1)


def test_close_time_closes_and_cancels_everything(exchange: Harness) -> None:
    ticker = exchange.market(close_ms=START_MS + 60_000)
    me = exchange.account()
    order_id = exchange.placed(me, ticker, "bid", "0.40", 1)
    outcome = exchange.advance(60_000)
    assert exchange.status(ticker) == "closed"
    assert [(e.order_id, e.reason) for e in of_type(outcome, OrderClosed)] == [(order_id, "market_closed")]
    exchange.refused(c.CreateOrder(me, ticker, True, 4000, 100), RejectCode.MARKET_CLOSED)
    exchange.refused(c.CancelOrder(me, order_id), RejectCode.ORDER_NOT_FOUND)


def test_moving_the_close_time_closes_early_or_reopens(exchange: Harness) -> None:
    ticker = exchange.market()
    exchange.ok(c.SetMarketTimes(ticker, close_time_ms=exchange.now_ms))
    assert exchange.status(ticker) == "closed"
    exchange.ok(c.SetMarketTimes(ticker, close_time_ms=exchange.now_ms + 1000))
    assert exchange.status(ticker) == "active"
    exchange.advance(1000)
    assert exchange.status(ticker) == "closed"
    exchange.refused(c.SetMarketTimes(ticker, open_time_ms=exchange.now_ms - 5), RejectCode.INVALID_PARAMETERS)


def test_a_close_time_before_the_open_time_closes_an_opened_market_now(exchange: Harness) -> None:
    """An operator closing "now" in whole seconds, within a second of the open (its milliseconds
    after the close second), closes the market at once rather than being refused."""
    exchange.market("KX-R")  # the series S1 and event S1-E
    opens_at = exchange.now_ms + 1500
    exchange.ok(c.CreateMarket("KX-S", "S1-E", "m", opens_at, opens_at + 3_600_000))
    exchange.advance(1500)
    assert exchange.status("KX-S") == "active"
    exchange.ok(c.SetMarketTimes("KX-S", close_time_ms=opens_at - opens_at % 1000))
    assert exchange.status("KX-S") == "closed"
    assert exchange.engine.markets.markets["KX-S"].close_time_ms == opens_at
    fresh = exchange.now_ms + 10_000
    exchange.ok(c.CreateMarket("KX-T", "S1-E", "m", fresh, fresh + 60_000))
    exchange.refused(c.SetMarketTimes("KX-T", close_time_ms=fresh - 1), RejectCode.INVALID_PARAMETERS)  # not yet open


def test_pause_cancels_cancel_on_pause_orders_and_resume_cancels_the_rest(exchange: Harness) -> None:
    ticker = exchange.market()
    me = exchange.account()
    fragile = exchange.placed(me, ticker, "bid", "0.40", 1, cancel_on_pause=True)
    sturdy = exchange.placed(me, ticker, "bid", "0.39", 1)
    exchange.ok(c.PauseMarket(ticker))
    assert not exchange.is_open(fragile) and exchange.is_open(sturdy)
    exchange.refused(c.CreateOrder(me, ticker, True, 4000, 100), RejectCode.MARKET_PAUSED)
    exchange.ok(c.ResumeMarket(ticker))
    assert not exchange.is_open(sturdy)
    exchange.refused(c.ResumeMarket(ticker), RejectCode.INVALID_TRANSITION)


def test_cancels_are_allowed_while_a_market_is_paused(exchange: Harness) -> None:
    ticker = exchange.market()
    me = exchange.account()
    order_id = exchange.placed(me, ticker, "bid", "0.40", 2)
    exchange.ok(c.PauseMarket(ticker))
    exchange.ok(c.DecreaseOrder(me, order_id, reduce_by_centicontracts=100))
    exchange.ok(c.CancelOrder(me, order_id))


def test_trading_pause_allows_cancels_only_and_exchange_pause_allows_nothing(exchange: Harness) -> None:
    ticker = exchange.market()
    me = exchange.account()
    order_id = exchange.placed(me, ticker, "bid", "0.40", 2)
    fragile = exchange.placed(me, ticker, "bid", "0.30", 2, cancel_on_pause=True)
    exchange.ok(c.SetExchangeStatus(True, False))
    assert not exchange.is_open(fragile)
    exchange.refused(c.CreateOrder(me, ticker, True, 4000, 100), RejectCode.TRADING_PAUSED)
    exchange.refused(c.AmendOrder(me, order_id, price_centicents=4100), RejectCode.TRADING_PAUSED)
    exchange.ok(c.DecreaseOrder(me, order_id, reduce_by_centicontracts=100))
    exchange.ok(c.SetExchangeStatus(False, False))
    exchange.refused(c.CancelOrder(me, order_id), RejectCode.EXCHANGE_PAUSED)
    exchange.refused(c.CreateOrder(me, ticker, True, 4000, 100), RejectCode.EXCHANGE_PAUSED)
    exchange.refused(c.RequestWithdrawal(me, 10_000_000), RejectCode.EXCHANGE_PAUSED)
    exchange.ok(c.SetExchangeStatus(True, True))
    exchange.ok(c.CancelOrder(me, order_id))


def test_result_lifecycle_and_refused_transitions(exchange: Harness) -> None:
    ticker = exchange.market(timer_s=600)
    reject = exchange.refused(c.DetermineMarket(ticker, "yes", source="BLS"), RejectCode.INVALID_TRANSITION)
    assert "must be closed" in reject.detail
    exchange.ok(c.SetMarketTimes(ticker, close_time_ms=exchange.now_ms))
    exchange.refused(c.DetermineMarket(ticker, "maybe"), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.DetermineMarket(ticker, "scalar", 12_000), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.DetermineMarket(ticker, "yes", 0), RejectCode.INVALID_PARAMETERS)
    exchange.ok(c.DetermineMarket(ticker, "yes", source="BLS CPI release"))
    assert exchange.status(ticker) == "determined"
    exchange.refused(c.AmendMarketResult(ticker, "no"), RejectCode.INVALID_TRANSITION)
    exchange.ok(c.DisputeMarket(ticker, "data revised"))
    exchange.advance(600_000)
    assert exchange.status(ticker) == "disputed"  # the timer stopped
    exchange.refused(c.FinalizeMarket(ticker), RejectCode.INVALID_TRANSITION)
    exchange.ok(c.AmendMarketResult(ticker, "no", source="revised release"))
    assert exchange.status(ticker) == "amended"
    exchange.advance(599_999)
    assert exchange.status(ticker) == "amended"
    exchange.advance(1)
    assert exchange.status(ticker) == "finalized"
    exchange.refused(c.PauseMarket(ticker), RejectCode.INVALID_TRANSITION)
    exchange.refused(c.SetMarketTimes(ticker, close_time_ms=exchange.now_ms + 5), RejectCode.INVALID_TRANSITION)


def test_operator_can_finalize_before_the_timer(exchange: Harness) -> None:
    ticker = exchange.market(timer_s=3600)
    exchange.ok(c.SetMarketTimes(ticker, close_time_ms=exchange.now_ms))
    exchange.ok(c.DetermineMarket(ticker, "no"))
    exchange.ok(c.FinalizeMarket(ticker))
    assert exchange.status(ticker) == "finalized"


def test_instrument_creation_refusals(exchange: Harness) -> None:
    exchange.market("KX-A")
    exchange.refused(c.CreateSeries("S1", "dup"), RejectCode.ALREADY_EXISTS)
    exchange.refused(c.CreateSeries("lower", "bad"), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.CreateSeries("S9", "fees", fee_type="free"), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.CreateEvent("S9-E", "NOSERIES", "e"), RejectCode.SERIES_NOT_FOUND)
    exchange.refused(c.CreateMarket("KX-B", "NOEVENT", "m", 0, exchange.now_ms + 1000), RejectCode.EVENT_NOT_FOUND)
    exchange.refused(c.CreateMarket("KX-A", "S1-E", "m", 0, exchange.now_ms + 1000), RejectCode.ALREADY_EXISTS)
    exchange.refused(c.CreateMarket("KX-C", "S1-E", "m", 0, exchange.now_ms), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.CreateMarket("KX-C", "S1-E", "m", 0, exchange.now_ms + 1000, price_level_structure="odd"), RejectCode.INVALID_PARAMETERS)


def test_times_past_the_year_9999_are_refused(exchange: Harness) -> None:
    """Every time a command names must be one a timestamp can show (1970 to 9999-12-31T23:59:59.999Z)."""
    ticker = exchange.market("KX-T")
    account = exchange.account()
    last, beyond = TIME_MS_MAX, TIME_MS_MAX + 1
    exchange.refused(c.CreateMarket("KX-U", "S1-E", "m", 0, beyond), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.CreateMarket("KX-U", "S1-E", "m", 0, last, expected_expiration_ms=beyond), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.CreateMarket("KX-U", "S1-E", "m", 0, last, fee_waiver_expiration_ms=-1), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.CreateEvent("S1-F", "S1", "e", strike_date_ms=beyond), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.SetMarketTimes(ticker, close_time_ms=beyond), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.CreateOrder(account, ticker, True, 4000, 100, expiration_ms=beyond), RejectCode.INVALID_EXPIRATION)
    order = exchange.placed(account, ticker, "bid", "0.40", 1)
    exchange.refused(c.AmendOrder(account, order, ticker, "bid", 4000, 100, "", beyond), RejectCode.INVALID_EXPIRATION)
    exchange.ok(c.CreateMarket("KX-U", "S1-E", "m", 0, last))
    exchange.ok(c.SetMarketTimes(ticker, close_time_ms=last))
