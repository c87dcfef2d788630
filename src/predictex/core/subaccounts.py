"""Subaccounts: a member's numbered accounts beside the primary one, and cash moved between them.

A subaccount is an engine Account of its own, so collateral, positions, order groups and settlement
work per subaccount with no rule of their own; `Ledger.subaccounts` (a SubaccountIndex) records which
primary account owns it and under which number (Kalshi's: 1 to 63; 0 names the primary account).
Money enters and leaves the exchange through the primary account only: deposits and withdrawals of a
subaccount are refused, and a transfer moves available cash (never locked cash) between two of one
member's accounts, so the sum the conservation law checks is unchanged by it.

Netting is a setting of each account (`Account.netting_enabled`, on by default; see core/ledger.py for
what it changes). It is switched only while the account has no resting orders (their locks were
computed for the other rule), and switched on only while no market is held on both sides (a pair
held apart is paid by settlement; sell one side first).
"""

from __future__ import annotations

from predictex.core.commands import CreateSubaccount, SetNetting, TransferBetweenSubaccounts
from predictex.core.events import AccountOpened, NettingChanged, SubaccountCreated, SubaccountTransferred
from predictex.core.ledger import Account, Ledger, hold_apart, net_again
from predictex.core.limits import (
    ACCOUNTS_MAX,
    BALANCE_INCREMENT_MICRODOLLARS,
    CLIENT_TRANSFER_ID_LENGTH_MAX,
    SUBACCOUNT_TRANSFER_MICRODOLLARS_MAX,
    SUBACCOUNT_TRANSFERS_PER_MEMBER_MAX,
    SUBACCOUNTS_PER_MEMBER_MAX,
)
from predictex.core.rejects import RejectCode, Rejected
from predictex.core.scope import Scope
from predictex.core.units import format_money_dollars

PRIMARY = 0


def primary_account(ledger: Ledger, account_id: int) -> Account:
    """The account that may own subaccounts: it exists and is not itself a subaccount."""
    account = ledger.accounts.get(account_id)
    if account is None:
        raise Rejected(RejectCode.ACCOUNT_NOT_FOUND, f"no account {account_id}")
    if account_id in ledger.subaccounts.owner:
        raise Rejected(RejectCode.INVALID_PARAMETERS, "a subaccount has no subaccounts of its own")
    return account


def subaccount(ledger: Ledger, primary_id: int, number: int) -> Account:
    """The member's account numbered `number` (0 = the primary account itself)."""
    if number == PRIMARY:
        return primary_account(ledger, primary_id)
    found = ledger.subaccounts.by_primary.get(primary_id, {}).get(number)
    if found is None:
        raise Rejected(RejectCode.ACCOUNT_NOT_FOUND, f"no subaccount {number}")
    return ledger.accounts[found]


def refuse_money_movement(ledger: Ledger, account_id: int, what: str) -> None:
    """Deposits and withdrawals go through the member's primary account."""
    if account_id in ledger.subaccounts.owner:
        raise Rejected(RejectCode.INVALID_PARAMETERS, f"{what} goes through the primary account, not a subaccount")


def create_subaccount(ledger: Ledger, scope: Scope, command: CreateSubaccount, now_ms: int) -> int:
    """Open the member's next subaccount; its number."""
    primary_account(ledger, command.account_id)
    index = ledger.subaccounts
    mine = index.by_primary.get(command.account_id, {})
    if len(mine) >= SUBACCOUNTS_PER_MEMBER_MAX:
        raise Rejected(RejectCode.INVALID_PARAMETERS, f"a member has at most {SUBACCOUNTS_PER_MEMBER_MAX} subaccounts")
    if len(ledger.accounts) >= ACCOUNTS_MAX:
        raise Rejected(RejectCode.INVALID_PARAMETERS, f"the exchange holds {ACCOUNTS_MAX} accounts already")
    number = len(mine) + 1
    account = Account(ledger.next_account_id, now_ms)
    ledger.next_account_id += 1
    ledger.accounts[account.account_id] = account
    if not mine:
        index.by_primary[command.account_id] = mine
    mine[number] = account.account_id
    index.owner[account.account_id] = (command.account_id, number)
    scope.emit(AccountOpened(account.account_id))
    scope.emit(SubaccountCreated(command.account_id, number, account.account_id))
    scope.touch(account)
    return number


