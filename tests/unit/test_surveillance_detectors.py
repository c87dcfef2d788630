"""The surveillance detectors fed the real engine's events, one command at a time: each kind of
manipulation raises its alert with the orders and trades that show it (by sequence number), honest
look-alikes do not, simulated accounts are left out, links count two members as one from where they
were made, and two runs over the same commands raise the same alerts."""

from __future__ import annotations

from pathlib import Path

import pytest

from predictex.core import commands as c
from predictex.core.engine import Engine, Outcome
from predictex.core.events import SubaccountCreated
from predictex.surveillance.config import Thresholds, ThresholdsError
from predictex.surveillance.detectors import CONCENTRATION, LAYERING, MARKING_THE_CLOSE, SPOOFING, WASH, Alert, Detector

CENT = 100  # centicents
CONTRACT = 100  # centicontracts
START_MS = 1_800_000_000_000
CLOSE_MS = START_MS + 3_600_000


class Harness:
    """The engine and a detector, with a sequence number and a clock of their own."""

    def __init__(self, thresholds: Thresholds | None = None, excluded: frozenset[int] = frozenset()) -> None:
        self.engine = Engine()
        self.detector = Detector(thresholds or Thresholds(), lambda account: account in excluded)
        self.seq = 0
        self.now_ms = START_MS
        self.apply(c.CreateSeries("KXS", "Surveillance", "Testing", "daily"))
        self.apply(c.CreateEvent("KXS-E", "KXS", "An event"))
        self.apply(c.CreateMarket("KXS-E-M", "KXS-E", "A market", START_MS, CLOSE_MS))

    def apply(self, command: c.Command) -> Outcome:
        self.seq += 1
        outcome = self.engine.apply(command, self.now_ms)
        assert outcome.reject is None, (command, outcome.reject)
        self.detector.feed(self.seq, self.now_ms, outcome.events)
        return outcome

    def account(self) -> int:
        account = self.apply(c.OpenAccount()).value
        self.apply(c.Deposit(account, 100_000 * 1_000_000, "test"))
        return account

    def order(self, account: int, is_bid: bool, cents: int, contracts: int, tif: str = "good_till_canceled") -> int:
        return self.apply(c.CreateOrder(account, "KXS-E-M", is_bid, cents * CENT, contracts * CONTRACT, tif)).value

    def cancel(self, account: int, order_id: int) -> None:
        self.apply(c.CancelOrder(account, order_id))

    def wait(self, ms: int) -> None:
        self.now_ms += ms

    def alerts(self, kind: str = "") -> list[Alert]:
        return [a for a in self.detector.alerts.values() if not kind or a.kind == kind]


def test_a_member_trading_with_its_own_subaccount_is_a_wash_trade() -> None:
    h = Harness()
    member = h.account()
    [created] = [x for x in h.apply(c.CreateSubaccount(member)).events if isinstance(x, SubaccountCreated)]
    sub_account = created.subaccount_account_id
    h.apply(c.TransferBetweenSubaccounts(member, 0, 1, 1_000 * 1_000_000, "t1"))
    h.order(member, False, 50, 10)
    h.order(sub_account, True, 50, 10)
    trade_seq = h.seq
    h.wait(60_000)
    h.order(member, True, 49, 5)
    h.order(sub_account, False, 49, 5)
    [alert] = h.alerts(WASH)
    assert alert.accounts == [member] and alert.ticker == "KXS-E-M"
    assert [x.seq for x in alert.evidence] == [trade_seq, h.seq] and alert.evidence_count == 2
    assert all(x.what == "trade" for x in alert.evidence)


def test_linked_members_trading_together_wash_only_after_the_link() -> None:
    h = Harness()
    a, b = h.account(), h.account()
    h.order(a, False, 50, 10)
    h.order(b, True, 50, 10)  # before the link: an ordinary trade
    assert h.alerts(WASH) == []
    h.detector.link(h.seq, a, b)
    h.order(a, False, 52, 10)
    h.order(b, True, 52, 10)
    [alert] = h.alerts(WASH)
    assert alert.accounts == [a, b] and [x.seq for x in alert.evidence] == [h.seq]


def test_two_strangers_trading_are_not_a_wash_trade() -> None:
    h = Harness()
    a, b = h.account(), h.account()
    for _ in range(5):
        h.order(a, False, 50, 10)
        h.order(b, True, 50, 10)
    assert h.alerts() == []


