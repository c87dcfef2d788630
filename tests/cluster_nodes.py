"""Nodes of a predictex cluster as real processes (`predictex cluster node`), for the cluster tests:
start, pause (SIGSTOP), resume, kill (SIGKILL), stop (SIGTERM), wait until one leads; and a signed
client that places orders on whichever node it is pointed at, with the operator's key or a member's."""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from nats_cluster import free_ports
from predictex.core.snapshot import state_hash
from predictex.journal.journal import Journal
from predictex.journal.sqlite import SqliteStore

DEMO_TICKER = "INXCHI-25JAN31-T69.5"  # a demo market: asks from 0.51, so a YES bid at 0.30 rests
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def predictex_command() -> list[str]:
    script = Path(sys.executable).parent / "predictex"
    return [str(script)] if script.exists() else [sys.executable, "-m", "predictex.cli.main"]


class NodeProcess:
    def __init__(self, name: str, root: Path, nats_urls: list[str], lease_ttl_s: float = 1.0, rt_fix_port: int = 0,
                 snapshot_every: int = 0) -> None:
        self.name = name
        self.data_dir = root / f"node-{name}"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_ports(1)[0]
        self.nats_urls = nats_urls
        self.lease_ttl_s = lease_ttl_s
        self.rt_fix_port = rt_fix_port  # a FIX order-entry port with retransmission (KalshiRT), when not 0
        self.snapshot_every = snapshot_every  # commands between the journal's snapshots, when not 0 (the default)
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.data_dir / f"node-{self.starts}.log", "wb")  # noqa: SIM115 (the process keeps it)
        environment = {**os.environ, "PREDICTEX_NO_SIM": "1"}
        self.process = subprocess.Popen([
            *predictex_command(), "cluster", "node", "--node", self.name, "--nats", ",".join(self.nats_urls),
            "--lease-ttl", str(self.lease_ttl_s), "--data-dir", str(self.data_dir), "--port", str(self.port),
            "--env", "demo", "--no-rate-limits", "--advertise-url", f"http://127.0.0.1:{self.port}",
            *(["--fix-ports", f"rt={self.rt_fix_port}"] if self.rt_fix_port else []),
            *(["--snapshot-every", str(self.snapshot_every)] if self.snapshot_every else []),
        ], stdout=log, stderr=subprocess.STDOUT, env=environment)

    def log_text(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.data_dir.glob("node-*.log")))

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def health(self) -> dict[str, Any] | None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            connection.request("GET", "/health")
            response = connection.getresponse()
            body = response.read()
            connection.close()
            return json.loads(body) if response.status == 200 else None
        except (OSError, ValueError):
            return None

    def leading(self) -> bool:
        return self.running and self.health() is not None

    def wait_leading(self, timeout_s: float = 60.0, supervised: bool = False) -> float:
        """Seconds until this node answers as the leader. `supervised`: a node that stopped because it lost
        its lease is started again, as its supervisor would (twice at most): on a machine so loaded that a
        leader's renewals go unanswered for most of a second it loses its lease, rightly, and a cluster's
        first start is no exception."""
        started = time.monotonic()
        restarts = 0
        while time.monotonic() - started < timeout_s:
            assert self.process is not None
            if self.process.poll() is not None:
                log = (self.data_dir / f"node-{self.starts}.log").read_text(errors="replace")
                if supervised and restarts < 2 and "the lease" in log:
                    restarts += 1
                    self.start()
                    continue
                raise AssertionError(f"node {self.name} exited with {self.process.returncode}:\n{self.log_text()[-3000:]}")
            if self.health() is not None:
                return time.monotonic() - started
            time.sleep(0.05)
        raise AssertionError(f"node {self.name} did not lead within {timeout_s} s:\n{self.log_text()[-3000:]}")

    def wait_standing_by(self, timeout_s: float = 60.0) -> float:
        """Seconds until this node (started last) stands by, warm: following the log, ready to take over."""
        started = time.monotonic()
        log = self.data_dir / f"node-{self.starts}.log"
        while time.monotonic() - started < timeout_s:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"node {self.name} exited with {self.process.returncode}:\n{self.log_text()[-3000:]}")
            text = log.read_text(errors="replace") if log.exists() else ""
            if " stands by at record " in text and " is warm" in text:
                return time.monotonic() - started
            time.sleep(0.05)
        raise AssertionError(f"node {self.name} did not stand by within {timeout_s} s:\n{self.log_text()[-3000:]}")

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        os.kill(self.process.pid, sig)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait()

    def stop(self, timeout_s: float = 30.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.terminate()
        return self.process.wait(timeout_s)

    def wait_exit(self, timeout_s: float = 30.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout_s)

    def journal_state(self) -> tuple[int, str]:
        """The last record and state hash of this node's journal (the node stopped)."""
        store = SqliteStore(str(self.data_dir / "predictex.db"))
        try:
            recovery = Journal(store).recover()
            return recovery.last_seq, state_hash(recovery.engine)
        finally:
            store.close()


class Signer:
    """Signs Kalshi v2 requests with one API key (an RSA private key) and sends them to a node."""

    def __init__(self, key_id: str, private_key_pem: bytes) -> None:
        self.key_id = key_id
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        self.key = key

    def sign(self, text: str) -> str:
        """Base64 RSA-PSS (SHA-256) over `text`: a FIX Logon's RawData."""
        return base64.b64encode(self.key.sign(text.encode(), _PSS, hashes.SHA256())).decode("ascii")

    def request(self, port: int, method: str, path: str, body: Any = None, timeout_s: float = 10.0) -> tuple[int, Any]:
        stamp = str(time.time_ns() // 1_000_000)
        signature = base64.b64encode(self.key.sign(f"{stamp}{method}{path.split('?')[0]}".encode(), _PSS, hashes.SHA256()))
        headers = {"KALSHI-ACCESS-KEY": self.key_id, "KALSHI-ACCESS-TIMESTAMP": stamp,
                   "KALSHI-ACCESS-SIGNATURE": signature.decode(), "Content-Type": "application/json"}
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
        try:
            connection.request(method, path, body=None if body is None else json.dumps(body).encode(), headers=headers)
            response = connection.getresponse()
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None)
        finally:
            connection.close()

    def place(self, port: int, timeout_s: float = 10.0) -> tuple[int, str, Any]:
        """A resting one-contract YES bid; (status, client_order_id, body)."""
        client_order_id = str(uuid.uuid4())
        status, body = self.request(port, "POST", "/trade-api/v2/portfolio/orders", {
            "ticker": DEMO_TICKER, "side": "yes", "action": "buy", "count": 1, "yes_price": 30,
            "client_order_id": client_order_id}, timeout_s)
        return status, client_order_id, body


class Operator(Signer):
    """The operator's key (operator.json of the cluster's first leader)."""

    def __init__(self, data_dir: Path) -> None:
        details = json.loads((data_dir / "operator.json").read_text())
        super().__init__(details["api_key_id"], Path(details["private_key_path"]).read_bytes())


MEMBER_PASSWORD = "correct horse battery staple"


def sign_up_member(port: int, email: str) -> Signer:
    """A new member of the demo exchange at `port` (signed up over REST: $10,000 of play money), logged in
    with its password, and an API key of its own that signs its requests."""
    from predictex.client import Client

    with Client(f"http://127.0.0.1:{port}") as client:
        client.sign_up(email, MEMBER_PASSWORD)
        client.log_in_with_password(email, MEMBER_PASSWORD)
        generated = client.generate_api_key("checker")
    return Signer(generated.api_key_id, generated.private_key_pem.encode())


class GatewayProcess(NodeProcess):
    """`predictex gateway` as a process; `leading` here means serving (its /health answers)."""

    def __init__(self, name: str, root: Path, nats_urls: list[str], extra: list[str] | None = None) -> None:
        super().__init__(name, root, nats_urls)
        self.extra = extra or []

    def start(self) -> None:
        self.starts += 1
        log = open(self.data_dir / f"node-{self.starts}.log", "wb")  # noqa: SIM115 (the process keeps it)
        self.process = subprocess.Popen([
            *predictex_command(), "gateway", "--node", self.name, "--nats", ",".join(self.nats_urls),
            "--data-dir", str(self.data_dir), "--port", str(self.port), "--env", "demo", *self.extra,
        ], stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PREDICTEX_NO_SIM": "1"})
