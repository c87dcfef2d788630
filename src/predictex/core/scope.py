"""What one command in flight collects: its time, the events it produced, and the accounts and
positions it touched (whose final state is reported once, after the command)."""

from __future__ import annotations

from predictex.core.events import Event
from predictex.core.ledger import Account, AccountMarket


class Scope:
    def __init__(self) -> None:
        self.now_ms = 0
        self.events: list[Event] = []
        # touched records carry the epoch of the command that last touched them, so each is listed once
        self.epoch = 0
        self.accounts: list[Account] = []
        self.positions: list[AccountMarket] = []

    def begin(self, events: list[Event]) -> None:
        self.events = events
        self.epoch += 1
        self.accounts.clear()
        self.positions.clear()

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def touch(self, account: Account) -> None:
        if account.touched_epoch != self.epoch:
            account.touched_epoch = self.epoch
            self.accounts.append(account)

    def touch_position(self, am: AccountMarket) -> None:
        if am.touched_epoch != self.epoch:
            am.touched_epoch = self.epoch
            self.positions.append(am)
