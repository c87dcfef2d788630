"""Kalshi's official SDKs (kalshi-python-sync and kalshi-python-async 3.34.0, unchanged, in a Python
3.13 virtualenv) against a running predictex exchange: every market-data call and API-key call parses
into the SDK's own models, and the values equal what the server serves over plain HTTP.

Setup: the demo exchange plus a series of extra markets (so the market list takes several pages),
and trades made in-process through the sequencer (there is no order endpoint yet), so that trades and
candlesticks have something to show."""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from compat.kalshi_sdk import SDK_VERSION, private_key_pem, run_sdks
from integration.server_fixture import DEMO_TICKER, V2, RunningServer, running_server

SERIES = "KXSDK"
EVENT = "KXSDK-27JAN"
EXTRA_MARKETS = [f"KXSDK-27JAN-B{n}" for n in range(1, 8)]  # 5 demo markets + 7 = 12: three pages of 5
MARKETS_PAGE = 5
EVENTS_PAGE = 2
TRADES_PAGE = 2
DEPTH = 3
SDKS = ("sync", "async")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("sdk")) as running:
        running.create_instruments(SERIES, EVENT, EXTRA_MARKETS)
        taker = running.funded_account()
        running.trade(taker, DEMO_TICKER, True, 5100, 10)  # lifts the 0.51 ask: a YES-taker trade at 0.51
        running.trade(taker, DEMO_TICKER, False, 4900, 4)  # hits the 0.49 bid: a NO-taker trade at 0.49
        running.trade(taker, DEMO_TICKER, True, 5200, 3)  # 90 left at 0.51: fills there
        maker = running.funded_account()
        running.trade(maker, EXTRA_MARKETS[0], True, 3000, 7)  # rests, then is hit
        running.trade(taker, EXTRA_MARKETS[0], False, 3000, 7)
        yield running


def _public_pem(key_type: str) -> str:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048) if key_type == "rsa" else ed25519.Ed25519PrivateKey.generate()
    return private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="module")
def run(server: RunningServer, python313: Path) -> dict[str, Any]:
    """The ground truth over plain HTTP, then both SDKs' summaries."""
    member = server.new_member("sdk@example.com", tier="premier")
    pem = private_key_pem(member)
    now = int(time.time())
    context = {
        "host": server.base_url + V2, "api_key_id": member.credentials.key_id, "private_key_pem": pem,
        "series_ticker": SERIES, "event_ticker": EVENT, "traded_ticker": DEMO_TICKER, "traded_series": "INXCHI",
        "traded_event": "INXCHI-25JAN31", "candle_tickers": [DEMO_TICKER, EXTRA_MARKETS[0]],
        "orderbook_tickers": [DEMO_TICKER, EXTRA_MARKETS[0]], "markets_page_size": MARKETS_PAGE,
        "events_page_size": EVENTS_PAGE, "trades_page_size": TRADES_PAGE, "depth": DEPTH,
        "start_ts": now - 7200, "end_ts": now + 120,
        "sync": {"generated_name": "sdk-sync-generated", "registered_name": "sdk-sync-registered", "public_key_pem": _public_pem("rsa")},
        "async": {"generated_name": "sdk-async-generated", "registered_name": "sdk-async-registered",
                  "public_key_pem": _public_pem("ed25519")},
    }
    truth = _ground_truth(server, context)
    summary = run_sdks(python313, context)
    return {"truth": truth, "summary": summary, "context": context, "member": member}


