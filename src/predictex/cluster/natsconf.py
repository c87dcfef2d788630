"""The NATS server configuration the project ships for a cluster, and uses in its tests.

JetStream acknowledges a publish once a majority of the stream's replicas hold it in memory; by default
each server writes its files to disk only every two minutes. Jepsen's analysis of NATS 2.12.1 (2025)
lost acknowledged writes in exactly that window (a coordinated power failure, or one OS crash with a
network delay or process pause). `sync_interval: always` makes every server fsync a message before it
counts towards the acknowledgement, so an order the exchange acknowledged survives the loss of power
to every machine. It needs nats-server 2.10 or later (Debian 12's 2.9.10 refuses the option).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["server_config"]


def server_config(name: str, host: str, client_port: int, cluster_port: int, routes: Sequence[str], store_dir: str,
                  cluster_name: str = "predictex", monitor_port: int = 0) -> str:
    """One server of a cluster. `routes`: every server's cluster address (host:port), this one's too."""
    route_lines = "\n".join(f"    nats-route://{route}" for route in routes)
    monitor = f"http_port: {monitor_port}\n" if monitor_port else ""
    return f"""# predictex: one NATS server of a three-server JetStream cluster (docs/operations.md, "A cluster")
server_name: {name}
host: {host}
port: {client_port}
{monitor}
jetstream {{
  store_dir: "{store_dir}"
  # fsync every message before it is acknowledged: the default (every two minutes) lost acknowledged
  # writes in Jepsen's analysis of NATS 2.12.1 (2025)
  sync_interval: always
}}

cluster {{
  name: {cluster_name}
  host: {host}
  port: {cluster_port}
  routes: [
{route_lines}
  ]
}}
"""
