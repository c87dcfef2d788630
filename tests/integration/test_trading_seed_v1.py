"""The seed's own API guide (../shared/seed/kalshi-api-guide.txt) run as written against predictex.

Its Python example (the `KalshiAuth` class and its usage), its login, order and cancel snippets and
its curl calls are read out of the document at test time, never copied here. The document lost its
indentation, so the code is re-indented by Python's block rules (see `reindent`) and then checked to
be the document's lines exactly, apart from indentation and the only two substitutions allowed: the
base URL and the API key id. The private key path `~/.kalshi/private_key.pem` is kept too: the
example opens it as a relative path, so it runs in a directory holding a folder named `~`.

The story: on a prod exchange the seed's market INXCHI-25JAN31-T69.5 is created by the operator and
carol offers 40 YES at $0.60. The example buys 100 YES at 6500 ($0.65): it takes carol's 40
(cost $24.00, fee 0.07 x 40 x 0.6 x 0.4 = $0.672 -> balance change -$24.672, floored to -$24.68)
and rests 60, locking 60 x $0.65 = $39.00; $100 - 24.68 - 39.00 = $36.32 left. The cancel frees the
$39.00: $75.32. Then two others trade at $0.70: the 40 YES are worth $28.00, +$4.00 unrealized. The
market settles YES: $40.00 paid, a profit of 40.00 - 24.00 - 0.68 = $15.32."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from integration.server_fixture import RunningServer, running_server
from integration.trading_helpers import REPO, Trader, conforms, make_markets, new_trader, settle

SEED = Path(os.environ.get("PREDICTEX_SEED_GUIDE", REPO.parent / "shared" / "seed" / "kalshi-api-guide.txt"))
SEED_BASE = "https://api.kalshi.com/v1"
SEED_KEY_ID = "kalshi_prod_abc123"
TICKER = "INXCHI-25JAN31-T69.5"
MARKER = "@@seed-test@@ "


# --- reading the document ---------------------------------------------------------------------------------

def _seed_lines() -> list[str]:
    if not SEED.exists():
        pytest.fail(f"the seed document is not at {SEED}: the tests read it from ../shared beside the checkout "
                    "(or set PREDICTEX_SEED_GUIDE)", pytrace=False)
    return SEED.read_text().splitlines()


def _block(lines: list[str], first: str, last: str) -> list[str]:
    """The lines from the one equal to `first` through the next one equal to `last`."""
    start = lines.index(first)
    return lines[start: lines.index(last, start) + 1]


_STRING = re.compile(r'"[^"]*"|\'[^\']*\'')
_CONTINUES = ("elif ", "else:", "except", "finally:")


def reindent(lines: list[str]) -> list[str]:
    """Python's indentation, put back by its block rules: a line ending in ':' opens a block; `class`
    and top-level `def` start at column 0 and a `def` inside a class is a method; the document's
    `if`/`elif`/`else`/`with` blocks hold one statement each; a `return` ends its function, and code
    after a class's last method (anything but another `def`) is top level again; lines inside open
    brackets continue their statement; comments take the level of the statement after them."""
    out: list[str] = []
    blocks: list[tuple[str, int]] = []  # (class | def | block, level of its body)
    pending_comments: list[str] = []
    depth = 0  # open brackets
    level = 0  # of the statement being written
    closed_header = 0  # level of the one-statement block that just ended (for elif/else)
    after_return = False
    statement = ""
    for raw in lines:
        text = raw.strip()
        if depth == 0 and text.startswith("#"):
            pending_comments.append(text)
            continue
        if depth == 0:  # a new statement
            if after_return and not text.startswith(("def ", "@")):
                while blocks and blocks[-1][0] == "class":
                    blocks.pop()
            after_return = False
            if text.startswith("class "):
                blocks, level = [], 0
            elif text.startswith("def "):
                while blocks and blocks[-1][0] != "class":
                    blocks.pop()
                level = blocks[-1][1] if blocks else 0
            elif text.startswith(_CONTINUES):
                level = closed_header
            else:
                level = blocks[-1][1] if blocks else 0
            out += ["    " * level + comment for comment in pending_comments]
            pending_comments = []
            statement = text
            out.append("    " * level + text)
        else:
            out.append("    " * (level + (0 if text[:1] in ")]}" else 1)) + text)
        bare = _STRING.sub('""', text).split("#")[0].rstrip()  # code only: no strings, no comment
        depth += sum(bare.count(c) for c in "([{") - sum(bare.count(c) for c in ")]}")
        if depth:
            continue
        if bare.endswith(":"):
            kind = "class" if statement.startswith("class ") else "def" if statement.startswith("def ") else "block"
            blocks.append((kind, level + 1))
        elif blocks and blocks[-1][0] == "block":  # the block's one statement is complete
            closed_header = blocks.pop()[1] - 1
        if statement.startswith("return"):
            while blocks and blocks[-1][0] != "def":
                blocks.pop()
            if blocks:
                blocks.pop()
            after_return = True
    return out + pending_comments


def _python_snippets(lines: list[str]) -> dict[str, list[str]]:
    return {
        "client": _block(lines, "import requests", "print(markets)"),
        "login": _block(lines, "# Login to get session token", "}"),
        "order": _block(lines, 'order = kalshi.request("POST", "/orders", {', "})"),
        "cancel": [next(line for line in lines if line.startswith('kalshi.request("DELETE", f"/orders/'))],
    }


def _curl_calls(lines: list[str]) -> list[str]:
    """Each `curl "..." \\` line of the document with the header line after it, as one command."""
    return [f"{line[:-1].strip()} {lines[i + 1].strip()}" for i, line in enumerate(lines) if line.startswith("curl ")]


def test_the_reindented_example_is_the_documents_code_and_compiles() -> None:
    snippets = _python_snippets(_seed_lines())
    for name, code in snippets.items():
        indented = reindent(code)
        assert [line.strip() for line in indented] == [line.strip() for line in code], name
        compile("\n".join(indented), f"seed:{name}", "exec")
    client = "\n".join(reindent(snippets["client"]))
    assert "    def sign_request(self, method, path, body=None):\n        # Create timestamp" in client
    assert '        if body:\n            string_to_sign += json.dumps' in client
    assert "        return response.json()\n# Usage\nkalshi = KalshiAuth(" in client
    assert client.count(SEED_BASE) == 1 and client.count(SEED_KEY_ID) == 1


# --- running it -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("seed"), environment="prod") as running:
        running.admin("POST", "/series", {"ticker": "INXCHI", "title": "Chicago Fed National Activity Index", "category": "Economics",
                                          "frequency": "monthly"}, expect=201)
        running.admin("POST", "/events", {"event_ticker": "INXCHI-25JAN31", "series_ticker": "INXCHI",
                                          "title": "Chicago Fed index for January"}, expect=201)
        now = int(time.time())
        running.admin("POST", "/markets", {"ticker": TICKER, "event_ticker": "INXCHI-25JAN31", "title": "Above 69.5?",
                                           "open_time": now - 60, "close_time": now + 86_400, "settlement_timer_seconds": 3600},
                      expect=201)
        yield running


def _program(snippets: dict[str, list[str]], base_url: str, key_id: str) -> str:
    """The document's snippets in its order, with the two substitutions, and lines of this test's own
    (marked) that print what the example got back, using the example's own KalshiAuth."""
    written = "\n".join(reindent(snippets["client"]))
    client = written.replace(f'"{SEED_BASE}"', json.dumps(base_url)).replace(f'"{SEED_KEY_ID}"', json.dumps(key_id))
    changed = [(a, b) for a, b in zip(written.splitlines(), client.splitlines(), strict=True) if a != b]
    assert [a.strip() for a, _ in changed] == [f'self.base_url = "{SEED_BASE}"', f'api_key_id="{SEED_KEY_ID}",'], changed
    report = 'print("' + MARKER + '" + __import__("json").dumps({{"step": {step!r}, "value": {value}}}))'
    return "\n".join([
        client,
        report.format(step="markets", value="markets"),
        *reindent(snippets["login"]),
        report.format(step="login", value="login_response"),
        *reindent(snippets["order"]),
        report.format(step="order", value="order"),
        report.format(step="balance_resting", value='kalshi.request("GET", "/portfolio/balance")'),
        *reindent(snippets["cancel"]),
        report.format(step="order_after_cancel", value='kalshi.request("GET", f"/orders/{order[\'id\']}")'),
    ]) + "\n"


