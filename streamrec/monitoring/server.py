"""A ``/metrics`` endpoint on its own port, for roles without the HTTP API.

It serves one registry in the Prometheus text format from a daemon thread (the
standard library's WSGI server, as ``prometheus_client.start_http_server`` runs it),
so scrapes never touch the role's own loop.
"""

from __future__ import annotations

import logging
import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

from streamrec.errors import ConfigError

log = logging.getLogger(__name__)


class MetricsEndpoint:
    """A running endpoint; :meth:`close` stops it."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    @property
    def port(self) -> int:
        """The port it listens on (the chosen one when started on port 0)."""
        return int(self._server.server_port)

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_metrics_endpoint(
    registry: CollectorRegistry, port: int, host: str = "127.0.0.1"
) -> MetricsEndpoint:
    """Serve ``registry`` at ``http://host:port/metrics`` until the endpoint is closed.

    Raises
    ------
    ConfigError
        If the address cannot be bound (in use, or not an address of this host).
    """
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise ConfigError(f"cannot serve metrics on {host}:{port}: {exc}") from None
    endpoint = MetricsEndpoint(server, thread)
    log.info("metrics on http://%s:%d/metrics", host, endpoint.port)
    return endpoint
