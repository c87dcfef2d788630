"""The position limits as the JSON answers show them (core/position_limits.py): the operator's list,
and a member's view (each limited market where the member holds a position or resting orders)."""

from __future__ import annotations

from typing import Any

from predictex.core.units import format_count_fp


def position_limits_json(live: Any) -> dict[str, Any]:
    """The position limits in force (contracts, as `_fp` strings; absent: no limit)."""
    return {
        "series": [{"series_ticker": series, "market_limit_fp": format_count_fp(market) if market else None,
                    "event_limit_fp": format_count_fp(event) if event else None}
                   for series, (market, event) in sorted(live.position_limits_by_series.items())],
        "markets": [{"market_ticker": ticker, "market_limit_fp": format_count_fp(market)}
                    for ticker, market in sorted(live.position_limits_by_market.items())],
    }


def member_position_limits(live: Any, primary: int) -> list[dict[str, Any]]:
    """predictex's addition: the position limits that apply where the member holds a position or
    resting orders (summed over its subaccounts), with the position (+ YES, - NO) beside each."""
    accounts = list(live.member_accounts(primary).values())
    tickers = sorted({ticker for a in accounts for ticker in live.holdings.get(a, {})}
                     | {view.ticker for a in accounts for view in live.orders_by_account.get(a, {}).values()})
    rows: list[dict[str, Any]] = []
    for ticker in tickers:
        market_limit, event_limit = live.position_limits_for(ticker)
        if not market_limit and not event_limit:
            continue
        market = live.markets.get(ticker)
        position = sum(live.holdings.get(a, {})[ticker].position_centicontracts for a in accounts if ticker in live.holdings.get(a, {}))
        rows.append({
            "market_ticker": ticker, "event_ticker": market.event_ticker if market else "",
            "market_limit_fp": format_count_fp(market_limit) if market_limit else None,
            "event_limit_fp": format_count_fp(event_limit) if event_limit else None,
            "position_fp": format_count_fp(position),
        })
    return rows
