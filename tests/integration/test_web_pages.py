"""The web pages over HTTP: sessions by cookie, CSRF, the security headers, escaping, the login
throttle, revocation, the REST API through /web/api, the ticket's preview against the fill it
previews, and the WebSocket known by its cookie. (The browser walks the stories in test_web_browser.py.)"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integration.server_fixture import DEMO_TICKER, RunningServer, kalshi_v2, running_server, unique
from integration.web_client import WebClient
from predictex.accounts.sessions import session_id

PASSWORD = "correct horse battery"
PAGES = ("/", f"/markets/{DEMO_TICKER}", "/login", "/signup")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(Path(tmp_path_factory.mktemp("web")), rate_limits=False) as running:
        yield running


def logged_in(server: RunningServer, email: str | None = None) -> tuple[WebClient, str]:
    email = email or unique("web") + "@example.com"
    server.new_member(email, password=PASSWORD)
    client = WebClient(server.port)
    reply = client.log_in(email, PASSWORD)
    assert reply.status == 303, reply
    return client, email


def test_every_page_carries_the_security_headers_and_no_inline_script(server: RunningServer) -> None:
    client = WebClient(server.port)
    for path in PAGES:
        reply = client.get(path)
        assert reply.status == 200, (path, reply)
        policy = reply.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        assert reply.headers["x-frame-options"] == "DENY"
        assert reply.headers["x-content-type-options"] == "nosniff"
        html = reply.body.decode()
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None, f"inline script on {path}"
        assert " on" not in re.sub(r"<[^>]*>", "", html) or re.search(r"<[^>]+\son[a-z]+=", html) is None
        assert re.search(r"<[^>]+\son[a-z]+=", html) is None, f"an inline event handler on {path}"
        assert re.search(r"<[^>]+\sstyle=", html) is None, f"an inline style on {path}"


def test_the_session_cookie_is_httponly_samesite_and_secure_under_tls(server: RunningServer) -> None:
    client, _ = logged_in(server)
    session = next(value for value in client.set_cookie_headers if value.startswith("px_session="))
    assert "HttpOnly" in session and "SameSite=Lax" in session and "Secure" not in session
    csrf = next(value for value in client.set_cookie_headers if value.startswith("px_csrf="))
    assert "HttpOnly" in csrf and "SameSite=Strict" in csrf
    behind_tls = WebClient(server.port)
    reply = behind_tls.request("GET", "/login", headers={"X-Forwarded-Proto": "https"})
    assert reply.status == 200
    assert any("Secure" in value for value in behind_tls.set_cookie_headers)


def test_a_login_makes_a_new_session_and_ends_the_one_the_browser_had(server: RunningServer) -> None:
    client, email = logged_in(server)
    first = client.cookies["px_session"]
    first_csrf = client.cookies["px_csrf"]
    assert client.log_in(email, PASSWORD).status == 303
    second = client.cookies["px_session"]
    assert second != first and client.cookies["px_csrf"] != first_csrf
    fixed = WebClient(server.port)
    fixed.cookies["px_session"] = first  # the old session, planted: it is dead
    assert fixed.api("GET", "/trade-api/v2/portfolio/balance").status == 401
    assert client.api("GET", "/trade-api/v2/portfolio/balance").status == 200


def test_logging_out_ends_the_session(server: RunningServer) -> None:
    client, _ = logged_in(server)
    token = client.cookies["px_session"]
    assert client.post_form("/logout", {}).status == 303
    assert "px_session" not in client.cookies
    client.cookies["px_session"] = token
    assert client.api("GET", "/trade-api/v2/portfolio/balance").status == 401


def test_a_state_change_without_the_csrf_token_or_from_another_origin_is_refused_and_changes_nothing(server: RunningServer) -> None:
    client, email = logged_in(server)
    order = {"ticker": DEMO_TICKER, "action": "buy", "side": "yes", "type": "limit", "count": 1, "yes_price_dollars": "0.10"}
    refused = [
        client.api("POST", "/trade-api/v2/portfolio/orders", order, csrf=False),
        client.request("POST", "/web/api/trade-api/v2/portfolio/orders", json.dumps(order).encode(),
                       {"Origin": client.origin, "X-CSRF-Token": "not-the-token"}),
        client.request("POST", "/web/api/trade-api/v2/portfolio/orders", json.dumps(order).encode(),
                       {"Origin": "http://evil.example", "X-CSRF-Token": client.csrf()}),
    ]
    assert [reply.status for reply in refused] == [403, 403, 403]
    assert refused[0].json()["error"]["code"] == "csrf_failed"
    assert client.api("GET", f"/trade-api/v2/portfolio/orders?ticker={DEMO_TICKER}").json()["orders"] == []
    # forms: logging in, out and signing up need the token too
    stranger = WebClient(server.port)
    assert stranger.post_form("/login", {"email": email, "password": PASSWORD}, csrf=False).status == 403
    assert "px_session" not in stranger.cookies
    assert client.post_form("/logout", {}, csrf=False).status == 403
    assert client.api("GET", "/trade-api/v2/portfolio/balance").status == 200
    # and the same order with the token goes through
    placed = client.api("POST", "/trade-api/v2/portfolio/orders", order)
    assert placed.status == 201, placed


def test_credentials_brought_to_web_api_are_ignored_only_the_cookie_counts(server: RunningServer) -> None:
    member = server.new_member(unique("signed") + "@example.com", password=PASSWORD)
    client = WebClient(server.port)
    path = "/web/api/trade-api/v2/portfolio/balance"
    signed = kalshi_v2(member.credentials)("GET", path, None)
    assert client.request("GET", path, headers=signed).status == 401


def test_operator_and_member_strings_render_as_text(server: RunningServer) -> None:
    series, event, ticker = unique("XSS").upper(), unique("XSSE").upper(), unique("XSSM").upper()
    script = "<script>alert(1)</script>"
    server.admin("POST", "/series", {"ticker": series, "title": script, "category": "<b>cat</b>", "frequency": "daily"}, expect=201)
    server.admin("POST", "/events", {"event_ticker": event, "series_ticker": series, "title": script}, expect=201)
    server.admin("POST", "/markets", {"ticker": ticker, "event_ticker": event, "title": script, "rules_primary": "<img src=x onerror=alert(2)>",
                                      "close_time": 4_000_000_000}, expect=201)
    client = WebClient(server.port)
    for path in ("/?status=initialized", "/?status=active", f"/markets/{ticker}", f"/?q={ticker}"):
        html = client.get(path).body.decode()
        assert script not in html and "<img src=x" not in html and "<b>cat</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(f"/markets/{ticker}").body.decode()
    assert "&lt;img src=x onerror=alert(2)&gt;" in client.get(f"/markets/{ticker}").body.decode()


def test_login_attempts_are_throttled_per_account_and_per_address(tmp_path: Path) -> None:
    with running_server(tmp_path, rate_limits=False, demo_markets=False) as server:  # its own: the address stays throttled
        _throttled(server)


def _throttled(server: RunningServer) -> None:
    email = unique("guess") + "@example.com"
    server.new_member(email, password=PASSWORD)
    client = WebClient(server.port)
    statuses = [client.log_in(email, f"wrong {n}").status for n in range(8)]
    assert statuses[0] == 401 and 429 in statuses, statuses
    assert client.log_in(email, PASSWORD).status == 429  # even the right password waits
    assert "px_session" not in client.cookies
    # from this address, other emails are throttled as well once it has failed enough
    others = [client.log_in(unique("nobody") + "@example.com", "wrong").status for _ in range(25)]
    assert 429 in others, others


def test_a_suspended_members_sessions_end_at_once(server: RunningServer) -> None:
    client, email = logged_in(server)
    assert client.api("GET", "/trade-api/v2/portfolio/balance").status == 200
    member_id = next(m["member_id"] for m in server.admin("GET", "/members?limit=1000", expect=200).json()["members"] if m["email"] == email)
    server.admin("POST", f"/members/{member_id}/suspend", {"reason": "test"}, expect=200)
    assert client.api("GET", "/trade-api/v2/portfolio/balance").status in (401, 403)
    page = client.get("/").body.decode()
    assert "Log in" in page and email not in page


def test_the_ticket_preview_is_what_the_fill_costs(server: RunningServer) -> None:
    client, _ = logged_in(server)
    preview = client.get(f"/web/quote?ticker={DEMO_TICKER}&action=buy&side=yes&type=limit&price=0.5100&count=3")
    assert preview.status == 200, preview
    quote = preview.json()
    balance_before = client.api("GET", "/trade-api/v2/portfolio/balance").json()["balance"]
    placed = client.api("POST", "/trade-api/v2/portfolio/orders", {
        "ticker": DEMO_TICKER, "action": "buy", "side": "yes", "type": "limit", "count": 3, "yes_price_dollars": "0.5100",
        "time_in_force": "immediate_or_cancel"})
    assert placed.status == 201, placed
    fills = client.api("GET", f"/trade-api/v2/portfolio/fills?ticker={DEMO_TICKER}").json()["fills"]
    fee = sum(round(float(f["fee_cost"]) * 1_000_000) for f in fills)
    assert quote["fee_microdollars"] == fee
    assert quote["payout"] == "$3.0000"
    balance_after = client.api("GET", "/trade-api/v2/portfolio/balance").json()["balance"]
    assert (balance_before - balance_after) * 10_000 == quote["cost_microdollars"]  # balances are in cents


def test_a_bad_preview_is_a_clear_400(server: RunningServer) -> None:
    client = WebClient(server.port)
    for query in ("ticker=NOPE&action=buy&side=yes&price=0.5&count=1", f"ticker={DEMO_TICKER}&action=hold&side=yes&price=0.5&count=1",
                  f"ticker={DEMO_TICKER}&action=buy&side=yes&price=1.5&count=1", f"ticker={DEMO_TICKER}&action=buy&side=yes&price=0.5&count=-1",
                  f"ticker={DEMO_TICKER}&action=buy&side=yes&price=%D9%A1&count=1"):
        reply = client.get("/web/quote?" + query)
        assert reply.status == 400 and reply.json()["error"]["message"], (query, reply)


def test_the_openapi_document_lists_no_web_route(server: RunningServer) -> None:
    paths = server.get_ok("/openapi.json")["paths"]
    assert not [path for path in paths if path.startswith(("/web", "/static", "/login", "/markets/")) or path == "/"]
    assert "/trade-api/v2/portfolio/orders" in paths


def test_unknown_market_and_static_file_are_404_pages(server: RunningServer) -> None:
    client = WebClient(server.port)
    assert client.get("/markets/NOPE-NOPE").status == 404
    assert client.get("/static/..%2F__init__.py").status == 404
    assert client.get("/static/nope.js").status == 404
    assert client.get("/static/common.js").headers["content-type"].startswith("text/javascript")


def test_the_pages_websocket_is_known_by_its_cookie_from_our_origin_only(server: RunningServer) -> None:
    from integration.ws_client import WsClient

    client, _ = logged_in(server)
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    subscribe = {"id": 1, "cmd": "subscribe", "params": {"channels": ["orderbook_delta"], "market_tickers": [DEMO_TICKER]}}
    with WsClient.connect(server.port, "/trade-api/ws/v2", {"Cookie": cookie, "Origin": client.origin}) as ws:
        ws.send_json(subscribe)
        answer, _ = ws.recv_until(lambda m: m.get("type") in ("subscribed", "error"))
        assert answer["type"] == "subscribed", answer
        snapshot, _ = ws.recv_until(lambda m: m.get("type") == "orderbook_snapshot")
        assert snapshot["msg"]["market_ticker"] == DEMO_TICKER
    with WsClient.connect(server.port, "/trade-api/ws/v2", {"Cookie": cookie, "Origin": "http://evil.example"}) as ws:
        ws.send_json(subscribe)
        answer, _ = ws.recv_until(lambda m: m.get("type") in ("subscribed", "error"))
        assert answer["type"] == "error" and answer["msg"]["code"] == 9, answer


def test_a_visitors_page_follows_the_public_book_and_nothing_private(server: RunningServer) -> None:
    """A page of ours opened by someone not logged in may subscribe to orderbook_delta (the book is
    public over REST), so its book follows every change, deep levels included; its private channels
    are still refused, and so is the book to a socket that is not from our pages."""
    from integration.ws_client import WsClient

    origin = WebClient(server.port).origin
    subscribe = {"id": 1, "cmd": "subscribe", "params": {"channels": ["orderbook_delta", "fill"], "market_tickers": [DEMO_TICKER]}}
    with WsClient.connect(server.port, "/trade-api/ws/v2", {"Origin": origin}) as ws:
        ws.send_json(subscribe)
        seen: dict[str, dict[str, Any]] = {}
        while len(seen) < 3:
            message = ws.recv_json()
            seen.setdefault(message["type"], message)
        assert set(seen) == {"subscribed", "error", "orderbook_snapshot"}, seen
        assert seen["subscribed"]["msg"]["channel"] == "orderbook_delta"
        assert seen["error"]["msg"]["code"] == 9  # fill: private
        snapshot = seen["orderbook_snapshot"]
        levels = {price for price, _ in snapshot["msg"].get("yes_dollars_fp", snapshot["msg"].get("yes_dollars", []))}
        deep = next(f"0.{cents:02d}00" for cents in range(1, 99) if f"0.{cents:02d}00" not in levels)
        server.trade(server.funded_account(), DEMO_TICKER, True, int(deep[2:4]) * 100, 3)  # below the best bid: no ticker message
        delta, _ = ws.recv_until(lambda m: m.get("type") == "orderbook_delta")
        assert (delta["msg"]["price_dollars"], delta["msg"]["side"]) == (deep, "yes"), delta
    for headers in ({}, {"Origin": "http://evil.example"}):
        with WsClient.connect(server.port, "/trade-api/ws/v2", headers) as ws:
            ws.send_json(subscribe)
            answers = [ws.recv_until(lambda m: m.get("type") in ("subscribed", "error"))[0] for _ in range(2)]
            assert [(a["type"], a["msg"].get("code")) for a in answers] == [("error", 9), ("error", 9)], answers


def operator_client(server: RunningServer) -> WebClient:
    details = json.loads((server.data_dir / "operator.json").read_text())
    client = WebClient(server.port)
    assert client.log_in(details["email"], details["password"]).status == 303
    return client


def test_a_member_gets_403_on_every_operator_page_and_a_visitor_is_sent_to_log_in(server: RunningServer) -> None:
    member, _ = logged_in(server)
    visitor = WebClient(server.port)
    for path in ("/operator", "/operator/members", "/operator/health"):
        assert member.get(path).status == 403, path
        reply = visitor.get(path)
        assert reply.status == 303 and reply.headers["location"].startswith("/login?next=%2Foperator"), reply
    refused = member.request("POST", "/web/operator/verify", b"", {"Origin": member.origin, "X-CSRF-Token": member.csrf()})
    assert refused.status == 403
    # and the operator API through /web/api is refused as REST refuses it
    assert member.api("POST", "/predictex/v1/admin/series", {"ticker": "NOPE", "title": "no"}).status == 403


def test_the_operator_sees_the_console_and_journal_verify_passes(server: RunningServer) -> None:
    operator = operator_client(server)
    for path in ("/operator", "/operator/members", "/operator/health"):
        reply = operator.get(path)
        assert reply.status == 200, (path, reply)
        labels = set(re.findall(r'<label for="([^"]+)"', reply.body.decode()))
        fields = set(re.findall(r'<(?:input|select|textarea) id="([^"]+)"', reply.body.decode()))
        assert fields <= labels, f"unlabelled fields on {path}: {fields - labels}"
    members = operator.get("/operator/members").body.decode()
    assert 'data-path="/predictex/v1/admin/members/{member_id}/close"' in members and '<th scope="col">Closed</th>' in members
    health = operator.request("GET", "/operator/health", headers={"Accept": "application/json"}).json()
    assert health["status"] == "ok" and health["committed_seq"] > 0 and health["journal_bytes"] > 0 and health["journal_batches"] > 0
    verified = operator.request("POST", "/web/operator/verify", b"", {"Origin": operator.origin, "X-CSRF-Token": operator.csrf()})
    assert verified.status == 200 and verified.json()["ok"], verified


def test_a_pages_session_slides_with_every_page_and_api_call(server: RunningServer) -> None:
    """A page view or a /web/api call moves the session's expiry to 30 minutes from then (the
    once-a-minute bound is set to nothing here, so each call moves it); a visitor's requests move nothing."""
    client, _ = logged_in(server)
    sessions = server.app.exchange.accounts.sessions  # type: ignore[union-attr]
    session = session_id(client.cookies["px_session"])
    step_ms = sessions.slide_step_ms
    sessions.slide_step_ms = 0
    try:
        for request in (lambda: client.get("/portfolio"), lambda: client.api("GET", "/trade-api/v2/portfolio/balance")):
            before = sessions.live_until_ms(session)
            assert before is not None
            _wait_for_the_clock(sessions, before - sessions.lifetime_ms)
            assert request().status == 200
            after = sessions.live_until_ms(session)
            assert after is not None and after > before, (before, after)
            assert sessions.now_ms() - 5_000 <= after - sessions.lifetime_ms <= sessions.now_ms()
        before = sessions.live_until_ms(session)
        WebClient(server.port).get("/portfolio")  # someone else's request, without the cookie
        assert sessions.live_until_ms(session) == before
    finally:
        sessions.slide_step_ms = step_ms


