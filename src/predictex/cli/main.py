"""`predictex`: trade on an exchange, and run and operate one.

    predictex markets list|search|show   markets and order books (--watch: live)
    predictex order place|amend|cancel   your orders
    predictex orders|fills|positions|balance
    predictex profile list|show|set|use  which exchange and which API key
    predictex keys create      get an API key (signing up on a demo exchange)
    predictex serve            run the exchange (needs the `server` extra)
    predictex sim              run simulated traders against an exchange (scenarios for bots)
    predictex admin ...        the operator's commands
    predictex journal verify   replay the journal into a fresh engine and check everything
    predictex journal export   write the journal as JSON lines
    predictex cluster node|status|nats-config   run the exchange on three machines (the `cluster` extra)
    predictex gateway                          serve clients from a cluster's log (the `cluster` extra)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from predictex.cli import admin, cluster, journal_commands, keys, profiles, serve, sim, trader


def default_database() -> str:
    """The database a command uses when none is given: PREDICTEX_DATABASE_URL, or the SQLite file in
    the data directory (PREDICTEX_DATA_DIR, default ./predictex-data)."""
    url = os.environ.get("PREDICTEX_DATABASE_URL")
    if url:
        return url
    return os.path.join(os.environ.get("PREDICTEX_DATA_DIR", "predictex-data"), "predictex.db")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="predictex", description="An open-source prediction-market exchange.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    trader.register(commands)
    profiles.register(commands)
    serve.register(commands)
    sim.register(commands)
    keys.register(commands)
    admin.register(commands)
    journal_commands.register(commands, default_database)
    journal_commands.register_audit(commands, default_database)
    cluster.register(commands)
    return parser


EXIT_BROKEN_PIPE = 141  # as a program killed by SIGPIPE: `predictex markets list | head` is not an error worth a word


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        arguments = parser.parse_args(argv)  # --help writes too
        result: int = arguments.handler(arguments)
        sys.stdout.flush()  # a closed pipe shows here rather than at exit
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at /dev/null so that finds nothing to write
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE
    return result


if __name__ == "__main__":
    sys.exit(main())
