"""Every parser of untrusted text, fed the Unicode digit and space classes through real sockets:
superscript digits (as Latin-1 bytes, which the HTTP server reads as '²' and '¹'), Arabic-Indic,
full-width and Devanagari digits and no-break, em, ideographic and other spaces (as UTF-8), in every
authentication header, on REST, on /v1/log_in and on both WebSocket upgrades; in query parameters,
v2 prices and counts, the seed's fields; in FIX numeric fields and WebSocket commands. The answer is
always a clear 400/401 (or the FIX or WebSocket equivalent), never a 500 or a dropped connection, and
the server goes on serving. And v2 fixed-point strings are read as Kalshi documents them: ASCII digits,
up to 4 decimal places for dollars and 2 for counts, nothing around them."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from integration.fix_client import FixClient, new_order
from integration.server_fixture import (
    DEMO_TICKER,
    V2,
    Member,
    RunningServer,
    encode_json,
    kalshi_v2,
    running_server,
    seed,
)
from integration.ws_client import WsClient
from integration.ws_support import barrier, seed_barrier, seed_token
from predictex.gateways.fix import Kind

# (name, bytes as sent in an HTTP header): the superscripts go as Latin-1 (one byte each, read by the
# server as the characters themselves); the rest as UTF-8
DIGITS: list[tuple[str, bytes]] = [
    ("superscript ²³", "²³".encode("latin-1")), ("superscript ¹²", "¹²".encode("latin-1")),
    ("arabic-indic", "\u0661\u0662".encode()), ("full-width", "\uff11\uff12".encode()), ("devanagari", "\u0967\u0968".encode()),
]
SPACES: list[tuple[str, bytes]] = [
    ("no-break space", b"\xa0"), ("next line", b"\x85"), ("em space", "\u2003".encode()),
    ("ideographic space", "\u3000".encode()), ("line separator", "\u2028".encode()),
]
DIGIT_TEXTS = ["²³", "¹²", "\u0661\u0662", "\uff11\uff12", "\u0967\u0968"]
SPACE_TEXTS = ["\u00a0", "\u0085", "\u2003", "\u3000", "\u2028", "\u202f"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("text"), fix_ports="nr=0,dc=0", rate_limits=False) as running:
        yield running


@pytest.fixture(scope="module")
def who(server: RunningServer) -> Member:
    return server.new_member(f"text-{time.time_ns()}@example.com")


def raw_request(server: RunningServer, head: list[bytes], body: bytes = b"") -> tuple[int, dict[str, Any]]:
    """One request of raw header lines; (status, JSON body) of the answer."""
    data = b"\r\n".join([*head, b"Content-Length: %d" % len(body)]) + b"\r\n\r\n" + body
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < _length(answer):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    payload = answer.partition(b"\r\n\r\n")[2]
    return status, json.loads(payload) if payload else {}


def _length(answer: bytes) -> int:
    for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


def _headers(signed: dict[str, str]) -> dict[str, bytes]:
    return {name: value.encode() for name, value in signed.items()}


REQUESTS = [  # (method, target, surface): every way in that reads the authentication headers
    ("GET", V2 + "/portfolio/balance", "rest"),
    ("POST", "/v1/log_in", "rest"),
    ("GET", "/v1/orders", "rest"),
    ("GET", "/trade-api/ws/v2", "ws"),
    ("GET", "/v1/ws", "ws"),
]
UPGRADE = [b"Upgrade: websocket", b"Connection: Upgrade", b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", b"Sec-WebSocket-Version: 13"]


def _signed(who: Member, method: str, target: str) -> dict[str, bytes]:
    return _headers(kalshi_v2(who.credentials)(method, target, None))


@pytest.mark.parametrize(("method", "target", "surface"), REQUESTS)
@pytest.mark.parametrize("header", ["KALSHI-ACCESS-TIMESTAMP", "KALSHI-ACCESS-KEY", "KALSHI-ACCESS-SIGNATURE", "Authorization"])
def test_every_authentication_header_with_other_digits_or_spaces_is_a_clear_401(
        server: RunningServer, who: Member, method: str, target: str, surface: str, header: str) -> None:
    for name, odd in [*DIGITS, *SPACES]:
        good = _signed(who, method, target)
        values = [odd, odd + b"123", b"Bearer " + odd + b":tok", b"Bearer tok" + odd, odd + b" tok"] if header == "Authorization" \
            else [odd, good[header] + odd, odd + good[header], good[header][:5] + odd + good[header][5:]]
        for value in values:
            headers = {} if header == "Authorization" else dict(good)
            headers[header] = value
            head = [f"{method} {target} HTTP/1.1".encode(), b"Host: 127.0.0.1", *(k.encode() + b": " + v for k, v in headers.items())]
            status, body = raw_request(server, [*head, *(UPGRADE if surface == "ws" else [])])
            assert status == 401, (name, header, value, status, body)
            error = body["error"]
            assert error["code"] == "authentication_error" and error.get("details"), (name, header, value, body)
    assert server.get(V2 + "/portfolio/balance", auth=kalshi_v2(who.credentials)).status == 200


def test_the_issues_own_examples(server: RunningServer) -> None:
    for target in (V2 + "/portfolio/balance", "/v1/log_in"):
        method = "POST" if target == "/v1/log_in" else "GET"
        for head in ([b"Authorization: Bearer \xb9\xb2:tok"], [b"KALSHI-ACCESS-TIMESTAMP: \xb2\xb3", b"KALSHI-ACCESS-KEY: k",
                                                                 b"KALSHI-ACCESS-SIGNATURE: c2ln"]):
            status, body = raw_request(server, [f"{method} {target} HTTP/1.1".encode(), b"Host: x", *head])
            assert status == 401, body
    status, body = raw_request(server, [b"GET /trade-api/ws/v2 HTTP/1.1", b"Host: x", b"Authorization: Bearer \xb9\xb2:tok", *UPGRADE])
    assert status == 401 and "ASCII digits" in body["error"]["details"], body
    status, body = raw_request(server, [b"GET /v1/ws HTTP/1.1", b"Host: x", b"KALSHI-ACCESS-TIMESTAMP: \xb2\xb3", b"KALSHI-ACCESS-KEY: k",
                                        b"KALSHI-ACCESS-SIGNATURE: c2ln", *UPGRADE])
    assert status == 401 and "'\\xb2\\xb3' is neither milliseconds" in body["error"]["details"], body


@pytest.mark.parametrize(("name", "odd"), DIGITS + SPACES)
def test_websocket_upgrade_and_host_headers_with_other_digits_or_spaces_are_refused(server: RunningServer, name: str, odd: bytes) -> None:
    base = [b"GET /trade-api/ws/v2 HTTP/1.1", b"Host: 127.0.0.1"]
    for replaced, expected in ((b"Sec-WebSocket-Version: 1" + odd, {426}), (b"Sec-WebSocket-Key: " + odd + b"dGhlIHNhbXBsZSBub25jZQ==", {400}),
                               (b"Upgrade: websocket" + odd, {400}),
                               # no upgrade token in Connection: not an upgrade (RFC 9110 §7.8), a GET of a path that is none
                               (b"Connection: Upgrade" + odd, {400, 404})):
        prefix = replaced.split(b":")[0]
        head = base + [line for line in UPGRADE if not line.startswith(prefix)] + [replaced]
        status, body = raw_request(server, head)
        assert status in expected and body["error"]["message"], (name, replaced, status, body)
    status, body = raw_request(server, [b"GET /health HTTP/1.1", b"Host: 127.0.0." + odd])
    assert status == 400 and "Host" in body["error"]["message"], (name, status, body)


@pytest.mark.parametrize("value", [*DIGIT_TEXTS, " 12", "12 ", "+12", "1_0", *(f"1{s}2" for s in SPACE_TEXTS), *(f"{s}12" for s in SPACE_TEXTS)])
def test_query_integers_in_other_digits_or_with_spaces_are_400_naming_them(server: RunningServer, value: str) -> None:
    for path in (f"{V2}/markets?limit={quote(value)}", f"{V2}/markets/{DEMO_TICKER}/orderbook?depth={quote(value)}",
                 f"{V2}/markets/trades?min_ts={quote(value)}"):
        reply = server.get(path)
        name = path.rsplit("?", 1)[1].split("=")[0]
        assert reply.status == 400 and f"{name} must be an integer" in reply.error["message"], (path, reply)


def _order(server: RunningServer, who: Member, **fields: Any) -> Any:
    body = {"ticker": DEMO_TICKER, "side": "yes", "action": "buy", "type": "limit", "count_fp": "1.00", **fields}
    return server.request("POST", V2 + "/portfolio/orders", body, auth=kalshi_v2(who.credentials))


@pytest.mark.parametrize("price", [" 0.5", ".5", "0.5 ", "0.50000", "0.", "+0.5", "1e-1", "0,5", "\uff10.\uff15", "0.\uff15",
                                   "\u0660.\u0665", "0.5\u00a0", "\u30000.5", "0x1"])
def test_v2_prices_accept_exactly_kalshis_fixed_point_strings(server: RunningServer, who: Member, price: str) -> None:
    reply = _order(server, who, yes_price_dollars=price)
    assert reply.status == 400 and "yes_price_dollars" in reply.error["message"], (price, reply)


@pytest.mark.parametrize("price", ["0.3", "0.30", "0.300", "0.3000"])
def test_v2_prices_with_up_to_four_places_are_taken(server: RunningServer, who: Member, price: str) -> None:
    reply = _order(server, who, yes_price_dollars=price)
    assert reply.status == 201, (price, reply)
    assert reply.json()["order"]["yes_price_dollars"] == "0.3000"


@pytest.mark.parametrize("count", [" 1", ".5", "1.000", "\uff11", "1\u00a0", "-1", "1e0"])
def test_v2_counts_accept_exactly_kalshis_fixed_point_strings(server: RunningServer, who: Member, count: str) -> None:
    reply = _order(server, who, yes_price_dollars="0.30", count_fp=count)
    assert reply.status == 400 and "count_fp" in reply.error["message"], (count, reply)


@pytest.mark.parametrize("odd", [*DIGIT_TEXTS, *SPACE_TEXTS])
def test_seed_fields_and_password_logins_with_other_digits_or_spaces_are_refused(server: RunningServer, who: Member, odd: str) -> None:
    order = {"market_id": DEMO_TICKER, "side": "yes", "order_type": "limit", "price": 3000, "quantity": f"1{odd}"}
    reply = server.request("POST", "/v1/orders", order, auth=seed(who.credentials))
    assert reply.status == 400 and "quantity" in reply.error["message"], reply
    for path in ("/v1/log_in", V2 + "/login"):
        reply = server.request("POST", path, {"email": f"{who.email}{odd}", "password": who.password})
        assert reply.status in (401, 429), reply  # a wrong email: the stranger's answer, never a 500
    sign_up = server.request("POST", "/predictex/v1/members", {"email": f"x{odd}y@example.com", "password": "long enough"})
    assert sign_up.status == 400 if odd in SPACE_TEXTS else sign_up.status in (202, 400), sign_up


def test_fix_numeric_fields_in_other_digits_are_refused_and_the_session_goes_on(server: RunningServer, who: Member) -> None:
    port = server.app.fix.port(Kind.ORDER_ENTRY)
    for tag, odd in ((108, "\uff13\uff10"), (108, "³⁰"), (34, "¹")):  # HeartBtInt, MsgSeqNum in a Logon
        with FixClient(port, who.credentials, "KalshiNR").connect() as fix:
            fields, stamp = fix.logon_fields(seq=1, reset=True)
            if tag == 34:
                fix.send_raw(fix.message("A", fields, seq=odd, sending_ms=stamp))  # type: ignore[arg-type]
                fix.wait_closed()  # an unreadable first message: no session, closed
                continue
            fields = [(t, odd if t == tag else v) for t, v in fields]
            fix.send("A", fields, sending_ms=stamp)
            assert f"tag {tag} must be an integer" in fix.wait_type("5")[58]
    with FixClient(port, who.credentials, "KalshiNR").connect() as fix:
        fix.logon()
        for tag, odd in ((38, "\uff11"), (38, "1\u00a0"), (44, "²"), (44, "\u0663\u0660")):
            fields = [(t, odd if t == tag else v) for t, v in new_order(f"odd-{tag}", DEMO_TICKER, "1", 30, 1)]
            fix.send("D", fields)
            rejected = fix.wait(lambda m: m.msg_type in ("3", "8"))
            assert rejected.msg_type == "3" and rejected[371] == str(tag), rejected
        fix.send("1", [(112, "still-here")])
        assert fix.wait_type("0")[112] == "still-here"
    with FixClient(server.app.fix.port(Kind.DROP_COPY), who.credentials, "KalshiDC").connect() as drop:
        drop.logon()
        for begin in ("²;¹", "\uff11;0", "1;\u0660", " 1;0"):
            drop.send("U1", [(21001, begin)])
            assert drop.wait_type("U3")[21004] == "3"


def test_websocket_commands_with_other_digits_or_spaces_get_errors_and_the_connection_goes_on(server: RunningServer, who: Member) -> None:
    with WsClient.connect(server.port, "/trade-api/ws/v2", kalshi_v2(who.credentials)("GET", "/trade-api/ws/v2", None)) as ws:
        for odd in DIGIT_TEXTS + SPACE_TEXTS:
            ws.send_json({"id": 7, "cmd": "unsubscribe", "params": {"sids": [odd]}})
            ws.send_json({"id": odd, "cmd": "list_subscriptions"})
            ws.send_json({"id": 8, "cmd": f"subscribe{odd}", "params": {"channels": ["ticker"]}})
            ws.send_json({"id": 9, "cmd": "subscribe", "params": {"channels": [f"ticker{odd}"]}})
        barrier(ws)
    with WsClient.connect(server.port, "/v1/ws", {"Authorization": f"Bearer {seed_token(server, who)}"}) as ws:
        for odd in DIGIT_TEXTS + SPACE_TEXTS:
            ws.send_json({"type": "subscribe", "channels": [f"orderbook:{odd}", f"user_orders{odd}"], "id": odd})
        seed_barrier(ws)


def test_bodies_are_not_read_through_unicode(server: RunningServer, who: Member) -> None:
    """JSON numbers in other digits are not JSON: 400, not a crash."""
    raw = b'{"ticker": "' + DEMO_TICKER.encode() + b'", "side": "yes", "action": "buy", "type": "limit", "count": \xef\xbc\x91, "yes_price": 30}'
    reply = server.request("POST", V2 + "/portfolio/orders", raw=raw, auth=kalshi_v2(who.credentials))
    assert reply.status == 400 and "malformed JSON" in reply.error["message"], reply
    assert encode_json({"a": 1})  # the helper the other tests use, kept honest


def test_the_exchange_refuses_a_request_without_host_or_version_instead_of_answering_200(server: RunningServer) -> None:
    for request, status in ((b"GET /health HTTP/1.1\r\n\r\n", 400), (b"GET /health\r\n\r\n", 400),
                            (b"GET /trade-api/v2/markets HTTP/0.9\r\n\r\n", 400), (b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n", 505)):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(request)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 %d " % status), (request, answer[:200])
    assert server.get("/health").status == 200
