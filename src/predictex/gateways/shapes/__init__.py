"""The JSON objects the gateways answer with, one module per API: `kalshi` (Kalshi v2, for REST and
the WebSocket alike, and the web pages), `seed` (the seed's /v1, for REST and its WebSocket), and
`text`, the text forms of domain values they share. Pure functions from read-model state and
committed events to JSON-ready dicts; no I/O."""
