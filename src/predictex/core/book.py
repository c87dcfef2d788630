"""One order book per market, quoted in YES prices, with price-time priority.

Each side keeps its price levels in a dict and the occupied prices in an ascending list; each level
is a FIFO of orders linked through the orders themselves, so cancelling from the middle is O(1).
Bids are best at the highest price, asks at the lowest.
"""

from __future__ import annotations

from bisect import bisect_left, insort

from predictex.core.orders import Order


class Level:
    def __init__(self, price_centicents: int) -> None:
        self.price_centicents = price_centicents
        self.head: Order | None = None
        self.tail: Order | None = None
        self.total_centicontracts = 0
        self.order_count = 0

    def orders(self) -> list[Order]:
        result: list[Order] = []
        node = self.head
        while node is not None:
            result.append(node)
            node = node.next
        return result


class BookSide:
    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.levels: dict[int, Level] = {}
        self.prices: list[int] = []  # ascending

    def best_price(self) -> int:
        """The best price on this side, or 0 when it is empty."""
        prices = self.prices
        if not prices:
            return 0
        return prices[-1] if self.is_bid else prices[0]

    def best_level(self) -> Level | None:
        prices = self.prices
        if not prices:
            return None
        return self.levels[prices[-1] if self.is_bid else prices[0]]

    def append(self, order: Order) -> Level:
        """Queue `order` at the back of its price level."""
        price = order.price_centicents
        level = self.levels.get(price)
        if level is None:
            level = Level(price)
            self.levels[price] = level
            insort(self.prices, price)
        tail = level.tail
        order.prev = tail
        order.next = None
        if tail is None:
            level.head = order
        else:
            tail.next = order
        level.tail = order
        level.total_centicontracts += order.remaining_centicontracts
        level.order_count += 1
        order.level = level
        return level

    def unlink(self, order: Order) -> Level:
        """Take `order` out of its level (its remaining count leaves the level's total)."""
        level = order.level
        assert level is not None, "unlinking an order that is not in the book"
        prev = order.prev
        nxt = order.next
        if prev is None:
            level.head = nxt
        else:
            prev.next = nxt
        if nxt is None:
            level.tail = prev
        else:
            nxt.prev = prev
        order.prev = None
        order.next = None
        order.level = None
        level.total_centicontracts -= order.remaining_centicontracts
        level.order_count -= 1
        if level.order_count == 0:
            del self.levels[level.price_centicents]
            prices = self.prices
            del prices[bisect_left(prices, level.price_centicents)]
        return level

    def depth(self) -> list[tuple[int, int]]:
        """(price, total) for every level, ascending by price."""
        levels = self.levels
        return [(price, levels[price].total_centicontracts) for price in self.prices]

    def volume_crossing(self, limit_price_centicents: int) -> int:
        """Contracts resting at prices an incoming order with this limit would trade against."""
        total = 0
        levels = self.levels
        if self.is_bid:  # an incoming ask sells into bids at or above its limit
            for price in reversed(self.prices):
                if price < limit_price_centicents:
                    break
                total += levels[price].total_centicontracts
        else:
            for price in self.prices:
                if price > limit_price_centicents:
                    break
                total += levels[price].total_centicontracts
        return total


class Book:
    def __init__(self, ticker: str) -> None:
        self.ticker = ticker
        self.bids = BookSide(True)
        self.asks = BookSide(False)

    def side(self, is_bid: bool) -> BookSide:
        return self.bids if is_bid else self.asks

    def is_crossed(self) -> bool:
        best_bid = self.bids.best_price()
        best_ask = self.asks.best_price()
        return best_bid != 0 and best_ask != 0 and best_bid >= best_ask
