"""Wire ids: the engine numbers things with counters; clients see UUIDs. Each UUID carries this
exchange's instance id (random, chosen once per data directory), the kind of thing, and the number,
so it maps back exactly and two exchanges never hand out the same id."""

from __future__ import annotations

import hashlib
import uuid
from typing import Final

ORDER: Final = 1
TRADE: Final = 2
ORDER_GROUP: Final = 3
MARKET: Final = 4
MEMBER: Final = 5
WITHDRAWAL: Final = 6
ACCOUNT: Final = 7
RFQ: Final = 8
QUOTE: Final = 9
BLOCK_TRADE: Final = 10
SUBACCOUNT_TRANSFER: Final = 11

_NUMBER_BITS: Final = 62
_NUMBER_MASK: Final = (1 << _NUMBER_BITS) - 1
_VERSION_AND_VARIANT: Final = (4 << 76) | (2 << 62)


class Ids:
    def __init__(self, instance: int) -> None:
        if not 0 <= instance < 1 << 32:
            raise ValueError("the instance id is 32 bits")
        self.instance = instance

    def to_uuid(self, kind: int, number: int) -> str:
        return str(uuid.UUID(int=(self.instance << 96) | (kind << 80) | _VERSION_AND_VARIANT | number))

    def from_uuid(self, kind: int, text: str) -> int | None:
        """The number behind a UUID of this exchange and kind, or None for anything else (uuid.UUID
        alone would read full-width and other scripts' digits: only ASCII is a UUID here)."""
        if not isinstance(text, str) or not text.isascii():
            return None
        try:
            value = uuid.UUID(text).int
        except (ValueError, AttributeError, TypeError):
            return None
        if value >> 96 != self.instance or (value >> 80) & 0xFFFF != kind:
            return None
        if value & ~(_NUMBER_MASK | (0xF << 76) | (0x3 << 62)) & ((1 << 80) - 1):
            return None
        return value & _NUMBER_MASK


# Kalshi's communications (RFQs and quotes) name members by a pseudonymous id; an RFQ made with
# `obscure_creator_id` shows others the SHA-256 of empty input instead. REST, the WebSocket and FIX's
# RFQ session all name members this way.
OBSCURED_COMMUNICATIONS_ID: Final = hashlib.sha256(b"").hexdigest()


def communications_id(identities: Ids, account_id: int) -> str:
    """A member's public communications id: a hash of the instance and the engine account, naming
    nobody and revealing no account number, user id or email."""
    return hashlib.sha256(f"predictex-communications:{identities.instance}:{account_id}".encode("ascii")).hexdigest()[:32]
