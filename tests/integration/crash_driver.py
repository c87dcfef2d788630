"""The child process of the crash test (test_crash.py): a busy exchange that is killed at random.

    python tests/integration/crash_driver.py DIRECTORY --seed N --ack-log PATH [--commands N]

It opens the SQLite journal DIRECTORY/journal.db, recovers, opens the read model (the sequencer's
projector and listener, as in production) and starts a sequencer on the wall clock that also takes a
snapshot every SNAPSHOT_EVERY commands. It makes sure the instruments and accounts exist and have
cash, prints "ready <last seq>", then runs PRODUCERS order-entry clients (each awaits one command at
a time) and one bulk client (`submit_many`) against three markets until it is killed; with
`--commands N` it stops cleanly once N commands have been acknowledged.

Every acknowledgement is appended to the ack log as one line, `<seq> <events hash> <command hash>`,
written and flushed before its producer sends anything else (the hashes are `ack_hash` of the
encoded events and command, as stored in the journal). Flushed lines are in the kernel and survive
SIGKILL, so every complete line is a promise the journal must keep; the last line may be cut short.
The workload depends only on the seed and on the order ids the acknowledgements return.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import sys
from collections import deque
from pathlib import Path
from typing import Any, TextIO

import orjson

from predictex.core import commands as c
from predictex.core.codec import encode_command, encode_event
from predictex.core.engine import Engine
from predictex.journal import Journal
from predictex.journal.sqlite import SqliteStore
from predictex.readmodel import ReadModel
from predictex.server.clock import WallClock
from predictex.server.sequencer import Committed, Sequencer

SERIES = "KXCRASH"
EVENT = "KXCRASH-E"
MARKETS = ("KXCRASH-A", "KXCRASH-B", "KXCRASH-C")
ACCOUNTS = 8
PRODUCERS = 8
SNAPSHOT_EVERY = 1_500
LOW_CASH_MICRODOLLARS = 20_000 * 1_000_000
TOP_UP_MICRODOLLARS = 100_000 * 1_000_000
REMEMBERED_ORDERS_MAX = 200  # per producer: the order ids it may cancel, amend or decrease
BULK_SIZE_MAX = 20
RUN_SECONDS_MAX = 120  # a driver nobody kills stops by itself
DAY_MS = 24 * 3600 * 1000


def ack_hash(encoded: list[Any]) -> str:
    """A short hash of an encoded command or list of events, as the journal stores them."""
    return hashlib.blake2b(orjson.dumps(encoded), digest_size=8).hexdigest()


def ack_line(committed: Committed, command: c.Command) -> str:
    events = [encode_event(event) for event in committed.outcome.events]
    return f"{committed.seq} {ack_hash(events)} {ack_hash(encode_command(command))}\n"


class _AckLog:
    """Acknowledgements, one flushed line each; counts them for `--commands`."""

    def __init__(self, out: TextIO, limit: int) -> None:
        self.out = out
        self.limit = limit
        self.count = 0
        self.done = asyncio.Event()

    def write(self, committed: Committed, command: c.Command) -> None:
        self.out.write(ack_line(committed, command))
        self.out.flush()
        self.count += 1
        if self.limit and self.count >= self.limit:
            self.done.set()


# --- setting up (idempotent: whatever a killed run left behind is kept) ------------------------------


def _instruments(engine: Engine, now_ms: int) -> list[c.Command]:
    markets = engine.markets
    commands: list[c.Command] = []
    if SERIES not in markets.series:
        commands.append(c.CreateSeries(SERIES, "Crash test", fee_type="quadratic_with_maker_fees"))
    if EVENT not in markets.events:
        commands.append(c.CreateEvent(EVENT, SERIES, "Crash test event"))
    for ticker in MARKETS:
        if ticker not in markets.markets:
            commands.append(c.CreateMarket(ticker, EVENT, ticker, now_ms - 1_000, now_ms + 30 * DAY_MS))
    commands.extend(c.OpenAccount() for _ in range(ACCOUNTS - len(engine.ledger.accounts)))
    return commands


def _top_ups(engine: Engine) -> list[c.Command]:
    return [
        c.Deposit(account_id, TOP_UP_MICRODOLLARS, "crash test")
        for account_id, account in sorted(engine.ledger.accounts.items())
        if account.cash_microdollars < LOW_CASH_MICRODOLLARS
    ]


async def _set_up(sequencer: Sequencer, log: _AckLog) -> None:
    """Instruments and accounts, then deposits for the accounts short of cash (the second step reads
    what the first one did)."""
    for step in (0, 1):
        engine = sequencer.engine
        commands = _instruments(engine, sequencer.clock.now_ms()) if step == 0 else _top_ups(engine)
        for command, committed in zip(commands, await sequencer.submit_many(commands)):
            log.write(committed, command)


# --- the workload ------------------------------------------------------------------------------------


class _Client:
    """One member's order entry: new orders near 50c, and changes to the orders it placed."""

    def __init__(self, rng: random.Random, account_id: int, clock: WallClock) -> None:
        self.rng = rng
        self.account_id = account_id
        self.clock = clock
        self.orders: deque[int] = deque(maxlen=REMEMBERED_ORDERS_MAX)

    def order(self) -> c.CreateOrder:
        rng = self.rng
        immediate = rng.random() < 0.15
        expiration_ms = self.clock.now_ms() + rng.randint(100, 3_000) if not immediate and rng.random() < 0.1 else 0
        return c.CreateOrder(
            self.account_id, rng.choice(MARKETS), rng.random() < 0.5, rng.randint(40, 60) * 100, rng.randint(1, 10) * 100,
            time_in_force="immediate_or_cancel" if immediate else "good_till_canceled", expiration_ms=expiration_ms,
        )

    def _target(self) -> int:
        return self.rng.choice(self.orders) if self.orders else 1

    def command(self) -> c.Command:
        rng, account_id = self.rng, self.account_id
        roll = rng.randrange(100)
        if roll < 50:
            return self.order()
        if roll < 65:
            return c.CancelOrder(account_id, self._target())
        if roll < 80:
            return c.AmendOrder(account_id, self._target(), price_centicents=rng.randint(40, 60) * 100)
        if roll < 85:
            return c.DecreaseOrder(account_id, self._target(), reduce_by_centicontracts=100)
        if roll < 90:
            return c.BatchCreateOrders(account_id, [self.order() for _ in range(rng.randint(2, 5))])
        if roll < 95:
            return c.BatchCancelOrders(account_id, [self._target() for _ in range(rng.randint(1, 4))])
        if roll < 98:
            return c.CancelAllOrders(account_id, rng.choice(("", *MARKETS)))
        return c.Deposit(account_id, rng.randint(1, 1_000) * 1_000_000)

    def remember(self, command: c.Command, committed: Committed) -> None:
        outcome = committed.outcome
        if isinstance(command, c.CreateOrder) and outcome.ok:
            self.orders.append(outcome.value)
        elif isinstance(command, c.BatchCreateOrders):
            self.orders.extend(item.value for item in outcome.items if item.ok)


