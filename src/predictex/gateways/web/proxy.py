"""`/web/api/...`: the REST API, for the pages' scripts, authenticated by the session cookie.

Every route of the member and operator REST APIs (`/trade-api/v2/...`, `/predictex/v1/...`) is
mounted again under `/web/api` with the same handler: the page's script places an order with exactly
the code an SDK's `POST /trade-api/v2/portfolio/orders` runs (validation, the command through the
sequencer, the answer's shape, the error table). Nothing of the REST rules is repeated here; this
module only turns the cookie into the session's `Authorization: Bearer` header and guards it:

- a state-changing method must carry the CSRF token (`X-CSRF-Token`) and no foreign Origin (403);
- credentials the request brings itself (Authorization, KALSHI-ACCESS-*) are dropped: on these
  paths the cookie is the only proof, and without a live session the route answers as REST does
  with no credentials (401);
- a call with a live session is activity: the session slides (`Sessions.slide`).
"""

from __future__ import annotations

from collections.abc import Awaitable

from predictex.accounts.sessions import Sessions
from predictex.gateways.rest.handlers import WEB_PAGE
from predictex.gateways.web import security
from predictex.server.http import Request, Response, error_response
from predictex.server.router import RouteHandler, Router

PREFIX = "/web/api"
MOUNTED = ("/trade-api/v2/", "/predictex/v1/")
_DROPPED_HEADERS = ("authorization", "cookie", "kalshi-access-key", "kalshi-access-signature", "kalshi-access-timestamp")


def mount(router: Router, sessions: Sessions) -> None:
    """Mount every REST route added so far under PREFIX (call after the REST gateways registered)."""
    for method, pattern, handler in router.routes():
        if pattern.startswith(MOUNTED):
            router.add(method, PREFIX + pattern, _through_cookie(handler, sessions))


def _through_cookie(handler: RouteHandler, sessions: Sessions) -> RouteHandler:
    def run(request: Request, params: dict[str, str]) -> Awaitable[Response] | Response:
        if request.method not in security.SAFE_METHODS and not security.csrf_ok(request, request.headers.get(security.CSRF_HEADER)):
            return error_response(403, "csrf_failed", "this request needs the page's CSRF token (X-CSRF-Token) and the page's origin")
        session_token = security.cookies(request).get(security.SESSION_COOKIE)
        if session_token:
            sessions.slide(session_token)  # activity: the session lives on (30 minutes from now)
        token = WEB_PAGE.set(True)  # the REST wrapper journals what this submits as the web pages'
        try:
            return handler(_as_session(request), params)
        finally:
            WEB_PAGE.reset(token)

    run.__doc__ = handler.__doc__
    return run


def _as_session(request: Request) -> Request:
    headers = {name: value for name, value in request.headers.items() if name not in _DROPPED_HEADERS}
    token = security.cookies(request).get(security.SESSION_COOKIE)
    if token:
        headers["authorization"] = "Bearer " + token
    raw_path = request.raw_path[len(PREFIX):]
    return Request(request.method, request.path[len(PREFIX):], raw_path, request.query, headers,
                   [(name, value) for name, value in request.raw_headers if name.lower() not in _DROPPED_HEADERS],
                   request.body, request.client, request.http_version)
