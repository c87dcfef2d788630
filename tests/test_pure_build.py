"""Both builds are tested. The README's test command installs the compiled build (predictex-native's
extension modules beside the sources) and runs every tier on it; this test then runs the unit and
simulation tiers once more on the pure-Python build, the code an editable install runs: the same
interpreter and packages, with the checkout's src/ first on the path, so that `import predictex` finds
the plain sources and the compiled extensions are out of the way (tests/conftest.py checks which
build each run imports). A second test runs seeded workloads under both builds and compares their
state hashes and journal bytes (tests/builds.py's fingerprint), so that a difference between the
compiled modules and the plain ones is named by seed rather than found by a tier's test by chance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from builds import BUILD_ENV, running_build

ROOT = Path(__file__).resolve().parents[1]
TIERS = ["tests/unit", "tests/sim"]
FINGERPRINT_SEEDS = (1, 7, 42)
FINGERPRINT_COMMANDS = 3_000  # after each seed's setup: about a second each on the compiled build
SAME_ON_BOTH = ["--ignore=tests/unit/test_static_checks.py"]  # lint and type checks read the sources, whichever build runs


@pytest.mark.timeout(1800)
def test_the_unit_and_simulation_tiers_pass_on_the_pure_build() -> None:
    if running_build() == "pure":
        pytest.skip("this run is already on the pure build (an editable install, or PREDICTEX_PURE=1)")
    env = _pure_environment()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SAME_ON_BOTH, *TIERS], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    summary = result.stdout.strip().splitlines()[-1:] or ["(no output)"]
    print(f"pure build, {' and '.join(TIERS)}: {summary[0]}")
    assert result.returncode == 0, f"the pure build fails its unit and simulation tiers:\n{result.stdout[-20_000:]}\n{result.stderr[-5_000:]}"


def _pure_environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            BUILD_ENV: "pure"}


def _fingerprint(seed: int, env: dict[str, str]) -> dict[str, object]:
    result = subprocess.run([sys.executable, str(ROOT / "tests" / "builds.py"), str(seed), str(FINGERPRINT_COMMANDS)], cwd=ROOT / "tests",
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"tests/builds.py {seed} failed:\n{result.stdout[-5_000:]}\n{result.stderr[-5_000:]}"
    found: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


@pytest.mark.timeout(900)
def test_compiled_and_plain_modules_give_the_same_state_and_journal_bytes() -> None:
    if running_build() == "pure":
        pytest.skip("this run is already on the pure build: the compiled build's run compares the two")
    compiled_env = {k: v for k, v in os.environ.items() if k != BUILD_ENV}
    for seed in FINGERPRINT_SEEDS:
        compiled, pure = _fingerprint(seed, compiled_env), _fingerprint(seed, _pure_environment())
        assert (compiled["build"], pure["build"]) == ("compiled", "pure"), (compiled, pure)
        assert int(str(compiled["trades"])) > 0, f"seed {seed} traded nothing: the comparison would say little ({compiled})"
        assert {k: v for k, v in compiled.items() if k != "build"} == {k: v for k, v in pure.items() if k != "build"}, (
            f"seed {seed}: the compiled modules and the plain ones disagree\ncompiled {compiled}\npure     {pure}")
