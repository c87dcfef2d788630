"""One writer per data directory and per journal, and the checks that refuse a start before it
creates anything.

A data directory holds a journal (SQLite) and the operator's credentials; a PostgreSQL database holds
a journal too. Two servers writing either would each believe they own the exchange until one of them
fails on its first write. So `predictex serve` (and `predictex admin credentials reset`, which writes
the operator's credentials) takes, before anything else:

- an exclusive `flock` on `predictex.lock` in the data directory (and in the directory of a SQLite
  journal kept elsewhere), which names its holder (pid, host, start time) in the file;
- on PostgreSQL, a session advisory lock on the journal's schema, on a connection held for the
  process's life, whose `application_name` names the holder.

Both are released by the kernel or the database when the process dies, however it dies: a lock file
left behind by a killed server is not a lock. A second process refuses at once with `StartRefused`,
naming the holder, and changes nothing.

Refusals carry an exit code of their own (see docs/operations.md), so a supervisor can tell a busy
port from a locked data directory without reading the message.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from predictex.server.config import Config

LOCK_FILE_NAME = "predictex.lock"
LOCK_HOLDER_BYTES_MAX = 4096

# exit codes of `predictex serve` (2 is a bad flag, from argparse and the config)
EXIT_DATA_DIR = 3  # the data directory cannot be created, read or written
EXIT_DATABASE = 4  # the database URL is malformed, unsupported or unreachable
EXIT_PORT = 5  # a port to listen on is taken (or not ours to take)
EXIT_LOCKED = 6  # another process holds the data directory or the journal

# the advisory lock's first key: "prdx"; the second is a hash of the journal's schema
_PG_LOCK_CLASS = 0x70726478
_PG_SCHEMA_KEY = "hashtext(coalesce(current_schema(), '')) & 2147483647"
_PG_APPLICATION_NAME_MAX = 63


class StartRefused(Exception):
    """A start (or an offline operator command) refused before it changed anything; `exit_code` says why."""

    def __init__(self, exit_code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.message = message


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: written into the lock file, read back by the process it refuses."""

    command: str
    pid: int
    host: str
    started: str  # RFC 3339, UTC

    @classmethod
    def this_process(cls, command: str) -> Holder:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        return cls(command, os.getpid(), socket.gethostname(), now.isoformat().replace("+00:00", "Z"))

    def describe(self) -> str:
        return f"{self.command} (pid {self.pid} on {self.host}, since {self.started})"

    def application_name(self) -> str:
        return f"{self.command} pid {self.pid} on {self.host}"[:_PG_APPLICATION_NAME_MAX]


# --- the data directory ---------------------------------------------------------------------------

