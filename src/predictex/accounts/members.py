"""Members: who may log in, their role, their rate-limit tier and the engine account they trade with.

Emails are unique regardless of case. Passwords are kept only as scrypt hashes in a self-describing
string (`scrypt$ln=17,r=8,p=1$<salt>$<hash>`, base64 without padding), so the cost can be raised later
without invalidating stored hashes; they are compared in constant time, and an unknown email costs as
much time as a wrong password so that logins do not reveal who is a member.

An operator may suspend a member: every request, key, session and logon of theirs is refused from the
commit on (the verifier and the sessions read `Member.suspended`), and `suspend` returns only after
the suspension is durable; the caller then publishes the revocation that ends what is already open
(see revocation.py). Lifting it (`reinstate`) restores access with the same keys. Closing a member
(`close`) is a suspension for good: it cannot be lifted, and the email stays taken (the member's
history stays theirs); the gateway closes only a member who holds nothing.
"""

from __future__ import annotations

import base64
import builtins
import enum
import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass, replace
from typing import Any

from predictex.accounts._common import (
    EMAIL_LENGTH_MAX,
    MEMBER_CACHE_ENTRIES_MAX,
    MEMBERS_LIST_LIMIT_MAX,
    PASSWORD_LENGTH_MAX,
    PASSWORD_LENGTH_MIN,
    AccountsError,
    Clock,
)
from predictex.core.limits import SUSPENSION_REASON_LENGTH_MAX
from predictex.core.text import has_non_ascii_space
from predictex.journal.base import JournalStore, TableWrite
from predictex.journal.records import JournalError


class Role(enum.StrEnum):
    MEMBER = "member"
    ADMIN = "admin"


class Tier(enum.StrEnum):
    """Kalshi's API usage tiers (reference §8.3), lower-case as `GET /account/limits` spells them."""

    BASIC = "basic"
    ADVANCED = "advanced"
    EXPERT = "expert"
    PREMIER = "premier"
    PARAGON = "paragon"
    PRIME = "prime"
    PRESTIGE = "prestige"


@dataclass(frozen=True, slots=True)
class Member:
    """A member as the rest of the system sees it (the password hash never leaves this module)."""

    member_id: int
    email: str
    role: Role
    tier: Tier
    engine_account_id: int
    created_ms: int
    suspended: bool = False
    simulated: bool = False  # a simulated trader (the market simulator's), to be told apart from people
    closed: bool = False  # closed for good (and so suspended)


# --- passwords ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScryptCost:
    """scrypt parameters: N = 2**log2_n. The default is OWASP's minimum (N=2^17, r=8, p=1: 128 MiB,
    about half a second); tests pass a cheaper one."""

    log2_n: int = 17
    r: int = 8
    p: int = 1


DEFAULT_SCRYPT_COST = ScryptCost()
_SALT_BYTES = 16
_HASH_BYTES = 32
_LOG2_N_MAX = 20  # refuse stored parameters that would take gigabytes (a corrupted or hostile row)
_HASH_FORMAT = re.compile(r"scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, cost: ScryptCost) -> bytes:
    n = 1 << cost.log2_n
    maxmem = 128 * cost.r * (n + cost.p + 2) + (1 << 20)
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=cost.r, p=cost.p, maxmem=maxmem, dklen=_HASH_BYTES)


