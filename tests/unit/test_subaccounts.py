"""Subaccounts in the engine: each is an account of its own (cash, collateral, positions), numbered
1 to 63 under its member's primary account; transfers move available cash between two of them; money
enters and leaves through the primary account; snapshot and replay reproduce all of it."""

from __future__ import annotations

import json

from harness import Harness, contracts, of_type, usd
from predictex.core import commands as c
from predictex.core.codec import decode_command, decode_event, encode_command, encode_event
from predictex.core.engine import Engine
from predictex.core.events import AccountOpened, BalanceChanged, SubaccountCreated, SubaccountTransferred
from predictex.core.limits import SUBACCOUNTS_PER_MEMBER_MAX
from predictex.core.rejects import RejectCode
from predictex.core.snapshot import restore_snapshot, state_hash, take_snapshot


def _sub(exchange: Harness, primary: int, number: int) -> int:
    return exchange.engine.ledger.subaccounts.by_primary[primary][number]


def _transfer(primary: int, source: int, target: int, dollars: str, client_id: str) -> c.TransferBetweenSubaccounts:
    return c.TransferBetweenSubaccounts(primary, source, target, usd(dollars), client_id)


def test_a_subaccount_is_numbered_from_one_and_is_an_account_of_its_own(exchange: Harness) -> None:
    me = exchange.account("100")
    outcome = exchange.ok(c.CreateSubaccount(me))
    assert outcome.value == 1
    created = of_type(outcome, SubaccountCreated)[0]
    assert of_type(outcome, AccountOpened) == [AccountOpened(created.subaccount_account_id)]
    assert (created.account_id, created.subaccount_number) == (me, 1)
    assert exchange.ok(c.CreateSubaccount(me)).value == 2
    sub = _sub(exchange, me, 1)
    assert exchange.cash(sub) == 0 and exchange.cash(me) == usd("100")
    # a subaccount owns none of its own, and an unknown account owns nothing
    exchange.refused(c.CreateSubaccount(sub), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.CreateSubaccount(404), RejectCode.ACCOUNT_NOT_FOUND)


def test_a_member_has_at_most_63_subaccounts(exchange: Harness) -> None:
    me = exchange.account("0")
    for number in range(1, SUBACCOUNTS_PER_MEMBER_MAX + 1):
        assert exchange.ok(c.CreateSubaccount(me)).value == number
    exchange.refused(c.CreateSubaccount(me), RejectCode.INVALID_PARAMETERS)
    other = exchange.account("0")
    assert exchange.ok(c.CreateSubaccount(other)).value == 1  # numbers are per member


def test_a_transfer_moves_available_cash_both_ways_to_the_cent(exchange: Harness) -> None:
    me = exchange.account("100")
    exchange.ok(c.CreateSubaccount(me))
    exchange.ok(c.CreateSubaccount(me))
    one, two = _sub(exchange, me, 1), _sub(exchange, me, 2)
    outcome = exchange.ok(_transfer(me, 0, 1, "40.25", "t-1"))
    assert outcome.value == 1
    assert of_type(outcome, SubaccountTransferred) == [SubaccountTransferred(1, me, 0, 1, usd("40.25"), "t-1")]
    assert {e.account_id: e.cash_microdollars for e in of_type(outcome, BalanceChanged)} == {me: usd("59.75"), one: usd("40.25")}
    assert exchange.ok(_transfer(me, 1, 2, "0.01", "t-2")).value == 2
    assert exchange.ok(_transfer(me, 2, 0, "0.01", "t-3")).value == 3
    assert (exchange.cash(me), exchange.cash(one), exchange.cash(two)) == (usd("59.76"), usd("40.24"), 0)
    ledger = exchange.engine.ledger
    assert ledger.deposited_microdollars == usd("100")  # a transfer is no deposit


def test_bad_transfers_are_refused_and_change_nothing(exchange: Harness) -> None:
    me = exchange.account("100")
    exchange.ok(c.CreateSubaccount(me))
    other = exchange.account("100")
    exchange.ok(c.CreateSubaccount(other))
    exchange.ok(_transfer(me, 0, 1, "1", "used"))
    sub = _sub(exchange, me, 1)
    exchange.refused(_transfer(me, 0, 1, "99.01", "x1"), RejectCode.INSUFFICIENT_BALANCE)
    exchange.refused(_transfer(me, 0, 1, "0", "x2"), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.TransferBetweenSubaccounts(me, 0, 1, -usd("1"), "x3"), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.TransferBetweenSubaccounts(me, 0, 1, usd("1") + 1, "x4"), RejectCode.INVALID_PARAMETERS)  # a fraction of a cent
    exchange.refused(_transfer(me, 1, 1, "1", "x5"), RejectCode.INVALID_PARAMETERS)
    exchange.refused(_transfer(me, 0, 2, "1", "x6"), RejectCode.ACCOUNT_NOT_FOUND)  # no subaccount 2
    exchange.refused(_transfer(me, 0, 1, "2", "used"), RejectCode.ALREADY_EXISTS)  # another transfer, same id
    before = (exchange.cash(me), exchange.cash(sub))
    again = exchange.ok(_transfer(me, 0, 1, "1", "used"))  # the same one retried: done already
    assert (again.value, again.events, (exchange.cash(me), exchange.cash(sub))) == (1, [], before)
    exchange.refused(_transfer(me, 0, 1, "1", ""), RejectCode.INVALID_PARAMETERS)
    exchange.refused(_transfer(me, 0, 1, "1", "x" * 65), RejectCode.INVALID_PARAMETERS)
    exchange.refused(_transfer(sub, 0, 1, "1", "x7"), RejectCode.INVALID_PARAMETERS)  # a subaccount is no member
    assert exchange.ok(_transfer(other, 0, 1, "1", "used")).value == 2  # client ids are per member
    exchange.ok(c.SetExchangeStatus(False, False))
    exchange.refused(_transfer(me, 0, 1, "1", "x8"), RejectCode.EXCHANGE_PAUSED)


