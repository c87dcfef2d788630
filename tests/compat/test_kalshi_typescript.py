"""Kalshi's official TypeScript SDK (`kalshi-typescript` from npm, unchanged) against a running predictex:
a core trading session between two members (kalshi_ts_flow.js), every number checked to the cent, and
a sample of the catalog (events, series, event metadata, series fee changes, multivariate collections,
the historical tier) as the operator published it.

The SDK is installed with npm into ~/.cache/predictex/kalshi-typescript-<version> (or
$PREDICTEX_KALSHI_TS_DIR) on first use. A compat test that cannot install the SDK has not passed: it
fails, naming what is missing.

  deposits $100.00 each, series fee type quadratic (makers pay nothing)
  A bids 10 @ $0.40 (resting, maker); B sells 4 into it IOC (taker): B opens 4 NO at $0.60 = $2.40,
    fee 0.07 x 4 x 0.4 x 0.6 = $0.0672 -> $0.07 charged: B $100 - 2.47 = $97.53
  A decreases by 2 (4 left), then cancels: A paid $1.60 for 4 YES: $98.40
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from integration.server_fixture import V2, RunningServer, iso_timestamp, running_server
from integration.trading_helpers import Trader, make_markets, new_trader, settle

TS_SDK_VERSION = "3.30.0"
FLOW = Path(__file__).resolve().parent / "kalshi_ts_flow.js"
INSTALL_TIMEOUT_S = 600
RUN_TIMEOUT_S = 180
FEE_CHANGE_AT = "2099-01-01T00:00:00Z"


def sdk_dir() -> Path:
    configured = os.environ.get("PREDICTEX_KALSHI_TS_DIR")
    if configured:
        return Path(configured).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "predictex" / f"kalshi-typescript-{TS_SDK_VERSION}"


def installed_sdk() -> Path:
    """node_modules holding kalshi-typescript at the pinned version, installed with npm if missing."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.fail(f"the TypeScript SDK compat test needs `{tool}` (apt-get install nodejs npm)", pytrace=False)
    directory = sdk_dir()
    modules = directory / "node_modules"
    manifest = modules / "kalshi-typescript" / "package.json"
    if manifest.is_file() and json.loads(manifest.read_text())["version"] == TS_SDK_VERSION:
        return modules
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "package.json").write_text(json.dumps({"name": "predictex-compat", "private": True}))
    try:
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", f"kalshi-typescript@{TS_SDK_VERSION}"],
                       cwd=directory, check=True, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        output = getattr(error, "stderr", "") or ""
        pytest.fail(f"npm could not install kalshi-typescript@{TS_SDK_VERSION}: {error}\n{output}", pytrace=False)
    return modules


def _pem(trader: Trader) -> str:
    return trader.member.credentials.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("ts-sdk"), environment="prod") as running:
        yield running


@pytest.fixture(scope="module")
def session(server: RunningServer) -> dict[str, Any]:
    modules = installed_sdk()
    [ticker] = make_markets(server, prefix="KXTS")
    a, b = (new_trader(server, f"ts-{who}", 10_000, key_type="rsa") for who in ("a", "b"))
    event = ticker.rsplit("-", 1)[0]
    series = event.rsplit("-", 1)[0]
    [old_ticker] = make_markets(server, prefix="KXTSOLD")
    publish_catalog(server, series, event, ticker, old_ticker)
    context = {
        "base_path": server.base_url + V2, "ticker": ticker, "event": event, "series": series,
        "collection": f"{series}MVE", "old_ticker": old_ticker, "old_series": old_ticker.rsplit("-", 2)[0],
        "client_order_id": "ts-first-bid", "client_transfer_id": str(uuid.uuid4()),
        "a": {"key_id": a.member.credentials.key_id, "private_key_pem": _pem(a)},
        "b": {"key_id": b.member.credentials.key_id, "private_key_pem": _pem(b)},
    }
    run = subprocess.run(["node", str(FLOW)], input=json.dumps(context), capture_output=True, text=True,
                         timeout=RUN_TIMEOUT_S, env={**os.environ, "NODE_PATH": str(modules)})
    assert run.returncode == 0, f"the TypeScript SDK's run failed:\n{run.stderr}"
    results: dict[str, Any] = json.loads(run.stdout)
    if os.environ.get("PREDICTEX_TS_DUMP"):
        Path(os.environ["PREDICTEX_TS_DUMP"]).write_text(json.dumps(results, indent=1))
    return {"results": results, "context": context, "a": a, "b": b}


def publish_catalog(server: RunningServer, series: str, event: str, ticker: str, old_ticker: str) -> None:
    """What the operator publishes and schedules for the catalog calls: the event's metadata, a series fee
    change for 2099, a multivariate collection over the event, and the archive cutoff moved past a
    market settled NO (which leaves the live listings for the historical tier)."""
    server.admin("PUT", f"/content/event_metadata/{event}", {
        "image_url": "https://img.example/ts.png", "competition": "Testing",
        "market_details": [{"market_ticker": ticker, "image_url": "https://img.example/m.png", "color_code": "#00ff00"}],
    }, expect=200)
    server.admin("POST", "/fee_changes", {"series_ticker": series, "fee_type": "quadratic_with_maker_fees", "fee_multiplier": "0.5",
                                          "scheduled_ts": FEE_CHANGE_AT}, expect=201)
    now_s = int(time.time())
    server.admin("PUT", f"/content/mve_collection/{series}MVE", {
        "series_ticker": series, "title": "TS parlay", "description": "one event", "open_date": now_s - 60,
        "close_date": now_s + 86_400, "is_ordered": False, "is_single_market_per_event": True, "is_all_yes": False,
        "size_min": 1, "size_max": 1, "functional_description": "the leg must win",
        "associated_events": [{"ticker": event, "is_yes_only": False, "active_quoters": []}],
    }, expect=200)
    settle(server, old_ticker, "no")
    cutoff = iso_timestamp()
    server.admin("PUT", "/historical/cutoff", {"market_settled_ts": cutoff, "trades_created_ts": cutoff, "orders_updated_ts": cutoff},
                 expect=200)


