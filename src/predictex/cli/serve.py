"""`predictex serve`: run an exchange. A start that cannot go ahead says why in one line on stderr
and exits with a code of its own, before it has created anything (server/writer_lock.py; the codes
are in docs/operations.md)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from predictex.cli import output as out
from predictex.cli.extras import server_extra_missing
from predictex.server.config import ENVIRONMENTS, Config, ConfigError
from predictex.surveillance.config import Thresholds


def register(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the exchange (SQLite in ./predictex-data by default, demo markets)")
    add_arguments(serve)
    serve.set_defaults(handler=run_serve)


def add_arguments(serve: argparse.ArgumentParser) -> None:
    """The exchange's options (`predictex serve`, and each node of `predictex cluster node`)."""
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1, or PREDICTEX_HOST)")
    serve.add_argument("--port", type=int, default=None, help="HTTP port (default 8000, or PREDICTEX_PORT; 0 picks one)")
    serve.add_argument("--data-dir", default=None, help="where the journal and keys live (default ./predictex-data)")
    serve.add_argument("--database-url", default=None, help="a SQLite path or a postgresql:// URL (default: SQLite in the data dir)")
    serve.add_argument("--env", choices=ENVIRONMENTS, default=None, help="demo (play money, demo markets) or prod")
    serve.add_argument("--log-format", choices=("text", "json"), default="text", help="log lines on stderr: text (default) or one JSON object each")
    serve.add_argument("--no-demo-markets", action="store_true", help="do not create the demo markets on first start")
    serve.add_argument("--no-rate-limits", action="store_true", help="turn the per-tier rate limits off")
    serve.add_argument("--fix", action="store_true",
                       help="serve FIX on Kalshi's ports (order entry 8228, drop copy 8229, order entry with retransmission 8230, "
                            "RFQ 8231, market data 8233)")
    serve.add_argument("--fix-ports", default=None, help="FIX session kinds and ports, e.g. nr=8228,rt=8230,dc=8229,rfq=8231,md=8233 (0 picks one)")
    serve.add_argument("--fix-tls-cert", default=None, help="serve FIX over TLS with this certificate chain (PEM)")
    serve.add_argument("--fix-tls-key", default=None, help="the certificate's private key (PEM), if not in the chain file")
    serve.add_argument("--no-sim", action="store_true",
                       help="do not run the market simulator (demo runs it by default: simulated traders on rolling markets; "
                            "PREDICTEX_NO_SIM=1 does the same)")
    serve.add_argument("--sim-config", default=None, help="the simulator's scenario file (TOML; examples in examples/sim/)")
    serve.add_argument("--sim-seed", type=out.whole_number(0), default=None, help="the simulator's random seed (default: a new one)")
    serve.add_argument("--snapshot-every", type=out.whole_number(1, "commands between snapshots"), default=None,
                       help="commands between snapshots of the engine's state in the journal (default 100000): a restart "
                            "replays at most this many")
    serve.add_argument("--surveillance-config", default=None,
                       help="surveillance thresholds: a TOML file with a [surveillance] table (names in predictex/surveillance/config.py)")


def build_config(arguments: argparse.Namespace) -> Config:
    """The exchange's configuration from the options; ConfigError or ValueError names what is wrong."""
    from predictex.gateways.fix.kinds import parse_ports

    config = Config.from_environment(
        host=arguments.host, port=arguments.port, data_dir=arguments.data_dir, database_url=arguments.database_url,
        environment=arguments.env, log_format=arguments.log_format, demo_markets=not arguments.no_demo_markets,
        rate_limits=not arguments.no_rate_limits, fix_ports=_fix_ports(arguments),
        fix_tls_cert=arguments.fix_tls_cert or "", fix_tls_key=arguments.fix_tls_key or "",
        simulator=not (arguments.no_sim or os.environ.get("PREDICTEX_NO_SIM", "") not in ("", "0")),
        sim_config=str(Path(arguments.sim_config).absolute()) if arguments.sim_config else "",
        sim_seed=-1 if arguments.sim_seed is None else arguments.sim_seed,
        surveillance=Thresholds.from_file(arguments.surveillance_config) if arguments.surveillance_config else None,
        snapshot_every=arguments.snapshot_every,
    )
    if config.sim_config:
        from predictex.sim.config import load_config

        load_config(config.sim_config)  # a bad scenario is refused now, not in the child
    parse_ports(config.fix_ports)  # a ValueError naming the bad part
    return config


def run_serve(arguments: argparse.Namespace) -> int:
    if server_extra_missing("serve"):
        return 2
    from predictex.app import run
    from predictex.journal import JournalError
    from predictex.server.logs import configure
    from predictex.server.writer_lock import StartRefused

    try:
        config = build_config(arguments)
    except (ConfigError, ValueError) as error:
        print(f"predictex serve: {error}", file=sys.stderr)
        return 2
    configure(config.log_format)
    try:
        failure = run(config)
    except StartRefused as refused:
        print(f"predictex serve: {refused.message}", file=sys.stderr)
        return refused.exit_code
    except JournalError as error:
        print(f"predictex serve: the journal cannot be used: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C before the server was up: nothing to finish
        return 130
    if failure:  # the journal failed or a lock was lost: logged, and a supervisor should see it
        print(f"predictex serve: stopped: {failure}", file=sys.stderr)
        return 1
    return 0


def _fix_ports(arguments: argparse.Namespace) -> str:
    if arguments.fix_ports:
        return str(arguments.fix_ports)
    return "nr=8228,dc=8229,rt=8230,rfq=8231,md=8233" if arguments.fix or arguments.fix_tls_cert else ""
