"""The WebSocket's market_lifecycle_v2 channel carries what the operator scheduled: an event fee
override, set and cleared, as `event_fee_update` when it takes effect (a series fee change has no
message of its own, as on Kalshi)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from integration.server_fixture import RunningServer, running_server
from integration.ws_support import barrier, kalshi_ws, make_markets, subscribe


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(Path(tmp_path_factory.mktemp("ws-catalog"))) as running:
        yield running


def test_event_fee_overrides_reach_the_lifecycle_channel_when_they_take_effect(server: RunningServer) -> None:
    ticker = make_markets(server, prefix="KXFEEWS")[0]
    event = ticker.rsplit("-", 1)[0]
    series = ticker.split("-")[0]
    with kalshi_ws(server) as ws:
        subscribe(ws, ["market_lifecycle_v2"])
        server.admin("POST", "/fee_changes", {"event_ticker": event, "fee_type": "quadratic", "fee_multiplier": "0.5"}, expect=201)
        server.admin("POST", "/fee_changes", {"series_ticker": series, "fee_type": "flat", "fee_multiplier": 1}, expect=201)
        server.admin("POST", "/fee_changes", {"event_ticker": event, "fee_type": "flat", "scheduled_ts": "2099-01-01T00:00:00Z"},
                     expect=201)  # not yet: no message
        server.admin("POST", "/fee_changes", {"event_ticker": event}, expect=201)
        got = [(m["type"], m["msg"]) for m in barrier(ws)]
    assert server.get_ok(f"/trade-api/v2/events/{event}")["event"].get("fee_type_override") is None  # cleared again
    server.admin("POST", "/fee_changes", {"event_ticker": event, "fee_multiplier": 3}, expect=201)
    shown = server.get_ok(f"/trade-api/v2/events/{event}")["event"]
    assert (shown["fee_type_override"], shown["fee_multiplier_override"]) == (None, 3)
    assert got == [
        ("event_fee_update", {"event_ticker": event, "fee_type_override": "quadratic", "fee_multiplier_override": 0.5}),
        ("event_fee_update", {"event_ticker": event, "fee_type_override": None, "fee_multiplier_override": None}),
    ]


def test_changed_terms_reach_the_lifecycle_channel_and_the_market(server: RunningServer) -> None:
    ticker = make_markets(server, prefix="KXTERMS")[0]
    with kalshi_ws(server) as ws:
        subscribe(ws, ["market_lifecycle_v2"])
        server.admin("POST", f"/markets/{ticker}/terms", {"price_level_structure": "deci_cent"}, expect=200)
        server.admin("POST", f"/markets/{ticker}/terms", {"strike_type": "between", "floor_strike": "95000", "cap_strike": 95250},
                     expect=200)
        got = [m["msg"] for m in barrier(ws)]
    assert got == [
        {"market_ticker": ticker, "event_type": "price_level_structure_updated", "price_level_structure": "deci_cent",
         "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0010"}]},
        {"market_ticker": ticker, "event_type": "metadata_updated", "strike_type": "between", "floor_strike": 95000,
         "cap_strike": 95250},
    ]
    market = server.get_ok(f"/trade-api/v2/markets/{ticker}")["market"]
    assert (market["price_level_structure"], market["floor_strike"], market["cap_strike"]) == ("deci_cent", 95000, 95250)
    for body in ({}, {"price_level_structure": "nope"}, {"status": "active"}, {"floor_strike": "high"}):
        assert server.admin("POST", f"/markets/{ticker}/terms", body).status == 400, body
    assert server.admin("POST", "/markets/NOPE/terms", {"title": "x"}).status == 404
