"""What the operator scheduled, archived and published, and the combinations members made, survive a
restart: the second server, recovered from the first one's journal, answers every read the same."""

from __future__ import annotations

import time
from pathlib import Path

from integration.server_fixture import V2, RunningServer, iso_timestamp, kalshi_v2, now_ms, running_server

SERIES = "KXRS"
EVENT = "KXRS-27JAN"
MARKETS = [f"{EVENT}-A", f"{EVENT}-B", f"{EVENT}-OLD"]
READS = [
    "/series/fee_changes?show_historical=true", "/events/fee_changes", "/historical/cutoff", "/historical/markets",
    f"/markets?series_ticker={SERIES}", "/milestones", f"/events/{EVENT}/metadata", "/multivariate_event_collections",
    "/events/multivariate?with_nested_markets=true", f"/markets/{MARKETS[0]}", f"/series/{SERIES}",
]


def _setup(server: RunningServer) -> None:
    now_s = int(time.time())
    server.admin("POST", "/series", {"ticker": SERIES, "title": "Restart", "category": "Testing"}, expect=201)
    server.admin("POST", "/events", {"event_ticker": EVENT, "series_ticker": SERIES, "title": "e"}, expect=201)
    for ticker in MARKETS:
        server.admin("POST", "/markets", {"ticker": ticker, "event_ticker": EVENT, "title": ticker, "close_time": now_s + 86_400},
                     expect=201)
    server.admin("POST", f"/markets/{MARKETS[2]}/times", {"close_time": iso_timestamp()}, expect=200)
    server.admin("POST", f"/markets/{MARKETS[2]}/determine", {"result": "no"}, expect=200)
    cutoff = iso_timestamp(now_ms())
    server.admin("PUT", "/historical/cutoff", {"market_settled_ts": cutoff}, expect=200)
    server.admin("POST", "/fee_changes", {"series_ticker": SERIES, "fee_type": "flat", "fee_multiplier": "0.25"}, expect=201)
    server.admin("POST", "/fee_changes", {"series_ticker": SERIES, "fee_type": "quadratic", "fee_multiplier": 1,
                                          "scheduled_ts": "2099-01-01T00:00:00Z"}, expect=201)
    server.admin("POST", "/fee_changes", {"event_ticker": EVENT, "fee_type": "quadratic_with_maker_fees"}, expect=201)
    server.admin("POST", f"/markets/{MARKETS[0]}/terms", {"yes_sub_title": "above 5", "price_level_structure": "deci_cent"}, expect=200)
    server.admin("PUT", "/content/milestone/ms-r", {
        "category": "Sports", "type": "game", "start_date": now_s, "related_event_tickers": [EVENT], "title": "t",
        "notification_message": "", "details": {}, "primary_event_tickers": []}, expect=200)
    server.admin("PUT", f"/content/event_metadata/{EVENT}", {"image_url": "https://img.example/r.png", "market_details": []},
                 expect=200)
    server.admin("PUT", "/content/mve_collection/KXRSCOMBO", {
        "series_ticker": SERIES, "title": "combo", "description": "", "open_date": now_s - 60, "close_date": now_s + 3600,
        "associated_events": [{"ticker": EVENT, "is_yes_only": False, "active_quoters": []}], "is_ordered": False,
        "is_single_market_per_event": False, "is_all_yes": False, "size_min": 2, "size_max": 2, "functional_description": "",
    }, expect=200)
    member = server.new_member("restart@example.com")
    reply = server.request("POST", f"{V2}/multivariate_event_collections/KXRSCOMBO", {"selected_markets": [
        {"market_ticker": MARKETS[0], "event_ticker": EVENT, "side": "yes"},
        {"market_ticker": MARKETS[1], "event_ticker": EVENT, "side": "no"}]}, auth=kalshi_v2(member.credentials))
    assert reply.status == 200, reply


def _reads(server: RunningServer) -> dict[str, object]:
    answers = {}
    for path in READS:
        body = server.get_ok(V2 + path)
        if "market" in body:
            body["market"].pop("volume_24h_fp", None)
        answers[path] = body
    return answers


def test_everything_scheduled_archived_and_published_survives_a_restart(tmp_path: Path) -> None:
    with running_server(tmp_path) as first:
        _setup(first)
        before = _reads(first)
    with running_server(tmp_path) as second:
        after = _reads(second)
    assert after == before
    assert [m["ticker"] for m in after["/historical/markets"]["markets"]] == [MARKETS[2]]  # type: ignore[index]
    assert len(after["/events/multivariate?with_nested_markets=true"]["events"]) == 1  # type: ignore[index]
