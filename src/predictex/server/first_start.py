"""The first start of an exchange, safe to kill at any point, and the operator's credentials.

On an empty journal `predictex serve` makes the operator: an engine account, a member
(`operator@predictex.local`, an admin) with a password, and an RSA API key, whose credentials it
writes to the data directory, readable only by their owner: `operator.json` (email, password, key id,
key path) and `operator-key.pem`. The steps are ordered so that what is committed and what is on disk
never disagree in a way the next start cannot finish:

1. The password and key pair are made and written to `operator-pending.json` before anything they
   unlock is committed.
2. The journal's meta row `first_start` records `pending` and the engine account the operator will
   get (the engine's next account number: nothing else writes before the first start is done).
3. One journal batch opens that account (with play money in demo): all or nothing.
4. The member is created with the pending password (or, if it exists, given that password), then the
   pending public key is registered (unless it is already), then any other key of the operator is
   revoked (an earlier attempt's, whose private half was lost with its data directory).
5. `operator-key.pem`, then `operator.json`, each written to a temporary file, flushed and renamed.
6. `first_start` becomes `done`; then the pending file is removed.

A start that finds `first_start` pending resumes: it takes the credentials from the pending file
(new ones if it is gone, as when a PostgreSQL journal outlives its data directory) and each step checks
what is already committed before writing. An exchange made before this record existed counts as done
when its operator exists. Once done, the credentials are the operator's to keep or move: a later start
never replaces them; `reset_credentials` (`predictex admin credentials reset`, with the server stopped)
mints new ones and revokes the old.

The demo markets (`server/demo.py`) are one journal batch of their own, made whenever a demo exchange
has no market, so a kill before or after that batch leaves none or all of them.

For the crash test, `step(name)` marks each step; with `PREDICTEX_TEST_CRASH_AT_STEP=k` (a number or
a step's name) the process kills itself (SIGKILL, no clean-up) on reaching the k-th.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from predictex.accounts import Accounts, AccountsError, Member
from predictex.accounts.members import Role, Tier
from predictex.core import commands as c
from predictex.journal.base import JournalStore
from predictex.server import sources
from predictex.server.config import DEMO_STARTING_BALANCE_MICRODOLLARS
from predictex.server.context import Exchange

log = logging.getLogger("predictex.server")

OPERATOR_EMAIL = "operator@predictex.local"
OPERATOR_KEY_NAME = "operator"
CREDENTIALS_FILE = "operator.json"
KEY_FILE = "operator-key.pem"
PENDING_FILE = "operator-pending.json"
META_KEY = "first_start"
PASSWORD_BYTES = 16
RSA_KEY_BITS = 2048
CRASH_AT_STEP_VARIABLE = "PREDICTEX_TEST_CRASH_AT_STEP"

_crash_at_step = os.environ.get(CRASH_AT_STEP_VARIABLE, "")
_steps_passed = 0


def step(name: str) -> None:
    """A step of the start-up done. With PREDICTEX_TEST_CRASH_AT_STEP=k (a number, or a step's name),
    the k-th step kills the process at once, as a power cut would (the crash test's hook; unset, this
    only counts)."""
    global _steps_passed
    _steps_passed += 1
    if _crash_at_step and _crash_at_step in (str(_steps_passed), name):
        sys.stderr.write(f"crash test: killed at step {_steps_passed} ({name})\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)


class CredentialsError(Exception):
    """The operator's credentials cannot be reset (no operator yet, or a first start to finish)."""


@dataclass(frozen=True)
class NewCredentials:
    password: str
    private_key_pem: str

    @classmethod
    def make(cls) -> NewCredentials:
        private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption()).decode("ascii")
        return cls(secrets.token_urlsafe(PASSWORD_BYTES), pem)

    @property
    def public_key_pem(self) -> str:
        private = serialization.load_pem_private_key(self.private_key_pem.encode("ascii"), password=None)
        return private.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


