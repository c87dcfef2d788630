"""Session tokens: the seed's `POST /v1/log_in` (a signed request) and the legacy
`POST /trade-api/v2/login` (email and password) hand out a bearer token that lives 30 minutes, can be
refreshed before it expires, and can be logged out. The web pages' sessions slide: every page or
`/web/api` request moves the expiry to 30 minutes from then (`slide`, written at most once a minute),
so a session ends 30 minutes after its last activity, not 30 minutes after the login.

Tokens are random (secrets.token_urlsafe) and stored only as their SHA-256, so they survive a restart
and a copy of the database does not hold usable tokens. A token made with an API key dies with that
key (checked on every use, so it holds after a restart too); a password login is tied to no key.
Accepted headers: `Authorization: Bearer <token>`, the historic `Authorization: <member_id> <token>`,
and `Bearer <member_id>:<token>` (a form one fake exchange used). The header is read strictly: the
scheme and token are separated by SP or HTAB, a member id is ASCII digits (core/text.py).

Logging out is published as a revocation once it is durable, ending every socket and stream the
token opened (revocation.py). Password logins pass through the login throttle (throttle.py), and a
suspended member gets no session and can use none.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass, replace
from typing import Any

from predictex.accounts._common import (
    SESSION_CACHE_ENTRIES_MAX,
    SESSION_LIFETIME_MS_DEFAULT,
    SESSION_SLIDE_STEP_MS_MIN,
    SESSIONS_PER_MEMBER_MAX,
    TOKEN_LENGTH_MAX,
    AccountsError,
    Clock,
)
from predictex.accounts.keys import DEFAULT_SCOPES, ApiKeys
from predictex.accounts.members import Members
from predictex.accounts.revocation import Revocation, Revocations, RevokedWhat
from predictex.accounts.signing import (
    Authenticated,
    AuthFailure,
    AuthReason,
    SignedForm,
    scope_failure,
    suspended_failure,
)
from predictex.accounts.throttle import LoginThrottle
from predictex.core.text import ascii_int, shown, strip_http_whitespace
from predictex.journal.base import JournalStore, TableWrite

PASSWORD_SESSION_SCOPES: tuple[str, ...] = DEFAULT_SCOPES  # a password login is the member: read and write


@dataclass(frozen=True, slots=True)
class Session:
    """A live session as handed to the client: `token` is shown here and nowhere else."""

    token: str
    member_id: int
    key_id: str | None
    scopes: tuple[str, ...]
    expires_ms: int


@dataclass(frozen=True, slots=True)
class _Stored:
    member_id: int
    key_id: str | None
    scopes: tuple[str, ...]
    created_ms: int
    expires_ms: int
    revoked: bool


_COLUMNS = ("token_hash", "member_id", "key_id", "scopes", "created_ms", "expires_ms", "revoked")
_FORMS = "'Bearer <token>' or '<member_id> <token>'"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def session_id(token: str) -> str:
    """What names a session outside this module (in a revocation): its token's hash, never the token."""
    return _hash(token)


