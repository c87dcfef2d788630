"""The one signature verifier behind every surface (REST, WebSocket handshake, FIX logon).

Two signed-request forms share the `KALSHI-ACCESS-KEY`, `-TIMESTAMP` and `-SIGNATURE` headers and
are told apart by the timestamp:

- Kalshi v2: milliseconds since the epoch; signed string = timestamp + METHOD + path (no query, no body).
- the seed's KalshiAuth: ISO-8601 UTC (`2026-11-23T10:00:00.1234Z`, any fraction length); signed
  string = timestamp + METHOD + path + compact JSON body (when the body is not empty). Its client signs
  the path relative to its base URL (`/markets` for `/v1/markets`) and signs `json.dumps(body,
  separators=(',', ':'))` while sending the body with default separators, so the verifier accepts the
  path with or without the mount prefix, and re-compacts the received JSON (key order kept,
  ensure_ascii) before checking it.

Signatures are RSA-PSS/SHA-256 (any valid salt length) or Ed25519 over the UTF-8 bytes. A refusal is
data, not an exception: an `AuthFailure` with a stable `reason` and a message saying what was wrong;
for a bad signature it shows the exact string(s) the server expected to be signed (nothing secret:
the client sent every part of it).

Headers are read strictly (core/text.py): a timestamp is ASCII digits or ISO-8601 in ASCII digits, and
only SP and HTAB are trimmed, so a superscript, Arabic-Indic or full-width digit or a no-break space
is a clear 401, never an exception. A signed write (any method but GET, HEAD and OPTIONS) and a FIX
Logon are accepted once: an exact repeat inside the window is refused (replay.py). A member who is
suspended is refused whatever they sign.
"""

from __future__ import annotations

import binascii
import enum
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from predictex.accounts._common import (
    EXPECTED_IN_MESSAGE_CHARS_MAX,
    SIGNATURE_HEADER_LENGTH_MAX,
    TIMESTAMP_WINDOW_MS_DEFAULT,
    Clock,
)
from predictex.accounts.keys import ApiKey, ApiKeys, VerifyingKey, has_scope
from predictex.accounts.members import Member, Members
from predictex.accounts.replay import ReplayGuard
from predictex.core.limits import TIMESTAMP_DIGITS_MAX
from predictex.core.text import ascii_int, shown, strip_http_whitespace

