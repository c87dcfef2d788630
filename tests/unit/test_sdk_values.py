"""The SDK's value types and its WebSocket protocol state, without I/O: exact parsing and arithmetic
(no float ever gets in), and what each stream message does to subscriptions and local books."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from predictex.client.environments import root_url, websocket_url
from predictex.client.stream_state import Gap, StreamState
from predictex.client.units import Count, Money, Price


def test_prices_are_exact_and_never_floats() -> None:
    assert str(Price("0.56")) == "0.5600" and Price("0.5600") == Price(Decimal("0.56")) == Price.from_cents(56)
    assert Price("0.5612").centicents == 5612 and Price("0.56").cents == 56
    assert Price("0.56").complement() == Price("0.44")
    with pytest.raises(TypeError, match="never a float"):
        Price(0.56)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ambiguous"):
        Price(56)
    with pytest.raises(ValueError, match="more than 4 decimal places"):
        Price("0.00001")
    with pytest.raises(ValueError):
        Price("NaN")
    with pytest.raises(ValueError):
        Price("0.1234").cents  # noqa: B018 (a sub-penny price has no whole-cent form)


def test_counts_and_money() -> None:
    assert Count(5) == Count("5.00") and str(Count("2.5")) == "2.50" and Count(3).contracts == 3
    assert Price("0.51") * Count(10) == Money("5.10")
    assert str(Price("0.0555") * Count("0.01")) == "0.000555"  # sub-centicent money keeps 6 decimals
    assert str(Money("12.5")) == "12.5000" and Money.from_cents(1234) == Money("12.34")
    assert Money("1") - Money("0.25") == Money("0.75") and -Money("1") < Money("0")
    with pytest.raises(TypeError):
        Money("1") + Price("0.5")  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = Count(1) < Price("0.5")  # type: ignore[operator]
    assert Count(1) != Price("1")
    assert {Price("0.1"), Price("0.10")} == {Price("0.1000")}


def test_urls() -> None:
    assert root_url("local") == "http://127.0.0.1:8000"
    assert root_url("https://demo-api.kalshi.co/trade-api/v2/") == "https://demo-api.kalshi.co"
    assert websocket_url("production") == "wss://api.elections.kalshi.com/trade-api/ws/v2"
    assert websocket_url("http://127.0.0.1:9000") == "ws://127.0.0.1:9000/trade-api/ws/v2"


# --- the stream's protocol state -----------------------------------------------------------------------

def subscribed(state: StreamState, channel: str = "orderbook_delta", sid: int = 1) -> None:
    state.receive({"id": 1, "type": "subscribed", "msg": {"channel": channel, "sid": sid}})


def snapshot(seq: int, yes: list[list[str]], no: list[list[str]], sid: int = 1) -> dict[str, Any]:
    return {"type": "orderbook_snapshot", "sid": sid, "seq": seq,
            "msg": {"market_ticker": "M", "yes_dollars_fp": yes, "no_dollars_fp": no}}


def delta(seq: int, side: str, price: str, change: str, sid: int = 1) -> dict[str, Any]:
    return {"type": "orderbook_delta", "sid": sid, "seq": seq,
            "msg": {"market_ticker": "M", "side": side, "price_dollars": price, "delta_fp": change}}


def prices(state: StreamState) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    book = state.books["M"].orderbook()
    return [(str(b.price), str(b.count)) for b in book.bids], [(str(a.price), str(a.count)) for a in book.asks]


def test_a_book_from_a_snapshot_and_deltas() -> None:
    state = StreamState()
    command = state.subscribe("orderbook_delta", ["M"])
    assert command == {"id": 1, "cmd": "subscribe", "params": {"channels": ["orderbook_delta"], "market_tickers": ["M"]}}
    subscribed(state)
    state.receive(snapshot(1, [["0.40", "5.00"]], [["0.55", "2.00"]]))
    state.receive(delta(2, "yes", "0.41", "3.00"))
    state.receive(delta(3, "yes", "0.40", "-5.00"))
    assert prices(state) == ([("0.4100", "3.00")], [("0.4500", "2.00")])  # a NO bid at 0.55 is a YES ask at 0.45
    assert state.gaps == []


def test_a_gap_asks_for_a_snapshot_and_the_stale_book_waits_for_it() -> None:
    state = StreamState()
    state.subscribe("orderbook_delta", ["M"])
    subscribed(state, sid=7)
    state.receive(snapshot(1, [["0.40", "5.00"]], [], sid=7))
    events, commands = state.receive(delta(3, "yes", "0.41", "1.00", sid=7))  # seq 2 never came
    assert Gap("orderbook_delta", 7, 2, 3) in events
    assert commands == [{"id": 2, "cmd": "update_subscription", "params": {"sid": 7, "action": "get_snapshot"}}]
    assert not state.books["M"].fresh
    state.receive(delta(4, "yes", "0.42", "1.00", sid=7))  # ignored: the book is stale
    assert prices(state) == ([("0.4000", "5.00")], [])
    state.receive(snapshot(5, [["0.40", "5.00"], ["0.42", "1.00"]], [], sid=7))
    assert state.books["M"].fresh and prices(state)[0] == [("0.4200", "1.00"), ("0.4000", "5.00")]


def test_a_book_that_stops_making_sense_is_resynchronised() -> None:
    state = StreamState()
    state.subscribe("orderbook_delta", ["M"])
    subscribed(state)
    state.receive(snapshot(1, [["0.40", "1.00"]], [], sid=1))
    _, commands = state.receive(delta(2, "yes", "0.40", "-2.00"))  # below zero
    assert [c["cmd"] for c in commands] == ["update_subscription"]
    state.receive(snapshot(3, [["0.40", "1.00"]], [["0.50", "1.00"]]))
    _, commands = state.receive(delta(4, "no", "0.61", "1.00"))  # YES bid 0.40 + NO bid 0.61 > 1: crossed
    assert [c["cmd"] for c in commands] == ["update_subscription"] and state.resyncs == 2


def test_reconnect_resubscribes_everything_and_a_refused_snapshot_remakes_the_subscription() -> None:
    state = StreamState()
    state.subscribe("orderbook_delta", ["M"])
    state.subscribe("orderbook_delta", ["N"])
    state.subscribe("fill")
    commands = state.resubscribe()
    assert [(c["params"]["channels"], c["params"].get("market_tickers")) for c in commands] == [
        (["orderbook_delta"], ["M", "N"]), (["fill"], None)]
    subscribed(state, sid=3)
    state.receive(snapshot(1, [], [], sid=3))
    _, asked = state.receive(delta(5, "yes", "0.10", "1.00", sid=3))
    _, remade = state.receive({"id": asked[0]["id"], "type": "error", "msg": {"code": 13, "msg": "Unsupported action"}})
    assert [c["cmd"] for c in remade] == ["unsubscribe", "subscribe"] and remade[0]["params"] == {"sids": [3]}


def test_long_listings_show_progress(capsys: pytest.CaptureFixture[str]) -> None:
    from predictex.cli.output import with_progress

    assert list(with_progress(range(1200), "markets", every=500, enabled=True)) == list(range(1200))
    err = capsys.readouterr().err
    assert "500 markets..." in err and "1,000 markets..." in err and err.rstrip().endswith("1,200 markets.")


def test_an_answer_that_is_not_the_apis_json_reads_as_one_line() -> None:
    from predictex.client.errors import NotFound, ServerError, error_from_response

    page = b"<!DOCTYPE HTML>\n<html>\n  <body>\n    <h1>Error response</h1>\n  </body>\n</html>\n"
    error = error_from_response(404, page)
    assert isinstance(error, NotFound) and (error.code, error.message) == (
        "http_error", "the answer is an HTML page, not the API's JSON: is the URL the exchange's?")
    assert "\n" not in str(error)
    error = error_from_response(502, b"  bad\n\tgateway  " + b"x" * 400)
    assert isinstance(error, ServerError) and error.message.startswith("bad gateway x") and len(error.message) == 300
    error = error_from_response(400, b'{"error": {"code": "invalid_parameters", "message": "invalid parameters", "details": "count"}}')
    assert (error.code, error.message, error.details) == ("invalid_parameters", "invalid parameters", "count")