def _ground_truth(server: RunningServer, context: dict[str, Any]) -> dict[str, Any]:
    window = f"start_ts={context['start_ts']}&end_ts={context['end_ts']}&period_interval=1"
    return {
        "series": server.get_ok(V2 + "/series")["series"],
        "events": server.get_ok(V2 + "/events?with_nested_markets=true")["events"],
        "markets": server.get_ok(V2 + "/markets?limit=1000")["markets"],
        "orderbook": server.get_ok(f"{V2}/markets/{DEMO_TICKER}/orderbook?depth={DEPTH}")["orderbook_fp"],
        "orderbooks": server.get_ok(f"{V2}/markets/orderbooks?tickers={DEMO_TICKER}&tickers={EXTRA_MARKETS[0]}")["orderbooks"],
        "trades": server.get_ok(f"{V2}/markets/trades?ticker={DEMO_TICKER}&limit=1000")["trades"],
        "candles": server.get_ok(f"{V2}/series/INXCHI/markets/{DEMO_TICKER}/candlesticks?{window}")["candlesticks"],
        "batch": server.get_ok(f"{V2}/markets/candlesticks?market_tickers={DEMO_TICKER},{EXTRA_MARKETS[0]}&{window}")["markets"],
        "event_candles": server.get_ok(f"{V2}/series/INXCHI/events/INXCHI-25JAN31/candlesticks?{window}"),
    }


def _sdk(run: dict[str, Any], kind: str) -> dict[str, Any]:
    result: dict[str, Any] = run["summary"][kind]
    return result


def _parsed(entry: dict[str, Any], kind: str, model: str) -> None:
    """The call succeeded and parsed into the SDK's own model class."""
    assert "error" not in entry, entry
    assert entry["model"] == model, entry
    assert entry["module"].startswith(f"kalshi_python_{kind}.models."), entry


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_the_sdks_are_the_official_ones_on_python_313(run: dict[str, Any]) -> None:
    assert run["summary"]["versions"] == {"sync": SDK_VERSION, "async": SDK_VERSION}
    assert run["summary"]["python"] == "3.13"


@pytest.mark.parametrize("kind", SDKS)
def test_exchange_status_and_schedule(run: dict[str, Any], kind: str) -> None:
    sdk = _sdk(run, kind)
    _parsed(sdk["exchange_status"], kind, "ExchangeStatus")
    assert (sdk["exchange_status"]["exchange_active"], sdk["exchange_status"]["trading_active"]) == (True, True)
    _parsed(sdk["exchange_schedule"], kind, "GetExchangeScheduleResponse")
    assert sdk["exchange_schedule"]["weeks"] == 1
    assert sdk["exchange_schedule"]["monday"] == [["00:00", "00:00"]]


@pytest.mark.parametrize("kind", SDKS)
def test_series_list_and_series(run: dict[str, Any], kind: str) -> None:
    sdk = _sdk(run, kind)
    _parsed(sdk["series_list"], kind, "GetSeriesListResponse")
    truth = run["truth"]["series"]
    assert sdk["series_list"]["tickers"] == [s["ticker"] for s in truth]
    assert sdk["series_list"]["fee_types"]["KXHIGHNY"] == "quadratic_with_maker_fees"
    _parsed(sdk["series"], kind, "GetSeriesResponse")
    assert {k: sdk["series"][k] for k in ("ticker", "title", "category", "frequency", "fee_multiplier")} == {
        "ticker": SERIES, "title": f"Series {SERIES}", "category": "Testing", "frequency": "daily", "fee_multiplier": 1,
    }


@pytest.mark.parametrize("kind", SDKS)
def test_events_in_pages_with_nested_markets(run: dict[str, Any], kind: str) -> None:
    sdk = _sdk(run, kind)
    truth = run["truth"]["events"]
    pages = sdk["events"]["pages"]
    for page in pages:
        _parsed(page, kind, "GetEventsResponse")
    assert len(pages) == math.ceil(len(truth) / EVENTS_PAGE) and pages[-1]["cursor"] == ""
    assert sdk["events"]["tickers"] == [e["event_ticker"] for e in truth]
    assert sdk["events"]["nested"] == {e["event_ticker"]: [m["ticker"] for m in e["markets"]] for e in truth}
    event = sdk["event"]
    _parsed(event, kind, "GetEventResponse")
    assert (event["event_ticker"], event["series_ticker"], event["title"]) == (EVENT, SERIES, f"Event {EVENT}")
    assert event["nested"] == event["markets"] == EXTRA_MARKETS
    assert event["market_model"] == "Market"


