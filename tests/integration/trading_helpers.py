"""Helpers shared by the trading tests (tests/integration/test_trading_*.py): members who trade over
real HTTP, markets of a test's own (so nothing else trades there and hand calculations are exact),
Kalshi's fee arithmetic written out with exact fractions, a snapshot of everything an account can see
(to prove a refusal changed nothing), and a checker of responses against Kalshi's published OpenAPI
document (read from ../shared/reference/specs at test time, never copied into the project).

Units on the wire: legacy prices in cents, `*_dollars` strings, `*_fp` count strings. Units here:
cents for money a test writes by hand, microdollars where the server's exact figures are compared.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from integration.server_fixture import V2, Auth, Member, Reply, RunningServer, kalshi_v2, running_server, unique
from predictex.accounts import ScryptCost

REPO = Path(__file__).resolve().parents[2]
SPEC_PATH = Path(os.environ.get("PREDICTEX_KALSHI_OPENAPI", REPO.parent / "shared" / "reference" / "specs" / "kalshi-openapi-3.3.0.yaml"))
PORTFOLIO = V2 + "/portfolio"
TAKER_RATE = Fraction(7, 100)  # Kalshi's general trading fee (reference §7.6)
MAKER_RATE = Fraction(175, 10_000)  # maker fee on quadratic_with_maker_fees series


# --- fees, by hand (reference §7.6) ----------------------------------------------------------------------

def trade_fee_microdollars(contracts: Fraction | int, price_cents: Fraction | int, rate: Fraction = TAKER_RATE) -> int:
    """rate x C x P x (1 - P), P in dollars, rounded up to $0.0001 (= 100 microdollars)."""
    price = Fraction(price_cents, 100)
    fee_dollars = rate * Fraction(contracts) * price * (1 - price)
    return math.ceil(fee_dollars * 10_000) * 100


def cash_change_microdollars(revenue_microdollars: int, fee_microdollars: int) -> int:
    """The balance change of one fill: revenue - fee, floored to the cent (reference §7.6)."""
    return math.floor(Fraction(revenue_microdollars - fee_microdollars, 10_000)) * 10_000


def dollars_text(microdollars: int) -> str:
    """$ amounts as the server writes money: 4 decimals (6 when sub-centicent)."""
    sign = "-" if microdollars < 0 else ""
    whole, rest = divmod(abs(microdollars), 1_000_000)
    text = f"{whole}.{rest:06d}"
    return sign + (text[:-2] if text.endswith("00") else text)


# --- markets of a test's own ---------------------------------------------------------------------------------

def make_markets(server: RunningServer, count: int = 1, *, prefix: str = "KXT", fee_type: str = "quadratic",
                 structure: str = "linear_cent", fractional: bool = False, close_in_s: int = 86_400 * 30) -> list[str]:
    """A fresh series and event holding `count` binary markets nobody else trades in."""
    series = unique(prefix).upper()
    event = f"{series}-27JAN"
    server.admin("POST", "/series", {"ticker": series, "title": f"Series {series}", "category": "Testing", "frequency": "daily",
                                     "fee_type": fee_type}, expect=201)
    server.admin("POST", "/events", {"event_ticker": event, "series_ticker": series, "title": f"Event {event}"}, expect=201)
    tickers = [f"{event}-M{n}" for n in range(1, count + 1)]
    now = int(time.time())
    for ticker in tickers:
        server.admin("POST", "/markets", {  # open a minute ago, so that a test may close it at once
            "ticker": ticker, "event_ticker": event, "title": f"Market {ticker}", "open_time": now - 60, "close_time": now + close_in_s,
            "price_level_structure": structure, "fractional_trading_enabled": fractional, "settlement_timer_seconds": 3600,
        }, expect=201)
    return tickers


def settle(server: RunningServer, ticker: str, result: str, **determination: Any) -> None:
    """The operator closes the market now, determines it and finalizes it (without waiting out the
    settlement timer): payouts are made."""
    server.admin("POST", f"/markets/{ticker}/times", {"close_time": int(time.time()) - 1}, expect=200)
    server.admin("POST", f"/markets/{ticker}/determine", {"result": result, "source": "test", **determination}, expect=200)
    assert server.admin("POST", f"/markets/{ticker}/finalize", expect=200).json()["status"] == "finalized"


def event_of(ticker: str) -> str:
    return ticker.rsplit("-", 1)[0]


# --- a member who trades -------------------------------------------------------------------------------------

@dataclass
class Trader:
    server: RunningServer
    member: Member
    auth: Auth

    # raw calls under /trade-api/v2
    def call(self, method: str, path: str, body: Any = None) -> Reply:
        return self.server.request(method, V2 + path, body, auth=self.auth)

    def ok(self, path: str) -> Any:
        reply = self.call("GET", path)
        assert reply.status == 200, reply
        return reply.json()

    # orders
    def legacy(self, ticker: str, side: str, action: str, count: int, price_cents: int | None = None, **options: Any) -> Reply:
        """POST /portfolio/orders; the price is the `side`'s own price in cents (yes_price or no_price)."""
        body: dict[str, Any] = {"ticker": ticker, "side": side, "action": action, "count": count, **options}
        if price_cents is not None:
            body[f"{side}_price"] = price_cents
        return self.call("POST", "/portfolio/orders", body)

    def v2(self, ticker: str, side: str, count: str, price: str, **options: Any) -> Reply:
        """POST /portfolio/events/orders, good-till-canceled and taker_at_cross unless told otherwise."""
        body = {"ticker": ticker, "side": side, "count": count, "price": price, "time_in_force": "good_till_canceled",
                "self_trade_prevention_type": "taker_at_cross", **options}
        return self.call("POST", "/portfolio/events/orders", body)

    def rest(self, ticker: str, side: str, count: str, price: str, **options: Any) -> str:
        """A V2 order that must be accepted; its order id."""
        reply = self.v2(ticker, side, count, price, **options)
        assert reply.status == 201, reply
        return str(reply.json()["order_id"])

    def order(self, order_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.ok(f"/portfolio/orders/{order_id}")["order"]
        return found

    def orders(self, query: str = "") -> list[dict[str, Any]]:
        """Every order the account has (all pages), newest first."""
        found: list[dict[str, Any]] = []
        cursor = ""
        while True:
            page = self.ok(f"/portfolio/orders?limit=1000{'&' + query if query else ''}{'&cursor=' + cursor if cursor else ''}")
            found += page["orders"]
            cursor = page["cursor"]
            if not cursor:
                return found

    # portfolio
    def balance(self) -> dict[str, Any]:
        found: dict[str, Any] = self.ok("/portfolio/balance")
        return found

    def cash_cents(self) -> int:
        return int(self.balance()["balance"])

    def positions(self, query: str = "") -> dict[str, Any]:
        found: dict[str, Any] = self.ok(f"/portfolio/positions{'?' + query if query else ''}")
        return found

    def position(self, ticker: str) -> dict[str, Any] | None:
        for found in self.positions(f"ticker={ticker}&settlement_status=all")["market_positions"]:
            if found["ticker"] == ticker:
                return dict(found)
        return None

    def fills(self, query: str = "") -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.ok(f"/portfolio/fills{'?' + query if query else ''}")["fills"]
        return found


def new_trader(server: RunningServer, name: str, deposit_cents: int = 0, *, tier: str = "prestige", key_type: str = "ed25519") -> Trader:
    """A member with an API key (Ed25519 unless told: RSA key generation is slow on a shared machine;
    the auth tests cover RSA), funded by the operator (prod exchanges start at $0)."""
    _cheap_passwords(server)
    member = server.new_member(f"{unique(name)}@example.com", tier=tier, key_type=key_type)
    if deposit_cents:
        server.admin("POST", f"/members/{member.member_id}/deposits", {"amount_cents": deposit_cents}, expect=201)
    return Trader(server, member, kalshi_v2(member.credentials))


def _cheap_passwords(server: RunningServer) -> None:
    """Members made here never log in with their password: hash it at a cheap scrypt cost (the
    default costs half a second and 128 MiB a member; the auth tests cover it)."""
    exchange = server.app.exchange
    assert exchange is not None
    exchange.accounts.members._cost = ScryptCost(log2_n=4)


def book(server: RunningServer, ticker: str) -> dict[str, Any]:
    found: dict[str, Any] = server.get_ok(f"{V2}/markets/{ticker}/orderbook")["orderbook_fp"]
    return found


def seen_by(trader: Trader, ticker: str) -> dict[str, Any]:
    """Everything the account and the market show: compared before and after a refusal."""
    balance = trader.balance()
    balance.pop("updated_ts", None)
    return {
        "balance": balance,
        "orders": trader.orders(),
        "positions": trader.positions("settlement_status=all"),
        "fills": trader.fills(),
        "book": book(trader.server, ticker),
        "groups": trader.ok("/portfolio/order_groups"),
    }


# --- Kalshi's OpenAPI document (reference/specs/kalshi-openapi-3.3.0.yaml) ----------------------------------

@functools.cache
def _spec() -> dict[str, Any]:
    import yaml  # a test dependency

    if not SPEC_PATH.exists():
        pytest.fail(f"Kalshi's OpenAPI document is not at {SPEC_PATH}: the tests read it from ../shared beside the checkout "
                    "(or set PREDICTEX_KALSHI_OPENAPI)", pytrace=False)
    loaded: dict[str, Any] = yaml.load(SPEC_PATH.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return loaded


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = _spec()
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,), "array": (list,), "object": (dict,),
}


