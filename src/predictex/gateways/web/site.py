"""What every page handler shares: who is asking (the session cookie, read through the accounts'
session tokens), templates (Jinja2, autoescaped), the CSRF token, and the static files.

A page is rendered from the read model at the moment of the request; the scripts then keep it live
over the WebSocket (`/trade-api/ws/v2`, authenticated by the same cookie) and read through
`/web/api/...`, which is the REST API itself (proxy.py)."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import jinja2

from predictex.accounts import AuthFailure
from predictex.accounts.members import Role
from predictex.core.limits import TEXT_LENGTH_MAX
from predictex.gateways.rest.handlers import Principal
from predictex.gateways.shapes.text import rfc3339
from predictex.gateways.web import security
from predictex.server.context import Exchange
from predictex.server.http import Request, Response

FORM_FIELDS_MAX = 64

VENDOR_CHARTS = "lightweight-charts.standalone.production.js"  # copied into static/vendor/ by the build (see build_web.py)


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who is asking: `principal` is None for a visitor who is not logged in; `token` is their
    session token (the cookie's value)."""

    principal: Principal | None
    token: str | None
    csrf: str  # the token this page's forms and scripts must send back
    new_csrf: bool  # the CSRF cookie must be set on this answer

    @property
    def is_operator(self) -> bool:
        return self.principal is not None and self.principal.member.role is Role.ADMIN


class Site:
    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("predictex.gateways.web", "templates"),
            autoescape=True,
            auto_reload=False,  # the package's templates do not change under a running server
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["urlpart"] = lambda text: quote(str(text), safe="")
        self.templates.filters["when"] = lambda ms: rfc3339(ms) if ms else "not yet"
        self._static: dict[str, tuple[bytes, str]] = {}
        self.charts_bundled = self.static_file("vendor/" + VENDOR_CHARTS) is not None

    # --- who ---------------------------------------------------------------------------------------

    def visitor(self, request: Request) -> Visitor:
        jar = security.cookies(request)
        csrf = jar.get(security.CSRF_COOKIE)
        new_csrf = not csrf
        if not csrf:
            csrf = security.new_csrf_token()
        token = jar.get(security.SESSION_COOKIE)
        principal = self.principal(token) if token else None
        if principal is not None and token:
            self.exchange.accounts.sessions.slide(token)  # activity: the session lives on (30 minutes from now)
        return Visitor(principal, token if principal is not None else None, csrf, new_csrf)

    def principal(self, token: str) -> Principal | None:
        found = self.exchange.accounts.sessions.authenticate_bearer("Bearer " + token)
        return None if isinstance(found, AuthFailure) else Principal(found)

    # --- answers ---------------------------------------------------------------------------------------

    def page(self, request: Request, visitor: Visitor, template: str, status: int = 200, **context: Any) -> Response:
        html = self.templates.get_template(template).render(
            visitor=visitor, member=visitor.principal.member if visitor.principal else None,
            environment=self.exchange.config.environment, **context)
        headers = list(security.PAGE_HEADERS)
        if visitor.new_csrf:
            headers.append(security.csrf_cookie(request, visitor.csrf))
        return Response(status, html.encode("utf-8"), headers, "text/html; charset=utf-8")

    def redirect(self, location: str, headers: list[tuple[str, str]] | None = None) -> Response:
        return Response(303, b"", [("location", location), *security.PAGE_HEADERS, *(headers or [])], None)

    def to_login(self, request: Request) -> Response:
        """Where a visitor who is not logged in goes from a member's page: the login, then back."""
        target = request.path + ("?" + request.query if request.query else "")
        return self.redirect("/login?" + urlencode({"next": target}))

    def forbidden(self, request: Request, visitor: Visitor, message: str) -> Response:
        return self.page(request, visitor, "error.html", 403, title="Forbidden", message=message)

    def static_file(self, name: str) -> tuple[bytes, str] | None:
        """A file of static/ (cached), or None. Names are checked against what the package holds, never
        joined into a filesystem path from the request."""
        found = self._static.get(name)
        if found is not None:
            return found
        if not name or name.startswith((".", "/")) or ".." in name.split("/") or "\\" in name:
            return None
        node = resources.files("predictex.gateways.web").joinpath("static")
        for part in name.split("/"):
            node = node.joinpath(part)
        if not node.is_file():
            return None
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "text/javascript"):
            kind += "; charset=utf-8"
        found = (node.read_bytes(), kind)
        self._static[name] = found
        return found


def form(request: Request) -> dict[str, str]:
    """A url-encoded form body as one value per field (the first); fields past FORM_FIELDS_MAX, or
    values longer than the text limit, make the form unreadable (empty)."""
    try:
        text = request.body.decode("utf-8")
        parsed = parse_qs(text, keep_blank_values=True, max_num_fields=FORM_FIELDS_MAX, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return {}
    fields = {name: values[0] for name, values in parsed.items()}
    if any(len(value) > TEXT_LENGTH_MAX * 4 for value in fields.values()):
        return {}
    return fields
