"""Kalshi v2 `GET /portfolio/deposits` and `/portfolio/withdrawals` in the shapes of Kalshi's SDK 3.34.0
(`Deposit`, `Withdrawal`: id, status pending|applied|failed|returned, type ach|wire|crypto|debit|apm,
amount_cents, fee_cents, created_ts and finalized_ts in Unix seconds; `cursor`; `limit` 1-500, 100 by
default), newest first, from the read model's `money` history.

Kalshi has no endpoint for a member's incentive rewards (its SDK 3.34.0 and OpenAPI document list the
programs, `GET /incentive_programs`, and nothing per member): a reward reaches the member as money
credited. Here it is a deposit whose `reference` (a field of predictex's beside Kalshi's) is
`incentive_program:<id>`. A deposit or withdrawal of an operator's payment record has the record's method
as its type (a card as `debit`); money credited or withdrawn without one (incentive rewards, the
operator's adjustments, the demo's play money, a member's own withdrawal request) is `apm`, its reference
saying what it was. No fees are charged (`fee_cents` 0). A deposit is listed once credited (`applied`); a
withdrawal from its request (`pending`) to `applied` (completed) or `failed` (cancelled, the money
available again)."""

from __future__ import annotations

from typing import Any

from predictex.core.limits import PAGE_SIZE_DEFAULT, TRANSFERS_LISTED_MAX
from predictex.gateways.rest.handlers import Principal
from predictex.gateways.rest.wire import Query, decode_cursor, encode_cursor
from predictex.gateways.shapes import kalshi as shapes
from predictex.server import ids
from predictex.server.context import Exchange
from predictex.server.http import Request
from predictex.server.payments import deposit_reference

KALSHI_TYPES = {"ach": "ach", "wire": "wire", "card": "debit"}  # a payment record's method as Kalshi's type
WITHOUT_RECORD = "apm"
STATUSES = {"pending": "pending", "completed": "applied", "cancelled": "failed"}


def deposits(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    query = Query(request.query_params())
    limit = query.limit(PAGE_SIZE_DEFAULT, TRANSFERS_LISTED_MAX)
    cursor = decode_cursor(query.text("cursor"), (int, int))
    before = "AND (seq < ? OR (seq = ? AND position < ?)) " if cursor else ""
    rows = exchange.store.query(
        "SELECT seq, position, time_ms, amount_microdollars, reference FROM money WHERE account_id = ? AND kind = 'deposit' "
        + before + "ORDER BY seq DESC, position DESC LIMIT ?",
        [principal.account_id, *((cursor[0], cursor[0], cursor[1]) if cursor else ()), limit + 1],
    )
    page = rows[:limit]
    methods = {deposit_reference(p): p.method for p in exchange.accounts.eligibility.payments(principal.member.member_id)}
    answers = []
    for seq, _position, time_ms, amount, reference in page:
        kind = KALSHI_TYPES.get(methods.get(reference, ""), WITHOUT_RECORD)
        answers.append(shapes.money_movement(f"deposit-{seq}", "applied", kind, amount, time_ms, time_ms, reference))
    return {"deposits": answers, "cursor": encode_cursor([page[-1][0], page[-1][1]]) if len(rows) > limit else ""}


def withdrawals(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    query = Query(request.query_params())
    limit = query.limit(PAGE_SIZE_DEFAULT, TRANSFERS_LISTED_MAX)
    cursor = decode_cursor(query.text("cursor"), (int,))
    numbers = [int(row[0]) for row in exchange.store.query(
        "SELECT DISTINCT withdrawal_id FROM money WHERE account_id = ? AND kind = 'withdrawal' "
        + ("AND withdrawal_id < ? " if cursor else "") + "ORDER BY withdrawal_id DESC LIMIT ?",
        [principal.account_id, *((cursor[0],) if cursor else ()), limit + 1])]
    page = numbers[:limit]
    if not page:
        return {"withdrawals": [], "cursor": ""}
    marks = ", ".join("?" for _ in page)
    steps: dict[int, list[tuple[int, int, str]]] = {}
    for number, time_ms, amount, status in exchange.store.query(
            f"SELECT withdrawal_id, time_ms, amount_microdollars, status FROM money WHERE kind = 'withdrawal' "
            f"AND account_id = ? AND withdrawal_id IN ({marks}) ORDER BY seq", [principal.account_id, *page]):
        steps.setdefault(int(number), []).append((int(time_ms), int(amount), str(status)))
    methods = {int(number): str(method) for number, method in exchange.store.query(
        f"SELECT withdrawal_id, method FROM accounts_payments WHERE withdrawal_id IN ({marks})", page)}
    answers = []
    for number in page:
        history = steps[number]
        created_ms, amount, _ = history[0]
        last_ms, _, status = history[-1]
        answers.append(shapes.money_movement(
            exchange.ids.to_uuid(ids.WITHDRAWAL, number), STATUSES[status], KALSHI_TYPES.get(methods.get(number, ""), WITHOUT_RECORD),
            amount, created_ms, None if status == "pending" else last_ms, ""))
    return {"withdrawals": answers, "cursor": encode_cursor([page[-1]]) if len(numbers) > limit else ""}
