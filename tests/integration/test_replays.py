"""Replays through real sockets: a signed write sent again byte for byte inside the timestamp window
is refused and executes nothing (the seed's form and Kalshi's v2 form), reads may repeat, two v2 writes
that share a signature but not a body are both taken (as Kalshi takes them: its signature does not
cover the body), and a captured FIX Logon sent again on a new connection is refused."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator

import pytest

from integration.fix_client import FixClient
from integration.server_fixture import (
    DEMO_TICKER,
    V2,
    Member,
    RunningServer,
    encode_json,
    http_request,
    kalshi_v2,
    now_ms,
    running_server,
    seed,
)
from predictex.gateways.fix import Kind


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("replays"), fix_ports="nr=0", rate_limits=False) as running:
        yield running


_count = iter(range(1_000_000))


def member(server: RunningServer, key_type: str = "rsa") -> Member:
    return server.new_member(f"replay{next(_count)}-{time.time_ns()}@example.com", key_type=key_type)


def orders(server: RunningServer, who: Member) -> list[dict[str, object]]:
    listed: list[dict[str, object]] = server.get_ok("/v1/orders", auth=kalshi_v2(who.credentials))["orders"]
    return listed


def send_twice(server: RunningServer, method: str, path: str, headers: dict[str, str], body: bytes | None) -> tuple[int, int]:
    first = http_request(server.port, method, path, body, headers)
    again = http_request(server.port, method, path, body, headers)
    return first.status, again.status


def test_a_seed_order_replayed_byte_for_byte_is_refused_and_places_nothing(server: RunningServer) -> None:
    who = member(server)
    body = encode_json({"market_id": DEMO_TICKER, "side": "yes", "order_type": "limit", "price": 3000, "quantity": 1})
    headers = {"Content-Type": "application/json", **seed(who.credentials)("POST", "/v1/orders", body)}
    first = http_request(server.port, "POST", "/v1/orders", body, headers)
    assert first.status in (200, 201), first
    replayed = http_request(server.port, "POST", "/v1/orders", body, headers)
    assert replayed.status == 409 and replayed.error["code"] == "replayed_request", replayed
    assert "sign every write afresh" in replayed.error["details"]
    respaced = http_request(server.port, "POST", "/v1/orders", json.dumps(json.loads(body), indent=1).encode(), headers)
    assert respaced.status == 409 and respaced.error["code"] == "replayed_request", respaced  # the signature covers the body
    assert len(orders(server, who)) == 1
    fresh = server.request("POST", "/v1/orders", json.loads(body), auth=seed(who.credentials))
    assert fresh.status in (200, 201) and len(orders(server, who)) == 2  # signed afresh, it is a new order


def test_a_v2_write_replayed_is_refused_and_reads_repeat(server: RunningServer) -> None:
    who = member(server)
    path = V2 + "/portfolio/orders"
    body = encode_json({"ticker": DEMO_TICKER, "side": "yes", "action": "buy", "count": 1, "type": "limit", "yes_price": 30})
    headers = {"Content-Type": "application/json", **kalshi_v2(who.credentials)("POST", path, body)}
    assert send_twice(server, "POST", path, headers, body) == (201, 409)
    assert len(orders(server, who)) == 1
    read = kalshi_v2(who.credentials)("GET", path, None)
    assert send_twice(server, "GET", path, read, None) == (200, 200)
    log_in = seed(who.credentials)("POST", "/v1/log_in", None)  # a log-in is a write too: it mints a token
    assert send_twice(server, "POST", "/v1/log_in", log_in, None) == (200, 409)


def test_two_v2_writes_with_one_signature_and_different_bodies_are_both_taken(server: RunningServer) -> None:
    """Ed25519 signs deterministically and Kalshi's v2 string is timestamp + METHOD + path: two orders sent
    in the same millisecond carry the same headers. Kalshi takes both; so does predictex."""
    who = member(server, key_type="ed25519")
    path = V2 + "/portfolio/orders"
    stamp = now_ms()
    headers = {"Content-Type": "application/json", **kalshi_v2(who.credentials, timestamp_ms=stamp)("POST", path, None)}
    assert headers == {"Content-Type": "application/json", **kalshi_v2(who.credentials, timestamp_ms=stamp)("POST", path, None)}
    for client_order_id in ("same-ms-1", "same-ms-2"):
        body = encode_json({"ticker": DEMO_TICKER, "side": "yes", "action": "buy", "count": 1, "type": "limit",
                            "yes_price": 30, "client_order_id": client_order_id})
        reply = http_request(server.port, "POST", path, body, headers)
        assert reply.status == 201, reply
    assert {o["client_order_id"] for o in orders(server, who)} == {"same-ms-1", "same-ms-2"}


def test_a_captured_fix_logon_replayed_on_a_new_connection_is_refused(server: RunningServer) -> None:
    who = member(server)
    port = server.app.fix.port(Kind.ORDER_ENTRY)
    with FixClient(port, who.credentials, "KalshiNR").connect() as first:
        fields, stamp = first.logon_fields(seq=1, reset=True)
        captured = first.message("A", fields, sending_ms=stamp)
        first.send_raw(captured)
        assert first.wait(lambda m: m.msg_type in ("A", "5")).msg_type == "A"
    with FixClient(port, who.credentials, "KalshiNR").connect() as replay:
        replay.send_raw(captured)
        logout = replay.wait_type("5")
        assert "replayed_request" in logout[58], logout
        replay.wait_closed()
    with FixClient(port, who.credentials, "KalshiNR").connect() as honest:
        honest.logon()  # a Logon signed afresh is welcome


def test_a_replay_in_another_encoding_of_the_same_signature_is_still_a_replay(server: RunningServer) -> None:
    who = member(server)
    path = V2 + "/portfolio/orders"
    body = encode_json({"ticker": DEMO_TICKER, "side": "yes", "action": "buy", "count": 1, "type": "limit", "yes_price": 30})
    headers = {"Content-Type": "application/json", **kalshi_v2(who.credentials)("POST", path, body)}
    assert http_request(server.port, "POST", path, body, headers).status == 201
    signature = base64.b64decode(headers["KALSHI-ACCESS-SIGNATURE"])
    urlsafe = base64.urlsafe_b64encode(signature).decode().rstrip("=")
    again = http_request(server.port, "POST", path, body, {**headers, "KALSHI-ACCESS-SIGNATURE": urlsafe})
    assert again.status == 409 and again.error["code"] == "replayed_request", again
    assert len(orders(server, who)) == 1


def test_one_signed_read_repeated_on_a_keep_alive_connection_is_answered_every_time(server: RunningServer) -> None:
    """Repeating one signed GET on a keep-alive connection (as pollers do) is fine."""
    who = member(server)
    headers = kalshi_v2(who.credentials)("GET", V2 + "/portfolio/balance", None)
    request = "".join([f"GET {V2}/portfolio/balance HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                       *(f"{k}: {v}\r\n" for k, v in headers.items()), "\r\n"]).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request * 3)
        answers = b""
        while answers.count(b"HTTP/1.1 ") < 3 or not answers.endswith(b"}"):
            chunk = sock.recv(65536)
            assert chunk, answers
            answers += chunk
    assert answers.count(b"HTTP/1.1 200 OK") == 3, answers[:500]
