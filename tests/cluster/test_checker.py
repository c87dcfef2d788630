"""A Jepsen-style check of the cluster: three NATS servers and two nodes as processes, several clients
(members signed up over REST, each with its own API key) sending signed orders and recording every answer, and at least 30 faults meanwhile: the leader killed
(SIGKILL), the leader paused past its lease (SIGSTOP, then SIGCONT), a NATS server killed and
restarted or paused and resumed; every node that exits is restarted (as a supervisor would).

Checked after every fault: every acknowledged order is on the leader under the same id and client
order id (listed with its member's key); and both nodes' journals, read as they stand (a killed node's
too), give the same state hash at the same record, the lowest either has reached (each replayed on an
engine of the checker's, every record's events checked), and every snapshot a node's live engine took
agrees with its journal replayed to the snapshot's record. Checked throughout: no client order id is acknowledged twice (a client retries an order
whose answer it did not get, with the same client order id, so a second acknowledgement would be a
duplicate), and no node answers "accepted" to an order sent to it after it was paused. At the end:
both nodes' journals recover to the same last record and state hash, and hold every acknowledged
order exactly once, with the same events (the journals are compared record by record)."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from cluster_nodes import DEMO_TICKER, NodeProcess, Operator, Signer, sign_up_member
from nats_cluster import NatsCluster
from predictex.core.codec import decode_command
from predictex.core.commands import CreateOrder
from predictex.core.engine import Engine
from predictex.core.snapshot import state_hash
from predictex.journal.journal import Journal, replay
from predictex.journal.records import decode_batch
from predictex.journal.sqlite import SqliteStore
from predictex.journal.verify import Verification, verify

pytestmark = pytest.mark.timeout(600)  # about 300 s at load 17

FAULTS = int(os.environ.get("PREDICTEX_CHECKER_FAULTS", "30"))
MEMBERS = 3  # and the operator: four clients
SEED = 21


class History:
    """Every order a client sent and what it heard, and when each node was paused."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked: dict[str, str] = {}  # client order id -> order id
        self.owner: dict[str, int] = {}  # client order id -> the client (member) that sent it
        self.ack_counts: dict[str, int] = {}
        self.indeterminate: set[str] = set()
        self.sent = 0
        self.paused_since: dict[str, float] = {}  # node -> monotonic time of its SIGSTOP (until it exits)
        self.late_acks: list[str] = []

    def answered(self, node: str, sent_at: float, client: int, client_id: str, status: int, body: Any) -> None:
        with self.lock:
            self.sent += 1
            self.owner[client_id] = client
            if status == 201:
                self.ack_counts[client_id] = self.ack_counts.get(client_id, 0) + 1
                self.acked[client_id] = body["order"]["order_id"]
                self.indeterminate.discard(client_id)
                paused = self.paused_since.get(node)
                if paused is not None and sent_at > paused:
                    self.late_acks.append(f"{node} acknowledged {client_id}, sent {sent_at - paused:.2f} s after its pause")
            elif client_id not in self.acked:
                self.indeterminate.add(client_id)


def _leader(nodes: list[NodeProcess]) -> NodeProcess | None:
    for node in nodes:
        if node.running and node.health() is not None:
            return node
    return None


