"""What the accounts modules share: the refusal type for management calls, the injected clock, and
the bounds the accounts package enforces (a limit on everything). The limits added for replays,
password guessing and suspension are in `core/limits.py`, the exchange's limits module, where the
rest are to follow."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

Clock = Callable[[], int]
"""A clock is a callable returning milliseconds since the Unix epoch (tests pass a fake one)."""


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class AccountsError(ValueError):
    """A management call refused (bad email, duplicate, unknown key...): `code` is stable, `message`
    says what to fix. A refusal changes nothing."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- members --------------------------------------------------------------------------------------
EMAIL_LENGTH_MAX: Final = 254  # RFC 5321 path limit
PASSWORD_LENGTH_MIN: Final = 8
PASSWORD_LENGTH_MAX: Final = 1024  # scrypt reads the whole password; refuse megabyte "passwords"
MEMBERS_LIST_LIMIT_MAX: Final = 1000  # rows in one page of list()

# --- API keys ---------------------------------------------------------------------------------------
KEYS_PER_MEMBER_MAX: Final = 100  # live (undeleted) keys per member
KEY_NAME_LENGTH_MAX: Final = 200
PUBLIC_KEY_PEM_LENGTH_MAX: Final = 16 * 1024
RSA_KEY_BITS_MIN: Final = 2048
RSA_KEY_BITS_MAX: Final = 8192  # bigger keys make every verification slower for no gain
KEY_CACHE_ENTRIES_MAX: Final = 100_000  # parsed public keys kept in memory
MEMBER_CACHE_ENTRIES_MAX: Final = 100_000

# --- signatures -------------------------------------------------------------------------------------
TIMESTAMP_WINDOW_MS_DEFAULT: Final = 30_000  # the FIX logon window, applied to REST and WebSocket too
SIGNATURE_HEADER_LENGTH_MAX: Final = 2048  # base64 of a 8192-bit RSA signature is 1368 characters
EXPECTED_IN_MESSAGE_CHARS_MAX: Final = 2048  # how much of the expected string an error message shows

# --- sessions ---------------------------------------------------------------------------------------
SESSION_LIFETIME_MS_DEFAULT: Final = 30 * 60 * 1000  # the seed: tokens expire every 30 minutes
# a web page's activity slides its session's expiry at most once a minute: one write a minute per active session
SESSION_SLIDE_STEP_MS_MIN: Final = 60 * 1000
SESSIONS_PER_MEMBER_MAX: Final = 1000  # live sessions per member
SESSION_CACHE_ENTRIES_MAX: Final = 100_000
TOKEN_LENGTH_MAX: Final = 512

# --- rate limits ------------------------------------------------------------------------------------
RATE_BUCKETS_MAX: Final = 1_000_000  # (member, lane) buckets held before full ones are dropped
DEFAULT_REQUEST_COST: Final = 10  # Kalshi: default_cost 10
