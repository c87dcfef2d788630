"""The official Kalshi SDKs (3.34.0, sync and async) read what the operator scheduled and archived: fee
changes of a series and fee overrides of an event, and the historical tier after the operator moved
the archive cutoff past a settled market. Every answer parses into the SDK's strict models, and the
values are the ones the operator set and the member traded.

Setup, over the operator's API and in-process: a series with two markets; a member buys 3 YES of the
first from a maker; the first market is closed, determined and settled; the operator moves the cutoff
to now; then the member trades the second market (live, after the cutoff)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compat.kalshi_sdk import private_key_pem
from compat.kalshi_sdk_calls import run_calls_that_succeed
from integration.server_fixture import V2, Member, RunningServer, iso_timestamp, kalshi_v2, now_ms, running_server

SERIES = "KXCAT"
EVENT = "KXCAT-27JAN"
OLD = "KXCAT-27JAN-OLD"  # settled, then archived
NEW = "KXCAT-27JAN-NEW"  # traded after the cutoff
FUTURE = "2099-01-01T00:00:00Z"


class Scene:
    def __init__(self, server: RunningServer, member: Member, cutoff_ms: int) -> None:
        self.server = server
        self.member = member
        self.cutoff_ms = cutoff_ms


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    with running_server(tmp_path_factory.mktemp("sdk-catalog")) as server:
        server.create_instruments(SERIES, EVENT, [OLD, NEW])
        member = server.new_member("catalog@example.com")
        account = server.account_of(member)
        server.admin("POST", f"/members/{member.member_id}/deposits", {"amount_cents": 100_000}, expect=201)
        maker = server.funded_account()
        server.trade(maker, OLD, False, 4000, 3)  # rests: sells YES at 0.40
        server.trade(account, OLD, True, 4000, 3)  # the member buys 3 YES at 0.40
        server.admin("POST", f"/markets/{OLD}/times", {"close_time": iso_timestamp()}, expect=200)
        server.admin("POST", f"/markets/{OLD}/determine", {"result": "yes"}, expect=200)
        server.admin("POST", f"/markets/{OLD}/finalize", expect=None)
        cutoff_ms = now_ms()
        cutoff = iso_timestamp(cutoff_ms)
        server.admin("PUT", "/historical/cutoff", {"market_settled_ts": cutoff, "trades_created_ts": cutoff, "orders_updated_ts": cutoff},
                     expect=200)
        server.trade(maker, NEW, False, 6000, 2)
        server.trade(account, NEW, True, 6000, 2)  # after the cutoff: live
        server.admin("POST", "/fee_changes", {"series_ticker": SERIES, "fee_type": "quadratic_with_maker_fees", "fee_multiplier": "0.5",
                                              "scheduled_ts": FUTURE}, expect=201)
        server.admin("POST", "/fee_changes", {"series_ticker": SERIES, "fee_type": "quadratic", "fee_multiplier": 2}, expect=201)
        server.admin("POST", "/fee_changes", {"event_ticker": EVENT, "fee_type": "flat"}, expect=201)
        server.admin("POST", "/fee_changes", {"event_ticker": EVENT}, expect=201)  # cleared again
        yield Scene(server, member, cutoff_ms)


CALLS: list[tuple[str, dict[str, Any]]] = [
    ("get_historical_cutoff", {}),
    ("get_historical_markets", {}),
    ("get_historical_market", {"ticker": OLD}),
    ("get_market_candlesticks_historical", {"ticker": OLD, "start_ts": 0, "end_ts": 0, "period_interval": 1440}),
    ("get_trades_historical", {}),
    ("get_fills_historical", {}),
    ("get_historical_orders", {}),
    ("get_historical_positions", {}),
    ("get_markets", {"series_ticker": SERIES}),
    ("get_trades", {"ticker": OLD}),
    ("get_fills", {}),
    ("get_series_fee_changes", {"series_ticker": SERIES}),
    ("get_series_fee_changes", {"series_ticker": SERIES, "show_historical": True}),
    ("get_event_fee_changes", {"event_ticker": EVENT}),
    ("get_event_fee_changes", {"event_ticker": EVENT, "limit": 1}),
]


@pytest.fixture(scope="module")
def answers(scene: Scene, python313: Path) -> dict[str, list[dict[str, Any]]]:
    member = scene.member
    pem = private_key_pem(member)
    today = now_ms() // 1000
    calls = [
        [name, {**arguments, "start_ts": today - 86_400, "end_ts": today + 86_400} if "start_ts" in arguments else arguments]
        for name, arguments in CALLS
    ]
    context = {"host": scene.server.base_url + V2, "api_key_id": member.credentials.key_id, "private_key_pem": pem, "calls": calls}
    return run_calls_that_succeed(python313, context)


def _rfc3339(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat()


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_the_historical_tier_holds_what_the_cutoff_archived(answers: dict[str, Any], scene: Scene, flavour: str) -> None:
    got = {CALLS[i][0] + ("" if i < 12 else f"#{i}"): a for i, a in enumerate(answers[flavour])}
    cutoff = got["get_historical_cutoff"]
    assert cutoff["model"] == "GetHistoricalCutoffResponse"
    assert dt.datetime.fromisoformat(str(cutoff["value"]["trades_created_ts"])).timestamp() == scene.cutoff_ms / 1000
    assert [m["ticker"] for m in got["get_historical_markets"]["value"]["markets"]] == [OLD]
    old = got["get_historical_market"]["value"]["market"]
    assert (old["ticker"], old["status"], old["result"]) == (OLD, "finalized", "yes")
    [candle] = got["get_market_candlesticks_historical"]["value"]["candlesticks"]
    assert (candle["price"]["close"], candle["volume"]) == ("0.4000", "3.00")
    [trade] = got["get_trades_historical"]["value"]["trades"]
    assert (trade["ticker"], trade["count_fp"], trade["yes_price_dollars"]) == (OLD, "3.00", "0.4000")
    [fill] = got["get_fills_historical"]["value"]["fills"]
    assert (fill["ticker"], fill["count_fp"]) == (OLD, "3.00")
    [order] = got["get_historical_orders"]["value"]["orders"]
    assert (order["ticker"], order["status"]) == (OLD, "executed")
    positions = got["get_historical_positions"]["value"]
    assert [p["ticker"] for p in positions["market_positions"]] == [OLD]
    assert [e["event_ticker"] for e in positions["event_positions"]] == [EVENT]
    # the live tier no longer lists what was archived
    assert [m["ticker"] for m in got["get_markets"]["value"]["markets"]] == [NEW]
    assert got["get_trades"]["value"]["trades"] == []
    assert [f["ticker"] for f in got["get_fills"]["value"]["fills"]] == [NEW]


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_fee_changes_read_as_scheduled(answers: dict[str, Any], flavour: str) -> None:
    pending, everything, overrides, first_page = (answers[flavour][i]["value"] for i in range(11, 15))
    assert [(c["fee_type"], c["fee_multiplier"]) for c in pending["series_fee_change_arr"]] == [("quadratic_with_maker_fees", 0.5)]
    assert [(c["fee_type"], c["fee_multiplier"]) for c in everything["series_fee_change_arr"]] == [
        ("quadratic", 2), ("quadratic_with_maker_fees", 0.5)]
    assert [(c["fee_type_override"], c.get("fee_multiplier_override")) for c in overrides["event_fee_changes"]] == [
        ("flat", None), (None, None)]
    assert overrides["cursor"] == ""
    assert len(first_page["event_fee_changes"]) == 1 and first_page["cursor"]


def test_what_the_operator_scheduled_is_refused_when_malformed_and_the_series_shows_the_fee_in_force(scene: Scene) -> None:
    server = scene.server
    for body in ({}, {"series_ticker": SERIES}, {"series_ticker": SERIES, "fee_type": "cubic", "fee_multiplier": 1},
                 {"series_ticker": "NOPE", "fee_type": "flat", "fee_multiplier": 1}, {"event_ticker": EVENT, "surprise": 1},
                 {"series_ticker": SERIES, "fee_type": "flat", "fee_multiplier": 1, "scheduled_ts": "yesterday"}):
        reply = server.admin("POST", "/fee_changes", body)
        assert reply.status in (400, 404), (body, reply)
    assert server.admin("PUT", "/historical/cutoff", {"market_settled_ts": "2001-01-01T00:00:00Z"}).status == 400  # backwards
    assert server.admin("PUT", "/historical/cutoff", {"market_settled_ts": FUTURE}).status == 400
    series = server.get_ok(f"{V2}/series/{SERIES}")["series"]
    assert (series["fee_type"], series["fee_multiplier"]) == ("quadratic", 2)
    member_auth = kalshi_v2(scene.member.credentials)
    assert server.request("POST", "/predictex/v1/admin/fee_changes", {"series_ticker": SERIES}, auth=member_auth).status == 403
    assert server.get(f"{V2}/markets/{OLD}").status == 404
    assert server.get(f"{V2}/historical/markets/{NEW}").status == 404
