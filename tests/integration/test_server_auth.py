"""Authentication over real HTTP: both signed forms (Kalshi v2: ms timestamp + METHOD + path; the
seed's KalshiAuth: ISO timestamp + METHOD + path relative to .../v1 + compact JSON body) with RSA and
Ed25519 keys, session tokens (signed /v1/log_in, bearer, refresh, logout, death with their key; the
legacy email/password /login), every refusal (401 saying which, 403 for scopes and the admin role),
and the token-bucket rate limits per tier (429 with Retry-After)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator

import pytest

from integration.server_fixture import (
    ADMIN,
    V2,
    Credentials,
    Member,
    Reply,
    RunningServer,
    bearer,
    iso_timestamp,
    kalshi_v2,
    now_ms,
    running_server,
    seed,
)

KEYS = V2 + "/api_keys"
ME = "/predictex/v1/members/me"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("auth")) as running:
        yield running


@pytest.fixture(scope="module")
def rsa_member(server: RunningServer) -> Member:
    return server.new_member("rsa@example.com", tier="prime")


@pytest.fixture(scope="module")
def ed25519_member(server: RunningServer) -> Member:
    return server.new_member("ed25519@example.com", tier="prime", key_type="ed25519")


def _generate(server: RunningServer, member: Member, name: str, **body: object) -> Credentials:
    reply = server.request("POST", KEYS + "/generate", {"name": name, **body}, auth=kalshi_v2(member.credentials))
    assert reply.status == 201, reply
    return Credentials.from_pem(reply.json()["api_key_id"], reply.json()["private_key"])


def _refused(reply: Reply, status: int, reason: str) -> dict[str, str]:
    assert reply.status == status, reply
    error = reply.error
    assert error["code"] == ("permission_denied" if status == 403 else "authentication_error"), error
    assert error["message"] == reason, error
    return error


# --- signed requests --------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["rsa_member", "ed25519_member"])
def test_kalshi_v2_signatures(server: RunningServer, request: pytest.FixtureRequest, who: str) -> None:
    member: Member = request.getfixturevalue(who)
    me = server.get_ok(ME, auth=kalshi_v2(member.credentials))
    assert (me["email"], me["member_id"], me["role"], me["environment"]) == (member.email, member.member_id, "member", "demo")
    keys = server.get_ok(KEYS + "?limit=5&x=%20y", auth=kalshi_v2(member.credentials))  # the query is not signed
    assert [k["api_key_id"] for k in keys["api_keys"]] == [member.credentials.key_id]
    assert keys["api_keys"][0]["key_type"] == ("ed25519" if who == "ed25519_member" else "rsa")


@pytest.mark.parametrize("who", ["rsa_member", "ed25519_member"])
def test_seed_signatures_sign_the_path_below_v1_and_the_compact_body(server: RunningServer, request: pytest.FixtureRequest,
                                                                       who: str) -> None:
    member: Member = request.getfixturevalue(who)
    # the body goes out as requests' json= sends it ({"note": "x", "n": [1, 2]}), signed compact
    login = server.request("POST", "/v1/log_in", {"note": "x", "n": [1, 2]}, auth=seed(member.credentials))
    assert login.status == 200, login
    assert login.json()["member_id"] == member.member_id
    empty = server.request("POST", "/v1/log_in", auth=seed(member.credentials))
    assert empty.status == 200, empty
    # outside /v1 the seed form signs the full path
    assert server.get(KEYS, auth=seed(member.credentials, base="/v1")).status == 200
    # the seed's client signs the path it requests, query string included
    assert server.get("/v1/orders?status=resting&limit=5", auth=seed(member.credentials)).status == 200


def test_missing_headers_are_named(server: RunningServer, rsa_member: Member) -> None:
    error = _refused(server.get(KEYS), 401, "missing_header")
    assert "KALSHI-ACCESS-KEY" in error["details"] and "Authorization: Bearer" in error["details"]
    signed = kalshi_v2(rsa_member.credentials)("GET", KEYS, None)
    for missing in ("KALSHI-ACCESS-SIGNATURE", "KALSHI-ACCESS-TIMESTAMP", "KALSHI-ACCESS-KEY"):
        partial = {name: value for name, value in signed.items() if name != missing}
        error = _refused(server.get(KEYS, headers=partial), 401, "missing_header")
        assert error["details"] == f"absent from the request: {missing}"


@pytest.mark.parametrize(("skew_s", "direction"), [(-31, "behind"), (31, "ahead of")])
def test_a_timestamp_outside_30_seconds_is_refused(server: RunningServer, rsa_member: Member, skew_s: int, direction: str) -> None:
    stamp = now_ms() + skew_s * 1000
    error = _refused(server.get(KEYS, auth=kalshi_v2(rsa_member.credentials, timestamp_ms=stamp)), 401, "stale_timestamp")
    assert f"'{stamp}' is 3" in error["details"] and direction in error["details"]
    assert "it must be within ±30.000 s" in error["details"]
    seed_error = _refused(server.get(KEYS, auth=seed(rsa_member.credentials, timestamp_ms=stamp)), 401, "stale_timestamp")
    assert direction in seed_error["details"]


def test_a_timestamp_inside_30_seconds_passes(server: RunningServer, rsa_member: Member) -> None:
    for skew_s in (-25, 25):
        assert server.get(KEYS, auth=kalshi_v2(rsa_member.credentials, timestamp_ms=now_ms() + skew_s * 1000)).status == 200


def test_a_malformed_timestamp_is_refused(server: RunningServer, rsa_member: Member) -> None:
    headers = kalshi_v2(rsa_member.credentials)("GET", KEYS, None)
    headers["KALSHI-ACCESS-TIMESTAMP"] = "yesterday"
    error = _refused(server.get(KEYS, headers=headers), 401, "malformed_timestamp")
    assert "'yesterday' is neither milliseconds since the epoch" in error["details"]


def test_a_wrong_signature_shows_the_exact_expected_string(server: RunningServer, rsa_member: Member) -> None:
    stamp = now_ms()
    wrong = kalshi_v2(rsa_member.credentials, timestamp_ms=stamp, signed_path=V2 + "/markets")
    error = _refused(server.get(KEYS + "?limit=1", auth=wrong), 401, "bad_signature")
    assert error["details"] == (f"key {rsa_member.credentials.key_id} (rsa) does not verify it; "
                                f"expected a signature over '{stamp}GET{KEYS}'")


def test_a_wrong_seed_signature_shows_the_strings_it_may_cover(server: RunningServer, rsa_member: Member) -> None:
    stamp = iso_timestamp()
    headers = rsa_member.credentials.headers(stamp, rsa_member.credentials.sign(stamp + "POST/elsewhere"))
    reply = server.request("POST", "/v1/log_in", {"a": 1}, headers=headers)
    error = _refused(reply, 401, "bad_signature")
    assert f"expected a signature over '{stamp}POST/log_in{{\"a\":1}}'" in error["details"]  # the seed client's own form first
    assert f"'{stamp}POST/v1/log_in{{\"a\":1}}'" in error["details"]


def test_a_signature_with_another_key_does_not_verify(server: RunningServer, rsa_member: Member, ed25519_member: Member) -> None:
    borrowed = Credentials(rsa_member.credentials.key_id, ed25519_member.credentials.private_key)
    error = _refused(server.get(KEYS, auth=kalshi_v2(borrowed)), 401, "malformed_signature")
    assert "64 bytes long" in error["details"] and "makes 256-byte signatures" in error["details"]


def test_a_signature_that_is_not_base64_is_refused(server: RunningServer, rsa_member: Member) -> None:
    headers = kalshi_v2(rsa_member.credentials)("GET", KEYS, None)
    headers["KALSHI-ACCESS-SIGNATURE"] = "not base64 at all!"
    error = _refused(server.get(KEYS, headers=headers), 401, "malformed_signature")
    assert error["details"] == "KALSHI-ACCESS-SIGNATURE is not base64"


def test_unknown_and_foreign_keys(server: RunningServer, rsa_member: Member) -> None:
    unknown = Credentials(f"demo_{uuid.uuid4()}", rsa_member.credentials.private_key)
    error = _refused(server.get(KEYS, auth=kalshi_v2(unknown)), 401, "unknown_key")
    assert error["details"] == f"no live API key '{unknown.key_id}' (unknown or deleted)"
    foreign = Credentials(f"prod_{uuid.uuid4()}", rsa_member.credentials.private_key)
    error = _refused(server.get(KEYS, auth=kalshi_v2(foreign)), 401, "unknown_key")
    assert error["details"] == f"API key '{foreign.key_id}' belongs to another environment; this exchange is 'demo'"


# --- sessions ---------------------------------------------------------------------------------------------

def test_a_signed_log_in_gives_a_30_minute_bearer_token_that_refreshes_and_logs_out(server: RunningServer, rsa_member: Member) -> None:
    started_ms = now_ms()
    session = server.request("POST", "/v1/log_in", auth=kalshi_v2(rsa_member.credentials)).json()
    expires_ms = _ms(session["expires_time"])
    assert 30 * 60_000 - 5_000 <= expires_ms - started_ms <= 30 * 60_000 + 5_000
    token = session["token"]
    assert server.get_ok(ME, auth=bearer(token))["email"] == rsa_member.email
    assert server.get(KEYS, auth=bearer(token)).status == 200
    refreshed = server.request("POST", "/v1/log_in", auth=bearer(token))
    assert refreshed.status == 200 and refreshed.json()["token"] == token
    assert _ms(refreshed.json()["expires_time"]) >= expires_ms
    assert server.request("POST", V2 + "/logout", auth=bearer(token)).status == 204
    error = _refused(server.get(ME, auth=bearer(token)), 401, "invalid_token")
    assert error["details"] == "no such session, or it was logged out"
    _refused(server.request("POST", "/v1/log_in", auth=bearer(token)), 401, "invalid_token")


def _ms(rfc3339: str) -> int:
    return int(dt.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000)


def test_a_deleted_key_is_refused_at_once_and_its_sessions_die(server: RunningServer, rsa_member: Member) -> None:
    key = _generate(server, rsa_member, "short-lived", key_type="ed25519")
    assert server.get(KEYS, auth=kalshi_v2(key)).status == 200
    token = server.request("POST", "/v1/log_in", auth=seed(key)).json()["token"]
    assert server.get(ME, auth=bearer(token)).status == 200
    assert server.request("DELETE", f"{KEYS}/{key.key_id}", auth=kalshi_v2(rsa_member.credentials)).status == 204
    error = _refused(server.get(KEYS, auth=kalshi_v2(key)), 401, "unknown_key")
    assert "unknown or deleted" in error["details"]
    error = _refused(server.get(ME, auth=bearer(token)), 401, "invalid_token")
    assert error["details"] == f"the API key {key.key_id} this session was made with has been deleted"


def test_legacy_password_login(server: RunningServer, ed25519_member: Member) -> None:
    login = server.request("POST", V2 + "/login", {"email": ed25519_member.email, "password": ed25519_member.password})
    assert login.status == 200, login
    body = login.json()
    assert set(body) == {"member_id", "token"} and body["member_id"] == ed25519_member.member_id
    assert server.get_ok(ME, auth=bearer(body["token"]))["email"] == ed25519_member.email
    # the historic header form: Authorization: <member_id> <token>
    historic = server.get(ME, headers={"Authorization": f"{body['member_id']} {body['token']}"})
    assert historic.status == 200, historic
    assert server.request("POST", V2 + "/logout", headers={"Authorization": f"{body['member_id']} {body['token']}"}).status == 204
    _refused(server.get(ME, auth=bearer(body["token"])), 401, "invalid_token")


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"email": "ed25519@example.com", "password": "wrong password"}, 401, "email or password is wrong"),
    ({"email": "nobody@example.com", "password": "wrong password"}, 401, "email or password is wrong"),
    ({"email": "ed25519@example.com"}, 400, "password is required"),
    ({"email": 5, "password": "x"}, 400, "email must be a string"),
])
def test_password_logins_that_are_refused(server: RunningServer, body: dict[str, object], status: int, words: str) -> None:
    reply = server.request("POST", V2 + "/login", body)
    assert reply.status == status, reply
    assert words in (reply.error.get("details") or reply.error["message"])


def test_a_bearer_token_that_was_never_issued(server: RunningServer) -> None:
    _refused(server.get(ME, auth=bearer("made-up")), 401, "invalid_token")
    error = _refused(server.get(ME, headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401, "invalid_token")
    assert "'Basic' is not supported" in error["details"]


# --- scopes and roles ---------------------------------------------------------------------------------------

def test_a_read_only_key_cannot_write(server: RunningServer, rsa_member: Member) -> None:
    reader = _generate(server, rsa_member, "reader", scopes=["read"])
    assert server.get(KEYS, auth=kalshi_v2(reader)).status == 200
    reply = server.request("POST", KEYS + "/generate", {"name": "nope"}, auth=kalshi_v2(reader))
    error = _refused(reply, 403, "insufficient_scope")
    assert error["details"] == f"API key {reader.key_id} has scopes read; this request needs 'write'"
    session = server.request("POST", "/v1/log_in", auth=kalshi_v2(reader)).json()["token"]
    _refused(server.request("POST", KEYS + "/generate", {"name": "nope"}, auth=bearer(session)), 403, "insufficient_scope")


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/series"), ("POST", "/markets"), ("POST", "/markets/INXCHI-25JAN31-T69.5/pause"), ("GET", "/members"),
    ("POST", "/exchange/status"), ("POST", "/withdrawals/x/complete"),
])
def test_the_operator_api_needs_the_admin_role(server: RunningServer, rsa_member: Member, method: str, path: str) -> None:
    reply = server.request(method, ADMIN + path, {} if method == "POST" else None, auth=kalshi_v2(rsa_member.credentials))
    assert reply.status == 403, reply
    assert reply.error == {"code": "permission_denied", "message": "permission denied", "details": "this needs an operator (admin) account"}
    assert server.request(method, ADMIN + path, {} if method == "POST" else None).status == 401


# --- rate limits ---------------------------------------------------------------------------------------------

def test_a_basic_member_is_limited_with_429_and_retry_after(server: RunningServer) -> None:
    member = server.new_member("basic@example.com", tier="basic")
    limits = server.get_ok(V2 + "/account/limits", auth=kalshi_v2(member.credentials))
    assert limits["usage_tier"] == "basic"
    assert limits["read"] == {"refill_rate": 200, "bucket_capacity": 400} and limits["write"] == {"refill_rate": 100, "bucket_capacity": 100}
    passed = 0
    refused = None
    for _ in range(300):  # a read costs 10 tokens: 40 fit in the bucket, then about 20 a second
        reply = server.get(KEYS, auth=kalshi_v2(member.credentials))
        if reply.status == 429:
            refused = reply
            break
        assert reply.status == 200, reply
        passed += 1
    assert refused is not None and passed >= 39
    assert refused.json() == {"error": "too many requests"}
    assert int(refused.headers["retry-after"]) >= 1
    deadline = time.monotonic() + 5  # the bucket refills continuously: a request passes again soon
    while server.get(KEYS, auth=kalshi_v2(member.credentials)).status == 429:
        assert time.monotonic() < deadline, "the bucket did not refill"
    # public market data is not charged
    assert all(server.get(V2 + "/exchange/status").status == 200 for _ in range(50))


def test_a_higher_tier_gets_a_bigger_bucket(server: RunningServer) -> None:
    member = server.new_member("premier@example.com", tier="basic")
    server.admin("PUT", f"/members/{member.member_id}/tier", {"tier": "premier"}, expect=200)
    limits = server.get_ok(V2 + "/account/limits", auth=kalshi_v2(member.credentials))
    assert limits["usage_tier"] == "premier"
    assert limits["read"] == {"refill_rate": 1000, "bucket_capacity": 1000}
    assert limits["write"] == {"refill_rate": 1000, "bucket_capacity": 2000}
    statuses = [server.get(KEYS, auth=kalshi_v2(member.credentials)).status for _ in range(60)]  # 600 tokens < 1000
    assert statuses == [200] * 60


def test_endpoint_costs_are_public(server: RunningServer) -> None:
    costs = server.get_ok(V2 + "/account/endpoint_costs")
    assert costs["default_cost"] == 10 and isinstance(costs["endpoint_costs"], list)
