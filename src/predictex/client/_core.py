"""What `Client` and `AsyncClient` share and do without I/O: turning a `Call` into an `HttpRequest`
(URL, signed headers or a session's bearer token, JSON body), turning the answer into a result or an
`ApiError`, deciding whether and when to retry, and keeping the session token fresh.

Retries (the complaint about other SDKs is retries that double-fill):
- 429 is always retried, after Retry-After when the server sends one: the request was refused
  before anything happened.
- No answer (timeout, broken connection) or a 5xx is retried only for reads and for creates that
  carry a client_order_id; the exchange refuses a second order with the same id (409
  order_already_exists), and the client then returns the order the first attempt made.
- Nothing else is retried: a cancel or amend that timed out is reported, not repeated blindly.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from predictex import __version__
from predictex.client import calls
from predictex.client.calls import Call, Safety
from predictex.client.environments import LOCAL, root_url
from predictex.client.errors import ApiError, AuthenticationError, Conflict, RateLimited, TransportError, error_from_response
from predictex.client.models import Order, SessionToken
from predictex.client.signing import PrivateKey, Signer, load_private_key
from predictex.client.transport import HttpRequest, HttpResponse

T = TypeVar("T")

USER_AGENT = f"predictex-python/{__version__}"
SESSION_REFRESH_MARGIN_S = 300.0  # refresh a session token this long before it expires (tokens live 30 minutes)
DUPLICATE_LOOKUP_PAGES_MAX = 50  # pages of a market's orders searched for a retried create's first order


@dataclass(frozen=True)
class RetryPolicy:
    attempts_max: int = 4  # tries in all, the first included
    backoff_s: float = 0.25  # before the second try; doubled each time ...
    backoff_max_s: float = 8.0  # ... up to this
    retry_after_max_s: float = 60.0  # a longer Retry-After is not waited for: the error is raised

    def delay_s(self, attempt: int) -> float:
        base: float = min(self.backoff_max_s, self.backoff_s * 2.0 ** attempt)
        return base * (0.5 + random.random() / 2)  # jitter: clients that failed together do not retry together


def key_from(private_key: PrivateKey | str | bytes | Path | None) -> PrivateKey | None:
    if private_key is None or isinstance(private_key, (str, bytes, Path)):
        return None if private_key is None else load_private_key(private_key)
    return private_key


class Session:
    """A session token and when it expires, by the client's clock."""

    def __init__(self, token: SessionToken, now_s: float) -> None:
        self.token = token.token
        self.member_id = token.member_id
        expires = token.expires
        self.expires_s = expires.timestamp() if expires is not None else now_s + 30 * 60

    def due(self, now_s: float) -> bool:
        return now_s >= self.expires_s - SESSION_REFRESH_MARGIN_S


