"""Portfolio arithmetic on the read model, once for every surface: a position marked to market, an
account's portfolio value, what an account has resting in each market, sums over an event's holdings,
and an account's whole record in settled markets. REST (v2 and the seed's /v1), the WebSocket, FIX
and web pages read these rather than doing the sums themselves, so no two surfaces can disagree.

Everything is in domain units (microdollars, centicents, centicontracts) and reads committed state
only: the live state for what is open, the history tables for what is settled.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from predictex.core.instruments import FINALIZED
from predictex.core.units import (
    PAYOUT_PER_CENTICONTRACT_MICRODOLLARS,
    average_price_centicents,
    notional_microdollars,
    price_complement,
)
from predictex.journal.base import JournalStore
from predictex.readmodel.live import Holding, LiveState
from predictex.readmodel.queries import Queries


def mark_price_centicents(live: LiveState, ticker: str, position_centicontracts: int) -> int:
    """The price a position is marked at: the market's last traded price, in the position's own
    terms (the YES price for a YES position, $1 - it for a NO position); 0 before the first trade."""
    market = live.markets.get(ticker)
    if market is None or market.last_price_centicents == 0 or position_centicontracts == 0:
        return 0
    last = market.last_price_centicents
    return last if position_centicontracts > 0 else price_complement(last)


def position_value_microdollars(live: LiveState, ticker: str, holding: Holding) -> int:
    """A position marked to market at the last traded price (at cost until the market trades). A
    YES/NO pair held apart (netting off) is worth its $1.00 at any price."""
    market = live.markets.get(ticker)
    if market is None or market.last_price_centicents == 0:
        return holding.position_cost_microdollars
    position = holding.position_centicontracts
    pairs = holding.hedged_centicontracts() * PAYOUT_PER_CENTICONTRACT_MICRODOLLARS
    if position == 0:
        return pairs
    return notional_microdollars(mark_price_centicents(live, ticker, position), abs(position)) + pairs


def portfolio_value_microdollars(live: LiveState, account_id: int) -> int:
    """What an account's open positions are worth, marked to market."""
    holdings = live.holdings.get(account_id)
    if not holdings:
        return 0
    return sum(position_value_microdollars(live, ticker, holding) for ticker, holding in holdings.items())


class Valuation(NamedTuple):
    """One open position valued: its size (contracts of the side held), cost, value at the mark,
    the mark (0 before the first trade), the average price paid and the unrealized P&L."""

    quantity_centicontracts: int
    cost_microdollars: int
    value_microdollars: int
    mark_centicents: int
    average_price_centicents: int
    unrealized_pnl_microdollars: int


def valuation(live: LiveState, ticker: str, holding: Holding) -> Valuation:
    quantity = abs(holding.position_centicontracts)
    cost = holding.position_cost_microdollars
    value = position_value_microdollars(live, ticker, holding)
    return Valuation(
        quantity, cost, value, mark_price_centicents(live, ticker, holding.position_centicontracts),
        average_price_centicents(cost, quantity) if quantity else 0, value - cost,
    )


def valuations(live: LiveState, ticker: str, holding: Holding) -> list[tuple[bool, Valuation]]:
    """Each side held, valued: (is YES, its valuation). One entry for a netted position (none when
    flat); two, YES then NO, when an account without netting holds both."""
    sides = holding.sides()
    if len(sides) == 1:
        position = holding.position_centicontracts
        return [(position > 0, valuation(live, ticker, holding))] if position else []
    found = []
    for position, cost in sides:
        quantity = abs(position)
        mark = mark_price_centicents(live, ticker, position)
        value = cost if mark == 0 else notional_microdollars(mark, quantity)
        found.append((position > 0, Valuation(quantity, cost, value, mark, average_price_centicents(cost, quantity), value - cost)))
    return found


class Balances(NamedTuple):
    """An account's money: cash (free), locked as collateral for resting orders, pending withdrawal,
    and its open positions marked to market; `total` is cash, locked and positions together."""

    cash_microdollars: int
    locked_microdollars: int
    pending_withdrawal_microdollars: int
    portfolio_value_microdollars: int
    updated_ms: int

    @property
    def total_microdollars(self) -> int:
        return self.cash_microdollars + self.locked_microdollars + self.portfolio_value_microdollars


def balances(live: LiveState, account_id: int) -> Balances:
    found = live.balances.get(account_id)
    value = portfolio_value_microdollars(live, account_id)
    if found is None:
        return Balances(0, 0, 0, value, 0)
    return Balances(found.cash_microdollars, found.locked_microdollars, found.pending_withdrawal_microdollars, value,
                    found.updated_ms)


def resting_by_market(live: LiveState, account_id: int) -> dict[str, int]:
    """Centicontracts an account has resting in each market."""
    counts: dict[str, int] = {}
    for view in live.orders_by_account.get(account_id, {}).values():
        counts[view.ticker] = counts.get(view.ticker, 0) + view.remaining_centicontracts
    return counts


class Totals(NamedTuple):
    """Holdings added up (an event's positions): amount traded, contracts traded, exposure (cost of
    what is held), realized P&L and fees."""

    traded_microdollars: int
    volume_centicontracts: int
    exposure_microdollars: int
    realized_pnl_microdollars: int
    fees_paid_microdollars: int


def totals(holdings: Iterable[Holding]) -> Totals:
    traded = volume = exposure = realized = fees = 0
    for h in holdings:
        traded += h.total_traded_microdollars
        volume += h.volume_centicontracts
        exposure += h.position_cost_microdollars
        realized += h.realized_pnl_microdollars
        fees += h.fees_paid_microdollars
    return Totals(traded, volume, exposure, realized, fees)


def settled_holdings(live: LiveState, store: JournalStore, account_id: int) -> list[tuple[str, Holding]]:
    """The account's record in every finalized market it traded: flat, with the P&L of the whole life
    of the position (round trips before settlement included), its fees, volume and amount traded."""
    settled = sorted(t for t, m in live.markets.items() if m.status == FINALIZED)
    found = []
    for ticker, volume, traded, fees, realized, last_ms in Queries(live, store).settled_positions(account_id, settled):
        holding = Holding()
        holding.volume_centicontracts = volume
        holding.total_traded_microdollars = traded
        holding.fees_paid_microdollars = fees
        holding.realized_pnl_microdollars = realized
        holding.updated_ms = max(last_ms, live.markets[ticker].settled_ms)
        found.append((ticker, holding))
    return found


def settlement_profit_microdollars(cost_microdollars: int, payout_microdollars: int, fees_microdollars: int) -> int:
    """What a settled position made: its payout less what it cost and the fees paid on the way."""
    return payout_microdollars - cost_microdollars - fees_microdollars