@pytest.mark.parametrize("kind", SDKS)
def test_markets_with_a_cursor_loop(run: dict[str, Any], kind: str) -> None:
    sdk = _sdk(run, kind)
    truth = run["truth"]["markets"]
    assert len(truth) == 12
    pages = sdk["markets"]["pages"]
    for page in pages:
        _parsed(page, kind, "GetMarketsResponse")
    assert [p["count"] for p in pages] == [5, 5, 2]
    assert all(p["cursor"] for p in pages[:-1]) and pages[-1]["cursor"] == ""
    parsed = sdk["markets"]["markets"]
    assert [m["ticker"] for m in parsed] == [m["ticker"] for m in truth]
    for got, expected in zip(parsed, truth, strict=True):
        for name in ("status", "yes_bid_dollars", "yes_ask_dollars", "no_bid_dollars", "no_ask_dollars", "last_price_dollars",
                     "volume_fp", "open_interest_fp", "price_level_structure", "result", "market_type"):
            assert got[name] == expected[name], (got["ticker"], name)
        assert _time(got["close_time"]) == _time(expected["close_time"])


@pytest.mark.parametrize("kind", SDKS)
def test_market_after_trading(run: dict[str, Any], kind: str) -> None:
    market = _sdk(run, kind)["market"]
    _parsed(market, kind, "GetMarketResponse")
    # 13 lifted at 0.51 (the 0.51 ask had 100: 87 remain), 4 sold at 0.49 (96 remain at 0.49)
    assert market["status"] == "active"
    assert (market["yes_bid_dollars"], market["yes_ask_dollars"]) == ("0.4900", "0.5100")
    assert (market["no_bid_dollars"], market["no_ask_dollars"]) == ("0.4900", "0.5100")
    assert market["last_price_dollars"] == "0.5100"
    assert market["volume_fp"] == "17.00"


@pytest.mark.parametrize("kind", SDKS)
def test_orderbooks(run: dict[str, Any], kind: str) -> None:
    sdk = _sdk(run, kind)
    _parsed(sdk["orderbook"], kind, "GetMarketOrderbookResponse")
    assert sdk["orderbook"]["book_model"] == "OrderbookCountFp"
    truth = run["truth"]["orderbook"]
    assert sdk["orderbook"]["yes_dollars"] == truth["yes_dollars"]
    assert sdk["orderbook"]["no_dollars"] == truth["no_dollars"]
    assert sdk["orderbook"]["yes_dollars"] == [["0.4700", "100.00"], ["0.4800", "100.00"], ["0.4900", "96.00"]]
    assert sdk["orderbook"]["no_dollars"] == [["0.4700", "100.00"], ["0.4800", "100.00"], ["0.4900", "87.00"]]
    _parsed(sdk["orderbooks"], kind, "GetMarketOrderbooksResponse")
    assert sdk["orderbooks"]["books"] == {b["ticker"]: b["orderbook_fp"] for b in run["truth"]["orderbooks"]}
    assert sdk["orderbooks"]["books"][EXTRA_MARKETS[0]] == {"yes_dollars": [], "no_dollars": []}


@pytest.mark.parametrize("kind", SDKS)
def test_trades_in_pages(run: dict[str, Any], kind: str) -> None:
    sdk = _sdk(run, kind)
    truth = run["truth"]["trades"]
    pages = sdk["trades"]["pages"]
    for page in pages:
        _parsed(page, kind, "GetTradesResponse")
    assert len(pages) == math.ceil(len(truth) / TRADES_PAGE) and pages[-1]["cursor"] == ""
    trades = sdk["trades"]["trades"]
    assert [t["trade_id"] for t in trades] == [t["trade_id"] for t in truth]
    assert [(t["yes_price_dollars"], t["no_price_dollars"], t["count_fp"], t["taker_outcome_side"], t["taker_book_side"])
            for t in trades] == [("0.5100", "0.4900", "3.00", "yes", "bid"), ("0.4900", "0.5100", "4.00", "no", "ask"),
                                 ("0.5100", "0.4900", "10.00", "yes", "bid")]
    assert {t["model"] for t in trades} == {"Trade"}
    assert all(_time(t["created_time"]) == _time(r["created_time"]) for t, r in zip(trades, truth, strict=True))


