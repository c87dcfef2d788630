"""Settlement: paying out a finalized market and releasing its pool.

Each YES contract pays the settlement value (100 cents for `yes`, 0 for `no`, anything in between for
a scalar market) and each NO contract pays the rest of the dollar, so the pool of $1.00 per pair
outstanding covers every payout exactly (an account without netting is paid for both sides it holds:
a pair held pays its $1.00). A void market refunds each position at its cost instead;
the difference from the pool is the exchange's (revenue can absorb it). Payouts are floored to the
balance increment and the remainder is kept as settlement rounding.
"""

from __future__ import annotations

from predictex.core.events import PositionSettled, SidesSettled
from predictex.core.instruments import RESULT_VOID, Market
from predictex.core.ledger import Ledger, net_again
from predictex.core.limits import BALANCE_INCREMENT_MICRODOLLARS
from predictex.core.scope import Scope
from predictex.core.units import PAYOUT_PER_CENTICONTRACT_MICRODOLLARS, PRICE_ONE_DOLLAR_CENTICENTS


def settle_market(ledger: Ledger, scope: Scope, market: Market) -> None:
    ticker = market.ticker
    holders = ledger.market_positions.pop(ticker, {})
    pool = market.open_interest_centicontracts * PAYOUT_PER_CENTICONTRACT_MICRODOLLARS
    value = market.settlement_value_centicents
    paid = 0
    for account_id, am in holders.items():
        account = ledger.accounts[account_id]
        position = am.position_centicontracts
        apart = not account.netting_enabled
        if position != 0 or am.yes_centicontracts:
            if market.result == RESULT_VOID:
                exact = am.position_cost_microdollars
            elif apart:
                exact = am.yes_centicontracts * value + am.no_centicontracts * (PRICE_ONE_DOLLAR_CENTICENTS - value)
            elif position > 0:
                exact = position * value
            else:
                exact = -position * (PRICE_ONE_DOLLAR_CENTICENTS - value)
            payout = (exact // BALANCE_INCREMENT_MICRODOLLARS) * BALANCE_INCREMENT_MICRODOLLARS
            account.cash_microdollars += payout
            paid += payout
            if apart:  # the two sides, ahead of the settlement record that sums them
                scope.emit(SidesSettled(
                    account_id, ticker, am.yes_centicontracts, am.no_centicontracts, am.yes_cost_microdollars,
                    am.no_cost_microdollars,
                ))
            scope.emit(PositionSettled(
                account_id, ticker, market.result, position, am.position_cost_microdollars, payout,
                am.fees_paid_microdollars, exact - payout,
            ))
            am.realized_pnl_microdollars += payout - am.position_cost_microdollars
            am.position_centicontracts = 0
            am.position_cost_microdollars = 0
            net_again(am)
            am.updated_ms = scope.now_ms
            scope.touch(account)
        scope.touch_position(am)  # flat holders too: their record ends here, and readers must hear it
        account.markets.pop(ticker, None)
    ledger.revenue_microdollars += pool - paid
    market.open_interest_centicontracts = 0
