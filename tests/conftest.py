"""Test configuration: makes the shared helpers in tests/ importable, provides the `exchange` fixture
(see harness.py), and says which build of predictex the run imports: the compiled one (predictex-native's
extension modules, as `pip install '.[server,test]'` installs them) or the plain sources. A run started
with PREDICTEX_TEST_BUILD=pure or =compiled refuses to start on the other (tests/test_pure_build.py
starts the pure run)."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from builds import BUILD_ENV, running_build
from harness import Harness

# `predictex serve` runs the market simulator in demo by default; a test's server gets one only if the
# test asks (tests/integration/test_sim_serve.py takes this out of its server's environment)
os.environ["PREDICTEX_NO_SIM"] = "1"


def pytest_report_header(config: pytest.Config) -> str:
    import predictex.core.engine as engine

    return f"predictex build: {running_build()} ({os.path.dirname(engine.__file__ or '')})"


def pytest_sessionstart(session: pytest.Session) -> None:
    expected = os.environ.get(BUILD_ENV)
    if expected and expected != running_build():
        raise pytest.UsageError(f"{BUILD_ENV}={expected}, but this run imports the {running_build()} build of predictex")


@pytest.fixture
def exchange() -> Harness:
    return Harness()
