"""Build hook. predictex itself is plain Python: `pip install .` installs the SDK and the command line
and compiles nothing. The exchange's hot modules are compiled with mypyc by a second distribution,
predictex-native (native/, where the list of compiled modules is), which the `server` extra requires:
`pip install '.[server]'` builds it from this checkout, showing its progress on the terminal.
PREDICTEX_PURE=1 leaves it out (the same code then runs as plain Python).

pip tells a build nothing of the extras asked for, hence a distribution of its own; and a dependency
can name a local directory only by an absolute file URL, so the `server` extra is computed here: the
native/ directory beside this file when there is one (a checkout), else predictex-native by version
from the package index (an sdist)."""

import os
from pathlib import Path

from setuptools import setup

VERSION = "0.1.0"  # predictex-native must be built from the same sources: native/pyproject.toml pins it back

# What the exchange needs at run time, beyond the SDK's dependencies (pyproject.toml).
SERVER = [
    "httptools>=0.8",
    "isal>=1.6",  # CRC-32 of journal records: ISA-L's, 3-5x quicker than zlib's on 100-1,000 bytes, same values
    "orjson>=3.10",
    "psycopg[binary]>=3.2",
    "uvloop>=0.21; sys_platform != 'win32'",
]
TEST = [
    "pytest>=8",
    "pytest-timeout>=2.3",
    "hypothesis>=6.100",
    "liquibook==2.0.1",
    "lightmatchingengine==2019.1.4",  # a peer in the differential test (IOC and moves)
    "obook==0.1.0",
    "pyclob==0.1.2",
    "ruff>=0.6",
    "mypy==1.20.2",
    "openapi-spec-validator>=0.7",  # checks the /openapi.json the server builds
    "pyyaml>=6",  # reads Kalshi's OpenAPI document in the trading tests
    "requests>=2.31",  # the seed's own Python example uses it
]
BENCH = ["liquibook==2.0.1", "lightmatchingengine==2019.1.4", "uvicorn>=0.30"]  # uvicorn: the peer in bench/http_server.py


def _native() -> list[str]:
    if os.environ.get("PREDICTEX_PURE") == "1":
        return []
    native = Path(__file__).resolve().parent / "native"
    if (native / "setup.py").is_file():
        return [f"predictex-native @ {native.as_uri()}"]
    return [f"predictex-native=={VERSION}"]


setup(
    extras_require={
        "server": SERVER + _native(),
        # The test tools with the server's dependencies but not the compiled modules: an editable install
        # (`pip install -e '.[test]'`) runs the sources anyway. The README's test command adds `server`.
        "test": SERVER + TEST,
        "bench": SERVER + _native() + BENCH,
    },
)
