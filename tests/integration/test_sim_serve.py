"""`predictex serve` runs the market simulator in the demo environment by default, in a child process:
its members (marked simulated) trade its markets, the first maker over FIX order entry when FIX is
served; a simulator that dies is started again; `--no-sim` turns it off; a bad `--sim-config` is
refused at the start; SIGTERM stops the simulator with the server, and the server exits 0. The
simulator's log gives times as RFC 3339, never as float seconds since 1970."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

from integration.server_fixture import V2
from integration.test_serve_process import ServeProcess, run_cli

SCENARIO = """
name = "serve-test"
tick_s = 0.25
[[series]]
ticker = "PXSERVE"
title = "test"
period_s = 600
lead_s = 0
align = false
strikes = [0.5]
"""


def _environment_with_simulator() -> dict[str, str]:
    environment = dict(os.environ)
    environment.pop("PREDICTEX_NO_SIM", None)  # tests/conftest.py turns the simulator off for every other test
    return environment


def test_serve_runs_the_simulator_in_demo_and_stops_it_on_sigterm(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(SCENARIO)
    server = ServeProcess(tmp_path / "data", "--sim-config", str(scenario), "--sim-seed", "5", "--fix-ports", "nr=0",
                          env=_environment_with_simulator())
    try:
        assert any(line.startswith("  simulator: ") for line in server.banner)
        deadline = time.monotonic() + 120.0
        traded = False
        while time.monotonic() < deadline and not traded:
            markets = server.get_ok(f"{V2}/markets?series_ticker=PXSERVE")["markets"]
            traded = any(float(market["volume_fp"]) > 0 for market in markets)
            time.sleep(0.5)
        assert traded, "the simulator's market never traded"
        members = server.admin("GET", "/members", expect=200).json()["members"]
        assert sum(member["simulated"] for member in members) == 7
        first = _simulator_pids(server)
        assert len(first) == 1
        os.kill(first[0], signal.SIGKILL)  # the simulator dies: the server starts it again
        _wait_for(lambda: len(_simulator_pids(server)) == 2, "a second simulator process")
        assert any("the market simulator died (killed by SIGKILL); starting it again in 1 s" in line for line in server.log_lines)
        _wait_for(lambda: any("simulated trader maker-0 sends its orders over FIX" in line
                              for line in server.log_lines[_line_of(server, "starting it again"):]), "the second simulator trading")
    finally:
        code = server.stop(signal.SIGTERM)
    assert code == 0
    assert any("the market simulator ended" in line for line in server.log_lines)
    assert any("seed 5, config" in line for line in server.log_lines)  # the run says its seed and config
    assert any("simulated trader maker-0 sends its orders over FIX order entry" in line for line in server.log_lines)
    opened = [line for line in server.log_lines if " opened PXSERVE-" in line]
    assert opened and all(re.search(r"closing at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", line) for line in opened), opened
    epochs = [line for line in server.log_lines if re.search(r"\b1[6-9]\d{8}\.\d", line)]
    assert epochs == []


def _simulator_pids(server: ServeProcess) -> list[int]:
    found = (re.search(r"started the market simulator \(process (\d+)\)", line) for line in list(server.log_lines))
    return [int(match.group(1)) for match in found if match]


def _line_of(server: ServeProcess, text: str) -> int:
    return next(index for index, line in enumerate(server.log_lines) if text in line)


def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_no_sim_and_the_test_environment_leave_the_simulator_out(tmp_path: Path) -> None:
    server = ServeProcess(tmp_path / "a", "--no-sim", env=_environment_with_simulator())
    try:
        assert not any(line.startswith("  simulator: ") for line in server.banner)
    finally:
        assert server.stop(signal.SIGTERM) == 0
    quiet = ServeProcess(tmp_path / "b")  # PREDICTEX_NO_SIM=1, as every test's server
    try:
        assert not any(line.startswith("  simulator: ") for line in quiet.banner)
    finally:
        assert quiet.stop(signal.SIGTERM) == 0


def test_a_bad_scenario_is_refused_at_the_start(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text("[makers]\ncout = 3\n")
    done = run_cli("serve", "--port", "0", "--data-dir", str(tmp_path / "data"), "--sim-config", str(scenario))
    assert done.returncode == 2 and "unknown key makers.cout" in done.stderr, done.stderr
