"""Refusals over real HTTP: every error is {"error": {"code", "message", "details"?}} with the right
status, and every malformed input (bad JSON, wrong types, unknown tickers, huge numbers, oversized
bodies, URLs and headers, garbage HTTP) gets a 4xx that names the problem, never a 500, and never
stops the exchange."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from integration.server_fixture import ADMIN, DEMO_TICKER, V2, Member, Reply, RunningServer, kalshi_v2, running_server

KEYS = V2 + "/api_keys"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("errors")) as running:
        yield running


@pytest.fixture(scope="module")
def member(server: RunningServer) -> Member:
    return server.new_member("errors@example.com", tier="prestige")


def _error(reply: Reply, status: int, code: str | None = None) -> dict[str, Any]:
    """The reply is `status` with Kalshi's wrapped error body (and JSON content type)."""
    assert reply.status == status, reply
    assert reply.headers["content-type"] == "application/json", reply.headers
    body = reply.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) <= {"code", "message", "details"} and isinstance(error["code"], str) and error["message"], error
    assert all(isinstance(value, str) for value in error.values()), error
    if code is not None:
        assert error["code"] == code, error
    return error


def _text(error: dict[str, Any]) -> str:
    return f"{error['message']} {error.get('details', '')}"


def _still_serving(server: RunningServer) -> None:
    health = server.get_ok("/health")
    assert health["status"] == "ok" and health["committed_seq"] == health["applied_seq"]


# --- routes ------------------------------------------------------------------------------------------

def test_an_unknown_endpoint_is_404(server: RunningServer) -> None:
    error = _error(server.get("/trade-api/v2/nothing/here"), 404, "not_found")
    assert error["message"] == "no such endpoint: GET /trade-api/v2/nothing/here"


def test_a_known_path_with_the_wrong_method_is_405_with_allow(server: RunningServer) -> None:
    reply = server.request("DELETE", V2 + "/markets")
    _error(reply, 405, "method_not_allowed")
    assert reply.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", [
    f"{V2}/markets/NOPE-1", f"{V2}/markets/NOPE-1/orderbook", f"{V2}/markets/orderbooks?tickers=NOPE-1",
    f"{V2}/series/INXCHI/markets/NOPE-1/candlesticks?start_ts=0&end_ts=60&period_interval=1",
    f"{V2}/markets/candlesticks?market_tickers=NOPE-1&start_ts=0&end_ts=60&period_interval=1",
    "/v1/markets/NOPE-1", "/v1/markets/NOPE-1/orderbook", "/v1/markets/NOPE-1/settlement",
])
def test_an_unknown_ticker_is_404_naming_it(server: RunningServer, path: str) -> None:
    error = _error(server.get(path), 404, "market_not_found")
    assert "NOPE-1" in _text(error)


@pytest.mark.parametrize(("path", "ticker"), [(f"{V2}/series/NOPE-S", "NOPE-S"), (f"{V2}/events/NOPE-E", "NOPE-E"),
                                              (f"{V2}/series/INXCHI/events/NOPE-E/candlesticks?start_ts=0&end_ts=60&period_interval=1",
                                               "NOPE-E")])
def test_an_unknown_series_or_event_is_404_naming_it(server: RunningServer, path: str, ticker: str) -> None:
    assert ticker in _text(_error(server.get(path), 404, "not_found"))


def test_odd_bytes_in_a_ticker_are_just_not_found(server: RunningServer) -> None:
    for path in (f"{V2}/markets/%00", f"{V2}/markets/%FF%FE", "/v1/markets/%E2%82", f"{V2}/markets/a%2Fb", f"{V2}/events/%20"):
        _error(server.get(path), 404)


# --- query parameters ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "words"), [
    ("/markets?limit=abc", "limit must be an integer, not 'abc'"),
    ("/markets?limit=0", "limit must be at least 1"),
    ("/markets?limit=1.5", "limit must be an integer"),
    ("/markets?status=bogus", "status must be one of unopened, open, paused, closed, settled"),
    ("/markets?cursor=not-a-cursor", "cursor is not one this server issued"),
    ("/markets?cursor=WzEsMl0", "cursor is not one this server issued"),  # a well-formed cursor of the wrong shape
    ("/markets?min_close_ts=yesterday", "min_close_ts must be an integer"),
    ("/events?with_nested_markets=maybe", "with_nested_markets must be true or false"),
    ("/events?limit=-3", "limit must be at least 1"),
    (f"/markets/{DEMO_TICKER}/orderbook?depth=deep", "depth must be an integer"),
    ("/markets/orderbooks", "tickers must name 1 to 100 markets"),
    ("/markets/trades?min_ts=-1", "min_ts must be between 0"),
    ("/markets/trades?is_block_trade=2", "is_block_trade must be true or false"),
    ("/markets/candlesticks?start_ts=0&end_ts=60&period_interval=1", "market_tickers must name 1 to 100 markets"),
])
def test_bad_query_parameters_are_400_naming_them(server: RunningServer, query: str, words: str) -> None:
    error = _error(server.get(V2 + query), 400, "invalid_parameters")
    assert words in error["message"], error


