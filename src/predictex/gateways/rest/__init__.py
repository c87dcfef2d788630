"""REST gateways: Kalshi's Trade API v2 under /trade-api/v2, the seed's API under /v1, and the
operator's API under /predictex/v1/admin."""