def _wait_for_the_clock(sessions: Any, past_ms: int) -> None:
    """Until the exchange's clock has passed `past_ms` (a millisecond or two)."""
    while sessions.now_ms() <= past_ms:
        time.sleep(0.001)


def test_portfolio_and_settings_need_a_session(server: RunningServer) -> None:
    visitor = WebClient(server.port)
    for path in ("/portfolio", "/settings"):
        assert visitor.get(path).status == 303
    client, _ = logged_in(server)
    page = client.get("/portfolio").body.decode()
    assert "Cash" in page and "Add play money" in page
    summary = client.get("/web/portfolio/summary").json()
    assert summary["cash"] == client.api("GET", "/trade-api/v2/portfolio/balance").json()["balance_dollars"]


def test_settings_lists_keys_and_a_password_change_ends_the_other_sessions(server: RunningServer) -> None:
    client, email = logged_in(server)
    generated = client.api("POST", "/trade-api/v2/api_keys/generate", {"name": "<b>bot</b>"})
    assert generated.status == 201 and "PRIVATE KEY-----" in generated.json()["private_key"]
    page = client.get("/settings").body.decode()
    assert generated.json()["api_key_id"] in page and "&lt;b&gt;bot&lt;/b&gt;" in page
    other = WebClient(server.port)
    assert other.log_in(email, PASSWORD).status == 303
    changed = client.post_form("/settings/password", {"current_password": PASSWORD, "new_password": "a new password 2",
                                                     "new_password_again": "a new password 2"})
    assert changed.status == 200 and "1 other session(s) logged out" in changed.body.decode(), changed
    assert other.api("GET", "/trade-api/v2/portfolio/balance").status == 401
    assert client.api("GET", "/trade-api/v2/portfolio/balance").status == 200
    wrong = client.post_form("/settings/password", {"current_password": "not it", "new_password": "x" * 9, "new_password_again": "x" * 9})
    assert wrong.status == 400 and "current password is wrong" in wrong.body.decode()
    third = WebClient(server.port)
    assert third.log_in(email, "a new password 2").status == 303
    ended = client.post_form("/settings/sessions/end-others", {})
    assert ended.status == 200 and "1 other session(s) logged out" in ended.body.decode()
    assert third.api("GET", "/trade-api/v2/portfolio/balance").status == 401