def hash_password(password: str, cost: ScryptCost = DEFAULT_SCRYPT_COST) -> str:
    """A new self-describing hash of `password` with a random 16-byte salt."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, cost)
    return f"scrypt$ln={cost.log2_n},r={cost.r},p={cost.p}${_b64(salt)}${_b64(digest)}"


_decoys: dict[ScryptCost, str] = {}
_decoys_lock = threading.Lock()


def decoy_hash(cost: ScryptCost = DEFAULT_SCRYPT_COST) -> str:
    """A hash of a random password, made once per process and cost: logging in with an unknown email
    verifies against it, so it costs what a wrong password costs. Made at the first call (one scrypt;
    a cluster's standby calls it while it stands by, so taking over does not wait for it)."""
    with _decoys_lock:
        found = _decoys.get(cost)
        if found is None:
            found = _decoys[cost] = hash_password(secrets.token_urlsafe(16), cost)
        return found


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches a hash made by `hash_password` (constant-time comparison)."""
    match = _HASH_FORMAT.fullmatch(stored)
    if match is None:
        raise ValueError("stored password hash is not in the scrypt$ln=..,r=..,p=..$salt$hash format")
    log2_n, r, p = (int(match.group(i)) for i in (1, 2, 3))
    if not (1 <= log2_n <= _LOG2_N_MAX and 1 <= r <= 32 and 1 <= p <= 16):
        raise ValueError(f"stored scrypt parameters out of range: ln={log2_n}, r={r}, p={p}")
    expected = _unb64(match.group(5))
    return hmac.compare_digest(_scrypt(password, _unb64(match.group(4)), ScryptCost(log2_n, r, p)), expected)


# --- validation -----------------------------------------------------------------------------------

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")  # \s: every Unicode space is refused


_ASCII_SPACE = " \t\r\n"


def _email_key(email: str) -> str:
    return email.strip(_ASCII_SPACE).lower()


def _check_email(email: str) -> str:
    email = email.strip(_ASCII_SPACE)
    if has_non_ascii_space(email):
        raise AccountsError("invalid_email", f"email {email[:EMAIL_LENGTH_MAX]!a} holds a non-ASCII space")
    if len(email) > EMAIL_LENGTH_MAX:
        raise AccountsError("invalid_email", f"email is {len(email)} characters long; at most {EMAIL_LENGTH_MAX} are allowed")
    if _EMAIL.fullmatch(email) is None:
        raise AccountsError("invalid_email", f"email {email!r} is not an address of the form name@domain.tld")
    return email


def _check_password(password: str) -> None:
    if len(password) < PASSWORD_LENGTH_MIN:
        raise AccountsError("password_too_short", f"password must be at least {PASSWORD_LENGTH_MIN} characters long")
    if len(password) > PASSWORD_LENGTH_MAX:
        raise AccountsError("password_too_long", f"password must be at most {PASSWORD_LENGTH_MAX} characters long")


def parse_role(value: str | Role) -> Role:
    try:
        return Role(str(value).lower())
    except ValueError:
        raise AccountsError("invalid_role", f"role {value!r} is not one of {', '.join(Role)}") from None


def parse_tier(value: str | Tier) -> Tier:
    try:
        return Tier(str(value).lower())
    except ValueError:
        raise AccountsError("invalid_tier", f"tier {value!r} is not one of {', '.join(Tier)}") from None


# --- the member directory -------------------------------------------------------------------------

_COLUMNS = ("member_id", "email", "email_key", "password_hash", "role", "tier", "engine_account_id", "created_ms")
_SUSPENSION_COLUMNS = ("member_id", "suspended", "changed_ms", "reason")
_SIMULATED_COLUMNS = ("member_id", "simulated", "changed_ms")
_CLOSURE_COLUMNS = ("member_id", "closed_ms", "reason")
_SELECT = ("SELECT m.member_id, m.email, m.role, m.tier, m.engine_account_id, m.created_ms, s.suspended, x.simulated, c.closed_ms "
           "FROM accounts_members m LEFT JOIN accounts_suspensions s ON s.member_id = m.member_id "
           "LEFT JOIN accounts_simulated x ON x.member_id = m.member_id "
           "LEFT JOIN accounts_closures c ON c.member_id = m.member_id")


def _member(row: tuple[Any, ...]) -> Member:
    return Member(int(row[0]), str(row[1]), Role(row[2]), Tier(row[3]), int(row[4]), int(row[5]), bool(row[6]), bool(row[7]),
                  row[8] is not None)


class Members:
    """Members kept in the store, with an in-memory cache by id (every authenticated request reads
    its member)."""

    def __init__(self, store: JournalStore, clock: Clock, cost: ScryptCost = DEFAULT_SCRYPT_COST) -> None:
        self._store = store
        self._clock = clock
        self._cost = cost
        self._lock = threading.Lock()  # serialises creates and updates
        self._cache_lock = threading.Lock()
        self._by_id: dict[int, Member] = {}
        # so that logging in with an unknown email costs what a wrong password costs
        self._decoy_hash = decoy_hash(cost)

    def check_new(self, email: str, password: str) -> str:
        """The email as it would be stored, if `email` and `password` are acceptable for a new member
        (AccountsError otherwise). Says nothing about whether the email is taken."""
        email = _check_email(email)
        _check_password(password)
        return email

    def spend_a_hash(self, password: str) -> None:
        """Take the time `create` takes to hash a password, and do nothing with it: a sign-up for an
        email already taken must cost what a real one costs. Call it off the event loop."""
        hash_password(password[:PASSWORD_LENGTH_MAX], self._cost)

    def create(self, email: str, password: str, engine_account_id: int, *, role: str | Role = Role.MEMBER,
               tier: str | Tier = Tier.BASIC, simulated: bool = False) -> Member:
        """A new member. Refuses (AccountsError) a malformed email, a password shorter than 8
        characters, an email already taken (in any case), an unknown role or tier. A simulated
        trader's mark is written with the member, in the same transaction."""
        email = _check_email(email)
        _check_password(password)
        role, tier = parse_role(role), parse_tier(tier)
        password_hash = hash_password(password, self._cost)
        with self._lock:
            if self.get_by_email(email) is not None:
                raise AccountsError("duplicate_email", f"a member with email {email!r} already exists")
            member = Member(self._next_id(), email, role, tier, engine_account_id, self._clock(), simulated=simulated)
            writes = [self._row(member, password_hash)]
            if simulated:
                writes.append(TableWrite("accounts_simulated", _SIMULATED_COLUMNS, [(member.member_id, True, member.created_ms)]))
            try:
                self._store.write(writes)
            except JournalError:
                if self.get_by_email(email) is not None:  # another process took it between check and write
                    raise AccountsError("duplicate_email", f"a member with email {email!r} already exists") from None
                raise
            self._remember(member)
        return member

    def get(self, member_id: int) -> Member | None:
        member = self._by_id.get(member_id)
        if member is not None:
            return member
        rows = self._store.query(f"{_SELECT} WHERE m.member_id = ?", (member_id,))
        if not rows:
            return None
        member = _member(rows[0])
        self._remember(member)
        return member

    def get_by_account(self, engine_account_id: int) -> Member | None:
        """The member who trades with an engine account (None for an account no member holds)."""
        rows = self._store.query(f"{_SELECT} WHERE m.engine_account_id = ?", (engine_account_id,))
        return _member(rows[0]) if rows else None

    def get_by_email(self, email: str) -> Member | None:
        rows = self._store.query(f"{_SELECT} WHERE m.email_key = ?", (_email_key(email),))
        return _member(rows[0]) if rows else None

    def authenticate(self, email: str, password: str) -> Member | None:
        """The member with this email and password, or None (same answer and about the same time for
        an unknown email and a wrong password). Takes as long as one scrypt: call it off the event loop."""
        rows = self._store.query("SELECT member_id, password_hash FROM accounts_members WHERE email_key = ?",
                                 (_email_key(email),))
        if not rows or len(password) > PASSWORD_LENGTH_MAX:
            verify_password(password[:PASSWORD_LENGTH_MAX], self._decoy_hash)
            return None
        if not verify_password(password, str(rows[0][1])):
            return None
        return self.get(int(rows[0][0]))

    def set_password(self, member_id: int, password: str) -> Member:
        """A new password (the operator's credentials reset; `predictex admin credentials reset`). Takes
        as long as one scrypt. Sessions opened with the old password are not ended here: see
        `Sessions.revoke_member`."""
        _check_password(password)
        password_hash = hash_password(password, self._cost)
        with self._lock:
            current = self.get(member_id)
            if current is None:
                raise AccountsError("member_not_found", f"no member with id {member_id}")
            self._store.write([self._row(current, password_hash, upsert=True)])
        return current

    def set_tier(self, member_id: int, tier: str | Tier) -> Member:
        return self._update(member_id, tier=parse_tier(tier))

    def set_role(self, member_id: int, role: str | Role) -> Member:
        return self._update(member_id, role=parse_role(role))

    def suspend(self, member_id: int, reason: str = "") -> Member:
        """Refuse the member everything from now on (durable when this returns)."""
        return self._set_suspended(member_id, True, reason)

    def reinstate(self, member_id: int) -> Member:
        return self._set_suspended(member_id, False, "")

    def close(self, member_id: int, reason: str = "") -> Member:
        """Close the member for good: suspended, never to be reinstated (durable when this returns)."""
        with self._lock:
            current = self._open_member(member_id, reason, "is closed already")
            now = self._clock()
            suspension = (member_id, True, now, f"closed: {reason}"[:SUSPENSION_REASON_LENGTH_MAX])
            self._store.write([
                TableWrite("accounts_suspensions", _SUSPENSION_COLUMNS, [suspension], key=("member_id",)),
                TableWrite("accounts_closures", _CLOSURE_COLUMNS, [(member_id, now, reason)]),
            ])
            member = replace(current, suspended=True, closed=True)
            self._remember(member)
        return member

    def _open_member(self, member_id: int, reason: str, when_closed: str) -> Member:
        """The member a suspension, reinstatement or closure with `reason` is for; refused when the
        reason is too long, there is no such member, or it is closed (`when_closed` says why)."""
        if len(reason) > SUSPENSION_REASON_LENGTH_MAX:
            raise AccountsError("invalid_reason", f"reason is longer than {SUSPENSION_REASON_LENGTH_MAX} characters")
        current = self.get(member_id)
        if current is None:
            raise AccountsError("member_not_found", f"no member with id {member_id}")
        if current.closed:
            raise AccountsError("member_closed", f"member {member_id} {when_closed}")
        return current

    def _set_suspended(self, member_id: int, suspended: bool, reason: str) -> Member:
        with self._lock:
            current = self._open_member(member_id, reason, "is closed: it stays suspended for good")
            row = (member_id, suspended, self._clock(), reason)
            self._store.write([TableWrite("accounts_suspensions", _SUSPENSION_COLUMNS, [row], key=("member_id",))])
            member = replace(current, suspended=suspended)
            self._remember(member)
        return member

    def list(self, *, after_id: int = 0, limit: int = 100) -> builtins.list[Member]:
        """Members in id order, `limit` (at most 1000) at a time, starting after `after_id`."""
        limit = max(1, min(limit, MEMBERS_LIST_LIMIT_MAX))
        rows = self._store.query(f"{_SELECT} WHERE m.member_id > ? ORDER BY m.member_id LIMIT ?", (after_id, limit))
        return [_member(row) for row in rows]

    # --- helpers ----------------------------------------------------------------------------------

    def _update(self, member_id: int, **changes: Any) -> Member:
        with self._lock:
            rows = self._store.query("SELECT password_hash FROM accounts_members WHERE member_id = ?", (member_id,))
            current = self.get(member_id)
            if current is None or not rows:
                raise AccountsError("member_not_found", f"no member with id {member_id}")
            member = replace(current, **changes)
            self._store.write([self._row(member, str(rows[0][0]), upsert=True)])
            self._remember(member)
        return member

    def _next_id(self) -> int:
        rows = self._store.query("SELECT MAX(member_id) FROM accounts_members")
        return 1 if rows[0][0] is None else int(rows[0][0]) + 1

    @staticmethod
    def _row(member: Member, password_hash: str, upsert: bool = False) -> TableWrite:
        row = (member.member_id, member.email, _email_key(member.email), password_hash, member.role.value,
               member.tier.value, member.engine_account_id, member.created_ms)
        return TableWrite("accounts_members", _COLUMNS, [row], key=("member_id",) if upsert else ())

    def _remember(self, member: Member) -> None:
        with self._cache_lock:
            if len(self._by_id) >= MEMBER_CACHE_ENTRIES_MAX and member.member_id not in self._by_id:
                self._by_id.pop(next(iter(self._by_id)))
            self._by_id[member.member_id] = member
