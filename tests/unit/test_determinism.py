"""Determinism: the codec round-trips every command and event, snapshots restore an identical engine,
and the same commands give the same events and state hash."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness import START_MS, Harness
from predictex.core import commands as c
from predictex.core.codec import CodecError, decode_command, decode_event, encode_command, encode_event
from predictex.core.engine import Engine, Outcome
from predictex.core.snapshot import canonical_json, restore_snapshot, snapshot_hash, state_hash, take_snapshot


class Recording(Harness):
    """A harness that remembers every command and the time it was applied at."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[c.Command, int]] = []

    def apply(self, command: c.Command, now_ms: int | None = None) -> Outcome:
        outcome = super().apply(command, now_ms)
        self.log.append((command, self.now_ms))
        return outcome


def _session(exchange: Harness) -> None:
    """A little of everything."""
    ticker = exchange.market(timer_s=60)
    a, b = exchange.account("100"), exchange.account("100")
    exchange.ok(c.SetPositionLimit("series", "S1", 100_000, 200_000))
    group = exchange.ok(c.CreateOrderGroup(a, 1000)).value
    exchange.placed(a, ticker, "bid", "0.40", 5, order_group_id=group, client_order_id="x")
    exchange.placed(a, ticker, "bid", "0.41", 5, expiration_ms=START_MS + 5000)
    batch = exchange.ok(c.BatchCreateOrders(b, [c.CreateOrder(b, ticker, False, 4100, 300), c.CreateOrder(b, ticker, False, 4500, 300)]))
    exchange.ok(c.AmendOrder(b, batch.items[1].value, price_centicents=4400))
    rfq = exchange.ok(c.CreateRfq(a, ticker, 200, expiration_ms=START_MS + 600_000)).value
    quote = exchange.ok(c.CreateQuote(b, rfq, 3000, 6000)).value
    exchange.ok(c.AcceptQuote(a, quote, "no", START_MS + 20_000))
    exchange.ok(c.ConfirmQuote(b, quote))
    exchange.ok(c.ProposeBlockTrade(b, a, b, ticker, 5000, 100, "yes", START_MS + 30_000))
    exchange.advance(10_000)
    exchange.ok(c.RequestWithdrawal(a, 10_000_000))
    exchange.ok(c.CreateSubaccount(b))
    exchange.ok(c.TransferBetweenSubaccounts(b, 0, 1, 20_000_000, "move"))
    exchange.ok(c.SetNetting(b, 1, False))
    exchange.placed(exchange.engine.ledger.subaccounts.by_primary[b][1], ticker, "bid", "0.30", 3)
    exchange.ok(c.SetMarketTimes(ticker, close_time_ms=exchange.now_ms))
    exchange.ok(c.DetermineMarket(ticker, "yes"))
    exchange.advance(60_000)


SAMPLES: list[c.Command] = [
    c.Tick(), c.OpenAccount(), c.Deposit(1, 5, "ref"), c.RequestWithdrawal(1, 10), c.CompleteWithdrawal(1),
    c.CancelWithdrawal(2), c.CreateSubaccount(1), c.TransferBetweenSubaccounts(1, 0, 1, 10_000, "t-1"),
    c.SetNetting(1, 2, False), c.SetPositionLimit("series", "KX", 1_000, 2_000), c.SetTradingEligibility(1, "restricted"),
    c.CreateSeries("S", "t", "cat", "daily", "flat", 5000, ["a"], [["n", "u"]], "u1", "u2"),
    c.CreateEvent("S-E", "S", "t", "s", True, 5, "week"),
    c.CreateMarket("S-E-M", "S-E", "t", 1, 2, market_type="scalar", fractional_trading=True, floor_strike="69.5"),
    c.SetMarketTimes("M", 1, 2), c.PauseMarket("M"), c.ResumeMarket("M"), c.SetExchangeStatus(True, False),
    c.DetermineMarket("M", "scalar", 5, "src"), c.DisputeMarket("M", "why"), c.AmendMarketResult("M", "no"),
    c.FinalizeMarket("M"), c.CreateOrder(1, "M", True, 5000, 100, client_order_id="id", expiration_ms=9),
    c.CancelOrder(1, 2), c.AmendOrder(1, 2, "M", "bid", 5100, 300, "new", 0), c.DecreaseOrder(1, 2, 100),
    c.BatchCreateOrders(1, [c.CreateOrder(1, "M", False, 5000, 100)]), c.BatchCancelOrders(1, [1, 2]),
    c.CancelAllOrders(1, "M"), c.CreateOrderGroup(1, 500), c.ChangeOrderGroup(1, 2, "limit", 600),
    c.ScheduleFeeChange("S", "S-E", "", -1, 7), c.SetArchiveCutoff(1, 2, 3), c.PublishContent("milestone", "m-1", "{}"),
    c.CreateComboMarket("KXC", "S", "KXC-E", "KXC-E-M", "combo", 9, [["A", "yes"], ["B", "no"]]),
    c.UpdateMarketTerms("M", [["yes_sub_title", "above 5"], ["price_level_structure", "deci_cent"]]),
    c.CreateRfq(1, "M", 0, 5_000_000, True, True, False, True, 9), c.DeleteRfq(1, 2), c.CreateQuote(1, 2, 4000, 0, True, False, 7),
    c.DeleteQuote(1, 3), c.AcceptQuote(1, 3, "yes", 8), c.ConfirmQuote(2, 3), c.ProposeBlockTrade(1, 1, 2, "M", 5000, 100, "no", 9),
    c.AcceptBlockTrade(2, 1), c.RejectBlockTrade(2, 4),
]


