"""The routers of HTTP API v1, one module per area of the contract."""
