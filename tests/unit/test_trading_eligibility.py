"""Trading eligibility in the engine: a member whose primary account is marked not eligible has every
new order refused with the reason (its subaccounts' too), changing nothing; the mark is lifted with an
empty reason, kept by snapshots (absent until set), and only a primary account can carry it."""

from __future__ import annotations

from harness import Harness
from predictex.core import commands as c
from predictex.core.events import TradingEligibilityChanged
from predictex.core.rejects import RejectCode
from predictex.core.snapshot import restore_snapshot, state_hash, take_snapshot


def test_a_member_not_eligible_is_refused_with_the_reason(exchange: Harness) -> None:
    ticker = exchange.market()
    me = exchange.account("100")
    exchange.ok(c.CreateSubaccount(me))
    sub = exchange.engine.ledger.subaccounts.by_primary[me][1]
    exchange.ok(c.TransferBetweenSubaccounts(me, 0, 1, 10_000_000, "t"))
    resting = exchange.placed(me, ticker, "bid", "0.20", 1)
    assert "not_eligible" not in take_snapshot(exchange.engine)
    outcome = exchange.ok(c.SetTradingEligibility(me, "residing in NJ"))
    assert outcome.events == [TradingEligibilityChanged(me, "residing in NJ")]
    for account in (me, sub):
        reject = exchange.refused(c.CreateOrder(account, ticker, True, 2000, 100), RejectCode.MEMBER_NOT_ELIGIBLE)
        assert reject.detail == "residing in NJ"
    exchange.ok(c.CancelOrder(me, resting))  # leaving is always allowed
    restored = restore_snapshot(take_snapshot(exchange.engine))
    assert state_hash(restored) == state_hash(exchange.engine) and restored.trading.not_eligible == {me: "residing in NJ"}
    exchange.refused(c.SetTradingEligibility(sub, "x"), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.SetTradingEligibility(999, "x"), RejectCode.ACCOUNT_NOT_FOUND)
    exchange.ok(c.SetTradingEligibility(me, ""))
    exchange.placed(sub, ticker, "bid", "0.20", 1)
    assert "not_eligible" not in take_snapshot(exchange.engine)
