"""Run the seeded simulation: one workload through the real engine and the reference model, compared
after every command, with `check_invariants` after every command.

    python tests/sim/run.py --seed 7 --commands 20000

prints the first divergence (seed, command index, the command, the diff) or "ok". The test module
imports `simulate` from here.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from reference import ReferenceModel, RefOutcome
from workload import Workload

from predictex.core import commands as c
from predictex.core.engine import Engine, Outcome
from predictex.core.events import BalanceChanged, Event, PositionChanged, Trade
from predictex.core.invariants import check_invariants
from predictex.core.rejects import InvariantViolation
from predictex.core.snapshot import state_hash


@dataclass
class Divergence:
    seed: int  # 0 for a scripted sequence
    index: int  # of the command in the stream, setup included
    command: str  # repr of the command: the report crosses process boundaries, compiled classes do not pickle
    now_ms: int
    diff: list[str]
    replay_commands: int = 0  # the --commands that replays up to this one

    def __str__(self) -> str:
        lines = [
            f"simulation diverged: seed {self.seed}, command #{self.index} at {self.now_ms} ms",
            f"  command: {self.command}",
            *(f"  {line}" for line in self.diff[:40]),
        ]
        if self.seed:
            lines.append(f"  replay: python tests/sim/run.py --seed {self.seed} --commands {self.replay_commands}")
        return "\n".join(lines)


@dataclass
class Report:
    seed: int
    commands: int
    trades: int
    refusals: int
    events: list[list[Any]]
    divergence: Divergence | None
    state_hash: str = ""


# --- the engine's state, in the reference model's shape ---------------------------------------------


def engine_state(engine: Engine) -> dict[str, Any]:
    ledger = engine.ledger
    comms = engine.communications
    positions: dict[tuple[int, str], tuple[int, int, int, int]] = {}
    for account in ledger.accounts.values():
        for ticker, am in account.markets.items():
            row = (am.position_centicontracts, am.position_cost_microdollars, am.realized_pnl_microdollars, am.fees_paid_microdollars)
            if row != (0, 0, 0, 0):
                positions[(account.account_id, ticker)] = row
    markets: dict[str, tuple[str, str, int, int]] = {}
    books = {}
    finalized = 0
    for ticker, m in engine.markets.markets.items():
        if m.status == "finalized":
            finalized += 1  # settled for good: its book was emptied when it closed
            continue
        markets[ticker] = (m.status, m.result, m.settlement_value_centicents, m.open_interest_centicontracts)
        bids, asks = tuple(m.book.bids.depth()), tuple(m.book.asks.depth())
        if bids or asks:
            books[ticker] = (bids, asks)
    return {
        "accounts": {
            a.account_id: (a.cash_microdollars, a.locked_microdollars, a.pending_withdrawal_microdollars)
            for a in ledger.accounts.values()
        },
        "positions": positions,
        "markets": markets,
        "finalized": finalized,
        "books": dict(sorted(books.items())),
        "orders": {order_id: o.remaining_centicontracts for order_id, o in engine.trading.orders.items()},
        "money": (ledger.revenue_microdollars, ledger.deposited_microdollars, ledger.withdrawn_microdollars),
        "subaccounts": (ledger.subaccounts.by_primary, ledger.subaccounts.next_transfer_id),
        "netting_off": sorted(a.account_id for a in ledger.accounts.values() if not a.netting_enabled),
        "sides": {
            (account.account_id, ticker): (am.yes_centicontracts, am.no_centicontracts, am.yes_cost_microdollars, am.no_cost_microdollars)
            for account in ledger.accounts.values() for ticker, am in account.markets.items()
            if am.yes_centicontracts or am.no_centicontracts
        },
        "rfqs": {r.rfq_id: (r.account_id, r.ticker, r.count_centicontracts, r.target_cost_microdollars, tuple(r.quote_ids))
                 for r in comms.rfqs.values()},
        "quotes": {q.quote_id: (q.account_id, q.status, q.accepted_side, q.confirm_deadline_ms, q.yes_count_centicontracts,
                                q.no_count_centicontracts) for q in comms.quotes.values()},
        "proposals": {
            p.proposal_id: (p.buyer_accepted_ms > 0, p.seller_accepted_ms > 0) for p in comms.proposals.values()
        },
    }


def _trades(events: list[Event]) -> list[tuple[Any, ...]]:
    return [tuple(e.values()[1:]) for e in events if isinstance(e, Trade)]


def _ref_trades(outcome: RefOutcome) -> list[tuple[Any, ...]]:
    return [tuple(t)[1:] for t in outcome.trades]


def _trade_ids(events: list[Event]) -> list[int]:
    return [e.trade_id for e in events if isinstance(e, Trade)]


# --- comparing ----------------------------------------------------------------------------------------


def _compare_outcome(where: str, got: Outcome, want: RefOutcome) -> list[str]:
    diff: list[str] = []
    got_code = got.reject.code if got.reject else None
    if got_code != want.reject:
        detail = f" ({got.reject.detail})" if got.reject else ""
        diff.append(f"{where}reject: engine {got_code}{detail}, reference {want.reject}")
        return diff
    if got.value != want.value:
        diff.append(f"{where}value: engine {got.value}, reference {want.value}")
    got_trades, want_trades = _trades(got.events), _ref_trades(want)
    if got_trades != want_trades:
        diff.append(f"{where}trades differ:")
        diff.extend(f"  engine    {t}" for t in got_trades)
        diff.extend(f"  reference {t}" for t in want_trades)
    elif _trade_ids(got.events) != [t.trade_id for t in want.trades]:
        diff.append(f"{where}trade ids: engine {_trade_ids(got.events)}, reference {[t.trade_id for t in want.trades]}")
    if len(got.items) != len(want.items):
        diff.append(f"{where}items: engine {len(got.items)}, reference {len(want.items)}")
        return diff
    for index, (got_item, want_item) in enumerate(zip(got.items, want.items)):
        diff.extend(_compare_outcome(f"{where}item {index}: ", got_item, want_item))
    return diff


def _compare_state(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    diff: list[str] = []
    for part in got:
        g, w = got[part], want[part]
        if g == w:
            continue
        if isinstance(g, dict):
            for key in sorted(set(g) | set(w), key=repr):
                if g.get(key) != w.get(key):
                    diff.append(f"{part}[{key!r}]: engine {g.get(key)}, reference {w.get(key)}")
        else:
            diff.append(f"{part}: engine {g}, reference {w}")
    return diff


# --- running ------------------------------------------------------------------------------------------


class Lockstep:
    """The engine and the reference model side by side: each command goes to both, then outcomes,
    invariants and state are compared."""

    def __init__(self) -> None:
        self.engine = Engine()
        self.model = ReferenceModel()
        self.state = self.model.state()

    def step(self, command: c.Command, now_ms: int) -> tuple[Outcome, list[str]]:
        outcome = self.engine.apply(command, now_ms)
        expected = self.model.apply(command, now_ms)
        diff = _compare_outcome("", outcome, expected)
        try:
            check_invariants(self.engine)
        except InvariantViolation as violation:
            diff.append(f"invariant violated: {violation}")
        if diff:
            return outcome, diff
        before, self.state = self.state, self.model.state()
        diff = _compare_state(engine_state(self.engine), self.state)
        if not diff:
            diff = _check_reports(outcome.events, before, self.state)
        return outcome, diff


def _check_reports(events: list[Event], before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The closing BalanceChanged and PositionChanged events: one for every account and position that
    changed, each carrying the values after the command."""
    diff: list[str] = []
    balances = {e.account_id: (e.cash_microdollars, e.locked_microdollars, e.pending_withdrawal_microdollars)
                for e in events if isinstance(e, BalanceChanged)}
    for account_id, row in after["accounts"].items():
        if row != before["accounts"].get(account_id, row) and account_id not in balances:
            diff.append(f"account {account_id} changed {before['accounts'][account_id]} -> {row} without a BalanceChanged")
    for account_id, row in balances.items():
        if row != after["accounts"].get(account_id):
            diff.append(f"BalanceChanged {account_id} {row}, but the account holds {after['accounts'].get(account_id)}")
    positions = {(e.account_id, e.ticker): (e.position_centicontracts, e.position_cost_microdollars, e.realized_pnl_microdollars,
                                            e.fees_paid_microdollars) for e in events if isinstance(e, PositionChanged)}
    empty = (0, 0, 0, 0)
    for key in sorted(set(before["positions"]) | set(after["positions"])):
        old, new = before["positions"].get(key, empty), after["positions"].get(key)
        if old != (new or empty) and key not in positions:
            diff.append(f"position {key} changed {old} -> {new} without a PositionChanged")
        if new is not None and key in positions and positions[key] != new:
            diff.append(f"PositionChanged {key} {positions[key]}, but the record holds {new}")
    return diff


