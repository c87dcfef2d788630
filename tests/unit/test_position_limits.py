"""Position limits in the engine: per member (its subaccounts included) per market and per event, the
market's own limit over its series', resting orders counted, an order that reduces never refused, an
amend that grows refused like an order, the refusal changing nothing; the limits journaled as a command
and event, kept by snapshots (absent from a snapshot until set, so older state hashes stand)."""

from __future__ import annotations

from harness import Harness, contracts
from predictex.core import commands as c
from predictex.core.codec import decode_command, decode_event, encode_command, encode_event
from predictex.core.events import PositionLimitSet
from predictex.core.rejects import RejectCode
from predictex.core.snapshot import restore_snapshot, state_hash, take_snapshot


def _two_markets(exchange: Harness) -> tuple[str, str, str]:
    """Two markets of one event in series S1."""
    first = exchange.market("S1-E-A")
    exchange.ok(c.CreateMarket("S1-E-B", "S1-E", "b", exchange.now_ms - 1000, exchange.now_ms + 3_600_000))
    return "S1", first, "S1-E-B"


def test_a_member_is_held_to_its_limits_across_subaccounts_and_markets(exchange: Harness) -> None:
    series, first, second = _two_markets(exchange)
    before = state_hash(exchange.engine)
    outcome = exchange.ok(c.SetPositionLimit("series", series, contracts(10), contracts(15)))
    assert outcome.events == [PositionLimitSet("series", series, contracts(10), contracts(15))]
    assert state_hash(exchange.engine) != before
    me, seller = exchange.account("1000"), exchange.account("1000")
    exchange.ok(c.CreateSubaccount(me))
    sub = exchange.engine.ledger.subaccounts.by_primary[me][1]
    exchange.ok(c.TransferBetweenSubaccounts(me, 0, 1, 100_000_000, "t1"))
    exchange.placed(seller, first, "ask", "0.40", 6)
    exchange.placed(me, first, "bid", "0.40", 6)  # fills: 6 YES in the primary account
    exchange.placed(sub, first, "bid", "0.30", 3)  # rests: 9 could be held
    reject = exchange.refused(c.CreateOrder(sub, first, True, 3000, contracts(2)), RejectCode.POSITION_LIMIT)
    assert reject.detail == (f"at most 10.00 contracts per member in {first}: the position is 6.00 YES, and with "
                             "this order and the resting bids it could reach 11.00 YES")
    exchange.placed(me, second, "bid", "0.30", 5)  # the event: 9 in the first, 5 here
    reject = exchange.refused(c.CreateOrder(sub, second, True, 3000, contracts(2)), RejectCode.POSITION_LIMIT)
    assert reject.detail.startswith("at most 15.00 contracts per member in event S1-E: the positions there come to 6.00")


def test_reducing_orders_pass_and_growing_ones_are_refused(exchange: Harness) -> None:
    series, first, second = _two_markets(exchange)
    me, seller = exchange.account("1000"), exchange.account("1000")
    exchange.placed(seller, first, "ask", "0.40", 8)
    exchange.placed(me, first, "bid", "0.40", 8)
    exchange.ok(c.SetPositionLimit("series", series, contracts(5), contracts(0)))  # lowered below the position held
    exchange.refused(c.CreateOrder(me, first, True, 3000, contracts(1)), RejectCode.POSITION_LIMIT)
    exchange.placed(me, first, "ask", "0.90", 8)  # selling the 8 back: the NO it could reach is 0
    exchange.refused(c.CreateOrder(me, first, False, 9000, contracts(6)), RejectCode.POSITION_LIMIT)  # 6 NO > 5
    exchange.placed(me, second, "bid", "0.30", 5)
    resting = exchange.placed(me, second, "ask", "0.90", 1)
    exchange.refused(c.AmendOrder(me, resting, total_count_centicontracts=contracts(6)), RejectCode.POSITION_LIMIT)
    exchange.ok(c.AmendOrder(me, resting, total_count_centicontracts=contracts(5)))
    exchange.ok(c.SetPositionLimit("market", second, contracts(20), 0))  # the market's own limit over its series'
    exchange.placed(me, second, "bid", "0.30", 10)


def test_the_event_limit_sums_the_events_markets(exchange: Harness) -> None:
    series, first, second = _two_markets(exchange)
    exchange.ok(c.SetPositionLimit("series", series, 0, contracts(8)))
    me = exchange.account("1000")
    exchange.placed(me, first, "bid", "0.30", 5)
    exchange.placed(me, second, "ask", "0.70", 3)
    reject = exchange.refused(c.CreateOrder(me, second, False, 7000, contracts(1)), RejectCode.POSITION_LIMIT)
    assert reject.detail.startswith("at most 8.00 contracts per member in event S1-E: the positions there come to 0.00")
    exchange.ok(c.SetPositionLimit("series", series, 0, 0))  # lifted
    exchange.placed(me, second, "ask", "0.70", 1)


def test_bad_limits_are_refused(exchange: Harness) -> None:
    series, first, _ = _two_markets(exchange)
    exchange.refused(c.SetPositionLimit("series", "NOPE", 100, 0), RejectCode.SERIES_NOT_FOUND)
    exchange.refused(c.SetPositionLimit("market", "NOPE", 100, 0), RejectCode.MARKET_NOT_FOUND)
    exchange.refused(c.SetPositionLimit("market", first, 100, 100), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.SetPositionLimit("event", first, 100, 0), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.SetPositionLimit("series", series, 150, 0), RejectCode.INVALID_PARAMETERS)  # 1.5 contracts
    exchange.refused(c.SetPositionLimit("series", series, -100, 0), RejectCode.INVALID_PARAMETERS)


def test_limits_survive_snapshots_and_the_codec(exchange: Harness) -> None:
    series, first, _ = _two_markets(exchange)
    empty = take_snapshot(exchange.engine)
    assert "position_limits" not in empty
    command = c.SetPositionLimit("series", series, contracts(3), contracts(4))
    assert encode_command(decode_command(encode_command(command))) == encode_command(command)
    events = exchange.ok(command).events
    assert [encode_event(decode_event(encode_event(e))) for e in events] == [encode_event(e) for e in events]
    exchange.ok(c.SetPositionLimit("market", first, contracts(2), 0))
    me = exchange.account("100")
    restored = restore_snapshot(take_snapshot(exchange.engine))
    assert state_hash(restored) == state_hash(exchange.engine)
    assert restored.trading.position_limits.for_market(restored.markets.markets[first]) == (contracts(2), contracts(4))
    outcome = restored.apply(c.CreateOrder(me, first, True, 3000, contracts(3)), exchange.now_ms)
    assert outcome.reject is not None and outcome.reject.code is RejectCode.POSITION_LIMIT
