"""API keys and members over real HTTP: keys generated (RSA, Ed25519) or registered, listed, scoped and
deleted (effective at once), ids that carry the environment (demo_/prod_); members with real password
hashes, sign-up (open in demo, the operator's in prod), the operator made on first start, the admin
role and per-account tiers, play money only in demo.

The demo exchange runs on SQLite; the prod one on PostgreSQL in a schema of its own when PostgreSQL is
reachable (it is on the project's machines), else on SQLite."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from integration.server_fixture import (
    V2,
    Credentials,
    Member,
    RunningServer,
    bearer,
    kalshi_v2,
    postgres_available,
    running_server,
    seed,
)

KEYS = V2 + "/api_keys"
SIGN_UP = "/predictex/v1/members"
KEY_ID = re.compile(r"(demo|prod)_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("demo")) as running:
        yield running


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("prod"), environment="prod", postgres=postgres_available()) as running:
        yield running


@pytest.fixture(scope="module")
def member(demo: RunningServer) -> Member:
    return demo.new_member("keys@example.com", tier="prime")


def _pem_public(private: Any) -> str:
    return str(private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode())


def _pem_private(private: Any) -> str:
    return str(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode())


# --- API keys -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("key_type", "pem_header"), [("rsa", "-----BEGIN RSA PRIVATE KEY-----"), ("ed25519", "-----BEGIN PRIVATE KEY-----")])
def test_a_generated_key_signs_requests(demo: RunningServer, member: Member, key_type: str, pem_header: str) -> None:
    reply = demo.request("POST", KEYS + "/generate", {"name": f"gen-{key_type}", "key_type": key_type}, auth=kalshi_v2(member.credentials))
    assert reply.status == 201, reply
    body = reply.json()
    assert set(body) == {"api_key_id", "key_type", "private_key"} and body["key_type"] == key_type
    assert KEY_ID.fullmatch(body["api_key_id"]) and body["api_key_id"].startswith("demo_")
    assert body["private_key"].startswith(pem_header)  # PKCS#1 for RSA, PKCS#8 for Ed25519, as Kalshi returns them
    credentials = Credentials.from_pem(body["api_key_id"], body["private_key"])
    assert demo.get(KEYS, auth=kalshi_v2(credentials)).status == 200
    assert demo.get(KEYS, auth=seed(credentials)).status == 200


@pytest.mark.parametrize("key_type", ["rsa", "ed25519"])
def test_a_registered_public_key_verifies_its_owners_signatures(demo: RunningServer, member: Member, key_type: str) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048) if key_type == "rsa" else ed25519.Ed25519PrivateKey.generate()
    reply = demo.request("POST", KEYS, {"name": f"mine-{key_type}", "public_key": _pem_public(private)}, auth=kalshi_v2(member.credentials))
    assert reply.status == 201, reply
    assert set(reply.json()) == {"api_key_id"}
    credentials = Credentials.from_pem(reply.json()["api_key_id"], _pem_private(private))
    assert demo.get_ok("/predictex/v1/members/me", auth=kalshi_v2(credentials))["email"] == member.email


def test_keys_are_listed_oldest_first_with_names_scopes_and_types(demo: RunningServer) -> None:
    owner = demo.new_member("lister@example.com", tier="prime")
    auth = kalshi_v2(owner.credentials)
    demo.request("POST", KEYS + "/generate", {"name": "reader", "key_type": "ed25519", "scopes": ["read"]}, auth=auth)
    demo.request("POST", KEYS + "/generate", {"name": "balance", "scopes": ["read::portfolio_balance"]}, auth=auth)
    listed = demo.get_ok(KEYS, auth=auth)["api_keys"]
    assert [(k["name"], k["scopes"], k["key_type"]) for k in listed] == [
        ("test", ["read", "write"], "rsa"), ("reader", ["read"], "ed25519"), ("balance", ["read::portfolio_balance"], "rsa")]
    assert listed[0]["api_key_id"] == owner.credentials.key_id
    assert all(set(k) == {"api_key_id", "name", "scopes", "key_type"} for k in listed)


@pytest.mark.parametrize(("path", "body", "code", "words"), [
    ("/generate", {"name": "w", "scopes": ["write"]}, "invalid_scope", "the write scope requires the read scope"),
    ("/generate", {"name": "w", "scopes": ["admin"]}, "invalid_scope", "unknown scope(s) 'admin'"),
    ("/generate", {"name": "w", "scopes": []}, "invalid_scope", "at least one scope"),
    ("/generate", {"name": "w", "scopes": "read"}, "invalid_parameters", "scopes must be a list of strings"),
    ("/generate", {"name": "w", "key_type": "dsa"}, "invalid_parameters", "key_type must be rsa or ed25519"),
    ("/generate", {"name": "w" * 201}, "invalid_parameters", "name is longer than 200 characters"),
    ("", {"name": "r"}, "missing_parameters", "public_key is required"),
    ("", {"name": "r", "public_key": "hello"}, "invalid_public_key", "not a readable PEM public key"),
    ("", {"name": "r", "public_key": "PRIVATE"}, "invalid_public_key", "this is a private key"),
    ("", {"name": "r", "public_key": "RSA1024"}, "key_too_small", "RSA key has 1024 bits; at least 2048"),
    ("", {"name": "r", "public_key": "EC"}, "unsupported_key_type", "keys are not supported: use RSA or Ed25519"),
    # a key bound to one subaccount or FCM subtrader is refused, never handed out unbound
    ("/generate", {"name": "w", "key_type": "ed25519", "subaccount": 1}, "invalid_parameters", "keys restricted to one subaccount"),
    ("", {"name": "r", "public_key": "EC", "subaccount": 0}, "invalid_parameters", "keys restricted to one subaccount"),
    ("/generate", {"name": "w", "key_type": "ed25519", "fcm_subtrader_id": "x_1"}, "invalid_parameters", "for FCM members"),
])
def test_key_requests_that_are_refused(demo: RunningServer, member: Member, path: str, body: dict[str, Any], code: str, words: str) -> None:
    replacements = {
        "PRIVATE": _pem_private(ed25519.Ed25519PrivateKey.generate()),
        "RSA1024": _pem_public(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
        "EC": _pem_public(ec.generate_private_key(ec.SECP256R1())),
    }
    if body.get("public_key") in replacements:
        body = {**body, "public_key": replacements[body["public_key"]]}
    reply = demo.request("POST", KEYS + path, body, auth=kalshi_v2(member.credentials))
    assert reply.status == 400, reply
    assert reply.error["code"] == code and words in reply.error["message"], reply.error


def test_deleting_a_key_takes_effect_at_once(demo: RunningServer, member: Member) -> None:
    auth = kalshi_v2(member.credentials)
    doomed = demo.request("POST", KEYS + "/generate", {"name": "doomed"}, auth=auth).json()
    credentials = Credentials.from_pem(doomed["api_key_id"], doomed["private_key"])
    assert demo.get(KEYS, auth=kalshi_v2(credentials)).status == 200
    deleted = demo.request("DELETE", f"{KEYS}/{credentials.key_id}", auth=auth)
    assert deleted.status == 204 and deleted.body == b""
    refused = demo.get(KEYS, auth=kalshi_v2(credentials))
    assert refused.status == 401 and refused.error["message"] == "unknown_key"
    assert credentials.key_id not in [k["api_key_id"] for k in demo.get_ok(KEYS, auth=auth)["api_keys"]]
    again = demo.request("DELETE", f"{KEYS}/{credentials.key_id}", auth=auth)
    assert again.status == 404 and again.error["code"] == "key_not_found"


def test_a_member_cannot_delete_another_members_key(demo: RunningServer, member: Member) -> None:
    other = demo.new_member("other@example.com")
    reply = demo.request("DELETE", f"{KEYS}/{other.credentials.key_id}", auth=kalshi_v2(member.credentials))
    assert reply.status == 404 and reply.error["code"] == "key_not_found"
    assert demo.get(KEYS, auth=kalshi_v2(other.credentials)).status == 200


# --- members --------------------------------------------------------------------------------------------

def test_sign_up_in_demo_then_log_in_with_play_money(demo: RunningServer) -> None:
    reply = demo.request("POST", SIGN_UP, {"email": "New.Person@Example.com", "password": "a long password"})
    assert reply.status == 202, reply
    assert reply.json()["email"] == "New.Person@Example.com" and "member_id" not in reply.json()
    # the same answer for an email already taken: sign-up tells nobody who is a member
    duplicate = demo.request("POST", SIGN_UP, {"email": "New.Person@Example.com", "password": "another password"})
    assert (duplicate.status, duplicate.json()) == (reply.status, reply.json())
    logged_in = demo.request("POST", V2 + "/login", {"email": "new.person@example.com", "password": "a long password"}).json()
    token = logged_in["token"]
    me = demo.get_ok("/predictex/v1/members/me", auth=bearer(token))
    assert (me["member_id"], me["role"], me["tier"], me["environment"]) == (logged_in["member_id"], "member", "basic", "demo")
    assert demo.request("POST", V2 + "/login", {"email": "new.person@example.com", "password": "another password"}).status == 401
    transfers = demo.get_ok("/predictex/v1/transfers", auth=bearer(token))["transfers"]
    assert transfers == [{"kind": "deposit", "status": "completed", "amount_dollars": "10000.0000",
                          "created_time": transfers[0]["created_time"], "reference": "demo starting balance", "withdrawal_id": None}]
    faucet = demo.request("POST", "/predictex/v1/demo/deposits", {"amount_dollars": "250.00"}, auth=bearer(token))
    assert faucet.status == 201 and faucet.json() == {"balance_dollars": "10250.0000", "balance": 1025000}
    too_much = demo.request("POST", "/predictex/v1/demo/deposits", {"amount_dollars": "100000.01"}, auth=bearer(token))
    assert too_much.status == 400 and "at most" in too_much.error["details"]


@pytest.mark.parametrize(("body", "code", "words"), [
    ({"email": "short@example.com", "password": "seven77"}, "password_too_short", "at least 8 characters"),
    ({"email": "not-an-email", "password": "long enough"}, "invalid_email", "is not an address"),
    ({"email": "x@example.com"}, "missing_parameters", "password is required"),
    ({"email": ["x@example.com"], "password": "long enough"}, "invalid_parameters", "email must be a string"),
])
def test_sign_ups_that_are_refused(demo: RunningServer, body: dict[str, Any], code: str, words: str) -> None:
    reply = demo.request("POST", SIGN_UP, body)
    assert reply.status == 400, reply
    assert reply.error["code"] == code and words in reply.error["message"]


def test_passwords_are_kept_only_as_scrypt_hashes(demo: RunningServer, member: Member) -> None:
    assert demo.app.store is not None
    (password_hash,), = demo.app.store.query("SELECT password_hash FROM accounts_members WHERE email = ?", [member.email])
    assert re.fullmatch(r"scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}", password_hash), password_hash
    assert member.password not in password_hash
    assert demo.request("POST", V2 + "/login", {"email": member.email, "password": member.password}).status == 200


def test_the_operator_is_an_admin_with_the_top_tier(demo: RunningServer) -> None:
    details = json.loads((demo.config.data_dir / "operator.json").read_text())
    assert set(details) == {"email", "password", "api_key_id", "private_key_path"}
    assert details["api_key_id"].startswith("demo_")
    for path in (demo.config.data_dir / "operator.json", Path(details["private_key_path"])):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    me = demo.get_ok("/predictex/v1/members/me", auth=kalshi_v2(demo.operator))
    assert (me["email"], me["role"], me["tier"]) == (details["email"], "admin", "prestige")
    assert demo.request("POST", V2 + "/login", {"email": details["email"], "password": details["password"]}).status == 200


def test_the_operator_lists_members_and_sets_tiers(demo: RunningServer, member: Member) -> None:
    listed = demo.admin("GET", "/members", expect=200).json()["members"]
    by_email = {m["email"]: m for m in listed}
    assert by_email["operator@predictex.local"]["role"] == "admin"
    assert by_email[member.email]["member_id"] == member.member_id and by_email[member.email]["tier"] == "prime"
    changed = demo.admin("PUT", f"/members/{member.member_id}/tier", {"tier": "expert"}, expect=200).json()
    assert changed["tier"] == "expert"
    limits = demo.get_ok(V2 + "/account/limits", auth=kalshi_v2(member.credentials))
    assert limits["usage_tier"] == "expert" and limits["read"] == {"refill_rate": 600, "bucket_capacity": 600}
    demo.admin("PUT", f"/members/{member.member_id}/tier", {"tier": "prime"}, expect=200)
    assert demo.admin("PUT", f"/members/{member.member_id}/tier", {"tier": "gold"}).status == 400
    assert demo.admin("PUT", "/members/00000000-0000-4000-8000-000000000000/tier", {"tier": "basic"}).status == 404


def test_a_restart_keeps_the_operator_and_does_not_make_another(tmp_path: Path) -> None:
    with running_server(tmp_path, demo_markets=False) as first:
        details = (tmp_path / "operator.json").read_text()
        assert first.app.operator is not None
        operator_key = first.operator
    with running_server(tmp_path, demo_markets=False) as second:
        assert second.app.operator is None  # nothing new to show in the banner
        assert (tmp_path / "operator.json").read_text() == details
        members = second.admin("GET", "/members", expect=200).json()["members"]
        assert [m["email"] for m in members] == ["operator@predictex.local"]
        assert second.get(KEYS, auth=kalshi_v2(operator_key)).status == 200


# --- prod ---------------------------------------------------------------------------------------------------

def test_prod_key_ids_say_prod(prod: RunningServer) -> None:
    assert prod.operator.key_id.startswith("prod_")
    generated = prod.request("POST", KEYS + "/generate", {"name": "p"}, auth=kalshi_v2(prod.operator)).json()
    assert KEY_ID.fullmatch(generated["api_key_id"]) and generated["api_key_id"].startswith("prod_")
    health = prod.get_ok("/health")
    assert health["environment"] == "prod"
    assert health["journal"].startswith("postgresql://" if prod.config.uses_postgres else "sqlite:")


def test_in_prod_only_the_operator_adds_members_and_there_is_no_play_money(prod: RunningServer) -> None:
    anonymous = prod.request("POST", SIGN_UP, {"email": "p@example.com", "password": "long enough"})
    assert anonymous.status == 401
    added = prod.request("POST", SIGN_UP, {"email": "p@example.com", "password": "long enough"}, auth=kalshi_v2(prod.operator))
    assert added.status == 201, added
    token = prod.request("POST", V2 + "/login", {"email": "p@example.com", "password": "long enough"}).json()["token"]
    refused = prod.request("POST", SIGN_UP, {"email": "q@example.com", "password": "long enough"}, auth=bearer(token))
    assert refused.status == 403 and refused.error["code"] == "permission_denied"
    assert prod.get_ok("/predictex/v1/transfers", auth=bearer(token))["transfers"] == []  # no starting balance
    faucet = prod.request("POST", "/predictex/v1/demo/deposits", {"amount_dollars": "10.00"}, auth=bearer(token))
    assert faucet.status == 403 and "only in demo" in faucet.error["details"]
    assert prod.get_ok(V2 + "/markets")["markets"] == []  # no demo markets either


def test_a_demo_key_is_refused_by_a_prod_exchange(demo: RunningServer, prod: RunningServer, member: Member) -> None:
    reply = prod.get(KEYS, auth=kalshi_v2(member.credentials))
    assert reply.status == 401
    assert reply.error["details"] == f"API key '{member.credentials.key_id}' belongs to another environment; this exchange is 'prod'"
