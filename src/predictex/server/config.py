"""Server configuration: where to listen, where to keep data, which environment, and the knobs an
operator may turn. Built from command-line flags with environment-variable defaults
(PREDICTEX_HOST, PREDICTEX_PORT, PREDICTEX_DATA_DIR, PREDICTEX_DATABASE_URL, PREDICTEX_ENV)."""

from __future__ import annotations

import os
from pathlib import Path

from predictex.core.units import MONEY_ONE_DOLLAR_MICRODOLLARS
from predictex.surveillance.config import Thresholds

ENVIRONMENTS = ("demo", "prod")
DEMO_STARTING_BALANCE_MICRODOLLARS = 10_000 * MONEY_ONE_DOLLAR_MICRODOLLARS  # $10,000 of play money for a new demo account
DEMO_FAUCET_MAX_MICRODOLLARS = 100_000 * MONEY_ONE_DOLLAR_MICRODOLLARS  # play money in one faucet deposit


POSTGRES_SCHEMES = ("postgres://", "postgresql://")


class ConfigError(ValueError):
    pass


def redacted(url: str) -> str:
    """A database URL fit to print: any user and password replaced by ***."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    credentials, at, location = rest.rpartition("@")
    return f"{scheme}://***@{location}" if at and credentials else url


class Config:
    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 8000, data_dir: str = "predictex-data", database_url: str = "",
        environment: str = "demo", fix_port: int = 0, snapshot_every: int = 100_000, log_format: str = "text",
        demo_markets: bool = True, rate_limits: bool = True, timestamp_window_ms: int = 30_000,
        fix_ports: str = "", fix_tls_cert: str = "", fix_tls_key: str = "",
        rfq_lifetime_ms: int = 3_600_000, quote_confirm_window_ms: int = 30_000,
        simulator: bool = False, sim_config: str = "", sim_seed: int = -1, surveillance: Thresholds | None = None,
    ) -> None:
        if environment not in ENVIRONMENTS:
            raise ConfigError(f"environment must be one of {', '.join(ENVIRONMENTS)}")
        if not 0 <= port < 65536 or not 0 <= fix_port < 65536:
            raise ConfigError("ports are 0-65535 (0 picks a free one)")
        if log_format not in ("text", "json"):
            raise ConfigError("log format is text or json")
        self.host = host
        self.port = port
        self.data_dir = Path(data_dir)
        self.database_url = database_url or str(self.data_dir / "predictex.db")
        self.environment = environment
        self.fix_port = fix_port
        self.snapshot_every = snapshot_every
        self.log_format = log_format
        self.demo_markets = demo_markets and environment == "demo"
        self.rate_limits = rate_limits
        self.timestamp_window_ms = timestamp_window_ms
        # FIX: "nr=8228,dc=8229,rt=8230,rfq=8231,md=8233" (empty: no FIX); TLS when a certificate is given
        self.fix_ports = fix_ports
        self.fix_tls_cert = fix_tls_cert
        self.fix_tls_key = fix_tls_key
        # communications: how long an RFQ stays open, how long a maker has to confirm an accepted quote
        # (the engine refuses more than RFQ_LIFETIME_MS_MAX and QUOTE_CONFIRM_WINDOW_MS_MAX)
        self.rfq_lifetime_ms = rfq_lifetime_ms
        self.quote_confirm_window_ms = quote_confirm_window_ms
        # the market simulator (`predictex sim`, in a child process), demo only; -1: a new seed each start
        self.simulator = simulator and environment == "demo"
        self.sim_config = sim_config
        self.sim_seed = sim_seed
        # what the surveillance detectors count as suspicious (`--surveillance-config FILE`)
        self.surveillance = surveillance or Thresholds()

    @property
    def is_demo(self) -> bool:
        return self.environment == "demo"

    @property
    def uses_postgres(self) -> bool:
        return self.database_url.startswith(POSTGRES_SCHEMES)

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite journal's file (None for PostgreSQL and the in-memory store)."""
        if self.uses_postgres or self.database_url == "memory:":
            return None
        return Path(self.database_url.removeprefix("sqlite://"))

    def database_url_problem(self) -> str:
        """What is wrong with the database URL on its face ("" if nothing): an unknown scheme would
        otherwise be taken for a SQLite file name."""
        url = self.database_url
        scheme, separator, rest = url.partition("://")
        if not separator or url.startswith(POSTGRES_SCHEMES):
            return ""
        if scheme == "sqlite":
            return "" if rest else "the database URL sqlite:// names no file: give sqlite:///path/to/journal.db"
        return (f"the database URL {redacted(url)} is not one predictex uses: give a SQLite file path, sqlite:///path, "
                "or postgresql://user@host/database")

    @classmethod
    def from_environment(cls, **overrides: object) -> Config:
        values: dict[str, object] = {
            "host": os.environ.get("PREDICTEX_HOST", "127.0.0.1"),
            "port": _port(os.environ.get("PREDICTEX_PORT", "8000")),
            "data_dir": os.environ.get("PREDICTEX_DATA_DIR", "predictex-data"),
            "database_url": os.environ.get("PREDICTEX_DATABASE_URL", ""),
            "environment": os.environ.get("PREDICTEX_ENV", "demo"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def _port(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"PREDICTEX_PORT is {text!r}, not a port number (0-65535; 0 picks a free one)") from None
