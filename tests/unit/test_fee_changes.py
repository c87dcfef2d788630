"""Fees over time: series fee changes and event fee overrides take effect at their time, through the
engine's timers; resting orders are re-locked at the new terms; everything survives a snapshot.
Also the archive cutoff, which only moves forward and never past now."""

from __future__ import annotations

from harness import Harness, of_type, usd
from predictex.core import commands as c
from predictex.core.events import FeeChangeApplied, FeeChangeScheduled, OrderClosed
from predictex.core.rejects import RejectCode
from predictex.core.snapshot import restore_snapshot, state_hash, take_snapshot

MAKER = "quadratic_with_maker_fees"


def _taker_fee(exchange: Harness, ticker: str) -> int:
    """The fee a taker pays buying 100 contracts at $0.50 from a fresh seller."""
    seller = exchange.account()
    buyer = exchange.account()
    exchange.placed(seller, ticker, "ask", "0.50", 100)
    before = exchange.cash(buyer)
    exchange.placed(buyer, ticker, "bid", "0.50", 100)
    return before - exchange.cash(buyer) - usd("50")


def test_a_series_fee_change_takes_effect_at_its_time(exchange: Harness) -> None:
    ticker = exchange.market()
    assert _taker_fee(exchange, ticker) == usd("1.75")  # 0.07 x 100 x 0.25
    outcome = exchange.ok(c.ScheduleFeeChange("S1", "", "quadratic", 5_000, exchange.now_ms + 60_000))
    [scheduled] = of_type(outcome, FeeChangeScheduled)
    assert (scheduled.change_id, scheduled.fee_multiplier_bps) == (1, 5_000)
    assert _taker_fee(exchange, ticker) == usd("1.75")  # not yet
    applied = of_type(exchange.advance(60_000), FeeChangeApplied)
    assert [(e.change_id, e.series_ticker, e.fee_multiplier_bps) for e in applied] == [(1, "S1", 5_000)]
    assert exchange.engine.markets.series["S1"].fee_multiplier_bps == 5_000
    assert _taker_fee(exchange, ticker) == usd("0.88")  # 0.875 rounded up


def test_an_event_override_wins_over_the_series_and_clearing_it_falls_back(exchange: Harness) -> None:
    ticker = exchange.market()
    now = exchange.now_ms
    exchange.ok(c.ScheduleFeeChange("", "S1-E", "", 20_000, now))  # effective at once
    assert _taker_fee(exchange, ticker) == usd("3.50")
    exchange.ok(c.ScheduleFeeChange("S1", "", "quadratic", 5_000, now))
    assert _taker_fee(exchange, ticker) == usd("3.50")  # the override still holds
    exchange.ok(c.ScheduleFeeChange("", "S1-E", "", -1, now))
    assert _taker_fee(exchange, ticker) == usd("0.88")


def test_a_higher_maker_fee_relocks_resting_orders_and_cancels_what_cannot_be_paid(exchange: Harness) -> None:
    ticker = exchange.market(fee_type=MAKER)
    rich = exchange.account("1000")
    poor = exchange.account("0")
    exchange.ok(c.Deposit(poor, usd("50.44")))  # 100 x $0.50 plus the maker fee of $0.44
    rich_order = exchange.placed(rich, ticker, "bid", "0.50", 100)
    poor_order = exchange.placed(poor, ticker, "bid", "0.50", 100)
    assert exchange.cash(poor) == 0
    locked_before = exchange.locked(rich)
    outcome = exchange.ok(c.ScheduleFeeChange("S1", "", MAKER, 20_000, exchange.now_ms))
    assert exchange.locked(rich) > locked_before  # the invariants check every lock is the new one
    assert exchange.is_open(rich_order)
    assert not exchange.is_open(poor_order)
    assert [e.order_id for e in of_type(outcome, OrderClosed)] == [poor_order]
    assert exchange.cash(poor) == usd("50.44")


def test_fee_changes_are_refused_cleanly(exchange: Harness) -> None:
    exchange.market()
    now = exchange.now_ms
    exchange.refused(c.ScheduleFeeChange("NOPE", "", "quadratic", 10_000, now), RejectCode.SERIES_NOT_FOUND)
    exchange.refused(c.ScheduleFeeChange("", "NOPE-E", "quadratic", 10_000, now), RejectCode.EVENT_NOT_FOUND)
    exchange.refused(c.ScheduleFeeChange("S1", "", "cubic", 10_000, now), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.ScheduleFeeChange("S1", "", "", 10_000, now), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.ScheduleFeeChange("S1", "", "quadratic", 10**9, now), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.ScheduleFeeChange("S2", "S1-E", "quadratic", 10_000, now), RejectCode.INVALID_PARAMETERS)


def test_pending_fee_changes_survive_a_snapshot(exchange: Harness) -> None:
    ticker = exchange.market(fee_type=MAKER)
    me = exchange.account()
    exchange.placed(me, ticker, "bid", "0.40", 10)
    exchange.ok(c.ScheduleFeeChange("", "S1-E", "quadratic", -1, exchange.now_ms))
    exchange.ok(c.ScheduleFeeChange("S1", "", MAKER, 30_000, exchange.now_ms + 5_000))
    exchange.ok(c.SetArchiveCutoff(exchange.now_ms - 10, 0, 0))
    restored = restore_snapshot(take_snapshot(exchange.engine))
    assert state_hash(restored) == state_hash(exchange.engine)
    later = exchange.now_ms + 5_000
    original = exchange.engine.apply(c.Tick(), later)
    replayed = restored.apply(c.Tick(), later)
    assert original.events == replayed.events and of_type(original, FeeChangeApplied)
    assert state_hash(restored) == state_hash(exchange.engine)


def test_the_archive_cutoff_moves_forward_only_and_never_past_now(exchange: Harness) -> None:
    now = exchange.now_ms
    exchange.ok(c.SetArchiveCutoff(now - 1000, now - 2000, now - 3000))
    assert exchange.engine.markets.archive_cutoff_ms == [now - 1000, now - 2000, now - 3000]
    exchange.refused(c.SetArchiveCutoff(now - 2000, now - 2000, now - 3000), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.SetArchiveCutoff(now + 1, now - 2000, now - 3000), RejectCode.INVALID_PARAMETERS)
    exchange.ok(c.SetArchiveCutoff(now, now, now))
