"""`predictex sim`: run the market simulator's traders against an exchange (a scenario file and a seed;
the same seed and file give the same fair values and the same decisions for the same market data).
It signs in as the exchange's operator (DATA_DIR/operator.json, or --key-id and --key-file) to make
the simulated markets and members; the traders then trade as ordinary members over the network. With a
member's key (--key-id and --key-file), what needs an operator is skipped, and says so in the log:
the traders all trade as that member on the open markets of the config's series."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from predictex.cli import output as out

DEFAULT_URL = "http://127.0.0.1:8000"


def register(commands: Any) -> None:
    sim = commands.add_parser("sim", help="run simulated traders against an exchange (scenarios for bots)",
                              description="Run the market simulator against an exchange: rolling markets that open, trade, "
                                          "close and settle, and simulated traders (makers, takers, an amender).")
    sim.add_argument("--url", default=os.environ.get("PREDICTEX_URL", DEFAULT_URL),
                     help=f"the exchange's URL (default: PREDICTEX_URL or {DEFAULT_URL})")
    sim.add_argument("--config", default=None, help="a scenario file (TOML; examples in examples/sim/); default: the living demo")
    sim.add_argument("--seed", type=out.whole_number(0), default=None, help="the random seed (default: a new one, printed in the log)")
    sim.add_argument("--data-dir", default=os.environ.get("PREDICTEX_DATA_DIR", "predictex-data"),
                     help="the server's data directory, where operator.json is (default: PREDICTEX_DATA_DIR or ./predictex-data)")
    sim.add_argument("--key-id", default=None,
                     help="an API key id (default: the operator's, from operator.json); with a member's key the traders all "
                          "trade as that member on the open markets of the config's series, and nothing is created")
    sim.add_argument("--key-file", default=None, help="that key's private key file (default: the operator's)")
    sim.add_argument("--state-dir", default=None, help="where the simulated traders' keys are kept (default: DATA_DIR/sim)")
    sim.add_argument("--fix", type=_address, default=None, metavar="HOST:PORT",
                     help="the exchange's FIX order-entry address (KalshiNR, e.g. 127.0.0.1:8228): the first maker quotes over FIX "
                          "(default: every trader uses REST)")
    sim.add_argument("--duration", type=out.seconds, default=None, help="stop after this many seconds (default: run until stopped)")
    sim.add_argument("--log-format", choices=("text", "json"), default="text", help="log lines on stderr: text or JSON")
    sim.set_defaults(handler=run_sim)


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"a FIX address is HOST:PORT, not {text!r}")
    return host.strip("[]"), int(port)


def _operator_key(arguments: argparse.Namespace) -> tuple[str, Path]:
    if arguments.key_id and arguments.key_file:
        return str(arguments.key_id), Path(arguments.key_file)
    path = Path(arguments.data_dir) / "operator.json"
    try:
        details = json.loads(path.read_text(encoding="utf-8"))
        return str(arguments.key_id or details["api_key_id"]), Path(arguments.key_file or details["private_key_path"])
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"no operator credentials in {path} ({error}): give --data-dir, or --key-id and --key-file") from None


def run_sim(arguments: argparse.Namespace) -> int:
    from predictex.client import PredictexError
    from predictex.sim.config import SimConfigError, load_config
    from predictex.sim.run import simulate

    _configure_logs(arguments.log_format)
    try:
        config = load_config(arguments.config)
        key_id, key_file = _operator_key(arguments)
    except (SimConfigError, ValueError) as error:
        print(f"predictex sim: {error}", file=sys.stderr)
        return 2
    seed = arguments.seed if arguments.seed is not None else secrets.randbelow(2**31)
    state_dir = Path(arguments.state_dir) if arguments.state_dir else Path(arguments.data_dir) / "sim"
    try:
        summary = asyncio.run(simulate(arguments.url, key_id, key_file, config, seed, state_dir, arguments.duration,
                                        fix_address=arguments.fix))
    except PredictexError as error:
        print(f"predictex sim: {error}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    print(json.dumps({"seed": seed, "config": config.name, **summary.__dict__}), flush=True)
    return 0


def _configure_logs(log_format: str) -> None:
    # The HTTP client logs every request at INFO: dozens a second from the traders, which buried the
    # server's own log under `predictex serve`. The simulator's own lines say what happens.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        from predictex.server.logs import configure
    except ImportError:  # the SDK alone (no server extra): plain logging
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        return
    configure(log_format)
