"""The SDK installs and runs without the exchange: its package imports nothing from the server side,
and the command line works without the server's dependencies, where `predictex serve` says what to
install. Each check runs in a fresh interpreter in which the forbidden modules cannot be imported."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import predictex.client

SERVER_PACKAGES = ("predictex.server", "predictex.gateways", "predictex.journal", "predictex.readmodel", "predictex.accounts",
                   "predictex.core")
SERVER_DEPENDENCIES = ("httptools", "uvloop", "psycopg", "orjson", "jinja2")


def run_blocked(blocked: tuple[str, ...], code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` where importing any of `blocked` (or below them) raises ImportError."""
    guard = textwrap.dedent(f"""
        import sys
        BLOCKED = {blocked!r}

        class Block:
            def find_spec(self, name, path=None, target=None):
                if any(name == b or name.startswith(b + ".") for b in BLOCKED):
                    raise ImportError(f"{{name}} is not installed here")
                return None

        sys.meta_path.insert(0, Block())
    """)
    env = {**os.environ, "PREDICTEX_CONFIG": os.devnull}
    return subprocess.run([sys.executable, "-c", guard + textwrap.dedent(code)], capture_output=True, text=True, timeout=60, env=env)


def test_the_sdk_imports_nothing_from_the_server_side() -> None:
    modules = sorted(f"predictex.client.{p.stem}" for p in Path(predictex.client.__file__).parent.glob("*.py") if p.stem != "__init__")
    assert "predictex.client.stream" in modules and "predictex.client.sync_client" in modules
    done = run_blocked(SERVER_PACKAGES + SERVER_DEPENDENCIES, f"""
        import importlib
        for name in {modules!r}:
            importlib.import_module(name)
        from predictex.client import AsyncClient, Client, Price
        assert str(Price("0.56")) == "0.5600"
        print("imported", len({modules!r}))
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"imported {len(modules)}"


def test_the_blocker_itself_works() -> None:
    """Without this, a guard that blocked nothing would let the test above pass whatever it imported."""
    done = run_blocked(SERVER_PACKAGES, "import predictex.app")
    assert done.returncode != 0 and "is not installed here" in done.stderr


def test_the_trader_cli_works_and_serve_says_what_to_install_without_the_server_dependencies() -> None:
    done = run_blocked(SERVER_DEPENDENCIES, """
        import sys
        from predictex.cli.main import main
        assert main(["profile", "list", "--json"]) == 0
        sys.exit(main(["serve", "--port", "0"]))
    """)
    assert '"name": "local"' in done.stdout
    assert done.returncode == 2, done.stderr
    assert "predictex serve: the exchange's dependencies are not installed" in done.stderr
    assert "pip install 'predictex[server]'" in done.stderr
    journal = run_blocked(SERVER_DEPENDENCIES, """
        import sys
        from predictex.cli.main import main
        sys.exit(main(["journal", "verify", "--database", "nowhere.db"]))
    """)
    assert journal.returncode == 2 and "pip install 'predictex[server]'" in journal.stderr


def test_the_base_install_compiles_nothing_and_the_server_extra_brings_the_compiled_modules(tmp_path: Path) -> None:
    """`pip install predictex` builds a pure wheel (no extension module, no C); its `server` extra requires
    predictex-native from this checkout's native/ directory, which compiles the hot modules."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(root)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [wheel] = tmp_path.glob("predictex-*.whl")
    assert wheel.name.endswith("-py3-none-any.whl"), wheel.name
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(name for name in names if name.endswith(".dist-info/METADATA"))).decode()
    assert "predictex/core/engine.py" in names
    # the web pages' templates and scripts, and the charting library the build fetched from npm (web-assets/)
    assert {"predictex/gateways/web/templates/market.html", "predictex/gateways/web/static/market.js"} <= set(names)
    assert "predictex/gateways/web/static/vendor/lightweight-charts.standalone.production.js" in names
    assert not [name for name in names if name.endswith((".so", ".pyd", ".c"))]
    requirements = [line for line in metadata.splitlines() if line.startswith("Requires-Dist: predictex-native")]
    assert requirements == [f'Requires-Dist: predictex-native @ {(root / "native").as_uri()} ; extra == "{extra}"'
                            for extra in ("server", "cluster", "bench")], requirements  # a cluster node runs the exchange