def _client(nodes: list[NodeProcess], signer: Signer, index: int, history: History, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    retry: str | None = None
    while not stop.is_set():
        node = _leader(nodes)
        if node is None:
            time.sleep(0.05)
            continue
        client_id = retry or str(uuid.uuid4())
        body = {"ticker": DEMO_TICKER, "side": "yes", "action": "buy", "count": 1, "yes_price": rng.randint(5, 40),
                "client_order_id": client_id}
        sent_at = time.monotonic()
        try:
            status, answer = signer.request(node.port, "POST", "/trade-api/v2/portfolio/orders", body, timeout_s=5)
        except (OSError, ValueError):
            status, answer = 0, None
        history.answered(node.name, sent_at, index, client_id, status, answer)
        # an order without an answer is sent again (once) with the same client order id
        retry = client_id if status in (0, 500, 502, 503, 504) and retry is None else None


def _check_acked(nodes: list[NodeProcess], signers: list[Signer], history: History) -> None:
    """Every order acknowledged so far is on the leader, among its member's orders (asked again if the
    leader changes meanwhile)."""
    with history.lock:
        acked = dict(history.acked)
        owner = dict(history.owner)
    for _ in range(20):
        leader = _wait_for_leader(nodes, history)
        try:
            listed = [_listed(leader, signer) for signer in signers]
        except (OSError, ValueError):
            continue
        missing = {c: o for c, o in acked.items() if listed[owner[c]].get(o) != c}
        assert not missing, f"{len(missing)} acknowledged orders are not on the leader {leader.name}: {list(missing.items())[:5]}"
        return
    raise AssertionError("the leader's orders could not be listed")


def _listed(leader: NodeProcess, signer: Signer) -> dict[str, str]:
    listed: dict[str, str] = {}
    cursor = ""
    while True:
        status, body = signer.request(leader.port, "GET", f"/trade-api/v2/portfolio/orders?limit=1000&cursor={cursor}", timeout_s=30)
        if status != 200:
            raise ValueError(f"listing orders: {status} {body}")
        for order in body["orders"]:
            listed[order["order_id"]] = order["client_order_id"]
        cursor = body.get("cursor") or ""
        if not cursor:
            return listed


def _supervise(nodes: list[NodeProcess], history: History) -> None:
    for node in nodes:
        if not node.running:
            with history.lock:
                history.paused_since.pop(node.name, None)
            if node.process is not None:
                node.process.wait()
            node.start()


def _wait_for_leader(nodes: list[NodeProcess], history: History, timeout_s: float = 60.0) -> NodeProcess:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _supervise(nodes, history)
        leader = _leader(nodes)
        if leader is not None:
            return leader
        time.sleep(0.05)
    raise AssertionError("no leader within 60 s:\n" + "\n".join(n.log_text()[-2000:] for n in nodes))


def _last_seq(node: NodeProcess) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{node.data_dir / 'predictex.db'}?mode=ro", uri=True, timeout=10)) as db:
        row = db.execute("SELECT MAX(last_seq) FROM journal_batches").fetchone()
    return int(row[0] or 0)


def _caught_up(nodes: list[NodeProcess], history: History, timeout_s: float = 60.0) -> NodeProcess:
    """The leader, once every node runs and each standby's journal reaches the leader's last record."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(0.5)  # a paused leader that woke up has time to see its lease gone and exit
        leader = _wait_for_leader(nodes, history)
        if all(node.running for node in nodes) and min(_last_seq(node) for node in nodes) >= _last_seq(leader):
            return leader
    raise AssertionError("the standby did not catch up with the leader within 60 s:\n"
                         + "\n".join(node.log_text()[-2000:] for node in nodes))


class Replicas:
    """Each node's journal replayed on an engine of the checker's own, read while the nodes run (read-only;
    a node that is down or restarting is read all the same), every record's events checked against the
    stored ones. After each fault all journals are brought to the same record, the lowest any of them
    has reached (never lower than the time before: journals only grow), and their state hashes compared
    there; and the state hash of every snapshot a node's live engine took is compared with its journal's
    replay at the snapshot's record."""

    def __init__(self, nodes: list[NodeProcess]) -> None:
        self.nodes = nodes
        self.engines = {node.name: Engine() for node in nodes}
        self.replayed = {node.name: 0 for node in nodes}
        self.snapshots_checked = 0
        self.compared: list[int] = []  # the record at which the state hashes were compared, after each fault

    def check(self) -> None:
        through = min(_last_seq(node) for node in self.nodes)
        hashes = {node.name: self._replay(node, through) for node in self.nodes}
        assert len(set(hashes.values())) == 1, f"the replicas' state hashes differ at record {through}: {hashes}"
        self.compared.append(through)

    def _replay(self, node: NodeProcess, through_seq: int) -> str:
        engine, last = self.engines[node.name], self.replayed[node.name]
        assert through_seq >= last, f"{node.name}'s journal went back from record {last} to {through_seq}"
        with contextlib.closing(sqlite3.connect(f"file:{node.data_dir / 'predictex.db'}?mode=ro", uri=True, timeout=10)) as db:
            batches = db.execute("SELECT first_seq, record_count, data FROM journal_batches WHERE last_seq > ? AND first_seq <= ? "
                                 "ORDER BY first_seq", (last, through_seq)).fetchall()
            snapshots = {int(seq): str(found) for seq, found in
                         db.execute("SELECT seq, state_hash FROM snapshots WHERE seq > ? AND seq <= ?", (last, through_seq))}
        for first_seq, count, data in batches:
            for record in decode_batch(bytes(data), first_seq, count):
                if record.seq <= last:
                    continue
                if record.seq > through_seq:
                    break
                assert record.seq == last + 1, f"{node.name}'s journal skips from record {last} to {record.seq}"
                replay(engine, record)
                last = record.seq
                if last in snapshots:
                    assert snapshots[last] == state_hash(engine), f"{node.name}'s live engine and its journal disagree at record {last}"
                    self.snapshots_checked += 1
        assert last == through_seq, f"{node.name}'s journal ends at {last}, not {through_seq}"
        self.replayed[node.name] = last
        return state_hash(engine)


def _verify(node: NodeProcess) -> Verification:
    store = SqliteStore(str(node.data_dir / "predictex.db"))
    try:
        return verify(Journal(store, reading_only=True))
    finally:
        store.close()


def _records(node: NodeProcess) -> list[tuple[int, int, bytes, bytes]]:
    store = SqliteStore(str(node.data_dir / "predictex.db"))
    try:
        return [(r.seq, r.time_ms, r.command_json, r.events_json) for r in Journal(store).records(0)]
    finally:
        store.close()


def test_acknowledged_orders_survive_thirty_faults(cluster: NatsCluster, tmp_path: Path) -> None:
    # a snapshot every 25 commands: the live engines' state hashes, on leader and standby, to check
    nodes = [NodeProcess(name, tmp_path, cluster.urls, lease_ttl_s=1.0, snapshot_every=25) for name in ("a", "b")]
    history = History()
    stop = threading.Event()
    clients: list[threading.Thread] = []
    rng = random.Random(SEED)
    faults: list[str] = []
    replicas = Replicas(nodes)
    try:
        nodes[0].start()
        nodes[0].wait_leading(supervised=True)
        nodes[1].start()
        operator = Operator(nodes[0].data_dir)
        # the clients are members, each signed up over REST with a key of its own, and the operator
        signers: list[Signer] = [sign_up_member(nodes[0].port, f"checker-{i}@example.com") for i in range(MEMBERS)]
        signers.append(operator)
        clients = [threading.Thread(target=_client, args=(nodes, signer, i, history, stop, SEED + i), daemon=True)
                   for i, signer in enumerate(signers)]
        for thread in clients:
            thread.start()
        started = time.monotonic()
        kinds = ["kill leader", "pause leader", "kill nats", "pause nats"]
        while len(faults) < FAULTS:
            time.sleep(0.5)
            leader = _wait_for_leader(nodes, history)
            kind = kinds[len(faults) % len(kinds)]
            if kind == "kill leader":
                leader.kill()
            elif kind == "pause leader":
                with history.lock:
                    history.paused_since[leader.name] = time.monotonic()
                leader.signal(signal.SIGSTOP)
                time.sleep(2.0)  # past the lease (1 s): a standby leads meanwhile
                leader.signal(signal.SIGCONT)  # it must stop without acknowledging anything
            else:
                server = rng.randrange(3)
                if kind == "kill nats":
                    cluster.kill(server)
                    time.sleep(0.5)
                    cluster.start(server)
                else:
                    cluster.pause(server)
                    time.sleep(1.0)
                    cluster.resume(server)
            faults.append(kind)
            _check_acked(nodes, signers, history)
            replicas.check()
        elapsed = time.monotonic() - started
        stop.set()
        for thread in clients:
            thread.join(30)

        _check_acked(nodes, signers, history)
        leader = _wait_for_leader(nodes, history)
        assert not history.late_acks, history.late_acks
        assert all(count == 1 for count in history.ack_counts.values()), "a client order id acknowledged twice"
        assert len(history.acked) >= 5 * FAULTS, f"only {len(history.acked)} orders acknowledged in {elapsed:.0f} s"

        # both nodes end on the same journal: a node that stopped after the last fault (a paused leader
        # exits when it wakes) is started again, the standby follows the log up to the leader's last
        # record, and is stopped first, then the leader
        leader = _caught_up(nodes, history)
        for node in sorted(nodes, key=lambda n: n is leader):
            node.stop()
        journals = [_records(node) for node in nodes]
        assert journals[0] == journals[1], "the nodes' journals differ"
        states = [node.journal_state() for node in nodes]
        assert states[0] == states[1]
        # `journal verify` on each: the chain of batch hashes, every record's events replayed, and every
        # snapshot its live engine took (every 25 commands, leader and standby) still kept against the replay
        verified = [_verify(node) for node in nodes]
        assert verified[0].state_hash == verified[1].state_hash == states[0][1]
        snapshots_checked = replicas.snapshots_checked + sum(v.snapshots_checked for v in verified)
        assert snapshots_checked >= 4, f"only {snapshots_checked} snapshots of live engines were checked"
        # an order retried after a lost answer is journaled twice, the second refused (no events): every
        # client order id is accepted once at most, and every acknowledged one was
        accepted = [(decode_command(orjson.loads(command)), orjson.loads(events)) for _, _, command, events in journals[0]]
        placed = [command.client_order_id for command, events in accepted
                  if isinstance(command, CreateOrder) and command.client_order_id and events]
        assert set(history.acked) <= set(placed)
        assert len(placed) == len(set(placed)), "an order was applied twice"
        assert len(replicas.compared) == FAULTS and replicas.compared[-1] > 0, replicas.compared
        print(f"\nchecker: {len(faults)} faults in {elapsed:.0f} s, {history.sent} requests, "
              f"{len(history.acked)} acknowledged, {len(history.indeterminate)} without an answer; state hashes compared "
              f"at records {replicas.compared}, {snapshots_checked} live engines' snapshots checked")
    finally:
        stop.set()
        for node in nodes:
            node.kill()