def simulate(seed: int, commands: int, record_events: bool = False) -> Report:
    """Run `commands` commands of the seed's workload (after its setup); stop at the first divergence."""
    lockstep = Lockstep()
    workload = Workload(seed, lockstep.model)
    report = Report(seed, 0, 0, 0, [], None)
    setup = len(workload.pending)
    total = commands + setup
    index = 0
    while index < total:
        command, now_ms = workload.next()
        outcome, diff = lockstep.step(command, now_ms)
        if record_events:
            report.events.append([[e.TYPE, *e.values()] for e in outcome.events])
        report.trades += len(_trades(outcome.events))
        report.refusals += outcome.reject is not None
        if diff:
            report.divergence = Divergence(seed, index, repr(command), now_ms, diff, max(0, index + 1 - setup))
            break
        index += 1
    report.commands = index
    report.state_hash = state_hash(lockstep.engine)
    return report


def replay(commands: list[tuple[c.Command, int]]) -> Divergence | None:
    """Run a scripted sequence in lockstep (seed 0 in the report)."""
    lockstep = Lockstep()
    for index, (command, now_ms) in enumerate(commands):
        _, diff = lockstep.step(command, now_ms)
        if diff:
            return Divergence(0, index, repr(command), now_ms, diff)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--commands", type=int, default=10_000)
    args = parser.parse_args()
    started = time.perf_counter()
    report = simulate(args.seed, args.commands)
    elapsed = time.perf_counter() - started
    if report.divergence is not None:
        print(report.divergence)
        return 1
    print(f"ok: seed {args.seed}, {report.commands} commands (setup included), {report.trades} trades, {report.refusals} refusals, {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
