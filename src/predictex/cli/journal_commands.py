"""`predictex journal verify` and `predictex journal export`. The journal code is imported when a
command runs: it needs the server's dependencies, which the trader's install does not have."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from predictex.cli import output as out
from predictex.cli.config import ConfigError
from predictex.cli.extras import server_extra_missing

if TYPE_CHECKING:
    from predictex.journal import Journal


def register(commands: Any, default_database: Callable[[], str]) -> None:
    journal = commands.add_parser("journal", help="verify or export the journal")
    actions = journal.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("verify", help="check the chain of batch hashes, then replay the journal into a fresh engine and check every event and invariant")
    check.add_argument("--database", default=None, help="SQLite path or postgresql:// URL (default: the data directory's)")
    check.set_defaults(handler=out.command("journal verify", lambda a: run_verify(a.database or default_database())))
    dump = actions.add_parser("export", help="write the journal as JSON lines")
    dump.add_argument("--database", default=None, help="SQLite path or postgresql:// URL (default: the data directory's)")
    dump.add_argument("--output", "-o", default="-", help="file to write (default: standard output)")
    dump.add_argument("--after", type=out.whole_number(0), default=0, help="only records after this sequence number")
    dump.set_defaults(handler=out.command("journal export", lambda a: run_export(a.database or default_database(), a.output, a.after)))


def register_audit(commands: Any, default_database: Callable[[], str]) -> None:
    audit = commands.add_parser("audit", help="the audit trail: a member's order events from the journal")
    actions = audit.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="every order event of a member, in sequence, with each command's source")
    export.add_argument("--member", required=True, help="the member's email or number")
    export.add_argument("--from", dest="from_time", required=True, type=timestamp_ms, help="from this UTC time (ISO 8601, or ms since 1970)")
    export.add_argument("--to", dest="to_time", required=True, type=timestamp_ms, help="to this UTC time, inclusive")
    export.add_argument("--format", choices=("csv", "json"), default="csv", help="csv (one row an event) or json (default: csv)")
    export.add_argument("--database", default=None, help="SQLite path or postgresql:// URL (default: the data directory's)")
    export.add_argument("--output", "-o", default="-", help="file to write (default: standard output)")
    export.set_defaults(handler=out.command("audit export", lambda a: run_audit_export(a, a.database or default_database())))


def timestamp_ms(text: str) -> int:
    """An argparse type: ms since 1970, or an ISO 8601 time (UTC unless it says otherwise)."""
    import argparse
    from datetime import UTC, datetime

    text = text.strip()
    if text.isascii() and text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time: give ISO 8601 (2026-12-07T17:00:00Z) or ms since 1970") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def member_account(journal: Journal, member: str) -> int:
    """The primary engine account of a member named by email or number (the accounts' table)."""
    rows = journal.store.query("SELECT engine_account_id FROM accounts_members WHERE email = ? OR CAST(member_id AS TEXT) = ?",
                               (member.strip().lower(), member.strip()))
    if not rows:
        raise ConfigError(f"no member {member!r} in this journal's accounts: give the member's email or number")
    return int(rows[0][0])


def run_audit_export(arguments: Any, location: str) -> int:
    if server_extra_missing("audit"):
        return 2
    from predictex.journal import JournalError
    from predictex.journal.audit import order_events, to_csv, to_json

    if arguments.to_time < arguments.from_time:
        raise ConfigError("--to is before --from")
    try:
        journal = _open(location)
        rows = list(order_events(journal, member_account(journal, arguments.member), arguments.from_time, arguments.to_time))
    except JournalError as error:
        print(f"predictex audit export: FAILED: {error}", file=sys.stderr)
        return 1
    data = to_csv(rows).encode() if arguments.format == "csv" else to_json(rows) + b"\n"
    if arguments.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        with open(arguments.output, "wb") as stream:
            stream.write(data)
    print(f"exported {len(rows)} order events", file=sys.stderr)
    return 0


def _open(location: str) -> Journal:
    from predictex.journal import Journal, open_store

    if not location.startswith(("postgres://", "postgresql://")) and not _exists(location):
        raise ConfigError(f"no journal at {location}: give --database (the SQLite file in the server's data directory, "
                          "or its postgresql:// URL)")
    return Journal(open_store(location), reading_only=True)


def _exists(path: str) -> bool:
    return os.path.exists(path.removeprefix("sqlite://"))


def run_verify(location: str) -> int:
    if server_extra_missing("journal"):
        return 2
    from predictex.journal import JournalError
    from predictex.journal.verify import verify

    try:
        journal = _open(location)
        print(f"verifying {journal.store.description}", file=sys.stderr)
        result = verify(journal, progress=sys.stderr)
    except JournalError as error:
        print(f"predictex journal verify: FAILED: {error}", file=sys.stderr)
        return 1
    if journal.unchained:
        print("audit chain: none yet (a format-2 journal, written before chain hashes: the server chains it when it next starts)")
    else:
        print(f"batches: {result.batches} (audit chain intact)")
        print(f"chain head: {result.chain_head}")
    print(f"commands: {result.commands}")
    print(f"events: {result.events}")
    print(f"last sequence: {result.last_seq}")
    print(f"snapshots checked: {result.snapshots_checked}")
    print(f"state hash: {result.state_hash}")
    print(f"time: {result.seconds:.3f}s ({result.commands / max(result.seconds, 1e-9):,.0f} commands/s)")
    print("journal OK")
    return 0


def run_export(location: str, output: str, after_seq: int) -> int:
    if server_extra_missing("journal"):
        return 2
    from predictex.journal import JournalError
    from predictex.journal.verify import export_lines

    try:
        journal = _open(location)
        stream = sys.stdout.buffer if output == "-" else open(output, "wb")  # noqa: SIM115
        try:
            count = 0
            for line in export_lines(journal, after_seq):
                stream.write(line)
                count += 1
        finally:
            if stream is not sys.stdout.buffer:
                stream.close()
    except JournalError as error:
        print(f"predictex journal export: FAILED: {error}", file=sys.stderr)
        return 1
    print(f"exported {count} records", file=sys.stderr)
    return 0
