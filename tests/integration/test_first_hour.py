"""A newcomer's first hour, through the real `predictex` command in subprocesses, each test on a fresh
data directory and a config file and home of its own:

- the banner's commands work as printed (the key command saves a profile the next commands use), its
  links answer, and nothing secret is on standard output;
- the README's operator flow runs as printed, line by line, and settles the market;
- ordinary mishaps give one line and an exit code, never a traceback: no terminal for a password, a
  reader that goes away (`| head`), a server that is down, a key file that is missing;
- admin commands print tables (and JSON with --json);
- `markets show --watch` on a terminal redraws the whole screen, market figures included.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shlex
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import connect

from integration.server_fixture import V2, Credentials, kalshi_v2
from integration.test_serve_process import EXIT_TIMEOUT_S, ServeProcess, predictex_command

ROOT = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT_S = 60.0
DEMO_TICKER = "INXCHI-25JAN31-T69.5"


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """The environment of a new user: an empty home and config, nothing from the test's environment."""
    (tmp_path / "home").mkdir()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PREDICTEX_")}
    environment.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "home" / ".config"))
    return environment


@pytest.fixture
def server(tmp_path: Path, home: dict[str, str]) -> Iterator[ServeProcess]:
    running = ServeProcess(tmp_path / "predictex-data", env=home)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.stop()


def run(home: dict[str, str], cwd: Path, *arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*predictex_command(), *arguments], capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S,
                          cwd=cwd, env={**home, **(env or {})}, stdin=subprocess.DEVNULL)


def as_printed(line: str) -> list[str]:
    """A command as a shell would split it, `predictex` replaced by the installed command."""
    words = shlex.split(line)
    assert words[0] == "predictex", line
    return words[1:]


def one_line_error(done: subprocess.CompletedProcess[str], command: str) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"predictex {command}: "), done.stderr
    return lines[0]


# --- the banner ------------------------------------------------------------------------------------

def test_the_banners_commands_work_as_printed_and_its_links_answer(server: ServeProcess, tmp_path: Path, home: dict[str, str]) -> None:
    banner = "\n".join(server.banner)
    details = json.loads((server.data_dir / "operator.json").read_text())
    assert details["password"] not in banner and "BEGIN" not in banner  # no secret on standard output
    for url in re.findall(r"(?<!--url )http://\S+", "\n".join(server.banner[1:])):  # links, not the address or a command's --url
        if "base URLs" in next(line for line in server.banner if re.search(re.escape(url) + r"(\s|$)", line)):
            url += "/markets"  # a base URL, not a page: its markets are
        with urllib.request.urlopen(url, timeout=COMMAND_TIMEOUT_S) as answer:
            assert answer.status == 200, url
    with connect(re.findall(r"ws://\S+/trade-api/ws/v2", banner)[0]) as socket:
        socket.send(json.dumps({"id": 1, "cmd": "subscribe", "params": {"channels": ["ticker"], "market_tickers": [DEMO_TICKER]}}))
        assert json.loads(socket.recv(timeout=COMMAND_TIMEOUT_S))["type"] == "subscribed"

    first = next(number for number, line in enumerate(server.banner) if "trade: " in line)
    trade = [line.strip() for line in server.banner[first:]]
    key_command = trade[0].removeprefix("trade: ")
    assert key_command == f"predictex keys create --url {server.base_url} --email you@example.com --profile local"
    created = run(home, tmp_path, *as_printed(key_command), env={"PREDICTEX_PASSWORD": "a fine password"})
    assert created.returncode == 0, created.stderr
    assert "signed up you@example.com" in created.stdout and "saved in profile local, now the default" in created.stdout
    next_commands = re.split(r"\s{3,}", trade[2])
    assert next_commands == ["predictex markets list", f"predictex order place {DEMO_TICKER} buy 1 0.51", "predictex balance"]
    outputs = []
    for line in next_commands:  # no --url, no key flags: the profile the key command saved
        done = run(home, tmp_path, *as_printed(line))
        assert done.returncode == 0, (line, done.stderr)
        outputs.append(done.stdout)
    assert DEMO_TICKER in outputs[0]
    assert "filled 1.00 at 0.5100 on average, resting 0.00" in outputs[1]
    assert outputs[2].splitlines()[0] == "available  $9999.4700"  # $10,000 of play money, less $0.51 and a $0.02 fee

    operator_command = re.search(r"try: (predictex admin .+)$", next(line for line in server.banner if "operator: " in line))
    assert operator_command, server.banner
    listed = run(home, tmp_path, *as_printed(operator_command.group(1)))
    assert listed.returncode == 0, listed.stderr
    header = re.split(r"\s{2,}", listed.stdout.splitlines()[0].strip())  # a table as the trader's, headers in words
    assert header[:5] == ["member id", "email", "role", "tier", "created time"], listed.stdout
    assert "operator@predictex.local" in listed.stdout and "you@example.com" in listed.stdout
    assert server.stop() == 0


