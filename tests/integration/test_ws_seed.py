"""The seed's WebSocket API at /v1/ws, through real sockets: the bearer token on the upgrade, several
channels in one subscribe, ping/pong, every channel's messages against the seed's REST objects, clear
errors; and the seed's own Node.js example, run under node with the `ws` package from npm."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integration.server_fixture import Member, RunningServer, bearer, running_server
from integration.ws_client import Closed, HandshakeRefused, WsClient
from integration.ws_support import SEED_PATH, SeedBook, SeqCheck, make_markets, rest_seed_book, seed_barrier, seed_token, seed_ws
from predictex.accounts.members import ScryptCost

NODE_CACHE = Path(os.environ.get("PREDICTEX_NODE_CACHE", Path.home() / ".cache" / "predictex" / "node"))

# The seed's example (../shared/seed/kalshi-api-guide.txt, "Connecting to WebSocket"), as written but
# for the URL and the token, which the test puts in front of it.
NODE_EXAMPLE = """\
const WebSocket = require('ws');
const ws = new WebSocket('%(url)s', {
headers: {
'Authorization': `Bearer ${sessionToken}`
}
});
ws.on('open', () => {
console.log('Connected to Kalshi WebSocket');
// Subscribe to order book updates for specific market
ws.send(JSON.stringify({
type: 'subscribe',
channels: ['orderbook:%(ticker)s']
}));
});
ws.on('message', (data) => {
const message = JSON.parse(data);
switch(message.type) {
case 'orderbook_update':
console.log('Order book changed:', message.data);
break;
case 'trade':
console.log('Trade executed:', message.data);
break;
case 'market_status':
console.log('Market status:', message.data);
break;
}
});
// Heartbeat to maintain connection
setInterval(() => {
ws.send(JSON.stringify({ type: 'ping' }));
}, 30000);
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(Path(tmp_path_factory.mktemp("ws-seed")), rate_limits=False) as running:
        exchange = running.app.exchange
        assert exchange is not None
        exchange.accounts.members._cost = ScryptCost(log2_n=10)  # test members: a cheap password hash
        yield running


@pytest.fixture(scope="module")
def carol(server: RunningServer) -> Member:
    return server.new_member("carol@ws.test", key_type="ed25519")


@pytest.fixture(scope="module")
def dave(server: RunningServer) -> Member:
    return server.new_member("dave@ws.test", key_type="ed25519")


def order(server: RunningServer, token: str, ticker: str, side: str, price: int, quantity: int, action: str = "buy",
          client_order_id: str = "") -> dict[str, Any]:
    """POST /v1/orders as the seed's example makes it (price in units of $0.0001)."""
    body: dict[str, Any] = {"market_id": ticker, "side": side, "order_type": "limit", "price": price, "quantity": quantity,
                            "action": action}
    if client_order_id:
        body["client_order_id"] = client_order_id
    reply = server.request("POST", "/v1/orders", body, auth=bearer(token))
    assert reply.status == 201, reply
    found: dict[str, Any] = reply.json()
    return found


def test_the_bearer_token_opens_user_channels_and_a_bad_one_is_refused(server: RunningServer, carol: Member) -> None:
    token = seed_token(server, carol)
    with seed_ws(server, token) as ws:
        ws.send_json({"type": "subscribe", "channels": ["user_orders", "user_fills"]})
        assert ws.recv_json() == {"type": "subscribed", "channels": ["user_orders", "user_fills"]}
    with pytest.raises(HandshakeRefused) as refused:
        seed_ws(server, "not-a-token")
    assert refused.value.status == 401
    with seed_ws(server) as anonymous:
        anonymous.send_json({"type": "subscribe", "channels": ["user_fills"]})
        error = anonymous.recv_json()
        assert (error["type"], error["code"], error["channel"]) == ("error", "authentication_required", "user_fills")
        anonymous.send_json({"type": "ping"})
        assert anonymous.recv_json() == {"type": "pong"}


