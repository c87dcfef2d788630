"""Gateways: each turns its wire format into commands and events back into its wire format, and owns
nothing else. REST (Kalshi v2 and the seed's v1), WebSocket and FIX."""
