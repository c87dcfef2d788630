"""Public market data over real HTTP, on both surfaces: Kalshi v2 (/trade-api/v2, reference §4.2 and
§5: exact field names and JSON types, the union of current and legacy fields) and the seed's /v1
(prices in units of $0.0001); plus the health and metrics endpoints.

One demo exchange serves the whole module: its demo markets rest 100 contracts a level, YES bids at
0.45-0.49 and asks at 0.51-0.55 on INXCHI-25JAN31-T69.5. Trades are made in-process through the
sequencer (there is no order endpoint here yet)."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate

from integration.server_fixture import DEMO_TICKER, V2, RunningServer, running_server
from predictex.gateways.web import is_page_route

EMPTY_TICKER = "KXMD-27JAN-EMPTY"
DEMO_TICKERS = ["INXCHI-25JAN31-T69.5", "INXCHI-25JAN31-T70.5", "KXCPI-27JAN-T3.5", "KXCPI-27JAN-T3.0", "KXHIGHNY-27JUL04-T90"]

# what SDK 3.34.0 requires (reference §5), with the JSON type it insists on
MARKET_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "ticker": str, "event_ticker": str, "market_type": str, "yes_sub_title": str, "no_sub_title": str, "created_time": str,
    "updated_time": str, "open_time": str, "close_time": str, "latest_expiration_time": str, "settlement_timer_seconds": int,
    "status": str, "yes_bid_dollars": str, "yes_ask_dollars": str, "no_bid_dollars": str, "no_ask_dollars": str,
    "yes_bid_size_fp": str, "yes_ask_size_fp": str, "last_price_dollars": str, "previous_yes_bid_dollars": str,
    "previous_yes_ask_dollars": str, "previous_price_dollars": str, "volume_fp": str, "volume_24h_fp": str,
    "open_interest_fp": str, "notional_value_dollars": str, "result": str, "can_close_early": bool, "expiration_value": str,
    "settlement_bounds_type": str, "rules_primary": str, "rules_secondary": str, "price_level_structure": str,
    "price_ranges": list,
}
MARKET_LEGACY_INT = ("yes_bid", "yes_ask", "no_bid", "no_ask", "last_price", "previous_yes_bid", "previous_yes_ask", "previous_price",
                     "volume", "volume_24h", "open_interest", "notional_value", "liquidity", "tick_size")
SERIES_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "ticker": str, "frequency": str, "title": str, "category": str, "categories": list, "tags": list, "settlement_sources": list,
    "contract_url": str, "contract_terms_url": str, "fee_type": str, "fee_multiplier": (int, float), "additional_prohibitions": list,
}
EVENT_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "event_ticker": str, "series_ticker": str, "title": str, "sub_title": str, "collateral_return_type": str,
    "mutually_exclusive": bool, "settlement_sources": list,
}
TRADE_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "trade_id": str, "ticker": str, "count_fp": str, "yes_price_dollars": str, "no_price_dollars": str,
    "taker_outcome_side": str, "taker_book_side": str, "created_time": str, "is_block_trade": bool,
}
MARKET_STATUSES = {"initialized", "inactive", "active", "closed", "determined", "disputed", "amended", "finalized"}


def _has_fields(obj: dict[str, Any], required: dict[str, type | tuple[type, ...]]) -> None:
    for name, kind in required.items():
        assert name in obj, f"missing {name}"
        value = obj[name]
        assert isinstance(value, kind) and not (kind is int and isinstance(value, bool)), f"{name}={value!r} is not {kind}"


def _rfc3339(text: str) -> dt.datetime:
    assert text.endswith("Z"), text
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("market-data")) as running:
        running.create_instruments("KXMD", "KXMD-27JAN", [EMPTY_TICKER])
        taker = running.funded_account()
        running.trade(taker, DEMO_TICKER, True, 5200, 30)  # 30 YES at 0.51: lifts most of the 0.51 ask (100)
        running.trade(taker, DEMO_TICKER, False, 4800, 120)  # sells YES: 100 at 0.49, then 20 at 0.48
        yield running


# --- exchange ---------------------------------------------------------------------------------------

def test_exchange_status_schedule_and_data_timestamp(server: RunningServer) -> None:
    assert server.get_ok(V2 + "/exchange/status") == {
        "exchange_active": True, "trading_active": True, "exchange_estimated_resume_time": None,
    }
    schedule = server.get_ok(V2 + "/exchange/schedule")["schedule"]
    assert schedule["maintenance_windows"] == []
    week = schedule["standard_hours"][0]
    _rfc3339(week["start_time"]), _rfc3339(week["end_time"])
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"):
        assert week[day] == [{"open_time": "00:00", "close_time": "00:00"}]  # trading all day, every day
    as_of = _rfc3339(server.get_ok(V2 + "/exchange/user_data_timestamp")["as_of_time"])
    assert abs(as_of.timestamp() - time.time()) < 3600
    assert set(server.get_ok(V2 + "/historical/cutoff")) >= {"market_settled_ts", "trades_created_ts", "orders_updated_ts"}


# --- series and events --------------------------------------------------------------------------------

def test_series_list_filter_and_get(server: RunningServer) -> None:
    series = server.get_ok(V2 + "/series")["series"]
    assert [s["ticker"] for s in series] == ["INXCHI", "KXCPI", "KXHIGHNY", "KXMD"]
    for s in series:
        _has_fields(s, SERIES_REQUIRED)
        assert s["fee_type"] in {"quadratic", "quadratic_with_maker_fees", "quadratic_with_combo_maker_fees", "flat"}
    weather = server.get_ok(V2 + "/series?category=Climate%20and%20Weather")["series"]
    assert [s["ticker"] for s in weather] == ["KXHIGHNY"]
    assert weather[0]["fee_type"] == "quadratic_with_maker_fees"
    assert weather[0]["settlement_sources"] == [{"name": "National Weather Service", "url": "https://www.weather.gov/okx/"}]
    one = server.get_ok(V2 + "/series/INXCHI")["series"]
    assert (one["ticker"], one["category"], one["frequency"], one["fee_multiplier"]) == ("INXCHI", "Economics", "monthly", 1)
    missing = server.get(V2 + "/series/NOPE")
    assert missing.status == 404 and missing.error["code"] == "not_found" and "NOPE" in missing.error["message"]


def test_events_pages_filters_and_nesting(server: RunningServer) -> None:
    everything = server.get_ok(V2 + "/events")
    assert [e["event_ticker"] for e in everything["events"]] == ["INXCHI-25JAN31", "KXCPI-27JAN", "KXHIGHNY-27JUL04", "KXMD-27JAN"]
    assert everything["cursor"] == "" and everything["milestones"] == []
    for event in everything["events"]:
        _has_fields(event, EVENT_REQUIRED)
        assert "markets" not in event  # only with with_nested_markets=true
    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        page = server.get_ok(V2 + f"/events?limit=3&cursor={cursor}")
        seen += [e["event_ticker"] for e in page["events"]]
        cursor = page["cursor"]
        if not cursor:
            break
    assert seen == [e["event_ticker"] for e in everything["events"]]
    only = server.get_ok(V2 + "/events?limit=1&series_ticker=INXCHI")
    assert [e["event_ticker"] for e in only["events"]] == ["INXCHI-25JAN31"] and only["cursor"] == ""  # no empty last page
    nested = server.get_ok(V2 + "/events?with_nested_markets=true&series_ticker=INXCHI")["events"]
    assert [m["ticker"] for m in nested[0]["markets"]] == ["INXCHI-25JAN31-T69.5", "INXCHI-25JAN31-T70.5"]
    _has_fields(nested[0]["markets"][0], MARKET_REQUIRED)
    assert [e["event_ticker"] for e in server.get_ok(V2 + "/events?tickers=KXCPI-27JAN,KXMD-27JAN")["events"]] == [
        "KXCPI-27JAN", "KXMD-27JAN"]
    assert len(server.get_ok(V2 + "/events?status=open")["events"]) == 4
    assert server.get_ok(V2 + "/events?status=settled")["events"] == []


def test_event_with_and_without_nested_markets(server: RunningServer) -> None:
    plain = server.get_ok(V2 + "/events/KXCPI-27JAN")
    assert "markets" not in plain["event"]
    assert [m["ticker"] for m in plain["markets"]] == ["KXCPI-27JAN-T3.5", "KXCPI-27JAN-T3.0"]
    nested = server.get_ok(V2 + "/events/KXCPI-27JAN?with_nested_markets=true")
    assert nested["event"]["markets"] == nested["markets"]
    assert nested["event"]["category"] == "Economics"
    missing = server.get(V2 + "/events/NOPE")
    assert missing.status == 404 and missing.error["code"] == "not_found"


# --- markets ------------------------------------------------------------------------------------------

def test_every_market_carries_the_fields_sdk3_requires_and_the_legacy_ones(server: RunningServer) -> None:
    markets = server.get_ok(V2 + "/markets")["markets"]
    assert [m["ticker"] for m in markets] == [*DEMO_TICKERS, EMPTY_TICKER]
    for market in markets:
        _has_fields(market, MARKET_REQUIRED)
        for name in MARKET_LEGACY_INT:
            assert type(market[name]) is int, name
        assert market["status"] in MARKET_STATUSES and market["market_type"] in {"binary", "scalar"}
        assert market["result"] in {"yes", "no", "scalar", ""}
        assert market["settlement_bounds_type"] in {"default", "floor"}
        for stamp in ("created_time", "updated_time", "open_time", "close_time", "latest_expiration_time"):
            _rfc3339(market[stamp])
        assert all(set(r) == {"start", "end", "step"} for r in market["price_ranges"])
        assert market["notional_value_dollars"] == "1.0000" and market["notional_value"] == 100
    tapered = next(m for m in markets if m["ticker"] == "KXHIGHNY-27JUL04-T90")
    assert tapered["price_level_structure"] == "tapered_deci_cent"
    assert tapered["price_ranges"] == [
        {"start": "0.0000", "end": "0.1000", "step": "0.0010"}, {"start": "0.1000", "end": "0.9000", "step": "0.0100"},
        {"start": "0.9000", "end": "1.0000", "step": "0.0010"},
    ]


def test_a_traded_market_in_both_units(server: RunningServer) -> None:
    market = server.get_ok(f"{V2}/markets/{DEMO_TICKER}")["market"]
    # after the trades: 70 left at the 0.51 ask, the 0.49 bid gone and 80 left at 0.48
    assert (market["yes_bid_dollars"], market["yes_bid_size_fp"], market["yes_ask_dollars"], market["yes_ask_size_fp"]) == (
        "0.4800", "80.00", "0.5100", "70.00")
    assert (market["no_bid_dollars"], market["no_ask_dollars"]) == ("0.4900", "0.5200")
    assert (market["last_price_dollars"], market["volume_fp"], market["volume_24h_fp"]) == ("0.4800", "150.00", "150.00")
    assert (market["yes_bid"], market["yes_ask"], market["no_bid"], market["no_ask"], market["last_price"]) == (48, 51, 49, 52, 48)
    assert (market["volume"], market["open_interest"], market["open_interest_fp"]) == (150, 90, "90.00")
    assert market["status"] == "active" and market["result"] == "" and market["response_price_units"] == "usd_cent"
    assert market["strike_type"] == "greater" and market["floor_strike"] == 69.5
    missing = server.get(f"{V2}/markets/NOPE-1")
    assert missing.status == 404 and missing.error == {"code": "market_not_found", "message": "no market 'NOPE-1'"}


def test_market_filters(server: RunningServer) -> None:
    def tickers(query: str) -> list[str]:
        return [m["ticker"] for m in server.get_ok(f"{V2}/markets?{query}")["markets"]]

    assert tickers("event_ticker=KXCPI-27JAN") == ["KXCPI-27JAN-T3.5", "KXCPI-27JAN-T3.0"]
    assert tickers("series_ticker=KXMD") == [EMPTY_TICKER]
    assert tickers(f"tickers={EMPTY_TICKER},KXCPI-27JAN-T3.0") == ["KXCPI-27JAN-T3.0", EMPTY_TICKER]
    assert tickers("status=open") == [*DEMO_TICKERS, EMPTY_TICKER]
    assert tickers("status=closed") == tickers("status=settled") == tickers("status=unopened") == []
    assert tickers(f"max_close_ts={int(time.time()) + 86_400 * 60}") == [EMPTY_TICKER]  # the demo markets close in a year
    refused = server.get(f"{V2}/markets?status=bogus")
    assert refused.status == 400 and "status must be one of" in refused.error["message"]


def test_market_pages_visit_every_market_once(server: RunningServer) -> None:
    seen: list[str] = []
    cursors: list[str] = []
    cursor = ""
    for _ in range(10):
        page = server.get_ok(f"{V2}/markets?limit=2&cursor={cursor}")
        assert len(page["markets"]) <= 2
        seen += [m["ticker"] for m in page["markets"]]
        cursor = page["cursor"]
        cursors.append(cursor)
        if not cursor:
            break
    assert seen == [*DEMO_TICKERS, EMPTY_TICKER]
    assert cursors[-1] == "" and all(cursors[:-1]) and len(cursors) == 3
    # a cursor is specific to its filter, and opaque
    filtered = server.get_ok(f"{V2}/markets?limit=1&series_ticker=KXCPI")
    assert [m["ticker"] for m in filtered["markets"]] == ["KXCPI-27JAN-T3.5"]
    rest = server.get_ok(f"{V2}/markets?limit=1&series_ticker=KXCPI&cursor={filtered['cursor']}")
    assert [m["ticker"] for m in rest["markets"]] == ["KXCPI-27JAN-T3.0"] and rest["cursor"] == ""


# --- order books ----------------------------------------------------------------------------------------

def test_orderbook_current_and_legacy_shapes(server: RunningServer) -> None:
    body = server.get_ok(f"{V2}/markets/{DEMO_TICKER}/orderbook")
    yes = [["0.4500", "100.00"], ["0.4600", "100.00"], ["0.4700", "100.00"], ["0.4800", "80.00"]]
    no = [["0.4500", "100.00"], ["0.4600", "100.00"], ["0.4700", "100.00"], ["0.4800", "100.00"], ["0.4900", "70.00"]]
    assert body["orderbook_fp"] == {"yes_dollars": yes, "no_dollars": no}  # bids only, ascending: best last
    assert body["orderbook"] == {
        "yes": [[45, 100], [46, 100], [47, 100], [48, 80]], "no": [[45, 100], [46, 100], [47, 100], [48, 100], [49, 70]],
        "yes_dollars": [["0.4500", 100], ["0.4600", 100], ["0.4700", 100], ["0.4800", 80]],
        "no_dollars": [["0.4500", 100], ["0.4600", 100], ["0.4700", 100], ["0.4800", 100], ["0.4900", 70]],
    }
    deep = server.get_ok(f"{V2}/markets/{DEMO_TICKER}/orderbook?depth=2")["orderbook_fp"]
    assert deep == {"yes_dollars": yes[-2:], "no_dollars": no[-2:]}  # depth keeps the best levels
    assert server.get_ok(f"{V2}/markets/{DEMO_TICKER}/orderbook?depth=0")["orderbook_fp"] == body["orderbook_fp"]


def test_orderbook_of_an_empty_market(server: RunningServer) -> None:
    body = server.get_ok(f"{V2}/markets/{EMPTY_TICKER}/orderbook")
    assert body["orderbook_fp"] == {"yes_dollars": [], "no_dollars": []}  # SDK3 requires lists
    assert body["orderbook"] == {"yes": None, "no": None, "yes_dollars": None, "no_dollars": None}  # era A sent null
    market = server.get_ok(f"{V2}/markets/{EMPTY_TICKER}")["market"]
    assert (market["yes_bid_dollars"], market["yes_ask_dollars"], market["yes_bid_size_fp"]) == ("0.0000", "0.0000", "0.00")


def test_orderbooks_of_several_markets(server: RunningServer) -> None:
    books = server.get_ok(f"{V2}/markets/orderbooks?tickers={DEMO_TICKER}&tickers={EMPTY_TICKER}")["orderbooks"]
    assert [b["ticker"] for b in books] == [DEMO_TICKER, EMPTY_TICKER]
    assert books[0]["orderbook_fp"] == server.get_ok(f"{V2}/markets/{DEMO_TICKER}/orderbook")["orderbook_fp"]
    assert books[1]["orderbook_fp"] == {"yes_dollars": [], "no_dollars": []}
    assert server.get(f"{V2}/markets/orderbooks").status == 400
    unknown = server.get(f"{V2}/markets/orderbooks?tickers={DEMO_TICKER}&tickers=NOPE")
    assert unknown.status == 404 and "NOPE" in unknown.error["message"]


# --- trades and candlesticks ------------------------------------------------------------------------------

def test_trades_shape_order_filters_and_pages(server: RunningServer) -> None:
    trades = server.get_ok(f"{V2}/markets/trades")["trades"]
    assert [(t["yes_price_dollars"], t["count_fp"], t["taker_outcome_side"], t["taker_book_side"]) for t in trades] == [
        ("0.4800", "20.00", "no", "ask"), ("0.4900", "100.00", "no", "ask"), ("0.5100", "30.00", "yes", "bid")]  # newest first
    for trade in trades:
        _has_fields(trade, TRADE_REQUIRED)
        assert trade["ticker"] == DEMO_TICKER and trade["is_block_trade"] is False
        assert int(trade["yes_price_dollars"][2:4]) + int(trade["no_price_dollars"][2:4]) == 100
        assert (trade["yes_price"], trade["count"], trade["taker_side"]) == (
            int(trade["yes_price_dollars"][2:4]), int(float(trade["count_fp"])), trade["taker_outcome_side"])
    assert len({t["trade_id"] for t in trades}) == 3
    paged: list[str] = []
    cursor = ""
    for _ in range(5):
        page = server.get_ok(f"{V2}/markets/trades?limit=2&cursor={cursor}")
        paged += [t["trade_id"] for t in page["trades"]]
        cursor = page["cursor"]
        if not cursor:
            break
    assert paged == [t["trade_id"] for t in trades]
    assert server.get_ok(f"{V2}/markets/trades?ticker={EMPTY_TICKER}")["trades"] == []
    assert server.get_ok(f"{V2}/markets/trades?is_block_trade=true")["trades"] == []
    later = int(time.time()) + 3600
    assert server.get_ok(f"{V2}/markets/trades?min_ts={later}")["trades"] == []
    assert len(server.get_ok(f"{V2}/markets/trades?max_ts={later}")["trades"]) == 3


def test_candlesticks_single_batch_and_event(server: RunningServer) -> None:
    now = int(time.time())
    window = f"start_ts={now - 3600}&end_ts={now + 60}&period_interval=1"
    body = server.get_ok(f"{V2}/series/INXCHI/markets/{DEMO_TICKER}/candlesticks?{window}")
    assert body["ticker"] == DEMO_TICKER
    candles = body["candlesticks"]
    assert candles and sum(float(c["volume_fp"]) for c in candles) == 150.0
    for candle in candles:
        assert type(candle["end_period_ts"]) is int and candle["end_period_ts"] % 60 == 0
        for side in ("yes_bid", "yes_ask"):
            assert set(candle[side]) >= {"open_dollars", "low_dollars", "high_dollars", "close_dollars"}
        assert set(candle["price"]) >= {"open_dollars", "low_dollars", "high_dollars", "close_dollars", "mean_dollars", "previous_dollars"}
    last = candles[-1]
    assert last["price"]["close_dollars"] == "0.4800" and last["open_interest_fp"] == "90.00"
    assert (last["yes_bid"]["close_dollars"], last["yes_ask"]["close_dollars"]) == ("0.4800", "0.5100")
    traded = [c["price"] for c in candles if c["price"]["low_dollars"] is not None]
    assert min(p["low_dollars"] for p in traded) == "0.4800" and max(p["high_dollars"] for p in traded) == "0.5100"
    batch = server.get_ok(f"{V2}/markets/candlesticks?market_tickers={DEMO_TICKER},{EMPTY_TICKER}&{window}")["markets"]
    assert [m["market_ticker"] for m in batch] == [DEMO_TICKER, EMPTY_TICKER]
    assert batch[0]["candlesticks"] == candles
    by_event = server.get_ok(f"{V2}/series/INXCHI/events/INXCHI-25JAN31/candlesticks?{window}")
    assert by_event["market_tickers"] == ["INXCHI-25JAN31-T69.5", "INXCHI-25JAN31-T70.5"]
    assert by_event["market_candlesticks"][0] == candles and type(by_event["adjusted_end_ts"]) is int


@pytest.mark.parametrize(("query", "status", "words"), [
    ("start_ts=0&end_ts=10", 400, "required"),
    ("start_ts=0&end_ts=10&period_interval=5", 400, "period_interval must be 1, 60 or 1440"),
    ("start_ts=100&end_ts=10&period_interval=1", 400, "end_ts must not be before start_ts"),
    ("start_ts=0&end_ts=9999999999&period_interval=1", 400, "at most 10000 candlesticks"),
    ("start_ts=x&end_ts=10&period_interval=1", 400, "start_ts must be an integer"),
])
def test_candlestick_requests_that_are_refused(server: RunningServer, query: str, status: int, words: str) -> None:
    reply = server.get(f"{V2}/series/INXCHI/markets/{DEMO_TICKER}/candlesticks?{query}")
    assert reply.status == status and words in reply.error["message"], reply


def test_candlesticks_of_a_market_in_another_series_are_not_found(server: RunningServer) -> None:
    reply = server.get(f"{V2}/series/KXCPI/markets/{DEMO_TICKER}/candlesticks?start_ts=0&end_ts=10&period_interval=1")
    assert reply.status == 404 and reply.error["code"] == "market_not_found"


# --- the seed's /v1 ------------------------------------------------------------------------------------------

def test_seed_markets_list_and_get(server: RunningServer) -> None:
    body = server.get_ok("/v1/markets")
    assert [m["ticker"] for m in body["markets"]] == [*DEMO_TICKERS, EMPTY_TICKER] and body["cursor"] == ""
    market = server.get_ok(f"/v1/markets/{DEMO_TICKER}")["market"]
    assert market["market_id"] == market["ticker"] == DEMO_TICKER
    assert market["price_unit"] == "0.0001 USD"
    assert (market["yes_bid"], market["yes_ask"], market["no_bid"], market["no_ask"], market["last_price"]) == (4800, 5100, 4900, 5200, 4800)
    assert (market["yes_bid_dollars"], market["yes_ask_dollars"]) == ("0.4800", "0.5100")
    assert (market["volume"], market["volume_fp"], market["open_interest"]) == (150, "150.00", 90)
    assert market["status"] == "active" and market["series_ticker"] == "INXCHI"
    page = server.get_ok("/v1/markets?limit=4")
    rest = server.get_ok(f"/v1/markets?limit=4&cursor={page['cursor']}")
    assert [m["ticker"] for m in page["markets"] + rest["markets"]] == [*DEMO_TICKERS, EMPTY_TICKER]
    missing = server.get("/v1/markets/NOPE")
    assert missing.status == 404 and missing.error["code"] == "market_not_found"


def test_seed_orderbook(server: RunningServer) -> None:
    book = server.get_ok(f"/v1/markets/{DEMO_TICKER}/orderbook")
    assert book["market_id"] == DEMO_TICKER
    assert [(b["price"], b["quantity"]) for b in book["bids"]] == [(4800, 80), (4700, 100), (4600, 100), (4500, 100)]  # best first
    assert [(a["price"], a["quantity"]) for a in book["asks"]] == [(5100, 70), (5200, 100), (5300, 100), (5400, 100), (5500, 100)]
    assert book["bids"][0] == {"price": 4800, "price_dollars": "0.4800", "quantity": 80, "quantity_fp": "80.00"}
    assert type(book["seq"]) is int


def test_seed_settlement_of_an_open_market(server: RunningServer) -> None:
    assert server.get_ok(f"/v1/markets/{DEMO_TICKER}/settlement") == {
        "market_id": DEMO_TICKER, "status": "active", "settled": False, "result": "", "settlement_value": None,
        "settlement_value_dollars": None, "source": "", "determined_time": None, "settlement_scheduled_time": None,
        "settled_time": None,
    }


# --- health and metrics ---------------------------------------------------------------------------------------

def test_health(server: RunningServer) -> None:
    health = server.get_ok("/health")
    assert health["status"] == "ok" and health["environment"] == "demo"
    assert health["committed_seq"] == health["applied_seq"] > 0
    assert health["journal"].startswith("sqlite:")


def test_prometheus_metrics(server: RunningServer) -> None:
    server.get(f"{V2}/markets/NOPE-2")
    reply = server.get("/metrics")
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = reply.body.decode()
    samples = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line and not line.startswith("#")}
    assert samples['predictex_http_requests_total{surface="kalshi_v2",method="GET",code="404"}'] >= 1
    assert samples['predictex_http_requests_total{surface="kalshi_v2",method="GET",code="200"}'] >= 1
    assert samples['predictex_http_request_seconds_bucket{surface="kalshi_v2",le="+Inf"}'] == samples[
        'predictex_http_request_seconds_count{surface="kalshi_v2"}']
    assert samples["predictex_markets"] == 6
    assert samples["predictex_commands_committed"] == samples["predictex_commands_applied"] > 0
    assert samples["predictex_journal_lag_commands"] == 0
    assert "# TYPE predictex_http_requests_total counter" in text and "# TYPE predictex_http_request_seconds histogram" in text


def test_openapi_json_is_a_valid_document_of_the_routes_served(server: RunningServer) -> None:
    spec = server.get_ok("/openapi.json")
    validate(spec)  # a valid OpenAPI 3.0 document
    operations = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert {("GET", "/trade-api/v2/markets/{ticker}/orderbook"), ("POST", "/trade-api/v2/portfolio/events/orders"),
            ("GET", "/v1/markets"), ("POST", "/predictex/v1/admin/markets"), ("GET", "/openapi.json")} <= operations
    router = server.app.router
    assert router is not None
    routes = server.on_loop(lambda: [(method, pattern) for method, pattern, _ in router.routes()])
    api_routes = [(method, pattern) for method, pattern in routes if not is_page_route(pattern)]  # the web pages are not the API
    assert operations == set(api_routes) and len(api_routes) == len(operations)
    assert len(api_routes) < len(routes)
    create = spec["paths"]["/trade-api/v2/portfolio/events/orders"]["post"]
    assert create["x-predictex-scope"] == "write" and "401" in create["responses"]
    assert spec["paths"]["/predictex/v1/admin/markets"]["post"]["x-predictex-operator"] is True
    assert spec["paths"]["/trade-api/v2/markets/{ticker}"]["get"]["security"] == []
    assert [p["name"] for p in spec["paths"]["/trade-api/v2/series/{series_ticker}/markets/{ticker}/candlesticks"]["get"]["parameters"]] == [
        "series_ticker", "ticker"]


def test_openapi_json_says_truly_who_may_call_each_route(server: RunningServer) -> None:
    """Every operation, called unsigned: a route the document marks as signed answers 401, any other does not;
    none is missing (404/405 from the router)."""
    spec = server.get_ok("/openapi.json")
    for path, item in spec["paths"].items():
        concrete = re.sub(r"\{[a-z_]+\}", "NOPE-X", path)
        for method, operation in item.items():
            reply = server.request(method.upper(), concrete, raw=b"" if method != "get" else None)
            assert reply.status not in (405,) and not (reply.status == 404 and b"no such endpoint" in reply.body), (method, path)
            signed = bool(operation["security"])
            assert (reply.status == 401) == signed, (method, path, reply.status, reply.body[:200])
