"""The web pages in a real browser: Playwright for Python driving Debian's chromium (installed with
apt-get when /usr/bin/chromium is missing; never a downloaded browser), against a real exchange.

Two stories, as a member and an operator live them, and the checks a browser is needed for (keyboard
navigation of the order ticket, labels on every field). Screenshots of every page at 1280 and 390 px
wide are written to $PREDICTEX_ARTIFACTS (default tmp/artifacts/web, not committed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kalshi_sdk import SdkUnavailable, sdk_python

from integration.server_fixture import DEMO_TICKER, V2, RunningServer, running_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
WIDTHS = (1280, 390)
WAIT_MS = 15_000
ARTIFACTS = Path(os.environ.get("PREDICTEX_ARTIFACTS", Path(__file__).resolve().parents[2] / "tmp" / "artifacts" / "web"))
PASSWORD = "a web password"


def _chromium() -> str:
    if not Path(CHROMIUM).exists():
        apt = shutil.which("apt-get")
        if apt is None:
            pytest.fail("chromium is missing and apt-get is not here to install it", pytrace=False)
        subprocess.run([apt, "install", "-y", "chromium"], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                       capture_output=True, timeout=900, check=False)
        if not Path(CHROMIUM).exists():
            pytest.fail("apt-get install -y chromium did not install /usr/bin/chromium", pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("web-browser"), rate_limits=False) as running:
        yield running


def shoot(page: Any, name: str) -> None:
    """The page at every width, full length."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def unlabelled(page: Any) -> list[str]:
    found: list[str] = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter((e) => e.type !== 'hidden' && e.labels.length === 0 && !e.getAttribute('aria-label'))
        .map((e) => e.id || e.name)""")
    return found


def sign_up(context: Any, base: str, email: str) -> Any:
    page = context.new_page()
    page.goto(base + "/signup")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.fill("#password_again", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    assert email in page.inner_text("header")
    return page


def wait_live(page: Any) -> None:
    page.wait_for_selector("body[data-live=yes]", timeout=WAIT_MS)


def run_sdk(python: Path, context: dict[str, Any]) -> dict[str, Any]:
    """The official SDK (kalshi-python-sync 3.34.0, in its own Python 3.13 virtualenv) with the key file
    the browser downloaded."""
    script = textwrap.dedent("""
        import json, sys
        import kalshi_python_sync as sdk
        ctx = json.load(sys.stdin)
        configuration = sdk.Configuration(host=ctx["host"])
        configuration.api_key_id = ctx["key_id"]
        with open(ctx["key_file"]) as f:
            configuration.private_key_pem = f.read()
        client = sdk.KalshiClient(configuration)
        if ctx["step"] == "place":
            placed = client.create_order_v2(ticker=ctx["ticker"], side="bid", count="2.00", price="0.3000",
                                            time_in_force="good_till_canceled", self_trade_prevention_type="taker_at_cross",
                                            client_order_id=ctx["client_order_id"])
            order_id = placed.order_id
        else:
            order_id = ctx["order_id"]
        order = client.get_order(order_id=order_id).order
        status = order.status.value if hasattr(order.status, "value") else str(order.status)
        print(json.dumps({"order_id": order.order_id, "status": status}))
    """)
    done = subprocess.run([str(python), "-c", script], input=json.dumps(context), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_sign_up_generate_a_key_trade_with_the_official_sdk_and_cancel_on_the_page(
        browser: Any, server: RunningServer, tmp_path: Path) -> None:
    try:
        python = sdk_python()
    except SdkUnavailable as error:
        pytest.fail(f"the official Kalshi SDK could not be set up: {error}", pytrace=False)
    base = server.base_url
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    email = f"story-{uuid.uuid4().hex[:8]}@example.com"
    home = sign_up(context, base, email)
    wait_live(home)
    shoot(home, "markets")
    # Settings -> API keys -> Generate: the private key is shown once and downloaded
    settings = context.new_page()
    settings.goto(base + "/settings")
    settings.fill("#key-name", "my bot")
    with settings.expect_download() as downloading:
        settings.click("text=Generate API Key")
    key_file = tmp_path / "key.pem"
    downloading.value.save_as(str(key_file))
    assert settings.input_value("#generated-pem") == key_file.read_text() and "PRIVATE KEY-----" in key_file.read_text()
    key_id = settings.inner_text("#generated-id")
    shoot(settings, "settings")
    assert not unlabelled(settings)
    # the market's page and the portfolio stay open, live
    market = context.new_page()
    market.goto(f"{base}/markets/{DEMO_TICKER}")
    wait_live(market)
    market.wait_for_selector("#book-rows tr.bid", timeout=WAIT_MS)
    portfolio = context.new_page()
    portfolio.goto(base + "/portfolio")
    wait_live(portfolio)
    # the official SDK loads the downloaded file and places an order
    sdk_context = {"host": base + V2, "key_id": key_id, "key_file": str(key_file), "ticker": DEMO_TICKER}
    placed = run_sdk(python, {**sdk_context, "step": "place", "client_order_id": str(uuid.uuid4())})
    assert placed["status"] == "resting"
    order_row = f"#order-rows tr[data-order-id='{placed['order_id']}']"
    market.wait_for_selector(order_row, timeout=WAIT_MS)  # no reload: the WebSocket said so
    market.wait_for_selector("#book-rows tr[data-price='0.3000']", timeout=WAIT_MS)
    portfolio.wait_for_selector(f"#open-rows tr[data-order-id='{placed['order_id']}']", timeout=WAIT_MS)
    # the book on the page is GET .../orderbook at the seq the page shows
    seq = int(market.get_attribute("#book", "data-seq") or "0")
    book = server.get_ok(f"{V2}/markets/{DEMO_TICKER}/orderbook")
    assert book["seq"] == seq
    shown = market.eval_on_selector_all("#book-rows tr.bid", "rows => rows.map(r => [r.dataset.price, r.cells[2].textContent])")
    assert shown == [[price, size] for price, size in reversed(book["orderbook_fp"]["yes_dollars"])]
    shoot(market, "market")
    shoot(portfolio, "portfolio")
    assert not unlabelled(market)
    # cancel on the page; the SDK sees it cancelled
    market.click(f"{order_row} button:has-text('Cancel')")
    market.wait_for_selector(order_row, state="detached", timeout=WAIT_MS)
    portfolio.wait_for_selector(f"#open-rows tr[data-order-id='{placed['order_id']}']", state="detached", timeout=WAIT_MS)
    seen = run_sdk(python, {**sdk_context, "step": "get", "order_id": placed["order_id"]})
    assert seen["status"] == "canceled"
    context.close()


def test_the_order_ticket_works_from_the_keyboard(browser: Any, server: RunningServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = sign_up(context, server.base_url, f"keys-{uuid.uuid4().hex[:8]}@example.com")
    page.goto(f"{server.base_url}/markets/{DEMO_TICKER}")
    wait_live(page)
    for _ in range(80):  # Tab until the ticket's first control has the focus
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.name") == "action":
            break
    else:
        pytest.fail("the order ticket cannot be reached with Tab")
    order = ["Tab", "Tab"]  # -> side (YES) -> order type
    for key in order:
        page.keyboard.press(key)
    assert page.evaluate("() => document.activeElement.id") == "ticket-type"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "ticket-price"
    page.keyboard.press("Control+A")
    page.keyboard.type("0.2000")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "ticket-count"
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    page.wait_for_function("() => document.getElementById('preview-cost').textContent.startsWith('$0.6')", timeout=WAIT_MS)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('ticket-result').textContent.startsWith('Order resting')", timeout=WAIT_MS)
    page.wait_for_selector("#order-rows tr", timeout=WAIT_MS)
    context.close()


def test_operator_creates_a_market_two_members_trade_and_settlement_is_right_to_the_cent(browser: Any, server: RunningServer) -> None:
    base = server.base_url
    details = json.loads((server.data_dir / "operator.json").read_text())
    suffix = uuid.uuid4().hex[:6].upper()
    series, event, ticker = f"KXWEB{suffix}", f"KXWEB{suffix}-35JUN01", f"KXWEB{suffix}-35JUN01-T1"
    operator_context = browser.new_context(viewport={"width": 1280, "height": 900})
    console = operator_context.new_page()
    console.goto(base + "/login")
    console.fill("#email", details["email"])
    console.fill("#password", details["password"])
    console.click("button[type=submit]")
    console.wait_for_url(base + "/")
    console.goto(base + "/operator")

    def submit(form: str, fields: dict[str, str], selects: dict[str, str] | None = None) -> None:
        for name, value in fields.items():
            console.fill(f"#{form}-{name}", value)
        for name, value in (selects or {}).items():
            console.select_option(f"#{form}-{name}", value)
        console.click(f"#{form} button[type=submit]")
        console.wait_for_function(f"() => document.querySelector('#{form} .result').textContent !== ''", timeout=WAIT_MS)
        result = console.inner_text(f"#{form} .result")
        assert result.startswith("Done"), result

    submit("series-form", {"ticker": series, "title": "Rain in Chicago", "category": "Climate"})
    console.reload()
    submit("event-form", {"event_ticker": event, "title": "Rain in Chicago on June 1, 2035"}, {"series_ticker": series})
    console.reload()
    submit("market-form", {"ticker": ticker, "title": "More than 1 inch?", "close_time": "2035-06-01T23:00",
                           "settlement_timer_seconds": "3600", "rules_primary": "YES if more than 1 inch falls."},
           {"event_ticker": event})
    shoot(console, "operator")
    assert not unlabelled(console)
    # two members trade on their pages
    buyer_context = browser.new_context(viewport={"width": 1280, "height": 900})
    seller_context = browser.new_context(viewport={"width": 1280, "height": 900})
    buyer = sign_up(buyer_context, base, f"buyer-{suffix.lower()}@example.com")
    seller = sign_up(seller_context, base, f"seller-{suffix.lower()}@example.com")
    for page in (buyer, seller):
        page.goto(f"{base}/markets/{ticker}")
        wait_live(page)
        page.wait_for_function("() => document.getElementById('market-status').textContent === 'active'", timeout=WAIT_MS)

    def order(page: Any, action: str) -> None:
        page.check(f"#ticket input[name=action][value={action}]")
        page.fill("#ticket-price", "0.40")
        page.fill("#ticket-count", "10")
        page.click("#ticket-submit")
        page.wait_for_function("() => document.getElementById('ticket-result').textContent.startsWith('Order')", timeout=WAIT_MS)

    order(buyer, "buy")  # rests: the maker
    buyer.wait_for_selector("#order-rows tr", timeout=WAIT_MS)
    order(seller, "sell")  # takes it: 10 YES at $0.40
    for page in (buyer, seller):
        page.wait_for_function("() => document.querySelectorAll('#trade-rows tr').length === 1", timeout=WAIT_MS)
    buyer.wait_for_function("() => document.getElementById('position-count').textContent === '10.00'", timeout=WAIT_MS)
    buyer.wait_for_selector("#candle-rows tr", timeout=WAIT_MS)  # the trade's candle, drawn by the chart too
    assert buyer.inner_text("#live-status") == "live"  # no script error was reported
    shoot(buyer, "market-traded")
    # the operator determines YES and finalizes
    console.goto(base + "/operator")
    submit("close-form", {"ticker": ticker})
    submit("determine-form", {"ticker": ticker, "source": "National Weather Service"}, {"result": "yes"})
    submit("finalize-form", {"ticker": ticker})
    # the members' market pages follow the market's life without a reload
    for page in (buyer, seller):
        page.wait_for_function("() => document.getElementById('market-status').textContent === 'finalized'", timeout=WAIT_MS)
        assert page.inner_text("#market-result") == "result yes"
    # both portfolios: the settlement and the balances to the cent. The buyer (maker, no maker fee on a
    # quadratic series) paid 10 x $0.40 = $4.00 and is paid $10.00; the seller bought 10 NO at $0.60 for
    # $6.00 + the taker fee roundup(0.07 x 10 x 0.4 x 0.6) = $0.1680, $6.1680 floored to the cent: $6.17.
    expected = {buyer: ("10006.0000", "yes"), seller: ("9993.8300", "yes")}
    for page, (cash, result) in expected.items():
        page.goto(base + "/portfolio")
        page.wait_for_selector("#settlement-rows tr", timeout=WAIT_MS)
        assert page.inner_text("#sum-cash") == "$" + cash
        assert page.inner_text("#sum-total") == "$" + cash
        assert result in page.inner_text("#settlement-rows")
    shoot(buyer, "portfolio-settled")
    for context in (operator_context, buyer_context, seller_context):
        context.close()


def test_every_page_at_both_widths_and_every_field_labelled(browser: Any, server: RunningServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    for name, path in (("login", "/login"), ("signup", "/signup")):
        page.goto(server.base_url + path)
        assert not unlabelled(page), path
        shoot(page, name)
    details = json.loads((server.data_dir / "operator.json").read_text())
    page.goto(server.base_url + "/login")
    page.fill("#email", details["email"])
    page.fill("#password", details["password"])
    page.click("button[type=submit]")
    page.wait_for_url(server.base_url + "/")
    for name, path in (("operator-members", "/operator/members"), ("operator-health", "/operator/health")):
        page.goto(server.base_url + path)
        assert not unlabelled(page), path
        shoot(page, name)
    page.click("#verify")
    page.wait_for_function("() => document.getElementById('verify-output').textContent.startsWith('OK')", timeout=60_000)
    context.close()


def test_a_visitors_pages_follow_the_book_and_the_24_hour_volume_live(browser: Any, server: RunningServer) -> None:
    """Not logged in: the market page's book shows a deep level as soon as it rests (no ticker or trade
    message tells of it), and the markets page's 24 h volume moves with a trade, without a reload."""
    base = server.base_url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    home = context.new_page()
    home.goto(base + "/")
    wait_live(home)
    row = f"tr[data-ticker='{DEMO_TICKER}'] .volume"
    before = home.inner_text(row)
    market = context.new_page()
    market.goto(f"{base}/markets/{DEMO_TICKER}")
    wait_live(market)
    market.wait_for_selector("#book-rows tr.bid", timeout=WAIT_MS)
    book = server.get_ok(f"{V2}/markets/{DEMO_TICKER}/orderbook")["orderbook_fp"]
    taken = {price for price, _ in book["yes_dollars"]}
    deep = next(cents for cents in range(1, 99) if f"0.{cents:02d}00" not in taken)
    assert deep * 100 < int(book["yes_dollars"][-1][0][2:4]) * 100  # below the best bid
    trader = server.funded_account()
    server.trade(trader, DEMO_TICKER, True, deep * 100, 2)
    market.wait_for_selector(f"#book-rows tr.bid[data-price='0.{deep:02d}00']", timeout=WAIT_MS)
    best_ask_cents = 100 - int(book["no_dollars"][-1][0][2:4])
    server.trade(trader, DEMO_TICKER, True, best_ask_cents * 100, 1)  # takes one contract: 24 h volume + 1
    home.wait_for_function("([selector, before]) => document.querySelector(selector).textContent !== before", arg=[row, before],
                           timeout=WAIT_MS)
    after = server.get_ok(f"{V2}/markets/{DEMO_TICKER}")["market"]["volume_24h_fp"]
    assert home.inner_text(row) == after and float(after) == float(before) + 1
    context.close()
