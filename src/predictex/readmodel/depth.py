"""A market's depth as seen from events: size per price on each side, with the best bid and ask kept
up to date as levels change (a full scan only when the best level empties)."""

from __future__ import annotations


class DepthBook:
    __slots__ = ("asks", "best_ask", "best_bid", "bids", "seq")

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.best_bid = 0  # 0 = no bid
        self.best_ask = 0  # 0 = no ask
        self.seq = 0  # the sequence number of the last change

    def set_level(self, is_bid: bool, price_centicents: int, size_centicontracts: int) -> None:
        if is_bid:
            if size_centicontracts:
                self.bids[price_centicents] = size_centicontracts
                if price_centicents > self.best_bid:
                    self.best_bid = price_centicents
            else:
                self.bids.pop(price_centicents, None)
                if price_centicents == self.best_bid:
                    self.best_bid = max(self.bids) if self.bids else 0
        elif size_centicontracts:
            self.asks[price_centicents] = size_centicontracts
            if self.best_ask == 0 or price_centicents < self.best_ask:
                self.best_ask = price_centicents
        else:
            self.asks.pop(price_centicents, None)
            if price_centicents == self.best_ask:
                self.best_ask = min(self.asks) if self.asks else 0

    def levels(self, is_bid: bool) -> list[tuple[int, int]]:
        """(price, size) ascending by price."""
        return sorted((self.bids if is_bid else self.asks).items())

    def best_size(self, is_bid: bool) -> int:
        if is_bid:
            return self.bids.get(self.best_bid, 0)
        return self.asks.get(self.best_ask, 0)
