"""API keys (reference §2.3): key pairs generated here (the private key is returned once and never
stored) or public keys registered by the member, their scopes, and deletion that takes effect at once.

Only public keys are stored. Key ids carry the environment: `demo_<uuid4>` or `prod_<uuid4>`. Parsed
public keys are cached in memory, so a verification never parses PEM; deleting a key evicts it (and
remembers the id as dead) under the same lock that fills the cache, so a deleted key cannot come back
into it. Once the deletion is durable it is published as a revocation, which ends every FIX session,
WebSocket and stream opened with the key or with a session made with it (revocation.py). The cache
belongs to this process: a key deleted through another process's `ApiKeys` stays usable here until
this process drops it (see the package docstring).
"""

from __future__ import annotations

import builtins
import enum
import re
import threading
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from predictex.accounts._common import (
    KEY_CACHE_ENTRIES_MAX,
    KEY_NAME_LENGTH_MAX,
    KEYS_PER_MEMBER_MAX,
    PUBLIC_KEY_PEM_LENGTH_MAX,
    RSA_KEY_BITS_MAX,
    RSA_KEY_BITS_MIN,
    AccountsError,
    Clock,
)
from predictex.accounts.members import Members
from predictex.accounts.revocation import Revocation, Revocations, RevokedWhat
from predictex.journal.base import JournalStore, TableWrite


class KeyType(enum.StrEnum):
    RSA = "rsa"
    ED25519 = "ed25519"


SCOPES: tuple[str, ...] = (
    "read", "write",
    "read::block_trade_accept", "read::portfolio_balance",
    "write::trade", "write::transfer", "write::fcm_risk", "write::block_trade_accept",
)
DEFAULT_SCOPES: tuple[str, ...] = ("read", "write")
ENVIRONMENTS: tuple[str, ...] = ("demo", "prod")


def normalize_scopes(scopes: Iterable[str] | None) -> tuple[str, ...]:
    """Scopes as given (duplicates dropped), `("read", "write")` when omitted. Refuses unknown scopes,
    an empty list, and `write` without `read` (reference §2.1)."""
    if scopes is None:
        return DEFAULT_SCOPES
    if isinstance(scopes, str):
        raise AccountsError("invalid_scope", "scopes must be a list of strings, not one string")
    result = tuple(dict.fromkeys(scopes))
    unknown = [s for s in result if s not in SCOPES]
    if unknown:
        raise AccountsError("invalid_scope", f"unknown scope(s) {', '.join(map(repr, unknown))}; known: {', '.join(SCOPES)}")
    if not result:
        raise AccountsError("invalid_scope", "a key needs at least one scope")
    if "write" in result and "read" not in result:
        raise AccountsError("invalid_scope", "the write scope requires the read scope")
    return result


def has_scope(granted: Collection[str], required: str) -> bool:
    """Whether `granted` allows `required`: the scope itself, or its family (`read` covers
    `read::portfolio_balance`, `write` covers `write::trade`)."""
    return required in granted or required.partition("::")[0] in granted


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    member_id: int
    name: str
    key_type: KeyType
    scopes: tuple[str, ...]
    created_ms: int
    public_key_pem: str


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    key: ApiKey
    private_key_pem: str  # returned once, never stored


_PSS_ANY_SALT = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
_SHA256 = hashes.SHA256()
PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey


class VerifyingKey:
    """A live key with its parsed public key, ready to check signatures (what the cache holds)."""

    __slots__ = ("key", "signature_bytes")

    def __init__(self, key: ApiKey, signature_bytes: int) -> None:
        self.key = key
        self.signature_bytes = signature_bytes

    def verify(self, signature: bytes, message: bytes) -> bool:
        raise NotImplementedError


