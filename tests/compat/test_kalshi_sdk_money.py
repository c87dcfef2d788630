"""The official Kalshi SDKs (3.34.0, sync and async) read a member's deposits and withdrawals
(kalshi_v2/money.py) into their strict `Deposit` and `Withdrawal` models: the operator's payment records
by ACH, wire and card (a card is Kalshi's `debit`), money credited without a record (an incentive
program's reward: `apm`, its reference saying which program), and withdrawals pending, completed
(`applied`) and failed, newest first, paged by `limit` and `cursor`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compat.kalshi_sdk import private_key_pem
from compat.kalshi_sdk_calls import run_calls_that_succeed
from integration.server_fixture import V2, Member, RunningServer, running_server

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("get_deposits", {}),
    ("get_deposits", {"limit": 2}),
    ("get_withdrawals", {}),
]


def _payment(server: RunningServer, member: Member, direction: str, method: str, cents: int, end: str) -> None:
    made = server.admin("POST", f"/members/{member.member_id}/payments",
                        {"direction": direction, "method": method, "amount_cents": cents}, expect=201).json()
    if end:
        server.admin("POST", f"/payments/{made['payment_id']}/{end}", {}, expect=200)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Member]]:
    with running_server(tmp_path_factory.mktemp("sdk-money")) as server:
        member = server.new_member("money@example.com")
        _payment(server, member, "deposit", "ach", 50_000, "complete")
        _payment(server, member, "deposit", "card", 2_500, "complete")
        server.admin("POST", f"/members/{member.member_id}/deposits", {"amount_cents": 1_234, "reference": "incentive_program:inc-1"},
                     expect=201)
        _payment(server, member, "withdrawal", "wire", 10_000, "complete")
        _payment(server, member, "withdrawal", "ach", 1_500, "fail")
        _payment(server, member, "withdrawal", "card", 2_000, "")
        yield server, member


@pytest.fixture(scope="module")
def answers(server: tuple[RunningServer, Member], python313: Path) -> dict[str, list[dict[str, Any]]]:
    running, member = server
    context = {"host": running.base_url + V2, "api_key_id": member.credentials.key_id, "private_key_pem": private_key_pem(member),
               "calls": [list(call) for call in CALLS]}
    return run_calls_that_succeed(python313, context)


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_deposits_and_withdrawals_parse_into_the_sdks_models(answers: dict[str, Any], flavour: str) -> None:
    every, first_two, withdrawals = answers[flavour]
    assert [a["model"] for a in answers[flavour]] == ["GetDepositsResponse", "GetDepositsResponse", "GetWithdrawalsResponse"]
    deposits = every["value"]["deposits"]
    assert [(d["type"], d["amount_cents"], d["status"], d["fee_cents"]) for d in deposits] == [
        ("apm", 1_234, "applied", 0), ("debit", 2_500, "applied", 0), ("ach", 50_000, "applied", 0),
        ("apm", 1_000_000, "applied", 0)]  # the last: the demo's play money, credited when the member was made
    assert all(d["finalized_ts"] == d["created_ts"] > 1_700_000_000 for d in deposits)
    assert not every["value"].get("cursor")
    assert [d["id"] for d in first_two["value"]["deposits"]] == [d["id"] for d in deposits[:2]] and first_two["value"]["cursor"]
    listed = withdrawals["value"]["withdrawals"]
    assert [(w["type"], w["amount_cents"], w["status"]) for w in listed] == [
        ("debit", 2_000, "pending"), ("ach", 1_500, "failed"), ("wire", 10_000, "applied")]
    assert listed[0].get("finalized_ts") is None and listed[2]["finalized_ts"] >= listed[2]["created_ts"]