def _run_example(server: RunningServer, trader: Trader, workdir: Path) -> dict[str, Any]:
    key_dir = workdir / "~" / ".kalshi"
    key_dir.mkdir(parents=True)
    private_key = trader.member.credentials.private_key
    (key_dir / "private_key.pem").write_bytes(private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    program = _program(_python_snippets(_seed_lines()), server.base_url + "/v1", trader.member.credentials.key_id)
    (workdir / "seed_example.py").write_text(program)
    done = subprocess.run([sys.executable, "seed_example.py"], cwd=workdir, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    found = {}
    for line in done.stdout.splitlines():
        if line.startswith(MARKER):
            entry = json.loads(line[len(MARKER):])
            found[entry["step"]] = entry["value"]
    assert "print(markets)" in program and done.stdout.startswith("{")  # the example's own print came first
    return found


def _curl(call: str, base_url: str, token: str) -> Any:
    command = call.replace(SEED_BASE, base_url)
    argv = shlex.split(command)
    assert argv[0] == "curl" and argv[2] == "-H", argv
    done = subprocess.run(["bash", "-c", command + " --silent --show-error"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SESSION_TOKEN": token})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_seeds_example_trades_cancels_and_reads_its_portfolio(server: RunningServer, tmp_path: Path) -> None:
    trader = new_trader(server, "seed", 10_000, key_type="rsa")  # $100; the example signs with RSA-PSS
    carol = new_trader(server, "carol", 100_000)
    carol.rest(TICKER, "ask", "40", "0.60")
    results = _run_example(server, trader, tmp_path)

    assert TICKER in [m["market_id"] for m in results["markets"]["markets"]]
    token = results["login"]["token"]
    assert results["login"]["member_id"] == trader.member.member_id
    order = results["order"]
    assert (order["market_id"], order["side"], order["price"], order["quantity"], order["client_order_id"]) == (
        TICKER, "yes", 6500, 100, "my-strategy-001")
    assert (order["filled_quantity"], order["remaining_quantity"], order["status"]) == (40, 60, "resting")
    assert results["balance_resting"]["balance_dollars"] == "36.3200"
    after = results["order_after_cancel"]
    assert (after["id"], after["status"], after["filled_quantity"], after["remaining_quantity"]) == (order["id"], "canceled", 40, 0)

    # others trade at $0.70: the last traded price marks the position
    dave = new_trader(server, "dave", 100_000)
    carol.rest(TICKER, "ask", "1", "0.70")
    assert dave.v2(TICKER, "bid", "1", "0.70").status == 201
    calls = _curl_calls(_seed_lines())
    assert len(calls) == 8
    replies = {shlex.split(call)[1].replace(SEED_BASE, ""): _curl(call, server.base_url + "/v1", token) for call in calls}
    assert replies["/markets/INXCHI-25JAN31-T69.5"]["market"]["last_price"] == 7000
    book = replies["/markets/INXCHI-25JAN31-T69.5/orderbook"]
    assert book["bids"] == [] and book["asks"] == []
    assert replies["/orders"]["orders"] == []  # open orders only: the one it placed is cancelled
    balance = replies["/portfolio/balance"]
    assert (balance["balance_dollars"], balance["locked_dollars"], balance["portfolio_value_dollars"]) == ("75.3200", "0.0000", "28.0000")
    [position] = replies["/portfolio/positions"]["positions"]
    assert {k: position[k] for k in ("market_id", "side", "quantity", "cost_dollars", "last_price", "market_value_dollars",
                                     "unrealized_pnl_dollars", "fees_paid_dollars")} == {
        "market_id": TICKER, "side": "yes", "quantity": 40, "cost_dollars": "24.0000", "last_price": 7000,
        "market_value_dollars": "28.0000", "unrealized_pnl_dollars": "4.0000", "fees_paid_dollars": "0.6800"}
    [fill] = replies["/portfolio/fills"]["fills"]
    assert (fill["side"], fill["action"], fill["price"], fill["quantity"], fill["fee_dollars"], fill["is_taker"]) == (
        "yes", "buy", 6000, 40, "0.6800", True)
    assert fill["created_time"].endswith("Z") and isinstance(fill["timestamp"], int)
    unsettled = replies["/markets/INXCHI-25JAN31-T69.5/settlement"]
    assert (unsettled["settled"], unsettled["result"], unsettled["position"]) == (False, "", None)

    settle(server, TICKER, "yes")
    settled = _curl(calls[-1], server.base_url + "/v1", token)
    assert (settled["settled"], settled["result"], settled["status"], settled["settlement_value"]) == (True, "yes", "finalized", 10_000)
    assert settled["position"] == {"quantity": 40, "quantity_fp": "40.00", "side": "yes", "cost_dollars": "24.0000",
                                   "payout_dollars": "40.0000", "fees_paid_dollars": "0.6800", "profit_dollars": "15.3200"}
    assert _curl(calls[4], server.base_url + "/v1", token)["balance_dollars"] == "115.3200"  # 75.32 + 40.00
    # the same account through Kalshi v2 agrees
    v2 = conforms(trader.call("GET", "/portfolio/settlements"), "GET", "/portfolio/settlements")["settlements"]
    assert [(s["ticker"], s["yes_count"], s["revenue"]) for s in v2] == [(TICKER, 40, 4000)]


def test_v1_orders_sell_and_refusals(server: RunningServer) -> None:
    """The seed's order call with `action` sell and in NO terms, its listing filters, and refusals in its shape."""
    seller = new_trader(server, "seller", 100_000)
    buyer = new_trader(server, "buyer", 100_000)
    [ticker] = make_markets(server)
    assert buyer.v2(ticker, "ask", "5", "0.30").status == 201
    auth = seller.auth  # Kalshi v2 signing; the seed's own signing is what the example above uses
    created = server.request("POST", "/v1/orders", {"market_id": ticker, "side": "yes", "order_type": "limit", "price": 3000,
                                                      "quantity": 5, "client_order_id": "v1-buy"}, auth=auth)
    assert created.status == 201 and created.json()["status"] == "executed", created
    sold = server.request("POST", "/v1/orders", {"market_id": ticker, "side": "yes", "action": "sell", "order_type": "limit",
                                                 "price": 2500, "quantity": 2}, auth=auth)
    assert sold.status == 201, sold
    assert (sold.json()["side"], sold.json()["action"], sold.json()["price"], sold.json()["status"]) == ("yes", "sell", 2500, "resting")
    no_side = server.request("POST", "/v1/orders", {"market_id": ticker, "side": "no", "order_type": "limit", "price": 6000,
                                                    "quantity": 1}, auth=auth)
    assert (no_side.json()["side"], no_side.json()["price"]) == ("no", 6000), no_side
    assert seller.order(no_side.json()["id"])["yes_price_dollars"] == "0.4000"  # NO at 0.60 rests as a YES ask at 0.40
    duplicate = server.request("POST", "/v1/orders", {"market_id": ticker, "side": "yes", "price": 100, "quantity": 1,
                                                      "client_order_id": "v1-buy"}, auth=auth)
    assert duplicate.status == 409 and duplicate.error["code"] == "order_already_exists", duplicate
    for body, code in (({"market_id": ticker, "side": "maybe", "price": 100, "quantity": 1}, "invalid_parameters"),
                       ({"market_id": ticker, "side": "yes", "quantity": 1}, "missing_parameters"),
                       ({"market_id": ticker, "side": "yes", "price": 10_000, "quantity": 1}, "invalid_parameters"),
                       ({"market_id": ticker, "side": "yes", "price": 100, "quantity": 100_000}, "insufficient_balance")):
        refused = server.request("POST", "/v1/orders", body, auth=auth)
        assert refused.status == 400 and refused.error["code"] == code, (body, refused)
    listed = server.get_ok(f"/v1/orders?market_id={ticker}", auth=auth)["orders"]
    assert sorted(o["side"] for o in listed) == ["no", "yes"]
    everything = server.get_ok(f"/v1/orders?market_id={ticker}&status=all", auth=auth)["orders"]
    assert len(everything) == 3
    other = server.request("DELETE", f"/v1/orders/{listed[0]['id']}", auth=buyer.auth)
    assert other.status == 404, other
    fills = server.get_ok(f"/v1/portfolio/fills?market_id={ticker}", auth=auth)["fills"]
    assert [(f["side"], f["action"], f["price"], f["quantity"]) for f in fills] == [("yes", "buy", 3000, 5)]


def test_v1_order_quantity_is_the_size_ordered_after_a_partial_fill_and_a_cancel(server: RunningServer) -> None:
    """`quantity` stays what was ordered once part of it filled and the rest was cancelled (not filled + open)."""
    owner = new_trader(server, "owner", 100_000)
    taker = new_trader(server, "taker", 100_000)
    [ticker] = make_markets(server)
    placed = server.request("POST", "/v1/orders", {"market_id": ticker, "side": "yes", "order_type": "limit", "price": 4000,
                                                   "quantity": 10}, auth=owner.auth)
    assert placed.status == 201, placed
    order_id = placed.json()["id"]
    assert taker.v2(ticker, "ask", "4", "0.40").status == 201
    assert server.request("DELETE", f"/v1/orders/{order_id}", auth=owner.auth).status == 200
    listed = {o["id"]: o for o in server.get_ok(f"/v1/orders?market_id={ticker}&status=all", auth=owner.auth)["orders"]}
    order = listed[order_id]
    assert (order["status"], order["quantity"], order["filled_quantity"], order["remaining_quantity"]) == ("canceled", 10, 4, 0)
    assert order["quantity_fp"] == "10.00"
