"""Accounts persistence on PostgreSQL (127.0.0.1:5432, or PREDICTEX_TEST_POSTGRES): members, keys and
session tokens written through one store are read back by a fresh one (a restart), deletions and
updates included. Each test runs in a schema of its own, dropped afterwards."""

from __future__ import annotations

import base64
import contextlib
import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from predictex.accounts import Accounts, AccountsError, Authenticated, AuthFailure, AuthReason, ScryptCost, Session, Tier
from predictex.journal.base import TableWrite
from predictex.journal.postgres import PostgresStore
from predictex.journal.records import JournalError
from predictex.server.clock import FakeClock

POSTGRES_URL = os.environ.get("PREDICTEX_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
NOW_MS = 1_795_428_000_123
OpenAccounts = Callable[[], Accounts]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW_MS)


@pytest.fixture
def reopen(clock: FakeClock) -> Iterator[OpenAccounts]:
    """Opens (and reopens) Accounts over the same PostgreSQL schema, as a restarted server would."""
    schema = f"test_accounts_{uuid.uuid4().hex[:12]}"
    stores: list[PostgresStore] = []

    def make() -> Accounts:
        store = PostgresStore(POSTGRES_URL, schema=schema)
        stores.append(store)
        return Accounts(store, clock=clock.now_ms, password_cost=ScryptCost(log2_n=4))

    yield make
    stores[0].drop_schema()
    for store in stores:
        with contextlib.suppress(Exception):
            store.close()


