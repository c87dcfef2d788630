"""A gateway node on a three-server NATS cluster, as processes: a leader, a standby and `predictex gateway`.
Signed orders placed through the gateway are answered once the leader committed them, with the leader's
order ids, and are readable on the gateway at once; a WebSocket subscriber on the gateway sees each one
as an order book delta; an API key made through the gateway (proxied to the leader) signs orders on it,
and deleting it ends the WebSocket the gateway opened with it;
the leader is killed, and then the next one paused past its lease, while orders keep coming through the
gateway, and every order the gateway acknowledged is on the last leader exactly once; the gateway,
restarted, reads on from its cache, and its copy ends in the leader's state."""

from __future__ import annotations

import base64
import contextlib
import json
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from cluster_nodes import DEMO_TICKER, GatewayProcess, NodeProcess, Operator, predictex_command
from nats_cluster import NatsCluster, free_ports
from predictex.accounts import RevokedWhat
from predictex.cluster.gateway import revocations
from predictex.journal.base import TableWrite

pytestmark = pytest.mark.timeout(300)
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def _subscribe(stack: contextlib.ExitStack, operator: Operator, port: int) -> ClientConnection:
    stamp = str(time.time_ns() // 1_000_000)
    path = "/trade-api/ws/v2"
    signature = base64.b64encode(operator.key.sign(f"{stamp}GET{path}".encode(), _PSS, hashes.SHA256())).decode()
    socket = stack.enter_context(connect(f"ws://127.0.0.1:{port}{path}", additional_headers={
        "KALSHI-ACCESS-KEY": operator.key_id, "KALSHI-ACCESS-TIMESTAMP": stamp, "KALSHI-ACCESS-SIGNATURE": signature}))
    socket.send(json.dumps({"id": 1, "cmd": "subscribe", "params": {"channels": ["orderbook_delta"],
                                                                    "market_tickers": [DEMO_TICKER]}}))
    return socket


class BookWatch:
    """The YES bid at 30c of the demo market, as a WebSocket subscriber sees it (snapshot, then deltas)."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.held = 0
        self.seen: list[Any] = []
        self.read_until(lambda message: message.get("type") in ("orderbook_snapshot", "error"))

    def read_until(self, done: Any, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            message: Any = json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            self.seen.append(message)
            body = message.get("msg", {})
            if message.get("type") == "orderbook_snapshot":
                self.held = sum(_contracts(level[1]) for level in body.get("yes_dollars_fp", []) if _cents(level[0]) == 30)
            elif message.get("type") == "orderbook_delta" and body.get("side") == "yes" and _cents(body["price_dollars"]) == 30:
                self.held += _contracts(body["delta_fp"])
            if done(message):
                return

    def wait_for(self, held: int) -> int:
        if self.held < held:
            try:
                self.read_until(lambda _: self.held >= held)
            except TimeoutError:
                raise AssertionError(f"the subscriber saw {self.held}, not {held}: {self.seen[-5:]}") from None
        return self.held


def _cents(value: Any) -> int:
    return round(float(value) * 100) if isinstance(value, str) else int(value)


def _contracts(value: Any) -> int:
    return round(float(value)) if isinstance(value, str) else int(value)


def test_orders_through_a_gateway_across_a_leader_failover(cluster: NatsCluster, tmp_path: Path) -> None:
    stack = contextlib.ExitStack()
    a, b = NodeProcess("a", tmp_path, cluster.urls), NodeProcess("b", tmp_path, cluster.urls)
    gateway = GatewayProcess("g1", tmp_path, cluster.urls)
    try:
        a.start()
        a.wait_leading()
        b.start()
        gateway.start()
        gateway.wait_leading()
        operator = Operator(a.data_dir)  # the key the first leader made: the gateway has it from the log
        socket = _subscribe(stack, operator, gateway.port)
        book = BookWatch(socket)
        before = book.held

        acked: dict[str, str] = {}
        for _ in range(10):
            status, client_id, body = operator.place(gateway.port)
            assert status == 201, body
            acked[client_id] = body["order"]["order_id"]
            status, found = operator.request(gateway.port, "GET", f"/trade-api/v2/portfolio/orders/{body['order']['order_id']}")
            assert status == 200 and found["order"]["client_order_id"] == client_id, found  # read after write, on the gateway
        for client_id, order_id in acked.items():  # the leader's ids
            status, found = operator.request(a.port, "GET", f"/trade-api/v2/portfolio/orders/{order_id}")
            assert status == 200 and found["order"]["client_order_id"] == client_id, found
        assert book.wait_for(before + 10) == before + 10  # the WebSocket on the gateway saw every order

        # an API key made through the gateway (the leader makes it) signs orders on the gateway at once
        status, made = operator.request(gateway.port, "POST", "/trade-api/v2/api_keys/generate", {"name": "through-gateway"})
        assert status == 201, made
        key = serialization.load_pem_private_key(made["private_key"].encode(), password=None)
        second = Operator.__new__(Operator)
        second.key_id, second.key = made["api_key_id"], key
        status, client_id, body = second.place(gateway.port)
        assert status == 201, body
        acked[client_id] = body["order"]["order_id"]

        # deleting it (on the leader, through the gateway) ends the WebSocket the gateway opened with it
        revoked_socket = _subscribe(stack, second, gateway.port)
        BookWatch(revoked_socket)
        status, _ = operator.request(gateway.port, "DELETE", f"/trade-api/v2/api_keys/{second.key_id}")
        assert status in (200, 204), status
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                revoked_socket.recv(timeout=15)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008, closed.value
        assert second.place(gateway.port)[0] == 401  # and the key signs nothing more there

        # the leader dies while orders keep coming through the gateway
        def placing_through(change_of_leader: Callable[[], None]) -> None:
            answers: list[tuple[int, str, Any]] = []
            stop = threading.Event()

            def keep_placing() -> None:
                while not stop.is_set():
                    try:
                        answers.append(operator.place(gateway.port, timeout_s=60))
                    except OSError as error:
                        answers.append((0, "", str(error)))

            placer = threading.Thread(target=keep_placing)
            placer.start()
            time.sleep(0.5)
            change_of_leader()
            time.sleep(1.0)
            stop.set()
            placer.join(90)
            for status, client_id, body in answers:
                assert status == 201, (status, body)  # the gateway rode over the change of leader
                acked[client_id] = body["order"]["order_id"]
            assert len(answers) > 3

        def kill_a() -> None:
            a.kill()
            b.wait_leading()

        placing_through(kill_a)

        # the new leader is paused past its lease (what it had received it never answers; the gateway
        # sends it again only once a's marker shows it was not stored)
        a.start()
        a.wait_standing_by()

        def pause_b() -> None:
            b.signal(signal.SIGSTOP)
            a.wait_leading()
            b.signal(signal.SIGCONT)

        placing_through(pause_b)
        assert b.wait_exit(30) != 0  # woken, it found its lease gone and stopped

        # every acknowledged order is on the leader, once, under the id the gateway gave
        status, listed = operator.request(a.port, "GET", "/trade-api/v2/portfolio/orders?limit=1000")
        assert status == 200, listed
        seen = Counter(order["client_order_id"] for order in listed["orders"])
        for client_id, order_id in acked.items():
            assert seen[client_id] == 1, (client_id, seen[client_id])
            status, found = operator.request(a.port, "GET", f"/trade-api/v2/portfolio/orders/{order_id}")
            assert status == 200 and found["order"]["client_order_id"] == client_id, found
        assert book.wait_for(before + len(acked)) == before + len(acked)

        # a gateway restarted reads on from its cache's place in the log
        assert gateway.stop() == 0
        gateway.start()
        gateway.wait_leading()
        status, client_id, body = operator.place(gateway.port)
        assert status == 201, body
        for order_id in [*acked.values(), body["order"]["order_id"]]:
            status, found = operator.request(gateway.port, "GET", f"/trade-api/v2/portfolio/orders/{order_id}")
            assert status == 200, found

        # the gateway's copy is the leader's
        assert gateway.stop() == 0
        assert a.stop() == 0
        assert gateway.journal_state() == a.journal_state()
    finally:
        stack.close()
        for process in (gateway, a, b):
            process.kill()


def test_a_gateway_refuses_to_start_without_a_name(tmp_path: Path) -> None:
    port = free_ports(1)[0]
    run = subprocess.run([*predictex_command(), "gateway", "--nats", "nats://127.0.0.1:4", "--port", str(port),
                          "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "--node" in run.stderr


def test_the_leaders_changes_to_the_accounts_tables_are_revocations_on_a_gateway() -> None:
    found = revocations([
        TableWrite("accounts_api_keys", ("key_id", "member_id", "deleted_ms"), [("k1", 7, None), ("k2", 7, 1_000)]),
        TableWrite("accounts_sessions", ("token_hash", "member_id", "revoked"), [("h1", 8, False), ("h2", 8, True)]),
        TableWrite("accounts_suspensions", ("member_id", "suspended", "changed_ms", "reason"), [(9, True, 1, ""), (10, False, 1, "")]),
        TableWrite("accounts_closures", ("member_id", "closed_ms", "reason"), [(11, 1, "gone")]),
        TableWrite("accounts_members", ("member_id", "email"), [(12, "a@example.com")]),
    ])
    assert [(r.what, r.subject, r.member_id) for r in found] == [
        (RevokedWhat.KEY, "k2", 7), (RevokedWhat.SESSION, "h2", 8), (RevokedWhat.MEMBER, "9", 9), (RevokedWhat.MEMBER, "11", 11)]
