"""How REST routes are wrapped: public or authenticated, with rate limits and one way of answering
refusals. A handler returns a dict (200 JSON), a Response (any status), or raises ApiError; nothing
else escapes: an unexpected exception is logged and answered 500 without taking the server down.

Authentication accepts every form the accounts package knows: Kalshi v2 signed headers, the seed's
signed form, and bearer tokens from a session (`Authorization: Bearer ...`)."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from predictex.accounts import Authenticated, AuthFailure, AuthReason, Lane, Session
from predictex.accounts.members import Role
from predictex.core.text import strip_http_whitespace
from predictex.gateways.rest.errors import reject_error
from predictex.gateways.rest.wire import ApiError, str_field
from predictex.server import ids, sources
from predictex.server.context import Exchange
from predictex.server.http import Request, Response, json_response
from predictex.server.sequencer import Committed, SequencerBusy, SequencerStopped, UnjournalableCommand

log = logging.getLogger("predictex.rest")

RouteHandler = Callable[[Request, dict[str, str]], Awaitable[Response] | Response]
Result = dict[str, Any] | Response


class Principal:
    """Who is calling: the member, the engine account they trade with, and what they may do."""

    __slots__ = ("account_id", "authenticated", "member", "scopes")

    def __init__(self, authenticated: Authenticated) -> None:
        self.authenticated = authenticated
        self.member = authenticated.member
        self.account_id = authenticated.member.engine_account_id
        self.scopes = authenticated.scopes

    @property
    def is_admin(self) -> bool:
        return self.member.role is Role.ADMIN


_AUTH_STATUS = {  # (status, code) of the refusals that are not 401 authentication_error
    AuthReason.INSUFFICIENT_SCOPE: (403, "permission_denied"),
    AuthReason.MEMBER_SUSPENDED: (403, "permission_denied"),
    AuthReason.TOO_MANY_LOGIN_ATTEMPTS: (429, "too_many_login_attempts"),
    # the same bytes again: a duplicate of a request already taken (as a retried order is a 409),
    # not a credential to distrust; clients that stop on 401 go on
    AuthReason.REPLAYED_REQUEST: (409, "replayed_request"),
    AuthReason.REPLAY_CACHE_FULL: (503, "service_unavailable"),
}


def auth_error(failure: AuthFailure) -> ApiError:
    status, code = _AUTH_STATUS.get(failure.reason, (401, "authentication_error"))
    headers = None
    if failure.retry_after_ms is not None:
        headers = [("Retry-After", str(max(1, -(-failure.retry_after_ms // 1000))))]
    elif status == 503:
        headers = [("Retry-After", "1")]
    return ApiError(status, code, failure.reason.value, failure.message, headers)


def error_response(error: ApiError, headers: list[tuple[str, str]] | None = None) -> Response:
    return json_response(error.status, error.body(), headers if headers is not None else error.headers)


def _answer(request: Request, result: object) -> Awaitable[Response] | Response:
    """A handler's result as a Response, or, for an awaitable result, a coroutine that finishes it.
    A dict (the usual case) is encoded here without an isinstance chain."""
    if type(result) is dict:
        return json_response(200, result)
    if isinstance(result, Response):
        return result
    if inspect.isawaitable(result):
        return _answer_later(request, result)
    return json_response(200, result)


async def _answer_later(request: Request, pending: Awaitable[Result]) -> Response:
    try:
        result = await pending
        return result if isinstance(result, Response) else json_response(200, result)
    except RateLimited as limited:
        return error_response(limited, [("Retry-After", limited.retry_after_s)])
    except ApiError as error:
        return error_response(error)
    except Exception as error:
        return _unexpected(request, error)


def _unexpected(request: Request, error: BaseException) -> Response:
    log.exception("unexpected error answering %s %s", request.method, request.path, exc_info=error)
    return error_response(ApiError(500, "internal_error", "internal error"))


# the ways of proving who calls: a signed request, a session token, an email and password in the body
SIGNED, SESSION, PASSWORD = "signed", "session", "password"


class RouteDoc(NamedTuple):
    """What the OpenAPI document says of a route: its summary, the ways a caller may prove who they
    are (none for a public route), the key scope it needs and whether only an operator may call it."""

    summary: str
    security: tuple[str, ...]
    scope: str | None
    admin: bool


_DOCS: weakref.WeakKeyDictionary[Callable[..., Any], RouteDoc] = weakref.WeakKeyDictionary()


def summary_of(handler: Callable[..., Any]) -> str:
    """The first line of a handler's docstring, or its name in words."""
    doc = inspect.getdoc(handler)
    if doc:
        return doc.strip().splitlines()[0].rstrip(".")
    name = getattr(handler, "__name__", type(handler).__name__)
    return name.strip("_").replace("_", " ").capitalize()