class ClientCore:
    def __init__(self, base_url: str = LOCAL, *, key_id: str | None = None, private_key: PrivateKey | str | bytes | Path | None = None,
                 use_session: bool = False, timeout_s: float = 10.0, retry: RetryPolicy | None = None,
                 clock: Callable[[], float] | None = None, user_agent: str = USER_AGENT) -> None:
        import time

        self.root = root_url(base_url)
        self.user_agent = user_agent
        key = key_from(private_key)
        if (key_id is None) != (key is None):
            raise ValueError("give both key_id and private_key (or neither, for public data only)")
        self.signer = Signer(key_id, key) if key_id is not None and key is not None else None
        self.use_session = use_session
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self.clock = clock or time.time
        self.session: Session | None = None
        self.password: tuple[str, str] | None = None  # kept when a password session should renew itself

    # --- requests -------------------------------------------------------------------------------------

    def url(self, call: Call[Any]) -> str:
        query = f"?{urlencode(call.query)}" if call.query else ""
        return self.root + call.full_path + query

    def request(self, call: Call[Any], auth_headers: Mapping[str, str]) -> HttpRequest:
        headers = {"Accept": "application/json", "User-Agent": self.user_agent, **auth_headers}
        body = None
        if call.body is not None:
            body = json.dumps(call.body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        return HttpRequest(call.method, self.url(call), headers, body, self.timeout_s)

    def signed_headers(self, call: Call[Any]) -> dict[str, str]:
        if self.signer is None:
            raise AuthenticationError(401, "missing_credentials", f"{call.method} {call.full_path} needs an API key",
                                      "give key_id and private_key to the client")
        # Kalshi signs the URL's path as sent (no query, no body), prefix included
        return self.signer.headers(call.method, urlsplit(self.url(call)).path)

    def bearer(self) -> dict[str, str]:
        assert self.session is not None
        return {"Authorization": f"Bearer {self.session.token}"}

    def session_step(self, call: Call[Any]) -> Call[SessionToken] | None:
        """The login or refresh to do before `call`, if its session needs one: a live token close to
        its expiry is renewed with itself; an expired one (or none) is replaced by a new login."""
        if not call.auth or not self.session_mode or call.full_path in ("/v1/log_in", calls.API_PREFIX + "/login"):
            return None
        now = self.clock()
        if self.session is not None:
            if not self.session.due(now):
                return None
            if now < self.session.expires_s:
                return calls.log_in()
            self.session = None
        return calls.log_in() if self.signer is not None else self._password_call()

    def _password_call(self) -> Call[SessionToken]:
        if self.password is None:
            raise AuthenticationError(401, "missing_credentials", "the session has ended and there is nothing to log in with again")
        return calls.password_login(*self.password)

    @property
    def session_mode(self) -> bool:
        return self.use_session or self.password is not None

    def auth_headers(self, call: Call[Any]) -> dict[str, str]:
        if not call.auth:
            return {}
        if call.full_path == "/v1/log_in":
            # a live session renews with its own token; otherwise the key signs for a new one
            return self.bearer() if self.session is not None else self.signed_headers(call)
        if self.session_mode and self.session is not None:
            return self.bearer()
        return self.signed_headers(call)

    def keep_session(self, token: SessionToken) -> None:
        self.session = Session(token, self.clock())

    # --- answers --------------------------------------------------------------------------------------

    def result(self, call: Call[T], response: HttpResponse) -> T:
        if not 200 <= response.status < 300:
            raise error_from_response(response.status, response.body, response.headers.get("retry-after"))
        body: Any = json.loads(response.body) if response.body.strip() else {}
        return call.parse(body)

    def retry_delay(self, call: Call[Any], attempt: int, error: Exception) -> float | None:
        """Seconds to wait before trying `call` again after `error` on try number `attempt` (from 0),
        or None to give up and raise."""
        if attempt + 1 >= self.retry.attempts_max:
            return None
        if isinstance(error, RateLimited):
            if error.retry_after_s is None:
                return self.retry.delay_s(attempt)
            return error.retry_after_s if error.retry_after_s <= self.retry.retry_after_max_s else None
        repeatable = call.safety in (Safety.IDEMPOTENT, Safety.PROTECTED)
        if isinstance(error, TransportError) and repeatable:
            return self.retry.delay_s(attempt)
        if isinstance(error, ApiError) and error.status >= 500 and repeatable:
            return self.retry.delay_s(attempt)
        return None

    def relogin_after(self, error: Exception, attempt: int) -> bool:
        """A session token refused (the server restarted, or the token was logged out): log in again once."""
        if isinstance(error, AuthenticationError) and self.session_mode and self.session is not None and attempt == 0:
            self.session = None
            return True
        return False


def outcome_unknown(error: Exception) -> bool:
    """No answer, or a 5xx: the request may have been applied."""
    return isinstance(error, TransportError) or (isinstance(error, ApiError) and error.status >= 500)


def is_duplicate(call: Call[Any], error: Exception, uncertain: bool) -> bool:
    """A create refused as a duplicate after an earlier attempt of it got no clear answer: that
    attempt went through. (Without such an attempt the id was the caller's own reuse: raised.)"""
    return (uncertain and call.duplicate is not None and isinstance(error, Conflict)
            and error.code == "order_already_exists")


def recovered(call: Call[T], order: Order | None, error: Exception) -> T:
    if order is None or call.from_order is None:
        raise error
    return call.from_order(order)