# --- the README's operator flow --------------------------------------------------------------------

def readme_operator_flow() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- operator-flow[^>]*-->\n```\n(.*?)```", text, re.DOTALL)
    assert found, "README.md has no operator-flow block"
    return [line for line in found.group(1).splitlines() if line.strip()]


def test_the_readme_operator_flow_works_as_printed(server: ServeProcess, tmp_path: Path, home: dict[str, str]) -> None:
    flow = readme_operator_flow()
    assert [shlex.split(line)[2:4] for line in flow] == [
        ["series", "create"], ["event", "create"], ["market", "create"], ["market", "close"], ["market", "determine"],
        ["market", "finalize"]]
    ticker = shlex.split(flow[-1])[-1]
    env = {"PREDICTEX_URL": server.base_url}  # the README's server is at the default address; this one is not
    buyer = None
    for number, line in enumerate(flow):
        if number == 3:  # before it closes, a member buys YES from another, so that settlement pays someone
            buyer = _trade(server, ticker)
        done = run(home, tmp_path, *as_printed(line), env=env)  # in the directory holding predictex-data
        assert done.returncode == 0 and "Traceback" not in done.stderr, (line, done.stdout, done.stderr)
        if "determine" in line:
            assert done.stdout.split()[:6] == ["ticker", "status", "result", ticker, "determined", "yes"], done.stdout
    market = server.get_ok(f"{V2}/markets/{ticker}")["market"]
    assert (market["status"], market["result"]) == ("finalized", "yes")
    assert buyer is not None
    settlements = server.get_ok(V2 + "/portfolio/settlements", auth=kalshi_v2(buyer))["settlements"]
    assert [(s["ticker"], s["market_result"], s["revenue"]) for s in settlements] == [(ticker, "yes", 300)]  # 3 YES at $1


def _trade(server: ServeProcess, ticker: str) -> Credentials:
    """Two members cross: the buyer (whose key this returns) holds 3 YES at 0.40."""
    members = []
    for name in ("seller", "buyer"):
        member = server.admin("POST", "/members", {"email": f"{name}@example.com", "password": "a fine password"}, expect=201).json()
        token = server.request("POST", V2 + "/login", {"email": f"{name}@example.com", "password": "a fine password"}).json()["token"]
        key = server.request("POST", V2 + "/api_keys/generate", {"name": name}, auth=lambda m, p, b, t=token: {"Authorization": f"Bearer {t}"})
        assert key.status == 201, key
        members.append((member, key.json()))
    seller, buyer = (Credentials.from_pem(key["api_key_id"], key["private_key"]) for _, key in members)
    order = {"ticker": ticker, "action": "sell", "side": "yes", "count": 3, "type": "limit", "yes_price": 40}
    assert server.request("POST", V2 + "/portfolio/orders", order, auth=kalshi_v2(seller)).status == 201
    order = {**order, "action": "buy"}
    assert server.request("POST", V2 + "/portfolio/orders", order, auth=kalshi_v2(buyer)).status == 201
    return buyer


# --- ordinary mishaps ------------------------------------------------------------------------------

