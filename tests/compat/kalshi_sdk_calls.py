"""A list of calls through Kalshi's official Python SDKs (3.34.0, sync and async), each answer parsed by
the SDK's own strict models.

Imported by pytest, `run_calls(python, context)` runs this file inside the SDK virtualenv of
kalshi_sdk.py; run there, it makes every call of `context["calls"]` (`[method, keyword arguments]`)
with both SDKs, signed with the context's key, and prints for each the model the answer parsed into
and that model's `to_dict()`, or the exception the SDK raised (its class, status and text). The test
decides what each call must give; nothing here imports predictex.
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kalshi_sdk_runner as runner
from kalshi_sdk_runner import Step


def run_calls(python: Path, context: dict[str, Any]) -> dict[str, Any]:
    """Run this file in the SDK virtualenv with `context` (JSON on stdin); its JSON summary."""
    return runner.run_script(python, __file__, context)


def run_calls_that_succeed(python: Path, context: dict[str, Any]) -> dict[str, Any]:
    """`run_calls`, failing the test if either SDK raised for any call (naming the calls and errors)."""
    summary = run_calls(python, context)
    for flavour in ("sync", "async"):
        failed = [(context["calls"][i][0], answer) for i, answer in enumerate(summary[flavour]) if "error" in answer]
        assert failed == [], f"{flavour} SDK calls failed: {failed}"
    return summary


def _record(result: Any) -> dict[str, Any]:
    if isinstance(result, Exception):
        return {"error": type(result).__name__, "status": getattr(result, "status", None), "text": str(result)[:2000]}
    return {"model": type(result).__name__, "value": result.to_dict()}


def plan(context: dict[str, Any]) -> Generator[Step, Any, list[dict[str, Any]]]:
    """Every call of the context, in order, by its one member; each answer recorded."""
    answers = []
    for method, arguments in context["calls"]:
        result = yield ("member", method, arguments)
        try:
            answers.append(_record(result))
        except Exception as error:  # an answer that cannot be recorded is recorded as the error it raised
            answers.append(_record(error))
    return answers


def _member(context: dict[str, Any]) -> dict[str, str]:
    return {"key_id": context["api_key_id"], "private_key_pem": context["private_key_pem"]}


def run_sync(context: dict[str, Any]) -> list[dict[str, Any]]:
    import kalshi_python_sync as sdk

    answers: list[dict[str, Any]] = runner.drive_sync({"member": runner.client(sdk, context, _member(context))}, plan(context))
    return answers


async def run_async(context: dict[str, Any]) -> list[dict[str, Any]]:
    import kalshi_python_async as sdk

    answers: list[dict[str, Any]] = await runner.drive_async({"member": runner.client(sdk, context, _member(context))}, plan(context))
    return answers


if __name__ == "__main__":
    runner.main(run_sync, run_async)