def check_directory(path: Path) -> bool:
    """Whether `path` exists; refuses (EXIT_DATA_DIR) a path that is not a directory we can read and
    write, or that cannot be created (its nearest existing parent is not writable)."""
    if path.exists():
        if not path.is_dir():
            raise StartRefused(EXIT_DATA_DIR, f"the data directory {path} is not a directory")
        if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
            raise StartRefused(EXIT_DATA_DIR, f"cannot use the data directory {path}: permission denied (it needs read and write access)")
        return True
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise StartRefused(EXIT_DATA_DIR, f"cannot create the data directory {path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise StartRefused(EXIT_DATA_DIR, f"cannot create the data directory {path}: {parent} is not writable")
    return False


def create_directory(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StartRefused(EXIT_DATA_DIR, f"cannot create the data directory {path}: {error.strerror or error}") from error


class DirectoryLock:
    """An exclusive lock on a directory: `flock` on its `predictex.lock`, held until `release` or
    the end of the process. The file keeps the holder's description; it is never deleted (deleting it
    while another process waits to open it would let two processes lock two different files)."""

    def __init__(self, directory: Path, what: str = "the data directory") -> None:
        self.directory = directory
        self.path = directory / LOCK_FILE_NAME
        self.what = what
        self._descriptor: int | None = None

    @property
    def held(self) -> bool:
        return self._descriptor is not None

    def acquire(self, holder: Holder) -> None:
        try:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as error:
            raise StartRefused(EXIT_DATA_DIR, f"cannot open {self.path}: {error.strerror or error}") from error
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            held_by = _read_holder(descriptor)
            os.close(descriptor)
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StartRefused(EXIT_DATA_DIR, f"cannot lock {self.path}: {error.strerror or error}") from error
            raise StartRefused(EXIT_LOCKED, f"{self.what} {self.directory} is in use by {held_by}; one server per data "
                                            "directory: stop that one first, or give another --data-dir") from None
        text = json.dumps({"command": holder.command, "pid": holder.pid, "host": holder.host, "started": holder.started}) + "\n"
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, text.encode("utf-8"), 0)
        self._descriptor = descriptor

    def release(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing the only descriptor of the open file releases the flock
            self._descriptor = None


def _read_holder(descriptor: int) -> str:
    try:
        found: Any = json.loads(os.pread(descriptor, LOCK_HOLDER_BYTES_MAX, 0).decode("utf-8"))
        return Holder(str(found["command"]), int(found["pid"]), str(found["host"]), str(found["started"])).describe()
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (its description in the lock file is unreadable)"


# --- ports ----------------------------------------------------------------------------------------

def check_port(host: str, port: int, what: str) -> None:
    """Refuses (EXIT_PORT) when `port` on `host` cannot be bound: taken by another server, or not
    ours to take. Binds every address `host` resolves to, then lets go (port 0 always binds)."""
    if port == 0:
        return
    try:
        addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise StartRefused(EXIT_PORT, f"cannot listen on {host}: {error.strerror}") from error
    for family, kind, protocol, _name, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server's own socket will
            try:
                probe.bind(address)
            except OSError as error:
                raise StartRefused(EXIT_PORT, port_refusal(host, port, what, error)) from error


def port_refusal(host: str, port: int, what: str, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return f"port {port} on {host} ({what}) is in use by another program; stop it, or choose another port"
    if error.errno == errno.EACCES:
        return f"port {port} on {host} ({what}) needs privileges this process does not have; choose a port above 1023"
    return f"cannot listen on {host}:{port} ({what}): {error.strerror or error}"


# --- the database ---------------------------------------------------------------------------------

class PostgresLock:
    """A session advisory lock on a PostgreSQL journal (its database and schema), on a connection of
    its own held until `release` or the end of the process."""

    def __init__(self, url: str, description: str) -> None:
        self.url = url
        self.description = description
        self._connection: Any = None

    def acquire(self, holder: Holder) -> None:
        import psycopg

        try:
            connection = psycopg.connect(self.url, autocommit=True, connect_timeout=10, application_name=holder.application_name())
        except (psycopg.Error, ValueError) as error:
            raise StartRefused(EXIT_DATABASE, f"cannot connect to the database {self.description}: {_first_line(error)}") from error
        try:
            schema = connection.execute("SELECT current_schema()").fetchone()
            if schema is None or schema[0] is None:
                connection.close()
                raise StartRefused(EXIT_DATABASE, f"the database {self.description} has no schema to keep the journal in: "
                                                  "its search_path names none that exists (create it first: CREATE SCHEMA ...)")
            row = connection.execute(f"SELECT pg_try_advisory_lock(%s, {_PG_SCHEMA_KEY})", (_PG_LOCK_CLASS,)).fetchone()
            if row is None or not row[0]:
                held_by = _postgres_holder(connection)
                connection.close()
                raise StartRefused(EXIT_LOCKED, f"the journal {self.description} is in use by {held_by}; one server per "
                                                "journal: stop that one first")
        except psycopg.Error as error:
            connection.close()
            raise StartRefused(EXIT_DATABASE, f"cannot lock the journal {self.description}: {_first_line(error)}") from error
        self._connection = connection

    def lost(self) -> str:
        """Why the lock is no longer held ("" while it is): its session ended (the database restarted,
        the connection broke, an administrator terminated it), so another server could take it."""
        import psycopg

        if self._connection is None:
            return ""
        try:
            self._connection.execute("SELECT 1")
        except psycopg.Error as error:
            return f"the lock on the journal {self.description} was lost with its database session: {_first_line(error)}"
        return ""

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):  # the lock ends with the session in any case
                self._connection.close()
            self._connection = None


def _postgres_holder(connection: Any) -> str:
    row = connection.execute(
        "SELECT a.application_name, a.pid, host(a.client_addr), a.backend_start FROM pg_locks l "
        "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
        f"AND l.classid = %s AND l.objid = ({_PG_SCHEMA_KEY})::oid AND l.objsubid = 2 LIMIT 1",
        (_PG_LOCK_CLASS,),
    ).fetchone()
    if row is None:
        return "another process"
    name, backend, address, started = row
    since = started.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if started is not None else "?"
    who = name or "a connection"
    return f"{who} (database session {backend}{f' from {address}' if address else ''}, since {since})"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# --- all of it, in order ----------------------------------------------------------------------------

@dataclass
class Claim:
    """The locks a process holds on its data directory and journal, released together."""

    locks: list[DirectoryLock | PostgresLock] = field(default_factory=list)

    def take(self, lock: DirectoryLock | PostgresLock, holder: Holder) -> None:
        lock.acquire(holder)
        self.locks.append(lock)

    @property
    def can_be_lost(self) -> bool:
        """Whether a lock lives in a database session (a flock lives as long as the process)."""
        return any(isinstance(lock, PostgresLock) for lock in self.locks)

    def lost(self) -> str:
        """Why a lock is no longer held ("" while all are). Blocks on the database: call off the event loop."""
        for lock in self.locks:
            if isinstance(lock, PostgresLock):
                why = lock.lost()
                if why:
                    return why
        return ""

    def release(self) -> None:
        while self.locks:
            self.locks.pop().release()


def claim(config: Config, holder: Holder, ports: dict[str, int]) -> Claim:
    """Everything that can refuse a start, in order, before anything is created: the data directory
    (usable, and locked if it exists), the ports (`what` -> port), the database (a URL predictex uses;
    PostgreSQL: reachable, and its journal locked; SQLite: a file it can read and write, whose
    directory is locked too when it is not the data directory). Only then are missing directories
    made, and locked. Raises StartRefused, holding nothing, or returns what it holds."""
    held = Claim()
    try:
        existed = check_directory(config.data_dir)
        if existed:
            held.take(DirectoryLock(config.data_dir), holder)
        for what, port in ports.items():
            check_port(config.host, port, what)
        journal_directory = _claim_database(config, holder, held)
        if journal_directory is not None and _same_directory(journal_directory, config.data_dir):
            journal_directory = None  # one directory, one lock
        journal_directory_existed = journal_directory is not None and check_directory(journal_directory)
        if journal_directory is not None and journal_directory_existed:
            held.take(DirectoryLock(journal_directory, "the directory of the journal"), holder)
        if not existed:  # everything checked: now the directories may be made
            create_directory(config.data_dir)
            held.take(DirectoryLock(config.data_dir), holder)
        if journal_directory is not None and not journal_directory_existed:
            create_directory(journal_directory)
            held.take(DirectoryLock(journal_directory, "the directory of the journal"), holder)
    except BaseException:
        held.release()
        raise
    return held


def _claim_database(config: Config, holder: Holder, held: Claim) -> Path | None:
    """Check the database URL (PostgreSQL: connect and lock the journal); the directory of a SQLite
    journal, to lock (None for PostgreSQL and memory)."""
    from predictex.server.config import redacted

    problem = config.database_url_problem()
    if problem:
        raise StartRefused(EXIT_DATABASE, problem)
    if config.uses_postgres:
        held.take(PostgresLock(config.database_url, redacted(config.database_url)), holder)
        return None
    path = config.sqlite_path
    if path is None:
        return None
    if path.exists() and (not path.is_file() or not os.access(path, os.R_OK | os.W_OK)):
        raise StartRefused(EXIT_DATABASE, f"cannot use the SQLite journal {path}: it must be a file this process can read and write")
    return path.parent


def _same_directory(first: Path, second: Path) -> bool:
    return first.absolute().resolve() == second.absolute().resolve()
