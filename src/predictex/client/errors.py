"""What the SDK raises. Two families, kept apart:

- `ApiError` and its subclasses: the exchange answered and refused. They carry the HTTP status and
  the server's own `code`, `message` and `details` (Kalshi's `{"error": {...}}` body, or the 429's
  bare `{"error": "too many requests"}`), so a program can branch on `error.code`.
- `TransportError`: no answer came (cannot connect, timed out, the connection broke). Whether the
  request took effect is unknown; the client retries only calls that are safe to repeat.

`StreamError` is the WebSocket client's (a refused subscription, a connection that cannot be made).
"""

from __future__ import annotations

import json
from typing import Any


class PredictexError(Exception):
    """Everything the SDK raises on purpose."""


def refusal_text(message: str, details: str) -> str:
    """The server's message and details as one phrase, each word once ("insufficient balance" and
    "need $45.00, have $10.00"): predictex's details never restate the message (tests/unit/test_refusal_texts.py),
    but another server's may begin with it."""
    message, details = message.strip(), details.strip()
    if details and message.lower() in details.lower():
        return details
    if details and details.lower() not in message.lower():
        return f"{message}: {details}" if message else details
    return message


class ApiError(PredictexError):
    def __init__(self, status: int, code: str, message: str, details: str = "", body: Any = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(f"{refusal_text(message, details) or code} ({status} {code})")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.body = body
        self.retry_after_s = retry_after_s


class BadRequest(ApiError):
    """400: the request was malformed or refused for its content (invalid_order, insufficient_balance ...)."""


class AuthenticationError(ApiError):
    """401: missing or wrong signature, unknown key, expired session."""


class PermissionDenied(ApiError):
    """403: the key's scopes do not allow this."""


class NotFound(ApiError):
    """404: no such market, order, key ..."""


class Conflict(ApiError):
    """409: order_already_exists, market_closed, trading_is_paused ..."""


class RateLimited(ApiError):
    """429: `retry_after_s` says when to try again (from Retry-After, when the server sends it)."""


class ServerError(ApiError):
    """5xx: the exchange could not answer (service_unavailable while paused, internal errors)."""


class TransportError(PredictexError):
    """No answer: the request may or may not have been applied."""


class RequestTimeout(TransportError):
    pass


class StreamError(PredictexError):
    """A WebSocket failure the stream could not recover from by itself (e.g. a refused subscription)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest, 401: AuthenticationError, 403: PermissionDenied, 404: NotFound, 409: Conflict, 429: RateLimited,
}


def error_from_response(status: int, body: bytes, retry_after: str | None = None) -> ApiError:
    """The exception for a non-2xx answer, from whatever body came with it."""
    parsed: Any = None
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    code, message, details = "http_error", _text_of(body), ""
    if isinstance(parsed, dict):
        inner = parsed.get("error", parsed)
        if isinstance(inner, dict):
            code = str(inner.get("code") or code)
            message = str(inner.get("message") or "")
            details = str(inner.get("details") or "")
        elif isinstance(inner, str):  # 429's {"error": "too many requests"}
            code = "too_many_requests" if status == 429 else code
            message = inner
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
    return kind(status, code, message, details, parsed, retry_after_seconds(retry_after))


def _text_of(body: bytes) -> str:
    """A body that is not the API's JSON, as one line: an HTML page (a proxy's, or another server's) is
    named as one rather than shown; other text is shown with its whitespace squeezed, cut at 300."""
    text = body.decode("utf-8", "replace")
    if text.lstrip()[:1] == "<":
        return "the answer is an HTML page, not the API's JSON: is the URL the exchange's?"
    return " ".join(text.split())[:300]


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After in seconds (the delta form; an HTTP date is not worth a guess and reads as None)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds)