def test_the_pages_amend_and_cancel_bodies_are_what_rest_takes(server: RunningServer) -> None:
    """market.js amends with {ticker, side, action, count, <side>_price_dollars} and cancels with DELETE."""
    client, _ = logged_in(server)
    placed = client.api("POST", "/trade-api/v2/portfolio/orders", {
        "ticker": DEMO_TICKER, "action": "buy", "side": "no", "type": "limit", "count": 2, "no_price_dollars": "0.20"})
    assert placed.status == 201, placed
    order_id = placed.json()["order"]["order_id"]
    amended = client.api("POST", f"/trade-api/v2/portfolio/orders/{order_id}/amend", {
        "ticker": DEMO_TICKER, "side": "no", "action": "buy", "count": 5, "no_price_dollars": "0.25"})
    assert amended.status == 200, amended
    resting = client.api("GET", f"/trade-api/v2/portfolio/orders?ticker={DEMO_TICKER}&status=resting").json()["orders"]
    assert [(o["no_price_dollars"], o["remaining_count_fp"]) for o in resting] == [("0.2500", "5.00")]
    new_id = resting[0]["order_id"]
    assert client.api("DELETE", f"/trade-api/v2/portfolio/orders/{new_id}").status == 200
    assert client.api("GET", f"/trade-api/v2/portfolio/orders?ticker={DEMO_TICKER}&status=resting").json()["orders"] == []


