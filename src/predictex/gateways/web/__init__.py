"""The web exchange: pages served by `predictex serve` on its own port (markets, a market's page with
its live book and order ticket, the portfolio, settings and API keys, the operator's console).

`register(router, exchange)` adds the pages and mounts the REST API under /web/api for the pages'
scripts (call it after every REST gateway registered); `cookie_principal` is the WebSocket gateway's
way to know a browser by its session cookie. Modules: security (cookies, CSRF, headers), site
(templates, who is asking, static files), pages, proxy, quote (the ticket's preview)."""

from __future__ import annotations

from predictex.gateways.rest.handlers import Principal
from predictex.gateways.web import account, operator, pages, proxy, security
from predictex.gateways.web.site import Site
from predictex.server.context import Exchange
from predictex.server.http import Request
from predictex.server.router import Router

__all__ = ["Site", "is_page_route", "register"]

PAGE_PREFIXES = ("/web/", "/static/", "/markets/", "/operator", "/portfolio", "/settings", "/login", "/logout", "/signup")


def register(router: Router, exchange: Exchange, site: Site | None = None) -> Site:
    site = site or Site(exchange)
    proxy.mount(router, exchange.accounts.sessions)
    pages.register(router, site)
    account.register(router, site)
    operator.register(router, site)
    return site


def is_page_route(pattern: str) -> bool:
    """Whether a route is one of the web's (left out of the OpenAPI document of the REST API)."""
    return pattern == "/" or pattern.startswith(PAGE_PREFIXES)


def page_origin(request: Request) -> bool:
    """Whether a WebSocket upgrade comes from one of this exchange's pages (its Origin is ours)."""
    return bool(request.headers.get("origin")) and security.same_origin(request)


def cookie_principal(site: Site, request: Request) -> Principal | None:
    """The member a WebSocket upgrade from one of our pages is made for, by its session cookie; None
    without a live session or when the upgrade comes from a page of another origin (a page elsewhere
    cannot open a socket in the member's name)."""
    token = security.cookies(request).get(security.SESSION_COOKIE)
    origin = request.headers.get("origin")
    if not token or not origin or not security.same_origin(request):
        return None
    return site.principal(token)
