"""The OpenAPI 3.0 document of every REST route this server answers, built from the router itself so
it cannot drift from what is served: each path and method, its path parameters, who may call it (anyone,
a key with read or write scope, or an operator), and the error body every refusal carries. Served at
`GET /openapi.json`; request and answer bodies are described in reference/kalshi-api.md and
docs/, not here."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from predictex import __version__
from predictex.accounts.signing import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from predictex.gateways.rest.handlers import PASSWORD, SESSION, SIGNED, described, summary_of
from predictex.server.metrics import surface
from predictex.server.router import Router

# each surface (as the metrics name them, so a route's tag is its metrics label) and what it is
SURFACES = {
    "kalshi_v2": "Kalshi's Trade API v2, as the official SDKs call it",
    "seed_v1": "The API as the document predictex was created from describes it",
    "predictex": "Members (sign-up, keys) and operators (/predictex/v1/admin: instruments, results, money)",
    "other": "Health, metrics and this document",
}
SIGNED_SCHEMES = ("kalshiAccessKey", "kalshiAccessSignature", "kalshiAccessTimestamp")
_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _operation(method: str, pattern: str, route: Any) -> dict[str, Any]:
    doc = described(route)
    summary = doc.summary if doc is not None else summary_of(route)
    operation: dict[str, Any] = {
        "operationId": f"{method.lower()}_{pattern.strip('/').replace('/', '_').replace('{', '').replace('}', '').replace('-', '_')}",
        "summary": summary,
        "tags": [surface(pattern)],
    }
    names = _PARAMETER.findall(pattern)
    if names:
        operation["parameters"] = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in names]
    if method in ("POST", "PUT", "PATCH"):
        operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}}
    responses: dict[str, Any] = {
        "2XX": {"description": "the answer (201 for a create, 204 when there is no body)",
                "content": {"application/json": {"schema": {"type": "object"}}}},
        "400": _error("malformed JSON, a wrong type or an invalid parameter"),
        "404": _error("no such path, or no such object"),
    }
    requirements: list[dict[str, list[str]]] = []
    if doc is not None and SIGNED in doc.security:
        requirements.append({scheme: [] for scheme in SIGNED_SCHEMES})
    if doc is not None and SESSION in doc.security:
        requirements.append({"sessionToken": []})
    operation["security"] = requirements  # empty: anyone may call (a password, if asked for, is in the body)
    if requirements:
        responses["401"] = _error("missing or bad signature, stale timestamp, unknown key or expired session")
    if doc is not None and PASSWORD in doc.security:
        responses["401"] = _error("missing or bad signature, expired session, or a wrong email or password" if requirements
                                  else "wrong email or password")
        responses["429"] = _error("too many failed logins for this email or address; Retry-After says when to try again")
    if doc is not None and doc.scope is not None:
        operation["x-predictex-scope"] = doc.scope
        responses["403"] = _error("the key's scope does not allow this" + (", or the caller is no operator" if doc.admin else ""))
        responses["429"] = {
            "description": "rate limit reached; Retry-After says when to try again",
            "content": {"application/json": {"schema": {"type": "object", "properties": {"error": {"type": "string"}}}}},
        }
        if doc.admin:
            operation["x-predictex-operator"] = True
    if method != "GET" and doc is not None and SIGNED in doc.security:
        responses.setdefault("409", _error("this exact signed write was already taken (a replay); sign it afresh"))
    if method != "GET":
        responses["503"] = _error("the exchange is busy or not taking orders")
    operation["responses"] = responses
    return operation


def document(router: Router, exclude: Callable[[str], bool] | None = None) -> dict[str, Any]:
    """The OpenAPI document of the routes `router` holds (but those whose pattern `exclude` names)."""
    paths: dict[str, dict[str, Any]] = {}
    for method, pattern, route in router.routes():
        if exclude is not None and exclude(pattern):
            continue
        paths.setdefault(pattern, {})[method.lower()] = _operation(method, pattern, route)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "predictex",
            "version": __version__,
            "description": "An open-source prediction-market exchange for binary event contracts that speaks Kalshi's protocols.",
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": tag, "description": text} for tag, text in SURFACES.items()],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "kalshiAccessKey": {"type": "apiKey", "in": "header", "name": KEY_HEADER, "description": "the API key's id"},
                "kalshiAccessSignature": {
                    "type": "apiKey", "in": "header", "name": SIGNATURE_HEADER,
                    "description": "base64 RSA-PSS (SHA-256) or Ed25519 signature of timestamp + method + path "
                                   "(Kalshi v2), or of timestamp + method + path + compact JSON body (the seed's form)",
                },
                "kalshiAccessTimestamp": {
                    "type": "apiKey", "in": "header", "name": TIMESTAMP_HEADER,
                    "description": "milliseconds since the epoch (Kalshi v2) or ISO-8601 UTC (the seed's form); within 30 s of the server",
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
