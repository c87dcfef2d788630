"""Kalshi Trade API v2 (reference §4-§7)."""
