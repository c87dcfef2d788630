"""`predictex admin credentials reset`: new operator credentials for an operator with access to the
machine (who lost operator.json, or fears it was read). It works on the journal directly, with the
server stopped: it takes the same locks as `predictex serve` (and so refuses while one runs), writes a
new API key and password to the data directory's operator.json (mode 0600), and revokes every other
API key and session of the operator. Nothing secret is printed."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from predictex.cli.extras import server_extra_missing

EXIT_REFUSED = 1


def register(things: Any) -> None:
    credentials = things.add_parser(
        "credentials", help="the operator's own credentials (on the machine, with the server stopped)",
        description="Mint new operator credentials without the old ones: needs the data directory (and, for PostgreSQL, "
                    "the database URL), not a running server.")
    actions = credentials.add_subparsers(dest="action", required=True, metavar="ACTION")
    reset = actions.add_parser(
        "reset", help="new API key and password for the operator, written to DATA_DIR/operator.json; the old ones revoked",
        description="Writes a new API key and password for the operator to DATA_DIR/operator.json and operator-key.pem "
                    "(readable only by you), and revokes the operator's other API keys and sessions. Stop the server "
                    "first: this refuses while one holds the data directory or the journal.")
    reset.add_argument("--data-dir", dest="reset_data_dir", metavar="DATA_DIR", default=None,
                       help="the server's data directory (default: the --data-dir given to admin, PREDICTEX_DATA_DIR or ./predictex-data)")
    reset.add_argument("--database-url", default=None,
                       help="the journal's postgresql:// URL or SQLite path (default: PREDICTEX_DATABASE_URL, else the data directory's SQLite file)")
    reset.add_argument("--env", choices=("demo", "prod"), default=None,
                       help="the exchange's environment, for the key id's prefix (default: that of the operator's current keys)")
    reset.set_defaults(handler=run_reset)


def run_reset(arguments: argparse.Namespace) -> int:
    if server_extra_missing("admin credentials reset"):
        return 2
    from predictex.journal import JournalError
    from predictex.server.first_start import CredentialsError
    from predictex.server.writer_lock import StartRefused

    data_dir = Path(arguments.reset_data_dir or arguments.data_dir)
    database_url = arguments.database_url or os.environ.get("PREDICTEX_DATABASE_URL") or str(data_dir / "predictex.db")
    try:
        result = _reset(data_dir, database_url, arguments.env)
    except StartRefused as refused:
        print(f"predictex admin credentials reset: {refused.message}", file=sys.stderr)
        return refused.exit_code
    except (CredentialsError, JournalError) as error:
        print(f"predictex admin credentials reset: {error}", file=sys.stderr)
        return EXIT_REFUSED
    written = result.written
    print(f"new operator credentials (API key {written.api_key_id} and a new password) in {written.credentials_path}, "
          "readable only by you")
    print(f"revoked: {result.keys_revoked} other API key{'s' if result.keys_revoked != 1 else ''} and "
          f"{result.sessions_revoked} session{'s' if result.sessions_revoked != 1 else ''} of the operator")
    return 0


def _reset(data_dir: Path, database_url: str, environment: str | None) -> Any:
    from predictex.accounts import Accounts
    from predictex.journal import open_store
    from predictex.server.config import Config, redacted
    from predictex.server.first_start import OPERATOR_EMAIL, reset_credentials
    from predictex.server.writer_lock import EXIT_DATABASE, Holder, StartRefused, claim

    config = Config(data_dir=str(data_dir), database_url=database_url)
    sqlite_path = config.sqlite_path
    if sqlite_path is not None and not sqlite_path.is_file():
        raise StartRefused(EXIT_DATABASE, f"no journal at {sqlite_path}: give the server's --data-dir (or --database-url)")
    held = claim(config, Holder.this_process("predictex admin credentials reset"), ports={})
    try:
        if config.uses_postgres and not _postgres_has_journal(database_url):
            raise StartRefused(EXIT_DATABASE, f"no journal in the database {redacted(database_url)}: give the server's --database-url")
        store = open_store(database_url)
        try:
            if environment is None:
                environment = _environment(store, OPERATOR_EMAIL)
            accounts = Accounts(store, environment=environment)
            return reset_credentials(accounts, store, data_dir)
        finally:
            store.close()
    finally:
        held.release()


def _postgres_has_journal(url: str) -> bool:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
        row = connection.execute("SELECT to_regclass('journal_batches') IS NOT NULL").fetchone()
    return bool(row and row[0])


def _environment(store: Any, email: str) -> str:
    """The environment of the operator's newest key (its id says: demo_... or prod_...), else
    PREDICTEX_ENV, else demo."""
    from predictex.accounts import ACCOUNTS_SCHEMA

    store.execute_schema(ACCOUNTS_SCHEMA)
    rows = store.query(
        "SELECT k.key_id FROM accounts_api_keys k JOIN accounts_members m ON m.member_id = k.member_id "
        "WHERE m.email_key = ? ORDER BY k.created_ms DESC LIMIT 1", (email.lower(),))
    if rows:
        return str(rows[0][0]).partition("_")[0]
    return os.environ.get("PREDICTEX_ENV", "demo")
