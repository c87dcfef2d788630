"""The trader's commands against a running exchange: their output (tables and --json), exit codes
(0 done, 1 refused, 2 bad arguments or configuration, 3 unreachable), profiles in a config file of
the test's own, `keys create --profile`, and `markets show --watch` redrawing from the WebSocket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from integration.sdk_support import client_for, funded_member, new_markets
from integration.server_fixture import DEMO_TICKER, Member, RunningServer, running_server
from predictex.cli.main import main
from predictex.client import Count, Money, Price


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("cli-trader"), rate_limits=False) as running:
        yield running


@pytest.fixture(autouse=True)
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("PREDICTEX_CONFIG", str(path))
    for name in ("PREDICTEX_URL", "PREDICTEX_KEY_ID", "PREDICTEX_KEY_FILE", "PREDICTEX_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return path


def key_file(tmp_path: Path, member: Member) -> Path:
    path = tmp_path / f"{member.credentials.key_id}.pem"
    path.write_bytes(member.credentials.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return path


def cli(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(list(arguments))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def trader(server: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Member:
    """A funded member saved as the default profile."""
    member = funded_member(server, "cli")
    code, out, _ = cli(capsys, "profile", "set", "mine", "--url", server.base_url, "--key-id", member.credentials.key_id,
                       "--key-file", str(key_file(tmp_path, member)), "--default")
    assert code == 0 and "profile mine saved" in out
    return member


def test_markets_list_search_and_show(server: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "markets", "list", "--url", server.base_url)
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split()[:4] == ["ticker", "status", "yes", "bid"]
    row = next(r for r in rows if r.startswith(DEMO_TICKER))
    assert row.split()[1:4] == ["active", "0.4900", "0.5100"]
    code, out, _ = cli(capsys, "markets", "list", "--url", server.base_url, "--json")
    listed = {m["ticker"]: m for m in json.loads(out)}
    assert code == 0 and listed[DEMO_TICKER]["yes_bid"] == "0.4900" and listed[DEMO_TICKER]["yes_bid_size"] == "100.00"
    code, out, _ = cli(capsys, "markets", "search", "t69.5", "--url", server.base_url, "--json")
    assert code == 0 and [m["ticker"] for m in json.loads(out)] == [DEMO_TICKER]
    code, out, _ = cli(capsys, "markets", "show", DEMO_TICKER, "--url", server.base_url, "--depth", "2")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(DEMO_TICKER) and "spread 0.0200" in out
    book = lines[lines.index(next(line for line in lines if line.split()[:2] == ["bid", "size"])) + 1:]
    assert [line.split() for line in book] == [["100.00", "0.4900", "0.5100", "100.00"], ["100.00", "0.4800", "0.5200", "100.00"]]
    code, out, err = cli(capsys, "markets", "show", "NOPE", "--url", server.base_url)
    assert code == 1 and "404 market_not_found" in err


def test_order_place_amend_cancel_and_the_portfolio(server: RunningServer, trader: Member, capsys: pytest.CaptureFixture[str]) -> None:
    [ticker] = new_markets(server)
    code, out, _ = cli(capsys, "order", "place", ticker, "buy", "3", "0.40", "--json")
    assert code == 0
    placed = json.loads(out)
    assert (placed["fill_count"], placed["remaining_count"]) == ("0.00", "3.00")
    order_id = placed["order_id"]
    code, out, _ = cli(capsys, "orders", "--ticker", ticker)
    assert code == 0 and order_id in out and "resting" in out
    code, out, _ = cli(capsys, "order", "amend", order_id, "--price", "0.42", "--count", "5")
    assert code == 0 and f"amended {order_id}: bid 5.00 @ 0.4200" in out
    code, out, _ = cli(capsys, "order", "show", order_id, "--json")
    shown = json.loads(out)
    assert (shown["yes_price"], shown["remaining_count"]) == ("0.4200", "5.00")
    code, out, _ = cli(capsys, "order", "cancel", order_id)
    assert code == 0 and out.strip() == f"{order_id}: canceled (5.00 contracts)"
    code, out, _ = cli(capsys, "order", "place", DEMO_TICKER, "bid", "2", "0.51")
    assert code == 0 and "filled 2.00 at 0.5100 on average, resting 0.00" in out
    code, out, _ = cli(capsys, "fills", "--json")
    [fill] = json.loads(out)
    assert (fill["ticker"], fill["count"], fill["yes_price"], fill["fee_cost"]) == (DEMO_TICKER, "2.00", "0.5100", "0.0400")
    code, out, _ = cli(capsys, "positions")
    assert code == 0 and out.splitlines()[1].split()[:4] == [DEMO_TICKER, "2.00", "1.0200", "0.0000"]
    with client_for(server, trader) as client:
        balance = client.balance().balance
    code, out, _ = cli(capsys, "balance")
    assert code == 0 and out.splitlines()[0] == f"available  ${balance}"
    assert balance == Money("20000") - Price("0.51") * Count(2) - Money("0.04")


def test_cancel_all(server: RunningServer, trader: Member, capsys: pytest.CaptureFixture[str]) -> None:
    [ticker] = new_markets(server)
    for price in ("0.10", "0.11", "0.12"):
        assert cli(capsys, "order", "place", ticker, "bid", "1", price)[0] == 0
    code, out, _ = cli(capsys, "order", "cancel", "--all", "--json")
    assert code == 0 and [c["reduced_by"] for c in json.loads(out)] == ["1.00"] * 3
    code, out, _ = cli(capsys, "orders", "--status", "resting", "--json")
    assert json.loads(out) == []


def _no_repeated_phrase(line: str) -> bool:
    """No run of two or more words said twice in one line ("insufficient balance: insufficient balance")."""
    words = [w.strip(":,()").lower() for w in line.split()]
    pairs = [" ".join(words[i:i + 2]) for i in range(len(words) - 1)]
    return len(pairs) == len(set(pairs))


def test_exit_codes_and_messages(server: RunningServer, trader: Member, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "order", "place", DEMO_TICKER, "bid", "1000000", "0.45")
    assert code == 1 and err.strip().startswith("predictex order place: insufficient balance: need $450000.0000, have $")
    assert err.strip().endswith("(HTTP 400)") and _no_repeated_phrase(err)
    code, _, err = cli(capsys, "order", "place", DEMO_TICKER, "bid", "1", "0.453")
    assert code == 1 and "invalid price: 0.4530 is not on the linear_cent grid" in err and _no_repeated_phrase(err)
    code, _, err = cli(capsys, "order", "place", DEMO_TICKER, "bid", "1", "half")
    assert code == 2 and "'half' is not a price: prices are YES prices in dollars, from 0.01 to 0.99" in err
    code, _, err = cli(capsys, "order", "place", DEMO_TICKER, "bid", "1", "45")
    assert code == 2 and err.strip() == ("predictex order place: price 45 is out of range: prices are YES prices in dollars, "
                                         "from 0.01 to 0.99 (for 45¢ give 0.45)")
    code, _, err = cli(capsys, "order", "place", DEMO_TICKER, "bid", "1", "1.5")
    assert code == 2 and "price 1.5 is out of range" in err and "(0.45 is 45¢)" in err
    code, _, err = cli(capsys, "order", "place", DEMO_TICKER, "bid", "-3", "0.45")
    assert code == 2 and "count -3 must be positive" in err
    code, _, err = cli(capsys, "order", "place", DEMO_TICKER, "bid", "0", "0.45")
    assert code == 2 and "count 0 must be positive" in err
    code, _, err = cli(capsys, "balance", "--url", "http://127.0.0.1:9", "--timeout", "2")
    assert code == 3 and "predictex balance:" in err and "is the exchange running at that address?" in err
    code, _, err = cli(capsys, "balance", "--profile", "production", "--url", server.base_url)
    assert code == 2 and "needs an API key" in err
    code, _, err = cli(capsys, "balance", "--profile", "nowhere")
    assert code == 2 and "no profile 'nowhere'" in err
    code, _, err = cli(capsys, "balance", "--key-id", "demo_x", "--key-file", "/nonexistent/key.pem")
    assert code == 2 and "private key file /nonexistent/key.pem does not exist" in err
    code, _, err = cli(capsys, "order", "cancel")
    assert code == 2 and "give order ids or --all" in err


def test_keys_list_and_delete_use_the_saved_profile(server: RunningServer, trader: Member, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "keys", "list")  # no --email: signed with the default profile's key
    assert code == 0 and trader.credentials.key_id in out
    code, out, _ = cli(capsys, "keys", "list", "--json")
    listed = json.loads(out)
    assert code == 0 and [key["api_key_id"] for key in listed] == [trader.credentials.key_id]
    with client_for(server, trader) as client:
        spare = client.generate_api_key("spare")
    code, out, err = cli(capsys, "keys", "delete", spare.api_key_id)
    assert code == 0 and out.strip() == f"deleted {spare.api_key_id}", err
    code, out, _ = cli(capsys, "keys", "list", "--email", trader.email, "--password", trader.password)  # the login form still works
    assert code == 0 and trader.credentials.key_id in out and spare.api_key_id not in out


def test_profiles_and_keys_create(server: RunningServer, tmp_path: Path, config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "profile", "list", "--json")
    assert code == 0 and {p["name"]: p["url"] for p in json.loads(out)} == {
        "local": "http://127.0.0.1:8000", "demo": "https://demo-api.kalshi.co", "production": "https://api.elections.kalshi.com"}
    key_path = tmp_path / "keys" / "new.pem"
    code, out, _ = cli(capsys, "keys", "create", "--url", server.base_url, "--email", "cli-profile@example.com", "--password",
                       "a fine password", "--type", "ed25519", "--out", str(key_path), "--profile", "local")
    assert code == 0 and "saved in profile local" in out
    assert 'private_key = "' + str(key_path) + '"' in config_file.read_text()
    code, out, _ = cli(capsys, "profile", "show", "local", "--json")
    assert json.loads(out)["url"] == server.base_url and json.loads(out)["key_id"].startswith("demo_")
    code, out, _ = cli(capsys, "balance", "--json")  # local is the default profile
    assert code == 0 and json.loads(out)["balance"] == "10000.0000"  # a new demo account's play money
    assert cli(capsys, "profile", "use", "demo")[0] == 0
    assert json.loads(cli(capsys, "profile", "show", "--json")[1])["name"] == "demo"
    # the same email with another password: the demo sign-up answers alike, the login says who is right
    code, out, err = cli(capsys, "keys", "create", "--url", server.base_url, "--email", "cli-profile@example.com", "--password",
                         "another password", "--out", str(tmp_path / "keys" / "other.pem"))
    assert (code, out) == (2, "") and not (tmp_path / "keys" / "other.pem").exists()
    assert err == ("predictex keys create: cli-profile@example.com is already a member, with another password: "
                   "give that password (--password or PREDICTEX_PASSWORD)\n")


def _watch(server: RunningServer, ticker: str) -> subprocess.Popen[str]:
    env = dict(os.environ)  # the test's config file, with the trader's profile
    return subprocess.Popen(
        [sys.executable, "-m", "predictex", "markets", "show", ticker, "--url", server.base_url, "--watch", "--updates", "2", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def test_markets_show_watch_redraws_from_the_websocket(server: RunningServer, trader: Member) -> None:
    [ticker] = new_markets(server)
    watch = _watch(server, ticker)
    try:
        assert watch.stdout is not None
        line = watch.stdout.readline()
        assert line, watch.stderr.read() if watch.stderr else ""
        first: dict[str, Any] = json.loads(line)
        assert first == {"ticker": ticker, "bids": [], "asks": []}
        with client_for(server, trader) as client:
            client.create_order(ticker, "bid", 7, "0.33")
        second = json.loads(watch.stdout.readline())
        assert second["bids"] == [{"price": "0.3300", "count": "7.00"}]
        assert watch.wait(30) == 0
    finally:
        watch.kill()


def test_markets_show_watch_says_when_it_is_not_live(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A watch whose exchange goes away does not keep showing the last book as live: it redraws saying
    since when it is not, and reconnects (the SDK's stream) when the exchange is back."""
    with running_server(tmp_path / "going", rate_limits=False) as going:
        member = funded_member(going, "watch")
        assert cli(capsys, "profile", "set", "mine", "--url", going.base_url, "--key-id", member.credentials.key_id,
                   "--key-file", str(key_file(tmp_path, member)), "--default")[0] == 0
        watch = subprocess.Popen([sys.executable, "-m", "predictex", "markets", "show", DEMO_TICKER, "--watch", "--depth", "1"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        try:
            assert watch.stdout is not None
            screen = _screen(watch.stdout)
            assert screen[-1].startswith("live from the WebSocket, "), screen
            going.stop()  # the exchange goes away
            screen = _screen(watch.stdout)
            assert screen[-1].startswith("NOT LIVE: the connection was lost at "), screen
            assert screen[-1].endswith("; reconnecting (this is the book as it was then); Ctrl-C to stop")
            assert "  100.00  0.4900  0.5100    100.00" in screen  # the book as it was
        finally:
            watch.kill()
            watch.wait()


def _screen(stdout: Any) -> list[str]:
    """The lines of the next screen a watch writes when its output is not a terminal ("---" begins each)."""
    lines: list[str] = []
    while True:
        line = stdout.readline()
        assert line, f"the watch ended: {lines}"
        if line.strip() == "---":
            if lines:
                raise AssertionError(f"a screen without its last line: {lines}")
            continue
        lines.append(line.rstrip("\n"))
        if line.startswith(("live from the WebSocket", "NOT LIVE")):
            return lines


def test_an_order_from_the_command_line_is_journaled_as_the_cli(server: RunningServer, trader: Member,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    [ticker] = new_markets(server)
    code, _out, _ = cli(capsys, "order", "place", ticker, "buy", "1", "0.30", "--json")
    assert code == 0
    reply = server.admin("GET", f"/members/{trader.member_id}/audit?format=json", expect=200)
    [row] = [r for r in reply.json()["events"] if r["market"] == ticker]
    assert row["event"] == "accepted" and row["source"]["surface"] == "cli"
    assert row["source"]["key"] == trader.credentials.key_id
