"""Kalshi's official Python SDKs (`kalshi-python-sync` and `kalshi-python-async` 3.34.0, unchanged)
against a running predictex exchange.

This file has two roles:

- imported by pytest (any Python): `sdk_python()` finds or makes a Python 3.13 virtualenv with both
  SDKs in a cache directory (~/.cache/predictex/kalshi-sdk-3.34.0, or $PREDICTEX_KALSHI_SDK_VENV), and
  `run_sdks(...)` runs this same file inside it and returns the JSON summary it prints;
- run as a script inside that virtualenv: it drives both SDKs through one plan of calls (exchange,
  series, events, markets with a cursor loop, order books, trades, candlesticks, API keys) and prints,
  for every call, the SDK model it parsed into and the values read from that model.

The plan is a generator shared by the two SDKs: it yields (method, arguments[, credentials]) and is
sent back the parsed result, or the exception the SDK raised, so a failure is reported per call rather
than ending the run. Nothing here imports predictex: the virtualenv holds only the SDKs.
"""

from __future__ import annotations

import asyncio
import enum
import glob
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

SDK_VERSION = "3.34.0"
SDK_PACKAGES = (f"kalshi-python-sync=={SDK_VERSION}", f"kalshi-python-async=={SDK_VERSION}")
PYTHON_VERSION = "3.13"
INSTALL_TIMEOUT_S = 600
RUN_TIMEOUT_S = 300


# --- the virtualenv (pytest side) -----------------------------------------------------------------------

class SdkUnavailable(Exception):
    """No Python 3.13, or the SDKs could not be installed: the compat tests fail with this message."""


def venv_dir() -> Path:
    configured = os.environ.get("PREDICTEX_KALSHI_SDK_VENV")
    if configured:
        return Path(configured).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "predictex" / f"kalshi-sdk-{SDK_VERSION}"


def find_python313() -> str | None:
    """A Python 3.13 interpreter: $PREDICTEX_PYTHON313, python3.13 on PATH (a pyenv shim counts only
    if it runs), then pyenv's and the usual install locations."""
    candidates = [os.environ.get("PREDICTEX_PYTHON313", ""), shutil.which("python3.13") or ""]
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/3.13*/bin/python3.13"), reverse=True)
    candidates += ["/usr/local/bin/python3.13", "/usr/bin/python3.13", "/opt/python/3.13/bin/python3.13"]
    for candidate in filter(None, candidates):
        if _is_python313(candidate):
            return candidate
    return None