def _spoof(h: Harness, spoofer: int, victim: int, *, cancel_after_ms: int, size: int = 200, layers: int = 1) -> list[int]:
    """A resting book, then the spoofer's large bid(s) at the touch, its small ask lifted, its bids cancelled."""
    maker = h.account()
    h.order(maker, True, 40, 10)
    h.order(maker, False, 60, 10)
    bids = [h.order(spoofer, True, 41 - i, size // layers) for i in range(layers)]
    h.order(spoofer, False, 55, 10)
    h.wait(1_000)
    h.order(victim, True, 55, 10, "immediate_or_cancel")
    fill_seq = h.seq
    h.wait(cancel_after_ms)
    for bid in bids:
        h.cancel(spoofer, bid)
    return [fill_seq]


def test_a_large_bid_cancelled_right_after_the_spoofers_ask_filled_is_spoofing() -> None:
    h = Harness()
    spoofer, victim = h.account(), h.account()
    [fill_seq] = _spoof(h, spoofer, victim, cancel_after_ms=2_000)
    [alert] = h.alerts()
    assert alert.kind == SPOOFING and alert.accounts == [spoofer]
    whats = [(x.what, x.seq) for x in sorted(alert.evidence, key=lambda x: x.seq)]
    assert [w for w, _ in whats] == ["order_placed", "trade", "order_canceled"]
    assert whats[1][1] == fill_seq and whats[2][1] == h.seq


def test_several_bids_cancelled_together_are_layering() -> None:
    h = Harness()
    spoofer, victim = h.account(), h.account()
    _spoof(h, spoofer, victim, cancel_after_ms=1_000, size=240, layers=3)
    [alert] = h.alerts()
    assert alert.kind == LAYERING and alert.evidence_count == 7  # 3 placed, 1 fill, 3 cancelled


def test_a_cancel_long_after_the_fill_or_a_small_order_is_not_spoofing() -> None:
    h = Harness()
    spoofer, victim = h.account(), h.account()
    _spoof(h, spoofer, victim, cancel_after_ms=60_000)
    _spoof(h, spoofer, victim, cancel_after_ms=1_000, size=20)
    assert h.alerts() == []


def test_simulated_accounts_are_never_alerted_on() -> None:
    spoofer_account = 1  # the first account the harness opens
    h = Harness(excluded=frozenset({spoofer_account}))
    spoofer, victim = h.account(), h.account()
    assert spoofer == spoofer_account
    _spoof(h, spoofer, victim, cancel_after_ms=1_000)
    assert h.alerts() == []


def _close_market(h: Harness, result: str = "") -> None:
    h.now_ms = CLOSE_MS
    h.apply(c.Tick())
    if result:
        h.wait(1_000)
        h.apply(c.DetermineMarket("KXS-E-M", result))


def _mark(h: Harness, before_close_ms: int) -> tuple[int, list[int]]:
    """A member whose three taking buys walk the asks up from 40 cents in the minute before the close."""
    marker, maker = h.account(), h.account()
    for cents in range(40, 70, 2):
        h.order(maker, False, cents, 5)
    h.order(marker, True, 40, 5, "immediate_or_cancel")  # the price before the window
    h.now_ms = CLOSE_MS - before_close_ms
    seqs = []
    for cents in (50, 60, 64):
        h.order(marker, True, cents, 5 * ((cents - 40) // 2), "immediate_or_cancel")
        seqs.append(h.seq)
        h.wait(5_000)
    return marker, seqs


def test_taking_trades_that_move_the_price_away_from_the_result_before_the_close_are_marking_the_close() -> None:
    h = Harness()
    marker, seqs = _mark(h, 60_000)
    _close_market(h)
    assert h.alerts(MARKING_THE_CLOSE) == []  # judged once the result is known
    _close_market(h, "no")
    [alert] = h.alerts(MARKING_THE_CLOSE)
    assert alert.accounts == [marker] and sorted({x.seq for x in alert.evidence}) == seqs


def test_the_same_trades_toward_the_result_or_an_hour_before_the_close_are_not_marking_it() -> None:
    h = Harness()
    _mark(h, 60_000)
    _close_market(h, "yes")  # bought up a market that settled yes: the price went where the value was
    early = Harness()
    _mark(early, 3_000_000)
    _close_market(early, "no")
    assert h.alerts(MARKING_THE_CLOSE) == early.alerts(MARKING_THE_CLOSE) == []


def test_one_member_on_most_of_a_markets_volume_is_a_concentration() -> None:
    h = Harness(Thresholds(concentration_volume_min_centicontracts=100 * CONTRACT))
    whale, others = h.account(), [h.account() for _ in range(4)]
    for other in others:
        h.order(whale, False, 50, 30)
        h.order(other, True, 50, 30)
    h.order(others[0], False, 51, 5)
    h.order(others[1], True, 51, 5)
    _close_market(h)
    [alert] = h.alerts(CONCENTRATION)
    assert alert.accounts == [whale] and alert.evidence_count == 4


def test_two_runs_over_the_same_commands_raise_the_same_alerts() -> None:
    def run() -> list[tuple[object, ...]]:
        h = Harness()
        spoofer, victim = h.account(), h.account()
        _spoof(h, spoofer, victim, cancel_after_ms=500, size=300, layers=2)
        h.order(victim, False, 50, 5)
        h.order(victim, True, 50, 5, "immediate_or_cancel")
        return [a.signature() for a in h.alerts()]

    first = run()
    assert first and first == run()


def test_thresholds_come_from_a_toml_table_and_a_bad_one_is_refused_by_name(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[surveillance]\nspoof_cancel_window_ms = 2500\nclose_trades_min = 5\n")
    thresholds = Thresholds.from_file(good)
    assert thresholds.spoof_cancel_window_ms == 2_500 and thresholds.close_trades_min == 5
    assert thresholds.wash_window_ms == Thresholds().wash_window_ms
    for text, named in (("[surveillance]\nspoof_window = 1\n", "spoof_window"), ("[surveillance]\nclose_trades_min = -1\n", "close_trades_min"),
                        ("[surveillance]\nclose_trades_min = 1.5\n", "close_trades_min"), ("[surveillance\n", "cannot read")):
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(ThresholdsError, match=named):
            Thresholds.from_file(bad)
