"""How bytes reach the exchange. A transport takes an `HttpRequest` and returns an `HttpResponse`, or
raises `TransportError` (`RequestTimeout` for a timeout) when no answer came. The defaults use httpx;
tests pass their own (an in-process app, or a wrapper that loses answers on purpose)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from predictex.client.errors import RequestTimeout, TransportError


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None
    timeout_s: float


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)  # names lower-cased


class Transport(Protocol):
    def send(self, request: HttpRequest) -> HttpResponse: ...

    def close(self) -> None: ...


class AsyncTransport(Protocol):
    async def send(self, request: HttpRequest) -> HttpResponse: ...

    async def aclose(self) -> None: ...


def _response(answer: httpx.Response) -> HttpResponse:
    return HttpResponse(answer.status_code, answer.content, {k.lower(): v for k, v in answer.headers.items()})


class HttpxTransport:
    """A pooled, keep-alive HTTP/1.1 connection per host."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client()

    def send(self, request: HttpRequest) -> HttpResponse:
        try:
            answer = self._client.request(request.method, request.url, headers=dict(request.headers), content=request.body,
                                          timeout=request.timeout_s)
        except httpx.TimeoutException as error:
            raise RequestTimeout(f"{request.method} {request.url}: no answer within {request.timeout_s:g} s") from error
        except httpx.HTTPError as error:
            raise TransportError(f"{request.method} {request.url}: {error}") from error
        return _response(answer)

    def close(self) -> None:
        self._client.close()


class AsyncHttpxTransport:
    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self._client = client or httpx.AsyncClient()

    async def send(self, request: HttpRequest) -> HttpResponse:
        try:
            answer = await self._client.request(request.method, request.url, headers=dict(request.headers), content=request.body,
                                                timeout=request.timeout_s)
        except httpx.TimeoutException as error:
            raise RequestTimeout(f"{request.method} {request.url}: no answer within {request.timeout_s:g} s") from error
        except httpx.HTTPError as error:
            raise TransportError(f"{request.method} {request.url}: {error}") from error
        return _response(answer)

    async def aclose(self) -> None:
        await self._client.aclose()
