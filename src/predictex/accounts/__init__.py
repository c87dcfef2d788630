"""Accounts: members, API keys (RSA and Ed25519), the one signature verifier every surface uses,
session tokens and rate limits, kept in the journal's database (`ACCOUNTS_SCHEMA`).

`Accounts` ties them together over one store. Authentication refusals are data (`AuthFailure` with a
stable `reason`); management calls that are refused raise `AccountsError` with a stable `code`.

Deleting a key, logging out and suspending a member are published on `Accounts.revocations` once
durable, so that the gateways end what was opened with them (revocation.py). Every password check
goes through `Accounts.throttle` (throttle.py); signed writes are checked for replay (replay.py).

Parsed keys, members and sessions are cached in the process that owns the `Accounts`: a change made
through another process's `Accounts` over the same database (a deleted key, a new tier) is not seen by
a cache that already holds the old value. Run one `Accounts` per exchange, or tell the others to
`forget` what they cached (a cluster's gateway node does, after each change the leader replicates).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from predictex.accounts._common import (
    SESSION_LIFETIME_MS_DEFAULT,
    TIMESTAMP_WINDOW_MS_DEFAULT,
    AccountsError,
    Clock,
    wall_clock_ms,
)
from predictex.accounts._schema import ACCOUNTS_SCHEMA
from predictex.accounts.eligibility import Eligibility
from predictex.accounts.keys import DEFAULT_SCOPES, SCOPES, ApiKey, ApiKeys, GeneratedKey, KeyType, has_scope
from predictex.accounts.limits import Budget, Lane, RateDecision, RateLimiter, budget
from predictex.accounts.members import DEFAULT_SCRYPT_COST, Member, Members, Role, ScryptCost, Tier
from predictex.accounts.revocation import Revocation, Revocations, RevokedWhat, Watch
from predictex.accounts.sessions import Session, Sessions
from predictex.accounts.signing import (
    KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Authenticated,
    AuthFailure,
    AuthReason,
    SignatureVerifier,
    SignedForm,
    header_value,
)
from predictex.accounts.throttle import LoginThrottle
from predictex.journal.base import JournalStore

__all__ = [
    "ACCOUNTS_SCHEMA", "DEFAULT_SCOPES", "SCOPES", "Accounts", "AccountsError", "ApiKey", "AuthFailure", "AuthReason",
    "Authenticated", "Budget", "GeneratedKey", "KeyType", "Lane", "LoginThrottle", "Member", "RateDecision", "Revocation",
    "Revocations", "RevokedWhat", "Role", "ScryptCost", "Session", "SignedForm", "Tier", "Watch", "budget", "has_scope",
]

_SIGNED_HEADERS = (KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
_SIGNED_HEADERS_LOWER = tuple(name.lower() for name in _SIGNED_HEADERS)


class Accounts:
    """Members, keys, the verifier, sessions and rate limits over one store."""

    def __init__(self, store: JournalStore, *, environment: str = "demo", clock: Clock = wall_clock_ms,
                 timestamp_window_ms: int = TIMESTAMP_WINDOW_MS_DEFAULT, mount_prefixes: Sequence[str] = ("/v1",),
                 session_lifetime_ms: int = SESSION_LIFETIME_MS_DEFAULT,
                 endpoint_costs: Mapping[tuple[str, str], int] | None = None,
                 password_cost: ScryptCost = DEFAULT_SCRYPT_COST) -> None:
        store.execute_schema(ACCOUNTS_SCHEMA)
        self.store = store
        self.revocations = Revocations()
        self.throttle = LoginThrottle(clock)
        self.members = Members(store, clock, password_cost)
        self.keys = ApiKeys(store, self.members, clock, environment, self.revocations)
        self.verifier = SignatureVerifier(self.keys, self.members, clock, window_ms=timestamp_window_ms,
                                          mount_prefixes=mount_prefixes)
        self.sessions = Sessions(store, self.members, self.keys, clock, session_lifetime_ms, throttle=self.throttle,
                                 revocations=self.revocations)
        self.limits = RateLimiter(clock, endpoint_costs)
        self.eligibility = Eligibility(store, clock)

    def authenticate(self, headers: Mapping[str, str], method: str, target: str, body: bytes | None = None, *,
                     required_scope: str | None = None) -> Authenticated | AuthFailure:
        """Any authenticated HTTP request: signed (either form) when it carries a KALSHI-ACCESS-*
        header, otherwise by its Authorization session token."""
        if _SIGNED_HEADERS_LOWER[0] in headers or any(_present(headers, name) for name in _SIGNED_HEADERS):
            return self.verifier.verify_request(headers, method, target, body, required_scope=required_scope)
        authorization = header_value(headers, "Authorization")
        if not authorization:
            return AuthFailure(AuthReason.MISSING_HEADER,
                               "missing headers: sign the request (KALSHI-ACCESS-KEY, KALSHI-ACCESS-TIMESTAMP, "
                               "KALSHI-ACCESS-SIGNATURE) or send Authorization: Bearer <token>")
        return self.sessions.authenticate_bearer(authorization, required_scope=required_scope)

    def log_in(self, headers: Mapping[str, str], method: str, target: str, body: bytes | None = None) -> Session | AuthFailure:
        """`POST /v1/log_in`: a signed request buys a 30-minute session token tied to its key."""
        signed = self.verifier.verify_request(headers, method, target, body)
        if isinstance(signed, AuthFailure):
            return signed
        return self.sessions.log_in(signed)

    def suspend(self, member_id: int, reason: str = "") -> Member:
        """Suspend a member (durable when it returns) and end everything open of theirs."""
        member = self.members.suspend(member_id, reason)
        told = f"member {member_id} was suspended by the operator" + (f": {reason}" if reason else "")
        self.revocations.publish(Revocation(RevokedWhat.MEMBER, str(member_id), member_id, told))
        return member

    def close(self, member_id: int, reason: str = "") -> Member:
        """Close a member for good (durable when it returns) and end everything open of theirs."""
        member = self.members.close(member_id, reason)
        told = f"member {member_id} was closed by the operator" + (f": {reason}" if reason else "")
        self.revocations.publish(Revocation(RevokedWhat.MEMBER, str(member_id), member_id, told))
        return member

    def watch(self, authenticated: Authenticated, on_revoked: Callable[[Revocation], None]) -> Watch:
        """Watch what `authenticated` was proved with (see revocation.py). A revocation committed
        between the authentication and this call (from another thread) is caught here: once watching,
        the credential is checked again, and a dead one is reported at once."""
        member_id = authenticated.member.member_id
        key_id = authenticated.key.key_id if authenticated.key is not None else None
        found = self.revocations.watch(member_id, key_id, authenticated.session_id, on_revoked)
        gone = self._revoked_since(member_id, key_id, authenticated.session_id)
        if gone is not None:
            found.notify(gone)
        return found

    def _revoked_since(self, member_id: int, key_id: str | None, session_id: str | None) -> Revocation | None:
        member = self.members.get(member_id)
        if member is None or member.suspended:
            return Revocation(RevokedWhat.MEMBER, str(member_id), member_id, f"member {member_id} was suspended by the operator")
        if key_id is not None and self.keys.verifying_key(key_id) is None:
            return Revocation(RevokedWhat.KEY, key_id, member_id, f"API key {key_id} was deleted")
        if session_id is not None and not self.sessions.is_live(session_id):
            return Revocation(RevokedWhat.SESSION, session_id, member_id, "the session token was logged out")
        return None

    def forget(self) -> None:
        """Drop every cached member, key and session: the store was changed by another process (a
        cluster's gateway applies the leader's changes to these tables), and the next use reads it again."""
        with self.members._cache_lock:
            self.members._by_id.clear()
        with self.keys._lock:
            self.keys._cache.clear()
        with self.sessions._lock:
            self.sessions._cache.clear()

    def rate_limit(self, member: Member, lane: Lane, cost: int | None = None) -> RateDecision:
        """Charge a request to the member's bucket for `lane` at the member's tier."""
        return self.limits.acquire(member.member_id, member.tier, lane, cost)


def _present(headers: Mapping[str, str], name: str) -> bool:
    return header_value(headers, name) is not None
