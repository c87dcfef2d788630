"""Both builds are tested. The README's test command installs the compiled build (predictex-native's
extension modules beside the sources) and runs every tier on it; this test then runs the unit and
simulation tiers once more on the pure-Python build, the code an editable install runs: the same
interpreter and packages, with the checkout's src/ first on the path, so that `import predictex` finds
the plain sources and the compiled extensions are out of the way (tests/conftest.py checks which
build each run imports)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from builds import BUILD_ENV, running_build

ROOT = Path(__file__).resolve().parents[1]
TIERS = ["tests/unit", "tests/sim"]
SAME_ON_BOTH = ["--ignore=tests/unit/test_static_checks.py"]  # lint and type checks read the sources, whichever build runs


@pytest.mark.timeout(1800)
def test_the_unit_and_simulation_tiers_pass_on_the_pure_build() -> None:
    if running_build() == "pure":
        pytest.skip("this run is already on the pure build (an editable install, or PREDICTEX_PURE=1)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
           BUILD_ENV: "pure"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SAME_ON_BOTH, *TIERS], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    summary = result.stdout.strip().splitlines()[-1:] or ["(no output)"]
    print(f"pure build, {' and '.join(TIERS)}: {summary[0]}")
    assert result.returncode == 0, f"the pure build fails its unit and simulation tiers:\n{result.stdout[-20_000:]}\n{result.stderr[-5_000:]}"
