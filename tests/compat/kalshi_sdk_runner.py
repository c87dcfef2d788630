"""The scaffolding the SDK flow scripts share (kalshi_sdk_trading.py, kalshi_sdk_communications.py,
kalshi_sdk_subaccounts.py, kalshi_sdk_calls.py), on both of their sides.

Pytest side: `run_script(python, script, context)` runs a flow script in an SDK virtualenv with `context`
as JSON on stdin and returns the JSON summary it prints.
Script side (inside the virtualenv, where the scripts import this file by its location): a plan is a
generator of steps `(who, SDK method, keyword arguments)`, sent back each call's answer (or the exception
the SDK raised); the method "sleep" waits `arguments["seconds"]` instead of calling the SDK.
`drive_sync`/`drive_async` step a plan with one client per member and return what the plan returns;
`main(run_sync, run_async)` reads the context from stdin and prints the summary: the SDK versions and each
SDK's result, each run with the context's own part for that SDK (`context["sync"]`, `context["async"]`)
laid over the shared part. Nothing here imports predictex.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Generator, Mapping
from pathlib import Path
from typing import Any

RUN_TIMEOUT_S = 300

Step = tuple[str, str, dict[str, Any]]  # (who, SDK method or "sleep", keyword arguments)


def run_script(python: Path, script: str | Path, context: dict[str, Any]) -> dict[str, Any]:
    """Run `script` in the SDK virtualenv with `context` (JSON on stdin); its JSON summary."""
    done = subprocess.run([str(python), str(script)], input=json.dumps(context), capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    if done.returncode != 0:
        raise AssertionError(f"the SDK script failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def client(module: Any, context: dict[str, Any], member: Mapping[str, str]) -> Any:
    """A KalshiClient of the SDK `module`, for the context's host, signed with the member's key."""
    configuration = module.Configuration(host=context["host"])
    configuration.api_key_id = member["key_id"]
    configuration.private_key_pem = member["private_key_pem"]
    return module.KalshiClient(configuration)


def drive_sync(clients: Mapping[str, Any], steps: Generator[Step, Any, Any]) -> Any:
    """Step the plan through the sync SDK's clients; what the plan returns."""
    result: Any = None
    try:
        while True:
            who, method, arguments = steps.send(result)
            if method == "sleep":
                time.sleep(arguments["seconds"])
                result = None
                continue
            try:
                result = getattr(clients[who], method)(**arguments)
            except Exception as error:
                result = error
    except StopIteration as done:
        return done.value


async def drive_async(clients: Mapping[str, Any], steps: Generator[Step, Any, Any]) -> Any:
    """Step the plan through the async SDK's clients, then close them; what the plan returns."""
    result: Any = None
    try:
        while True:
            who, method, arguments = steps.send(result)
            if method == "sleep":
                await asyncio.sleep(arguments["seconds"])
                result = None
                continue
            try:
                result = await getattr(clients[who], method)(**arguments)
            except Exception as error:
                result = error
    except StopIteration as done:
        return done.value
    finally:
        for open_client in clients.values():
            await open_client.close()


def main(run_sync: Callable[[dict[str, Any]], Any], run_async: Callable[[dict[str, Any]], Coroutine[Any, Any, Any]]) -> None:
    """Read the context from stdin, run both SDKs, print the summary as JSON."""
    context = json.load(sys.stdin)
    import kalshi_python_async
    import kalshi_python_sync

    summary = {
        "versions": {"sync": kalshi_python_sync.__version__, "async": kalshi_python_async.__version__},
        "sync": run_sync({**context, **context.get("sync", {})}),
        "async": asyncio.run(run_async({**context, **context.get("async", {})})),
    }
    json.dump(summary, sys.stdout, default=str)

