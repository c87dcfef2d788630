"""Payment records that survive a crash. A payment (accounts/eligibility.py) moves money in two steps
that no single transaction joins: the engine's command (journaled with the read model's `money`
rows) and the payment record (the accounts' table). Each step is ordered so that a crash between them
leaves something `resolve` can read back from the journal's side:

- a deposit is completed by `Deposit(reference="payment N (method)")`, then the record is marked
  completed: a pending deposit whose reference is in `money` was completed;
- a withdrawal record is written first (pending, no engine withdrawal yet), then `RequestWithdrawal`
  sets the money aside and its id is written into the record (`attach_withdrawal`); at start-up a
  record without one takes the member's unclaimed pending withdrawal of the same amount requested
  after the record was made, or, when there is none, the request never committed and the record fails
  with nothing set aside;
- a withdrawal completed or cancelled by the engine (`money` says so) is completed or failed.

`reconcile` runs at start-up, before the operator's API answers; `resolve` also runs before the operator
completes or fails a payment, so a retry after a crash never moves the money twice. While a payment's
engine command is on its way, `Eligibility.settling` holds its id and a second request is refused.
"""

from __future__ import annotations

import logging

from predictex.accounts.eligibility import COMPLETED, DEPOSIT, FAILED, PENDING, Eligibility, Payment
from predictex.server.context import Exchange

log = logging.getLogger("predictex.payments")

NOT_REQUESTED = "the exchange stopped before the withdrawal was requested: nothing was set aside"
CANCELLED = "the withdrawal was cancelled: the money set aside is available again"


def deposit_reference(payment: Payment) -> str:
    """The reference of the engine's `Deposit` that completes a deposit record (unique to the record)."""
    return f"payment {payment.payment_id} ({payment.method})"


def resolve(exchange: Exchange, payment: Payment, starting: bool = False) -> Payment:
    """The record brought in line with what the engine did (nothing changes if it agrees). `starting`:
    no request is in flight, so a withdrawal record without an engine withdrawal is settled too."""
    if payment.status != PENDING:
        return payment
    eligibility: Eligibility = exchange.accounts.eligibility
    member = exchange.accounts.members.get(payment.member_id)
    if payment.direction == DEPOSIT:
        done = exchange.store.query("SELECT 1 FROM money WHERE kind = 'deposit' AND account_id = ? AND reference = ?",
                                    (member.engine_account_id, deposit_reference(payment)))
        return eligibility.settle_payment(payment, COMPLETED) if done else payment
    if payment.withdrawal_id == 0:
        if not starting:
            return payment
        claimed = eligibility.claimed_withdrawals(payment.member_id)
        found = [int(w) for (w,) in exchange.store.query(
            "SELECT withdrawal_id FROM money WHERE kind = 'withdrawal' AND status = 'pending' AND account_id = ? "
            "AND amount_microdollars = ? AND time_ms >= ? ORDER BY seq", (member.engine_account_id, payment.amount_microdollars,
                                                                          payment.created_ms))]
        unclaimed = [w for w in found if w not in claimed]
        if not unclaimed:
            return eligibility.settle_payment(payment, FAILED, NOT_REQUESTED)
        eligibility.attach_withdrawal(payment, unclaimed[0])
    rows = exchange.store.query("SELECT status FROM money WHERE kind = 'withdrawal' AND withdrawal_id = ? ORDER BY seq DESC LIMIT 1",
                                (payment.withdrawal_id,))
    status = str(rows[0][0]) if rows else "pending"
    if status == "completed":
        return eligibility.settle_payment(payment, COMPLETED)
    if status == "cancelled":
        return eligibility.settle_payment(payment, FAILED, payment.reason or CANCELLED)
    return payment


def reconcile(exchange: Exchange) -> int:
    """Every pending payment checked (start-up); returns how many were settled."""
    settled = 0
    for payment in exchange.accounts.eligibility.pending_payments():
        if resolve(exchange, payment, starting=True).status != PENDING:
            settled += 1
            log.warning("payment %d (%s %s) was left pending by a stop: now %s%s", payment.payment_id, payment.direction,
                        payment.method, payment.status, f" ({payment.reason})" if payment.reason else "")
    return settled