KEY_HEADER = "KALSHI-ACCESS-KEY"
TIMESTAMP_HEADER = "KALSHI-ACCESS-TIMESTAMP"
SIGNATURE_HEADER = "KALSHI-ACCESS-SIGNATURE"
_HEADERS = (KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
_HEADERS_LOWER = tuple(name.lower() for name in _HEADERS)  # as HTTP servers usually hand them over


class AuthReason(enum.StrEnum):
    """Stable reason codes for a refused authentication (signatures, then sessions and passwords)."""

    MISSING_HEADER = "missing_header"
    MALFORMED_TIMESTAMP = "malformed_timestamp"
    STALE_TIMESTAMP = "stale_timestamp"
    UNKNOWN_KEY = "unknown_key"
    MALFORMED_SIGNATURE = "malformed_signature"
    BAD_SIGNATURE = "bad_signature"
    INSUFFICIENT_SCOPE = "insufficient_scope"
    INVALID_TOKEN = "invalid_token"
    EXPIRED_TOKEN = "expired_token"
    BAD_CREDENTIALS = "bad_credentials"
    REPLAYED_REQUEST = "replayed_request"  # a signed write (or FIX Logon) already accepted once
    REPLAY_CACHE_FULL = "replay_cache_full"  # too many signed writes in the window to remember: busy
    MEMBER_SUSPENDED = "member_suspended"
    TOO_MANY_LOGIN_ATTEMPTS = "too_many_login_attempts"


class SignedForm(enum.StrEnum):
    KALSHI_V2 = "kalshi_v2"
    SEED = "seed"
    FIX = "fix"
    SESSION = "session"  # a bearer token, not a signature


@dataclass(frozen=True, slots=True)
class AuthFailure:
    reason: AuthReason
    message: str
    expected: tuple[str, ...] = ()  # bad_signature: the strings a valid signature would cover
    retry_after_ms: int | None = None  # too_many_login_attempts: when the next attempt is looked at


@dataclass(frozen=True, slots=True)
class Authenticated:
    member: Member
    scopes: tuple[str, ...]
    key: ApiKey | None  # None for a session made by a password login
    form: SignedForm
    session_id: str | None = None  # a bearer session: its token's hash (what logging out revokes)


def scope_failure(scopes: Sequence[str], required: str | None, holder: str) -> AuthFailure | None:
    """The insufficient_scope refusal when `scopes` do not cover `required` (None: no scope needed)."""
    if required is None or has_scope(scopes, required):
        return None
    return AuthFailure(AuthReason.INSUFFICIENT_SCOPE,
                       f"{holder} has scopes {', '.join(scopes) or '(none)'}; this request needs {required!r}")


def suspended_failure(member: Member) -> AuthFailure:
    return AuthFailure(AuthReason.MEMBER_SUSPENDED,
                       f"member {member.member_id} may not trade until the operator reinstates it")


# --- parsing --------------------------------------------------------------------------------------

_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:Z|\+00:?00)", re.ASCII)
_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm, integers only)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def parse_timestamp_ms(text: str) -> tuple[int, SignedForm] | None:
    """(ms since the epoch, form) for a Kalshi v2 (ASCII digits) or seed (ISO-8601 UTC) timestamp;
    None for anything else (a digit of another script, a space, a sign)."""
    milliseconds = ascii_int(text, TIMESTAMP_DIGITS_MAX)
    if milliseconds is not None:
        return milliseconds, SignedForm.KALSHI_V2
    match = _ISO.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    y, mo, d = int(year), int(month), int(day)
    if not (1 <= mo <= 12 and 1 <= d <= _DAYS_IN_MONTH[mo]) or (mo == 2 and d == 29 and not _leap(y)):
        return None
    h, mi, sec = int(hour), int(minute), int(second)
    if h > 23 or mi > 59 or sec > 59:
        return None
    fraction_ms = int(fraction[:3].ljust(3, "0")) if fraction else 0
    return ((_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60_000 + sec * 1000 + fraction_ms, SignedForm.SEED


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def decode_signature(text: str) -> bytes | None:
    """Base64 (standard alphabet; URL-safe and missing padding tolerated), or None."""
    if len(text) > SIGNATURE_HEADER_LENGTH_MAX:
        return None
    if "-" in text or "_" in text:  # str.translate costs more than the rest: only when needed
        text = text.translate(_URLSAFE)
    if len(text) % 4:
        text += "=" * (-len(text) % 4)
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        return None


_URLSAFE = str.maketrans("-_", "+/")


def compact_json(body: bytes) -> str | None:
    """The body as the seed's client signed it: json.dumps(parsed, separators=(',', ':')), or None when
    the body is not JSON. An empty JSON value ({}, [], null...) gives "" (the seed signs no body then)."""
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        return None
    return json.dumps(parsed, separators=(",", ":")) if parsed else ""


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    if value is None:  # a plain dict with other capitalisation: scan once
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def signed_headers(headers: Mapping[str, str]) -> tuple[str | None, str | None, str | None]:
    """The key, timestamp and signature headers, each found as `header_value` finds it; the names
    as given and lower-cased are tried inline (every signed request pays for this)."""
    get = headers.get
    key_id = get(KEY_HEADER)
    if key_id is None:
        key_id = get(_HEADERS_LOWER[0])
    timestamp = get(TIMESTAMP_HEADER)
    if timestamp is None:
        timestamp = get(_HEADERS_LOWER[1])
    signature = get(SIGNATURE_HEADER)
    if signature is None:
        signature = get(_HEADERS_LOWER[2])
    if key_id is None or timestamp is None or signature is None:
        return header_value(headers, KEY_HEADER), header_value(headers, TIMESTAMP_HEADER), header_value(headers, SIGNATURE_HEADER)
    return key_id, timestamp, signature


def _seed_bodies(body: bytes | None) -> list[str]:
    """What the seed's client may have appended for this body: nothing for no body or an empty JSON
    value (it signs `if body:`), else the re-compacted JSON, then the body exactly as received."""
    if not body:
        return [""]
    compact = compact_json(body)
    raw = body.decode("utf-8", "replace")
    if compact == "":
        return ["", raw]
    return [raw] if compact is None or compact == raw else [compact, raw]


def _shown(text: str) -> str:
    if len(text) <= EXPECTED_IN_MESSAGE_CHARS_MAX:
        return repr(text)
    return f"{text[:EXPECTED_IN_MESSAGE_CHARS_MAX]!r}… ({len(text)} characters in all)"


def _seconds(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d} s"


# --- the verifier ---------------------------------------------------------------------------------


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # repeating one changes nothing: never remembered


class SignatureVerifier:
    """Checks signed requests (both forms) and FIX logon signatures against the stored keys."""

    def __init__(self, keys: ApiKeys, members: Members, clock: Clock, *,
                 window_ms: int = TIMESTAMP_WINDOW_MS_DEFAULT, mount_prefixes: Sequence[str] = ("/v1",)) -> None:
        self._keys = keys
        self._members = members
        self._clock = clock
        self.window_ms = window_ms
        self._prefixes = tuple(p.rstrip("/") for p in mount_prefixes if p.strip("/"))
        self.replays = ReplayGuard(clock, window_ms)

    def verify_request(self, headers: Mapping[str, str], method: str, target: str, body: bytes | None = None, *,
                       required_scope: str | None = None) -> Authenticated | AuthFailure:
        """Authenticate a signed HTTP request (or WebSocket upgrade). `target` is the raw request path,
        with or without its query string; `body` the raw body bytes (None or b"" when there is none)."""
        key_id, timestamp, signature_text = signed_headers(headers)
        if not (key_id and timestamp and signature_text):
            missing = [name for name, value in zip(_HEADERS, (key_id, timestamp, signature_text)) if not value]
            return AuthFailure(AuthReason.MISSING_HEADER, f"absent from the request: {', '.join(missing)}")
        key_id = strip_http_whitespace(key_id)
        timestamp = strip_http_whitespace(timestamp)
        signature_text = strip_http_whitespace(signature_text)
        parsed = parse_timestamp_ms(timestamp)
        if parsed is None:
            return AuthFailure(AuthReason.MALFORMED_TIMESTAMP,
                               f"{TIMESTAMP_HEADER} {shown(timestamp)} is neither milliseconds since the epoch in ASCII "
                               "digits (1703123456789) nor ISO-8601 UTC (2026-11-23T10:00:00.123Z)")
        timestamp_ms, form = parsed
        method = method.upper()
        if form is SignedForm.KALSHI_V2:
            candidates: Iterable[str] = (timestamp + method + target.partition("?")[0],)
        else:
            candidates = self._seed_candidates(timestamp + method, target, body)
        verified = self._check(key_id, timestamp_ms, timestamp, signature_text, candidates, form, required_scope)
        if method in READ_METHODS or isinstance(verified, AuthFailure):
            return verified
        signature = decode_signature(signature_text) or b""
        if form is SignedForm.SEED:  # the signature covers the body: it alone names the request
            return self._first_use(verified, timestamp_ms, signature)
        # Kalshi v2 signs neither body nor query: two writes that differ only there share a signature
        # (always, with Ed25519 in the same millisecond) and Kalshi takes both, so they count apart
        return self._first_use(verified, timestamp_ms, signature, method, target, body or b"")

    def verify_with_key(self, key_id: str, message: bytes, signature_b64: str, *, timestamp_ms: int | None = None,
                        required_scope: str | None = None) -> Authenticated | AuthFailure:
        """Check a signature over a pre-hash string made by the caller (FIX Logon RawData over
        SendingTime SOH A SOH MsgSeqNum SOH SenderCompID SOH TargetCompID). With `timestamp_ms` (the
        parsed SendingTime) the same ±window applies."""
        found = self._keys.verifying_key(key_id)
        if found is None:
            return AuthFailure(AuthReason.UNKNOWN_KEY, self._unknown_key_message(key_id))
        if timestamp_ms is not None and (stale := self._stale(timestamp_ms, str(timestamp_ms))) is not None:
            return stale
        signature = decode_signature(signature_b64)
        if signature is None or len(signature) != found.signature_bytes:
            return self._malformed(found, signature)
        if not found.verify(signature, message):
            expected = message.decode("utf-8", "replace")
            return AuthFailure(AuthReason.BAD_SIGNATURE,
                               f"key {key_id} ({found.key.key_type}) does not verify it; "
                               f"expected a signature over {_shown(expected)}", (expected,))
        verified = self._authenticated(found, SignedForm.FIX, required_scope)
        if timestamp_ms is None or isinstance(verified, AuthFailure):
            return verified
        return self._first_use(verified, timestamp_ms, signature)

    def _first_use(self, verified: Authenticated, timestamp_ms: int, *parts: bytes | str) -> Authenticated | AuthFailure:
        """`verified`, unless this signed request (`parts`: what names it) was already accepted
        inside the window."""
        key = verified.key
        first = self.replays.first_use(timestamp_ms, verified.form.value, key.key_id if key is not None else "", *parts)
        if first:
            return verified
        if first is None:
            return AuthFailure(AuthReason.REPLAY_CACHE_FULL,
                               "too many signed writes in the last minute to check this one for replay; retry shortly")
        return AuthFailure(AuthReason.REPLAYED_REQUEST,
                           "this exact signature was accepted once already; sign every write afresh (a new "
                           "timestamp, and a client_order_id of its own for each order)")

    # --- steps ------------------------------------------------------------------------------------

    def _check(self, key_id: str, timestamp_ms: int, timestamp: str, signature_text: str, candidates: Iterable[str],
               form: SignedForm, required_scope: str | None) -> Authenticated | AuthFailure:
        skew_ms = self._clock() - timestamp_ms
        if not -self.window_ms <= skew_ms <= self.window_ms and (stale := self._stale(timestamp_ms, timestamp)) is not None:
            return stale
        found = self._keys.verifying_key(key_id)
        if found is None:
            return AuthFailure(AuthReason.UNKNOWN_KEY, self._unknown_key_message(key_id))
        signature = decode_signature(signature_text)
        if signature is None or len(signature) != found.signature_bytes:
            return self._malformed(found, signature)
        tried: list[str] = []
        for candidate in candidates:  # lazily: the usual request matches the first and builds no other
            if found.verify(signature, candidate.encode("utf-8")):
                return self._authenticated(found, form, required_scope)
            tried.append(candidate)
        expected = _shown(tried[0])
        if len(tried) > 1:
            expected += " (also accepted: " + ", ".join(_shown(c) for c in tried[1:]) + ")"
        return AuthFailure(AuthReason.BAD_SIGNATURE,
                           f"key {key_id} ({found.key.key_type}) does not verify it; expected a signature over {expected}",
                           tuple(tried))

    def _seed_candidates(self, head: str, target: str, body: bytes | None) -> Iterator[str]:
        """The strings a seed-form signature may cover, the seed client's own form first: the path with
        the mount prefix removed, then the full path; without the query, then with it; the re-compacted
        body, then the body as received."""
        path, _, query = target.partition("?")
        paths = [path[len(p):] for p in self._prefixes if path.startswith(p + "/")] + [path]
        if query:
            paths += [f"{p}?{query}" for p in paths]
        bodies = _seed_bodies(body)
        seen: set[str] = set()
        for body_text in bodies:
            for candidate_path in paths:
                candidate = head + candidate_path + body_text
                if candidate not in seen:
                    seen.add(candidate)
                    yield candidate

    def _stale(self, timestamp_ms: int, as_sent: str) -> AuthFailure | None:
        now_ms = self._clock()
        skew_ms = now_ms - timestamp_ms
        if -self.window_ms <= skew_ms <= self.window_ms:
            return None
        direction = "behind" if skew_ms > 0 else "ahead of"
        return AuthFailure(AuthReason.STALE_TIMESTAMP,
                           f"{as_sent[:64]!r} is {_seconds(abs(skew_ms))} {direction} the server clock "
                           f"({now_ms} ms); it must be within ±{_seconds(self.window_ms)}")

    def _unknown_key_message(self, key_id: str) -> str:
        environment = self._keys.environment
        if not key_id.startswith(environment + "_") and key_id.startswith(("demo_", "prod_")):
            return f"API key {shown(key_id, 80)} belongs to another environment; this exchange is {environment!r}"
        return f"no live API key {shown(key_id, 80)} (unknown or deleted)"

    @staticmethod
    def _malformed(found: VerifyingKey, signature: bytes | None) -> AuthFailure:
        if signature is None:
            return AuthFailure(AuthReason.MALFORMED_SIGNATURE, f"{SIGNATURE_HEADER} is not base64")
        return AuthFailure(AuthReason.MALFORMED_SIGNATURE,
                           f"{len(signature)} bytes long; key {found.key.key_id} ({found.key.key_type}) "
                           f"makes {found.signature_bytes}-byte signatures")

    def _authenticated(self, found: VerifyingKey, form: SignedForm, required_scope: str | None) -> Authenticated | AuthFailure:
        key = found.key
        member = self._members.get(key.member_id)
        if member is None:
            return AuthFailure(AuthReason.UNKNOWN_KEY, f"{key.key_id} belongs to no member")
        if member.suspended:
            return suspended_failure(member)
        if required_scope is not None and required_scope not in key.scopes:  # else: maybe a family scope
            refused = scope_failure(key.scopes, required_scope, f"API key {key.key_id}")
            if refused is not None:
                return refused
        return Authenticated(member, key.scopes, key, form)