@pytest.mark.parametrize("query", [
    "/markets/trades?min_ts=1180591620717411303424", "/markets/trades?max_ts=99999999999999999999",
    f"/series/INXCHI/markets/{DEMO_TICKER}/candlesticks?start_ts=4611686018427387904&end_ts=4611686018427387904&period_interval=1440",
    "/markets?min_created_ts=1180591620717411303424", f"/markets/{DEMO_TICKER}/orderbook?depth=-99999999999999999999",
])
def test_huge_numbers_in_a_query_are_400_not_500(server: RunningServer, query: str) -> None:
    error = _error(server.get(V2 + query), 400, "invalid_parameters")
    assert "must be between" in error["message"]
    _still_serving(server)


# --- bodies --------------------------------------------------------------------------------------------------

BODY_ENDPOINTS = [
    ("POST", ADMIN + "/series", "admin"), ("POST", ADMIN + "/markets", "admin"), ("POST", KEYS + "/generate", "member"),
    ("POST", KEYS, "member"), ("POST", V2 + "/login", None), ("POST", "/predictex/v1/members", None),
    ("POST", "/predictex/v1/withdrawals", "member"),
]


@pytest.mark.parametrize(("raw", "words"), [
    (b"{", "malformed JSON"), (b'{"ticker": "A",}', "malformed JSON"), (b"\xff\xfe{}", "malformed JSON"),
    (b'{"a": NaN}', "malformed JSON"), (b"[" * 5000 + b"]" * 5000, "malformed JSON"),
    (b"[]", "the JSON body must be an object"), (b'"text"', "the JSON body must be an object"), (b"17", "must be an object"),
])
@pytest.mark.parametrize(("method", "path", "who"), BODY_ENDPOINTS)
def test_malformed_json_is_400(server: RunningServer, member: Member, method: str, path: str, who: str | None, raw: bytes,
                               words: str) -> None:
    auth = kalshi_v2(server.operator) if who == "admin" else kalshi_v2(member.credentials) if who == "member" else None
    error = _error(server.request(method, path, raw=raw, auth=auth), 400, "invalid_parameters")
    assert words in error["message"], error


@pytest.mark.parametrize(("path", "body", "code", "words"), [
    (ADMIN + "/series", {"ticker": 5}, "invalid_parameters", "ticker must be a string"),
    (ADMIN + "/series", {"ticker": "KXT", "tags": "one"}, "invalid_parameters", "tags must be a list of strings"),
    (ADMIN + "/series", {"ticker": "KXT", "fee_multiplier": [1]}, "invalid_parameters", "fee_multiplier must be an integer"),
    (ADMIN + "/series", {"ticker": "KXT", "settlement_sources": [{"name": 1}]}, "invalid_parameters", "name must be a string"),
    (ADMIN + "/events", {"event_ticker": "KXT-E", "series_ticker": "INXCHI", "mutually_exclusive": "yes"}, "invalid_parameters",
     "mutually_exclusive must be true or false"),
    (ADMIN + "/events", {"event_ticker": "KXT-E", "series_ticker": "INXCHI", "strike_date": "soon"}, "invalid_parameters",
     "strike_date must be Unix seconds or an RFC 3339 time"),
    (ADMIN + "/markets", {"ticker": "KXT-M", "event_ticker": "INXCHI-25JAN31", "close_time": "tomorrow"}, "invalid_parameters",
     "close_time must be Unix seconds or an RFC 3339 time"),
    (ADMIN + "/markets", {"ticker": "KXT-M", "event_ticker": "INXCHI-25JAN31", "close_time": "2030-01-01T00:00:00"},
     "invalid_parameters", "close_time needs a time zone"),
    (ADMIN + "/markets", {"ticker": "KXT-M", "event_ticker": "INXCHI-25JAN31", "close_time": 4_000_000_000,
                          "settlement_timer_seconds": "600"}, "invalid_parameters", "settlement_timer_seconds must be an integer"),
    (ADMIN + "/markets", {"ticker": "KXT-M", "event_ticker": "INXCHI-25JAN31", "close_time": 4_000_000_000, "floor_strike": 1.5},
     "invalid_parameters", "floor_strike must be a number written as a string"),
    (ADMIN + "/markets", {"ticker": "KXT-M", "event_ticker": "INXCHI-25JAN31", "close_time": True}, "invalid_parameters",
     "close_time must be Unix seconds"),
    (ADMIN + "/exchange/status", {"trading_active": "no"}, "invalid_parameters", "trading_active must be true or false"),
    (ADMIN + "/members", {"email": "t@example.com", "password": "long enough", "role": "root"}, "invalid_parameters", "'root'"),
    (V2 + "/login", {"email": "a@example.com", "password": 12345678}, "invalid_parameters", "password must be a string"),
    (V2 + "/login", {"email": "a@example.com", "password": "x" * 1025}, "invalid_parameters", "password is longer than 1024"),
    ("/predictex/v1/members", {"email": None, "password": "long enough"}, "missing_parameters", "email is required"),
])
def test_wrong_types_and_missing_fields_are_400_naming_the_field(server: RunningServer, path: str, body: dict[str, Any], code: str,
                                                                   words: str) -> None:
    auth = kalshi_v2(server.operator) if path.startswith(ADMIN) else None
    error = _error(server.request("POST", path, body, auth=auth), 400, code)
    assert words in _text(error), error


