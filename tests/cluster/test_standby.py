"""A hot standby on a three-server NATS cluster, as processes: it follows the leader's log into its own
journal, takes over through the lease when the leader is paused (SIGSTOP), and the paused leader, woken
up, acknowledges nothing and stops; every acknowledged order is on the new leader, and the journals of
both nodes recover to the same state hash."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from cluster_nodes import NodeProcess, Operator, predictex_command
from nats_cluster import NatsCluster

pytestmark = pytest.mark.timeout(240)


def test_a_standby_takes_over_from_a_paused_leader_that_then_acknowledges_nothing(cluster: NatsCluster, tmp_path: Path) -> None:
    a, b = NodeProcess("a", tmp_path, cluster.urls), NodeProcess("b", tmp_path, cluster.urls)
    try:
        a.start()
        a.wait_leading(supervised=True)
        b.start()
        time.sleep(1.0)
        assert not b.leading(), "two leaders"
        operator = Operator(a.data_dir)
        acked: dict[str, str] = {}  # client order id -> order id
        for _ in range(20):
            status, client_id, body = operator.place(a.port)
            assert status == 201, body
            acked[client_id] = body["order"]["order_id"]

        # the leader is paused; orders sent to it meanwhile wait in its socket
        a.signal(signal.SIGSTOP)
        paused_at = time.monotonic()
        late: list[tuple[int, str, object]] = []

        def send_late() -> None:
            for _ in range(3):
                try:
                    late.append(operator.place(a.port, timeout_s=30))
                except OSError as error:
                    late.append((0, "", str(error)))

        sender = threading.Thread(target=send_late)
        sender.start()
        b.wait_leading()
        failover_s = time.monotonic() - paused_at
        for _ in range(10):
            status, client_id, body = operator.place(b.port)
            assert status == 201, body
            acked[client_id] = body["order"]["order_id"]

        # the old leader wakes up: it lost its lease, so it answers nothing as accepted, and stops
        a.signal(signal.SIGCONT)
        sender.join(60)
        assert late and all(status != 201 for status, _, _ in late), late
        assert a.wait_exit(30) != 0
        assert "lease" in a.log_text()

        # `predictex cluster status` names the new leader and the log's tip
        for _ in range(20):  # a NATS server's copy may lag a moment behind on a loaded machine
            status_run = subprocess.run([*predictex_command(), "cluster", "status", "--json", "--nats", ",".join(cluster.urls)],
                                        capture_output=True, text=True, timeout=60)
            assert status_run.returncode == 0, status_run.stderr
            found = json.loads(status_run.stdout)
            if all(server["current"] for server in found["servers"]):
                break
            time.sleep(0.5)
        assert found["leader"]["node"] == "b" and found["leader"]["url"] == f"http://127.0.0.1:{b.port}"
        assert found["leader"]["term"] == 2
        assert found["log"]["replicas"] == 3 and found["log"]["last_record_seq"] >= 30
        assert len(found["servers"]) == 3 and all(server["current"] for server in found["servers"])

        # every acknowledged order is on the new leader, under the same id
        for client_id, order_id in acked.items():
            status, body = operator.request(b.port, "GET", f"/trade-api/v2/portfolio/orders/{order_id}")
            assert status == 200, (client_id, body)
            assert body["order"]["client_order_id"] == client_id

        # the old leader comes back as a standby, catches up, and both journals hold the same state
        a.start()
        time.sleep(2.0)
        assert not a.leading()
        assert b.stop() == 0
        a.wait_leading()  # b stopped: a leads again, on a journal that followed b's log
        for client_id, order_id in acked.items():
            status, body = operator.request(a.port, "GET", f"/trade-api/v2/portfolio/orders/{order_id}")
            assert status == 200 and body["order"]["client_order_id"] == client_id, body
        assert a.stop() == 0
        seq_a, hash_a = a.journal_state()
        seq_b, hash_b = b.journal_state()
        assert seq_a == seq_b and hash_a == hash_b, (seq_a, seq_b)
        assert failover_s < 10, f"failover took {failover_s:.1f} s"
    finally:
        a.kill()
        b.kill()