async def _producer(sequencer: Sequencer, client: _Client, log: _AckLog) -> None:
    while not log.done.is_set():
        command = client.command()
        committed = await sequencer.execute(command)
        log.write(committed, command)
        client.remember(command, committed)


async def _bulk_producer(sequencer: Sequencer, client: _Client, log: _AckLog) -> None:
    while not log.done.is_set():
        commands = [client.command() for _ in range(client.rng.randint(2, BULK_SIZE_MAX))]
        for command, committed in zip(commands, await sequencer.submit_many(commands)):
            log.write(committed, command)
            client.remember(command, committed)


# --- the process -------------------------------------------------------------------------------------


async def run(directory: Path, seed: int, ack_log: Path, commands: int) -> None:
    store = SqliteStore(directory / "journal.db")
    journal = Journal(store)
    recovery = journal.recover()
    readmodel = ReadModel.open(store, journal, recovery)
    clock = WallClock()
    sequencer = Sequencer(
        recovery.engine, journal, clock, last_seq=recovery.last_seq, last_time_ms=recovery.last_time_ms,
        projector=readmodel, listeners=[readmodel], snapshot_every=SNAPSHOT_EVERY,
    )
    sequencer.start()
    with ack_log.open("a", encoding="ascii") as out:
        log = _AckLog(out, commands)
        await _set_up(sequencer, log)
        print(f"ready {recovery.last_seq}", flush=True)
        clients = [_Client(random.Random(f"{seed}:{i}"), i % ACCOUNTS + 1, clock) for i in range(PRODUCERS + 1)]
        tasks = [asyncio.create_task(_producer(sequencer, client, log)) for client in clients[:-1]]
        tasks.append(asyncio.create_task(_bulk_producer(sequencer, clients[-1], log)))
        try:
            await asyncio.wait_for(log.done.wait(), RUN_SECONDS_MAX)
        except TimeoutError:
            log.done.set()
        await asyncio.gather(*tasks)
    await sequencer.stop()
    store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--ack-log", type=Path, required=True)
    parser.add_argument("--commands", type=int, default=0, help="stop cleanly after this many acknowledgements")
    args = parser.parse_args(argv)
    asyncio.run(run(args.directory, args.seed, args.ack_log, args.commands))
    return 0


if __name__ == "__main__":
    sys.exit(main())
