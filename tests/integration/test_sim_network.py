"""The market simulator against a real exchange over the network (the SDK's REST and WebSocket): its
traders are members marked simulated, its markets open, trade, close, are determined and finalized
with nobody else acting; the exchange restarts mid-run and the simulator reconnects, resyncs its
books over the WebSocket and trades on; afterwards the engine's invariants hold and `predictex
journal verify` replays the journal. With the exchange's FIX order-entry address, the first maker
quotes over FIX, and logs on again when the exchange ends its session."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from integration.server_fixture import V2, RunningServer, running_server, unique
from predictex.client import Client
from predictex.core import commands as c
from predictex.core.invariants import check_invariants
from predictex.gateways.fix import Kind
from predictex.server import ids
from predictex.server.config import Config
from predictex.sim.config import SeriesConfig, SimConfig
from predictex.sim.run import Summary, simulate

# markets of ten seconds, so half a minute sees two of them through to settlement
FAST = SimConfig(
    name="network-test", tick_s=0.25,
    series=(SeriesConfig(ticker="PXNET", title="test", period_s=10.0, lead_s=2.0, align=False, strikes=(0.5, 0.4),
                         settlement_timer_s=1, jumps_per_hour=60.0),),
)
RUN_S = 26.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server(data_dir: Path, port: int) -> RunningServer:
    return RunningServer(Config(port=port, data_dir=str(data_dir), environment="demo")).start()


def _predictex(*arguments: str) -> list[str]:
    script = Path(sys.executable).with_name("predictex")
    return [str(script), *arguments] if script.exists() else [sys.executable, "-m", "predictex", *arguments]


def _wait_for_a_finalized_market(server: RunningServer, simulator: threading.Thread) -> None:
    deadline = time.monotonic() + 120.0
    while time.monotonic() < deadline and simulator.is_alive():
        markets = server.get_ok(f"{V2}/markets?series_ticker=PXNET&limit=200")["markets"]
        if any(m["status"] == "finalized" for m in markets):
            return
        time.sleep(0.2)
    raise AssertionError("no market was finalized")


def test_the_simulator_runs_markets_to_settlement_through_a_restart(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", _free_port()
    server = _server(data_dir, port)
    operator = json.loads((data_dir / "operator.json").read_text())
    results: list[Summary] = []

    def run_simulator() -> None:
        results.append(asyncio.run(simulate(f"http://127.0.0.1:{port}", operator["api_key_id"], Path(operator["private_key_path"]),
                                            FAST, 7, tmp_path / "sim", RUN_S, handle_signals=False)))

    simulator = threading.Thread(target=run_simulator, name="simulator")
    simulator.start()
    try:
        _wait_for_a_finalized_market(server, simulator)
        server.stop()
        time.sleep(1.0)
        server = _server(data_dir, port)  # the same journal, the same port
        simulator.join(RUN_S + 60.0)
        assert not simulator.is_alive() and results, "the simulator did not finish"
        time.sleep(2.0)  # the last settlement timers
        summary = results[0]
        assert summary.reconnects >= 1 and summary.determined >= 4, summary
        assert summary.refusals.get("insufficient_balance", 0) == 0, summary

        markets = server.get_ok(f"{V2}/markets?series_ticker=PXNET&limit=200")["markets"]
        finalized = [m for m in markets if m["status"] == "finalized"]
        assert len(finalized) >= 4, [(m["ticker"], m["status"]) for m in markets]
        assert all(m["result"] in ("yes", "no") for m in finalized)
        traded = [m for m in finalized if float(m["volume_fp"]) > 0]
        assert len(traded) >= 4, [(m["ticker"], m["volume_fp"]) for m in finalized]
        opened_after_restart = [m for m in markets if m["open_time"] > finalized[0]["close_time"]]
        assert any(float(m["volume_fp"]) > 0 for m in opened_after_restart), "nothing traded after the restart"

        members = server.admin("GET", "/members", expect=200).json()["members"]
        simulated = {m["email"].split("@")[0] for m in members if m["simulated"]}
        assert simulated == {"sim-maker-0", "sim-maker-1", "sim-maker-2", "sim-amender-0", "sim-noise-0", "sim-noise-1",
                             "sim-informed-0"}
        assert not any(m["simulated"] for m in members if m["role"] == "admin")
        server.on_loop(lambda: check_invariants(server.app.sequencer.engine))  # type: ignore[union-attr]
    finally:
        server.stop()
        simulator.join(5.0)
    verify = subprocess.run(_predictex("journal", "verify"), capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PREDICTEX_DATA_DIR": str(data_dir)})
    assert verify.returncode == 0 and "journal OK" in verify.stdout, verify.stdout + verify.stderr


def _wait(condition: object, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_a_maker_quotes_over_fix_and_logs_on_again_after_the_exchange_ends_its_session(tmp_path: Path) -> None:
    with running_server(tmp_path / "data", fix_ports="nr=0") as server:
        operator = json.loads((server.data_dir / "operator.json").read_text())
        address = ("127.0.0.1", server.app.fix.port(Kind.ORDER_ENTRY))
        results: list[Summary] = []

        def run_simulator() -> None:
            results.append(asyncio.run(simulate(server.base_url, operator["api_key_id"], Path(operator["private_key_path"]),
                                                FAST, 11, tmp_path / "sim", 14.0, handle_signals=False, fix_address=address)))

        simulator = threading.Thread(target=run_simulator, name="simulator")
        simulator.start()
        try:
            saved = tmp_path / "sim" / "traders.json"
            _wait(lambda: saved.exists() and "maker-0" in json.loads(saved.read_text()), "the simulated makers")
            maker = json.loads(saved.read_text())["maker-0"]
            sessions = server.app.fix.gateway.sessions
            _wait(lambda: server.on_loop(lambda: len(getattr(sessions.get(maker["key_id"]), "placed", ()))) >= 3,
                  "maker-0's orders on its FIX session")
            first = server.on_loop(lambda: sessions[maker["key_id"]])
            server.on_loop(lambda: first.revoked("the test ended it"))
            _wait(lambda: server.on_loop(lambda: sessions.get(maker["key_id"]) not in (None, first)), "a second FIX logon")
            _wait(lambda: server.on_loop(lambda: len(sessions[maker["key_id"]].placed)) >= 1, "orders on the second session")
            simulator.join(60.0)
            assert not simulator.is_alive() and results, "the simulator did not finish"
            summary = results[0]
            assert summary.fix_logons >= 2 and summary.fix_requests >= 10, summary
            assert summary.refusals.get("insufficient_balance", 0) == 0, summary
            with Client(server.base_url, key_id=maker["key_id"], private_key=Path(maker["key_file"])) as client:
                orders = list(client.orders())
            assert len(orders) >= 10 and all(order.client_order_id[:1] in ("a", "b") for order in orders), orders[:3]
            others = [name for name in json.loads(saved.read_text()) if name != "maker-0"]
            assert server.on_loop(lambda: [n for n in others if json.loads(saved.read_text())[n]["key_id"] in sessions]) == []
            server.on_loop(lambda: check_invariants(server.app.sequencer.engine))  # type: ignore[union-attr]
        finally:
            simulator.join(5.0)


def test_with_a_members_key_the_simulator_trades_the_open_markets_and_creates_nothing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="predictex.sim")
    with running_server(tmp_path / "data") as server:
        series = unique("PXMEM")
        ticker = f"{series}-E1-M1"
        server.create_instruments(series, f"{series}-E1", [ticker], close_in_s=3600)
        server.trade(server.funded_account(), ticker, True, 6_000, 5)  # someone else's bid and ask: the market is at 62c
        server.trade(server.funded_account(), ticker, False, 6_400, 5)
        member = server.new_member(f"sim-{series.lower()}@example.com")
        exchange = server.app.exchange
        assert exchange is not None
        server.value(c.Deposit(server.account_of(member), 50_000 * 1_000_000, "test"))
        number = exchange.ids.from_uuid(ids.MEMBER, member.member_id)
        assert number is not None
        generated = server.on_loop(lambda: exchange.accounts.keys.generate(number, "sim", "ed25519"))
        key_file = tmp_path / "member.pem"
        key_file.write_text(generated.private_key_pem)
        config = SimConfig(name="member-test", tick_s=0.25, series=(SeriesConfig(ticker=series, title="test"),))
        members_before = len(server.admin("GET", "/members", expect=200).json()["members"])

        summary = asyncio.run(simulate(server.base_url, generated.key.key_id, key_file, config, 3, tmp_path / "sim", 6.0,
                                       handle_signals=False))

        assert summary.determined == 0 and summary.actions > 0, summary
        assert not {"permission_denied", "unauthorized"} & set(summary.refusals), summary
        assert len(server.admin("GET", "/members", expect=200).json()["members"]) == members_before
        book = server.get_ok(f"{V2}/markets/{ticker}/orderbook")["orderbook"]
        with Client(server.base_url, key_id=generated.key.key_id, private_key=key_file) as client:
            resting = list(client.orders(status="resting"))
        makers = {order.client_order_id.split(".")[1] for order in resting}
        assert {"maker-0", "maker-1", "maker-2"} <= makers, makers
        assert book["yes"] and book["no"]
        messages = [record.getMessage() for record in caplog.records if record.name == "predictex.sim"]
        assert any(message.startswith("skipped, as they need an operator's key: the schedule") for message in messages)
        assert any(message.startswith(f"trading {ticker} (at 62%)") for message in messages), messages
        server.on_loop(lambda: check_invariants(server.app.sequencer.engine))  # type: ignore[union-attr]