def described(route: Callable[..., Any]) -> RouteDoc | None:
    """The RouteDoc of a route made by `public` or `private` (None for a bare route)."""
    return _DOCS.get(route)


def public(
    exchange: Exchange, handler: Callable[..., Any], *, summary: str | None = None, security: tuple[str, ...] = (),
) -> RouteHandler:
    """A route anyone may call: `handler(exchange, request, params)`, plain or async. A plain handler
    is answered without a coroutine (most reads): the wrapper is a plain function too. `security`
    names the proofs the handler itself asks for (logging in and out)."""

    def run(request: Request, params: dict[str, str]) -> Awaitable[Response] | Response:
        try:
            sources.current.set(_PUBLIC_SOURCES[WEB_PAGE.get()])
            return _answer(request, handler(exchange, request, params))
        except ApiError as error:
            return error_response(error)
        except Exception as error:
            return _unexpected(request, error)

    _DOCS[run] = RouteDoc(summary or summary_of(handler), security, None, False)
    return run


def session_authorization(exchange: Exchange, value: str | None) -> str | None:
    """The historic `Authorization: <member_id> <token>` names the member by the UUID that
    `POST /login` returned; the accounts package knows members by number."""
    if not value:
        return value
    scheme, _, token = strip_http_whitespace(value).partition(" ")
    number = exchange.ids.from_uuid(ids.MEMBER, scheme) if len(scheme) == 36 else None
    return value if number is None else f"{number} {token}"


def authenticate(exchange: Exchange, request: Request, scope: str | None) -> Principal:
    target = request.raw_path.decode("latin-1") if isinstance(request.raw_path, bytes) else str(request.raw_path)
    if request.query:  # Kalshi v2 signs the path alone; the seed's client signs the query too
        target += "?" + request.query
    headers = request.headers
    authorization = headers.get("authorization")
    if authorization and (translated := session_authorization(exchange, authorization)) != authorization:
        headers = {**headers, "authorization": translated or ""}
    result = exchange.accounts.authenticate(headers, request.method, target, request.body, required_scope=scope)
    if isinstance(result, AuthFailure):
        raise auth_error(result)
    return Principal(result)