def test_locked_cash_stays_behind(exchange: Harness) -> None:
    ticker = exchange.market()
    me = exchange.account("10")
    exchange.ok(c.CreateSubaccount(me))
    exchange.placed(me, ticker, "bid", "0.50", 10)  # locks $5 and its worst maker fee
    free = exchange.cash(me)
    assert exchange.locked(me) >= usd("5") and free + exchange.locked(me) == usd("10")
    exchange.refused(c.TransferBetweenSubaccounts(me, 0, 1, free + usd("0.01"), "too-much"), RejectCode.INSUFFICIENT_BALANCE)
    exchange.ok(c.TransferBetweenSubaccounts(me, 0, 1, free, "all-free"))
    assert exchange.cash(me) == 0


def test_deposits_and_withdrawals_go_through_the_primary_account(exchange: Harness) -> None:
    me = exchange.account("100")
    exchange.ok(c.CreateSubaccount(me))
    sub = _sub(exchange, me, 1)
    exchange.ok(_transfer(me, 0, 1, "50", "t"))
    exchange.refused(c.Deposit(sub, usd("10")), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.RequestWithdrawal(sub, usd("10")), RejectCode.INVALID_PARAMETERS)
    exchange.ok(c.RequestWithdrawal(me, usd("10")))


def test_subaccounts_trade_with_their_own_collateral_and_positions(exchange: Harness) -> None:
    """Two subaccounts of one member and a stranger: each subaccount's cash, locks and position are its
    own, and the member's total is the sum; money is conserved throughout (the harness checks)."""
    ticker = exchange.market(fee_multiplier_bps=0)
    me = exchange.account("100")
    stranger = exchange.account("100")
    exchange.ok(c.CreateSubaccount(me))
    exchange.ok(c.CreateSubaccount(me))
    one, two = _sub(exchange, me, 1), _sub(exchange, me, 2)
    exchange.ok(_transfer(me, 0, 1, "30", "a"))
    exchange.ok(_transfer(me, 0, 2, "20", "b"))
    # subaccount 1 bids 10 YES at 0.40: $4.00 locked in it, nothing elsewhere
    exchange.placed(one, ticker, "bid", "0.40", 10)
    assert (exchange.cash(one), exchange.locked(one)) == (usd("26"), usd("4"))
    assert (exchange.cash(me), exchange.locked(me), exchange.locked(two)) == (usd("50"), 0, 0)
    # the stranger sells into it: subaccount 1 holds 10 YES that cost $4.00
    exchange.placed(stranger, ticker, "ask", "0.40", 10)
    assert exchange.position(one, ticker) == contracts(10)
    assert exchange.holding(one, ticker).position_cost_microdollars == usd("4")
    assert (exchange.cash(one), exchange.locked(one)) == (usd("26"), 0)
    # subaccount 2 asks 4 YES at 0.70 (buys NO at 0.30): its own collateral, not 1's YES, backs it
    exchange.placed(two, ticker, "ask", "0.70", 4)
    assert (exchange.cash(two), exchange.locked(two)) == (usd("18.80"), usd("1.20"))
    # subaccount 1 offers 4 of its YES at 0.75: closing its own position needs no cash
    exchange.placed(one, ticker, "ask", "0.75", 4)
    assert exchange.locked(one) == 0
    exchange.placed(stranger, ticker, "bid", "0.75", 8)  # takes 2's ask at 0.70, then 1's at 0.75
    assert exchange.position(two, ticker) == -contracts(4)
    assert exchange.position(one, ticker) == contracts(6)
    assert exchange.cash(one) == usd("29")  # 26 + 4 x 0.75
    assert (exchange.cash(two), exchange.locked(two)) == (usd("18.80"), 0)
    assert exchange.position(me, ticker) == 0


def test_snapshot_and_replay_reproduce_subaccounts() -> None:
    exchange = Harness()
    ticker = exchange.market()
    me = exchange.account("100")
    exchange.ok(c.CreateSubaccount(me))
    exchange.ok(_transfer(me, 0, 1, "25", "first"))
    sub = _sub(exchange, me, 1)
    exchange.placed(sub, ticker, "bid", "0.30", 5)
    snapshot = json.loads(json.dumps(take_snapshot(exchange.engine)))
    restored = restore_snapshot(snapshot)
    assert state_hash(restored) == state_hash(exchange.engine)
    later: list[c.Command] = [
        c.CreateSubaccount(me), _transfer(me, 1, 2, "3", "second"), _transfer(me, 0, 1, "1", "first"),
        c.CreateOrder(sub, ticker, True, 3000, 100),
    ]
    for command in later:
        decoded = decode_command(json.loads(json.dumps(encode_command(command))))
        assert decoded == command
        mine = [encode_event(e) for e in exchange.apply(command).events]
        assert [encode_event(e) for e in restored.apply(decoded, exchange.now_ms).events] == mine
        for event in mine:
            assert encode_event(decode_event(event)) == event
    assert state_hash(restored) == state_hash(exchange.engine)


def test_an_engine_without_subaccounts_keeps_its_snapshot_shape() -> None:
    engine = Engine()
    assert "subaccounts" not in take_snapshot(engine)
