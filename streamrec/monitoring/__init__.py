"""Prometheus metrics shared by the roles: log consumers, drift, the metrics endpoint.

The HTTP API's own metrics live in :mod:`streamrec.serving.metrics`; what is here
serves every role, including those without the API (``streamrec process``).
"""
