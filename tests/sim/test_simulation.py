"""The seeded simulation: random workloads (workload.py: orders, markets, money, subaccounts, and RFQs (by count and by target cost),
quotes and block trades from creation to execution) through the real engine and a deliberately
simple reference model written from docs/engine.md (reference.py), compared after every command, with
`check_invariants` after every command (run.py). A failure names the seed and the command; replay it
with `python tests/sim/run.py --seed N --commands M`, or here with

    PREDICTEX_SIM_SEED=N PREDICTEX_SIM_COMMANDS=M pytest tests/sim/test_simulation.py

The default run is SEEDS x COMMANDS_PER_SEED commands (at least 100,000; every third seed keeps all
accounts near zero cash), spread over the machine's cores, plus a determinism check and scripted
scenarios the random workload cannot reach.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run import Lockstep, Report, replay, simulate
from workload import START_MS

from predictex.core import commands as c

SEEDS = tuple(range(1, 11))
COMMANDS_PER_SEED = 10_000
CI_COMMANDS_MIN = 100_000

_SEED = os.environ.get("PREDICTEX_SIM_SEED")
_COMMANDS = os.environ.get("PREDICTEX_SIM_COMMANDS")
RUN_SEEDS = (int(_SEED),) if _SEED else SEEDS
RUN_COMMANDS = int(_COMMANDS) if _COMMANDS else COMMANDS_PER_SEED


def test_the_default_run_is_at_least_a_hundred_thousand_commands() -> None:
    assert len(SEEDS) * COMMANDS_PER_SEED >= CI_COMMANDS_MIN


@pytest.fixture(scope="module")
def reports() -> dict[int, Report]:
    """Every seed's run, on every core (the seeds are independent)."""
    workers = min(len(RUN_SEEDS), os.cpu_count() or 1)
    if workers == 1:
        return {seed: simulate(seed, RUN_COMMANDS) for seed in RUN_SEEDS}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return dict(zip(RUN_SEEDS, pool.map(simulate, RUN_SEEDS, [RUN_COMMANDS] * len(RUN_SEEDS))))


@pytest.mark.parametrize("seed", RUN_SEEDS)
def test_engine_matches_the_reference_model(seed: int, reports: dict[int, Report]) -> None:
    report = reports[seed]
    assert report.divergence is None, str(report.divergence)
    assert report.commands >= RUN_COMMANDS
    assert report.trades > RUN_COMMANDS // 20, f"seed {seed}: only {report.trades} trades; the workload is not trading"


def test_the_same_seed_gives_the_same_events_and_state_hash() -> None:
    first = simulate(7, 2_000, record_events=True)
    second = simulate(7, 2_000, record_events=True)
    assert first.divergence is None, str(first.divergence)
    assert first.events == second.events
    assert first.state_hash == second.state_hash
    assert simulate(8, 500).state_hash != first.state_hash


# --- scripted scenarios -----------------------------------------------------------------------------


def _exchange_with_one_market() -> list[tuple[c.Command, int]]:
    return [
        (c.CreateSeries("SREC", "recent ids"), START_MS),
        (c.CreateEvent("EREC", "SREC", "recent ids"), START_MS),
        (c.CreateMarket("KXREC", "EREC", "recent ids", START_MS - 1_000, START_MS + 10**9), START_MS),
        (c.OpenAccount(), START_MS),
        (c.Deposit(1, 1_000_000_000), START_MS),
    ]


def _closed_at_once(client_order_id: str) -> c.CreateOrder:
    """An order that closes as soon as it is placed (nothing to trade with, immediate-or-cancel)."""
    return c.CreateOrder(1, "KXREC", True, 100, 100, time_in_force="immediate_or_cancel", client_order_id=client_order_id)


def _retries_around_ten_thousand(filler_ids: bool) -> list[tuple[c.Command, int]]:
    """Close an order with id "first", then 9,998..10,001 more closed orders, retrying "first" along
    the way: it must be refused while it is among the 10,000 most recently closed orders."""
    commands = _exchange_with_one_market()
    commands.append((_closed_at_once("first"), START_MS))
    closed = 0
    for target in (9_998, 9_999, 10_000, 10_001):
        while closed < target:
            size = min(20, target - closed)
            batch = [_closed_at_once(f"filler-{closed + i}" if filler_ids else "") for i in range(size)]
            commands.append((c.BatchCreateOrders(1, batch), START_MS))
            closed += size
        commands.append((_closed_at_once("first"), START_MS))
    return commands


def test_recent_client_order_ids_with_ids_on_every_order() -> None:
    divergence = replay(_retries_around_ten_thousand(filler_ids=True))
    assert divergence is None, str(divergence)


def test_recent_client_order_ids_when_most_orders_have_none() -> None:
    """The engine remembers the 10,000 client order ids most recently released by closed orders (orders
    without an id push nothing out); the reference does the same."""
    divergence = replay(_retries_around_ten_thousand(filler_ids=False))
    assert divergence is None, str(divergence)


def test_an_order_group_cap_never_splits_a_contract_on_a_whole_contract_market() -> None:
    lockstep = Lockstep()
    commands = [
        *_exchange_with_one_market(),
        (c.OpenAccount(), START_MS),
        (c.Deposit(2, 1_000_000_000), START_MS),
        (c.CreateOrderGroup(1, 150), START_MS),
        (c.CreateOrder(1, "KXREC", True, 4_000, 500, order_group_id=1), START_MS),
        (c.CreateOrder(2, "KXREC", False, 4_000, 500), START_MS),
    ]
    for command, now_ms in commands:
        _, diff = lockstep.step(command, now_ms)
        assert not diff, diff
    positions = [am.position_centicontracts for a in lockstep.engine.ledger.accounts.values() for am in a.markets.values()]
    assert all(position % 100 == 0 for position in positions), positions