@dataclass(frozen=True)
class OperatorCredentials:
    """Where the operator's credentials were written (the banner names the file; the secrets stay in it)."""

    email: str
    api_key_id: str
    credentials_path: Path
    private_key_path: Path


# --- the first start ------------------------------------------------------------------------------

async def first_start(exchange: Exchange, data_dir: Path) -> OperatorCredentials | None:
    """Make the operator and its credentials on a new exchange, or finish a first start that was cut
    short; None when the first start was done before."""
    store = exchange.store
    accounts = exchange.accounts
    state = _state(store)
    if state.get("state") == "done" or (not state and accounts.members.get_by_email(OPERATOR_EMAIL) is not None):
        _remove(data_dir / PENDING_FILE)  # left by a kill after `done` was recorded
        return None
    credentials = _pending(data_dir)
    account_id = await _operator_account(exchange, state)
    member = _operator_member(accounts, credentials, account_id)
    key_id = _install_key(accounts, member, credentials)
    revoked = _revoke_other_keys(accounts, member, key_id)
    written = write_credentials(data_dir, credentials, key_id)
    store.set_meta(META_KEY, json.dumps({"state": "done", "operator_account": account_id}))
    step("recorded the first start as done")
    _remove(data_dir / PENDING_FILE)
    step("removed the pending credentials")
    log.info("created the operator account %s%s", OPERATOR_EMAIL,
             f" (revoked {revoked} API keys of an earlier attempt)" if revoked else "")
    return written


def _state(store: JournalStore) -> dict[str, Any]:
    text = store.get_meta(META_KEY)
    if text is None:
        return {}
    found = json.loads(text)
    if not isinstance(found, dict):
        raise ValueError(f"the journal's {META_KEY} record is not an object: {text!r}")
    return found


def _pending(data_dir: Path) -> NewCredentials:
    """The pending credentials: the file's, or new ones written to it first."""
    path = data_dir / PENDING_FILE
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        return NewCredentials(str(found["password"]), str(found["private_key_pem"]))
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError) as error:  # torn by a kill while it was written: never used
        log.warning("discarding unreadable %s (%s)", path, error)
    credentials = NewCredentials.make()
    write_private(path, json.dumps({"password": credentials.password, "private_key_pem": credentials.private_key_pem}) + "\n")
    step("wrote the pending credentials")
    return credentials


async def _operator_account(exchange: Exchange, state: dict[str, Any]) -> int:
    """The operator's engine account: the one the pending record names if the journal has it, else a
    new one opened in one batch (with play money in demo)."""
    engine = exchange.sequencer.engine
    recorded = state.get("operator_account")
    if isinstance(recorded, int) and recorded in engine.ledger.accounts:
        return recorded
    account_id = engine.ledger.next_account_id  # nothing else is submitted before the first start is done
    exchange.store.set_meta(META_KEY, json.dumps({"state": "pending", "operator_account": account_id}))
    step("recorded the first start as pending")
    commands: list[c.Command] = [c.OpenAccount()]
    if exchange.config.is_demo:
        commands.append(c.Deposit(account_id, DEMO_STARTING_BALANCE_MICRODOLLARS, "demo starting balance"))
    committed = await exchange.sequencer.submit_many(commands, sources.SYSTEM)
    refused = [entry.outcome.reject for entry in committed if entry.outcome.reject is not None]
    if refused or committed[0].outcome.value != account_id:
        raise RuntimeError(f"the operator's account was not opened as {account_id}: {refused or committed[0].outcome.value}")
    step("committed the operator's engine account")
    return account_id


def _operator_member(accounts: Accounts, credentials: NewCredentials, account_id: int) -> Member:
    member = accounts.members.get_by_email(OPERATOR_EMAIL)
    if member is None:
        member = accounts.members.create(OPERATOR_EMAIL, credentials.password, account_id, role=Role.ADMIN, tier=Tier.PRESTIGE)
        step("created the operator member")
        return member
    if member.engine_account_id != account_id:
        raise RuntimeError(f"the operator member trades with account {member.engine_account_id}, the first start "
                           f"recorded {account_id}")
    if accounts.members.authenticate(OPERATOR_EMAIL, credentials.password) is None:
        accounts.members.set_password(member.member_id, credentials.password)
        step("set the operator's password")
    return member


