"""Real-time streams over WebSocket: Kalshi's API v2 at /trade-api/ws/v2 and the seed's at /v1/ws.

`WebSocketGateway(exchange)` listens to the exchange's bus; its `upgrade` method is the HTTP server's
upgrade handler. Modules: frames (RFC 6455 codec, no I/O), handshake, connection (one socket), hub
(fan-out), messages (bodies), kalshi and seed (the two surfaces' commands), limits (every bound).
"""

from predictex.gateways.ws.gateway import WebSocketGateway
from predictex.gateways.ws.limits import WsLimits

__all__ = ["WebSocketGateway", "WsLimits"]