def throttled_failure(wait_ms: int) -> AuthFailure:
    seconds = -(-wait_ms // 1000)
    return AuthFailure(AuthReason.TOO_MANY_LOGIN_ATTEMPTS,
                       f"try again in {seconds} s (Retry-After): this email or address failed to log in again and again. "
                       "The wait doubles with each further failure, up to 15 minutes, and ends by itself; "
                       "requests signed with an API key are not affected, and the operator can clear it at once",
                       retry_after_ms=wait_ms)


_MEMBER_ID_DIGITS_MAX = 18


def parse_authorization(header_value: str | None) -> tuple[int | None, str] | AuthFailure:
    """(claimed member id or None, token) from an Authorization header value."""
    value = strip_http_whitespace(header_value or "")
    if not value:
        return AuthFailure(AuthReason.MISSING_HEADER, "absent from the request: Authorization")
    scheme, token = _split_credentials(value)
    if not token or len(token) > TOKEN_LENGTH_MAX:
        return AuthFailure(AuthReason.INVALID_TOKEN, f"Authorization must be {_FORMS}")
    claimed = ascii_int(scheme, _MEMBER_ID_DIGITS_MAX)
    if claimed is None and scheme.lower() != "bearer":
        return AuthFailure(AuthReason.INVALID_TOKEN, f"Authorization scheme {shown(scheme, 32)} is not supported; use {_FORMS}")
    member_text, colon, rest = token.partition(":")
    if colon and claimed is None and member_text[:1].isdigit():  # any script's digit: a member id is meant
        claimed = ascii_int(member_text, _MEMBER_ID_DIGITS_MAX)
        if claimed is None:
            return AuthFailure(AuthReason.INVALID_TOKEN, f"the member id {shown(member_text, 32)} in Authorization "
                                                         "must be ASCII digits")
        token = rest
    if not token.isascii() or not token.isprintable() or " " in token or "\t" in token:
        return AuthFailure(AuthReason.INVALID_TOKEN, f"what follows the scheme in Authorization must be printable ASCII without spaces, "
                                                     f"not {shown(token, 32)}")
    return claimed, token


def _split_credentials(value: str) -> tuple[str, str]:
    """(scheme, credentials) split at the first run of SP/HTAB (RFC 9110 §11.4)."""
    space, tab = value.find(" "), value.find("\t")
    index = tab if space < 0 or 0 <= tab < space else space
    if index < 0:
        return value, ""
    return value[:index], strip_http_whitespace(value[index:])


class Sessions:
    """Session tokens in the store, with a cache of the ones in use."""

    def __init__(self, store: JournalStore, members: Members, keys: ApiKeys, clock: Clock,
                 lifetime_ms: int = SESSION_LIFETIME_MS_DEFAULT, *, throttle: LoginThrottle | None = None,
                 revocations: Revocations | None = None) -> None:
        self._store = store
        self._members = members
        self._keys = keys
        self._clock = clock
        self.lifetime_ms = lifetime_ms
        self.slide_step_ms = SESSION_SLIDE_STEP_MS_MIN
        self.throttle = throttle if throttle is not None else LoginThrottle(clock)
        self.revocations = revocations if revocations is not None else keys.revocations
        self._lock = threading.Lock()
        self._cache: dict[str, _Stored] = {}

    def log_in(self, signed: Authenticated) -> Session:
        """A session for a request already authenticated by its signature (`POST /v1/log_in`); it
        carries the key's scopes and dies with the key."""
        if signed.key is None:
            raise ValueError("log_in needs a request authenticated by an API-key signature")
        return self._open(signed.member.member_id, signed.key.key_id, signed.scopes)

    def log_in_password(self, email: str, password: str, address: str | None = None) -> Session | AuthFailure:
        """A session for an email and password (`POST /login`, `POST /v1/log_in` with a body), from the
        client at `address` (its IP, for the throttle). Refused without looking at the password while
        the email or the address must wait (too_many_login_attempts, with `retry_after_ms`). Takes as
        long as one scrypt: call it off the event loop."""
        wait_ms = self.throttle.wait_ms(email, address)
        if wait_ms:
            return throttled_failure(wait_ms)
        member = self._members.authenticate(email, password)
        if member is None:
            self.throttle.failed(email, address)
            return AuthFailure(AuthReason.BAD_CREDENTIALS, "email or password is wrong")
        self.throttle.succeeded(email, address)
        if member.suspended:
            return suspended_failure(member)
        return self._open(member.member_id, None, PASSWORD_SESSION_SCOPES)

    def authenticate_bearer(self, header_value: str | None, *, required_scope: str | None = None) -> Authenticated | AuthFailure:
        """The member and scopes behind an Authorization header, or why not."""
        found = self._live(header_value)
        if isinstance(found, AuthFailure):
            return found
        token, stored = found
        member = self._members.get(stored.member_id)
        if member is None:
            return AuthFailure(AuthReason.INVALID_TOKEN, f"session belongs to no member ({stored.member_id})")
        if member.suspended:
            return suspended_failure(member)
        refused = scope_failure(stored.scopes, required_scope, "this session")
        if refused is not None:
            return refused
        key = None if stored.key_id is None else self._keys.get(stored.key_id)
        return Authenticated(member, stored.scopes, key, SignedForm.SESSION, session_id(token))

    def refresh(self, header_value: str | None) -> Session | AuthFailure:
        """A new expiry (now + lifetime) for a live session; the token stays the same."""
        found = self._live(header_value)
        if isinstance(found, AuthFailure):
            return found
        token, stored = found
        renewed = replace(stored, expires_ms=self._clock() + self.lifetime_ms)
        self._save(_hash(token), renewed)
        return Session(token, renewed.member_id, renewed.key_id, renewed.scopes, renewed.expires_ms)

    def slide(self, token: str) -> int | None:
        """Activity on a live session (a web page's request): its expiry moves to now + lifetime, when
        that is at least `slide_step_ms` later than it was. The expiry it has now; None when the token
        is not a live session (nothing is written then)."""
        found = self._live("Bearer " + token)
        if isinstance(found, AuthFailure):
            return None
        _, stored = found
        expires_ms = self._clock() + self.lifetime_ms
        if expires_ms - stored.expires_ms < self.slide_step_ms:
            return stored.expires_ms
        self._save(_hash(token), replace(stored, expires_ms=expires_ms))
        return expires_ms

    def log_out(self, header_value: str | None) -> AuthFailure | None:
        """End a session (`POST /logout`); None when done."""
        found = self._live(header_value)
        if isinstance(found, AuthFailure):
            return found
        token, stored = found
        self._save(_hash(token), replace(stored, revoked=True))
        self.revocations.publish(Revocation(RevokedWhat.SESSION, session_id(token), stored.member_id,
                                            "the session token was logged out"))
        return None

    def is_live(self, session_id: str) -> bool:
        """Whether the session with this id (`session_id(token)`) exists, is not logged out and has
        not expired."""
        return self.live_until_ms(session_id) is not None

    def live_until_ms(self, session_id: str) -> int | None:
        """When the live session with this id expires (a refresh moves it later); None when it does
        not exist, was logged out or has expired."""
        stored = self._lookup(session_id)
        if stored is None or stored.revoked or self._clock() >= stored.expires_ms:
            return None
        return stored.expires_ms

    def now_ms(self) -> int:
        return self._clock()

    def revoke_member(self, member_id: int) -> int:
        """End every live session of a member (a credentials reset); returns how many."""
        rows = self._store.query(
            "SELECT token_hash, member_id, key_id, scopes, created_ms, expires_ms, revoked FROM accounts_sessions "
            "WHERE member_id = ? AND revoked = ?", (member_id, False))
        for row in rows:
            self._save(str(row[0]), replace(_stored(row[1:]), revoked=True))
        return len(rows)

    def end_others(self, member_id: int, keep_session_id: str | None) -> int:
        """End every live session of a member but `keep_session_id` (the web's "log out other
        sessions", and a password change): each is revoked and published, so what it opened ends at
        once. Returns how many ended."""
        rows = self._store.query(
            "SELECT token_hash, member_id, key_id, scopes, created_ms, expires_ms, revoked FROM accounts_sessions "
            "WHERE member_id = ? AND revoked = ?", (member_id, False))
        ended = 0
        for row in rows:
            token_hash = str(row[0])
            if token_hash == keep_session_id:
                continue
            self._save(token_hash, replace(_stored(row[1:]), revoked=True))
            self.revocations.publish(Revocation(RevokedWhat.SESSION, token_hash, member_id, "logged out from another session"))
            ended += 1
        return ended

    # --- helpers ----------------------------------------------------------------------------------

    def _open(self, member_id: int, key_id: str | None, scopes: tuple[str, ...]) -> Session:
        now_ms = self._clock()
        live = self._store.query(
            "SELECT COUNT(*) FROM accounts_sessions WHERE member_id = ? AND revoked = ? AND expires_ms > ?",
            (member_id, False, now_ms))
        if int(live[0][0]) >= SESSIONS_PER_MEMBER_MAX:
            raise AccountsError("too_many_sessions", f"member {member_id} has {SESSIONS_PER_MEMBER_MAX} live sessions; log out of some")
        token = secrets.token_urlsafe(32)
        stored = _Stored(member_id, key_id, scopes, now_ms, now_ms + self.lifetime_ms, False)
        self._save(_hash(token), stored)
        return Session(token, member_id, key_id, scopes, stored.expires_ms)

    def _live(self, header_value: str | None) -> tuple[str, _Stored] | AuthFailure:
        """(token, stored session) for a header naming a live session, or why it is not live."""
        parsed = parse_authorization(header_value)
        if isinstance(parsed, AuthFailure):
            return parsed
        claimed, token = parsed
        stored = self._lookup(_hash(token))
        if stored is None or stored.revoked or (claimed is not None and claimed != stored.member_id):
            return AuthFailure(AuthReason.INVALID_TOKEN, "no such session, or it was logged out")
        now_ms = self._clock()
        if now_ms >= stored.expires_ms:
            return AuthFailure(AuthReason.EXPIRED_TOKEN,
                               f"session expired at {stored.expires_ms} (server time {now_ms}); log in again")
        if stored.key_id is not None and self._keys.verifying_key(stored.key_id) is None:
            return AuthFailure(AuthReason.INVALID_TOKEN, f"the API key {stored.key_id} this session was made with has been deleted")
        member = self._members.get(stored.member_id)
        if member is not None and member.suspended:
            return suspended_failure(member)
        return token, stored

    def _lookup(self, token_hash: str) -> _Stored | None:
        stored = self._cache.get(token_hash)
        if stored is not None:
            return stored
        rows = self._store.query(
            "SELECT member_id, key_id, scopes, created_ms, expires_ms, revoked FROM accounts_sessions WHERE token_hash = ?",
            (token_hash,))
        if not rows:
            return None
        stored = _stored(rows[0])
        if not stored.revoked:
            self._remember(token_hash, stored)
        return stored

    def _save(self, token_hash: str, stored: _Stored) -> None:
        row = (token_hash, stored.member_id, stored.key_id, " ".join(stored.scopes), stored.created_ms,
               stored.expires_ms, stored.revoked)
        self._store.write([TableWrite("accounts_sessions", _COLUMNS, [row], key=("token_hash",))])
        self._remember(token_hash, stored)

    def _remember(self, token_hash: str, stored: _Stored) -> None:
        with self._lock:
            if len(self._cache) >= SESSION_CACHE_ENTRIES_MAX and token_hash not in self._cache:
                self._evict(self._clock())
            self._cache[token_hash] = stored

    def _evict(self, now_ms: int) -> None:
        """Drop expired and revoked sessions from the cache, or the oldest one if none are."""
        dead = [h for h, s in self._cache.items() if s.revoked or s.expires_ms <= now_ms]
        for token_hash in dead or [next(iter(self._cache))]:
            del self._cache[token_hash]


def _stored(row: tuple[Any, ...]) -> _Stored:
    return _Stored(int(row[0]), None if row[1] is None else str(row[1]), tuple(str(row[2]).split()),
                   int(row[3]), int(row[4]), bool(row[5]))
