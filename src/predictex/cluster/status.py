"""`predictex cluster status`: who holds the lease, where the replicated log ends, and how each NATS
server's copy of it stands (read from JetStream; it needs no node to be up)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nats
import nats.js.errors

from predictex.cluster.lease import LEASE_BUCKET, LEASE_KEY, LeaseRecord
from predictex.cluster.log import STREAM, LogEntry

__all__ = ["cluster_status", "render"]


async def cluster_status(urls: Sequence[str]) -> dict[str, Any]:
    client = await nats.connect(servers=list(urls), connect_timeout=3, max_reconnect_attempts=1)
    try:
        js = client.jetstream(timeout=5)
        found: dict[str, Any] = {"leader": None, "log": None, "servers": []}
        try:
            kv = await js.key_value(LEASE_BUCKET)
            entry = await kv.get(LEASE_KEY)
            record = LeaseRecord.parse(entry.value, entry.revision or 0)
            found["leader"] = {"node": record.node, "term": record.term, "url": record.url, "revision": record.revision}
        except (nats.js.errors.BucketNotFoundError, nats.js.errors.KeyNotFoundError):
            pass
        try:
            info = await js.stream_info(STREAM)
        except nats.js.errors.NotFoundError:
            return found
        last_record = 0
        if info.state.last_seq:
            message = await js.get_msg(STREAM, info.state.last_seq)
            last_record = LogEntry(info.state.last_seq, message.subject or "", message.headers, b"").last_seq
        found["log"] = {"stream": STREAM, "messages": info.state.messages, "last_stream_seq": info.state.last_seq,
                        "last_record_seq": last_record, "bytes": info.state.bytes, "replicas": info.config.num_replicas}
        cluster = info.cluster
        if cluster is not None:
            found["servers"].append({"name": cluster.leader, "role": "stream leader", "current": True, "lag": 0})
            for peer in cluster.replicas or []:
                found["servers"].append({"name": peer.name, "role": "replica", "current": bool(peer.current),
                                         "offline": bool(peer.offline), "lag": peer.lag or 0})
        return found
    finally:
        await client.close()


def render(found: dict[str, Any]) -> str:
    leader = found["leader"]
    lines = [f"leader: {leader['node']} (term {leader['term']}){' at ' + leader['url'] if leader['url'] else ''}"
             if leader else "leader: none (no node holds the lease)"]
    log = found["log"]
    if log is None:
        lines.append("log: none yet (no node has started)")
    else:
        lines.append(f"log: {log['messages']} messages, last record {log['last_record_seq']}, "
                     f"{log['replicas']} replicas, {log['bytes']} bytes")
    for server in found["servers"]:
        state = "offline" if server.get("offline") else ("current" if server["current"] else f"behind by {server['lag']}")
        lines.append(f"  {server['name']}: {server['role']}, {state}")
    return "\n".join(lines)
