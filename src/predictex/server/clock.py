"""Time for the sequencer: the wall clock in production, a fake one in tests and simulations.

The engine never reads a clock; the sequencer stamps each command with `now_ms()` and asks the clock
how long to wait for the engine's next deadline."""

from __future__ import annotations

import time
from collections.abc import Callable


class Clock:
    def now_ms(self) -> int:
        raise NotImplementedError

    def seconds_until(self, deadline_ms: int) -> float | None:
        """How long to sleep before `deadline_ms`; None means "until woken" (a fake clock only moves
        when told to)."""
        raise NotImplementedError

    def on_advance(self, callback: Callable[[], None]) -> None:
        """Call `callback` whenever time jumps (fake clocks); real clocks never jump."""


class WallClock(Clock):
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def seconds_until(self, deadline_ms: int) -> float | None:
        return max(0.0, (deadline_ms - self.now_ms()) / 1000)


class FakeClock(Clock):
    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._now_ms = start_ms
        self._listeners: list[Callable[[], None]] = []

    def now_ms(self) -> int:
        return self._now_ms

    def seconds_until(self, deadline_ms: int) -> float | None:
        return 0.0 if deadline_ms <= self._now_ms else None

    def on_advance(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def advance(self, ms: int) -> None:
        self._now_ms += ms
        for listener in self._listeners:
            listener()

    def set(self, now_ms: int) -> None:
        self._now_ms = max(self._now_ms, now_ms)
        for listener in self._listeners:
            listener()
