"""The market simulator (predictex.sim) against the real engine in-process, on a fake clock: runs
are deterministic, markets open, trade, close, are determined and finalized by the simulator alone,
the engine's invariants hold after every step, no simulated trader is refused for lack of money, and
every shipped scenario runs."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from engine_venue import EngineVenue

from predictex.core.instruments import FINALIZED
from predictex.core.snapshot import state_hash
from predictex.sim.config import SeriesConfig, SimConfig, load_config
from predictex.sim.simulation import Simulation

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sim"

# markets of twenty seconds, so a minute of simulated time sees three of them through to settlement
FAST = SimConfig(
    name="fast-test",
    series=(SeriesConfig(ticker="PXT", title="test", period_s=20.0, lead_s=5.0, align=False, strikes=(0.5, 0.35),
                         settlement_timer_s=2, jumps_per_hour=60.0),),
)


def run(config: SimConfig, seed: int, steps: int) -> tuple[Simulation, EngineVenue]:
    venue = EngineVenue(config)
    simulation = Simulation(config, seed, venue, record=True)
    asyncio.run(simulation.run(steps=steps))
    return simulation, venue


def test_two_runs_with_a_seed_give_the_same_orders_and_the_same_exchange() -> None:
    first, first_venue = run(FAST, 11, 160)
    second, second_venue = run(FAST, 11, 160)
    assert len(first.decisions) > 500
    assert first.decisions == second.decisions
    assert state_hash(first_venue.engine) == state_hash(second_venue.engine)
    other, _ = run(FAST, 12, 160)
    assert other.decisions != first.decisions


def test_markets_open_trade_close_and_settle_by_the_simulator_alone() -> None:
    simulation, venue = run(FAST, 3, 200)  # 100 s: events closing at 20, 40, 60, 80 and 100 s
    markets = venue.engine.markets.markets
    settled = [ticker for ticker, market in markets.items() if market.status == FINALIZED]
    assert len(settled) >= 6, {ticker: market.status for ticker, market in markets.items()}
    for ticker in settled:
        market = markets[ticker]
        assert market.result == ("yes" if simulation.determined[ticker] else "no")
        assert market.volume_centicontracts > 0, f"{ticker} never traded"
    refused = Counter(code for _agent, _kind, code in venue.refusals)
    assert refused["insufficient_balance"] == 0, refused
    for name, account_id in venue.accounts.items():
        assert venue.engine.ledger.accounts[account_id].cash_microdollars >= 0, name


def test_quotes_follow_the_fair_value_and_both_sides_stay_quoted() -> None:
    config = dataclasses.replace(FAST, series=(dataclasses.replace(FAST.series[0], period_s=600.0, lead_s=60.0),))
    venue = EngineVenue(config)
    simulation = Simulation(config, 5, venue)
    samples: list[tuple[float, int, int]] = []

    async def sampled() -> None:
        await simulation.setup()
        for step in range(240):
            await venue.sleep_until(simulation.start_s + step * config.tick_s)
            simulation.step = step
            await simulation.run_step()
            if step >= 20:
                live = simulation.events[0]
                bid, ask = venue.top(live.tickers[0])
                assert bid is not None and ask is not None, f"a side empty at step {step}"
                samples.append((live.underlying.probability(0) * 100, bid.price_cents, ask.price_cents))

    asyncio.run(sampled())
    spreads = sorted(ask - bid for _fair, bid, ask in samples)
    assert spreads[len(spreads) // 2] <= 4
    misses = sorted(abs((bid + ask) / 2 - fair) for fair, bid, ask in samples)
    assert misses[len(misses) // 2] <= 3.0  # the mid tracks the hidden fair value


def test_in_the_default_config_no_trader_goes_negative_or_is_refused_for_money() -> None:
    simulation, venue = run(SimConfig(), 2, 1200)  # ten minutes of the living demo
    assert simulation.actions_sent > 1000
    refused = Counter(code for _agent, _kind, code in venue.refusals)
    assert refused["insufficient_balance"] == 0, refused
    for name, account_id in venue.accounts.items():
        account = venue.engine.ledger.accounts[account_id]
        assert account.cash_microdollars >= 0 and account.locked_microdollars >= 0, name


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda path: path.stem)
def test_each_shipped_scenario_runs(path: Path) -> None:
    config = load_config(path)
    simulation, venue = run(config, 1, 480)  # four minutes: every scripted event of the examples has begun
    assert simulation.actions_sent > 0
    traded = sum(market.volume_centicontracts for market in venue.engine.markets.markets.values())
    assert traded > 0
    refused = Counter(code for _agent, _kind, code in venue.refusals)
    assert refused["insufficient_balance"] == 0, refused


def _decisions(simulation: Simulation, agent_prefix: str, first_s: float, last_s: float) -> list[list[str]]:
    """The recorded decisions of the agents whose names start with `agent_prefix`, in [first_s, last_s)."""
    tick = simulation.config.tick_s
    rows = [line.split() for line in simulation.decisions]
    return [row for row in rows if row[1].startswith(agent_prefix) and first_s <= int(row[0]) * tick < last_s]


def test_the_shipped_scenarios_do_what_they_say() -> None:
    withdrawn, venue = run(load_config(EXAMPLES / "maker-withdraws.toml"), 1, 300 * 2)  # to 5:00, maker 0 out from 2:00
    out = _decisions(withdrawn, "maker-0", 120.0, 300.0)  # it cancels everything once, then does nothing
    assert out and all(row[2] == "cancel" for row in out)
    assert any(row[2] == "place" for row in _decisions(withdrawn, "maker-0", 0.0, 120.0))
    assert not venue.resting("maker-0", next(iter(venue.engine.markets.markets))) and _decisions(withdrawn, "maker-1", 121.0, 300.0)

    thin, _ = run(load_config(EXAMPLES / "thin-book.toml"), 1, 200 * 2)  # a fifth of 20 contracts from 1:00 to 3:00
    sizes = {token.split("@")[0] for row in _decisions(thin, "maker", 61.0, 180.0) for token in row if "@" in token}
    assert sizes == {"4"}

    rush, _ = run(load_config(EXAMPLES / "run-on-yes.toml"), 1, 130 * 2)  # noise takers all buy YES from 1:00 to 2:00
    during = _decisions(rush, "noise", 60.0, 120.0)
    assert len(during) > len(_decisions(rush, "noise", 0.0, 60.0)) and all(row[4] == "bid" for row in during)

    news, _ = run(load_config(EXAMPLES / "news-jump.toml"), 1, 200 * 2)  # the underlying jumps at 3:00
    assert any(jump == (360, 1.0) for live in news.events for jump in live.underlying.jumps)
    assert _decisions(news, "informed", 180.0, 190.0), "nobody took the stale quotes after the news"
