"""Every operation of Kalshi's official Python SDK 3.34.0 is routed by predictex.

The operations are read from the installed SDK itself (each `_<operation>_serialize` function names its
HTTP method and resource path), not from a list kept here, so a new SDK operation shows up on its own.
Each is sent, signed by a funded member, with placeholder path parameters and an empty JSON body where
it takes one: whatever the answer (a resource 404, a 400 for the empty body), it must come from the
operation's own handler, never the router's `404 no such endpoint` or `405`, and never a 500. A path
without parameters must never answer 404 at all: that is the mark of a literal path caught by a
parameter route (`/events/multivariate` read as the event "multivariate").

NOT_YET_SERVED is the list of operations predictex does not serve yet; the test also fails when one of
them is served, so the list can only shrink, and it says which.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kalshi_sdk import sdk_or_fail, sdk_python

from integration.server_fixture import V2, RunningServer, running_server
from integration.trading_helpers import Trader, new_trader

NOT_YET_SERVED: frozenset[str] = frozenset({
    # market and event data
})

_SERIALIZE = re.compile(r"def _(\w+)_serialize\(.*?method='(\w+)',\s*resource_path='([^']+)'", re.S)


def sdk_operations() -> dict[str, tuple[str, str]]:
    """{operation: (HTTP method, path under /trade-api/v2)} from the installed sync SDK's sources."""
    python = sdk_or_fail(sdk_python)
    [api] = python.parent.parent.glob("lib/python3*/site-packages/kalshi_python_sync/api")
    operations: dict[str, tuple[str, str]] = {}
    for module in sorted(api.glob("*_api.py")):
        for name, method, path in _SERIALIZE.findall(module.read_text()):
            operations[name] = (method, path)
    return operations


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("sdk-operations"), environment="prod", rate_limits=False) as running:
        yield running


@pytest.fixture(scope="module")
def member(server: RunningServer) -> Trader:
    return new_trader(server, "every-operation", 10_000)


def _answer(server: RunningServer, member: Trader, method: str, path: str) -> tuple[int, str, str]:
    concrete = re.sub(r"\{[^}]+\}", "PREDICTEXPLACEHOLDER", path)
    body = {} if method in ("POST", "PUT") else None
    reply = server.request(method, V2 + concrete, body, auth=member.auth)
    try:
        error = reply.json().get("error") or {}
    except ValueError:
        error = {}
    return reply.status, str(error.get("code", "")), str(error.get("message", ""))


def unrouted(status: int, code: str, message: str, path: str) -> bool:
    if status == 405 or message.startswith("no such endpoint"):
        return True
    return status == 404 and "{" not in path  # a literal path has nothing that could be missing


def test_the_sdk_has_the_operations_the_coverage_counts() -> None:
    operations = sdk_operations()
    assert len(operations) == 118
    assert operations.keys() >= NOT_YET_SERVED, sorted(NOT_YET_SERVED - operations.keys())


def test_every_sdk_operation_reaches_its_handler(server: RunningServer, member: Trader) -> None:
    missing, now_served, failed = [], [], []
    for name, (method, path) in sorted(sdk_operations().items()):
        status, code, message = _answer(server, member, method, path)
        if status >= 500:
            failed.append(f"{name}: {method} {path} -> {status} {code} {message}")
        elif unrouted(status, code, message, path) and name not in NOT_YET_SERVED:
            missing.append(f"{name}: {method} {path} -> {status} {code} {message}")
        elif not unrouted(status, code, message, path) and name in NOT_YET_SERVED:
            now_served.append(name)
    assert failed == [], "server errors:\n" + "\n".join(failed)
    assert missing == [], "operations not routed:\n" + "\n".join(missing)
    assert now_served == [], f"served now, take them off NOT_YET_SERVED: {now_served}"
