"""The web pages' defences, in one place: cookies, the CSRF token, and the headers every page carries.

- The session cookie (`px_session`) holds a session token of `accounts/sessions.py` (the same tokens
  `POST /trade-api/v2/login` hands out): HttpOnly, SameSite=Lax, Path=/, and Secure when the request
  came over TLS (a TLS-terminating proxy in front says so with `X-Forwarded-Proto: https`). A login
  always makes a new token (no session fixation); logging out, a suspension, or "log out other
  sessions" revokes it in the accounts tables, so the next request with it is anonymous.
- CSRF: a random token in its own cookie (`px_csrf`, HttpOnly, SameSite=Strict) is repeated by every
  state-changing request, in the form field `csrf_token` or the header `X-CSRF-Token` (the page
  carries it in a `<meta>` tag); the two must be equal (constant-time compare). A request whose
  `Origin` names another site is refused as well. A new token is made at every login and logout.
- Every page: a Content-Security-Policy with no inline script or style and nothing from another
  origin, `X-Frame-Options: DENY` (and `frame-ancestors 'none'`), `X-Content-Type-Options: nosniff`,
  `Referrer-Policy: same-origin`, and `Cache-Control: no-store` on pages that show a member's data.
"""

from __future__ import annotations

import hmac
import secrets

from predictex.server.http import Request

SESSION_COOKIE = "px_session"
CSRF_COOKIE = "px_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
COOKIE_VALUE_LENGTH_MAX = 128  # a session token or CSRF token is 43 characters; longer is not one of ours
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("cache-control", "no-store"),
)


def cookies(request: Request) -> dict[str, str]:
    """The request's cookies by name (the first of a repeated name wins, as browsers send the most
    specific first); malformed pairs and oversized values are skipped."""
    found: dict[str, str] = {}
    for header in request.header_values("cookie"):
        for pair in header.split(";"):
            name, equals, value = pair.strip().partition("=")
            if equals and name and len(value) <= COOKIE_VALUE_LENGTH_MAX and name not in found:
                found[name] = value.strip('"')
    return found


def over_tls(request: Request) -> bool:
    return (request.headers.get("x-forwarded-proto") or "").strip().lower() == "https"


def set_cookie(request: Request, name: str, value: str, *, same_site: str = "Lax", max_age_s: int | None = None) -> tuple[str, str]:
    """A Set-Cookie header: HttpOnly always, Secure under TLS."""
    parts = [f"{name}={value}", "Path=/", "HttpOnly", f"SameSite={same_site}"]
    if max_age_s is not None:
        parts.append(f"Max-Age={max_age_s}")
    if over_tls(request):
        parts.append("Secure")
    return ("set-cookie", "; ".join(parts))


def clear_cookie(request: Request, name: str) -> tuple[str, str]:
    return set_cookie(request, name, "", max_age_s=0)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_cookie(request: Request, token: str) -> tuple[str, str]:
    return set_cookie(request, CSRF_COOKIE, token, same_site="Strict")


def same_origin(request: Request) -> bool:
    """False when the request says it comes from a page of another origin (Origin or, failing that,
    Referer, naming another host than Host); a request that says nothing passes this check (the CSRF
    token is the real defence)."""
    host = (request.headers.get("host") or "").lower()
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin != "null"
    scheme, _, rest = origin.partition("://")
    return scheme in ("http", "https") and rest.split("/", 1)[0].lower() == host


def csrf_ok(request: Request, given: str | None) -> bool:
    """Whether a state-changing request carries the CSRF token of its cookie and no foreign Origin."""
    expected = cookies(request).get(CSRF_COOKIE)
    if not expected or not given or not same_origin(request):
        return False
    return hmac.compare_digest(expected.encode("ascii", "replace"), given.encode("ascii", "replace"))