def test_a_market_page_follows_its_market_after_it_changes(server: RunningServer) -> None:
    """The cached body of a market's page is made again when the market's status changes."""
    series, event, ticker = unique("CACHE").upper(), unique("CACHEE").upper(), unique("CACHEM").upper()
    server.admin("POST", "/series", {"ticker": series, "title": "Cache", "frequency": "daily"}, expect=201)
    server.admin("POST", "/events", {"event_ticker": event, "series_ticker": series, "title": "Cache"}, expect=201)
    server.admin("POST", "/markets", {"ticker": ticker, "event_ticker": event, "title": "Cache", "close_time": 4_000_000_000}, expect=201)
    client = WebClient(server.port)
    before = client.get(f"/markets/{ticker}").body.decode()
    server.admin("POST", f"/markets/{ticker}/pause", expect=200)
    after = client.get(f"/markets/{ticker}").body.decode()
    assert '<strong id="market-status">inactive</strong>' in after and '<strong id="market-status">inactive</strong>' not in before


def test_the_tickets_market_orders_are_what_rest_takes(server: RunningServer) -> None:
    """market.js sends a market buy with buy_max_cost_dollars (count x $1.00) and a market sell with neither price nor cap."""
    client, _ = logged_in(server)
    bought = client.api("POST", "/trade-api/v2/portfolio/orders", {
        "ticker": DEMO_TICKER, "action": "buy", "side": "yes", "type": "market", "count": 2, "buy_max_cost_dollars": "2.00"})
    assert bought.status == 201 and bought.json()["order"]["status"] == "executed", bought
    sold = client.api("POST", "/trade-api/v2/portfolio/orders", {
        "ticker": DEMO_TICKER, "action": "sell", "side": "yes", "type": "market", "count": 2})
    assert sold.status == 201 and sold.json()["order"]["status"] == "executed", sold
    position = client.api("GET", f"/trade-api/v2/portfolio/positions?ticker={DEMO_TICKER}").json()["market_positions"]
    assert [p["position_fp"] for p in position] == ["0.00"]


def test_a_pages_socket_ends_when_its_member_is_suspended(server: RunningServer) -> None:
    from integration.ws_client import Closed, WsClient

    client, email = logged_in(server)
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    with WsClient.connect(server.port, "/trade-api/ws/v2", {"Cookie": cookie, "Origin": client.origin}) as ws:
        ws.send_json({"id": 1, "cmd": "subscribe", "params": {"channels": ["user_orders"]}})
        answer, _ = ws.recv_until(lambda m: m.get("type") in ("subscribed", "error"))
        assert answer["type"] == "subscribed", answer
        member_id = next(m["member_id"] for m in server.admin("GET", "/members?limit=1000", expect=200).json()["members"]
                         if m["email"] == email)
        server.admin("POST", f"/members/{member_id}/suspend", {"reason": "test"}, expect=200)
        with pytest.raises(Closed) as closed:
            ws.recv_until(lambda m: False)
        assert closed.value.code == 1008