def test_every_channel_in_one_subscribe_matches_rest(server: RunningServer, carol: Member, dave: Member) -> None:
    ticker = make_markets(server)[0]
    carol_token, dave_token = seed_token(server, carol), seed_token(server, dave)
    resting = order(server, carol_token, ticker, "yes", 4_000, 10, client_order_id="carol-1")
    channels = [f"orderbook:{ticker}", f"trades:{ticker}", f"market_status:{ticker}", "user_orders", "user_fills"]
    with seed_ws(server, carol_token) as ws:
        ws.send_json({"type": "subscribe", "channels": channels})
        assert ws.recv_json() == {"type": "subscribed", "channels": channels}
        snapshot, status = ws.recv_json(), ws.recv_json()
        book = SeedBook()
        assert (snapshot["type"], snapshot["channel"], snapshot["seq"]) == ("orderbook_update", f"orderbook:{ticker}", 1)
        book.apply(snapshot["data"])
        rest = rest_seed_book(server, ticker)
        assert book.as_rest() == {"bids": rest["bids"], "asks": rest["asks"]} and book.seq == rest["seq"]
        assert status == {"type": "market_status", "channel": f"market_status:{ticker}", "seq": 1,
                          "data": {"market_id": ticker, "status": "active"}}
        order(server, dave_token, ticker, "no", 6_000, 4)  # sells YES at 0.40 into carol's bid
        order(server, dave_token, ticker, "no", 5_000, 2)  # rests: a YES ask at 0.50
        server.admin("POST", f"/markets/{ticker}/pause", {}, expect=200)
        got = seed_barrier(ws)
        check = SeqCheck()
        check.see(f"orderbook:{ticker}", 1)
        check.see(f"market_status:{ticker}", 1)
        for message in got:
            check.see(message["channel"], message["seq"])
        for message in (m for m in got if m["type"] == "orderbook_update"):
            book.apply(message["data"])
        rest = rest_seed_book(server, ticker)
        assert book.as_rest() == {"bids": rest["bids"], "asks": rest["asks"]} and book.seq == rest["seq"]
        updates = [m["data"] for m in got if m["type"] == "orderbook_update"]
        assert updates[0]["bids"] == [{"price": 4_000, "price_dollars": "0.4000", "quantity": 6, "quantity_fp": "6.00"}]
        trade = next(m["data"] for m in got if m["type"] == "trade")
        assert (trade["market_id"], trade["price"], trade["quantity"], trade["taker_side"]) == (ticker, 4_000, 4, "no")
        fills = [m["data"] for m in got if m["type"] == "user_fill"]
        rest_fills = server.get_ok(f"/v1/portfolio/fills?market_id={ticker}", auth=bearer(carol_token))["fills"]
        assert fills == rest_fills
        orders = [m["data"] for m in got if m["type"] == "user_order"]
        rest_order = server.get_ok(f"/v1/orders/{resting['id']}", auth=bearer(carol_token))
        assert orders[-1] == rest_order and rest_order["filled_quantity"] == 4
        statuses = [m["data"] for m in got if m["type"] == "market_status"]
        assert [(s["status"], s["previous_status"], s["reason"]) for s in statuses] == [("inactive", "active", "paused")]
        server.admin("POST", f"/markets/{ticker}/resume", {}, expect=200)
        resumed = seed_barrier(ws)  # resuming cancels the orders the pause caught
        assert [m["data"]["status"] for m in resumed if m["type"] == "market_status"] == ["active"]
        ws.send_json({"type": "unsubscribe", "channels": [f"trades:{ticker}", "user_orders", "nothing"]})
        replies = [ws.recv_json() for _ in range(2)]
        assert {"type": "unsubscribed", "channels": [f"trades:{ticker}", "user_orders"]} in replies
        assert any(r["type"] == "error" and r["code"] == "not_subscribed" for r in replies)


@pytest.mark.parametrize(("request_text", "code"), [
    ('{"type": "subscribe", "channels": ["orderbook:NO-SUCH"]}', "market_not_found"),
    ('{"type": "subscribe", "channels": ["candles:X"]}', "unknown_channel"),
    ('{"type": "subscribe", "channels": "orderbook:X"}', "invalid_channels"),
    ('{"type": "subscribe"}', "invalid_channels"),
    ('{"type": "dance"}', "unknown_type"),
    ('{"type": ', "invalid_json"),
    ('"ping"', "invalid_message"),
    ('{"type": "subscribe", "channels": [' + ", ".join(['"user_fills"'] * 101) + "]}", "invalid_channels"),
])
def test_bad_requests_get_a_clear_error_and_the_connection_goes_on(server: RunningServer, request_text: str, code: str) -> None:
    with seed_ws(server) as ws:
        ws.send_text(request_text)
        error = ws.recv_json()
        assert error["type"] == "error" and error["code"] == code and error["message"], error
        ws.send_json({"type": "ping", "id": 3})
        assert ws.recv_json() == {"type": "pong", "id": 3}


def _npm_ws() -> Path:
    """The `ws` package in the test cache (installed with npm on first use); fails, saying what is missing,
    if that is impossible."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.fail(f"the seed's Node.js example needs `{tool}` (apt-get install nodejs npm)", pytrace=False)
    module = NODE_CACHE / "node_modules" / "ws"
    if not (module / "package.json").exists():
        NODE_CACHE.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "ws@8"], cwd=NODE_CACHE,
                           check=True, capture_output=True, timeout=180)
        except (subprocess.SubprocessError, OSError) as error:
            pytest.fail(f"npm could not install the ws package (registry unreachable?): {error}", pytrace=False)
    return NODE_CACHE / "node_modules"


def test_the_seeds_node_example_runs_as_written(server: RunningServer, carol: Member, dave: Member, tmp_path: Path) -> None:
    node_modules = _npm_ws()
    ticker = make_markets(server)[0]
    token = seed_token(server, carol)
    script = tmp_path / "example.js"
    script.write_text(f"const sessionToken = {token!r};\n" + NODE_EXAMPLE % {"url": f"ws://127.0.0.1:{server.port}{SEED_PATH}",
                                                                             "ticker": ticker})
    process = subprocess.Popen(["node", str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "NODE_PATH": str(node_modules)})
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        def wait_for(text: str, count: int = 1) -> None:
            deadline = time.monotonic() + 20
            while sum(text in line for line in lines) < count:
                assert process.poll() is None, "".join(lines)
                assert time.monotonic() < deadline, f"no {text!r} from the example:\n{''.join(lines)}"
                time.sleep(0.02)

        wait_for("Connected to Kalshi WebSocket")
        wait_for("Order book changed:")  # the book as it is
        order(server, seed_token(server, dave), ticker, "yes", 6_500, 100)  # the seed's own example order
        wait_for("Order book changed:", 2)
        output = "".join(lines)
        assert f"market_id: '{ticker}'" in output and "price: 6500" in output and "snapshot: false" in output, output
    finally:
        process.kill()
        process.wait(10)
        reader.join(10)
        assert process.stdout is not None
        process.stdout.close()


def test_a_stopping_server_says_going_away(tmp_path: Path) -> None:
    with running_server(tmp_path, demo_markets=False) as own:
        ws = seed_ws(own)
        kalshi = WsClient.connect(own.port, "/trade-api/ws/v2")
        own.stop()  # as on SIGTERM: WebSocket clients first
        for client in (ws, kalshi):
            with pytest.raises(Closed) as closed:
                client.recv_message(10)
            assert closed.value.code == 1001
            client.close()