@pytest.mark.parametrize(("path", "body"), [
    ("/members/{member}/deposits", {"amount_dollars": "99999999999999999999999.00"}),
    ("/members/{member}/deposits", {"amount_cents": 4_611_686_018_427_387_904}),
    ("/members/{member}/withdrawals", {"amount_dollars": "99999999999999999999999.00"}),
    ("/markets", {"ticker": "KXT-BIG", "event_ticker": "INXCHI-25JAN31", "close_time": 4_000_000_000,
                  "settlement_timer_seconds": 18_446_744_073_709_551_615}),
    ("/series", {"ticker": "KXT-BIG", "fee_multiplier": 9_223_372_036_854_775_807}),
])
def test_huge_numbers_in_a_body_are_400_and_the_exchange_keeps_running(server: RunningServer, member: Member, path: str,
                                                                        body: dict[str, Any]) -> None:
    reply = server.admin("POST", path.replace("{member}", member.member_id), body)
    assert reply.status == 400, reply
    _error(reply, 400)
    _still_serving(server)
    assert server.admin("POST", f"/members/{member.member_id}/deposits", {"amount_dollars": "10.00"}).status == 201


@pytest.mark.parametrize(("path", "body"), [
    ("/markets", {"ticker": "KXT-FAR", "event_ticker": "INXCHI-25JAN31", "close_time": 9_223_372_036_854_775}),
    ("/markets", {"ticker": "KXT-FAR", "event_ticker": "INXCHI-25JAN31", "close_time": 300_000_000_000}),
    ("/markets", {"ticker": "KXT-FAR", "event_ticker": "INXCHI-25JAN31", "close_time": 4_000_000_000, "open_time": -60}),
    ("/markets", {"ticker": "KXT-FAR", "event_ticker": "INXCHI-25JAN31", "close_time": "0001-01-01T00:00:00Z"}),
    ("/events", {"event_ticker": "INXCHI-FAR", "series_ticker": "INXCHI", "strike_date": 300_000_000_000}),
    ("/markets/INXCHI-25JAN31-T69.5/times", {"close_time": 9_223_372_036_854_775}),
])
def test_times_past_year_9999_are_400_and_every_list_still_reads(server: RunningServer, path: str, body: dict[str, Any]) -> None:
    error = _error(server.admin("POST", path, body), 400, "invalid_parameters")
    assert "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z" in error["message"]
    for listing in (V2 + "/markets", V2 + "/events?with_nested_markets=true", "/v1/markets"):
        assert server.get(listing).status == 200


# --- HTTP limits ---------------------------------------------------------------------------------------------

def test_an_oversized_body_is_413(server: RunningServer) -> None:
    reply = server.request("POST", V2 + "/login", raw=b'{"email": "' + b"x" * 1_100_000 + b'"}')
    error = _error(reply, 413, "payload_too_large")
    assert "larger than 1000000 bytes" in error["message"]
    _still_serving(server)


def test_an_oversized_url_is_414(server: RunningServer) -> None:
    error = _error(server.get(V2 + "/markets?tickers=" + "A," * 5000), 414, "uri_too_long")
    assert "longer than 8192 bytes" in error["message"]


def test_too_many_or_too_large_headers_are_431(server: RunningServer) -> None:
    _error(server.get(V2 + "/markets", headers={f"X-Header-{n}": "v" for n in range(150)}), 431, "headers_too_large")
    _error(server.get(V2 + "/markets", headers={"X-Big": "v" * 20_000}), 431, "headers_too_large")
    _still_serving(server)


def test_garbage_http_is_400_and_the_server_keeps_serving(server: RunningServer) -> None:
    for garbage in (b"HELLO THERE\r\n\r\n", b"GET /markets HTTP/9.9\r\n\r\n", b"GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"):  # the last: a TLS ClientHello on the plain port
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
            connection.sendall(garbage)
            connection.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
        assert b'"code":"bad_request"' in answer
    _still_serving(server)


def test_auth_refusals_use_the_same_error_body(server: RunningServer) -> None:
    error = _error(server.get(KEYS), 401, "authentication_error")
    assert error["message"] == "missing_header" and "KALSHI-ACCESS-KEY" in error["details"]


def test_rate_limit_refusals_use_kalshis_429_body(server: RunningServer) -> None:
    member = server.new_member("limited@example.com", tier="basic")
    for _ in range(300):
        reply = server.request("POST", KEYS + "/generate", {"name": "x", "scopes": "bad"}, auth=kalshi_v2(member.credentials))
        if reply.status == 429:
            break
        assert reply.status == 400, reply  # refused for its body, after being charged
    assert reply.status == 429 and reply.json() == {"error": "too many requests"} and int(reply.headers["retry-after"]) >= 1
