"""The crash test: a busy exchange (crash_driver.py, a process of its own, on a SQLite journal) is
killed with SIGKILL at random moments, many times, and after every kill the journal must keep every
promise the process made:

- every acknowledged command (a complete line of an ack log) is in the journal, at its sequence
  number, with the identical command and events; no sequence number is acknowledged twice;
- only the last batch may be torn; the journal recovers (from its newest snapshot) and
  `predictex.journal.verify.verify`, a replay from scratch that checks the engine's invariants
  and every stored snapshot, reaches the same state hash as recovery; recovery's engine passes
  `check_invariants` too;
- nothing unacknowledged has half-applied: the journal holds whole records that replay to their
  stored events, and the read model's history (written in each batch's transaction) is exactly as
  far as the journal (`history_seq`, and one `trades` row per trade event).

Kills land anywhere: most while the workload runs (a random delay after the driver reports
ready), some during start-up, recovery and set-up (a random delay after the spawn). The journal
is kept across KILLS_PER_JOURNAL kills, then a fresh one starts; the test ends with a clean stop,
whose snapshot must make recovery immediate.

The seed fixes the workload of every run and every kill delay; the moment a kill lands also
depends on the machine's speed, so a replay repeats the same schedule, not the same instants:

    PREDICTEX_CRASH_SEED=N pytest tests/integration/test_crash.py
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from crash_driver import ack_hash

from predictex.core.events import Trade
from predictex.core.invariants import check_invariants
from predictex.core.snapshot import state_hash
from predictex.journal import Journal, Recovery
from predictex.journal.records import TornBatch, decode_batch
from predictex.journal.sqlite import SqliteStore
from predictex.journal.verify import verify

DRIVER = Path(__file__).with_name("crash_driver.py")
KILLS = 36
KILLS_PER_JOURNAL = 6
EARLY_KILL_SHARE = 0.2  # kills that do not wait for "ready": start-up, recovery, set-up
EARLY_KILL_S_MAX = 0.5
RUNNING_KILL_S_MAX = 0.8
READY_TIMEOUT_S = 30.0
CLEAN_RUN_COMMANDS = 500

_SEED = os.environ.get("PREDICTEX_CRASH_SEED")


@dataclass
class _Acks:
    """Every acknowledgement read from the ack logs so far: seq -> (events hash, command hash)."""

    by_seq: dict[int, tuple[str, str]] = field(default_factory=dict)

    def read(self, log: Path) -> int:
        """Add one ack log's complete lines (the last may be cut short by the kill); returns how many."""
        if not log.exists():
            return 0
        count = 0
        for line in log.read_text(encoding="ascii").splitlines(keepends=True):
            if not line.endswith("\n"):
                break
            seq_text, events_hash, command_hash = line.split()
            seq = int(seq_text)
            assert seq not in self.by_seq, f"sequence {seq} was acknowledged twice"
            self.by_seq[seq] = (events_hash, command_hash)
            count += 1
        return count


@dataclass
class _Tally:
    kills: int = 0
    kills_while_acking: int = 0
    acks: int = 0
    commands_in_journals: int = 0
    snapshot_recoveries: int = 0
    torn_tails: int = 0


def _check_torn_only_at_the_end(store: SqliteStore) -> bool:
    """Decode every batch: a torn one is allowed only last. Returns whether the last was torn."""
    batches = list(store.batches())
    for index, batch in enumerate(batches):
        try:
            decode_batch(batch.data, batch.first_seq, batch.record_count)
        except TornBatch:
            assert index == len(batches) - 1, f"batch {batch.first_seq}-{batch.last_seq} is torn but not the last"
            return True
    return False


def _check_journal(directory: Path, acks: _Acks, tally: _Tally) -> Recovery:
    """Everything the journal in `directory` must satisfy after a kill (see the module docstring)."""
    store = SqliteStore(directory / "journal.db")
    history_seq = store.get_meta("history_seq")
    tally.torn_tails += _check_torn_only_at_the_end(store)
    journal = Journal(store)
    recovery = journal.recover()
    tally.snapshot_recoveries += recovery.snapshot_seq > 0
    stored: dict[int, tuple[str, str]] = {}
    trade_events = 0
    for record in journal.records():
        stored[record.seq] = (ack_hash(record.events), ack_hash(record.command))
        trade_events += sum(1 for event in record.events if event[0] == Trade.TYPE)
    assert list(stored) == list(range(1, recovery.last_seq + 1)), "the journal's sequence numbers have gaps"
    for seq, hashes in acks.by_seq.items():
        assert seq in stored, f"acknowledged sequence {seq} is missing (the journal ends at {recovery.last_seq})"
        assert stored[seq] == hashes, f"acknowledged sequence {seq} is stored with other events or another command"
    if recovery.last_seq:
        assert history_seq == str(recovery.last_seq), f"the read model's history is at {history_seq}, the journal at {recovery.last_seq}"
        assert store.query("SELECT COUNT(*) FROM trades")[0][0] == trade_events, "history and journal disagree on trades"
    check_invariants(recovery.engine)
    verification = verify(journal)
    assert verification.last_seq == recovery.last_seq
    assert verification.state_hash == state_hash(recovery.engine), "recovery and a replay from scratch disagree"
    tally.commands_in_journals = max(tally.commands_in_journals, recovery.last_seq)
    store.close()
    return recovery