def _is_python313(executable: str) -> bool:
    try:
        found = subprocess.run([executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return found.returncode == 0 and found.stdout.strip() == PYTHON_VERSION


def _has_sdks(python: Path) -> bool:
    probe = "import kalshi_python_sync as s, kalshi_python_async as a; print(s.__version__, a.__version__)"
    try:
        found = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return found.returncode == 0 and found.stdout.split() == [SDK_VERSION, SDK_VERSION]


def sdk_python() -> Path:
    """The virtualenv's interpreter, with both SDKs installed (made on first use, then reused)."""
    directory = venv_dir()
    python = directory / "bin" / "python"
    if python.exists() and _has_sdks(python):
        return python
    base = find_python313()
    if base is None:
        raise SdkUnavailable("no Python 3.13 found (tried $PREDICTEX_PYTHON313, python3.13 on PATH, ~/.pyenv/versions/3.13*): "
                             "the official Kalshi SDK 3.34.0 compat test needs one")
    steps = [[base, "-m", "venv", "--clear", str(directory)], [str(python), "-m", "pip", "install", "-q", *SDK_PACKAGES]]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SdkUnavailable(f"could not run {' '.join(step)}: {error}") from error
        if done.returncode != 0:
            raise SdkUnavailable(f"{' '.join(step)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    if not _has_sdks(python):
        raise SdkUnavailable(f"the SDKs are not importable in {directory} after installing them")
    return python


def sdk_or_fail(make: Callable[[], Path]) -> Path:
    """`make()` (sdk_python, or kalshi_sdk_trading's legacy_sdk_python): its virtualenv's interpreter, or the
    test fails naming why, since a compat test that cannot run has not passed."""
    import pytest  # pytest side only: the SDK virtualenv has no pytest

    try:
        return make()
    except SdkUnavailable as error:
        pytest.fail(f"the official Kalshi SDK could not be set up: {error}", pytrace=False)


def private_key_pem(member: Any) -> str:
    """A predictex member's private key as the SDK's configuration takes it: PKCS8 PEM (pytest side)."""
    from cryptography.hazmat.primitives import serialization

    return str(member.credentials.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode())


def run_sdks(python: Path, context: dict[str, Any]) -> dict[str, Any]:
    """Run this file in the SDK virtualenv with `context` (JSON on stdin); its JSON summary."""
    done = subprocess.run([str(python), __file__], input=json.dumps(context), capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)
    if done.returncode != 0:
        raise AssertionError(f"the SDK script failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


# --- the plan (script side) ------------------------------------------------------------------------------

Step = tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], dict[str, str]]
Plan = Generator[Step, Any, dict[str, Any]]


def plain(value: Any) -> Any:
    """JSON-friendly: enums by value, datetimes as ISO strings, lists element by element."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def model(result: Any, /, **values: Any) -> dict[str, Any]:
    """What a call parsed into: the model's class and module, and the values the plan read from it."""
    if isinstance(result, Exception):
        return {"error": f"{type(result).__name__}: {str(result)[:1500]}", "status": getattr(result, "status", None)}
    kind = type(result)
    return {"model": kind.__name__, "module": kind.__module__, **{k: plain(v) for k, v in values.items()}}


def _failed(result: Any) -> bool:
    return isinstance(result, Exception)


def _market_values(m: Any) -> dict[str, Any]:
    return {
        "ticker": m.ticker, "status": m.status, "yes_bid_dollars": m.yes_bid_dollars, "yes_ask_dollars": m.yes_ask_dollars,
        "no_bid_dollars": m.no_bid_dollars, "no_ask_dollars": m.no_ask_dollars, "last_price_dollars": m.last_price_dollars,
        "volume_fp": m.volume_fp, "open_interest_fp": m.open_interest_fp, "close_time": m.close_time,
        "price_level_structure": m.price_level_structure, "result": m.result, "market_type": m.market_type,
    }


def _candle_values(candles: list[Any]) -> list[dict[str, Any]]:
    return [{
        "end_period_ts": c.end_period_ts, "volume_fp": c.volume_fp, "open_interest_fp": c.open_interest_fp,
        "price_close_dollars": c.price.close_dollars, "price_open_dollars": c.price.open_dollars,
        "yes_bid_close_dollars": c.yes_bid.close_dollars, "yes_ask_close_dollars": c.yes_ask.close_dollars,
    } for c in candles]


def plan(context: dict[str, Any]) -> Plan:
    out: dict[str, Any] = {}
    yield from _plan_exchange_and_series(context, out)
    yield from _plan_events(context, out)
    yield from _plan_markets(context, out)
    yield from _plan_trades_and_candles(context, out)
    yield from _plan_keys(context, out)
    return out


def _plan_exchange_and_series(context: dict[str, Any], out: dict[str, Any]) -> Generator[Step, Any, None]:
    status = yield ("get_exchange_status", {})
    out["exchange_status"] = model(status) if _failed(status) else model(
        status, exchange_active=status.exchange_active, trading_active=status.trading_active)
    schedule = yield ("get_exchange_schedule", {})
    out["exchange_schedule"] = model(schedule) if _failed(schedule) else model(
        schedule, weeks=len(schedule.schedule.standard_hours),
        monday=[(s.open_time, s.close_time) for s in schedule.schedule.standard_hours[0].monday],
        maintenance_windows=len(schedule.schedule.maintenance_windows))
    series_list = yield ("get_series_list", {})
    out["series_list"] = model(series_list) if _failed(series_list) else model(
        series_list, tickers=[s.ticker for s in series_list.series], fee_types={s.ticker: plain(s.fee_type) for s in series_list.series})
    series = yield ("get_series", {"series_ticker": context["series_ticker"]})
    out["series"] = model(series) if _failed(series) else model(
        series, ticker=series.series.ticker, title=series.series.title, category=series.series.category,
        frequency=series.series.frequency, fee_multiplier=series.series.fee_multiplier)


def _plan_events(context: dict[str, Any], out: dict[str, Any]) -> Generator[Step, Any, None]:
    pages: list[Any] = []
    tickers: list[str] = []
    nested: dict[str, list[str]] = {}
    cursor = ""
    while len(pages) < 50:
        page = yield ("get_events", {"limit": context["events_page_size"], "with_nested_markets": True, **({"cursor": cursor} if cursor else {})})
        pages.append(model(page) if _failed(page) else model(page, count=len(page.events), cursor=page.cursor))
        if _failed(page):
            break
        for e in page.events:
            tickers.append(e.event_ticker)
            nested[e.event_ticker] = [m.ticker for m in e.markets or []]
        cursor = page.cursor
        if not cursor:
            break
    out["events"] = {"pages": pages, "tickers": tickers, "nested": nested}
    event = yield ("get_event", {"event_ticker": context["event_ticker"], "with_nested_markets": True})
    out["event"] = model(event) if _failed(event) else model(
        event, event_ticker=event.event.event_ticker, series_ticker=event.event.series_ticker, title=event.event.title,
        nested=[m.ticker for m in event.event.markets or []], markets=[m.ticker for m in event.markets],
        market_model=type(event.event.markets[0]).__name__ if event.event.markets else None)


def _plan_markets(context: dict[str, Any], out: dict[str, Any]) -> Generator[Step, Any, None]:
    pages: list[Any] = []
    markets: list[dict[str, Any]] = []
    cursor = ""
    while len(pages) < 100:
        page = yield ("get_markets", {"limit": context["markets_page_size"], **({"cursor": cursor} if cursor else {})})
        pages.append(model(page) if _failed(page) else model(page, count=len(page.markets), cursor=page.cursor))
        if _failed(page):
            break
        markets += [_market_values(m) for m in page.markets]
        cursor = page.cursor
        if not cursor:
            break
    out["markets"] = {"pages": pages, "markets": markets}
    ticker = context["traded_ticker"]
    market = yield ("get_market", {"ticker": ticker})
    out["market"] = model(market) if _failed(market) else model(market, **_market_values(market.market))
    book = yield ("get_market_orderbook", {"ticker": ticker, "depth": context["depth"]})
    out["orderbook"] = model(book) if _failed(book) else model(
        book, book_model=type(book.orderbook_fp).__name__, yes_dollars=book.orderbook_fp.yes_dollars, no_dollars=book.orderbook_fp.no_dollars)
    books = yield ("get_market_orderbooks", {"tickers": context["orderbook_tickers"]})
    out["orderbooks"] = model(books) if _failed(books) else model(
        books, books={b.ticker: {"yes_dollars": b.orderbook_fp.yes_dollars, "no_dollars": b.orderbook_fp.no_dollars} for b in books.orderbooks})


def _plan_trades_and_candles(context: dict[str, Any], out: dict[str, Any]) -> Generator[Step, Any, None]:
    pages: list[Any] = []
    trades: list[dict[str, Any]] = []
    cursor = ""
    while len(pages) < 100:
        page = yield ("get_trades", {"ticker": context["traded_ticker"], "limit": context["trades_page_size"],
                                     **({"cursor": cursor} if cursor else {})})
        pages.append(model(page) if _failed(page) else model(page, count=len(page.trades), cursor=page.cursor))
        if _failed(page):
            break
        trades += [{
            "trade_id": t.trade_id, "ticker": t.ticker, "count_fp": t.count_fp, "yes_price_dollars": t.yes_price_dollars,
            "no_price_dollars": t.no_price_dollars, "taker_outcome_side": t.taker_outcome_side, "taker_book_side": t.taker_book_side,
            "created_time": t.created_time, "model": type(t).__name__,
        } for t in page.trades]
        cursor = page.cursor
        if not cursor:
            break
    out["trades"] = {"pages": pages, "trades": trades}
    window = {"start_ts": context["start_ts"], "end_ts": context["end_ts"], "period_interval": 1}
    single = yield ("get_market_candlesticks", {"series_ticker": context["traded_series"], "ticker": context["traded_ticker"], **window})
    out["candlesticks"] = model(single) if _failed(single) else model(
        single, ticker=single.ticker, candles=_candle_values(single.candlesticks))
    batch = yield ("batch_get_market_candlesticks", {"market_tickers": ",".join(context["candle_tickers"]), **window})
    out["batch_candlesticks"] = model(batch) if _failed(batch) else model(
        batch, markets={m.market_ticker: _candle_values(m.candlesticks) for m in batch.markets})
    by_event = yield ("get_market_candlesticks_by_event", {"series_ticker": context["traded_series"], "ticker": context["traded_event"], **window})
    out["event_candlesticks"] = model(by_event) if _failed(by_event) else model(
        by_event, market_tickers=by_event.market_tickers, candles=[_candle_values(c) for c in by_event.market_candlesticks],
        adjusted_end_ts=by_event.adjusted_end_ts)


def _plan_keys(context: dict[str, Any], out: dict[str, Any]) -> Generator[Step, Any, None]:
    listed = yield ("get_api_keys", {})
    out["api_keys_before"] = model(listed) if _failed(listed) else model(
        listed, keys=[{"api_key_id": k.api_key_id, "name": k.name, "scopes": k.scopes} for k in listed.api_keys])
    generated = yield ("generate_api_key", {"name": context["generated_name"], "key_type": "ed25519"})
    out["generate_api_key"] = model(generated) if _failed(generated) else model(
        generated, api_key_id=generated.api_key_id, key_type=getattr(generated, "key_type", None),
        private_key_header=generated.private_key.splitlines()[0])
    created = yield ("create_api_key", {"name": context["registered_name"], "public_key": context["public_key_pem"],
                                        "scopes": ["read"]})
    out["create_api_key"] = model(created) if _failed(created) else model(created, api_key_id=created.api_key_id)
    if not _failed(generated):
        # the generated Ed25519 key signs for a client of its own
        signed = yield ("get_api_keys", {}, {"key_id": generated.api_key_id, "private_key_pem": generated.private_key})
        out["generated_key_signs"] = model(signed) if _failed(signed) else model(signed, count=len(signed.api_keys))
    listed = yield ("get_api_keys", {})
    out["api_keys_after_create"] = model(listed) if _failed(listed) else model(
        listed, keys=[{"api_key_id": k.api_key_id, "name": k.name, "scopes": k.scopes} for k in listed.api_keys])
    for name, made in (("delete_generated", generated), ("delete_created", created)):
        if not _failed(made):
            deleted = yield ("delete_api_key", {"api_key": made.api_key_id})
            out[name] = model(deleted) if _failed(deleted) else {"model": "None", "returned": deleted}
    if not _failed(generated):
        refused = yield ("get_api_keys", {}, {"key_id": generated.api_key_id, "private_key_pem": generated.private_key})
        out["deleted_key_refused"] = model(refused) if _failed(refused) else {"unexpected": "the deleted key still works"}
    listed = yield ("get_api_keys", {})
    out["api_keys_after_delete"] = model(listed) if _failed(listed) else model(
        listed, keys=[k.api_key_id for k in listed.api_keys])


# --- drivers (script side) -------------------------------------------------------------------------------

def _configuration(module: Any, context: dict[str, Any], key_id: str, private_key_pem: str) -> Any:
    configuration = module.Configuration(host=context["host"])
    configuration.api_key_id = key_id  # how Kalshi's README sets credentials: KalshiClient reads these two
    configuration.private_key_pem = private_key_pem
    return configuration


def run_sync(context: dict[str, Any]) -> dict[str, Any]:
    import kalshi_python_sync as sdk

    def client(key_id: str, pem: str) -> Any:
        return sdk.KalshiClient(_configuration(sdk, context, key_id, pem))

    main = client(context["api_key_id"], context["private_key_pem"])
    steps = plan(context)
    result: Any = None
    try:
        while True:
            step = steps.send(result)
            target = client(step[2]["key_id"], step[2]["private_key_pem"]) if len(step) == 3 else main
            try:
                result = getattr(target, step[0])(**step[1])
            except Exception as error:
                result = error
    except StopIteration as done:
        summary: dict[str, Any] = done.value
        return summary


async def run_async(context: dict[str, Any]) -> dict[str, Any]:
    import kalshi_python_async as sdk

    def client(key_id: str, pem: str) -> Any:
        return sdk.KalshiClient(_configuration(sdk, context, key_id, pem))

    main = client(context["api_key_id"], context["private_key_pem"])
    extra: list[Any] = []
    steps = plan(context)
    result: Any = None
    try:
        while True:
            step = steps.send(result)
            target = main
            if len(step) == 3:
                target = client(step[2]["key_id"], step[2]["private_key_pem"])
                extra.append(target)
            try:
                result = await getattr(target, step[0])(**step[1])
            except Exception as error:
                result = error
    except StopIteration as done:
        summary: dict[str, Any] = done.value
        return summary
    finally:
        for open_client in [main, *extra]:
            await open_client.close()


def main() -> None:
    context = json.load(sys.stdin)
    import kalshi_python_async
    import kalshi_python_sync

    summary = {
        "versions": {"sync": kalshi_python_sync.__version__, "async": kalshi_python_async.__version__},
        "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
        "sync": run_sync({**context, **context["sync"]}),
        "async": asyncio.run(run_async({**context, **context["async"]})),
    }
    json.dump(summary, sys.stdout, default=str)


if __name__ == "__main__":
    main()
