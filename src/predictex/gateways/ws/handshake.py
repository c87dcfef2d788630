"""The opening handshake (RFC 6455 §4.2): check an upgrade request, answer 101 or say what is wrong.

No extension and no subprotocol is ever accepted (a client offering permessage-deflate, as most do,
simply goes on without it)."""

from __future__ import annotations

import base64
import binascii

from predictex.core.text import strip_http_whitespace
from predictex.gateways.ws.frames import accept_key
from predictex.server.http import Request, Response, error_response

VERSION = "13"


class HandshakeError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _tokens(value: str | None) -> set[str]:
    """The comma-separated tokens of a header, trimmed of SP and HTAB only (a no-break space stays
    and makes the token unknown)."""
    return {strip_http_whitespace(part).lower() for part in (value or "").split(",")}


def client_key(request: Request) -> str:
    """The client's Sec-WebSocket-Key once the request is a valid upgrade; HandshakeError otherwise."""
    if request.method != "GET":
        raise HandshakeError(error_response(405, "method_not_allowed", "a WebSocket upgrade must be a GET"))
    if "websocket" not in _tokens(request.header("upgrade")) or "upgrade" not in _tokens(request.header("connection")):
        raise HandshakeError(error_response(400, "bad_request", "a WebSocket upgrade needs Upgrade: websocket and Connection: Upgrade"))
    if request.header("sec-websocket-version") != VERSION:
        refusal = error_response(426, "upgrade_required", "only WebSocket version 13 is spoken here")
        refusal.headers.append(("Sec-WebSocket-Version", VERSION))
        raise HandshakeError(refusal)
    key = strip_http_whitespace(request.header("sec-websocket-key") or "")
    try:
        decoded = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) != 16:
        raise HandshakeError(error_response(400, "bad_request", "Sec-WebSocket-Key must be 16 random bytes in base64"))
    return key


def switching_protocols(key: str) -> bytes:
    """The 101 response that completes the handshake."""
    return (
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
    ).encode("ascii")
