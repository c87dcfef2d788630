"""Accounts: members and password hashing, API keys (RSA and Ed25519), scopes, the signature verifier
with requests signed exactly as Kalshi's SDK and the seed's KalshiAuth sign them (prefix-stripped
paths, re-compacted bodies), every refusal reason, the ±30 s window, session tokens, rate limits."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, padding, rsa

from predictex.accounts import (
    Accounts,
    AccountsError,
    Authenticated,
    AuthFailure,
    AuthReason,
    Lane,
    Role,
    ScryptCost,
    SignedForm,
    Tier,
    budget,
    has_scope,
)
from predictex.accounts.members import DEFAULT_SCRYPT_COST, hash_password, verify_password
from predictex.accounts.signing import compact_json, parse_timestamp_ms
from predictex.journal.base import JournalStore
from predictex.journal.memory import MemoryStore
from predictex.journal.sqlite import SqliteStore
from predictex.server.clock import FakeClock

# The seed's odd timestamp: strftime("...%S.%fZ")[:-3] + "Z" leaves four fraction digits.
NOW = dt.datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=dt.UTC)
NOW_MS = 1_795_428_000_123
CHEAP = ScryptCost(log2_n=4)
PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


# --- clients, as the real ones sign ------------------------------------------------------------------


def sign(private_key: PrivateKey, text: str, salt_length: Any = 32) -> str:
    message = text.encode("utf-8")
    if isinstance(private_key, rsa.RSAPrivateKey):
        signature = private_key.sign(message, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt_length),
                                     hashes.SHA256())
    else:
        signature = private_key.sign(message)
    return base64.b64encode(signature).decode("utf-8")


def kalshi_sdk_headers(key_id: str, private_key: PrivateKey, method: str, url: str, timestamp_ms: int) -> dict[str, str]:
    """kalshi_python_sync 3.x: timestamp_ms + METHOD + urlparse(url).path, RSA-PSS salt=DIGEST_LENGTH or Ed25519."""
    text = str(timestamp_ms) + method + urlsplit(url).path
    salt = padding.PSS.DIGEST_LENGTH
    signature = sign(private_key, text) if isinstance(private_key, ed25519.Ed25519PrivateKey) else sign(private_key, text, salt)
    return {"KALSHI-ACCESS-KEY": key_id, "KALSHI-ACCESS-TIMESTAMP": str(timestamp_ms), "KALSHI-ACCESS-SIGNATURE": signature}


class SeedKalshiAuth:
    """The seed's KalshiAuth, line for line, with the key and the time passed in; `prepare` returns
    what `requests` would put on the wire (json= bodies go out with default separators)."""

    def __init__(self, api_key_id: str, private_key: PrivateKey, now: dt.datetime = NOW) -> None:
        self.api_key_id = api_key_id
        self.private_key = private_key
        self.now = now
        self.base_url = "https://api.kalshi.com/v1"

    def sign_request(self, method: str, path: str, body: Any = None) -> dict[str, str]:
        timestamp = self.now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-3] + "Z"
        string_to_sign = f"{timestamp}{method}{path}"
        if body:
            string_to_sign += json.dumps(body, separators=(",", ":"))
        return {
            "KALSHI-ACCESS-KEY": self.api_key_id,
            "KALSHI-ACCESS-TIMESTAMP": timestamp,
            "KALSHI-ACCESS-SIGNATURE": sign(self.private_key, string_to_sign),
            "Content-Type": "application/json",
        }

    def prepare(self, method: str, path: str, body: Any = None) -> tuple[dict[str, str], str, bytes | None]:
        url = f"{self.base_url}{path}"
        headers = self.sign_request(method, path, body)
        sent = json.dumps(body, allow_nan=False).encode("utf-8") if method == "POST" and body is not None else None
        parts = urlsplit(url)
        return headers, parts.path + (f"?{parts.query}" if parts.query else ""), sent


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(params=["rsa", "ed25519"])
def private_key(request: pytest.FixtureRequest, rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey) -> PrivateKey:
    return rsa_key if request.param == "rsa" else ed_key


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW_MS)


@pytest.fixture
def accounts(clock: FakeClock) -> Accounts:
    return Accounts(MemoryStore(), clock=clock.now_ms, password_cost=CHEAP)


def public_pem(private_key: PrivateKey) -> str:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def member_with_key(accounts: Accounts, private_key: PrivateKey, scopes: Sequence[str] | None = None,
                    email: str = "alice@example.com") -> tuple[int, str]:
    member = accounts.members.create(email, "correct horse", engine_account_id=7)
    key = accounts.keys.register(member.member_id, "bot", public_pem(private_key), scopes)
    return member.member_id, key.key_id


def ok(result: Any) -> Authenticated:
    assert isinstance(result, Authenticated), result
    return result


def refused(result: Any, reason: AuthReason) -> AuthFailure:
    assert isinstance(result, AuthFailure), result
    assert result.reason is reason, result
    return result


def expect_refusal(code: str, call: Any, *args: Any, **kwargs: Any) -> AccountsError:
    with pytest.raises(AccountsError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


# --- members ---------------------------------------------------------------------------------------


def test_member_create_and_get(accounts: Accounts) -> None:
    member = accounts.members.create("Alice@Example.com", "correct horse", engine_account_id=42, tier="Premier")
    assert (member.member_id, member.email, member.role, member.tier, member.engine_account_id, member.created_ms) == (
        1, "Alice@Example.com", Role.MEMBER, Tier.PREMIER, 42, NOW_MS)
    assert accounts.members.get(1) == member
    assert accounts.members.get_by_email("alice@EXAMPLE.com") == member
    assert accounts.members.get(2) is None and accounts.members.get_by_email("bob@example.com") is None
    admin = accounts.members.create("root@example.com", "correct horse", engine_account_id=1, role="admin")
    assert admin.member_id == 2 and admin.role is Role.ADMIN


def test_member_validation(accounts: Accounts) -> None:
    accounts.members.create("alice@example.com", "12345678", engine_account_id=1)  # exactly 8 is enough
    assert "already exists" in expect_refusal("duplicate_email", accounts.members.create, "ALICE@example.COM", "12345678", 2).message
    for bad in ("alice", "alice@", "@example.com", "alice@example", "a b@example.com", "a@b@example.com", "x" * 250 + "@e.com"):
        expect_refusal("invalid_email", accounts.members.create, bad, "12345678", 3)
    assert "at least 8" in expect_refusal("password_too_short", accounts.members.create, "bob@example.com", "1234567", 3).message
    expect_refusal("invalid_tier", accounts.members.create, "bob@example.com", "12345678", 3, tier="gold")
    expect_refusal("invalid_role", accounts.members.create, "bob@example.com", "12345678", 3, role="owner")
    assert [m.email for m in accounts.members.list()] == ["alice@example.com"]


def test_authenticate_by_email_and_password(accounts: Accounts) -> None:
    member = accounts.members.create("alice@example.com", "correct horse", engine_account_id=1)
    assert accounts.members.authenticate("ALICE@example.com", "correct horse") == member
    assert accounts.members.authenticate("alice@example.com", "correct horsE") is None
    assert accounts.members.authenticate("nobody@example.com", "correct horse") is None


def test_set_tier_and_list(accounts: Accounts) -> None:
    for i in range(5):
        accounts.members.create(f"m{i}@example.com", "password", engine_account_id=100 + i)
    assert accounts.members.set_tier(3, "PRESTIGE").tier is Tier.PRESTIGE
    assert accounts.members.get(3).tier is Tier.PRESTIGE  # type: ignore[union-attr]
    assert accounts.members.get_by_email("m2@example.com").tier is Tier.PRESTIGE  # type: ignore[union-attr]
    assert [m.member_id for m in accounts.members.list(limit=2)] == [1, 2]
    assert [m.member_id for m in accounts.members.list(after_id=2, limit=2)] == [3, 4]
    expect_refusal("member_not_found", accounts.members.set_tier, 99, "basic")
    expect_refusal("invalid_tier", accounts.members.set_tier, 1, "platinum")
    assert {t.value for t in Tier} == {"basic", "advanced", "expert", "premier", "paragon", "prime", "prestige"}


def test_password_hash_is_salted_self_describing_scrypt() -> None:
    first, second = hash_password("correct horse", CHEAP), hash_password("correct horse", CHEAP)
    assert first != second  # random salt
    assert re.fullmatch(r"scrypt\$ln=4,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}", first)
    assert verify_password("correct horse", first) and not verify_password("correct horse!", first)
    assert (DEFAULT_SCRYPT_COST.log2_n, DEFAULT_SCRYPT_COST.r, DEFAULT_SCRYPT_COST.p) == (17, 8, 1)
    salt = base64.b64decode(first.split("$")[2] + "==")
    assert len(salt) == 16
    expected = hashlib.scrypt(b"correct horse", salt=salt, n=16, r=8, p=1, dklen=32)
    assert first.split("$")[3] == base64.b64encode(expected).decode().rstrip("=")


def test_stored_member_row_holds_no_password(accounts: Accounts) -> None:
    accounts.members.create("alice@example.com", "correct horse", engine_account_id=1)
    row = accounts.store.query("SELECT * FROM accounts_members")[0]
    assert not any("correct horse" in str(value) for value in row)


# --- API keys --------------------------------------------------------------------------------------

_UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


@pytest.mark.parametrize(("key_type", "pem_header", "loaded"), [
    ("rsa", "-----BEGIN RSA PRIVATE KEY-----", rsa.RSAPrivateKey),
    ("ed25519", "-----BEGIN PRIVATE KEY-----", ed25519.Ed25519PrivateKey),
])
def test_generate_returns_private_key_once_and_keeps_the_public(accounts: Accounts, key_type: str, pem_header: str,
                                                                loaded: type) -> None:
    member = accounts.members.create("alice@example.com", "correct horse", engine_account_id=1)
    generated = accounts.keys.generate(member.member_id, "bot", key_type)
    assert generated.private_key_pem.startswith(pem_header)
    private_key = serialization.load_pem_private_key(generated.private_key_pem.encode(), password=None)
    assert isinstance(private_key, loaded)
    key = generated.key
    assert re.fullmatch(f"demo_{_UUID4}", key.key_id)
    assert (key.key_type, key.scopes, key.name, key.created_ms) == (key_type, ("read", "write"), "bot", NOW_MS)
    assert key.public_key_pem == public_pem(private_key)  # type: ignore[arg-type]
    rows = accounts.store.query("SELECT * FROM accounts_api_keys")
    assert not any("PRIVATE" in str(value) for row in rows for value in row)
    headers = kalshi_sdk_headers(key.key_id, private_key, "GET", "https://x/trade-api/v2/portfolio/balance", NOW_MS)  # type: ignore[arg-type]
    ok(accounts.verifier.verify_request(headers, "GET", "/trade-api/v2/portfolio/balance"))


def test_generate_refuses_unknown_key_type_and_member(accounts: Accounts) -> None:
    member = accounts.members.create("alice@example.com", "correct horse", engine_account_id=1)
    expect_refusal("invalid_key_type", accounts.keys.generate, member.member_id, "bot", "dsa")
    expect_refusal("member_not_found", accounts.keys.generate, 99, "bot")


def test_key_ids_carry_the_environment(clock: FakeClock, ed_key: ed25519.Ed25519PrivateKey) -> None:
    accounts = Accounts(MemoryStore(), environment="prod", clock=clock.now_ms, password_cost=CHEAP)
    _, key_id = member_with_key(accounts, ed_key)
    assert re.fullmatch(f"prod_{_UUID4}", key_id)
    expect_refusal("invalid_environment", Accounts, MemoryStore(), environment="staging")


def test_register_accepts_rsa_spki_rsa_pkcs1_and_ed25519(accounts: Accounts, rsa_key: rsa.RSAPrivateKey,
                                                          ed_key: ed25519.Ed25519PrivateKey) -> None:
    member = accounts.members.create("alice@example.com", "correct horse", engine_account_id=1)
    pkcs1 = rsa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()
    assert pkcs1.startswith("-----BEGIN RSA PUBLIC KEY-----")
    for pem, kind in ((public_pem(rsa_key), "rsa"), (pkcs1, "rsa"), (public_pem(ed_key), "ed25519")):
        key = accounts.keys.register(member.member_id, "mine", pem)
        assert key.key_type == kind and key.public_key_pem.startswith("-----BEGIN PUBLIC KEY-----")


def test_register_refuses_other_keys(accounts: Accounts, rsa_key: rsa.RSAPrivateKey) -> None:
    member_id = accounts.members.create("alice@example.com", "correct horse", engine_account_id=1).member_id
    ec_pem = public_pem(ec.generate_private_key(ec.SECP256R1()))  # type: ignore[arg-type]
    dsa_pem = public_pem(dsa.generate_private_key(2048))  # type: ignore[arg-type]
    small = public_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    private = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    cases = [
        (ec_pem, "unsupported_key_type"), (dsa_pem, "unsupported_key_type"),
        (small, "key_too_small"), (private, "invalid_public_key"),
        ("not a key", "invalid_public_key"), (public_pem(rsa_key)[:200], "invalid_public_key"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "invalid_public_key"),
    ]
    for pem, code in cases:
        expect_refusal(code, accounts.keys.register, member_id, "bad", pem)
    assert "1024 bits" in expect_refusal("key_too_small", accounts.keys.register, member_id, "bad", small).message
    assert accounts.keys.list(member_id) == []


def test_list_and_delete(accounts: Accounts, rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey) -> None:
    alice, first = member_with_key(accounts, rsa_key)
    second = accounts.keys.register(alice, "two", public_pem(ed_key)).key_id
    bob, other = member_with_key(accounts, ed_key, email="bob@example.com")
    assert {k.key_id for k in accounts.keys.list(alice)} == {first, second}
    expect_refusal("key_not_found", accounts.keys.delete, other, member_id=alice)  # not hers
    accounts.keys.delete(first, member_id=alice)
    assert [k.key_id for k in accounts.keys.list(alice)] == [second]
    assert accounts.keys.get(first) is None
    expect_refusal("key_not_found", accounts.keys.delete, first)
    assert [k.key_id for k in accounts.keys.list(bob)] == [other]


def test_keys_per_member_are_bounded(accounts: Accounts, ed_key: ed25519.Ed25519PrivateKey) -> None:
    member_id, _ = member_with_key(accounts, ed_key)
    for _ in range(99):
        accounts.keys.register(member_id, "k", public_pem(ed_key))
    expect_refusal("too_many_keys", accounts.keys.register, member_id, "k", public_pem(ed_key))


def test_scopes(accounts: Accounts, ed_key: ed25519.Ed25519PrivateKey) -> None:
    member_id = accounts.members.create("alice@example.com", "correct horse", engine_account_id=1).member_id
    pem = public_pem(ed_key)
    assert accounts.keys.register(member_id, "k", pem).scopes == ("read", "write")
    assert accounts.keys.register(member_id, "k", pem, ["read"]).scopes == ("read",)
    fine = ["read", "write::trade", "read::portfolio_balance", "write::transfer", "write::fcm_risk",
            "read::block_trade_accept", "write::block_trade_accept", "write", "read"]
    assert accounts.keys.register(member_id, "k", pem, fine).scopes == tuple(dict.fromkeys(fine))
    assert "requires the read scope" in expect_refusal("invalid_scope", accounts.keys.register, member_id, "k", pem, ["write"]).message
    expect_refusal("invalid_scope", accounts.keys.register, member_id, "k", pem, ["admin"])
    expect_refusal("invalid_scope", accounts.keys.register, member_id, "k", pem, [])
    expect_refusal("invalid_scope", accounts.keys.generate, member_id, "k", "ed25519", ["read", "trade"])
    assert has_scope(("read",), "read::portfolio_balance") and has_scope(("write::trade",), "write::trade")
    assert not has_scope(("read",), "write") and not has_scope(("read", "write::trade"), "write::transfer")
    assert not has_scope(("write::trade",), "write")


class CountingStore(MemoryStore):
    """A memory store that counts queries, to show verification does not touch the database."""

    def __init__(self) -> None:
        super().__init__()
        self.queries: list[str] = []

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.queries.append(sql)
        return super().query(sql, params)


def test_parsed_keys_are_cached_and_evicted_on_delete(clock: FakeClock, private_key: PrivateKey) -> None:
    store = CountingStore()
    accounts = Accounts(store, clock=clock.now_ms, password_cost=CHEAP)
    _, key_id = member_with_key(accounts, private_key)
    store.queries.clear()
    for i in range(20):
        headers = kalshi_sdk_headers(key_id, private_key, "GET", f"https://x/trade-api/v2/markets/T{i}", NOW_MS)
        ok(accounts.verifier.verify_request(headers, "GET", f"/trade-api/v2/markets/T{i}"))
    assert store.queries == []
    restarted = Accounts(store, clock=clock.now_ms, password_cost=CHEAP)  # a fresh cache: loads once
    store.queries.clear()
    for _ in range(3):
        ok(restarted.verifier.verify_request(headers, "GET", "/trade-api/v2/markets/T19"))
    assert len([q for q in store.queries if "accounts_api_keys" in q]) == 1
    restarted.keys.delete(key_id)
    refused(restarted.verifier.verify_request(headers, "GET", "/trade-api/v2/markets/T19"), AuthReason.UNKNOWN_KEY)


# --- Kalshi v2 signatures ---------------------------------------------------------------------------


def test_kalshi_sdk_signatures_verify(accounts: Accounts, private_key: PrivateKey) -> None:
    member_id, key_id = member_with_key(accounts, private_key)
    requests = [
        ("GET", "https://external-api.kalshi.com/trade-api/v2/portfolio/orders?limit=5", "/trade-api/v2/portfolio/orders?limit=5", None),
        ("POST", "https://x/trade-api/v2/portfolio/events/orders", "/trade-api/v2/portfolio/events/orders", b'{"ticker": "T"}'),
        ("DELETE", "https://x/trade-api/v2/api_keys/abc", "/trade-api/v2/api_keys/abc", None),
        ("GET", "wss://x/trade-api/ws/v2", "/trade-api/ws/v2", None),
    ]
    for method, url, target, body in requests:
        headers = kalshi_sdk_headers(key_id, private_key, method, url, NOW_MS)
        result = ok(accounts.verifier.verify_request(headers, method, target, body))
        assert result.member.member_id == member_id and result.form is SignedForm.KALSHI_V2
        assert result.key is not None and result.key.key_id == key_id and result.scopes == ("read", "write")
        fresh = kalshi_sdk_headers(key_id, private_key, method, url, NOW_MS + 1)  # a write is accepted once
        lower = {k.lower(): v for k, v in fresh.items()}
        ok(accounts.verifier.verify_request(lower, method.lower(), target, body))


@pytest.mark.parametrize("salt_length", [32, padding.PSS.MAX_LENGTH, 0, 64])
def test_any_valid_pss_salt_length_is_accepted(accounts: Accounts, rsa_key: rsa.RSAPrivateKey, salt_length: int) -> None:
    _, key_id = member_with_key(accounts, rsa_key)
    text = f"{NOW_MS}GET/trade-api/v2/portfolio/balance"
    headers = {"KALSHI-ACCESS-KEY": key_id, "KALSHI-ACCESS-TIMESTAMP": str(NOW_MS),
               "KALSHI-ACCESS-SIGNATURE": sign(rsa_key, text, salt_length)}
    ok(accounts.verifier.verify_request(headers, "GET", "/trade-api/v2/portfolio/balance"))


def test_kalshi_v2_does_not_sign_the_query_or_the_body(accounts: Accounts, rsa_key: rsa.RSAPrivateKey) -> None:
    _, key_id = member_with_key(accounts, rsa_key)
    signed_with_query = {"KALSHI-ACCESS-KEY": key_id, "KALSHI-ACCESS-TIMESTAMP": str(NOW_MS),
                         "KALSHI-ACCESS-SIGNATURE": sign(rsa_key, f"{NOW_MS}GET/trade-api/v2/markets?limit=5")}
    failure = refused(accounts.verifier.verify_request(signed_with_query, "GET", "/trade-api/v2/markets?limit=5"),
                      AuthReason.BAD_SIGNATURE)
    assert failure.expected == (f"{NOW_MS}GET/trade-api/v2/markets",)


# --- the seed's signatures ------------------------------------------------------------------------


def test_seed_client_signatures_verify(accounts: Accounts, private_key: PrivateKey) -> None:
    member_id, key_id = member_with_key(accounts, private_key)
    seed = SeedKalshiAuth(key_id, private_key)
    order = {"market_id": "INXCHI-25JAN31-T69.5", "side": "yes", "order_type": "limit", "price": 6500, "quantity": 10,
             "client_order_id": "é-1", "nested": {"z": 1, "a": [1.5, None, True]}}
    calls: list[tuple[str, str, Any]] = [
        ("GET", "/markets", None), ("GET", "/markets/INXCHI-25JAN31-T69.5/orderbook", None),
        ("POST", "/orders", order), ("DELETE", "/orders/123", None), ("POST", "/log_in", None),
        ("POST", "/orders", {}), ("GET", "/portfolio/fills?limit=5", None),
    ]
    for method, path, body in calls:
        headers, target, sent = seed.prepare(method, path, body)
        assert target.startswith("/v1/")
        result = ok(accounts.verifier.verify_request(headers, method, target, sent))
        assert result.member.member_id == member_id and result.form is SignedForm.SEED


def test_seed_body_is_recompacted_not_taken_as_sent(accounts: Accounts, rsa_key: rsa.RSAPrivateKey) -> None:
    _, key_id = member_with_key(accounts, rsa_key)
    body = {"b": "caf\u00e9", "a": [1, 2.5]}
    headers, target, sent = SeedKalshiAuth(key_id, rsa_key).prepare("POST", "/orders", body)
    assert sent == b'{"b": "caf\\u00e9", "a": [1, 2.5]}'  # what requests sends
    assert compact_json(sent) == '{"b":"caf\\u00e9","a":[1,2.5]}'  # what the seed signed
    ok(accounts.verifier.verify_request(headers, "POST", target, sent))
    tampered = sent.replace(b"2.5", b"3.5")
    failure = refused(accounts.verifier.verify_request(headers, "POST", target, tampered), AuthReason.BAD_SIGNATURE)
    assert failure.expected[0] == '2026-11-23T10:00:00.1234ZPOST/orders{"b":"caf\\u00e9","a":[1,3.5]}'
    assert failure.expected[0] in failure.message or repr(failure.expected[0]) in failure.message


def test_seed_form_over_the_full_path_is_accepted(accounts: Accounts, ed_key: ed25519.Ed25519PrivateKey) -> None:
    _, key_id = member_with_key(accounts, ed_key)
    timestamp = "2026-11-23T10:00:00.123Z"
    body = {"quantity": 1}
    headers = {"KALSHI-ACCESS-KEY": key_id, "KALSHI-ACCESS-TIMESTAMP": timestamp,
               "KALSHI-ACCESS-SIGNATURE": sign(ed_key, f'{timestamp}POST/v1/orders{{"quantity":1}}')}
    ok(accounts.verifier.verify_request(headers, "POST", "/v1/orders", json.dumps(body).encode()))


@pytest.mark.parametrize(("timestamp", "expected_ms"), [
    ("2026-11-23T10:00:00Z", NOW_MS - 123), ("2026-11-23T10:00:00.1Z", NOW_MS - 23), ("2026-11-23T10:00:00.12Z", NOW_MS - 3),
    ("2026-11-23T10:00:00.123Z", NOW_MS), ("2026-11-23T10:00:00.1234Z", NOW_MS), ("2026-11-23T10:00:00.123456Z", NOW_MS),
    ("2026-11-23T10:00:00.123456789Z", NOW_MS), ("2026-11-23T10:00:00.123+00:00", NOW_MS), (str(NOW_MS), NOW_MS),
])
def test_timestamp_forms(timestamp: str, expected_ms: int) -> None:
    parsed = parse_timestamp_ms(timestamp)
    assert parsed is not None and parsed[0] == expected_ms


def test_iso_timestamps_agree_with_datetime() -> None:
    moment = dt.datetime(1999, 12, 31, 23, 59, 58, tzinfo=dt.UTC)
    while moment.year < 2102:  # every leap rule: 2000 (leap), 2100 (not)
        text = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        parsed = parse_timestamp_ms(text)
        expected_ms = (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(milliseconds=1)
        assert parsed is not None and parsed[0] == expected_ms, text
        moment += dt.timedelta(days=13, hours=7, minutes=11, seconds=17, microseconds=123_457)
    for impossible in ("2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z",
                       "2026-01-01T00:00:60Z", "2026-00-10T00:00:00Z"):
        assert parse_timestamp_ms(impossible) is None, impossible
    assert parse_timestamp_ms("2000-02-29T00:00:00Z") is not None


@pytest.mark.parametrize("timestamp", ["2026-11-23 10:00:00Z", "2026-11-23T10:00:00", "2026-13-01T00:00:00Z", "12a4", "", "-1",
                                       "2026-11-23T10:00:00.Z", "2026-11-23T10:00:00+01:00"])
def test_malformed_timestamps(accounts: Accounts, ed_key: ed25519.Ed25519PrivateKey, timestamp: str) -> None:
    assert parse_timestamp_ms(timestamp) is None
    if timestamp:
        _, key_id = member_with_key(accounts, ed_key)
        headers = {"KALSHI-ACCESS-KEY": key_id, "KALSHI-ACCESS-TIMESTAMP": timestamp, "KALSHI-ACCESS-SIGNATURE": "AAAA"}
        refused(accounts.verifier.verify_request(headers, "GET", "/v1/markets"), AuthReason.MALFORMED_TIMESTAMP)


# --- refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["KALSHI-ACCESS-KEY", "KALSHI-ACCESS-TIMESTAMP", "KALSHI-ACCESS-SIGNATURE"])
def test_missing_header(accounts: Accounts, ed_key: ed25519.Ed25519PrivateKey, missing: str) -> None:
    _, key_id = member_with_key(accounts, ed_key)
    headers = kalshi_sdk_headers(key_id, ed_key, "GET", "https://x/trade-api/v2/portfolio/balance", NOW_MS)
    del headers[missing]
    failure = refused(accounts.verifier.verify_request(headers, "GET", "/trade-api/v2/portfolio/balance"), AuthReason.MISSING_HEADER)
    assert missing in failure.message
    headers[missing] = ""
    refused(accounts.verifier.verify_request(headers, "GET", "/trade-api/v2/portfolio/balance"), AuthReason.MISSING_HEADER)


@pytest.mark.parametrize(("offset_ms", "passes"), [(0, True), (30_000, True), (-30_000, True), (30_001, False), (-30_001, False),
                                                   (3_600_000, False)])
def test_timestamp_window_edges(accounts: Accounts, clock: FakeClock, private_key: PrivateKey, offset_ms: int, passes: bool) -> None:
    _, key_id = member_with_key(accounts, private_key)
    timestamp_ms = NOW_MS + offset_ms
    headers = kalshi_sdk_headers(key_id, private_key, "GET", "https://x/trade-api/v2/portfolio/balance", timestamp_ms)
    result = accounts.verifier.verify_request(headers, "GET", "/trade-api/v2/portfolio/balance")
    if passes:
        ok(result)
    else:
        failure = refused(result, AuthReason.STALE_TIMESTAMP)
        assert ("ahead of" if offset_ms > 0 else "behind") in failure.message and "±30.000 s" in failure.message


@pytest.mark.parametrize(("clock_offset_ms", "passes"), [(29_999, True), (30_000, True), (30_001, False), (-30_000, True), (-30_001, False)])
def test_seed_timestamp_window_edges(accounts: Accounts, clock: FakeClock, rsa_key: rsa.RSAPrivateKey, clock_offset_ms: int,
                                     passes: bool) -> None:
    _, key_id = member_with_key(accounts, rsa_key)
    headers, target, sent = SeedKalshiAuth(key_id, rsa_key).prepare("GET", "/markets")  # stamped NOW_MS (…00.1234Z)
    clock._now_ms = NOW_MS + clock_offset_ms
    result = accounts.verifier.verify_request(headers, "GET", target, sent)
    assert isinstance(result, Authenticated) is passes, result


def test_window_is_configurable(clock: FakeClock, ed_key: ed25519.Ed25519PrivateKey) -> None:
    accounts = Accounts(MemoryStore(), clock=clock.now_ms, timestamp_window_ms=5_000, password_cost=CHEAP)
    _, key_id = member_with_key(accounts, ed_key)
    for offset_ms, passes in ((5_000, True), (5_001, False)):
        headers = kalshi_sdk_headers(key_id, ed_key, "GET", "https://x/trade-api/v2/markets", NOW_MS - offset_ms)
        assert isinstance(accounts.verifier.verify_request(headers, "GET", "/trade-api/v2/markets"), Authenticated) is passes


def test_unknown_and_deleted_keys(clock: FakeClock, ed_key: ed25519.Ed25519PrivateKey) -> None:
    accounts = Accounts(MemoryStore(), clock=clock.now_ms, password_cost=CHEAP)
    _, key_id = member_with_key(accounts, ed_key)
    url, path = "https://x/trade-api/v2/markets", "/trade-api/v2/markets"
    for unknown in ("a952bcbe-ec3b-4b5b-b8f9-11dae589608c", "demo_a952bcbe-ec3b-4b5b-b8f9-11dae589608c", "x" * 5000):
        failure = refused(accounts.verifier.verify_request(kalshi_sdk_headers(unknown, ed_key, "GET", url, NOW_MS), "GET", path),
                          AuthReason.UNKNOWN_KEY)
        assert "unknown or deleted" in failure.message and len(failure.message) < 200
    prod_id = "prod_" + key_id.removeprefix("demo_")
    failure = refused(accounts.verifier.verify_request(kalshi_sdk_headers(prod_id, ed_key, "GET", url, NOW_MS), "GET", path),
                      AuthReason.UNKNOWN_KEY)
    assert "another environment" in failure.message
    accounts.keys.delete(key_id)
    refused(accounts.verifier.verify_request(kalshi_sdk_headers(key_id, ed_key, "GET", url, NOW_MS), "GET", path), AuthReason.UNKNOWN_KEY)


def test_malformed_signatures(accounts: Accounts, private_key: PrivateKey) -> None:
    _, key_id = member_with_key(accounts, private_key)
    headers = kalshi_sdk_headers(key_id, private_key, "GET", "https://x/trade-api/v2/markets", NOW_MS)
    good = base64.b64decode(headers["KALSHI-ACCESS-SIGNATURE"])
    for bad in ("not base64!!", base64.b64encode(good[:-1]).decode(), base64.b64encode(good + b"\0").decode(), "A" * 3000):
        headers["KALSHI-ACCESS-SIGNATURE"] = bad
        refused(accounts.verifier.verify_request(headers, "GET", "/trade-api/v2/markets"), AuthReason.MALFORMED_SIGNATURE)
    headers["KALSHI-ACCESS-SIGNATURE"] = base64.urlsafe_b64encode(good).decode().rstrip("=")  # tolerated spelling
    ok(accounts.verifier.verify_request(headers, "GET", "/trade-api/v2/markets"))


def test_bad_signature_says_what_was_expected(accounts: Accounts, private_key: PrivateKey, rsa_key: rsa.RSAPrivateKey,
                                              ed_key: ed25519.Ed25519PrivateKey) -> None:
    _, key_id = member_with_key(accounts, private_key)
    other = ed25519.Ed25519PrivateKey.generate() if private_key is ed_key else rsa.generate_private_key(65537, 2048)
    wrong_key = kalshi_sdk_headers(key_id, other, "GET", "https://x/trade-api/v2/portfolio/balance", NOW_MS)
    failure = refused(accounts.verifier.verify_request(wrong_key, "GET", "/trade-api/v2/portfolio/balance"), AuthReason.BAD_SIGNATURE)
    assert f"'{NOW_MS}GET/trade-api/v2/portfolio/balance'" in failure.message and key_id in failure.message
    wrong_path = kalshi_sdk_headers(key_id, private_key, "GET", "https://x/portfolio/balance", NOW_MS)  # forgot the prefix
    failure = refused(accounts.verifier.verify_request(wrong_path, "GET", "/trade-api/v2/portfolio/balance"), AuthReason.BAD_SIGNATURE)
    assert failure.expected == (f"{NOW_MS}GET/trade-api/v2/portfolio/balance",)
    seed_headers, target, sent = SeedKalshiAuth(key_id, private_key).prepare("POST", "/orders", {"quantity": 1})
    failure = refused(accounts.verifier.verify_request(seed_headers, "DELETE", target, sent), AuthReason.BAD_SIGNATURE)
    assert failure.expected == ('2026-11-23T10:00:00.1234ZDELETE/orders{"quantity":1}',
                                '2026-11-23T10:00:00.1234ZDELETE/v1/orders{"quantity":1}',
                                '2026-11-23T10:00:00.1234ZDELETE/orders{"quantity": 1}',
                                '2026-11-23T10:00:00.1234ZDELETE/v1/orders{"quantity": 1}')
    assert all(repr(text) in failure.message for text in failure.expected)


def test_insufficient_scope(accounts: Accounts, ed_key: ed25519.Ed25519PrivateKey) -> None:
    _, key_id = member_with_key(accounts, ed_key, scopes=["read"])
    headers = kalshi_sdk_headers(key_id, ed_key, "POST", "https://x/trade-api/v2/portfolio/events/orders", NOW_MS)
    failure = refused(accounts.verifier.verify_request(headers, "POST", "/trade-api/v2/portfolio/events/orders",
                                                       required_scope="write::trade"), AuthReason.INSUFFICIENT_SCOPE)
    assert "'write::trade'" in failure.message and "scopes read" in failure.message
    ok(accounts.verifier.verify_request(headers, "POST", "/trade-api/v2/portfolio/events/orders", required_scope="read::portfolio_balance"))


def test_verify_with_key_for_fix_logon(accounts: Accounts, clock: FakeClock, private_key: PrivateKey) -> None:
    member_id, key_id = member_with_key(accounts, private_key)
    pre_hash = f"20261123-10:00:00.123\x01A\x011\x01{key_id}\x01KalshiNR".encode()
    raw_data = sign(private_key, pre_hash.decode())
    result = ok(accounts.verifier.verify_with_key(key_id, pre_hash, raw_data, timestamp_ms=NOW_MS))
    assert result.member.member_id == member_id and result.form is SignedForm.FIX
    failure = refused(accounts.verifier.verify_with_key(key_id, pre_hash.replace(b"\x011\x01", b"\x012\x01"), raw_data),
                      AuthReason.BAD_SIGNATURE)
    assert "\\x01A\\x012\\x01" in failure.message
    refused(accounts.verifier.verify_with_key(key_id, pre_hash, raw_data, timestamp_ms=NOW_MS - 30_001), AuthReason.STALE_TIMESTAMP)
    refused(accounts.verifier.verify_with_key("demo_nope", pre_hash, raw_data), AuthReason.UNKNOWN_KEY)
    refused(accounts.verifier.verify_with_key(key_id, pre_hash, "!!"), AuthReason.MALFORMED_SIGNATURE)


# --- sessions ----------------------------------------------------------------------------------------


def seed_log_in(accounts: Accounts, key_id: str, private_key: PrivateKey) -> str:
    headers, target, sent = SeedKalshiAuth(key_id, private_key).prepare("POST", "/log_in")
    session = accounts.log_in(headers, "POST", target, sent)
    assert not isinstance(session, AuthFailure), session
    return session.token


def test_seed_log_in_gives_a_30_minute_bearer_token(accounts: Accounts, clock: FakeClock, private_key: PrivateKey) -> None:
    member_id, key_id = member_with_key(accounts, private_key, scopes=["read"])
    token = seed_log_in(accounts, key_id, private_key)
    result = ok(accounts.sessions.authenticate_bearer(f"Bearer {token}"))
    assert (result.member.member_id, result.scopes, result.form) == (member_id, ("read",), SignedForm.SESSION)
    assert result.key is not None and result.key.key_id == key_id
    ok(accounts.sessions.authenticate_bearer(f"{member_id} {token}"))  # the historic form
    ok(accounts.sessions.authenticate_bearer(f"bearer {member_id}:{token}"))
    refused(accounts.sessions.authenticate_bearer(f"{member_id + 1} {token}"), AuthReason.INVALID_TOKEN)
    refused(accounts.sessions.authenticate_bearer(f"Bearer {token}", required_scope="write"), AuthReason.INSUFFICIENT_SCOPE)
    clock.advance(30 * 60_000 - 1)
    ok(accounts.sessions.authenticate_bearer(f"Bearer {token}"))
    clock.advance(1)
    refused(accounts.sessions.authenticate_bearer(f"Bearer {token}"), AuthReason.EXPIRED_TOKEN)


def test_log_in_needs_a_good_signature(accounts: Accounts, ed_key: ed25519.Ed25519PrivateKey) -> None:
    _, key_id = member_with_key(accounts, ed_key)
    headers, target, sent = SeedKalshiAuth(key_id, ed_key).prepare("POST", "/log_in")
    headers["KALSHI-ACCESS-TIMESTAMP"] = "2026-11-23T10:00:01.1234Z"
    refused(accounts.log_in(headers, "POST", target, sent), AuthReason.BAD_SIGNATURE)


def test_refresh_before_expiry(accounts: Accounts, clock: FakeClock, ed_key: ed25519.Ed25519PrivateKey) -> None:
    _, key_id = member_with_key(accounts, ed_key)
    token = seed_log_in(accounts, key_id, ed_key)
    clock.advance(29 * 60_000)
    renewed = accounts.sessions.refresh(f"Bearer {token}")
    assert not isinstance(renewed, AuthFailure) and renewed.token == token and renewed.expires_ms == NOW_MS + 59 * 60_000
    clock.advance(29 * 60_000)
    ok(accounts.sessions.authenticate_bearer(f"Bearer {token}"))
    clock.advance(60_000)
    refused(accounts.sessions.refresh(f"Bearer {token}"), AuthReason.EXPIRED_TOKEN)


def test_a_session_slides_with_activity_and_ends_thirty_minutes_after_the_last(
        accounts: Accounts, clock: FakeClock, ed_key: ed25519.Ed25519PrivateKey) -> None:
    _, key_id = member_with_key(accounts, ed_key)
    token = seed_log_in(accounts, key_id, ed_key)
    for _ in range(6):  # an hour of activity, every ten minutes: the session lives on
        clock.advance(10 * 60_000)
        assert accounts.sessions.slide(token) == clock.now_ms() + 30 * 60_000
        ok(accounts.sessions.authenticate_bearer(f"Bearer {token}"))
    clock.advance(30_000)  # within a minute of the last slide: nothing is written, the expiry stays
    assert accounts.sessions.slide(token) == clock.now_ms() - 30_000 + 30 * 60_000
    clock.advance(30 * 60_000 - 30_000)  # thirty minutes after the last activity
    refused(accounts.sessions.authenticate_bearer(f"Bearer {token}"), AuthReason.EXPIRED_TOKEN)
    assert accounts.sessions.slide(token) is None  # an expired session does not come back
    assert accounts.sessions.slide("not-a-token") is None


def test_token_dies_with_its_key_but_password_sessions_do_not(accounts: Accounts, ed_key: ed25519.Ed25519PrivateKey) -> None:
    _, key_id = member_with_key(accounts, ed_key)
    token = seed_log_in(accounts, key_id, ed_key)
    legacy = accounts.sessions.log_in_password("alice@example.com", "correct horse")
    assert not isinstance(legacy, AuthFailure) and legacy.key_id is None and legacy.member_id == 1
    accounts.keys.delete(key_id)
    failure = refused(accounts.sessions.authenticate_bearer(f"Bearer {token}"), AuthReason.INVALID_TOKEN)
    assert "deleted" in failure.message
    refused(accounts.sessions.refresh(f"Bearer {token}"), AuthReason.INVALID_TOKEN)
    result = ok(accounts.sessions.authenticate_bearer(f"1 {legacy.token}"))
    assert result.key is None and result.scopes == ("read", "write")


def test_password_login_refusals_and_log_out(accounts: Accounts) -> None:
    accounts.members.create("alice@example.com", "correct horse", engine_account_id=1)
    refused(accounts.sessions.log_in_password("alice@example.com", "wrong horse"), AuthReason.BAD_CREDENTIALS)
    refused(accounts.sessions.log_in_password("eve@example.com", "correct horse"), AuthReason.BAD_CREDENTIALS)
    session = accounts.sessions.log_in_password("alice@example.com", "correct horse")
    assert not isinstance(session, AuthFailure)
    assert accounts.sessions.log_out(f"Bearer {session.token}") is None
    refused(accounts.sessions.authenticate_bearer(f"Bearer {session.token}"), AuthReason.INVALID_TOKEN)


@pytest.mark.parametrize(("header", "reason"), [
    (None, AuthReason.MISSING_HEADER), ("", AuthReason.MISSING_HEADER), ("Bearer", AuthReason.INVALID_TOKEN),
    ("Basic dXNlcjpwYXNz", AuthReason.INVALID_TOKEN), ("Bearer nonsense", AuthReason.INVALID_TOKEN),
    ("Bearer " + "x" * 5000, AuthReason.INVALID_TOKEN),
])
def test_bad_authorization_headers(accounts: Accounts, header: str | None, reason: AuthReason) -> None:
    refused(accounts.sessions.authenticate_bearer(header), reason)


def test_tokens_are_stored_hashed_and_survive_a_restart(tmp_path: Path, clock: FakeClock, ed_key: ed25519.Ed25519PrivateKey) -> None:
    def open_accounts() -> tuple[JournalStore, Accounts]:
        store = SqliteStore(tmp_path / "exchange.db")
        return store, Accounts(store, clock=clock.now_ms, password_cost=CHEAP)

    store, accounts = open_accounts()
    _, key_id = member_with_key(accounts, ed_key)
    token = seed_log_in(accounts, key_id, ed_key)
    legacy = accounts.sessions.log_in_password("alice@example.com", "correct horse")
    assert not isinstance(legacy, AuthFailure)
    rows = store.query("SELECT token_hash, member_id, key_id, scopes FROM accounts_sessions ORDER BY created_ms, key_id")
    assert not any(token in str(value) or legacy.token in str(value) for row in rows for value in row)
    assert hashlib.sha256(token.encode()).hexdigest() in {row[0] for row in rows}
    store.close()
    store, accounts = open_accounts()
    ok(accounts.sessions.authenticate_bearer(f"Bearer {token}"))
    ok(accounts.sessions.authenticate_bearer(f"Bearer {legacy.token}"))
    accounts.keys.delete(key_id)
    store.close()
    store, accounts = open_accounts()
    refused(accounts.sessions.authenticate_bearer(f"Bearer {token}"), AuthReason.INVALID_TOKEN)
    ok(accounts.sessions.authenticate_bearer(f"Bearer {legacy.token}"))
    clock.advance(30 * 60_000)
    refused(accounts.sessions.authenticate_bearer(f"Bearer {legacy.token}"), AuthReason.EXPIRED_TOKEN)
    store.close()


def test_accounts_authenticate_takes_either_a_signature_or_a_token(accounts: Accounts, ed_key: ed25519.Ed25519PrivateKey) -> None:
    _, key_id = member_with_key(accounts, ed_key)
    headers = kalshi_sdk_headers(key_id, ed_key, "GET", "https://x/trade-api/v2/portfolio/balance", NOW_MS)
    assert ok(accounts.authenticate(headers, "GET", "/trade-api/v2/portfolio/balance")).form is SignedForm.KALSHI_V2
    token = seed_log_in(accounts, key_id, ed_key)
    assert ok(accounts.authenticate({"authorization": f"Bearer {token}"}, "GET", "/v1/orders")).form is SignedForm.SESSION
    refused(accounts.authenticate({}, "GET", "/v1/orders"), AuthReason.MISSING_HEADER)
    refused(accounts.authenticate({"Kalshi-Access-Key": key_id}, "GET", "/v1/orders"), AuthReason.MISSING_HEADER)


# --- rate limits -------------------------------------------------------------------------------------


def test_tier_budgets_are_the_reference_figures() -> None:
    figures = {tier: (budget(tier, Lane.READ), budget(tier, Lane.WRITE)) for tier in Tier}
    expected = {  # (read rate, read capacity, write rate, write capacity)
        Tier.BASIC: (200, 400, 100, 100), Tier.ADVANCED: (300, 600, 300, 600), Tier.EXPERT: (600, 600, 600, 1200),
        Tier.PREMIER: (1000, 1000, 1000, 2000), Tier.PARAGON: (2000, 2000, 2000, 4000),
        Tier.PRIME: (4000, 4000, 4000, 8000), Tier.PRESTIGE: (10_000, 10_000, 8000, 16_000),
    }
    for tier, (read, write) in figures.items():
        assert (read.refill_rate, read.bucket_capacity, write.refill_rate, write.bucket_capacity) == expected[tier]


@pytest.mark.parametrize("tier", list(Tier))
@pytest.mark.parametrize("lane", list(Lane))
def test_bucket_drains_refuses_with_retry_after_and_refills(accounts: Accounts, clock: FakeClock, tier: Tier, lane: Lane) -> None:
    figures = budget(tier, lane)
    passes = figures.bucket_capacity // 10
    decisions = [accounts.limits.acquire(1, tier, lane) for _ in range(passes)]
    assert all(d.allowed for d in decisions)
    refusal = accounts.limits.acquire(1, tier, lane)
    wait_ms = -(-10_000 // figures.refill_rate)  # 10 tokens at refill_rate per second
    assert (refusal.allowed, refusal.retry_after_ms) == (False, wait_ms)
    clock.advance(wait_ms - 1)
    assert not accounts.limits.acquire(1, tier, lane).allowed
    clock.advance(1)
    assert accounts.limits.acquire(1, tier, lane).allowed
    clock.advance(10 * 60_000)
    assert accounts.limits.tokens(1, tier, lane) == figures.bucket_capacity  # never above capacity


def test_buckets_are_per_member_and_lane_with_costs(clock: FakeClock) -> None:
    accounts = Accounts(MemoryStore(), clock=clock.now_ms, password_cost=CHEAP,
                        endpoint_costs={("delete", "/portfolio/orders/{order_id}"): 2, ("POST", "/portfolio/orders"): 100})
    limits = accounts.limits
    assert limits.cost("DELETE", "/portfolio/orders/{order_id}") == 2 and limits.cost("GET", "/markets") == 10
    assert limits.acquire(1, Tier.BASIC, Lane.WRITE, limits.cost("POST", "/portfolio/orders")).allowed  # Basic write holds 100
    assert limits.acquire(1, Tier.BASIC, Lane.WRITE, 2).retry_after_ms == 20
    assert limits.acquire(2, Tier.BASIC, Lane.WRITE).allowed  # another member
    assert limits.acquire(1, Tier.BASIC, Lane.READ).allowed  # the other lane
    clock.advance(5)  # continuous refill: 0.5 token after 5 ms at 100/s
    assert not limits.acquire(1, Tier.BASIC, Lane.WRITE, 1).allowed
    clock.advance(5)
    assert limits.acquire(1, Tier.BASIC, Lane.WRITE, 1).allowed
    never = limits.acquire(3, Tier.BASIC, Lane.WRITE, 101)
    assert (never.allowed, never.retry_after_ms) == (False, None)


def test_tier_change_applies_new_figures(accounts: Accounts, clock: FakeClock) -> None:
    member = accounts.members.create("alice@example.com", "correct horse", engine_account_id=1)
    for _ in range(10):
        assert accounts.rate_limit(member, Lane.WRITE).allowed
    assert not accounts.rate_limit(member, Lane.WRITE).allowed
    member = accounts.members.set_tier(member.member_id, Tier.PREMIER)
    assert not accounts.rate_limit(member, Lane.WRITE).allowed  # the spent tokens stay spent
    clock.advance(10)
    assert accounts.rate_limit(member, Lane.WRITE).allowed  # refills at 1000/s now
    clock.advance(10_000)
    assert accounts.limits.tokens(member.member_id, Tier.PREMIER, Lane.WRITE) == 2000