def _rate_limit(exchange: Exchange, principal: Principal, lane: Lane, cost: int | None) -> None:
    if not exchange.config.rate_limits:
        return
    decision = exchange.accounts.rate_limit(principal.member, lane, cost)
    if not decision.allowed:
        retry = decision.retry_after_ms
        seconds = "60" if retry is None else str(max(1, -(-retry // 1000)))
        raise RateLimited(seconds)


class RateLimited(ApiError):
    def __init__(self, retry_after_s: str) -> None:
        super().__init__(429, "too_many_requests", "too many requests")
        self.retry_after_s = retry_after_s

    def body(self) -> dict[str, Any]:
        return {"error": "too many requests"}  # Kalshi's 429 body (reference 8.1)


def private(
    exchange: Exchange, handler: Callable[..., Any], *, scope: str = "read", lane: Lane = Lane.READ, cost: int | None = None,
    admin: bool = False, summary: str | None = None,
) -> RouteHandler:
    """A route for authenticated members: `handler(exchange, principal, request, params)`, plain or
    async. Authentication and the rate limit run before the handler, without a coroutine."""

    def run(request: Request, params: dict[str, str]) -> Awaitable[Response] | Response:
        try:
            principal = authenticate(exchange, request, scope)
            if admin and not principal.is_admin:
                raise ApiError(403, "permission_denied", "permission denied", "this needs an operator (admin) account")
            _rate_limit(exchange, principal, lane, cost)
            sources.current.set(command_source(principal, admin, request.headers.get("user-agent", "")))
            return _answer(request, handler(exchange, principal, request, params))
        except RateLimited as limited:
            return error_response(limited, [("Retry-After", limited.retry_after_s)])
        except ApiError as error:
            return error_response(error)
        except Exception as error:
            return _unexpected(request, error)

    _DOCS[run] = RouteDoc(summary or summary_of(handler), (SIGNED, SESSION), scope, admin)
    return run


WEB_PAGE: contextvars.ContextVar[bool] = contextvars.ContextVar("predictex_web_page", default=False)  # set by web/proxy.py
_PUBLIC_SOURCES = {False: sources.source_json("rest"), True: sources.source_json("web")}


def command_source(principal: Principal, admin: bool, user_agent: str = "") -> bytes:
    """The journaled source of what this caller's request submits (server/sources.py): the web pages
    (through /web/api), an operator route, a simulated trader, or REST; the member and the key or
    session it authenticated with."""
    authenticated = principal.authenticated
    member = principal.member.member_id
    if WEB_PAGE.get():
        surface = "web"
    elif admin:
        surface = "admin"
    elif principal.member.simulated:
        surface = "sim"
    elif user_agent.startswith("predictex-cli/"):  # the command line says so (a claim, as any header)
        surface = "cli"
    else:
        surface = "rest"
    return sources.source_json(
        surface, member=member, key=authenticated.key.key_id if authenticated.key is not None else "",
        session=authenticated.session_id or "", operator=member if admin else 0,
    )


async def execute(exchange: Exchange, command: Any) -> Any:
    """Run a command through the sequencer; a refusal of the command as a whole becomes the mapped
    ApiError (a batch's items are refused one by one inside its Outcome). Returns the Outcome once the
    command is durable."""
    return (await commit(exchange, command)).outcome


async def commit(exchange: Exchange, command: Any) -> Committed:
    """Like `execute`, returning the whole commit (sequence number, time, outcome)."""
    try:
        committed = await exchange.sequencer.submit(command)
    except UnjournalableCommand as refused:
        raise ApiError(400, "invalid_parameters", str(refused)) from refused
    except SequencerBusy as busy:
        raise ApiError(503, "service_unavailable", "the exchange is busy; try again", str(busy)) from busy
    except SequencerStopped as stopped:
        raise ApiError(503, "service_unavailable", "the exchange is not taking orders", str(stopped)) from stopped
    if committed.outcome.reject is not None:
        raise reject_error(committed.outcome.reject, exchange.ids)
    return committed


async def log_in_with_password(exchange: Exchange, request: Request, body: dict[str, Any]) -> Session:
    """A session for the body's email and password, through the login throttle (per email and per
    client address: 429 with Retry-After while either must wait); the password hash runs off the loop."""
    email = str_field(body, "email", None, 320)
    password = str_field(body, "password", None, 1024)
    address = request.client[0] if request.client else None
    result: Session | AuthFailure = await asyncio.get_running_loop().run_in_executor(
        None, exchange.accounts.sessions.log_in_password, email, password, address)
    if isinstance(result, AuthFailure):
        log.info("password login refused (%s) for %s from %s on %s", result.reason.value, ascii(email[:100]), address, request.path)
        raise auth_error(result)
    return result
