"""Combination markets (Kalshi's multivariate event collections): a market made of legs, each a
binary market and a side. It trades on a book of its own like any market, and settles from its legs:
YES once every leg has settled on its chosen side, NO as soon as one leg settled on the other side,
void (refunded at cost) when a leg was voided and no leg had already decided it. A leg is a plain
market, never another combination, and not yet determined when the combination is made."""

from __future__ import annotations

from typing import Final

from predictex.core.instruments import ACTIVE, CLOSED, INACTIVE, INITIALIZED, RESULT_NO, RESULT_VOID, RESULT_YES, Market
from predictex.core.limits import COMBO_LEGS_MAX
from predictex.core.markets import Markets
from predictex.core.rejects import RejectCode, Rejected

SIDES: Final = ("yes", "no")


class Combos:
    def __init__(self, markets: Markets) -> None:
        self.markets = markets
        self.legs: dict[str, list[tuple[str, str]]] = {}  # combination ticker -> [(leg market ticker, side)]
        self.collection: dict[str, str] = {}  # combination ticker -> its collection's ticker
        self.of_leg: dict[str, list[str]] = {}  # leg market ticker -> combinations it is a leg of

    def check_legs(self, legs: list[list[str]]) -> list[tuple[str, str]]:
        if not 1 <= len(legs) <= COMBO_LEGS_MAX:
            raise Rejected(RejectCode.INVALID_PARAMETERS, f"a combination has 1 to {COMBO_LEGS_MAX} legs")
        checked: list[tuple[str, str]] = []
        for leg in legs:
            if len(leg) != 2 or leg[1] not in SIDES:
                raise Rejected(RejectCode.INVALID_PARAMETERS, "each leg names a market and a side (yes or no)")
            market = self.markets.market(leg[0])
            if market.ticker in self.legs:
                raise Rejected(RejectCode.INVALID_PARAMETERS, f"market {market.ticker} is a combination itself")
            if market.market_type != "binary" or market.status not in (INITIALIZED, ACTIVE, INACTIVE, CLOSED):
                raise Rejected(RejectCode.INVALID_PARAMETERS, f"market {market.ticker} is {market.status}: it cannot be a leg")
            if any(market.ticker == other for other, _ in checked):
                raise Rejected(RejectCode.INVALID_PARAMETERS, f"market {market.ticker} is named twice")
            checked.append((market.ticker, leg[1]))
        return checked

    def add(self, collection_ticker: str, ticker: str, legs: list[tuple[str, str]]) -> None:
        self.legs[ticker] = legs
        self.collection[ticker] = collection_ticker
        for leg, _ in legs:
            self.of_leg.setdefault(leg, []).append(ticker)

    def decided(self, leg_ticker: str) -> list[tuple[Market, str]]:
        """The combinations a settled leg now decides, each with its result."""
        found: list[tuple[Market, str]] = []
        for ticker in self.of_leg.get(leg_ticker, []):
            combination = self.markets.markets[ticker]
            if combination.result:
                continue
            result = self._result(ticker)
            if result:
                found.append((combination, result))
        return found

    def _result(self, ticker: str) -> str:
        markets = self.markets.markets
        pending = False
        void = False
        for leg, side in self.legs[ticker]:
            market = markets[leg]
            if not market.settled_ms:
                pending = True
            elif market.result == RESULT_VOID:
                void = True
            elif market.result != side:
                return RESULT_NO
        if pending:
            return ""
        return RESULT_VOID if void else RESULT_YES
