"""The market lifecycle: which status may follow which, and nothing else.

    initialized -> active <-> inactive -> closed -> determined -> finalized
                   closed -> active (close time moved into the future)
                   determined / amended -> disputed -> amended -> finalized
"""

from __future__ import annotations

from typing import Final

from predictex.core.instruments import (
    ACTIVE,
    AMENDED,
    CLOSED,
    DETERMINED,
    DISPUTED,
    FINALIZED,
    INACTIVE,
    INITIALIZED,
    Market,
    MarketStatus,
)
from predictex.core.rejects import RejectCode, Rejected

ALLOWED_TRANSITIONS: Final[frozenset[tuple[MarketStatus, MarketStatus]]] = frozenset({
    (INITIALIZED, ACTIVE),
    (ACTIVE, INACTIVE),
    (INACTIVE, ACTIVE),
    (ACTIVE, CLOSED),
    (INACTIVE, CLOSED),
    (CLOSED, ACTIVE),
    (CLOSED, DETERMINED),
    (DETERMINED, DISPUTED),
    (AMENDED, DISPUTED),
    (DISPUTED, AMENDED),
    (DETERMINED, FINALIZED),
    (AMENDED, FINALIZED),
})

_WHY: Final[dict[MarketStatus, str]] = {
    ACTIVE: "only an initialized, paused or closed (and undetermined) market can become active",
    INACTIVE: "only an active market can be paused",
    CLOSED: "only an active or paused market can close",
    DETERMINED: "a market must be closed, and not yet determined, before its result is set",
    DISPUTED: "only a determined or amended market can be disputed",
    AMENDED: "only a disputed market can have its result amended",
    FINALIZED: "only a determined or amended market can be finalized",
}


def check_transition(market: Market, status: MarketStatus) -> None:
    """Refuse, with a reason, a transition the lifecycle does not allow."""
    if (market.status, status) not in ALLOWED_TRANSITIONS:
        raise Rejected(
            RejectCode.INVALID_TRANSITION,
            f"market {market.ticker} is {market.status}; cannot become {status}: {_WHY[status]}",
        )
