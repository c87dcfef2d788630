"""Multivariate event collections through the official Kalshi SDKs (3.34.0, sync and async): the
operator publishes a collection over two events; a member makes a combination market from two legs
(asking twice finds the same market), reads the collection and the combination events, trades the
combination, and when both legs settle on their chosen sides the combination settles YES and pays."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compat.kalshi_sdk import private_key_pem
from compat.kalshi_sdk_calls import run_calls
from integration.server_fixture import V2, Member, RunningServer, iso_timestamp, kalshi_v2, running_server

SERIES = "KXMVE"
EVENTS = {"KXMVE-G1": ["KXMVE-G1-HOME", "KXMVE-G1-AWAY"], "KXMVE-G2": ["KXMVE-G2-HOME", "KXMVE-G2-AWAY"]}
COLLECTION = "KXMVECOMBO"
NOW_S = int(time.time())
LEGS = [{"market_ticker": "KXMVE-G1-HOME", "event_ticker": "KXMVE-G1", "side": "yes"},
        {"market_ticker": "KXMVE-G2-AWAY", "event_ticker": "KXMVE-G2", "side": "no"}]
COLLECTION_DOCUMENT = {
    "series_ticker": SERIES, "title": "Same-day parlay", "description": "Two games", "open_date": NOW_S - 60,
    "close_date": NOW_S + 86_400, "is_ordered": False, "is_single_market_per_event": True, "is_all_yes": False,
    "size_min": 2, "size_max": 2, "functional_description": "all legs must win",
    "associated_events": [{"ticker": event, "is_yes_only": False, "active_quoters": []} for event in EVENTS],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Member]]:
    with running_server(tmp_path_factory.mktemp("sdk-mve")) as server:
        server.admin("POST", "/series", {"ticker": SERIES, "title": "Games"}, expect=201)
        for event, markets in EVENTS.items():
            server.admin("POST", "/events", {"event_ticker": event, "series_ticker": SERIES, "title": event}, expect=201)
            for ticker in markets:
                server.admin("POST", "/markets", {"ticker": ticker, "event_ticker": event, "title": ticker,
                                                  "close_time": NOW_S + 86_400}, expect=201)
        server.admin("PUT", f"/content/mve_collection/{COLLECTION}", COLLECTION_DOCUMENT, expect=200)
        member = server.new_member("mve@example.com")
        server.admin("POST", f"/members/{member.member_id}/deposits", {"amount_cents": 100_000}, expect=201)
        yield server, member


def _run(running: RunningServer, member: Member, python313: Path, calls: list[list[Any]]) -> dict[str, Any]:
    pem = private_key_pem(member)
    summary = run_calls(python313, {"host": running.base_url + V2, "api_key_id": member.credentials.key_id,
                                    "private_key_pem": pem, "calls": calls})
    for flavour in ("sync", "async"):
        failed = [(calls[i][0], a) for i, a in enumerate(summary[flavour]) if "error" in a]
        assert failed == [], f"{flavour} SDK calls failed: {failed}"
    return summary


def test_a_combination_is_made_read_traded_and_settled_from_its_legs(server: tuple[RunningServer, Member], python313: Path) -> None:
    running, member = server
    made = _run(running, member, python313, [
        ["create_market_in_multivariate_event_collection", {"collection_ticker": COLLECTION, "selected_markets": LEGS,
                                                             "with_market_payload": True}],
        ["create_market_in_multivariate_event_collection", {"collection_ticker": COLLECTION, "selected_markets": LEGS[::-1]}],
        ["get_multivariate_event_collections", {"status": "open"}],
        ["get_multivariate_event_collection", {"collection_ticker": COLLECTION}],
        ["get_multivariate_events", {"collection_ticker": COLLECTION, "with_nested_markets": True}],
    ])
    for flavour in ("sync", "async"):
        created, again, listed, one, events = (a["value"] for a in made[flavour])
        combo = created["market_ticker"]
        assert again["market_ticker"] == combo  # the same legs, in any order (the collection is unordered)
        assert created["market"]["mve_collection_ticker"] == COLLECTION
        assert [(leg["market_ticker"], leg["side"]) for leg in created["market"]["mve_selected_legs"]] == [
            ("KXMVE-G1-HOME", "yes"), ("KXMVE-G2-AWAY", "no")]
        assert [c["collection_ticker"] for c in listed["multivariate_contracts"]] == [COLLECTION]
        assert one["multivariate_contract"]["associated_event_tickers"] == list(EVENTS)
        [event] = events["events"]
        assert (event["event_ticker"], [m["ticker"] for m in event["markets"]]) == (created["event_ticker"], [combo])
    combo = made["sync"][0]["value"]["market_ticker"]
    read = _run(running, member, python313, [
        ["get_market", {"ticker": combo}], ["get_markets", {"series_ticker": SERIES, "mve_filter": "only"}],
        ["get_markets", {"series_ticker": SERIES, "mve_filter": "exclude"}], ["get_events", {"series_ticker": SERIES}],
    ])
    for flavour in ("sync", "async"):
        single, only, excluded, events_listed = (a["value"] for a in read[flavour])
        assert single["market"]["mve_collection_ticker"] == COLLECTION
        assert [leg["event_ticker"] for leg in single["market"]["mve_selected_legs"]] == list(EVENTS)
        assert [m["ticker"] for m in only["markets"]] == [combo]
        assert combo not in [m["ticker"] for m in excluded["markets"]] and len(excluded["markets"]) == 4
        assert [e["event_ticker"] for e in events_listed["events"]] == list(EVENTS)  # combinations: /events/multivariate
    buyer = running.account_of(member)
    seller = running.funded_account()
    running.trade(seller, combo, False, 2500, 4)
    running.trade(buyer, combo, True, 2500, 4)
    before = running.get_ok(f"{V2}/portfolio/balance", auth=kalshi_v2(member.credentials))["balance"]
    for ticker, result in (("KXMVE-G1-HOME", "yes"), ("KXMVE-G2-AWAY", "no")):
        running.admin("POST", f"/markets/{ticker}/times", {"close_time": iso_timestamp()}, expect=200)
        running.admin("POST", f"/markets/{ticker}/determine", {"result": result}, expect=200)
    market = running.get_ok(f"{V2}/markets/{combo}")["market"]
    assert (market["status"], market["result"]) == ("finalized", "yes")
    after = running.get_ok(f"{V2}/portfolio/balance", auth=kalshi_v2(member.credentials))["balance"]
    assert after - before == 400  # 4 contracts at $1, in cents


def test_bad_choices_are_refused(server: tuple[RunningServer, Member]) -> None:
    running, member = server
    auth = kalshi_v2(member.credentials)
    path = f"{V2}/multivariate_event_collections/{COLLECTION}"
    for body in ({}, {"selected_markets": LEGS[:1]}, {"selected_markets": [LEGS[0], {**LEGS[0], "market_ticker": "KXMVE-G1-AWAY"}]},
                 {"selected_markets": [LEGS[0], {**LEGS[1], "side": "maybe"}]},
                 {"selected_markets": [LEGS[0], {**LEGS[1], "event_ticker": "KXMVE-G1"}]}, {"selected_markets": "x"}):
        reply = running.request("POST", path, body, auth=auth)
        assert reply.status == 400, (body, reply)
    assert running.request("POST", f"{V2}/multivariate_event_collections/NOPE", {"selected_markets": LEGS}, auth=auth).status == 404
    assert running.request("POST", path, {"selected_markets": LEGS}).status == 401
