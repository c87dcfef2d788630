"""The WebSocket's market_lifecycle_v2 channel carries what the operator scheduled: an event fee
override, set and cleared, as `event_fee_update` when it takes effect (a series fee change has no
message of its own, as on Kalshi)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration.server_fixture import RunningServer, iso_timestamp, kalshi_v2, running_server
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


def test_a_combination_lives_on_the_multivariate_lifecycle_channel(server: RunningServer) -> None:
    legs = make_markets(server, count=2, prefix="KXMVEWS")
    event = legs[0].rsplit("-", 1)[0]
    series = legs[0].split("-")[0]
    now_s = int(time.time())
    server.admin("PUT", "/content/mve_collection/KXMVEWSCOL", {
        "series_ticker": series, "title": "combo", "description": "", "open_date": now_s - 60, "close_date": now_s + 3600,
        "associated_events": [{"ticker": event, "is_yes_only": False, "active_quoters": []}], "is_ordered": True,
        "is_single_market_per_event": False, "is_all_yes": False, "size_min": 2, "size_max": 2, "functional_description": "",
    }, expect=200)
    member = server.new_member("mve-ws@example.com")
    with kalshi_ws(server) as plain, kalshi_ws(server) as combos:
        subscribe(plain, ["market_lifecycle_v2"])
        subscribe(combos, ["multivariate_market_lifecycle"])
        reply = server.request("POST", "/trade-api/v2/multivariate_event_collections/KXMVEWSCOL", {"selected_markets": [
            {"market_ticker": legs[0], "event_ticker": event, "side": "yes"},
            {"market_ticker": legs[1], "event_ticker": event, "side": "yes"}]}, auth=kalshi_v2(member.credentials))
        assert reply.status == 200, reply
        combo = reply.json()["market_ticker"]
        server.admin("POST", f"/markets/{legs[0]}/times", {"close_time": iso_timestamp()}, expect=200)
        server.admin("POST", f"/markets/{legs[0]}/determine", {"result": "no"}, expect=200)
        on_combos = [(m["type"], m["msg"]["event_type"]) for m in barrier(combos) if m["msg"].get("market_ticker") == combo]
        on_plain = [m["msg"] for m in barrier(plain)]
    assert on_combos == [("multivariate_market_lifecycle", event_type) for event_type in
                         ("created", "activated", "deactivated", "determined", "settled")]
    assert all(m.get("market_ticker") != combo for m in on_plain)
    assert [m["event_type"] for m in on_plain if m.get("market_ticker") == legs[0]] == ["close_date_updated", "deactivated",
                                                                                       "determined", "settled"]
