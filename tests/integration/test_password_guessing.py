"""Password guessing through real sockets: failed logins are throttled per account and per address on
every surface that checks a password (Kalshi's legacy `POST /login` and the seed's `POST /v1/log_in`
with an email and password, as Kalshi's v1 took it), with a 429, Retry-After and what to do; the
right password does not get through a lock; the operator can lift one; and signing up tells a
stranger nothing about who is a member, neither by its answer nor by how long it takes.

Each failed login costs a real scrypt hash (about half a second), so the counts here are the real
ones, kept small by the rules themselves (five free failures per email, twenty per address)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration.server_fixture import V2, Member, Reply, RunningServer, bearer, kalshi_v2, running_server

LOGIN = V2 + "/login"
SEED_LOGIN = "/v1/log_in"
SIGN_UP = "/predictex/v1/members"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("guessing"), demo_markets=False) as running:
        yield running


_count = iter(range(1_000_000))


def member(server: RunningServer) -> Member:
    return server.new_member(f"guess{next(_count)}-{time.time_ns()}@example.com")


def log_in(server: RunningServer, path: str, email: str, password: str, headers: dict[str, str] | None = None) -> Reply:
    return server.request("POST", path, {"email": email, "password": password}, headers=headers)


def throttled(reply: Reply) -> int:
    assert reply.status == 429, reply
    assert reply.error["code"] == "too_many_login_attempts", reply.error
    assert "try again in" in reply.error["details"] and "API key are not affected" in reply.error["details"], reply.error
    return int(reply.headers["retry-after"])


@pytest.mark.parametrize("path", [LOGIN, SEED_LOGIN])
def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(server: RunningServer, path: str) -> None:
    who = member(server)
    for _ in range(5):
        assert log_in(server, path, who.email, "wrong password").status == 401
    assert throttled(log_in(server, path, who.email, who.password)) == 1  # the right one waits too, and its hash is not even checked
    assert throttled(log_in(server, LOGIN if path == SEED_LOGIN else SEED_LOGIN, who.email.upper(), who.password)) == 1
    assert server.get(V2 + "/portfolio/balance", auth=kalshi_v2(who.credentials)).status == 200  # keys are not affected
    server.admin("DELETE", f"/members/{who.member_id}/login_failures", expect=204)  # what a locked member asks for
    reply = log_in(server, path, who.email, who.password)
    assert reply.status == 200, reply
    assert server.get(V2 + "/portfolio/balance", auth=bearer(reply.json()["token"])).status == 200


def test_unknown_emails_are_throttled_like_members_so_the_lock_reveals_nothing(server: RunningServer) -> None:
    for _ in range(5):
        assert log_in(server, LOGIN, "nobody-at-all@example.com", "wrong password").status == 401
    assert throttled(log_in(server, LOGIN, "nobody-at-all@example.com", "wrong password")) == 1


def test_one_address_guessing_many_emails_is_throttled(tmp_path: Path) -> None:
    """Twenty failures from one address, across twenty emails, then even a fresh email waits (an
    exchange of its own: the other tests fail logins from the same 127.0.0.1)."""
    with running_server(tmp_path, demo_markets=False) as fresh:
        for n in range(20):
            assert log_in(fresh, LOGIN, f"sprayed{n}@example.com", "wrong password").status == 401
        assert throttled(log_in(fresh, SEED_LOGIN, "never-tried@example.com", "wrong password")) == 1


def test_sign_up_answers_the_same_for_a_new_and_a_taken_email_in_about_the_same_time(server: RunningServer) -> None:
    base = time.time_ns()
    taken = member(server).email

    def sign_up(email: str) -> tuple[Reply, float]:
        started = time.perf_counter()
        reply = server.request("POST", SIGN_UP, {"email": email, "password": "a long password"})
        return reply, time.perf_counter() - started

    new = [sign_up(f"new{n}-{base}@example.com") for n in range(3)]
    old = [sign_up(taken) for _ in range(3)]
    for (reply, _), email in zip(new + old, [f"new{n}-{base}@example.com" for n in range(3)] + [taken] * 3, strict=True):
        assert reply.status == 202, reply
        assert reply.json() == {**new[0][0].json(), "email": email}
    ratio = statistics.median(t for _, t in old) / statistics.median(t for _, t in new)
    assert 0.5 < ratio < 2.0, f"a taken email answers in {ratio:.2f}x the time of a new one"
    # a malformed sign-up is refused for what it is, whoever holds the email
    for email in (taken, f"other-{base}@example.com"):
        short = server.request("POST", SIGN_UP, {"email": email, "password": "short"})
        assert short.status == 400 and short.error["code"] == "password_too_short", short