class _RsaVerifyingKey(VerifyingKey):
    __slots__ = ("_public",)

    def __init__(self, key: ApiKey, public: rsa.RSAPublicKey) -> None:
        super().__init__(key, (public.key_size + 7) // 8)
        self._public = public

    def verify(self, signature: bytes, message: bytes) -> bool:
        """RSA-PSS, SHA-256, MGF1-SHA-256, any valid salt length (Kalshi's clients use 32)."""
        try:
            self._public.verify(signature, message, _PSS_ANY_SALT, _SHA256)
        except InvalidSignature:
            return False
        return True


class _Ed25519VerifyingKey(VerifyingKey):
    __slots__ = ("_public",)

    def __init__(self, key: ApiKey, public: ed25519.Ed25519PublicKey) -> None:
        super().__init__(key, 64)
        self._public = public

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            self._public.verify(signature, message)
        except InvalidSignature:
            return False
        return True


def _verifying_key(key: ApiKey, public: PublicKey) -> VerifyingKey:
    if isinstance(public, rsa.RSAPublicKey):
        return _RsaVerifyingKey(key, public)
    return _Ed25519VerifyingKey(key, public)


_KEY_ID = re.compile(r"(demo|prod)_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_COLUMNS = ("key_id", "member_id", "name", "key_type", "public_key_pem", "scopes", "created_ms", "deleted", "deleted_ms")
_SELECT = "SELECT key_id, member_id, name, key_type, public_key_pem, scopes, created_ms, deleted FROM accounts_api_keys"


def _key(row: tuple[Any, ...]) -> ApiKey:
    return ApiKey(str(row[0]), int(row[1]), str(row[2]), KeyType(row[3]), tuple(str(row[5]).split()), int(row[6]), str(row[4]))


def _public_pem(public: PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def parse_public_key(pem: str) -> PublicKey:
    """An RSA (2048 to 8192 bits) or Ed25519 public key from PEM (SPKI, or PKCS#1 for RSA); refuses
    anything else with a message that says what is wrong."""
    if len(pem) > PUBLIC_KEY_PEM_LENGTH_MAX:
        raise AccountsError("invalid_public_key", f"public key PEM is longer than {PUBLIC_KEY_PEM_LENGTH_MAX} characters")
    if "PRIVATE KEY-----" in pem:
        raise AccountsError("invalid_public_key", "this is a private key: upload only the public key (-----BEGIN PUBLIC KEY-----)")
    try:
        public = serialization.load_pem_public_key(pem.encode("utf-8"))
    except (ValueError, UnsupportedAlgorithm) as error:
        raise AccountsError("invalid_public_key", f"not a readable PEM public key (-----BEGIN PUBLIC KEY-----): {error}") from None
    if isinstance(public, ed25519.Ed25519PublicKey):
        return public
    if not isinstance(public, rsa.RSAPublicKey):
        raise AccountsError("unsupported_key_type", f"{type(public).__name__.removeprefix('_')} keys are not supported: use RSA or Ed25519")
    if public.key_size < RSA_KEY_BITS_MIN:
        raise AccountsError("key_too_small", f"RSA key has {public.key_size} bits; at least {RSA_KEY_BITS_MIN} are required")
    if public.key_size > RSA_KEY_BITS_MAX:
        raise AccountsError("key_too_large", f"RSA key has {public.key_size} bits; at most {RSA_KEY_BITS_MAX} are accepted")
    return public


def _new_key_pair(key_type: KeyType) -> tuple[PublicKey, str]:
    """A fresh key pair: (public key, private key PEM) — PKCS#1 for RSA, PKCS#8 for Ed25519, as Kalshi returns them."""
    if key_type is KeyType.RSA:
        private: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_format = serialization.PrivateFormat.TraditionalOpenSSL
    else:
        private = ed25519.Ed25519PrivateKey.generate()
        private_format = serialization.PrivateFormat.PKCS8
    pem = private.private_bytes(serialization.Encoding.PEM, private_format, serialization.NoEncryption()).decode("ascii")
    return private.public_key(), pem


class ApiKeys:
    """Members' API keys in the store, with the parsed public keys cached for verification."""

    def __init__(self, store: JournalStore, members: Members, clock: Clock, environment: str = "demo",
                 revocations: Revocations | None = None) -> None:
        if environment not in ENVIRONMENTS:
            raise AccountsError("invalid_environment", f"environment {environment!r} is not one of {', '.join(ENVIRONMENTS)}")
        self.environment = environment
        self._store = store
        self._members = members
        self._clock = clock
        self.revocations = revocations if revocations is not None else Revocations()
        self._lock = threading.Lock()
        self._cache: dict[str, VerifyingKey] = {}
        self._dead: dict[str, None] = {}  # deleted ids (bounded, insertion-ordered): never live again

    def generate(self, member_id: int, name: str, key_type: str | KeyType = KeyType.RSA,
                 scopes: Iterable[str] | None = None) -> GeneratedKey:
        """`POST /api_keys/generate`: a new key pair; only the public half is kept."""
        try:
            kind = KeyType(str(key_type).lower())
        except ValueError:
            raise AccountsError("invalid_key_type", f"key_type {key_type!r} is not one of rsa, ed25519") from None
        self._check_new(member_id, name)
        public, private_pem = _new_key_pair(kind)
        return GeneratedKey(self._add(member_id, name, public, normalize_scopes(scopes)), private_pem)

    def register(self, member_id: int, name: str, public_key_pem: str, scopes: Iterable[str] | None = None) -> ApiKey:
        """`POST /api_keys`: a key whose private half only the member holds."""
        public = parse_public_key(public_key_pem)
        self._check_new(member_id, name)
        return self._add(member_id, name, public, normalize_scopes(scopes))

    def list(self, member_id: int) -> builtins.list[ApiKey]:
        """A member's live keys, oldest first."""
        rows = self._store.query(f"{_SELECT} WHERE member_id = ? AND deleted = ? ORDER BY created_ms, key_id", (member_id, False))
        return [_key(row) for row in rows]

    def get(self, key_id: str) -> ApiKey | None:
        found = self.verifying_key(key_id)
        return None if found is None else found.key

    def delete(self, key_id: str, *, member_id: int | None = None) -> None:
        """`DELETE /api_keys/{id}`: effective immediately for signatures and for the sessions made with
        it, and for whatever was opened with them (the revocation is published before this returns).
        With `member_id`, only that member's key may be deleted (anything else reads as not found)."""
        with self._lock:
            rows = self._store.query(f"{_SELECT} WHERE key_id = ?", (key_id,))
            if not rows or rows[0][7] or (member_id is not None and int(rows[0][1]) != member_id):
                raise AccountsError("key_not_found", f"no API key {key_id!r}")
            key = _key(rows[0])
            self._store.write([self._row(key, deleted_ms=self._clock())])
            self._cache.pop(key_id, None)
            self._mark_dead(key_id)
        self.revocations.publish(Revocation(RevokedWhat.KEY, key_id, key.member_id, f"API key {key_id} was deleted"))

    def verifying_key(self, key_id: str) -> VerifyingKey | None:
        """The live key with this id, parsed (from the cache after the first use), or None."""
        found = self._cache.get(key_id)
        if found is not None:
            return found
        if key_id in self._dead or _KEY_ID.fullmatch(key_id) is None:
            return None
        rows = self._store.query(f"{_SELECT} WHERE key_id = ?", (key_id,))
        if not rows or rows[0][7]:
            return None
        key = _key(rows[0])
        return self._cache_key(_verifying_key(key, parse_public_key(key.public_key_pem)))

    # --- helpers ----------------------------------------------------------------------------------

    def _check_new(self, member_id: int, name: str) -> None:
        if self._members.get(member_id) is None:
            raise AccountsError("member_not_found", f"no member with id {member_id}")
        if len(name) > KEY_NAME_LENGTH_MAX:
            raise AccountsError("invalid_name", f"key name is {len(name)} characters long; at most {KEY_NAME_LENGTH_MAX} are allowed")
        live = self._store.query("SELECT COUNT(*) FROM accounts_api_keys WHERE member_id = ? AND deleted = ?", (member_id, False))
        if int(live[0][0]) >= KEYS_PER_MEMBER_MAX:
            raise AccountsError("too_many_keys", f"member {member_id} already has {KEYS_PER_MEMBER_MAX} keys; delete one first")

    def _add(self, member_id: int, name: str, public: PublicKey, scopes: tuple[str, ...]) -> ApiKey:
        kind = KeyType.RSA if isinstance(public, rsa.RSAPublicKey) else KeyType.ED25519
        key = ApiKey(f"{self.environment}_{uuid.uuid4()}", member_id, name, kind, scopes, self._clock(), _public_pem(public))
        self._store.write([self._row(key)])
        self._cache_key(_verifying_key(key, public))
        return key

    def _cache_key(self, found: VerifyingKey) -> VerifyingKey | None:
        with self._lock:
            if found.key.key_id in self._dead:  # deleted while it was being loaded
                return None
            if len(self._cache) >= KEY_CACHE_ENTRIES_MAX:
                self._cache.pop(next(iter(self._cache)))
            self._cache[found.key.key_id] = found
        return found

    def _mark_dead(self, key_id: str) -> None:
        if len(self._dead) >= KEY_CACHE_ENTRIES_MAX:
            self._dead.pop(next(iter(self._dead)))
        self._dead[key_id] = None

    @staticmethod
    def _row(key: ApiKey, deleted_ms: int | None = None) -> TableWrite:
        row = (key.key_id, key.member_id, key.name, key.key_type.value, key.public_key_pem, " ".join(key.scopes),
               key.created_ms, deleted_ms is not None, deleted_ms)
        return TableWrite("accounts_api_keys", _COLUMNS, [row], key=("key_id",))