def _spawn(directory: Path, seed: int, ack_log: Path, err: Path, commands: int = 0) -> subprocess.Popen[bytes]:
    argv = [sys.executable, str(DRIVER), str(directory), "--seed", str(seed), "--ack-log", str(ack_log)]
    if commands:
        argv += ["--commands", str(commands)]
    with err.open("wb") as stderr:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr)


def _wait_ready(driver: subprocess.Popen[bytes], err: Path) -> None:
    assert driver.stdout is not None
    readable, _, _ = select.select([driver.stdout], [], [], READY_TIMEOUT_S)
    line = driver.stdout.readline() if readable else b""
    assert line.startswith(b"ready"), f"the driver did not get ready: {line!r}\n{err.read_text()}"


def _kill_once(directory: Path, run: int, rng: random.Random, acks: _Acks, tally: _Tally) -> None:
    ack_log, err = directory / f"acks-{run}.log", directory / f"driver-{run}.err"
    driver = _spawn(directory, rng.randrange(1 << 31), ack_log, err)
    try:
        if rng.random() < EARLY_KILL_SHARE:
            time.sleep(rng.uniform(0, EARLY_KILL_S_MAX))
        else:
            _wait_ready(driver, err)
            time.sleep(rng.uniform(0, RUNNING_KILL_S_MAX))
        assert driver.poll() is None, f"the driver exited by itself ({driver.returncode}):\n{err.read_text()}"
        driver.send_signal(signal.SIGKILL)
    finally:
        if driver.poll() is None:
            driver.kill()
        driver.wait()
        assert driver.stdout is not None
        driver.stdout.close()
    assert "Traceback" not in err.read_text(), err.read_text()
    new_acks = acks.read(ack_log)
    tally.kills += 1
    tally.kills_while_acking += new_acks > 0
    tally.acks += new_acks


def _clean_stop(directory: Path, seed: int, acks: _Acks, tally: _Tally) -> None:
    ack_log, err = directory / "acks-clean.log", directory / "driver-clean.err"
    driver = _spawn(directory, seed, ack_log, err, commands=CLEAN_RUN_COMMANDS)
    assert driver.wait(timeout=120) == 0, err.read_text()
    assert driver.stdout is not None
    driver.stdout.close()
    assert acks.read(ack_log) >= CLEAN_RUN_COMMANDS
    recovery = _check_journal(directory, acks, tally)
    assert recovery.last_seq >= max(acks.by_seq)
    assert (recovery.replayed, recovery.snapshot_seq) == (0, recovery.last_seq), "a clean stop leaves a snapshot of the end"


@pytest.mark.slow
def test_every_acknowledged_command_survives_sigkill(tmp_path: Path) -> None:
    seed = int(_SEED) if _SEED else random.SystemRandom().randrange(1 << 31)
    rng = random.Random(seed)
    tally = _Tally()
    run = 0
    try:
        while run < KILLS:
            directory = tmp_path / f"journal-{run // KILLS_PER_JOURNAL}"
            directory.mkdir(exist_ok=True)
            acks = _Acks()
            for _ in range(KILLS_PER_JOURNAL):
                _kill_once(directory, run, rng, acks, tally)
                _check_journal(directory, acks, tally)
                run += 1
        _clean_stop(directory, rng.randrange(1 << 31), acks, tally)
    except Exception as error:
        raise AssertionError(
            f"crash test failed at kill #{run} with seed {seed}: {error}\n"
            f"  replay: PREDICTEX_CRASH_SEED={seed} pytest tests/integration/test_crash.py"
        ) from error
    print(f"crash test, seed {seed}: {tally}")
    assert tally.kills_while_acking >= KILLS // 2, f"too few kills landed while commands were acknowledged: {tally}"
    assert tally.snapshot_recoveries > 0, f"no recovery started from a snapshot: {tally}"
