"""The accounts package's defences, each with a fake clock: revocation notices (who they reach, on
which thread), the replay guard (signed writes accepted once, reads and Kalshi's unsigned-body writes
as Kalshi takes them), the login throttle (free failures, doubling waits, per address, forgetting,
bounds), suspension, and the strict readers of untrusted text (no Unicode digit or space gets
through, nothing raises)."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from predictex.accounts import Accounts, Authenticated, AuthFailure, AuthReason, Revocation, Revocations, RevokedWhat
from predictex.accounts.members import ScryptCost
from predictex.accounts.replay import ReplayGuard
from predictex.accounts.sessions import parse_authorization
from predictex.accounts.signing import parse_timestamp_ms
from predictex.accounts.throttle import LoginThrottle, wait_after
from predictex.core.text import ascii_int, has_non_ascii_space, is_ascii_digits, strip_http_whitespace
from predictex.journal.memory import MemoryStore
from predictex.server.clock import FakeClock

NOW_MS = 1_795_428_000_123
CHEAP = ScryptCost(log2_n=4)

# Every kind of digit and space that Python's str methods take and the wire does not.
UNICODE_DIGITS = ["²³", "¹²", "\u0661\u0662", "\uff11\uff12", "\u0967\u0968", "\u2460"]  # superscript, Arabic-Indic, full-width, Devanagari, circled
UNICODE_SPACES = ["\u00a0", "\u0085", "\u1680", "\u2003", "\u2028", "\u202f", "\u3000"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW_MS)


@pytest.fixture
def accounts(clock: FakeClock) -> Accounts:
    return Accounts(MemoryStore(), clock=clock.now_ms, password_cost=CHEAP)


def ok(result: Any) -> Authenticated:
    assert isinstance(result, Authenticated), result
    return result


def refused(result: Any, reason: AuthReason) -> AuthFailure:
    assert isinstance(result, AuthFailure) and result.reason is reason, result
    return result


def v2_headers(key_id: str, private_key: Any, method: str, path: str, timestamp_ms: int) -> dict[str, str]:
    message = f"{timestamp_ms}{method}{path}".encode()
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        signature = private_key.sign(message)
    else:
        signature = private_key.sign(message, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    return {"KALSHI-ACCESS-KEY": key_id, "KALSHI-ACCESS-TIMESTAMP": str(timestamp_ms),
            "KALSHI-ACCESS-SIGNATURE": base64.b64encode(signature).decode()}


def keyed_member(accounts: Accounts, private_key: Any, email: str = "alice@example.com") -> tuple[int, str]:
    from cryptography.hazmat.primitives import serialization

    member = accounts.members.create(email, "correct horse", engine_account_id=7)
    pem = private_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return member.member_id, accounts.keys.register(member.member_id, "bot", pem).key_id


# --- strict text --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [*UNICODE_DIGITS, " 12", "12 ", "+12", "-12", "1_2", "", "0x1", "1.0", *(f"1{s}2" for s in UNICODE_SPACES)])
def test_only_ascii_digits_are_a_number(text: str) -> None:
    assert ascii_int(text) is None and not is_ascii_digits(text)
    assert ascii_int(text.encode("utf-8")) is None


def test_ascii_digits_are_read_and_bounded() -> None:
    assert ascii_int("0123") == 123 and ascii_int(b"42") == 42
    assert ascii_int("9" * 19) is None and ascii_int("9" * 19, 19) == 10**19 - 1


def test_only_sp_and_htab_are_trimmed_and_other_spaces_are_seen() -> None:
    for space in UNICODE_SPACES:
        assert strip_http_whitespace(f" \t{space}x{space}\t ") == f"{space}x{space}"
        assert has_non_ascii_space(f"a{space}b")
    assert not has_non_ascii_space("a b\tc")


@pytest.mark.parametrize("text", [*UNICODE_DIGITS, *(f"17954280{d}" for d in UNICODE_DIGITS), "²⁰²⁶-11-23T10:00:00Z",
                                  "\u0662\u0660\u0662\u0666-11-23T10:00:00Z", "2026-11-23T10:00:00.\uff11Z", "1795428000123 ",
                                  *(f"{s}1795428000123" for s in UNICODE_SPACES)])
def test_timestamps_in_other_digits_or_with_other_spaces_are_not_timestamps(text: str) -> None:
    assert parse_timestamp_ms(text) is None


@pytest.mark.parametrize("value", [
    *(f"Bearer {d}:tok" for d in UNICODE_DIGITS), *(f"{d} tok" for d in UNICODE_DIGITS),
    *(f"Bearer{s}tok" for s in UNICODE_SPACES), *(f"Bearer tok{s}" for s in UNICODE_SPACES), *(f"Bearer t{s}ok" for s in UNICODE_SPACES),
    "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 600, "Bearer tok\x00", "12:tok",
])
def test_an_authorization_header_in_other_digits_or_spaces_is_refused_not_raised(value: str) -> None:
    parsed = parse_authorization(value)
    assert isinstance(parsed, AuthFailure) and parsed.reason in (AuthReason.INVALID_TOKEN, AuthReason.MISSING_HEADER), parsed
    assert parsed.message.isascii()  # the offending characters are shown escaped


def test_the_three_authorization_forms_still_parse() -> None:
    assert parse_authorization("Bearer abc_DEF-123") == (None, "abc_DEF-123")
    assert parse_authorization("Bearer 12:abc") == (12, "abc")
    assert parse_authorization("12 abc") == (12, "abc")
    assert parse_authorization(" \tBearer\t abc \t") == (None, "abc")


@pytest.mark.parametrize("header", ["KALSHI-ACCESS-KEY", "KALSHI-ACCESS-TIMESTAMP", "KALSHI-ACCESS-SIGNATURE"])
@pytest.mark.parametrize("odd", [*UNICODE_DIGITS, *UNICODE_SPACES])
def test_every_signed_header_with_other_digits_or_spaces_is_a_clear_refusal(accounts: Accounts, header: str, odd: str) -> None:
    private_key = ed25519.Ed25519PrivateKey.generate()
    _, key_id = keyed_member(accounts, private_key)
    headers = v2_headers(key_id, private_key, "GET", "/trade-api/v2/portfolio/balance", NOW_MS)
    for value in (odd, headers[header] + odd, odd + headers[header]):
        result = accounts.verifier.verify_request({**headers, header: value}, "GET", "/trade-api/v2/portfolio/balance")
        assert isinstance(result, AuthFailure), (header, value)


# --- revocation notices ---------------------------------------------------------------------------------

def test_a_notice_reaches_every_watch_of_its_key_session_or_member_and_only_those() -> None:
    registry = Revocations()
    told: list[tuple[str, str]] = []

    def watch(name: str, member_id: int, key_id: str | None, session_id: str | None) -> Any:
        return registry.watch(member_id, key_id, session_id, lambda r: told.append((name, r.reason)))

    by_key = watch("by-key", 1, "K1", None)
    session_of_key = watch("session-of-key", 1, "K1", "S1")
    watch("password-session", 1, None, "S2")
    other_key = watch("other-key", 1, "K2", None)
    someone_else = watch("someone-else", 2, "K3", None)
    assert registry.watching() == 5
    assert registry.publish(Revocation(RevokedWhat.KEY, "K1", 1, "key gone")) == 2
    assert sorted(told) == [("by-key", "key gone"), ("session-of-key", "key gone")]
    assert by_key.revoked is not None and other_key.revoked is None
    told.clear()
    registry.publish(Revocation(RevokedWhat.SESSION, "S2", 1, "logged out"))
    assert told == [("password-session", "logged out")]
    told.clear()
    registry.publish(Revocation(RevokedWhat.MEMBER, "1", 1, "suspended"))
    assert told == [("other-key", "suspended")]  # the others were already told once, and never twice
    assert registry.watching() == 1 and someone_else.revoked is None and session_of_key.revoked is not None
    told.clear()
    someone_else.cancel()
    someone_else.cancel()
    assert registry.watching() == 0
    assert registry.publish(Revocation(RevokedWhat.KEY, "K3", 2, "late")) == 0 and told == []


def test_a_notice_from_another_thread_marks_at_once_and_calls_back_on_the_watchs_loop() -> None:
    registry = Revocations()
    loop = asyncio.new_event_loop()
    called_on: list[int] = []
    try:
        async def make() -> Any:
            return registry.watch(1, "K", None, lambda r: called_on.append(threading.get_ident()))

        found = loop.run_until_complete(make())
        publisher = threading.Thread(target=registry.publish, args=(Revocation(RevokedWhat.KEY, "K", 1, "gone"),))
        publisher.start()
        publisher.join()
        assert found.revoked is not None and called_on == []  # marked before publish returned; the callback waits for the loop
        loop.run_until_complete(asyncio.sleep(0))
        assert called_on == [threading.get_ident()]
    finally:
        loop.close()


def test_deleting_a_key_logging_out_and_suspending_publish_after_the_commit(accounts: Accounts) -> None:
    private_key = ed25519.Ed25519PrivateKey.generate()
    member_id, key_id = keyed_member(accounts, private_key)
    seen: list[Revocation] = []
    key_session = accounts.sessions.log_in(ok(accounts.verifier.verify_request(
        v2_headers(key_id, private_key, "POST", "/v1/log_in", NOW_MS), "POST", "/v1/log_in")))
    by_token = ok(accounts.sessions.authenticate_bearer(f"Bearer {key_session.token}"))
    assert by_token.session_id is not None and key_session.token not in by_token.session_id
    accounts.watch(by_token, seen.append)
    accounts.keys.delete(key_id)
    assert [(r.what, r.subject) for r in seen] == [(RevokedWhat.KEY, key_id)]
    refused(accounts.sessions.authenticate_bearer(f"Bearer {key_session.token}"), AuthReason.INVALID_TOKEN)

    password_session = accounts.sessions.log_in_password("alice@example.com", "correct horse")
    assert not isinstance(password_session, AuthFailure)
    watched = accounts.watch(ok(accounts.sessions.authenticate_bearer(f"Bearer {password_session.token}")), seen.append)
    assert accounts.sessions.log_out(f"Bearer {password_session.token}") is None
    assert watched.revoked is not None and watched.revoked.what is RevokedWhat.SESSION

    other = accounts.sessions.log_in_password("alice@example.com", "correct horse")
    assert not isinstance(other, AuthFailure)
    watched = accounts.watch(ok(accounts.sessions.authenticate_bearer(f"Bearer {other.token}")), seen.append)
    accounts.suspend(member_id, "testing")
    assert watched.revoked is not None and watched.revoked.reason == f"member {member_id} was suspended by the operator: testing"
    refused(accounts.sessions.authenticate_bearer(f"Bearer {other.token}"), AuthReason.MEMBER_SUSPENDED)
    refused(accounts.sessions.log_in_password("alice@example.com", "correct horse"), AuthReason.MEMBER_SUSPENDED)
    assert accounts.members.get(member_id).suspended  # type: ignore[union-attr]
    accounts.members.reinstate(member_id)
    assert not isinstance(accounts.sessions.log_in_password("alice@example.com", "correct horse"), AuthFailure)


def test_a_suspended_members_keys_sign_nothing_until_reinstated(accounts: Accounts, clock: FakeClock) -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    member_id, key_id = keyed_member(accounts, private_key)
    path = "/trade-api/v2/portfolio/balance"
    ok(accounts.verifier.verify_request(v2_headers(key_id, private_key, "GET", path, NOW_MS), "GET", path))
    accounts.suspend(member_id)
    failure = refused(accounts.verifier.verify_request(v2_headers(key_id, private_key, "GET", path, NOW_MS), "GET", path),
                      AuthReason.MEMBER_SUSPENDED)
    assert "until the operator reinstates it" in failure.message
    fix = f"{NOW_MS}A1{key_id}KalshiNR".encode()
    signature = base64.b64encode(private_key.sign(fix, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()))
    refused(accounts.verifier.verify_with_key(key_id, fix, signature.decode(), timestamp_ms=NOW_MS), AuthReason.MEMBER_SUSPENDED)
    accounts.members.reinstate(member_id)
    ok(accounts.verifier.verify_request(v2_headers(key_id, private_key, "GET", path, NOW_MS), "GET", path))


# --- replays --------------------------------------------------------------------------------------------

def test_the_replay_guard_remembers_until_the_timestamp_leaves_the_window(clock: FakeClock) -> None:
    guard = ReplayGuard(clock.now_ms, window_ms=30_000)
    assert guard.first_use(NOW_MS, b"sig", "POST", "/x", b"{}") is True
    assert guard.first_use(NOW_MS, b"sig", "POST", "/x", b"{}") is False
    assert guard.first_use(NOW_MS, b"sig", "POST", "/x", b"{ }") is True  # another body: another request
    assert guard.first_use(NOW_MS, b"si", b"g", "POST", "/x", b"{}") is True  # parts are not run together
    clock.advance(30_000)
    assert guard.first_use(NOW_MS, b"sig", "POST", "/x", b"{}") is False  # the timestamp is still inside the window
    clock.advance(2_000)
    assert guard.first_use(NOW_MS + 1, b"other", "POST", "/x", b"{}") is True
    assert len(guard) == 1  # the rest expired together, and the stale request itself would now be refused as stale


def test_the_replay_guard_is_bounded_and_says_busy_rather_than_forgetting(clock: FakeClock) -> None:
    guard = ReplayGuard(clock.now_ms, window_ms=30_000, entries_max=3)
    assert [guard.first_use(NOW_MS, bytes([n])) for n in range(3)] == [True, True, True]
    assert guard.first_use(NOW_MS, b"\x09") is None
    assert guard.first_use(NOW_MS, b"\x01") is False  # still remembered
    clock.advance(30_000)
    assert guard.first_use(NOW_MS + 30_000, b"\x09") is None  # the timestamps are still inside the window
    clock.advance(1_000)
    assert guard.first_use(NOW_MS + 31_000, b"\x09") is True


def test_a_signed_write_is_accepted_once_and_a_read_as_often_as_sent(accounts: Accounts) -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _, key_id = keyed_member(accounts, private_key)
    path = "/trade-api/v2/portfolio/orders"
    write = v2_headers(key_id, private_key, "POST", path, NOW_MS)
    ok(accounts.verifier.verify_request(write, "POST", path, b'{"ticker":"T"}'))
    failure = refused(accounts.verifier.verify_request(write, "POST", path, b'{"ticker":"T"}'), AuthReason.REPLAYED_REQUEST)
    assert "sign every write afresh" in failure.message
    # the same signature re-encoded (URL-safe alphabet, no padding) is the same signature
    reencoded = {**write, "KALSHI-ACCESS-SIGNATURE": write["KALSHI-ACCESS-SIGNATURE"].replace("+", "-").replace("/", "_").rstrip("=")}
    refused(accounts.verifier.verify_request(reencoded, "POST", path, b'{"ticker":"T"}'), AuthReason.REPLAYED_REQUEST)
    read = v2_headers(key_id, private_key, "GET", path, NOW_MS)
    for _ in range(3):
        ok(accounts.verifier.verify_request(read, "GET", path + "?limit=5"))


def test_two_v2_writes_that_differ_only_in_their_unsigned_body_are_both_taken_as_kalshi_takes_them(accounts: Accounts) -> None:
    private_key = ed25519.Ed25519PrivateKey.generate()  # deterministic: same millisecond and path, same signature
    _, key_id = keyed_member(accounts, private_key)
    path = "/trade-api/v2/portfolio/orders"
    first = v2_headers(key_id, private_key, "POST", path, NOW_MS)
    second = v2_headers(key_id, private_key, "POST", path, NOW_MS)
    assert first == second
    ok(accounts.verifier.verify_request(first, "POST", path, b'{"client_order_id":"a"}'))
    ok(accounts.verifier.verify_request(second, "POST", path, b'{"client_order_id":"b"}'))
    refused(accounts.verifier.verify_request(second, "POST", path, b'{"client_order_id":"b"}'), AuthReason.REPLAYED_REQUEST)


def test_a_seed_write_replayed_with_its_body_respaced_is_still_a_replay(accounts: Accounts) -> None:
    private_key = ed25519.Ed25519PrivateKey.generate()
    _, key_id = keyed_member(accounts, private_key)
    timestamp = "2026-11-23T10:00:00.1234Z"
    body = {"market_id": "T", "side": "yes", "price": 6500, "quantity": 1}
    signature = base64.b64encode(private_key.sign(f"{timestamp}POST/orders{json.dumps(body, separators=(',', ':'))}".encode()))
    headers = {"KALSHI-ACCESS-KEY": key_id, "KALSHI-ACCESS-TIMESTAMP": timestamp, "KALSHI-ACCESS-SIGNATURE": signature.decode()}
    ok(accounts.verifier.verify_request(headers, "POST", "/v1/orders", json.dumps(body).encode()))
    for sent in (json.dumps(body).encode(), json.dumps(body, indent=2).encode(), json.dumps(body, separators=(",", ":")).encode()):
        refused(accounts.verifier.verify_request(headers, "POST", "/v1/orders", sent), AuthReason.REPLAYED_REQUEST)


def test_a_fix_logon_signature_is_accepted_once(accounts: Accounts) -> None:
    private_key = ed25519.Ed25519PrivateKey.generate()
    _, key_id = keyed_member(accounts, private_key)
    signed = f"20261123-10:00:00.123\x01A\x011\x01{key_id}\x01KalshiNR".encode()
    signature = base64.b64encode(private_key.sign(signed)).decode()
    ok(accounts.verifier.verify_with_key(key_id, signed, signature, timestamp_ms=NOW_MS))
    refused(accounts.verifier.verify_with_key(key_id, signed, signature, timestamp_ms=NOW_MS), AuthReason.REPLAYED_REQUEST)


# --- the login throttle ---------------------------------------------------------------------------------

def test_waits_double_after_the_free_failures_up_to_a_limit() -> None:
    assert [wait_after(n, 5) for n in (0, 4, 5, 6, 7, 8)] == [0, 0, 1_000, 2_000, 4_000, 8_000]
    assert wait_after(100, 5) == 15 * 60 * 1000


def failing(throttle: LoginThrottle, clock: FakeClock, email: str, address: str, times: int) -> list[int]:
    """Fail `times` logins, each as soon as allowed; the waits that were asked for before each."""
    waits = []
    for _ in range(times):
        wait = throttle.wait_ms(email, address)
        waits.append(wait)
        clock.advance(wait)
        throttle.failed(email, address)
    return waits


def test_an_email_fails_freely_five_times_then_waits_longer_each_time(clock: FakeClock) -> None:
    throttle = LoginThrottle(clock.now_ms)
    assert failing(throttle, clock, "a@example.com", "10.0.0.1", 8) == [0, 0, 0, 0, 0, 1_000, 2_000, 4_000]
    assert throttle.wait_ms("A@Example.com ", "10.0.0.2") == 8_000  # the email, in any case and from anywhere
    assert throttle.wait_ms("b@example.com", "10.0.0.2") == 0
    throttle.succeeded("a@example.com", "10.0.0.1")
    assert throttle.wait_ms("a@example.com", "10.0.0.2") == 0
    failing(throttle, clock, "a@example.com", "10.0.0.1", 6)
    clock.advance(15 * 60 * 1000)
    assert throttle.wait_ms("a@example.com", "10.0.0.1") == 0  # forgotten after a quiet quarter of an hour
    failing(throttle, clock, "a@example.com", "10.0.0.1", 6)
    throttle.clear("a@example.com")
    assert throttle.wait_ms("a@example.com", "10.0.0.3") == 0


def test_an_address_guessing_many_emails_is_throttled_and_a_success_does_not_clear_it(clock: FakeClock) -> None:
    throttle = LoginThrottle(clock.now_ms)
    for n in range(20):
        assert throttle.wait_ms(f"user{n}@example.com", "10.0.0.9") == 0
        throttle.failed(f"user{n}@example.com", "10.0.0.9")
    assert throttle.wait_ms("fresh@example.com", "10.0.0.9") == 1_000
    assert throttle.wait_ms("fresh@example.com", "10.0.0.8") == 0
    throttle.succeeded("mine@example.com", "10.0.0.9")
    assert throttle.wait_ms("fresh@example.com", "10.0.0.9") == 1_000


def test_the_throttle_tables_are_bounded_and_drop_the_quietest(clock: FakeClock) -> None:
    throttle = LoginThrottle(clock.now_ms, entries_max=3)
    for n in range(4):
        failing(throttle, clock, f"u{n}@example.com", f"10.0.0.{n}", 6)
        clock.advance(1)
    assert throttle.wait_ms("u0@example.com", "10.0.1.1") == 0  # the quietest was dropped
    assert throttle.wait_ms("u3@example.com", "10.0.1.1") > 0


def test_a_throttled_password_login_is_refused_before_the_password_is_looked_at(accounts: Accounts, clock: FakeClock) -> None:
    accounts.members.create("alice@example.com", "correct horse", engine_account_id=7)

    def attempts(password: str) -> Any:
        return accounts.sessions.log_in_password("alice@example.com", password, "10.0.0.1")

    for _ in range(5):
        refused(attempts("wrong password"), AuthReason.BAD_CREDENTIALS)
    failure = refused(attempts("correct horse"), AuthReason.TOO_MANY_LOGIN_ATTEMPTS)  # even the right password
    assert failure.retry_after_ms == 1_000 and "try again in 1 s" in failure.message
    clock.advance(1_000)
    assert not isinstance(attempts("correct horse"), AuthFailure)


def test_a_revocation_between_authentication_and_watching_is_caught_when_the_watch_starts(accounts: Accounts) -> None:
    """The other thread's race: a connection authenticated, the key deleted before the gateway began
    watching; the watch is told at once."""
    private_key = ed25519.Ed25519PrivateKey.generate()
    member_id, key_id = keyed_member(accounts, private_key)
    path = "/trade-api/ws/v2"
    proved = ok(accounts.verifier.verify_request(v2_headers(key_id, private_key, "GET", path, NOW_MS), "GET", path))
    accounts.keys.delete(key_id)
    told: list[Revocation] = []
    late = accounts.watch(proved, told.append)
    assert late.revoked is not None and [r.what for r in told] == [RevokedWhat.KEY]
    session = accounts.sessions.log_in_password("alice@example.com", "correct horse")
    assert not isinstance(session, AuthFailure)
    by_token = ok(accounts.sessions.authenticate_bearer(f"Bearer {session.token}"))
    accounts.sessions.log_out(f"Bearer {session.token}")
    assert accounts.watch(by_token, told.append).revoked is not None and told[-1].what is RevokedWhat.SESSION
    fresh = accounts.sessions.log_in_password("alice@example.com", "correct horse")
    assert not isinstance(fresh, AuthFailure)
    by_fresh = ok(accounts.sessions.authenticate_bearer(f"Bearer {fresh.token}"))
    assert accounts.watch(by_fresh, told.append).revoked is None  # alive: nothing to tell
    accounts.members.suspend(member_id)  # the members table alone, as another process would: no notice
    assert accounts.watch(by_fresh, told.append).revoked is not None and told[-1].what is RevokedWhat.MEMBER