def signed_headers(key_id: str, private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey, method: str, path: str) -> dict[str, str]:
    text = f"{NOW_MS}{method}{path}".encode()
    if isinstance(private_key, rsa.RSAPrivateKey):
        signature = private_key.sign(text, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    else:
        signature = private_key.sign(text)
    return {"KALSHI-ACCESS-KEY": key_id, "KALSHI-ACCESS-TIMESTAMP": str(NOW_MS),
            "KALSHI-ACCESS-SIGNATURE": base64.b64encode(signature).decode()}


def test_members_persist(reopen: OpenAccounts) -> None:
    accounts = reopen()
    alice = accounts.members.create("Alice@Example.com", "correct horse", engine_account_id=11)
    bob = accounts.members.create("bob@example.com", "battery staple", engine_account_id=12, role="admin")
    accounts.members.set_tier(alice.member_id, Tier.PRIME)
    with pytest.raises(AccountsError) as caught:
        accounts.members.create("ALICE@example.com", "whatever1", engine_account_id=13)
    assert caught.value.code == "duplicate_email"
    again = reopen()
    found = again.members.get_by_email("alice@example.com")
    assert found is not None and (found.member_id, found.tier, found.engine_account_id) == (alice.member_id, Tier.PRIME, 11)
    assert again.members.get(bob.member_id) == bob
    assert again.members.authenticate("bob@example.com", "battery staple") == bob
    assert again.members.authenticate("bob@example.com", "battery stapler") is None
    assert [m.member_id for m in again.members.list()] == [alice.member_id, bob.member_id]
    assert again.members.create("carol@example.com", "password", engine_account_id=14).member_id == 3
    with pytest.raises(AccountsError):
        reopen().members.create("carol@EXAMPLE.com", "password", engine_account_id=15)
    duplicate = TableWrite("accounts_members", ("member_id", "email", "email_key", "password_hash", "role", "tier",
                                                "engine_account_id", "created_ms"),
                           [(99, "CAROL@example.com", "carol@example.com", "x", "member", "basic", 16, NOW_MS)])
    with pytest.raises(JournalError):  # the unique index holds even for a writer that skips the check
        again.store.write([duplicate])


def test_keys_persist_and_deletion_sticks(reopen: OpenAccounts) -> None:
    accounts = reopen()
    member = accounts.members.create("alice@example.com", "correct horse", engine_account_id=1)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    registered = accounts.keys.register(member.member_id, "mine", pem, ["read", "write", "write::trade"])
    generated = accounts.keys.generate(member.member_id, "theirs", "ed25519", ["read"])
    ed_key = serialization.load_pem_private_key(generated.private_key_pem.encode(), password=None)
    assert isinstance(ed_key, ed25519.Ed25519PrivateKey)
    again = reopen()
    assert {k.key_id: k.scopes for k in again.keys.list(member.member_id)} == {
        registered.key_id: ("read", "write", "write::trade"), generated.key.key_id: ("read",)}
    path = "/trade-api/v2/portfolio/balance"
    for key_id, private_key in ((registered.key_id, rsa_key), (generated.key.key_id, ed_key)):
        result = again.verifier.verify_request(signed_headers(key_id, private_key, "GET", path), "GET", path)
        assert isinstance(result, Authenticated) and result.member == member
    again.keys.delete(registered.key_id, member_id=member.member_id)
    third = reopen()
    assert [k.key_id for k in third.keys.list(member.member_id)] == [generated.key.key_id]
    result = third.verifier.verify_request(signed_headers(registered.key_id, rsa_key, "GET", path), "GET", path)
    assert isinstance(result, AuthFailure) and result.reason is AuthReason.UNKNOWN_KEY
    rows = third.store.query("SELECT deleted, deleted_ms FROM accounts_api_keys WHERE key_id = ?", (registered.key_id,))
    assert rows == [(True, NOW_MS)]


def test_sessions_persist_refresh_and_die_with_their_key(reopen: OpenAccounts, clock: FakeClock) -> None:
    accounts = reopen()
    member = accounts.members.create("alice@example.com", "correct horse", engine_account_id=1)
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    key_id = accounts.keys.register(member.member_id, "bot", pem).key_id
    signed = accounts.log_in(signed_headers(key_id, key, "POST", "/v1/log_in"), "POST", "/v1/log_in")
    legacy = accounts.sessions.log_in_password("alice@example.com", "correct horse")
    assert isinstance(signed, Session) and isinstance(legacy, Session)
    again = reopen()
    assert isinstance(again.sessions.authenticate_bearer(f"Bearer {signed.token}"), Authenticated)
    assert isinstance(again.sessions.authenticate_bearer(f"{member.member_id} {legacy.token}"), Authenticated)
    clock.advance(20 * 60_000)
    renewed = again.sessions.refresh(f"Bearer {legacy.token}")
    assert isinstance(renewed, Session) and renewed.expires_ms == NOW_MS + 50 * 60_000
    again.keys.delete(key_id)
    third = reopen()
    refused = third.sessions.authenticate_bearer(f"Bearer {signed.token}")
    assert isinstance(refused, AuthFailure) and refused.reason is AuthReason.INVALID_TOKEN and "deleted" in refused.message
    clock.advance(20 * 60_000)  # 40 minutes in: only the refreshed session lives
    assert isinstance(third.sessions.authenticate_bearer(f"Bearer {legacy.token}"), Authenticated)
    assert third.sessions.log_out(f"Bearer {legacy.token}") is None
    gone = reopen().sessions.authenticate_bearer(f"Bearer {legacy.token}")
    assert isinstance(gone, AuthFailure) and gone.reason is AuthReason.INVALID_TOKEN


def test_a_suspension_and_its_lifting_survive_a_restart(reopen: OpenAccounts) -> None:
    first = reopen()
    member = first.members.create("held@example.com", "correct horse", engine_account_id=3)
    first.suspend(member.member_id, "audit")
    restarted = reopen()
    found = restarted.members.get(member.member_id)
    assert found is not None and found.suspended
    assert [m.suspended for m in restarted.members.list()] == [True]
    refused = restarted.sessions.log_in_password("held@example.com", "correct horse")
    assert isinstance(refused, AuthFailure) and refused.reason is AuthReason.MEMBER_SUSPENDED
    restarted.members.reinstate(member.member_id)
    again = reopen().members.get_by_email("held@example.com")
    assert again is not None and not again.suspended