def transfer(ledger: Ledger, scope: Scope, command: TransferBetweenSubaccounts) -> int:
    """Move available cash from one of the member's accounts to another; the transfer's number."""
    primary_account(ledger, command.account_id)
    amount = command.amount_microdollars
    if not 0 < amount <= SUBACCOUNT_TRANSFER_MICRODOLLARS_MAX:
        raise Rejected(RejectCode.INVALID_PARAMETERS,
                       f"a transfer must be positive and at most ${format_money_dollars(SUBACCOUNT_TRANSFER_MICRODOLLARS_MAX)}")
    if amount % BALANCE_INCREMENT_MICRODOLLARS:
        raise Rejected(RejectCode.INVALID_PARAMETERS, "a transfer is a whole number of cents")
    client_id = command.client_transfer_id
    if not client_id or len(client_id) > CLIENT_TRANSFER_ID_LENGTH_MAX:
        raise Rejected(RejectCode.INVALID_PARAMETERS, f"client_transfer_id is required, at most {CLIENT_TRANSFER_ID_LENGTH_MAX} characters")
    if command.from_subaccount == command.to_subaccount:
        raise Rejected(RejectCode.INVALID_PARAMETERS, "a transfer needs two different subaccounts")
    source = subaccount(ledger, command.account_id, command.from_subaccount)
    target = subaccount(ledger, command.account_id, command.to_subaccount)
    index = ledger.subaccounts
    used = index.client_transfer_ids.get(command.account_id, {})
    earlier = used.get(client_id)
    if earlier is not None:
        if earlier[1:] != (command.from_subaccount, command.to_subaccount, amount):
            raise Rejected(RejectCode.ALREADY_EXISTS, f"client_transfer_id {client_id} was used for another transfer")
        return earlier[0]  # the same transfer again: done already, nothing moves
    if len(used) >= SUBACCOUNT_TRANSFERS_PER_MEMBER_MAX:
        raise Rejected(RejectCode.INVALID_PARAMETERS, f"a member makes at most {SUBACCOUNT_TRANSFERS_PER_MEMBER_MAX} transfers")
    if amount > source.cash_microdollars:
        raise Rejected(
            RejectCode.INSUFFICIENT_BALANCE,
            f"need ${format_money_dollars(amount)}, have ${format_money_dollars(source.cash_microdollars)}",
        )
    transfer_id = index.next_transfer_id
    index.next_transfer_id += 1
    if not used:
        index.client_transfer_ids[command.account_id] = used
    used[client_id] = (transfer_id, command.from_subaccount, command.to_subaccount, amount)
    source.cash_microdollars -= amount
    target.cash_microdollars += amount
    scope.emit(SubaccountTransferred(
        transfer_id, command.account_id, command.from_subaccount, command.to_subaccount, amount, client_id,
    ))
    scope.touch(source)
    scope.touch(target)
    return transfer_id


def set_netting(ledger: Ledger, scope: Scope, command: SetNetting) -> int:
    """Switch netting of one of the member's accounts; the subaccount's number."""
    primary_account(ledger, command.account_id)
    account = subaccount(ledger, command.account_id, command.subaccount_number)
    if account.netting_enabled == command.enabled:
        return command.subaccount_number  # already so: nothing changes, nothing is reported
    if account.open_order_count:
        raise Rejected(RejectCode.INVALID_PARAMETERS,
                       f"subaccount {command.subaccount_number} has {account.open_order_count} open orders: "
                       "cancel them before switching netting")
    if command.enabled:
        for ticker, am in account.markets.items():
            if am.hedged_centicontracts():
                raise Rejected(RejectCode.INVALID_PARAMETERS,
                               f"subaccount {command.subaccount_number} holds both YES and NO in {ticker}: "
                               "sell one side before switching netting on")
    account.netting_enabled = command.enabled
    for am in account.markets.values():
        if command.enabled:
            net_again(am)
        else:
            hold_apart(am)
        scope.touch_position(am)
    scope.emit(NettingChanged(account.account_id, command.account_id, command.subaccount_number, command.enabled))
    scope.touch(account)
    return command.subaccount_number