def test_ordinary_mishaps_give_one_line_and_an_exit_code(server: ServeProcess, tmp_path: Path, home: dict[str, str]) -> None:
    no_terminal = run(home, tmp_path, "keys", "create", "--url", server.base_url, "--email", "new@example.com")
    assert no_terminal.returncode == 2
    assert one_line_error(no_terminal, "keys create") == ("predictex keys create: no terminal to ask for new@example.com's password: "
                                                          "give --password or set PREDICTEX_PASSWORD")
    nothing_saved = run(home, tmp_path, "balance")
    assert nothing_saved.returncode == 2 and "needs an API key" in one_line_error(nothing_saved, "balance")
    assert nothing_saved.stderr.rstrip().endswith(  # what a newcomer does next
        "no key yet? on a predictex exchange, predictex keys create --url http://127.0.0.1:8000 --email YOU@EXAMPLE.COM "
        "--profile local makes one"), nothing_saved.stderr
    missing_key = run(home, tmp_path, "balance", "--url", server.base_url, "--key-id", "demo_x", "--key-file", str(tmp_path / "gone.pem"))
    assert missing_key.returncode == 2 and "does not exist" in one_line_error(missing_key, "balance")
    admin_elsewhere = run(home, tmp_path / "predictex-data", "admin", "--url", server.base_url, "member", "list")
    assert admin_elsewhere.returncode == 2 and "no operator credentials at predictex-data/operator.json" in one_line_error(
        admin_elsewhere, "admin member list")
    admin_missing_key = run(home, tmp_path, "admin", "--url", server.base_url, "--key-id", "demo_x", "--key-file", "gone.pem", "member", "list")
    assert admin_missing_key.returncode == 2 and "private key file gone.pem does not exist" in one_line_error(admin_missing_key, "admin member list")
    assert server.stop() == 0
    for arguments, command in ((("markets", "list", "--url", server.base_url), "markets list"),
                               (("admin", "--url", server.base_url, "member", "list"), "admin member list"),
                               (("keys", "list", "--url", server.base_url, "--email", "a@b.c", "--password", "x"), "keys list")):
        down = run(home, tmp_path, *arguments)
        assert down.returncode == 3, (arguments, down.stderr)
        assert "Connection refused; is the exchange running at that address? (--url chooses another)" in one_line_error(down, command)


def test_a_reader_that_goes_away_is_not_an_error(server: ServeProcess, tmp_path: Path, home: dict[str, str]) -> None:
    """`predictex ... | head`: here the reader is gone before the first write (as with `| true`), so
    every write meets a closed pipe, whatever the pipe's buffer size."""
    for arguments in (("markets", "list", "--url", server.base_url), ("admin", "--url", server.base_url, "member", "list"),
                      ("journal", "export", "--database", str(server.data_dir / "predictex.db"))):
        reader, writer = os.pipe()
        os.close(reader)
        child = subprocess.Popen([*predictex_command(), *arguments], stdout=writer, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=home)
        os.close(writer)
        _, err = child.communicate(timeout=COMMAND_TIMEOUT_S)
        assert (child.returncode, err) == (141, ""), arguments  # as a program SIGPIPE ended, without a word


