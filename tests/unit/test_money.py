"""Deposits and withdrawals (minimum $10, pending then completed)."""

from __future__ import annotations

from harness import Harness, usd
from predictex.core import commands as c
from predictex.core.rejects import RejectCode


def test_withdrawal_is_pending_then_completed(exchange: Harness) -> None:
    me = exchange.account("50")
    exchange.refused(c.RequestWithdrawal(me, usd("9.99")), RejectCode.WITHDRAWAL_TOO_SMALL)
    exchange.refused(c.RequestWithdrawal(me, usd("50.01")), RejectCode.INSUFFICIENT_BALANCE)
    withdrawal = exchange.ok(c.RequestWithdrawal(me, usd("20"))).value
    account = exchange.engine.ledger.accounts[me]
    assert (account.cash_microdollars, account.pending_withdrawal_microdollars) == (usd("30"), usd("20"))
    exchange.ok(c.CompleteWithdrawal(withdrawal))
    assert (account.pending_withdrawal_microdollars, account.withdrawn_microdollars) == (0, usd("20"))
    exchange.refused(c.CompleteWithdrawal(withdrawal), RejectCode.WITHDRAWAL_NOT_FOUND)


def test_cancelled_withdrawal_returns_the_cash(exchange: Harness) -> None:
    me = exchange.account("50")
    withdrawal = exchange.ok(c.RequestWithdrawal(me, usd("20"))).value
    exchange.ok(c.CancelWithdrawal(withdrawal))
    assert exchange.cash(me) == usd("50")


def test_deposits_must_be_positive(exchange: Harness) -> None:
    me = exchange.account("0")
    exchange.refused(c.Deposit(me, 0), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.Deposit(me, -5), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.Deposit(404, 5), RejectCode.ACCOUNT_NOT_FOUND)


def test_locked_cash_cannot_be_withdrawn(exchange: Harness) -> None:
    ticker = exchange.market()
    me = exchange.account("20")
    exchange.placed(me, ticker, "bid", "0.50", 20)
    exchange.refused(c.RequestWithdrawal(me, usd("11")), RejectCode.INSUFFICIENT_BALANCE)
