"""Changing a market's terms after it was listed: its titles, rules and strikes (Kalshi's
`metadata_updated`), or its price grid (`price_level_structure_updated`). A finalized market's terms
are final. A new grid cancels the resting orders whose price is not on it; orders placed later are
checked against the new grid."""

from __future__ import annotations

from typing import Final

from predictex.core.instruments import FINALIZED, PRICE_LEVEL_STRUCTURES, Market, price_table
from predictex.core.markets import check_text
from predictex.core.orders import REASON_CANCELED
from predictex.core.rejects import RejectCode, Rejected
from predictex.core.trading import Trading

TEXT_FIELDS: Final = (
    "title", "subtitle", "yes_sub_title", "no_sub_title", "rules_primary", "rules_secondary", "strike_type", "floor_strike",
    "cap_strike",
)
STRUCTURE: Final = "price_level_structure"


def check_changes(market: Market, changes: list[list[str]]) -> None:
    if market.status == FINALIZED:
        raise Rejected(RejectCode.INVALID_TRANSITION, f"market {market.ticker} is finalized; its terms are final")
    if not changes:
        raise Rejected(RejectCode.INVALID_PARAMETERS, "name at least one term to change")
    seen: set[str] = set()
    for change in changes:
        if len(change) != 2 or change[0] not in (*TEXT_FIELDS, STRUCTURE) or change[0] in seen:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"each change is [field, value], once per field, of {', '.join((*TEXT_FIELDS, STRUCTURE))}")
        seen.add(change[0])
        if change[0] == STRUCTURE and change[1] not in PRICE_LEVEL_STRUCTURES:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"price_level_structure must be one of {', '.join(sorted(PRICE_LEVEL_STRUCTURES))}")
        check_text(change[1], change[0])


def apply_changes(market: Market, changes: list[list[str]], trading: Trading, now_ms: int) -> None:
    for field, value in changes:
        if field == STRUCTURE:
            market.price_level_structure = value
            market.price_bands = PRICE_LEVEL_STRUCTURES[value]
            market.price_table = price_table(market.price_bands)
        else:
            setattr(market, field, value)
    market.updated_ms = now_ms
    if any(field == STRUCTURE for field, _ in changes):
        table = market.price_table
        off_grid = [o for o in trading.market_orders(market.ticker, False) if table[o.price_centicents] != 1]
        trading.cancel_where(off_grid, REASON_CANCELED)
