"""Throttling password guessing: failed logins counted per account and per client address.

Every surface that checks a password asks the same `LoginThrottle` first (`wait_ms`), and tells it
how the check went (`failed`, `succeeded`):

    wait = throttle.wait_ms(email, address)
    if wait:                       # refuse without looking at the password: 429, Retry-After
        ...
    ok = check_the_password()
    throttle.succeeded(email, address) if ok else throttle.failed(email, address)

Rules: an email (member or not, so the throttle itself tells nobody who is a member) may fail
`LOGIN_FAILURES_PER_ACCOUNT_FREE` times freely, an address `LOGIN_FAILURES_PER_ADDRESS_FREE` times;
past that, each attempt must wait twice as long after the last failure as the one before (1 s, 2 s,
4 s ... up to 15 minutes). An attempt refused for waiting is not counted and costs no password hash.
A success clears its email's count, never its address's (else an attacker holding one account could
clear the address between guesses). Counts are forgotten 15 minutes after their last failure.

A lock never needs anyone to lift it: it ends by itself at the time it names, and requests signed
with an API key are not affected. An operator can clear an email's count at once (`clear`). The
tables are bounded: past `LOGIN_THROTTLE_ENTRIES_MAX` the quietest entries are forgotten first.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from predictex.accounts._common import Clock
from predictex.core.limits import (
    LOGIN_FAILURES_FORGOTTEN_AFTER_MS,
    LOGIN_FAILURES_PER_ACCOUNT_FREE,
    LOGIN_FAILURES_PER_ADDRESS_FREE,
    LOGIN_THROTTLE_ENTRIES_MAX,
    LOGIN_WAIT_MS_MAX,
    LOGIN_WAIT_MS_MIN,
)


@dataclass(slots=True)
class _Failures:
    count: int
    last_ms: int


def normalized_email(email: str) -> str:
    """The key an email is counted under: as members are matched (case-insensitive, trimmed)."""
    return email.strip(" \t\r\n").lower()


def wait_after(failures: int, free: int) -> int:
    """Milliseconds to wait after the last of `failures` failures, when `free` are allowed freely."""
    if failures < free:
        return 0
    doublings = min(failures - free, 30)
    return min(LOGIN_WAIT_MS_MIN << doublings, LOGIN_WAIT_MS_MAX)


class LoginThrottle:
    """Failed password logins per email and per address (see the module docstring)."""

    def __init__(self, clock: Clock, *, account_free: int = LOGIN_FAILURES_PER_ACCOUNT_FREE,
                 address_free: int = LOGIN_FAILURES_PER_ADDRESS_FREE, entries_max: int = LOGIN_THROTTLE_ENTRIES_MAX) -> None:
        self._clock = clock
        self.account_free = account_free
        self.address_free = address_free
        self.entries_max = entries_max
        self._lock = threading.Lock()
        self._accounts: dict[str, _Failures] = {}  # least recently failed first
        self._addresses: dict[str, _Failures] = {}

    def wait_ms(self, email: str, address: str | None) -> int:
        """How long this email, from this address, must wait before its password is checked (0: now)."""
        now_ms = self._clock()
        with self._lock:
            wait = self._wait(self._accounts, normalized_email(email), self.account_free, now_ms)
            if address:
                wait = max(wait, self._wait(self._addresses, address, self.address_free, now_ms))
        return wait

    def failed(self, email: str, address: str | None) -> None:
        now_ms = self._clock()
        with self._lock:
            self._count(self._accounts, normalized_email(email), now_ms)
            if address:
                self._count(self._addresses, address, now_ms)

    def succeeded(self, email: str, address: str | None) -> None:
        with self._lock:
            self._accounts.pop(normalized_email(email), None)

    def clear(self, email: str) -> None:
        """Forget an email's failures (the operator's way to end a lock at once)."""
        with self._lock:
            self._accounts.pop(normalized_email(email), None)

    # --- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _wait(table: dict[str, _Failures], key: str, free: int, now_ms: int) -> int:
        found = table.get(key)
        if found is None:
            return 0
        if now_ms - found.last_ms >= LOGIN_FAILURES_FORGOTTEN_AFTER_MS:
            del table[key]
            return 0
        return max(0, found.last_ms + wait_after(found.count, free) - now_ms)

    def _count(self, table: dict[str, _Failures], key: str, now_ms: int) -> None:
        found = table.pop(key, None)  # re-inserted: the table stays ordered by last failure
        if found is None or now_ms - found.last_ms >= LOGIN_FAILURES_FORGOTTEN_AFTER_MS:
            found = _Failures(0, now_ms)
            if len(table) >= self.entries_max:
                self._forget_quietest(table, now_ms)
        found.count += 1
        found.last_ms = now_ms
        table[key] = found

    @staticmethod
    def _forget_quietest(table: dict[str, _Failures], now_ms: int) -> None:
        """Make room: the table is ordered by last failure, so the entries due to be forgotten are at
        its front; drop them, or else the one whose last failure is oldest."""
        oldest = next(iter(table))
        del table[oldest]
        while table:
            oldest = next(iter(table))
            if now_ms - table[oldest].last_ms < LOGIN_FAILURES_FORGOTTEN_AFTER_MS:
                break
            del table[oldest]
