"""The web pages: signing up, logging in and out, the markets, a market, the portfolio, settings and
the operator's console. Handlers read the read model (through the same JSON shapes REST answers with)
and render a template; every change a page makes goes through the REST routes under /web/api
(proxy.py) or, for the session itself, through the accounts' session tokens here."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from markupsafe import Markup

from predictex.accounts import AuthFailure, Session
from predictex.core.instruments import ACTIVE, MARKET_STATUSES
from predictex.gateways.shapes import kalshi as shapes
from predictex.gateways.web import quote as ticket_quote
from predictex.gateways.web import security
from predictex.gateways.web.site import Site, Visitor, form
from predictex.server import sources
from predictex.server.http import Request, Response, error_response, json_response
from predictex.server.membership import MembershipError, sign_up_quietly
from predictex.server.router import Router

log = logging.getLogger("predictex.web")

EMAIL_LENGTH_MAX = 320
PASSWORD_LENGTH_MAX = 1024
MARKET_BODIES_CACHED_MAX = 4096  # rendered market bodies kept (all dropped at once when full)

WEB_SOURCE = sources.source_json("web")


def register(router: Router, site: Site) -> None:
    pages = Pages(site)
    router.add("GET", "/", pages.home)
    router.add("GET", "/markets/{ticker}", pages.market)
    router.add("GET", "/login", pages.login_form)
    router.add("POST", "/login", pages.log_in)
    router.add("GET", "/signup", pages.signup_form)
    router.add("POST", "/signup", pages.sign_up)
    router.add("POST", "/logout", pages.log_out)
    router.add("GET", "/web/quote", pages.quote)
    router.add("GET", "/static/{name}", pages.static)
    router.add("GET", "/static/vendor/{name}", pages.static_vendor)


def _local(target: str | None) -> str:
    """Where to go after logging in: a path of this site only (never `//host` or a scheme)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


