"""The official Kalshi SDKs (3.34.0, sync and async) read what the operator published through
/predictex/v1/admin/content: event metadata, a forecast history, milestones and their live data and
play by play, structured targets, an event's live data, a city's weather index and calibrations,
sport filters, incentive programs, and the tags of the series' categories. Every answer parses into
the SDK's strict models and carries what was published."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compat.kalshi_sdk import private_key_pem
from compat.kalshi_sdk_calls import run_calls_that_succeed
from integration.server_fixture import V2, Member, RunningServer, kalshi_v2, running_server

SERIES = "KXPUB"
EVENT = "KXPUB-27JAN"
MARKETS = ["KXPUB-27JAN-A", "KXPUB-27JAN-B"]
NOW_S = int(time.time())

DOCUMENTS: list[tuple[str, str, dict[str, Any]]] = [
    ("event_metadata", EVENT, {
        "image_url": "https://img.example/e.png", "competition": "NFL",
        "market_details": [{"market_ticker": MARKETS[0], "image_url": "https://img.example/a.png", "color_code": "#ff0000"}],
    }),
    ("forecast_history", EVENT, {"forecast_history": [
        {"end_period_ts": NOW_S - 3600, "period_interval": 60, "percentile_points": [
            {"percentile": 5000, "raw_numerical_forecast": 3.25, "numerical_forecast": 3.3, "formatted_forecast": "3.3%"},
            {"percentile": 9000, "raw_numerical_forecast": 4, "numerical_forecast": 4, "formatted_forecast": "4.0%"}]},
        {"end_period_ts": NOW_S - 60, "period_interval": 1, "percentile_points": []},
    ]}),
    ("milestone", "ms-1", {
        "category": "Sports", "type": "football_game", "start_date": NOW_S + 3600, "related_event_tickers": [EVENT],
        "title": "A at B", "notification_message": "kick-off", "details": {"competition": "NFL"},
        "primary_event_tickers": [EVENT],
    }),
    ("milestone", "ms-2", {
        "category": "Politics", "type": "election", "start_date": "2027-11-02T00:00:00Z", "related_event_tickers": [],
        "title": "Election", "notification_message": "", "details": {}, "primary_event_tickers": [],
    }),
    ("live_data", "ms-1", {"type": "football_game", "details": {"home_points": 7, "away_points": 3}}),
    ("game_stats", "ms-1", {"pbp": {"periods": [{"events": [{"play": "touchdown"}]}]}}),
    ("structured_target", "st-1", {"name": "Team A", "type": "basketball_team", "details": {"competition": "NBA"}}),
    ("event_live_data", EVENT, {"type": "price_chart", "details": {"points": [1, 2]}, "range_options": ["1d", "1w"]}),
    ("weather_index", "miami", {"units": "F", "config_version": "v3", "timeseries": [
        {"t": NOW_S * 1000 - 120_000, "v": 81.25, "status": "ok", "stations": [{"station_id": "KMIA", "code": "ok"}]},
        {"t": NOW_S * 1000 - 60_000, "status": "no_quorum"},
    ]}),
    ("weather_calibrations", "miami", {"units": "C", "calibrations": [
        {"config_version": "v3", "effective_at_ms": 1_700_000_000_000, "city_reference_c": 27.5,
         "stations": [{"station_id": "KMIA", "weight": 1, "offset_c": -0.2}]}]}),
    ("sport_filters", "Football", {"scopes": ["Games"], "competitions": {"NFL": {"scopes": ["Games", "Futures"]}}}),
    ("incentive_program", "inc-1", {
        "market_ticker": MARKETS[0], "incentive_type": "liquidity", "incentive_description": "resting liquidity",
        "start_date": NOW_S - 86_400, "end_date": NOW_S + 86_400, "period_reward": 50_000}),
    ("incentive_program", "inc-2", {
        "market_ticker": MARKETS[1], "incentive_type": "volume", "incentive_description": "volume",
        "start_date": NOW_S + 86_400, "end_date": NOW_S + 2 * 86_400, "period_reward": 10_000}),
]

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("get_event_metadata", {"event_ticker": EVENT}),
    ("get_event_forecast_percentiles_history", {"ticker": EVENT, "series_ticker": SERIES, "percentiles": [5000],
                                                "start_ts": NOW_S - 86_400, "end_ts": NOW_S, "period_interval": 60}),
    ("get_milestones", {"limit": 1}),
    ("get_milestones", {"category": "Sports", "limit": 10}),
    ("get_milestone", {"milestone_id": "ms-2"}),
    ("get_structured_targets", {"type": "basketball_team"}),
    ("get_structured_target", {"structured_target_id": "st-1"}),
    ("get_live_data", {"type": "football_game", "milestone_id": "ms-1"}),
    ("get_live_datas", {"milestone_ids": ["ms-1", "ms-2"]}),
    ("get_live_data_by_milestone", {"milestone_id": "ms-1"}),
    ("get_game_stats", {"milestone_id": "ms-1"}),
    ("get_event_live_data", {"event_ticker": EVENT}),
    ("get_weather_index", {"city": "miami", "last_sec": 3600, "detailed": True}),
    ("get_weather_index_calibrations", {"city": "miami"}),
    ("get_tags_for_series_categories", {}),
    ("get_filters_for_sports", {}),
    ("get_incentive_programs", {"status": "active"}),
    ("get_incentive_programs", {}),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Member]]:
    with running_server(tmp_path_factory.mktemp("sdk-published")) as server:
        server.admin("POST", "/series", {"ticker": SERIES, "title": "Published", "category": "Sports", "tags": ["Football", "NFL"],
                                         "settlement_sources": [{"name": "NFL", "url": "https://nfl.example"}]}, expect=201)
        server.admin("POST", "/events", {"event_ticker": EVENT, "series_ticker": SERIES, "title": "An event"}, expect=201)
        for ticker in MARKETS:
            server.admin("POST", "/markets", {"ticker": ticker, "event_ticker": EVENT, "title": ticker, "close_time": NOW_S + 86_400 * 30},
                         expect=201)
        for kind, key, document in DOCUMENTS:
            server.admin("PUT", f"/content/{kind}/{key}", document, expect=200)
        yield server, server.new_member("published@example.com")


@pytest.fixture(scope="module")
def answers(server: tuple[RunningServer, Member], python313: Path) -> dict[str, list[dict[str, Any]]]:
    running, member = server
    pem = private_key_pem(member)
    context = {"host": running.base_url + V2, "api_key_id": member.credentials.key_id, "private_key_pem": pem,
               "calls": [list(call) for call in CALLS]}
    return run_calls_that_succeed(python313, context)


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_every_published_document_reads_back_through_the_sdk(answers: dict[str, Any], flavour: str) -> None:
    (metadata, forecast, first_milestone, sports, election, targets, target, live, batch, by_milestone, pbp, event_live,
     weather, calibrations, tags, sports_filters, active, programs) = (a["value"] for a in answers[flavour])
    assert metadata["image_url"] == "https://img.example/e.png" and metadata["competition"] == "NFL"
    assert metadata["market_details"][0]["color_code"] == "#ff0000"
    assert metadata["settlement_sources"] == [{"name": "NFL", "url": "https://nfl.example"}]
    [point] = forecast["forecast_history"]
    assert (point["event_ticker"], [p["percentile"] for p in point["percentile_points"]]) == (EVENT, [5000])
    assert [m["id"] for m in first_milestone["milestones"]] == ["ms-1"] and first_milestone["cursor"]
    assert [m["id"] for m in sports["milestones"]] == ["ms-1"]
    assert (election["milestone"]["title"], election["milestone"]["start_date"][:10]) == ("Election", "2027-11-02")
    assert [t["id"] for t in targets["structured_targets"]] == ["st-1"] and target["structured_target"]["name"] == "Team A"
    assert live["live_data"] == {"type": "football_game", "details": {"home_points": 7, "away_points": 3}, "milestone_id": "ms-1"}
    assert [d["milestone_id"] for d in batch["live_datas"]] == ["ms-1"]
    assert by_milestone == live
    assert pbp["pbp"]["periods"][0]["events"] == [{"play": "touchdown"}]
    assert event_live["live_data"]["range_options"] == ["1d", "1w"]
    assert [p["v"] for p in weather["timeseries"]] == [81.25]  # a minute without quorum is a gap
    assert weather["timeseries"][0]["stations"][0]["station_id"] == "KMIA"
    assert calibrations["calibrations"][0]["stations"][0]["offset_c"] == -0.2
    assert tags["tags_by_categories"]["Sports"] == ["Football", "NFL"]  # the demo series add categories of their own
    assert sports_filters["sport_ordering"] == ["Football"]
    assert sports_filters["filters_by_sports"]["Football"]["competitions"]["NFL"]["scopes"] == ["Games", "Futures"]
    assert [p["id"] for p in active["incentive_programs"]] == ["inc-1"]
    assert [(p["id"], p["period_reward"]) for p in programs["incentive_programs"]] == [("inc-1", 50_000), ("inc-2", 10_000)]


def test_the_operator_api_refuses_malformed_documents_and_withdraws_them(server: tuple[RunningServer, Member]) -> None:
    running, member = server
    for kind, key, document in (
        ("gossip", "x", {}), ("milestone", "bad", {"category": "Sports"}),
        ("milestone", "bad", {**DOCUMENTS[2][2], "start_date": "soon"}),
        ("milestone", "bad", {**DOCUMENTS[2][2], "start_date": 10**18}),
        ("live_data", "bad", {"type": 5, "details": {}}), ("live_data", "bad", {"type": "x", "details": {}, "extra": 1}),
        ("event_metadata", "NO-EVENT", DOCUMENTS[0][2]),
        ("incentive_program", "bad", {**DOCUMENTS[11][2], "market_ticker": "NOPE"}),
        ("event_metadata", EVENT, {**DOCUMENTS[0][2], "market_details": [{"market_ticker": "ELSEWHERE", "image_url": "", "color_code": ""}]}),
    ):
        reply = running.admin("PUT", f"/content/{kind}/{key}", document)
        assert reply.status in (400, 404), (kind, document, reply)
    assert running.request("PUT", "/predictex/v1/admin/content/milestone/x", DOCUMENTS[2][2], auth=kalshi_v2(member.credentials)).status == 403
    running.admin("PUT", "/content/milestone/ms-3", DOCUMENTS[3][2], expect=200)
    assert running.get(f"{V2}/milestones/ms-3").status == 200
    running.admin("DELETE", "/content/milestone/ms-3", expect=200)
    assert running.get(f"{V2}/milestones/ms-3").status == 404
    assert running.admin("DELETE", "/content/milestone/ms-3").status == 404
