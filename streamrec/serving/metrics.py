"""Prometheus metrics of the HTTP API, each app with its own registry.

:class:`RequestTimer` is pure ASGI middleware (no per-request task or body
buffering) observing every request's latency by route template; the retrain
schedule's state is read at each scrape by :class:`RetrainMetrics`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Receive, Scope, Send

from streamrec.models.schedule import RetrainStatus

#: The ``Content-Type`` of :meth:`ApiMetrics.exposition`.
EXPOSITION_TYPE = CONTENT_TYPE_LATEST


class ApiMetrics:
    """The metrics of one app (its own registry, so apps in one process don't clash)."""

    def __init__(self, retrain_status: Callable[[], RetrainStatus | None]) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "streamrec_events_accepted", "Events accepted", registry=self.registry
        )
        self.requests = Histogram(
            "streamrec_request_seconds",
            "Request latency by route",
            ["route"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0),
        )
        self.registry.register(RetrainMetrics(retrain_status))

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return _generate_latest(self.registry)


class RetrainMetrics(Collector):
    """The retrain scheduler's state, read at each scrape (nothing when it is off)."""

    def __init__(self, status: Callable[[], RetrainStatus | None]) -> None:
        self.status = status

    def collect(self) -> Iterator[Metric]:
        """Gauges and counters of the current :class:`RetrainStatus`."""
        status = self.status()
        if status is None:
            return
        yield GaugeMetricFamily(
            "streamrec_retrain_running", "1 while a training runs", value=int(status.running)
        )
        yield GaugeMetricFamily(
            "streamrec_retrain_events_since",
            "Events applied since the last training started",
            value=status.events_since,
        )
        yield GaugeMetricFamily(
            "streamrec_retrain_seconds_since",
            "Seconds since the last training started",
            value=status.seconds_since,
        )
        yield CounterMetricFamily(
            "streamrec_retrain_runs", "Trainings started by the schedule", value=status.runs
        )
        yield CounterMetricFamily(
            "streamrec_retrain_failures", "Scheduled trainings that failed", value=status.failures
        )


class RequestTimer:
    """Pure ASGI middleware observing each request's latency by route template."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.histogram.labels(route).observe(time.perf_counter() - started)
