"""The OpenAPI 3.0 document of every REST route this server answers, built from the router itself so
it cannot drift from what is served: each path and method, its path parameters, who may call it (anyone,
a key with read or write scope, or an operator), and the error body every refusal carries. Served at
`GET /openapi.json`; request and answer bodies are described in reference/kalshi-api.md and
docs/, not here."""

from __future__ import annotations

import re
from typing import Any

from predictex import __version__
from predictex.gateways.rest.handlers import SESSION, SIGNED, described, summary_of
from predictex.server.router import Router

# (path prefix, tag, what the surface is), the longest prefix first
SURFACES = (
    ("/predictex/v1/admin", "operator", "Operating the exchange: instruments, results, members and money (operator keys)"),
    ("/predictex/v1", "members", "Signing up, signing in and API keys"),
    ("/trade-api/v2", "kalshi-v2", "Kalshi's Trade API v2, as the official SDKs call it"),
    ("/v1", "seed-v1", "The API as the document predictex was created from describes it"),
    ("/", "service", "Health and metrics"),
)
SIGNED_SCHEMES = ("kalshiAccessKey", "kalshiAccessSignature", "kalshiAccessTimestamp")
_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _tag(pattern: str) -> str:
    return next(tag for prefix, tag, _ in SURFACES if pattern == prefix or pattern.startswith(prefix.rstrip("/") + "/"))


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _operation(method: str, pattern: str, route: Any) -> dict[str, Any]:
    doc = described(route)
    summary = doc.summary if doc is not None else summary_of(route)
    operation: dict[str, Any] = {
        "operationId": f"{method.lower()}_{pattern.strip('/').replace('/', '_').replace('{', '').replace('}', '').replace('-', '_')}",
        "summary": summary,
        "tags": [_tag(pattern)],
    }
    names = _PARAMETER.findall(pattern)
    if names:
        operation["parameters"] = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in names]
    if method in ("POST", "PUT", "PATCH"):
        operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}}
    responses: dict[str, Any] = {
        "200": {"description": "the answer", "content": {"application/json": {"schema": {"type": "object"}}}},
        "400": _error("malformed JSON, a wrong type or an invalid parameter"),
        "404": _error("no such path, or no such object"),
    }
    if doc is not None and doc.security:
        requirements: list[dict[str, list[str]]] = []
        if SIGNED in doc.security:
            requirements.append({scheme: [] for scheme in SIGNED_SCHEMES})
        if SESSION in doc.security:
            requirements.append({"sessionToken": []})
        operation["security"] = requirements
        responses["401"] = _error("missing or bad signature, stale timestamp, unknown key or expired session")
    if doc is not None and doc.scope is not None:
        operation["x-predictex-scope"] = doc.scope
        responses["403"] = _error("the key's scope does not allow this" + (", or the caller is no operator" if doc.admin else ""))
        responses["429"] = {
            "description": "rate limit reached; Retry-After says when to try again",
            "content": {"application/json": {"schema": {"type": "object", "properties": {"error": {"type": "string"}}}}},
        }
        if doc.admin:
            operation["x-predictex-operator"] = True
    if doc is None or not doc.security:
        operation["security"] = []
    if method != "GET":
        responses["503"] = _error("the exchange is busy or not taking orders")
    operation["responses"] = responses
    return operation


def document(router: Router) -> dict[str, Any]:
    """The OpenAPI document of the routes `router` holds."""
    paths: dict[str, dict[str, Any]] = {}
    for method, pattern, route in router.routes():
        paths.setdefault(pattern, {})[method.lower()] = _operation(method, pattern, route)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "predictex",
            "version": __version__,
            "description": "An open-source prediction-market exchange for binary event contracts that speaks Kalshi's protocols.",
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": tag, "description": text} for _, tag, text in SURFACES],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "kalshiAccessKey": {"type": "apiKey", "in": "header", "name": "KALSHI-ACCESS-KEY", "description": "the API key's id"},
                "kalshiAccessSignature": {
                    "type": "apiKey", "in": "header", "name": "KALSHI-ACCESS-SIGNATURE",
                    "description": "base64 RSA-PSS (SHA-256) signature of timestamp + method + path",
                },
                "kalshiAccessTimestamp": {
                    "type": "apiKey", "in": "header", "name": "KALSHI-ACCESS-TIMESTAMP", "description": "milliseconds since the epoch",
                },
                "sessionToken": {"type": "http", "scheme": "bearer", "description": "a session token from POST /trade-api/v2/login"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "details": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    }
