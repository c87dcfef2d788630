"""Kalshi's official Python SDKs trading against a running predictex exchange, unchanged.

Two SDK generations are needed, because the legacy order endpoints and the current ones never sat
in one SDK release that is still current:
- `kalshi-python-sync`/`-async` **3.34.0** (the current SDK, in the virtualenv of kalshi_sdk.py) has
  only the V2 order mutations (`POST /portfolio/events/orders`, amend, decrease, cancel, batches,
  cancel-all);
- **3.21.0** is the last release with the legacy ones (`POST /portfolio/orders`, `.../amend`,
  `.../decrease`, `DELETE /portfolio/orders/{id}`, `/portfolio/orders/batched`); it gets a
  virtualenv of its own beside the 3.34.0 one (kalshi-sdk-3.21.0 in the same cache directory).

This file has two roles, as kalshi_sdk.py does: imported by pytest it provides `legacy_sdk_python()`
and `run_trading(...)`; run inside a virtualenv it drives both SDKs (sync, then async) through one
plan of calls for two members, A and B, in one market, phase by phase ("trade", then "settled" after
the operator settles the market), and prints, for every call, the SDK model it parsed into and that
model's `to_dict()`. Nothing here imports predictex.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kalshi_sdk_runner as runner

LEGACY_SDK_VERSION = "3.21.0"  # the last kalshi-python-sync/-async with POST /portfolio/orders


# --- the virtualenvs (pytest side) -------------------------------------------------------------------

def legacy_sdk_python() -> Path:
    """A Python 3.13 virtualenv with both SDKs at 3.21.0 (made on first use, then reused)."""
    from kalshi_sdk import INSTALL_TIMEOUT_S, SdkUnavailable, find_python313, venv_dir

    directory = venv_dir().with_name(f"kalshi-sdk-{LEGACY_SDK_VERSION}")
    python = directory / "bin" / "python"
    if python.exists() and _has_version(python, LEGACY_SDK_VERSION):
        return python
    base = find_python313()
    if base is None:
        raise SdkUnavailable(f"no Python 3.13 found for the Kalshi SDK {LEGACY_SDK_VERSION} compat test")
    packages = [f"kalshi-python-sync=={LEGACY_SDK_VERSION}", f"kalshi-python-async=={LEGACY_SDK_VERSION}"]
    for step in ([base, "-m", "venv", "--clear", str(directory)], [str(python), "-m", "pip", "install", "-q", *packages]):
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SdkUnavailable(f"could not run {' '.join(step)}: {error}") from error
        if done.returncode != 0:
            raise SdkUnavailable(f"{' '.join(step)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    if not _has_version(python, LEGACY_SDK_VERSION):
        raise SdkUnavailable(f"the {LEGACY_SDK_VERSION} SDKs are not importable in {directory}")
    return python


def _has_version(python: Path, version: str) -> bool:
    probe = "import kalshi_python_sync as s, kalshi_python_async as a; print(s.__version__, a.__version__)"
    try:
        found = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return found.returncode == 0 and found.stdout.split() == [version, version]


def run_trading(python: Path, context: dict[str, Any]) -> dict[str, Any]:
    """Run this file in an SDK virtualenv with `context` (JSON on stdin); its JSON summary."""
    return runner.run_script(python, __file__, context)


# --- the plan (script side) ----------------------------------------------------------------------------

Step = runner.Step  # (who: "a" or "b", SDK method, keyword arguments)
Plan = Generator[Step, Any, None]


class Recorder:
    """What each call parsed into: {"model", "data"} (the model's to_dict()) or {"error", "status"}."""

    def __init__(self) -> None:
        self.calls: dict[str, Any] = {}

    def keep(self, name: str, result: Any) -> Any:
        if isinstance(result, Exception):
            self.calls[name] = {"error": f"{type(result).__name__}: {str(result)[:1500]}", "status": getattr(result, "status", None)}
        elif result is None or isinstance(result, dict):  # 204, or an endpoint the SDK types as a plain object
            self.calls[name] = {"model": None if result is None else "dict", "data": result}
        else:
            self.calls[name] = {"model": type(result).__name__, "data": result.to_dict()}
        return result


def _ok(result: Any) -> bool:
    return result is not None and not isinstance(result, Exception)


def plan_trade(context: dict[str, Any], out: Recorder) -> Plan:
    """A rests a bid of 10 at $0.40; B sells 4 into it; A amends it to $0.42 and decreases it by 2;
    an order group (limit 3) holds A's offer of 5 at $0.70, which B lifts: 3 fill and the group is
    triggered; a batch of two (one bad) and a batch cancel; A cancels its bid; reads of everything."""
    legacy = context["mode"] == "legacy"
    ticker = context["ticker"]
    out.keep("balance_before", (yield ("a", "get_balance", {})))
    if legacy:
        first = yield ("a", "create_order", {"ticker": ticker, "side": "yes", "action": "buy", "count": 10, "yes_price": 40,
                                             "client_order_id": context["client_order_id"]})
        order_id = first.order.order_id if _ok(first) else ""
        crossing = yield ("b", "create_order", {"ticker": ticker, "side": "no", "action": "buy", "count": 4, "no_price": 60})
    else:
        first = yield ("a", "create_order_v2", {"ticker": ticker, "side": "bid", "count": "10.00", "price": "0.4000",
                                                "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross",
                                                "client_order_id": context["client_order_id"]})
        order_id = first.order_id if _ok(first) else ""
        crossing = yield ("b", "create_order_v2", {"ticker": ticker, "side": "ask", "count": "4.00", "price": "0.4000",
                                                   "time_in_force": "immediate_or_cancel", "self_trade_prevention_type": "maker"})
    out.keep("create_resting", first)
    out.keep("create_crossing", crossing)
    renamed = context["client_order_id"] + "-2"
    if legacy:
        out.keep("amend", (yield ("a", "amend_order", {"order_id": order_id, "ticker": ticker, "side": "yes", "action": "buy",
                                                       "yes_price": 42, "count": 10, "client_order_id": context["client_order_id"],
                                                       "updated_client_order_id": renamed})))
        out.keep("decrease", (yield ("a", "decrease_order", {"order_id": order_id, "reduce_by": 2})))
    else:
        out.keep("amend", (yield ("a", "amend_order_v2", {"order_id": order_id, "ticker": ticker, "side": "bid", "price": "0.4200",
                                                          "count": "10.00", "client_order_id": context["client_order_id"],
                                                          "updated_client_order_id": renamed})))
        out.keep("decrease", (yield ("a", "decrease_order_v2", {"order_id": order_id, "reduce_by": "2.00"})))
    out.keep("queue_position", (yield ("a", "get_order_queue_position", {"order_id": order_id})))
    out.keep("queue_positions", (yield ("a", "get_order_queue_positions", {"market_tickers": ticker})))
    yield from _plan_group(context, out, legacy, ticker)
    yield from _plan_batches(context, out, legacy, ticker)
    if legacy:
        out.keep("cancel", (yield ("a", "cancel_order", {"order_id": order_id})))
    else:
        out.keep("cancel", (yield ("a", "cancel_order_v2", {"order_id": order_id})))
    yield from _plan_reads(context, out, ticker, order_id)


def _plan_group(context: dict[str, Any], out: Recorder, legacy: bool, ticker: str) -> Plan:
    group = out.keep("group_create", (yield ("a", "create_order_group", {"contracts_limit": 3})))
    group_id = group.order_group_id if _ok(group) else ""
    if legacy:
        offer = yield ("a", "create_order", {"ticker": ticker, "side": "yes", "action": "sell", "count": 5, "yes_price": 70,
                                             "order_group_id": group_id})
        lift = yield ("b", "create_order", {"ticker": ticker, "side": "no", "action": "sell", "count": 5, "no_price": 30})
    else:
        offer = yield ("a", "create_order_v2", {"ticker": ticker, "side": "ask", "count": "5.00", "price": "0.7000",
                                                "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross",
                                                "order_group_id": group_id})
        lift = yield ("b", "create_order_v2", {"ticker": ticker, "side": "bid", "count": "5.00", "price": "0.7000",
                                               "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross"})
    out.keep("group_order", offer)
    out.keep("group_lift", lift)
    out.keep("group_get", (yield ("a", "get_order_group", {"order_group_id": group_id})))
    out.keep("group_list", (yield ("a", "get_order_groups", {})))
    out.keep("group_limit", (yield ("a", "update_order_group_limit", {"order_group_id": group_id, "contracts_limit": 10})))
    out.keep("group_reset", (yield ("a", "reset_order_group", {"order_group_id": group_id})))
    out.keep("group_trigger", (yield ("a", "trigger_order_group", {"order_group_id": group_id})))
    out.keep("group_delete", (yield ("a", "delete_order_group", {"order_group_id": group_id})))
    # B's bid has 2 left resting at $0.70: B takes it off
    if legacy:
        lift_id = lift.order.order_id if _ok(lift) else ""
        out.keep("b_cancel", (yield ("b", "cancel_order", {"order_id": lift_id})))
    else:
        out.keep("b_cancel", (yield ("b", "cancel_all_orders", {})))


def _plan_batches(context: dict[str, Any], out: Recorder, legacy: bool, ticker: str) -> Plan:
    if legacy:
        batch = yield ("a", "batch_create_orders", {"orders": [
            {"ticker": ticker, "side": "yes", "action": "sell", "count": 2, "yes_price": 90, "client_order_id": "batch-ok"},
            {"ticker": ticker, "side": "yes", "action": "sell", "count": 2, "yes_price_dollars": "1.5000", "client_order_id": "batch-bad"},
        ]})
        ids = [item.order.order_id for item in batch.orders if item.order is not None] if _ok(batch) else []
        cancelled = yield ("a", "batch_cancel_orders", {"ids": ids})
    else:
        item = {"ticker": ticker, "side": "ask", "count": "2.00", "time_in_force": "good_till_canceled",
                "self_trade_prevention_type": "taker_at_cross"}
        batch = yield ("a", "batch_create_orders_v2", {"orders": [
            {**item, "price": "0.9000", "client_order_id": "batch-ok"}, {**item, "price": "1.5000", "client_order_id": "batch-bad"}]})
        ids = [entry.order_id for entry in batch.orders if entry.order_id] if _ok(batch) else []
        cancelled = yield ("a", "batch_cancel_orders_v2", {"orders": [{"order_id": i} for i in ids]})
    out.keep("batch_create", batch)
    out.keep("batch_cancel", cancelled)


def _plan_reads(context: dict[str, Any], out: Recorder, ticker: str, order_id: str) -> Plan:
    out.keep("get_order", (yield ("a", "get_order", {"order_id": order_id})))
    out.keep("orders", (yield ("a", "get_orders", {"ticker": ticker})))
    out.keep("orders_canceled", (yield ("a", "get_orders", {"ticker": ticker, "status": "canceled", "limit": 1})))
    for who in ("a", "b"):
        out.keep(f"fills_{who}", (yield (who, "get_fills", {"ticker": ticker})))
        out.keep(f"positions_{who}", (yield (who, "get_positions", {"ticker": ticker})))
        out.keep(f"balance_{who}", (yield (who, "get_balance", {})))


def plan_settled(context: dict[str, Any], out: Recorder) -> Plan:
    for who in ("a", "b"):
        out.keep(f"settlements_{who}", (yield (who, "get_settlements", {"ticker": context["ticker"]})))
        if context["mode"] == "v2":  # 3.21.0's get_positions has no settlement_status
            settled = yield (who, "get_positions", {"ticker": context["ticker"], "settlement_status": "settled"})
            out.keep(f"settled_positions_{who}", settled)
        out.keep(f"unsettled_positions_{who}", (yield (who, "get_positions", {"ticker": context["ticker"]})))
        out.keep(f"balance_{who}", (yield (who, "get_balance", {})))


PHASES = {"trade": plan_trade, "settled": plan_settled}


# --- drivers (script side) -------------------------------------------------------------------------------

def run_sync(context: dict[str, Any]) -> dict[str, Any]:
    import kalshi_python_sync as sdk

    out = Recorder()
    runner.drive_sync({who: runner.client(sdk, context, context["members"][who]) for who in ("a", "b")},
                      PHASES[context["phase"]](context, out))
    return out.calls


async def run_async(context: dict[str, Any]) -> dict[str, Any]:
    import kalshi_python_async as sdk

    out = Recorder()
    await runner.drive_async({who: runner.client(sdk, context, context["members"][who]) for who in ("a", "b")},
                             PHASES[context["phase"]](context, out))
    return out.calls


def main() -> None:
    runner.main(run_sync, run_async)


if __name__ == "__main__":
    main()