def _candles(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{
        "end_period_ts": c["end_period_ts"], "volume_fp": c["volume_fp"], "open_interest_fp": c["open_interest_fp"],
        "price_close_dollars": c["price"]["close_dollars"], "price_open_dollars": c["price"]["open_dollars"],
        "yes_bid_close_dollars": c["yes_bid"]["close_dollars"], "yes_ask_close_dollars": c["yes_ask"]["close_dollars"],
    } for c in raw]


@pytest.mark.parametrize("kind", SDKS)
def test_candlesticks_single_batch_and_event(run: dict[str, Any], kind: str) -> None:
    sdk = _sdk(run, kind)
    truth = run["truth"]
    _parsed(sdk["candlesticks"], kind, "GetMarketCandlesticksResponse")
    assert sdk["candlesticks"]["ticker"] == DEMO_TICKER
    assert sdk["candlesticks"]["candles"] == _candles(truth["candles"])
    assert sum(float(c["volume_fp"]) for c in sdk["candlesticks"]["candles"]) == 17.0
    _parsed(sdk["batch_candlesticks"], kind, "BatchGetMarketCandlesticksResponse")
    assert sdk["batch_candlesticks"]["markets"] == {m["market_ticker"]: _candles(m["candlesticks"]) for m in truth["batch"]}
    assert sum(float(c["volume_fp"]) for c in sdk["batch_candlesticks"]["markets"][EXTRA_MARKETS[0]]) == 7.0
    _parsed(sdk["event_candlesticks"], kind, "GetEventCandlesticksResponse")
    assert sdk["event_candlesticks"]["market_tickers"] == truth["event_candles"]["market_tickers"] == [
        "INXCHI-25JAN31-T69.5", "INXCHI-25JAN31-T70.5"]
    assert sdk["event_candlesticks"]["candles"] == [_candles(c) for c in truth["event_candles"]["market_candlesticks"]]
    assert sdk["event_candlesticks"]["adjusted_end_ts"] == truth["event_candles"]["adjusted_end_ts"]


@pytest.mark.parametrize("kind", SDKS)
def test_api_keys_list_generate_register_delete(run: dict[str, Any], kind: str) -> None:
    sdk = _sdk(run, kind)
    own = {"api_key_id": run["member"].credentials.key_id, "name": "test", "scopes": ["read", "write"]}
    _parsed(sdk["api_keys_before"], kind, "GetApiKeysResponse")
    assert sdk["api_keys_before"]["keys"] == [own]
    generated = sdk["generate_api_key"]
    _parsed(generated, kind, "GenerateApiKeyResponse")
    assert generated["api_key_id"].startswith("demo_")
    assert generated["private_key_header"] == "-----BEGIN PRIVATE KEY-----"  # Ed25519 keys come back as PKCS#8
    created = sdk["create_api_key"]
    _parsed(created, kind, "CreateApiKeyResponse")
    assert created["api_key_id"].startswith("demo_")
    _parsed(sdk["generated_key_signs"], kind, "GetApiKeysResponse")
    assert sdk["generated_key_signs"]["count"] == 3
    context = run["context"][kind]
    assert sdk["api_keys_after_create"]["keys"] == [
        own,
        {"api_key_id": generated["api_key_id"], "name": context["generated_name"], "scopes": ["read", "write"]},
        {"api_key_id": created["api_key_id"], "name": context["registered_name"], "scopes": ["read"]},
    ]
    assert sdk["delete_generated"] == sdk["delete_created"] == {"model": "None", "returned": None}
    assert sdk["deleted_key_refused"]["status"] == 401, sdk["deleted_key_refused"]
    assert sdk["api_keys_after_delete"]["keys"] == [own["api_key_id"]]