def _install_key(accounts: Accounts, member: Member, credentials: NewCredentials) -> str:
    """The id of the operator's live key with the credentials' public key, registered if needed."""
    public_pem = credentials.public_key_pem
    for key in accounts.keys.list(member.member_id):
        if key.public_key_pem == public_pem:
            return key.key_id
    key_id = accounts.keys.register(member.member_id, OPERATOR_KEY_NAME, public_pem).key_id
    step("registered the operator's API key")
    return key_id


def _revoke_other_keys(accounts: Accounts, member: Member, keep_key_id: str) -> int:
    revoked = 0
    for key in accounts.keys.list(member.member_id):
        if key.key_id != keep_key_id:
            accounts.keys.delete(key.key_id)
            revoked += 1
            step("revoked an API key of the operator")
    return revoked


# --- files ----------------------------------------------------------------------------------------

def write_credentials(data_dir: Path, credentials: NewCredentials, key_id: str) -> OperatorCredentials:
    """operator-key.pem, then operator.json, each replaced whole (never seen half-written)."""
    key_path = (data_dir / KEY_FILE).absolute()
    write_private(key_path, credentials.private_key_pem)
    step("wrote operator-key.pem")
    details = {"email": OPERATOR_EMAIL, "password": credentials.password, "api_key_id": key_id, "private_key_path": str(key_path)}
    credentials_path = (data_dir / CREDENTIALS_FILE).absolute()
    write_private(credentials_path, json.dumps(details, indent=2) + "\n")
    step("wrote operator.json")
    return OperatorCredentials(OPERATOR_EMAIL, key_id, credentials_path, key_path)


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text`, readable only by its owner (mode 0600), durably: a temporary file
    is written and flushed, then renamed over `path`, then the directory is flushed."""
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # an older temporary file may have had another mode
        data = text.encode("utf-8")
        while data:
            data = data[os.write(descriptor, data):]
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
    _sync_directory(path.parent)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        return
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# --- a reset by the operator ----------------------------------------------------------------------

@dataclass(frozen=True)
class ResetResult:
    written: OperatorCredentials
    keys_revoked: int
    sessions_revoked: int


def reset_credentials(accounts: Accounts, store: JournalStore, data_dir: Path) -> ResetResult:
    """New operator credentials (password and API key) written to `data_dir`, and every other API key
    and session of the operator revoked. For an operator who lost them; run with the server stopped
    (its caches would not see the change). A kill at any point leaves working credentials in
    `operator.json`: the new key is registered before the files are replaced, and the old password
    and keys are revoked only after."""
    state = _state(store)
    member = accounts.members.get_by_email(OPERATOR_EMAIL)
    if state.get("state") == "pending":
        raise CredentialsError("the first start has not finished: start `predictex serve` once, which finishes it and "
                               f"writes the operator's credentials to {data_dir / CREDENTIALS_FILE}")
    if member is None:
        raise CredentialsError("this journal has no operator yet: `predictex serve` makes one on its first start")
    try:
        credentials = NewCredentials.make()
        key_id = accounts.keys.register(member.member_id, OPERATOR_KEY_NAME, credentials.public_key_pem).key_id
        written = write_credentials(data_dir, credentials, key_id)
        accounts.members.set_password(member.member_id, credentials.password)
        revoked = _revoke_other_keys(accounts, member, key_id)
        sessions = accounts.sessions.revoke_member(member.member_id)
    except AccountsError as error:
        raise CredentialsError(error.message) from error
    log.info("reset the operator's credentials: new API key %s, %d other keys and %d sessions revoked", key_id, revoked, sessions)
    return ResetResult(written, revoked, sessions)
