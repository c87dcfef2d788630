"""What the WebSocket tests share: connecting to either surface with a member's credentials, markets
of a test's own, orders over REST, order books rebuilt from a stream (and REST's, to compare), a
barrier that proves every message sent before it has arrived, and a check of per-subscription `seq`.

Barrier: a command's reply is queued behind every stream message drained before it, so once the reply
to `list_subscriptions` (Kalshi) or `ping` (the seed's) has arrived, the client holds everything the
exchange committed before the command; after an order's REST acknowledgement that includes its
deltas."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from typing import Any

from integration.server_fixture import V2, Member, RunningServer, kalshi_v2, seed, unique
from integration.ws_client import WsClient

KALSHI_PATH = "/trade-api/ws/v2"
SEED_PATH = "/v1/ws"
_ids = itertools.count(1_000_000)


def next_id() -> int:
    return next(_ids)


def kalshi_ws(server: RunningServer, member: Member | None = None, **options: Any) -> WsClient:
    headers = kalshi_v2(member.credentials)("GET", KALSHI_PATH, None) if member is not None else {}
    return WsClient.connect(server.port, KALSHI_PATH, headers, **options)


def seed_token(server: RunningServer, member: Member) -> str:
    reply = server.request("POST", "/v1/log_in", auth=seed(member.credentials))
    assert reply.status == 200, reply
    token: str = reply.json()["token"]
    return token


def seed_ws(server: RunningServer, token: str | None = None, **options: Any) -> WsClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return WsClient.connect(server.port, SEED_PATH, headers, **options)


def make_markets(server: RunningServer, count: int = 1, prefix: str = "KXWS") -> list[str]:
    """Markets nobody else trades in: a new series and event holding `count` of them."""
    series = unique(prefix)
    event = f"{series}-27JAN"
    server.admin("POST", "/series", {"ticker": series, "title": f"Series {series}", "category": "Testing", "frequency": "daily"},
                 expect=201)
    server.admin("POST", "/events", {"event_ticker": event, "series_ticker": series, "title": f"Event {event}"}, expect=201)
    close = int(time.time()) + 86_400 * 30
    tickers = [f"{event}-M{n}" for n in range(1, count + 1)]
    for ticker in tickers:
        server.admin("POST", "/markets", {"ticker": ticker, "event_ticker": event, "title": f"Market {ticker}", "close_time": close},
                     expect=201)
    return tickers


def place(server: RunningServer, member: Member, ticker: str, side: str, action: str, price_cents: int, count: int,
          client_order_id: str = "") -> dict[str, Any]:
    """A limit order over Kalshi's legacy REST call; returns the order object."""
    body: dict[str, Any] = {"ticker": ticker, "side": side, "action": action, "count": count, "type": "limit",
                            f"{side}_price": price_cents}
    if client_order_id:
        body["client_order_id"] = client_order_id
    reply = server.request("POST", V2 + "/portfolio/orders", body, auth=kalshi_v2(member.credentials))
    assert reply.status == 201, reply
    order: dict[str, Any] = reply.json()["order"]
    return order


def cancel(server: RunningServer, member: Member, order_id: str) -> None:
    reply = server.request("DELETE", f"{V2}/portfolio/orders/{order_id}", auth=kalshi_v2(member.credentials))
    assert reply.status == 200, reply


# --- subscribing and reading ---------------------------------------------------------------------------


