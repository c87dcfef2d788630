"""A create retried with the same `client_order_id` never makes a second order (reference §6.2,
§12.3 item 4): a duplicate of an open order is answered 409 `order_already_exists`; predictex also
refuses the id of a recently closed order, so a retry after the first create filled is safe too; a
client that gave up waiting (its connection closed before the answer came) and retries, or many
copies racing at once, still leave exactly one order. Ids belong to their account."""

from __future__ import annotations

import concurrent.futures
import socket

import pytest

from integration.server_fixture import V2, RunningServer, encode_json
from integration.trading_helpers import Trader, conforms, make_markets, prod_server, trader_fixture

server = prod_server("idempotency")


alice = trader_fixture("alice", 1_000_000)


bob = trader_fixture("bob", 1_000_000)


def _with_id(trader: Trader, ticker: str, client_order_id: str) -> list[dict[str, object]]:
    return [o for o in trader.orders(f"ticker={ticker}") if o["client_order_id"] == client_order_id]


def test_a_duplicate_of_an_open_order_is_409_on_every_path(server: RunningServer, alice: Trader) -> None:
    [ticker] = make_markets(server)
    first = alice.legacy(ticker, "yes", "buy", 2, 30, client_order_id="same-id")
    assert first.status == 201, first
    attempts = [
        alice.legacy(ticker, "yes", "buy", 2, 30, client_order_id="same-id"),
        alice.legacy(ticker, "no", "buy", 9, 10, client_order_id="same-id"),  # different terms, same id
        alice.v2(ticker, "bid", "2.00", "0.30", client_order_id="same-id"),
    ]
    for reply in attempts:
        assert reply.status == 409 and reply.error["code"] == "order_already_exists", reply
    conforms(attempts[0], "POST", "/portfolio/orders")
    batch = alice.call("POST", "/portfolio/events/orders/batched", {"orders": [{
        "ticker": ticker, "side": "bid", "count": "1", "price": "0.30", "time_in_force": "good_till_canceled",
        "self_trade_prevention_type": "maker", "client_order_id": "same-id"}]})
    assert batch.status == 201 and batch.json()["orders"][0]["error"]["code"] == "order_already_exists", batch
    assert [o["order_id"] for o in _with_id(alice, ticker, "same-id")] == [first.json()["order"]["order_id"]]


def test_a_retry_after_the_first_create_filled_is_refused_too(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    bob.rest(ticker, "ask", "3.00", "0.40")
    first = alice.v2(ticker, "bid", "3.00", "0.40", client_order_id="filled-id")
    assert first.status == 201 and first.json()["fill_count"] == "3.00", first
    retry = alice.v2(ticker, "bid", "3.00", "0.40", client_order_id="filled-id")
    assert retry.status == 409 and retry.error["code"] == "order_already_exists", retry
    assert len(_with_id(alice, ticker, "filled-id")) == 1
    assert alice.position(ticker)["position_fp"] == "3.00"  # type: ignore[index]


def test_client_order_ids_belong_to_their_account(server: RunningServer, alice: Trader, bob: Trader) -> None:
    [ticker] = make_markets(server)
    assert alice.v2(ticker, "bid", "1.00", "0.10", client_order_id="shared-id").status == 201
    assert bob.v2(ticker, "bid", "1.00", "0.10", client_order_id="shared-id").status == 201


def _send_and_hang_up(server: RunningServer, path: str, body: bytes, headers: dict[str, str]) -> None:
    """A client that times out: the whole request goes out, the connection closes unread."""
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n{head}\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)


@pytest.mark.parametrize("path", ["/portfolio/orders", "/portfolio/events/orders"])
def test_a_create_retried_after_a_client_side_timeout_makes_one_order(server: RunningServer, alice: Trader, path: str) -> None:
    [ticker] = make_markets(server)
    client_id = f"timeout{path.count('/')}"
    if path == "/portfolio/orders":
        order = {"ticker": ticker, "side": "yes", "action": "buy", "count": 4, "yes_price": 20, "client_order_id": client_id}
    else:
        order = {"ticker": ticker, "side": "bid", "count": "4", "price": "0.20", "time_in_force": "good_till_canceled",
                 "self_trade_prevention_type": "maker", "client_order_id": client_id}
    body = encode_json(order)
    headers = {"Content-Type": "application/json", **alice.auth("POST", V2 + path, body)}
    _send_and_hang_up(server, V2 + path, body, headers)
    # the client retries at once (it never saw an answer), and again, as clients in doubt do
    answers = [alice.call("POST", path, order).status for _ in range(3)]
    assert answers.count(201) <= 1 and set(answers) <= {201, 409}, answers
    found = _with_id(alice, ticker, client_id)
    assert len(found) == 1, found
    assert found[0]["remaining_count"] == 4


def test_copies_racing_at_once_make_one_order(server: RunningServer, alice: Trader) -> None:
    [ticker] = make_markets(server)
    order = {"ticker": ticker, "side": "no", "action": "buy", "count": 1, "no_price": 80, "client_order_id": "race-id"}
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: alice.call("POST", "/portfolio/orders", order).status, range(16)))
    assert sorted(statuses) == [201] + [409] * 15, statuses
    assert len(_with_id(alice, ticker, "race-id")) == 1