class Pages:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.exchange = site.exchange
        self._bodies: dict[tuple[Any, ...], Markup] = {}

    # --- sessions -------------------------------------------------------------------------------

    def login_form(self, request: Request, params: dict[str, str]) -> Response:
        visitor = self.site.visitor(request)
        target = _local((request.query_params().get("next") or [""])[0])
        return self.site.page(request, visitor, "login.html", title="Log in", next=target, error="", email="")

    async def log_in(self, request: Request, params: dict[str, str]) -> Response:
        visitor = self.site.visitor(request)
        fields = form(request)
        target = _local(fields.get("next"))
        if not security.csrf_ok(request, fields.get(security.CSRF_FIELD)):
            return self.site.forbidden(request, visitor, "This form has expired or came from another site. Reload the page and try again.")
        email = fields.get("email", "")[:EMAIL_LENGTH_MAX]
        password = fields.get("password", "")[:PASSWORD_LENGTH_MAX]
        found = await self._session(request, email, password)
        if isinstance(found, AuthFailure):
            status = 429 if found.retry_after_ms is not None else 401
            return self.site.page(request, visitor, "login.html", status, title="Log in", next=target, email=email,
                                  error=found.message)
        return self._logged_in(request, visitor, found, target)

    async def _session(self, request: Request, email: str, password: str) -> Session | AuthFailure:
        address = request.client[0] if request.client else None
        loop = asyncio.get_running_loop()
        result: Session | AuthFailure = await loop.run_in_executor(
            None, self.exchange.accounts.sessions.log_in_password, email, password, address)
        if isinstance(result, AuthFailure):
            log.info("web login refused (%s) for %s from %s", result.reason.value, ascii(email[:100]), address)
        return result

    def _logged_in(self, request: Request, visitor: Visitor, session: Session, target: str) -> Response:
        """A new session cookie and a new CSRF token; the session the browser had before (if any) ends."""
        if visitor.token is not None:
            self.exchange.accounts.sessions.log_out("Bearer " + visitor.token)
        return self.site.redirect(target, [
            security.set_cookie(request, security.SESSION_COOKIE, session.token),
            security.csrf_cookie(request, security.new_csrf_token()),
        ])

    def signup_form(self, request: Request, params: dict[str, str]) -> Response:
        visitor = self.site.visitor(request)
        return self.site.page(request, visitor, "signup.html", title="Sign up", error="", email="",
                              open_to_all=self.exchange.config.is_demo)

    async def sign_up(self, request: Request, params: dict[str, str]) -> Response:
        sources.current.set(WEB_SOURCE)  # the new member's account and play money, journaled as the web pages'
        visitor = self.site.visitor(request)
        fields = form(request)
        if not security.csrf_ok(request, fields.get(security.CSRF_FIELD)):
            return self.site.forbidden(request, visitor, "This form has expired or came from another site. Reload the page and try again.")
        if not self.exchange.config.is_demo:
            return self.site.forbidden(request, visitor, "On this exchange the operator adds members.")
        email = fields.get("email", "")[:EMAIL_LENGTH_MAX]
        password = fields.get("password", "")[:PASSWORD_LENGTH_MAX]

        def again(status: int, error: str) -> Response:
            return self.site.page(request, visitor, "signup.html", status, title="Sign up", error=error, email=email,
                                  open_to_all=True)

        if password != fields.get("password_again", ""):
            return again(400, "The two passwords differ.")
        try:
            await sign_up_quietly(self.exchange, email, password)
        except MembershipError as error:
            return again(400, error.message)
        found = await self._session(request, email, password)
        if isinstance(found, AuthFailure):  # the email was someone else's: say no more than that it failed
            return again(400, "You could not be signed up with this email and password. If you are a member, log in.")
        return self._logged_in(request, visitor, found, "/")

    def log_out(self, request: Request, params: dict[str, str]) -> Response:
        visitor = self.site.visitor(request)
        if not security.csrf_ok(request, form(request).get(security.CSRF_FIELD)):
            return self.site.forbidden(request, visitor, "This form has expired or came from another site. Reload the page and try again.")
        if visitor.token is not None:
            self.exchange.accounts.sessions.log_out("Bearer " + visitor.token)
        return self.site.redirect("/", [
            security.clear_cookie(request, security.SESSION_COOKIE),
            security.csrf_cookie(request, security.new_csrf_token()),
        ])

    # --- markets --------------------------------------------------------------------------------

    def home(self, request: Request, params: dict[str, str]) -> Response:
        visitor = self.site.visitor(request)
        query = request.query_params()

        def one(name: str) -> str:
            return (query.get(name) or [""])[0][:200]

        search, category, series_wanted, status = one("q").strip().lower(), one("category"), one("series"), one("status")
        live = self.exchange.live
        now_ms = self.exchange.clock.now_ms()
        groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for event_ticker, tickers in live.event_markets.items():
            event = live.events.get(event_ticker)
            series = live.series.get(event.series_ticker) if event is not None else None
            if event is None:
                continue
            if series_wanted and event.series_ticker != series_wanted:
                continue
            if category and (series is None or series.category != category):
                continue
            for ticker in tickers:
                view = live.markets.get(ticker)
                if view is None or (status and view.status != status) or (not status and view.status != ACTIVE):
                    continue
                text = f"{ticker} {view.definition.title} {event.title} {series.title if series else ''}".lower()
                if search and search not in text:
                    continue
                groups.setdefault(event.series_ticker, {}).setdefault(event_ticker, []).append(shapes.market(view, now_ms))
        categories = sorted({s.category for s in live.series.values() if s.category})
        return self.site.page(
            request, visitor, "home.html", title="Markets", groups=groups, series=live.series, events=live.events,
            categories=categories, all_series=sorted(live.series), statuses=MARKET_STATUSES,
            filters={"q": one("q"), "category": category, "series": series_wanted, "status": status},
        )

    def market(self, request: Request, params: dict[str, str]) -> Response:
        visitor = self.site.visitor(request)
        live = self.exchange.live
        view = live.markets.get(params["ticker"])
        if view is None:
            return self.site.page(request, visitor, "error.html", 404, title="No such market",
                                  message=f"There is no market {params['ticker']}.")
        return self.site.page(request, visitor, "market.html", title=view.definition.title,
                              body=self._market_body(view, visitor.principal is not None), charts=self.site.charts_bundled)

    def _market_body(self, view: Any, member: bool) -> Markup:
        """The page's body, the same for every member until the market's status, result or times
        change (the book, trades and the member's own orders are filled in by the script)."""
        key = (view.ticker, view.status, view.result, view.settlement_value_centicents, view.open_time_ms, view.close_time_ms,
               view.determined_ms, view.settled_ms, member)
        found = self._bodies.get(key)
        if found is not None:
            return found
        live = self.exchange.live
        series = live.series.get(view.series_ticker)
        html = Markup(self.site.templates.get_template("market_body.html").render(
            market=shapes.market(view, self.exchange.clock.now_ms()), event=live.events.get(view.event_ticker),
            series=shapes.series(series) if series is not None else None, timeline=_timeline(view),
            charts=self.site.charts_bundled, member=member))
        if len(self._bodies) >= MARKET_BODIES_CACHED_MAX:
            self._bodies.clear()
        self._bodies[key] = html
        return html

    def quote(self, request: Request, params: dict[str, str]) -> Response:
        """The order ticket's preview: cost, fee and payout of an order against the live book."""
        fields = {name: values[0] for name, values in request.query_params().items()}
        try:
            return json_response(200, ticket_quote.quote(self.exchange.live, fields), [("x-content-type-options", "nosniff")])
        except ticket_quote.QuoteError as error:
            return error_response(400, "invalid_parameters", str(error))

    # --- static files -----------------------------------------------------------------------------

    def static(self, request: Request, params: dict[str, str]) -> Response:
        return self._file(params["name"])

    def static_vendor(self, request: Request, params: dict[str, str]) -> Response:
        return self._file("vendor/" + params["name"])

    def _file(self, name: str) -> Response:
        found = self.site.static_file(name)
        if found is None:
            return Response(404, b"not found", [("x-content-type-options", "nosniff")], "text/plain; charset=utf-8")
        body, kind = found
        return Response(200, body, [("x-content-type-options", "nosniff"), ("cache-control", "public, max-age=3600")], kind)


def _timeline(view: Any) -> list[tuple[str, int]]:
    """(what, when in ms) of the market's life so far and to come; 0 for what has not happened."""
    return [
        ("Opens", view.open_time_ms), ("Closes", view.close_time_ms),
        ("Determined", view.determined_ms), ("Settled", view.settled_ms),
    ]
