"""Run the simulator against an exchange over the network until stopped (or for `duration_s`), and
say what it did. `predictex sim` and `predictex serve` (which runs this in a child process of its
own, so the simulator's work never shares the sequencer's interpreter) both come here."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from predictex.client import AsyncClient, PredictexError, Signer, load_private_key
from predictex.sim.config import SimConfig
from predictex.sim.http import transport_for
from predictex.sim.network import RETRY, NetworkVenue
from predictex.sim.simulation import AdoptingSimulation, Simulation

log = logging.getLogger("predictex.sim")

CONNECT_TIMEOUT_S = 60.0  # waiting for the exchange to answer at the start


@dataclass
class Summary:
    steps: int
    actions: int
    requests: int
    refusals: dict[str, int]
    failures: int
    determined: int
    reconnects: int
    fix_requests: int
    fix_logons: int
    cpu_s: float
    wall_s: float


async def wait_for_exchange(client: AsyncClient, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            await client.exchange_status()
            return
        except PredictexError:  # anything short of an answer: not up yet
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def simulate(url: str, key_id: str, key_file: Path, config: SimConfig, seed: int, state_dir: Path,
                   duration_s: float | None = None, *, handle_signals: bool = True,
                   fix_address: tuple[str, int] | None = None) -> Summary:
    started_wall, started_cpu = time.monotonic(), time.process_time()
    key = load_private_key(key_file)
    async with AsyncClient(url, key_id=key_id, private_key=key, retry=RETRY, transport=transport_for(url)) as operator:
        await wait_for_exchange(operator)
        venue = NetworkVenue(url, config, operator, state_dir, fix_address, Signer(key_id, key))
        try:
            await venue.start()
            simulation = Simulation(config, seed, venue) if venue.operator_powers else AdoptingSimulation(config, seed, venue)
            if handle_signals:
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, simulation.stop)
            steps = None if duration_s is None else max(1, round(duration_s / config.tick_s))
            await simulation.run(steps=steps)
        finally:
            with contextlib.suppress(Exception):
                await venue.close()
    summary = Summary(simulation.step, simulation.actions_sent, venue.requests, dict(venue.refusals), venue.failures,
                      len(simulation.determined), venue.reconnects, venue.fix_requests, venue.fix_logons, time.process_time() - started_cpu, time.monotonic() - started_wall)
    log.info("simulation ended after %d steps (%d ms, %d ms of CPU): %d actions, %d requests (%d over FIX, %d FIX logons), "
             "%d without an answer, refusals %s, %d markets determined, %d reconnects", summary.steps, round(summary.wall_s * 1000),
             round(summary.cpu_s * 1000), summary.actions, summary.requests, summary.fix_requests, summary.fix_logons,
             summary.failures, json.dumps(summary.refusals, sort_keys=True), summary.determined, summary.reconnects)
    return summary
