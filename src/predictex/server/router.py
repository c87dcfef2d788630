"""A small, fast request router for `HttpServer`.

    router = Router()
    router.add("GET", "/trade-api/v2/markets/{ticker}/orderbook", get_orderbook)
    server = HttpServer(router)

What it guarantees:
- A path without parameters is found by one dict lookup; parameterised paths walk a trie of path
  segments, so the cost does not grow with the number of routes.
- Exact segments win over parameters; if the exact branch has no route for the method, the
  parameterised alternative is tried before giving up (as Starlette does).
- An unknown path gets 404; a known path with the wrong method gets 405 with an `Allow` header.
  HEAD is served by the GET handler when no HEAD route exists.
- A trailing slash is ignored (`/markets/` is `/markets`); parameters are percent-decoded (UTF-8),
  and are never empty; `%2F` inside a parameter stays in that parameter.
- A (method, path) that matched before is found again by one dict lookup (up to `ROUTES_CACHED_MAX` of them
  are remembered); each call gets its own copy of the parameters.
- `routes()` lists what was added, in order (the OpenAPI document is built from it).

Handlers receive `(request, params)` and may be plain functions or coroutines.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import NamedTuple
from urllib.parse import unquote

from predictex.core.limits import ROUTES_CACHED_MAX
from predictex.server import sources
from predictex.server.http import Request, Response, error_response

__all__ = ["RouteHandler", "RouteMatch", "Router"]


Params = dict[str, str]
RouteHandler = Callable[[Request, Params], "Awaitable[Response] | Response"]
_Route = tuple[RouteHandler, tuple[str, ...]]  # the handler and its parameter names, in path order


class RouteMatch(NamedTuple):
    """`handler` is None when nothing matched: then `allowed` lists the methods the path does
    have (answer 405), or is empty (answer 404)."""

    handler: RouteHandler | None
    params: Params
    allowed: tuple[str, ...]


class _Node:
    __slots__ = ("exact", "param", "routes")

    def __init__(self) -> None:
        self.exact: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.routes: dict[str, _Route] = {}


def _normalise(path: str) -> str:
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path


def _allowed(routes: dict[str, _Route]) -> tuple[str, ...]:
    methods = set(routes)
    if "GET" in methods:
        methods.add("HEAD")
    return tuple(sorted(methods))


def _route_for(routes: dict[str, _Route], method: str) -> _Route | None:
    route = routes.get(method)
    if route is None and method == "HEAD":
        route = routes.get("GET")
    return route


def _parse_pattern(pattern: str) -> tuple[list[str | None], tuple[str, ...]]:
    """Segments (None for a parameter) and parameter names of a route pattern."""
    if not pattern.startswith("/"):
        raise ValueError(f"route pattern must start with '/': {pattern!r}")
    segments: list[str | None] = []
    names: list[str] = []
    for segment in _normalise(pattern).split("/")[1:]:
        if segment.startswith("{") and segment.endswith("}") and segment[1:-1].isidentifier():
            if segment[1:-1] in names:
                raise ValueError(f"parameter {segment} twice in {pattern!r}")
            names.append(segment[1:-1])
            segments.append(None)
        elif "{" in segment or "}" in segment or (segment == "" and pattern != "/"):
            raise ValueError(f"unsupported segment {segment!r} in {pattern!r}")
        else:
            segments.append(segment)
    return segments, tuple(names)


class Router:
    """Maps (method, path) to a handler; usable directly as an `HttpServer` handler."""

    def __init__(
        self,
        *,
        not_found: Callable[[Request], Response] | None = None,
        method_not_allowed: Callable[[Request, tuple[str, ...]], Response] | None = None,
    ) -> None:
        self._static: dict[str, dict[str, _Route]] = {}  # normalised path -> method -> route
        self._found: dict[tuple[str, bytes | str], tuple[RouteHandler, Params]] = {}  # matches seen, by raw path
        self._root = _Node()
        self._added: list[tuple[str, str, RouteHandler]] = []
        self._not_found = not_found or _default_not_found
        self._method_not_allowed = method_not_allowed or _default_method_not_allowed

    def add(self, method: str, pattern: str, handler: RouteHandler) -> None:
        """Route `method` requests for `pattern` (e.g. "/markets/{ticker}") to `handler`."""
        method = method.upper()
        segments, names = _parse_pattern(pattern)
        self._found.clear()
        node = self._root
        for segment in segments:
            if segment is None:
                node.param = node.param or _Node()
                node = node.param
            else:
                node = node.exact.setdefault(segment, _Node())
        if method in node.routes:
            raise ValueError(f"route {method} {pattern} added twice")
        node.routes[method] = (handler, names)
        self._added.append((method, pattern, handler))
        if not names:
            self._static.setdefault(_normalise(pattern), node.routes)

    def routes(self) -> list[tuple[str, str, RouteHandler]]:
        """Every route as (method, pattern, handler), in the order added."""
        return list(self._added)

    def match(self, method: str, raw_path: bytes | str) -> RouteMatch:
        """The handler and decoded parameters for a request path as received (percent-encoded)."""
        return RouteMatch(*self._lookup(method, raw_path))

    def __call__(self, request: Request) -> Awaitable[Response] | Response:
        sources.current.set(sources.UNSTATED)  # a request's handler states its own source, never inherits the last one's
        key = (request.method, request.raw_path)
        found = self._found.get(key)
        if found is not None:
            return found[0](request, found[1].copy())
        handler, params, allowed = self._lookup(request.method, request.raw_path)
        if handler is not None:
            if len(self._found) >= ROUTES_CACHED_MAX:
                self._found.clear()
            self._found[key] = (handler, params.copy())
            return handler(request, params)
        if allowed:
            return self._method_not_allowed(request, allowed)
        return self._not_found(request)

    def _lookup(self, method: str, raw_path: bytes | str) -> tuple[RouteHandler | None, Params, tuple[str, ...]]:
        path = raw_path if isinstance(raw_path, str) else raw_path.decode("utf-8", "replace")
        if path[-1:] == "/" and len(path) > 1:
            path = path.rstrip("/") or "/"
        escaped = "%" in path
        if not escaped:
            routes = self._static.get(path)
            if routes is not None:
                route = _route_for(routes, method)
                if route is not None:
                    return route[0], {}, ()
        segments = path.split("/")[1:] if path != "/" else [""]
        if escaped:
            segments = [unquote(segment, errors="replace") if "%" in segment else segment for segment in segments]
        values: list[str] = []
        route = _greedy(self._root, segments, method, values)
        if route is None:
            fallback: list[dict[str, _Route]] = []
            values.clear()
            route = _search(self._root, segments, 0, method, values, fallback)
            if route is None:
                return None, {}, _allowed(fallback[0]) if fallback else ()
        handler, names = route
        return handler, dict(zip(names, values)), ()


def _greedy(node: _Node, segments: list[str], method: str, values: list[str]) -> _Route | None:
    """The first path `_search` would try (exact segments first), without recursion: the usual case."""
    for segment in segments:
        child = node.exact.get(segment)
        if child is None:
            child = node.param
            if child is None or not segment:
                return None
            values.append(segment)
        node = child
    return _route_for(node.routes, method)


def _search(
    node: _Node, segments: list[str], index: int, method: str, values: list[str], fallback: list[dict[str, _Route]]
) -> _Route | None:
    """Depth-first, exact segments before parameters; `values` collects parameter values on the
    way down; the first path-only match (wrong method) is kept in `fallback` for the 405."""
    if index == len(segments):
        if node.routes:
            route = _route_for(node.routes, method)
            if route is not None:
                return route
            if not fallback:
                fallback.append(node.routes)
        return None
    segment = segments[index]
    child = node.exact.get(segment)
    if child is not None:
        found = _search(child, segments, index + 1, method, values, fallback)
        if found is not None:
            return found
    if node.param is not None and segment:
        values.append(segment)
        found = _search(node.param, segments, index + 1, method, values, fallback)
        if found is not None:
            return found
        values.pop()
    return None


def _default_not_found(request: Request) -> Response:
    return error_response(404, "not_found", f"no route for {request.path}")


def _default_method_not_allowed(request: Request, allowed: tuple[str, ...]) -> Response:
    response = error_response(405, "method_not_allowed", f"{request.method} is not allowed on {request.path}")
    response.headers.append(("allow", ", ".join(allowed)))
    return response
