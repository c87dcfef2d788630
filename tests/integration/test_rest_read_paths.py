"""The shortcuts on the REST read path never show a stale or someone else's answer: an order book
answer kept between book changes follows every change, at every depth; a route remembered by path
gives each request its own parameters; every answer is still counted in /metrics."""

from __future__ import annotations

import re

from integration.server_fixture import V2, RunningServer
from integration.trading_helpers import book, make_markets, new_trader, prod_server

server = prod_server("read-paths")


def depth_book(server: RunningServer, ticker: str, depth: int) -> dict[str, object]:
    found: dict[str, object] = server.get_ok(f"{V2}/markets/{ticker}/orderbook?depth={depth}")
    return found


def test_an_order_book_answer_follows_every_change_at_every_depth(server: RunningServer) -> None:
    (ticker,) = make_markets(server, prefix="KXREAD")
    trader = new_trader(server, "reader", 100_000)
    empty = {"yes_dollars": [], "no_dollars": []}
    assert book(server, ticker) == empty
    assert book(server, ticker) == empty  # the kept answer, asked again
    first = trader.rest(ticker, "bid", "3.00", "0.4200")
    assert book(server, ticker) == {"yes_dollars": [["0.4200", "3.00"]], "no_dollars": []}
    second = trader.rest(ticker, "bid", "2.00", "0.4300")
    assert book(server, ticker)["yes_dollars"] == [["0.4200", "3.00"], ["0.4300", "2.00"]]
    assert depth_book(server, ticker, 1)["orderbook_fp"] == {"yes_dollars": [["0.4300", "2.00"]], "no_dollars": []}
    before_seq = depth_book(server, ticker, 1)["seq"]
    reply = trader.call("DELETE", "/portfolio/events/orders/batched", {"ids": [second]})
    assert reply.status == 200, reply
    assert depth_book(server, ticker, 1)["orderbook_fp"] == {"yes_dollars": [["0.4200", "3.00"]], "no_dollars": []}
    assert depth_book(server, ticker, 1)["seq"] != before_seq
    assert book(server, ticker) == {"yes_dollars": [["0.4200", "3.00"]], "no_dollars": []}
    reply = trader.call("DELETE", "/portfolio/events/orders/batched", {"ids": [first]})
    assert reply.status == 200, reply
    assert book(server, ticker) == empty
    assert depth_book(server, ticker, 1)["orderbook_fp"] == empty


def test_a_remembered_route_gives_each_request_its_own_parameters(server: RunningServer) -> None:
    first, second = make_markets(server, 2, prefix="KXROUTE")
    for _ in range(3):
        assert server.get_ok(f"{V2}/markets/{first}")["market"]["ticker"] == first
        assert server.get_ok(f"{V2}/markets/{second}")["market"]["ticker"] == second
    assert server.get(f"{V2}/markets/NO-SUCH-MARKET").status == 404
    assert server.get(f"{V2}/markets/NO-SUCH-MARKET").status == 404


def test_every_answer_is_counted_in_metrics(server: RunningServer) -> None:
    def count() -> int:
        text = server.get("/metrics").body.decode()
        found = re.search(r'predictex_http_requests_total\{surface="kalshi_v2",method="GET",code="200"\} (\d+)', text)
        return int(found.group(1)) if found else 0

    before = count()
    for _ in range(5):
        server.get_ok(f"{V2}/exchange/status")
    assert count() == before + 5
