"""Who may trade and move money: a member's verification (pending, verified, rejected) and state of
residence, the operator's list of restricted states, and the operator-driven payment records
(deposits and withdrawals by ACH, wire or card: pending, then completed or failed).

These are the accounts' own tables (`accounts_eligibility`, `accounts_settings`, `accounts_payments`).
A member without an eligibility row is verified with no state on record: members made before these
rows existed, and every member of a demo exchange (which verifies at once). `reason_not_eligible`
says why a member may not trade; the server turns it into the engine's `SetTradingEligibility`, so
the refusal happens at order entry for every surface alike (server/eligibility.py)."""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Sequence

from predictex.accounts._common import AccountsError
from predictex.journal.base import JournalStore, TableWrite

PENDING = "pending"
VERIFIED = "verified"
REJECTED = "rejected"
VERIFICATIONS = (PENDING, VERIFIED, REJECTED)
# the eight the seed document names (Kalshi "restricts access to 42 states (excluding ...)")
DEFAULT_RESTRICTED_STATES = ("AZ", "IL", "MA", "MD", "MI", "MT", "NJ", "OH")
US_STATES = frozenset(["AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "PR"])
METHODS = ("ach", "wire", "card")
DEPOSIT = "deposit"
WITHDRAWAL = "withdrawal"
COMPLETED = "completed"
FAILED = "failed"

ELIGIBILITY_SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS accounts_eligibility (
        member_id BIGINT PRIMARY KEY,
        verification TEXT NOT NULL,
        residence TEXT NOT NULL,
        changed_ms BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS accounts_settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS accounts_payments (
        payment_id BIGINT PRIMARY KEY,
        member_id BIGINT NOT NULL,
        direction TEXT NOT NULL,
        method TEXT NOT NULL,
        amount_microdollars BIGINT NOT NULL,
        status TEXT NOT NULL,
        withdrawal_id BIGINT NOT NULL,
        reason TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        changed_ms BIGINT NOT NULL
    )""",
)
_ELIGIBILITY_COLUMNS = ("member_id", "verification", "residence", "changed_ms")
_PAYMENT_COLUMNS = ("payment_id", "member_id", "direction", "method", "amount_microdollars", "status", "withdrawal_id", "reason",
                    "created_ms", "changed_ms")


class Payment:
    __slots__ = _PAYMENT_COLUMNS

    def __init__(self, payment_id: int, member_id: int, direction: str, method: str, amount_microdollars: int, status: str,
                 withdrawal_id: int, reason: str, created_ms: int, changed_ms: int) -> None:
        self.payment_id = payment_id
        self.member_id = member_id
        self.direction = direction
        self.method = method
        self.amount_microdollars = amount_microdollars
        self.status = status
        self.withdrawal_id = withdrawal_id
        self.reason = reason
        self.created_ms = created_ms
        self.changed_ms = changed_ms

    def row(self) -> tuple[object, ...]:
        return tuple(getattr(self, column) for column in _PAYMENT_COLUMNS)


class Eligibility:
    def __init__(self, store: JournalStore, clock: Callable[[], int]) -> None:
        store.execute_schema(ELIGIBILITY_SCHEMA)
        self.store = store
        self._clock = clock
        self._lock = threading.Lock()
        self.settling: builtins.set[int] = builtins.set()  # payments whose engine command is on its way (server/payments.py)

    # --- verification and residence -------------------------------------------------------------

    def of(self, member_id: int) -> tuple[str, str]:
        """(verification, state of residence) of a member."""
        rows = self.store.query("SELECT verification, residence FROM accounts_eligibility WHERE member_id = ?", (member_id,))
        return (VERIFIED, "") if not rows else (str(rows[0][0]), str(rows[0][1]))

    def set(self, member_id: int, verification: str | None = None, residence: str | None = None) -> tuple[str, str]:
        current_verification, current_residence = self.of(member_id)
        verification = current_verification if verification is None else verification
        residence = current_residence if residence is None else residence.strip().upper()
        if verification not in VERIFICATIONS:
            raise AccountsError("invalid_verification", f"verification must be one of {', '.join(VERIFICATIONS)}")
        if residence and residence not in US_STATES:
            raise AccountsError("invalid_state", f"{residence!r} is not a US state's two-letter code")
        self.store.write([TableWrite("accounts_eligibility", _ELIGIBILITY_COLUMNS,
                                     [(member_id, verification, residence, self._clock())], key=("member_id",))])
        return verification, residence

    def restricted_states(self) -> tuple[str, ...]:
        rows = self.store.query("SELECT value FROM accounts_settings WHERE key = ?", ("restricted_states",))
        if not rows:
            return DEFAULT_RESTRICTED_STATES
        return tuple(state for state in str(rows[0][0]).split(",") if state)

    def set_restricted_states(self, states: Sequence[str]) -> tuple[str, ...]:
        cleaned = sorted({state.strip().upper() for state in states})
        wrong = [state for state in cleaned if state not in US_STATES]
        if wrong:
            raise AccountsError("invalid_state", f"not US states' two-letter codes: {', '.join(wrong)}")
        self.store.write([TableWrite("accounts_settings", ("key", "value"), [("restricted_states", ",".join(cleaned))], key=("key",))])
        return tuple(cleaned)

    def reason_not_eligible(self, member_id: int, restricted: Sequence[str] | None = None) -> str:
        """Why the member may not trade ("" if it may)."""
        verification, residence = self.of(member_id)
        if verification == PENDING:
            return "the member's identity is not verified yet (verification pending): the operator verifies members"
        if verification == REJECTED:
            return "the member's verification was rejected: members who are not verified may not trade"
        if residence and residence in (self.restricted_states() if restricted is None else restricted):
            return f"members residing in {residence} may not trade on this exchange (a restricted state)"
        return ""

    # --- payment records ------------------------------------------------------------------------

    def payments(self, member_id: int | None = None) -> list[Payment]:
        sql = f"SELECT {', '.join(_PAYMENT_COLUMNS)} FROM accounts_payments"
        rows = self.store.query(sql + " WHERE member_id = ? ORDER BY payment_id", (member_id,)) if member_id is not None \
            else self.store.query(sql + " ORDER BY payment_id")
        return [Payment(*row) for row in rows]

    def payment(self, payment_id: int) -> Payment | None:
        rows = self.store.query(f"SELECT {', '.join(_PAYMENT_COLUMNS)} FROM accounts_payments WHERE payment_id = ?", (payment_id,))
        return Payment(*rows[0]) if rows else None

    def new_payment(self, member_id: int, direction: str, method: str, amount_microdollars: int, withdrawal_id: int) -> Payment:
        if method not in METHODS:
            raise AccountsError("invalid_method", f"method must be one of {', '.join(METHODS)}")
        with self._lock:
            rows = self.store.query("SELECT COALESCE(MAX(payment_id), 0) FROM accounts_payments")
            now = self._clock()
            payment = Payment(int(rows[0][0]) + 1, member_id, direction, method, amount_microdollars, PENDING, withdrawal_id, "", now, now)
            self.store.write([TableWrite("accounts_payments", _PAYMENT_COLUMNS, [payment.row()])])
        return payment

    def pending_payments(self) -> list[Payment]:
        rows = self.store.query(f"SELECT {', '.join(_PAYMENT_COLUMNS)} FROM accounts_payments WHERE status = ? ORDER BY payment_id",
                                (PENDING,))
        return [Payment(*row) for row in rows]

    def claimed_withdrawals(self, member_id: int) -> builtins.set[int]:
        """The engine withdrawals the member's payment records stand for."""
        rows = self.store.query("SELECT withdrawal_id FROM accounts_payments WHERE member_id = ? AND withdrawal_id > 0", (member_id,))
        return {int(row[0]) for row in rows}

    def attach_withdrawal(self, payment: Payment, withdrawal_id: int) -> Payment:
        """The engine's withdrawal a withdrawal record stands for, once the engine set the money aside."""
        payment.withdrawal_id = withdrawal_id
        payment.changed_ms = self._clock()
        self.store.write([TableWrite("accounts_payments", _PAYMENT_COLUMNS, [payment.row()], key=("payment_id",))])
        return payment

    def delete_payment(self, payment: Payment) -> None:
        """A withdrawal record whose request the engine refused (nothing was set aside: no record stays)."""
        self.store.delete("accounts_payments", "payment_id = ?", (payment.payment_id,))

    def settle_payment(self, payment: Payment, status: str, reason: str = "") -> Payment:
        payment.status = status
        payment.reason = reason
        payment.changed_ms = self._clock()
        self.store.write([TableWrite("accounts_payments", _PAYMENT_COLUMNS, [payment.row()], key=("payment_id",))])
        return payment