def subscribe(ws: WsClient, channels: list[str], **params: Any) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Subscribe; returns {channel: sid} and what came with the acks (snapshots, errors)."""
    command_id = next_id()
    ws.send_json({"id": command_id, "cmd": "subscribe", "params": {"channels": channels, **params}})
    sids: dict[str, int] = {}
    extra: list[dict[str, Any]] = []
    for message in barrier(ws):
        if message.get("type") == "subscribed" and message.get("id") == command_id:
            sids[message["msg"]["channel"]] = message["msg"]["sid"]
        else:
            extra.append(message)
    return sids, extra


def barrier(ws: WsClient, timeout_s: float = 15.0) -> list[dict[str, Any]]:
    """Every message up to the reply of a list_subscriptions sent now (the reply itself left out)."""
    command_id = next_id()
    ws.send_json({"id": command_id, "cmd": "list_subscriptions"})
    _, before = ws.recv_until(lambda m: m.get("id") == command_id and m.get("type") == "ok", timeout_s)
    return before


def seed_barrier(ws: WsClient, timeout_s: float = 15.0) -> list[dict[str, Any]]:
    marker = f"barrier-{next_id()}"
    ws.send_json({"type": "ping", "id": marker})
    _, before = ws.recv_until(lambda m: m.get("type") == "pong" and m.get("id") == marker, timeout_s)
    return before


class SeqCheck:
    """Per-subscription `seq` must count 1, 2, 3, ... on sequenced messages."""

    def __init__(self) -> None:
        self.last: dict[Any, int] = defaultdict(int)

    def see(self, key: Any, seq: int) -> None:
        assert seq == self.last[key] + 1, f"{key}: seq {seq} after {self.last[key]}"
        self.last[key] = seq


# --- order books ------------------------------------------------------------------------------------


def centi(text: str) -> int:
    """A 2-decimal count string in hundredths, exactly ("-54.00" -> -5400)."""
    sign = -1 if text.startswith("-") else 1
    whole, _, fraction = text.lstrip("-").partition(".")
    assert len(fraction) == 2, text
    return sign * (int(whole) * 100 + int(fraction))


class KalshiBook:
    """A market's book rebuilt from orderbook_snapshot + orderbook_delta (NO side at NO prices)."""

    def __init__(self) -> None:
        self.sides: dict[str, dict[str, int]] = {"yes": {}, "no": {}}

    def apply(self, message: dict[str, Any]) -> None:
        msg = message["msg"]
        if message["type"] == "orderbook_snapshot":
            self.sides = {side: {p: centi(c) for p, c in msg.get(f"{side}_dollars_fp", [])} for side in ("yes", "no")}
            for side in ("yes", "no"):
                assert (f"{side}_dollars_fp" in msg) == bool(self.sides[side]), "an empty side's key must be absent"
        else:
            assert message["type"] == "orderbook_delta", message
            levels = self.sides[msg["side"]]
            size = levels.get(msg["price_dollars"], 0) + centi(msg["delta_fp"])
            assert size >= 0, f"level went negative: {message}"
            if size:
                levels[msg["price_dollars"]] = size
            else:
                levels.pop(msg["price_dollars"], None)

    def as_rest(self) -> dict[str, list[list[str]]]:
        return {f"{side}_dollars": [[p, _fp(s)] for p, s in sorted(levels.items())] for side, levels in self.sides.items()}


def _fp(centicontracts: int) -> str:
    return f"{centicontracts // 100}.{centicontracts % 100:02d}"


def rest_book(server: RunningServer, ticker: str) -> dict[str, Any]:
    """Kalshi's REST book: {"yes_dollars": [...], "no_dollars": [...]} and the sequence point `seq`."""
    body = server.get_ok(f"{V2}/markets/{ticker}/orderbook")
    return {"book": body["orderbook_fp"], "seq": body["seq"]}


class SeedBook:
    """The seed's book rebuilt from orderbook_update messages (a snapshot, then absolute levels)."""

    def __init__(self) -> None:
        self.bids: dict[int, str] = {}
        self.asks: dict[int, str] = {}
        self.seq = -1

    def apply(self, data: dict[str, Any]) -> None:
        if data["snapshot"]:
            self.bids, self.asks = {}, {}
        for side, levels in (("bids", self.bids), ("asks", self.asks)):
            for level in data[side]:
                if level["quantity_fp"] == "0.00":
                    levels.pop(level["price"], None)
                else:
                    levels[level["price"]] = level["quantity_fp"]
        assert data["seq"] >= self.seq, "updates go forward"
        self.seq = data["seq"]

    def as_rest(self) -> dict[str, Any]:
        return {
            "bids": [[p, q] for p, q in sorted(self.bids.items(), reverse=True)],
            "asks": [[p, q] for p, q in sorted(self.asks.items())],
        }


def rest_seed_book(server: RunningServer, ticker: str) -> dict[str, Any]:
    body = server.get_ok(f"/v1/markets/{ticker}/orderbook")
    return {
        "bids": [[level["price"], level["quantity_fp"]] for level in body["bids"]],
        "asks": [[level["price"], level["quantity_fp"]] for level in body["asks"]],
        "seq": body["seq"],
    }