def schema_problems(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Where `value` breaks `schema` (types, required keys, enums, nullability), recursively."""
    schema = _resolve(schema)
    if "allOf" in schema:
        problems: list[str] = []
        if value is None and schema.get("nullable"):
            return problems
        for part in schema["allOf"]:
            problems += schema_problems(value, part, where)
        return problems
    if value is None:
        return [] if schema.get("nullable") else [f"{where} is null"]
    kind = schema.get("type")
    if kind is None and "properties" in schema:
        kind = "object"
    if kind is not None:
        expected = _JSON_TYPES[kind]
        if not isinstance(value, expected) or (kind in ("integer", "number") and isinstance(value, bool)):
            return [f"{where}={value!r} is not {kind}"]
    problems = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}={value!r} not in {schema['enum']}")
    if schema.get("format") == "date-time" and isinstance(value, str):
        try:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"{where}={value!r} is not a date-time")
    if kind == "object":
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{where}.{name} is missing")
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                problems += schema_problems(value[name], sub, f"{where}.{name}")
    if kind == "array" and "items" in schema:
        for i, item in enumerate(value):
            problems += schema_problems(item, schema["items"], f"{where}[{i}]")
    return problems


def conforms(reply: Reply, method: str, path: str) -> Any:
    """The reply's status is one the OpenAPI document declares for (method, path template) and its
    body has the declared shape (an error body: Kalshi's `{"error": ErrorResponse}` wrapper). Returns
    the parsed body."""
    operation = _spec()["paths"][path][method.lower()]
    declared = operation["responses"]
    assert str(reply.status) in declared, f"{method} {path} answered {reply.status}, the document declares {sorted(declared)}"
    response = _resolve(declared[str(reply.status)])
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    body = reply.json() if reply.body else None
    if reply.status >= 400:
        assert isinstance(body, dict) and isinstance(body.get("error"), dict), reply
        problems = schema_problems(body["error"], schema or {}, "$.error")
    else:
        problems = schema_problems(body, schema, "$") if schema else []
    assert not problems, f"{method} {path} ({reply.status}) breaks the OpenAPI document: {problems}\n{reply}"
    return body


def conforms_to(value: Any, schema_name: str) -> None:
    """`value` has the shape of components.schemas[schema_name]."""
    problems = schema_problems(value, {"$ref": f"#/components/schemas/{schema_name}"})
    assert not problems, f"breaks {schema_name}: {problems}\n{json.dumps(value)[:2000]}"


# --- shapes of the current (V2) answers, which the 3.3.0 document predates (reference §6.3-§6.5) -----------

V2_CREATE: dict[str, type] = {"order_id": str, "client_order_id": str, "fill_count": str, "remaining_count": str, "ts_ms": int}
V2_CANCEL: dict[str, type] = {"order_id": str, "client_order_id": str, "reduced_by": str, "ts_ms": int}
V2_DECREASE: dict[str, type] = {"order_id": str, "client_order_id": str, "remaining_count": str, "ts_ms": int}


def has_fields(value: dict[str, Any], fields: dict[str, type]) -> None:
    for name, kind in fields.items():
        assert name in value, f"missing {name} in {value}"
        assert isinstance(value[name], kind) and not (kind is int and isinstance(value[name], bool)), f"{name}={value[name]!r}"


# --- fixtures the trading modules share -----------------------------------------------------------------


def prod_server(label: str) -> Callable[..., Iterator[RunningServer]]:
    """A module's `server` fixture: one prod exchange (no demo liquidity) for the whole module."""

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
        with running_server(tmp_path_factory.mktemp(label), environment="prod") as running:
            yield running

    return server


def trader_fixture(name: str, deposit_cents: int) -> Callable[..., Trader]:
    """A fixture giving each test a fresh member called `name` with `deposit_cents` to trade with."""

    @pytest.fixture
    def fixture(server: RunningServer) -> Trader:
        return new_trader(server, name, deposit_cents)

    return fixture
