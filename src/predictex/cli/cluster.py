"""`predictex cluster`: run a node of a cluster, see the cluster's state, write a NATS server's
configuration (docs/operations.md, "A cluster").

    predictex cluster node --node NAME --nats URL[,URL...] [the options of serve]
    predictex cluster status --nats URL[,URL...] [--json]
    predictex gateway --node NAME --nats URL[,URL...] [the options of serve]
    predictex cluster nats-config --name n1 --host H --routes H1:6222,H2:6222,H3:6222 --store-dir DIR

The NATS servers' addresses may come from PREDICTEX_NATS_URLS and the node's name from
PREDICTEX_NODE, so one environment file serves every node."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from predictex.cli import output as out
from predictex.cli import serve
from predictex.cli.extras import server_extra_missing

if TYPE_CHECKING:
    from predictex.server.config import Config

CLUSTER_HINT = "pip install 'predictex[cluster]'"


def register(commands: Any) -> None:
    cluster = commands.add_parser("cluster", help="run a node of a cluster, or see the cluster's state (needs the `cluster` extra)")
    actions = cluster.add_subparsers(dest="action", required=True, metavar="ACTION")

    node = actions.add_parser("node", help="run one node: a hot standby that leads when it holds the lease")
    node.add_argument("--node", default=os.environ.get("PREDICTEX_NODE", ""), help="this node's name (or PREDICTEX_NODE)")
    _nats_argument(node)
    node.add_argument("--replicas", type=out.whole_number(1, "the stream's replicas"), default=3, help="the stream's replicas (3: one server may fail)")
    node.add_argument("--lease-ttl", type=out.seconds, default=1.0, help="seconds a lease lasts without renewal (default 1.0; renewed every 0.25)")
    node.add_argument("--advertise-url", default="", help="the URL clients reach this node's exchange at (shown by status)")
    serve.add_arguments(node)
    node.set_defaults(handler=run_node)

    status = actions.add_parser("status", help="who leads, the log's tip and each NATS server's replica")
    _nats_argument(status)
    status.add_argument("--json", action="store_true", help="one JSON object")
    status.set_defaults(handler=run_status)

    gateway = commands.add_parser("gateway", help="serve REST, WebSocket and the web pages from the cluster's log; "
                                  "orders go to the leader (the `cluster` extra)")
    gateway.add_argument("--node", default=os.environ.get("PREDICTEX_NODE", ""), help="this gateway's name (or PREDICTEX_NODE)")
    _nats_argument(gateway)
    gateway.add_argument("--replicas", type=out.whole_number(1, "the stream's replicas"), default=3, help="the stream's replicas")
    serve.add_arguments(gateway)
    gateway.set_defaults(handler=run_gateway)

    config = actions.add_parser("nats-config", help="print one NATS server's configuration for a three-server cluster")
    config.add_argument("--name", required=True, help="the server's name (n1, n2, n3)")
    config.add_argument("--host", default="0.0.0.0", help="the address it listens on")
    config.add_argument("--port", type=out.whole_number(1, "a port"), default=4222, help="its client port")
    config.add_argument("--cluster-port", type=out.whole_number(1, "a port"), default=6222, help="its cluster (route) port")
    config.add_argument("--routes", required=True, help="every server's cluster address, host:port,host:port,host:port")
    config.add_argument("--store-dir", required=True, help="where JetStream keeps its files (a local disk)")
    config.set_defaults(handler=run_nats_config)


def _nats_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nats", default=os.environ.get("PREDICTEX_NATS_URLS", ""),
                        help="the NATS servers, nats://host:4222,... (or PREDICTEX_NATS_URLS)")


def _urls(text: str) -> list[str]:
    return [url.strip() for url in text.split(",") if url.strip()]


def _cluster_extra_missing(command: str) -> bool:
    if server_extra_missing(command):
        return True
    import importlib.util

    if importlib.util.find_spec("nats") is None:
        print(f"predictex {command}: the cluster's dependency (nats-py) is not installed; install it with: {CLUSTER_HINT}",
              file=sys.stderr)
        return True
    return False


def _settings(arguments: argparse.Namespace, command: str) -> tuple[list[str], Config] | None:
    """The NATS servers and the exchange's configuration a node or a gateway starts with, or None
    after saying on standard error what is missing or wrong."""
    from predictex.server.config import ConfigError
    from predictex.server.logs import configure

    urls = _urls(arguments.nats)
    if not arguments.node or not urls:
        print(f"predictex {command}: name the {command.split()[-1]} (--node) and the NATS servers (--nats)", file=sys.stderr)
        return None
    try:
        config = serve.build_config(arguments)
    except (ConfigError, ValueError) as error:
        print(f"predictex {command}: {error}", file=sys.stderr)
        return None
    configure(config.log_format)
    return urls, config


def run_node(arguments: argparse.Namespace) -> int:
    if _cluster_extra_missing("cluster node"):
        return 2
    from predictex.cluster.node import ClusterSettings, Node
    from predictex.journal import JournalError
    from predictex.server.http import use_uvloop
    from predictex.server.writer_lock import StartRefused

    prepared = _settings(arguments, "cluster node")
    if prepared is None:
        return 2
    urls, config = prepared
    settings = ClusterSettings(arguments.node, urls, replicas=arguments.replicas, lease_ttl_s=arguments.lease_ttl,
                               advertise_url=arguments.advertise_url)
    use_uvloop()
    try:
        failure = asyncio.run(Node(config, settings).run())
    except StartRefused as refused:
        print(f"predictex cluster node: {refused.message}", file=sys.stderr)
        return refused.exit_code
    except JournalError as error:
        print(f"predictex cluster node: the journal cannot be used: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    if failure:
        print(f"predictex cluster node: stopped: {failure}", file=sys.stderr)
        return 1
    return 0


def run_gateway(arguments: argparse.Namespace) -> int:
    if _cluster_extra_missing("gateway"):
        return 2
    from predictex.cluster.gateway import Gateway, GatewaySettings
    from predictex.journal import JournalError
    from predictex.server.http import use_uvloop

    prepared = _settings(arguments, "gateway")
    if prepared is None:
        return 2
    urls, config = prepared
    use_uvloop()

    async def run() -> str:
        gateway = Gateway(config, GatewaySettings(arguments.node, urls, replicas=arguments.replicas))
        try:
            await gateway.start()
        except BaseException:
            await gateway.stop()
            raise
        print(f"predictex gateway {arguments.node} is serving http://{config.host}:{gateway.port} "
              f"(the cluster's log at record {gateway.sequencer.last_seq if gateway.sequencer else 0}; orders go to the leader)",
              flush=True)
        return await gateway.run_until_signalled()

    try:
        failure = asyncio.run(run())
    except OSError as error:
        print(f"predictex gateway: cannot listen on {config.host}:{config.port}: {error.strerror or error}", file=sys.stderr)
        return 1
    except JournalError as error:
        print(f"predictex gateway: the log cannot be followed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    if failure:
        print(f"predictex gateway: stopped: {failure}", file=sys.stderr)
        return 1
    return 0


def run_status(arguments: argparse.Namespace) -> int:
    if _cluster_extra_missing("cluster status"):
        return 2
    from predictex.cluster.status import cluster_status, render

    urls = _urls(arguments.nats)
    if not urls:
        print("predictex cluster status: name the NATS servers (--nats or PREDICTEX_NATS_URLS)", file=sys.stderr)
        return 2
    try:
        found = asyncio.run(cluster_status(urls))
    except Exception as error:  # NATS unreachable, no JetStream: said in one line
        print(f"predictex cluster status: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(found, indent=2) if arguments.json else render(found))
    return 0 if found["leader"] else 3


def run_nats_config(arguments: argparse.Namespace) -> int:
    from predictex.cluster.natsconf import server_config

    routes = _urls(arguments.routes)
    print(server_config(arguments.name, arguments.host, arguments.port, arguments.cluster_port, routes, arguments.store_dir), end="")
    return 0