def value(session: dict[str, Any], name: str) -> Any:
    answer = session["results"][name]
    assert "error" not in answer, f"{name}: the SDK raised {answer['error']}"
    return answer["value"]


def test_market_data_reads_through_the_typescript_sdk(session: dict[str, Any]) -> None:
    context = session["context"]
    status = value(session, "exchange_status")
    assert status["exchange_active"] is True and status["trading_active"] is True
    assert value(session, "exchange_schedule") == ["standard_hours", "maintenance_windows"]
    assert value(session, "series") == context["series"]
    assert value(session, "event") == [context["event"], [context["ticker"]]]
    assert value(session, "markets") == [[context["ticker"], "active"]]
    assert value(session, "market") == [context["ticker"], "active"]
    assert value(session, "book_before") == [["0.4000", "10.00"]]


def test_orders_fills_and_balances_to_the_cent(session: dict[str, Any]) -> None:
    placed = value(session, "a_bid")
    assert placed["client_order_id"] == "ts-first-bid"
    taken = value(session, "b_sell")
    assert (taken["fill_count"], taken["remaining_count"], taken["average_fill_price"]) == ("4.00", "0.00", "0.4000")
    assert taken["average_fee_paid"] == "0.0175"  # $0.07 over 4 contracts
    order = value(session, "a_order")
    assert (order["fill_count_fp"], order["remaining_count_fp"], order["status"]) == ("4.00", "6.00", "resting")
    assert value(session, "a_decrease")["remaining_count"] == "4.00"
    assert value(session, "a_queue") == "0.00"
    assert value(session, "a_orders_resting") == [[placed["order_id"], "4.00"]]
    assert value(session, "a_cancel")["reduced_by"] == "4.00"
    a_balance, b_balance = value(session, "a_balance"), value(session, "b_balance")
    assert (a_balance["balance"], a_balance["portfolio_value"], a_balance["balance_dollars"]) == (9_840, 160, "98.4000")
    assert (b_balance["balance"], b_balance["portfolio_value"], b_balance["balance_dollars"]) == (9_753, 240, "97.5300")
    assert value(session, "a_positions") == [[session["context"]["ticker"], "4.00", "1.6000"]]
    assert value(session, "b_positions") == [[session["context"]["ticker"], "-4.00", "2.4000"]]
    assert value(session, "a_fills") == [[placed["order_id"], "4.00", "0.4000", False]]
    assert value(session, "b_fills") == [["4.00", "0.6000", True, "0.0700"]]
    assert value(session, "trades") == [["4.00", "0.4000", "no"]]
    assert value(session, "candles")[-1] == ["4.00", "0.4000"]


def test_keys_account_and_order_groups(session: dict[str, Any]) -> None:
    assert session["a"].member.credentials.key_id in value(session, "api_keys")
    assert value(session, "account_limits")["grants"]
    assert "default_cost" in value(session, "endpoint_costs")
    group = value(session, "group_create")
    fetched = value(session, "group_get")
    assert (fetched["id"], fetched["contracts_limit_fp"], fetched["triggered"], fetched["orders"]) == (group, "5.00", False, [])
    assert value(session, "group_delete") == {}


def test_subaccounts_through_the_typescript_sdk(session: dict[str, Any]) -> None:
    """A opens subaccount 1 and moves $10.00 of its $98.40 into it."""
    assert value(session, "sub_create") == 1
    assert value(session, "sub_transfer") == {}
    assert value(session, "sub_balances") == [[0, "88.4000"], [1, "10.0000"]]
    assert value(session, "sub_balance") == 1000
    assert value(session, "sub_transfers") == [[0, 1, 1000]]


def test_the_catalog_through_the_typescript_sdk(session: dict[str, Any]) -> None:
    """Events, series, event metadata, a scheduled series fee change, a multivariate collection and the
    historical tier, as the operator published them, read through the TypeScript SDK's own calls."""
    context = session["context"]
    assert value(session, "events") == [context["event"]]
    assert value(session, "event_metadata") == ["https://img.example/ts.png", "Testing", [[context["ticker"], "#00ff00"]]]
    assert {context["series"], context["old_series"]} <= set(value(session, "series_list"))
    assert value(session, "series_fee_changes") == [[context["series"], "quadratic_with_maker_fees", 0.5, FEE_CHANGE_AT]]
    assert value(session, "collections") == [[context["collection"], [context["event"]], 1, 1]]
    assert value(session, "collection") == [context["collection"], "TS parlay"]
    assert value(session, "historical_cutoff").endswith("Z")
    assert value(session, "historical_markets") == [[context["old_ticker"], "finalized", "no"]]
    assert value(session, "historical_market") == [context["old_ticker"], "no"]
    assert value(session, "live_markets_of_archived") == []  # archived: gone from the live listings


def test_errors_reach_the_typescript_sdk_as_kalshi_sends_them(session: dict[str, Any]) -> None:
    error = session["results"]["wrong_market"]["error"]
    assert error["status"] == 404
    assert error["body"]["error"]["code"] == "market_not_found"
