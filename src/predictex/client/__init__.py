"""predictex's Python SDK: REST and WebSocket clients for predictex and for Kalshi itself (they speak
the same protocol). It needs only cryptography, httpx and websockets, not the exchange's dependencies.

    from predictex.client import Client, AsyncClient, Price, Count

- `Client` / `AsyncClient`: every REST call as a typed method (sync_client.py, async_client.py).
- `AsyncStream` (`AsyncClient.stream()`): channels, heartbeats, reconnects, seq gap recovery and
  local order books (stream.py).
- `Price`, `Count`, `Money`: exact fixed-point values; no float is ever accepted or returned.
- Errors: `ApiError` (with the server's code, message, details and HTTP status) and its kinds,
  `TransportError` when no answer came.
"""

from predictex.client.async_client import AsyncClient
from predictex.client.environments import DEMO, ENVIRONMENTS, LOCAL, PRODUCTION
from predictex.client.errors import (
    ApiError,
    AuthenticationError,
    BadRequest,
    Conflict,
    NotFound,
    PermissionDenied,
    PredictexError,
    RateLimited,
    RequestTimeout,
    ServerError,
    StreamError,
    TransportError,
)
from predictex.client.models import (
    Balance,
    BatchItem,
    CancelAck,
    Event,
    Fill,
    Level,
    Market,
    MarketPosition,
    Order,
    OrderAck,
    Orderbook,
    Page,
    Settlement,
    Trade,
)
from predictex.client.signing import Signer, load_private_key
from predictex.client.stream import AsyncStream, LiveBook
from predictex.client.sync_client import Client
from predictex.client.sync_stream import Stream
from predictex.client.transport import AsyncTransport, HttpRequest, HttpResponse, Transport
from predictex.client.units import Count, Money, Price

__all__ = [
    "DEMO", "ENVIRONMENTS", "LOCAL", "PRODUCTION", "ApiError", "AsyncClient", "AsyncStream", "AsyncTransport",
    "AuthenticationError", "BadRequest", "Balance", "BatchItem", "CancelAck", "Client", "Conflict", "Count", "Event", "Fill",
    "HttpRequest", "HttpResponse", "Level", "LiveBook", "Market", "MarketPosition", "Money", "NotFound", "Order", "OrderAck",
    "Orderbook", "Page", "PermissionDenied", "PredictexError", "Price", "RateLimited", "RequestTimeout", "ServerError",
    "Settlement", "Signer", "Stream", "StreamError", "Trade", "Transport", "TransportError", "load_private_key",
]
