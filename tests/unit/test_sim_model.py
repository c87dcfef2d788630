"""The market simulator's pieces without an exchange: the scenario file, the hidden fair value, the
rolling schedule's dated tickers, and the agents' decisions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from predictex.sim.agents import Amend, Cancel, Conditions, InformedTaker, Maker, NoiseTaker, Place, Quote, Resting, View
from predictex.sim.config import InformedConfig, MakerConfig, NoiseConfig, SeriesConfig, SimConfigError, load_config, parse_config
from predictex.sim.latent import Underlying
from predictex.sim.schedule import plan
from predictex.sim.simulation import conditions_at

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sim"


# --- the scenario file ------------------------------------------------------------------------------

def test_the_default_config_and_every_example_load() -> None:
    assert load_config(None).makers.count == 3
    names = {load_config(path).name for path in EXAMPLES.glob("*.toml")}
    assert {"news-jump", "thin-book", "maker-withdraws", "run-on-yes", "fast"} <= names


@pytest.mark.parametrize(("text", "words"), [
    ("tick = 1", "unknown key tick"),
    ("[makers]\ncout = 3", "unknown key makers.cout"),
    ("[makers]\ncount = 'three'", "makers.count must be an integer"),
    ("[makers]\ncount = -1", "makers.count cannot be negative"),
    ("tick_s = 0", "tick_s must be greater than 0"),
    ("[[series]]\nticker = 'px'", "series[0].ticker must be 1-20 upper-case"),
    ("[[series]]\nstrikes = [1.5]", "series[0].strikes must be"),
    ("[[series]]\nperiod_s = 60\nlead_s = 60", "series[0].lead_s must be"),
    ("[[events]]\nkind = 'meteor'", "events[0].kind must be one of"),
    ("[[events]]\nkind = 'maker_withdraws'\nmaker = 7", "events[0].maker must name one of the 3 makers"),
    ("[[events]]\nkind = 'jump'\nseries = 'NOPE'", "events[0].series: no series NOPE"),
    ("name = ", "not TOML"),
])
def test_a_config_that_cannot_run_is_refused_by_name(text: str, words: str) -> None:
    with pytest.raises(SimConfigError, match=words.replace("[", r"\[").replace("]", r"\]")):
        parse_config(text)


# --- the hidden fair value ------------------------------------------------------------------------

SERIES = SeriesConfig(ticker="PXU", period_s=600.0, strikes=(0.5, 0.2, 0.8), jumps_per_hour=30.0)


def _path(seed: str) -> list[float]:
    underlying = Underlying(seed, SERIES, 600.0, 0.5)
    values = []
    for step in range(0, 1201, 50):
        underlying.advance_to(step)
        values.append(underlying.value)
    return values


def test_the_same_seed_gives_the_same_path_and_another_seed_another() -> None:
    assert _path("7/PXU/0") == _path("7/PXU/0")
    assert _path("7/PXU/0") != _path("8/PXU/0")


def test_markets_start_at_their_strike_probability_and_end_at_their_result() -> None:
    underlying = Underlying("1/PXU/0", SERIES, 600.0, 0.5)
    assert [round(underlying.probability(i), 9) for i in range(3)] == [0.5, 0.2, 0.8]
    underlying.advance_to(1200)
    assert underlying.seconds_left() == 0.0
    for index in range(3):
        assert underlying.probability(index) == (1.0 if underlying.outcome(index) else 0.0)
    # monotone in the strike: the lower the strike, the likelier YES
    assert underlying.strikes[2] < underlying.strikes[0] < underlying.strikes[1]


def test_a_shock_moves_every_market_of_the_event_the_same_way() -> None:
    underlying = Underlying("1/PXU/0", SeriesConfig(ticker="PXU", period_s=600.0, strikes=(0.5, 0.3), volatility=0.0,
                                                    jumps_per_hour=0.0), 600.0, 0.5)
    underlying.advance_to(100)
    before = [underlying.probability(i) for i in range(2)]
    underlying.shock(1.0)
    after = [underlying.probability(i) for i in range(2)]
    assert before[0] == 0.5 and before[1] < 0.3  # time passing with no news makes the unlikely less likely
    assert all(a > b + 0.2 for a, b in zip(after, before))
    assert underlying.jumps == [(100, 1.0)]


# --- the rolling schedule -----------------------------------------------------------------------------

def test_an_hourly_series_closes_on_the_hour_with_dated_tickers() -> None:
    start = dt.datetime(2026, 12, 7, 13, 57, 17, tzinfo=dt.UTC).timestamp()
    first, second = plan(SeriesConfig(), start, 0), plan(SeriesConfig(), start, 1)
    assert (first.event_ticker, first.market_tickers()) == ("PXHOURLY-26DEC0714", ("PXHOURLY-26DEC0714-S1", "PXHOURLY-26DEC0714-S2",
                                                                                   "PXHOURLY-26DEC0714-S3"))
    assert first.open_s == start and first.close_s == dt.datetime(2026, 12, 7, 14, tzinfo=dt.UTC).timestamp()
    assert second.event_ticker == "PXHOURLY-26DEC0715" and second.open_s == start  # opens ten minutes before 14:00
    third = plan(SeriesConfig(), start, 2)
    assert third.open_s == dt.datetime(2026, 12, 7, 14, 50, tzinfo=dt.UTC).timestamp()
    seconds = plan(SeriesConfig(ticker="PXS", period_s=20.0, lead_s=5.0, align=False), start, 0)
    assert seconds.event_ticker == "PXS-26DEC07135737" and seconds.close_s == start + 20 - 0.0  # start was whole seconds


# --- the agents -------------------------------------------------------------------------------------

def _view(**changes: object) -> View:
    values: dict[str, object] = {"ticker": "M", "step": 10, "seconds_left": 600.0, "fair": 0.5, "bid": Quote(49, 10),
                                 "ask": Quote(51, 10), "position": 0, "resting": ()}
    values.update(changes)
    return View(**values)  # type: ignore[arg-type]


def _maker(**changes: object) -> Maker:
    config = MakerConfig(estimate_noise_cents=0.0, estimate_lag_s=0.5, **changes)  # type: ignore[arg-type]
    return Maker("maker-0", 1, 0, config, 0.5)


def test_a_maker_quotes_levels_on_both_sides_around_the_fair_value() -> None:
    actions = _maker().decide(_view(), Conditions())
    bids = sorted(a.price_cents for a in actions if isinstance(a, Place) and a.is_bid)
    asks = sorted(a.price_cents for a in actions if isinstance(a, Place) and not a.is_bid)
    assert len(bids) == len(asks) == 3 and max(bids) < 50 < min(asks) and min(asks) - max(bids) <= 3
    assert all(isinstance(a, Place) and not a.take and a.contracts == 20 for a in actions)


def test_a_long_maker_skews_its_quotes_down_and_stops_buying_at_its_limit() -> None:
    flat = _maker().ladder(_view(), Conditions())
    long = _maker(risk_aversion=0.001).ladder(_view(position=100), Conditions())
    assert long["a0"].price_cents < flat["a0"].price_cents and long["b0"].price_cents < flat["b0"].price_cents
    full = _maker().ladder(_view(position=300), Conditions())
    assert not any(slot.startswith("b") for slot in full) and "a0" in full


def test_a_market_all_but_decided_keeps_a_bid_at_1c_and_an_offer_at_99c() -> None:
    low = _maker().ladder(_view(fair=0.002, seconds_left=30.0), Conditions())
    assert low["b0"] == Quote(1, 20) and "b1" not in low and min(q.price_cents for s, q in low.items() if s[0] == "a") >= 2
    high = _maker().ladder(_view(fair=0.998, seconds_left=30.0), Conditions())
    assert high["a0"] == Quote(99, 20) and "a1" not in high and max(q.price_cents for s, q in high.items() if s[0] == "b") <= 98
    full = _maker().ladder(_view(fair=0.002, seconds_left=30.0, position=300), Conditions())
    assert not any(slot.startswith("b") for slot in full)  # at its inventory limit it still buys nothing


def test_a_maker_shifts_its_ladder_with_one_amend_a_side_asks_first_on_the_way_up() -> None:
    maker = _maker()
    wanted = maker.ladder(_view(), Conditions())
    below = tuple(Resting(slot, slot[0] == "b", quote.price_cents - 1, quote.contracts, slot) for slot, quote in sorted(wanted.items()))
    actions = maker.decide(_view(resting=below), Conditions())
    assert [type(a).__name__ for a in actions] == ["Amend", "Amend"] and [a.is_bid for a in actions if isinstance(a, Amend)] == [False, True]
    moved = {a.key: a.price_cents for a in actions if isinstance(a, Amend)}
    assert moved == {"a0": wanted["a2"].price_cents, "b2": wanted["b0"].price_cents}  # the order left uncovered to the new price
    above = tuple(Resting(slot, slot[0] == "b", quote.price_cents + 1, quote.contracts, slot) for slot, quote in sorted(wanted.items()))
    down = maker.decide(_view(resting=above), Conditions())
    assert [a.is_bid for a in down if isinstance(a, Amend)] == [True, False] and len(down) == 2


def test_a_maker_moves_only_the_levels_that_are_off_and_withdraws_when_told() -> None:
    maker = _maker()
    wanted = maker.ladder(_view(), Conditions())
    resting = tuple(Resting(str(n), slot[0] == "b", quote.price_cents + (5 if slot == "a2" else 0), quote.contracts, slot)
                    for n, (slot, quote) in enumerate(sorted(wanted.items())))
    actions = maker.decide(_view(resting=resting), Conditions())
    assert [(type(a).__name__, getattr(a, "tag", "")) for a in actions] == [("Amend", "a2")]
    assert isinstance(actions[0], Amend) and actions[0].price_cents == wanted["a2"].price_cents
    gone = maker.decide(_view(resting=resting), Conditions(withdrawn_makers=frozenset({0})))
    assert sorted(a.key for a in gone if isinstance(a, Cancel)) == sorted(r.key for r in resting) and len(gone) == len(resting)


def test_noise_takers_take_the_touch_and_a_run_makes_them_all_buy() -> None:
    taker = NoiseTaker("noise-0", 1, NoiseConfig(count=1, trades_per_minute=120.0), 0.5)  # every step
    orders = [a for _ in range(40) for a in taker.decide(_view(), Conditions())]
    assert orders and all(isinstance(a, Place) and a.take and a.price_cents == (52 if a.is_bid else 48) for a in orders)
    assert {a.is_bid for a in orders if isinstance(a, Place)} == {True, False}
    run = [a for _ in range(40) for a in taker.decide(_view(), Conditions(run_side="yes", run_factor=1.0))]
    assert run and all(isinstance(a, Place) and a.is_bid for a in run)
    assert taker.decide(_view(ask=None, bid=None), Conditions(run_side="yes")) == []


def test_an_informed_taker_takes_stale_quotes_then_waits() -> None:
    taker = InformedTaker("informed-0", 1, InformedConfig(threshold_cents=3, contracts=15, cooldown_s=2.0), 0.5)
    assert taker.decide(_view(fair=0.52), Conditions()) == []
    bought = taker.decide(_view(fair=0.60), Conditions())
    assert bought == [Place("M", True, 58, 15, True, "informed")]
    assert taker.decide(_view(fair=0.60, step=11), Conditions()) == []  # cooling down
    sold = taker.decide(_view(fair=0.40, step=20), Conditions())
    assert sold == [Place("M", False, 42, 15, True, "informed")]


def test_scripted_events_apply_in_their_window_and_series() -> None:
    config = parse_config("""
[[series]]
ticker = "A"
[[series]]
ticker = "B"
[[events]]
at_s = 60
kind = "thin_book"
factor = 0.2
duration_s = 30
series = "A"
[[events]]
at_s = 70
kind = "run"
side = "no"
factor = 3.0
""")
    assert conditions_at(config.events, "A", 59.0) == Conditions()
    assert conditions_at(config.events, "A", 75.0) == Conditions(size_factor=0.2, run_side="no", run_factor=3.0)
    assert conditions_at(config.events, "B", 75.0) == Conditions(run_side="no", run_factor=3.0)
    assert conditions_at(config.events, "A", 90.0).size_factor == 1.0
