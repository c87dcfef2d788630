"""The seed's API, under /v1: exactly the calls the seed document shows (prices in units of $0.0001,
so 6500 = $0.65), authenticated by the seed's signed form or a bearer token from /v1/log_in."""
