"""Refusing replays: a signed write (or a FIX Logon) accepted once is refused if it comes again, byte
for byte, while its timestamp is still inside the window.

A signature only proves who made a request and roughly when; without this, anyone who sees one (a
proxy's log, a leaked capture) could send it again for 30 seconds and have it executed again. What is
remembered is a hash of what names the request: for the seed's form and a FIX Logon, whose signatures
cover everything, the key and the signature; for Kalshi's v2 form also the method, the target (path
and query) and the body, which its signature does not cover. Two things follow for v2:

- Kalshi's v2 form signs `timestamp + METHOD + path` only. Two different writes sent in the same
  millisecond to the same path carry the same signature whenever the key signs deterministically
  (Ed25519 always does), and Kalshi accepts both: so do we, because their bodies differ. The price of
  Kalshi's design is that a captured v2 signature can be sent again with a *different* body inside the
  window; only TLS prevents that (docs/security.md says so).
- The same write sent twice in one millisecond with an Ed25519 key is indistinguishable from a replay
  and the second is refused (`replayed_request`): give each order its own client_order_id, as Kalshi
  asks anyway, and it is a different write.

Entries are grouped by the second their timestamp leaves the window, so a lookup touches one group and
expired groups are dropped whole. What is kept of a request is its 64-bit `hash()` (SipHash, with a
key chosen at random per process unless PYTHONHASHSEED fixes it): a tenth of a microsecond where a
keyed BLAKE2b took ten. Two different requests share a hash by accident
about once in 10^13 lookups against a full cache (the second would be refused as a replay); a
deliberate collision would need a request its victim has not sent yet, so it buys nothing. Reads are
not remembered: repeating one changes nothing.
"""

from __future__ import annotations

import threading

from predictex.accounts._common import Clock
from predictex.core.limits import REPLAY_CACHE_ENTRIES_MAX


class ReplayGuard:
    """Remembers accepted signed writes until their timestamps leave the window."""

    def __init__(self, clock: Clock, window_ms: int, entries_max: int = REPLAY_CACHE_ENTRIES_MAX) -> None:
        self._clock = clock
        self.window_ms = window_ms
        self.entries_max = entries_max
        self._lock = threading.Lock()
        self._by_second: dict[int, set[int]] = {}  # the second an entry expires -> its requests' hashes
        self._entries = 0
        self._earliest_s = 0  # no group expires before this second

    def __len__(self) -> int:
        return self._entries

    def first_use(self, timestamp_ms: int, *parts: bytes | str) -> bool | None:
        """Record a use of the signed request made of `parts` (key, signature, method, target, body)
        with this timestamp: True the first time, False for a replay, None when the cache is full of
        live entries (the caller refuses the request: busy, not a replay)."""
        digest = hash(parts)  # the parts are (str, bytes): their hash is SipHash over their content
        expires_s = (timestamp_ms + self.window_ms) // 1000 + 1  # the first second wholly past the window
        with self._lock:
            self._expire(self._clock() // 1000)
            group = self._by_second.get(expires_s)
            if group is not None and digest in group:
                return False
            if self._entries >= self.entries_max:
                return None
            if group is None:
                group = self._by_second[expires_s] = set()
                self._earliest_s = min(self._earliest_s, expires_s) if len(self._by_second) > 1 else expires_s
            group.add(digest)
            self._entries += 1
            return True

    def _expire(self, now_s: int) -> None:
        # a group's second is past its entries' timestamp + window, so from that second on they are stale
        if now_s < self._earliest_s or not self._by_second:
            return
        for second in [second for second in self._by_second if second <= now_s]:
            self._entries -= len(self._by_second.pop(second))
        self._earliest_s = min(self._by_second, default=0)
