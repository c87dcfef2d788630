"""Everything that happens because time passed: markets opening and closing, orders expiring and
settlement timers running out, fee changes taking effect. Entries are checked when they fall due, so a stale one (a market
whose close time moved, an order already gone) is simply dropped; ties fall due in the order they
were scheduled, which keeps replay deterministic."""

from __future__ import annotations

from heapq import heappop, heappush
from typing import Final

OPEN_MARKET: Final = 0
CLOSE_MARKET: Final = 1
EXPIRE_ORDER: Final = 2
SETTLE_MARKET: Final = 3
EXPIRE_RFQ: Final = 4  # the id slot holds the RFQ's number
EXPIRE_QUOTE: Final = 5  # the quote's number
CONFIRM_DEADLINE: Final = 6  # the accepted quote's number
EXPIRE_BLOCK_TRADE: Final = 7  # the proposal's number
APPLY_FEE_CHANGE: Final = 8  # the entry's order_id slot holds the fee change's id

NEVER_MS: Final = 2**62


class Timers:
    def __init__(self) -> None:
        # (due_ms, scheduling sequence, kind, order_id (or the RFQ's, quote's, proposal's), ticker)
        self.heap: list[tuple[int, int, int, int, str]] = []
        self.next_sequence = 0
        self.next_due_ms = NEVER_MS

    def schedule(self, due_ms: int, kind: int, order_id: int, ticker: str) -> None:
        heappush(self.heap, (due_ms, self.next_sequence, kind, order_id, ticker))
        self.next_sequence += 1
        if due_ms < self.next_due_ms:
            self.next_due_ms = due_ms

    def pop_due(self, now_ms: int) -> tuple[int, int, int, int, str] | None:
        heap = self.heap
        if not heap or heap[0][0] > now_ms:
            return None
        entry = heappop(heap)
        self.next_due_ms = heap[0][0] if heap else NEVER_MS
        return entry