def test_admin_commands_print_tables_or_json(server: ServeProcess, tmp_path: Path, home: dict[str, str]) -> None:
    admin = ("admin", "--url", server.base_url)
    table = run(home, tmp_path, *admin, "member", "create", "t@example.com", "--password", "a fine password")
    header, row = table.stdout.splitlines()
    # as the trader's tables: headers in words, times to the minute, yes/no
    assert re.split(r"\s{2,}", header)[:6] == ["member id", "email", "role", "tier", "created time", "suspended"], header
    cells = re.split(r"\s{2,}", row)
    assert cells[1:4] == ["t@example.com", "member", "basic"] and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", cells[4]), row
    assert cells[5] == "no", row
    member_id = row.split()[0]
    as_json = run(home, tmp_path, *admin, "member", "deposit", member_id, "25.00", "--json")
    assert json.loads(as_json.stdout) == {"member_id": member_id, "status": "completed"}
    listed = json.loads(run(home, tmp_path, *admin, "member", "list", "--json").stdout)
    # a new user's demo runs the market simulator, whose traders are members marked simulated
    assert [m["email"] for m in listed["members"] if not m["simulated"]] == ["operator@predictex.local", "t@example.com"]
    refused = run(home, tmp_path, *admin, "member", "deposit", member_id, "-5")
    assert refused.returncode == 1 and refused.stdout == "" and one_line_error(refused, "admin member deposit")
    suspended = json.loads(run(home, tmp_path, *admin, "member", "suspend", member_id, "--reason", "a test", "--json").stdout)
    assert (suspended["member_id"], suspended["suspended"]) == (member_id, True)
    refused = server.request("POST", V2 + "/login", {"email": "t@example.com", "password": "a fine password"})
    assert refused.status == 403 and b"suspended" in refused.body, refused  # a suspended member cannot log in
    reinstated = json.loads(run(home, tmp_path, *admin, "member", "reinstate", member_id, "--json").stdout)
    assert reinstated["suspended"] is False
    assert server.request("POST", V2 + "/login", {"email": "t@example.com", "password": "a fine password"}).status == 200
    unlocked = run(home, tmp_path, *admin, "member", "unlock", member_id)
    assert unlocked.returncode == 0, unlocked.stderr
    kept = run(home, tmp_path, *admin, "member", "close", member_id, "--reason", "a test")  # it holds cash: refused
    assert kept.returncode == 1 and one_line_error(kept, "admin member close") and "withdraw it first" in kept.stderr, kept.stderr


# --- markets show --watch on a terminal ------------------------------------------------------------

def test_watch_redraws_the_whole_screen_on_a_terminal(server: ServeProcess, tmp_path: Path, home: dict[str, str]) -> None:
    created = run(home, tmp_path, "keys", "create", "--url", server.base_url, "--email", "w@example.com", "--profile", "local",
                  env={"PREDICTEX_PASSWORD": "a fine password"})
    assert created.returncode == 0, created.stderr
    leader, follower = pty.openpty()
    watch = subprocess.Popen([*predictex_command(), "markets", "show", DEMO_TICKER, "--watch", "--depth", "2", "--updates", "3"],
                             stdin=follower, stdout=follower, stderr=follower, cwd=tmp_path, env=home)
    os.close(follower)
    try:
        screens = _screens(leader, 1)
        assert "last 0.0000   volume 0.00" in screens[0]
        bought = run(home, tmp_path, "order", "place", DEMO_TICKER, "buy", "2", "0.51")
        assert bought.returncode == 0, bought.stderr
        screens = _screens(leader, 2, screens)
        assert watch.wait(EXIT_TIMEOUT_S) == 0
    finally:
        watch.kill()
        os.close(leader)
    last = screens[-1]  # each screen starts by clearing the one before: the market's figures were redrawn too
    assert "status active   last 0.5100   volume 2.00   open interest 2.00" in last
    assert re.search(r"100\.00\s+0\.4900\s+0\.5100\s+98\.00", last), last


def _screens(leader: int, count: int, screens: list[str] | None = None) -> list[str]:
    """Read the terminal until `count` more screens (each begins with cursor-home, erase-screen) are complete."""
    text = "".join(f"\x1b[H\x1b[2J{screen}" for screen in screens or [])
    deadline = time.monotonic() + COMMAND_TIMEOUT_S
    wanted = len(screens or []) + count
    while True:
        parts = text.split("\x1b[H\x1b[2J")[1:]
        complete = [part for part in parts if "Ctrl-C to stop" in part]
        if len(complete) >= wanted:
            return complete
        assert time.monotonic() < deadline, f"only {len(complete)} screens: {text!r}"
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                text += os.read(leader, 65536).decode("utf-8", "replace")
            except OSError:  # the program ended and closed the terminal
                parts = text.split("\x1b[H\x1b[2J")[1:]
                return [part for part in parts if "Ctrl-C to stop" in part]
