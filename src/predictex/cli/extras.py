"""The `server` extra: what `predictex serve` and `predictex journal` need beyond the SDK. The base
install (`pip install predictex`) is the SDK and the trader's commands; these commands say so plainly
instead of failing on an import deep inside the server."""

from __future__ import annotations

import importlib.util
import sys

SERVER_MODULES = ("httptools", "orjson", "psycopg") + (("uvloop",) if sys.platform != "win32" else ())
INSTALL_HINT = "pip install 'predictex[server]'"


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def missing_server_modules() -> list[str]:
    return [name for name in SERVER_MODULES if not _installed(name)]


def server_extra_missing(command: str) -> bool:
    """True (after saying what to install) when the server's dependencies are not installed."""
    missing = missing_server_modules()
    if missing:
        print(f"predictex {command}: the exchange's dependencies are not installed ({', '.join(missing)} missing); "
              f"install them with: {INSTALL_HINT}", file=sys.stderr)
    return bool(missing)