def test_every_command_type_round_trips_through_json() -> None:
    assert {type(sample) for sample in SAMPLES} == set(c.COMMAND_TYPES.values())
    for sample in SAMPLES:
        assert decode_command(json.loads(json.dumps(encode_command(sample)))) == sample


@pytest.mark.parametrize("bad", [[], ["nope"], "x", [1], ["tick", 1], ["cancel_order", 1], ["batch_create_orders", 1, [["tick"]]]])
def test_malformed_commands_are_refused_by_the_codec(bad: Any) -> None:
    with pytest.raises(CodecError):
        decode_command(bad)


def test_replaying_the_commands_gives_the_same_events_and_state() -> None:
    recording = Recording()
    _session(recording)
    replay = Engine()
    event_types: set[str] = set()
    for command, now_ms in recording.log:
        decoded = decode_command(json.loads(json.dumps(encode_command(command))))
        for event in replay.apply(decoded, now_ms).events:
            event_types.add(event.TYPE)
            assert decode_event(json.loads(json.dumps(encode_event(event)))) == event
    assert state_hash(replay) == state_hash(recording.engine)
    assert {"trade", "order_accepted", "order_closed", "position_settled", "market_determined", "rfq_changed",
            "quote_changed", "off_book_trade", "block_trade_changed"} <= event_types


def test_snapshot_restores_an_identical_engine() -> None:
    exchange = Harness()
    _session(exchange)
    ticker = exchange.market("KX-LATER")
    a = exchange.account("50")
    exchange.placed(a, ticker, "bid", "0.30", 2)
    restored = restore_snapshot(json.loads(json.dumps(take_snapshot(exchange.engine))))
    assert state_hash(restored) == state_hash(exchange.engine)
    later = [c.CreateOrder(a, ticker, False, 3000, 100), c.Tick(), c.CancelAllOrders(a)]
    for command in later:
        mine = [encode_event(e) for e in exchange.engine.apply(command, exchange.now_ms + 20_000).events]
        assert [encode_event(e) for e in restored.apply(command, exchange.now_ms + 20_000).events] == mine
    assert state_hash(restored) == state_hash(exchange.engine)


def test_time_never_runs_backwards(exchange: Harness) -> None:
    exchange.advance(1000)
    exchange.apply(c.Tick(), START_MS)
    assert exchange.engine.now_ms == START_MS + 1000


@pytest.mark.parametrize("value", [
    "plain", "".join(chr(code) for code in range(128)), "caf\u00e9 \u2265 3.5%", "\U0001f600", "",
    -(1 << 63), (1 << 63) - 1, 1 << 64, True, None, [1, [2, []]], {"k": {"nested": [0]}},
])
def test_the_canonical_json_is_the_standard_librarys_whatever_encoder_writes_it(value: Any) -> None:
    """State hashes stored with snapshots must not depend on which encoder wrote them: the fast path
    (orjson, for ASCII output) and the standard library write the same bytes, and anything orjson
    would write differently (non-ASCII text, integers beyond 64 bits) goes the standard library's way."""
    data = {"format": 1, "value": value, "list": [value, "x"]}
    assert canonical_json(data) == json.dumps(data, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def test_the_state_hash_is_the_hash_of_the_snapshots_canonical_json() -> None:
    exchange = Harness()
    _session(exchange)
    assert state_hash(exchange.engine) == snapshot_hash(canonical_json(take_snapshot(exchange.engine)))
