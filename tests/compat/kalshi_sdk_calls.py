"""A list of calls through Kalshi's official Python SDKs (3.34.0, sync and async), each answer parsed by
the SDK's own strict models.

Imported by pytest, `run_calls(python, context)` runs this file inside the SDK virtualenv of
kalshi_sdk.py; run there, it makes every call of `context["calls"]` (`[method, keyword arguments]`)
with both SDKs, signed with the context's key, and prints for each the model the answer parsed into
and that model's `to_dict()`, or the exception the SDK raised (its class, status and text). The test
decides what each call must give; nothing here imports predictex.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

RUN_TIMEOUT_S = 300


def run_calls(python: Path, context: dict[str, Any]) -> dict[str, Any]:
    """Run this file in the SDK virtualenv with `context` (JSON on stdin); its JSON summary."""
    done = subprocess.run([str(python), __file__], input=json.dumps(context), capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    if done.returncode != 0:
        raise AssertionError(f"the SDK script failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def _record(result: Any) -> dict[str, Any]:
    if isinstance(result, Exception):
        return {"error": type(result).__name__, "status": getattr(result, "status", None), "text": str(result)[:2000]}
    return {"model": type(result).__name__, "value": result.to_dict()}


def _client(module: Any, context: dict[str, Any]) -> Any:
    configuration = module.Configuration(host=context["host"])
    configuration.api_key_id = context["api_key_id"]
    configuration.private_key_pem = context["private_key_pem"]
    return module.KalshiClient(configuration)


def run_sync(context: dict[str, Any]) -> list[dict[str, Any]]:
    import kalshi_python_sync as sdk

    client = _client(sdk, context)
    answers = []
    for method, arguments in context["calls"]:
        try:
            answers.append(_record(getattr(client, method)(**arguments)))
        except Exception as error:
            answers.append(_record(error))
    return answers


async def run_async(context: dict[str, Any]) -> list[dict[str, Any]]:
    import kalshi_python_async as sdk

    client = _client(sdk, context)
    answers = []
    try:
        for method, arguments in context["calls"]:
            try:
                answers.append(_record(await getattr(client, method)(**arguments)))
            except Exception as error:
                answers.append(_record(error))
    finally:
        await client.close()
    return answers


def main() -> None:
    context = json.load(sys.stdin)
    summary = {"sync": run_sync(context), "async": asyncio.run(run_async(context))}
    json.dump(summary, sys.stdout, default=str)


if __name__ == "__main__":
    main()
