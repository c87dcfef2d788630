"""A FIX order-entry session with retransmission (KalshiRT) across a failover: a member's session on
the leader, the leader killed (SIGKILL), the session logged on again at the new leader without a reset.
Its sequence numbers go on where they were in both directions (the sessions' numbers and sent messages
are in the replicated log before the peer sees them), a ResendRequest for what the old leader sent
brings the very reports back (PossDupFlag=Y) from the new leader's copy, and no execution report is
lost or sent twice."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cluster_nodes import DEMO_TICKER, NodeProcess, sign_up_member
from integration.fix_client import FixClient, Received, new_order
from nats_cluster import NatsCluster, free_ports

pytestmark = pytest.mark.timeout(240)


def _report(fix: FixClient, cl_ord_id: str, exec_type: str) -> Received:
    return fix.wait(lambda m: m.msg_type == "8" and m.get(11) == cl_ord_id and m.get(150) == exec_type and m.get(43) != "Y")


def _connect(fix: FixClient, timeout_s: float = 10.0) -> FixClient:
    """Connected, once the node listens (its FIX ports open just after its HTTP port)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return fix.connect()
        except ConnectionRefusedError:
            assert time.monotonic() < deadline, f"nothing listens on FIX port {fix.port}"
            time.sleep(0.05)


def test_a_fix_session_keeps_its_sequence_numbers_across_a_failover(cluster: NatsCluster, tmp_path: Path) -> None:
    ports = free_ports(2)
    a = NodeProcess("a", tmp_path, cluster.urls, rt_fix_port=ports[0])
    b = NodeProcess("b", tmp_path, cluster.urls, rt_fix_port=ports[1])
    try:
        a.start()
        a.wait_leading(supervised=True)
        b.start()
        b.wait_standing_by()
        member = sign_up_member(a.port, "fix-failover@example.com")
        received: list[Received] = []  # every message the session got from the exchange, in order

        fix = FixClient(a.rt_fix_port, member, "KalshiRT").connect()
        received.append(fix.logon(reset=True))
        for index in range(6):
            fix.send("D", new_order(f"before-{index}", DEMO_TICKER, "1", 10 + index, 1))
        received += [_report(fix, f"before-{index}", "0") for index in range(6)]
        fix.send("F", [(11, "cancel-0"), (41, "before-0"), (55, DEMO_TICKER), (54, "1")])
        received.append(_report(fix, "cancel-0", "4"))
        assert [m.seq for m in received] == list(range(1, 9))
        next_out, last_in = fix.next_out, received[-1].seq

        a.kill()  # SIGKILL: the session's socket dies with the leader
        fix.close()
        b.wait_leading()

        again = _connect(FixClient(b.rt_fix_port, member, "KalshiRT"))
        again.next_out = next_out
        logon = again.logon(reset=False)  # refused if the new leader expected other sequence numbers
        assert logon.seq == last_in + 1, f"the new leader's Logon is {logon.seq}, the session had reached {last_in}"
        # the reports the old leader sent, asked for again: the new leader has them, numbered the same
        again.send("2", [(7, 2), (16, last_in)])
        resent = [again.wait(lambda m: m.get(43) == "Y") for _ in range(last_in - 1)]
        assert [(m.seq, m.get(11)) for m in resent] == [(m.seq, m.get(11)) for m in received[1:]]
        assert all(m.get(37) == o.get(37) and m.get(150) == o.get(150) for m, o in zip(resent, received[1:], strict=True))

        # and the session goes on at the new leader: an order of before the failover cancelled, a new one placed
        after: list[Received] = [logon]
        again.send("F", [(11, "cancel-1"), (41, "before-1"), (55, DEMO_TICKER), (54, "1")])
        after.append(_report(again, "cancel-1", "4"))
        again.send("D", new_order("after-0", DEMO_TICKER, "1", 20, 1))
        after.append(_report(again, "after-0", "0"))
        assert [m.seq for m in after] == list(range(last_in + 1, last_in + 4))
        time.sleep(0.5)
        stray = [m for m in again.drain() if m.msg_type == "8"]
        assert not stray, f"execution reports sent twice or unasked: {stray}"
        # every report once: each order's New, each cancel's Canceled, across both leaders
        reports = [(m.get(11), m.get(150)) for m in [*received[1:], *after[1:]]]
        assert len(reports) == len(set(reports)) == 9
        again.send("5", [])
        again.wait_type("5")
        again.close()
    finally:
        a.kill()
        b.kill()
