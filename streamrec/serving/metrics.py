"""Prometheus metrics of the HTTP API, each app with its own registry.

:class:`RequestTimer` is pure ASGI middleware (no per-request task or body
buffering) observing every request's latency by route template, method and status,
and counting error responses by the code :mod:`streamrec.serving.errors` marks on
the request (unhandled exceptions count as ``internal``). The events route counts
accepted events by type and rejected batches by reason; the list routes count lists
served and those built from a fallback. Everything the engine knows (lag, model,
caches, drift, its processor) is read at scrape time by
:class:`~streamrec.serving.engine_metrics.EngineMetrics`.

Every label takes values from a closed set (route templates, known methods and
fields), so a client cannot grow the number of series.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import numpy as np
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as _generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from streamrec.engine import Engine
from streamrec.errors import BackendUnavailable, BatchTooLarge, InvalidInput, StreamrecError
from streamrec.events import EVENT_TYPES, Event, EventBatch
from streamrec.monitoring.build import BuildInfo
from streamrec.recommend.types import Recommendation
from streamrec.serving.engine_metrics import EngineMetrics

#: The ``Content-Type`` of :meth:`ApiMetrics.exposition`.
EXPOSITION_TYPE = CONTENT_TYPE_LATEST

#: Where :func:`mark_error` leaves an error response's code in the ASGI scope.
ERROR_CODE = "streamrec.error_code"

#: Request latency buckets; 0.1 and 0.2 are the latency alerts' thresholds.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0
)  # fmt: skip
METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})

#: Why a whole batch of events was refused.
REJECTIONS = ("invalid", "too_large", "log_unavailable", "log_error")
#: The fields a problem of a rejected batch can name (the first part of its path).
PROBLEM_FIELDS = frozenset({*Event.model_fields, "events", "body"})
#: The lists the API serves.
LISTS = ("recommendations", "similar", "popular", "trending")


def mark_error(scope: MutableMapping[str, Any], code: str) -> None:
    """Record the code of the error response a request gets (for the error counter)."""
    scope[ERROR_CODE] = code


class RequestMetrics:
    """Latency of every request and the count of error responses."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.duration = Histogram(
            "streamrec_http_request_duration_seconds",
            "Request latency by route template, method and status",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.errors = Counter(
            "streamrec_http_errors",
            "Error responses by route template, status and error code",
            ["route", "status", "code"],
            registry=registry,
        )
        self._timers: dict[tuple[str, str, int], Any] = {}

    def observe(
        self, route: str, method: str, status: int, seconds: float, code: str | None
    ) -> None:
        """One finished request (``code``: its error code, if it got an error response)."""
        key = (route, method, status)
        timer = self._timers.get(key)
        if timer is None:
            label = method if method in METHODS else "other"
            timer = self._timers[key] = self.duration.labels(route, label, str(status))
        timer.observe(seconds)
        if code is not None:
            self.errors.labels(route, str(status), code).inc()


class EventMetrics:
    """Events accepted by type, and batches rejected by reason (with their problems)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        accepted = Counter(
            "streamrec_events_accepted",
            "Events accepted (durable in the log), by type",
            ["type"],
            registry=registry,
        )
        self._accepted = [accepted.labels(t.value) for t in EVENT_TYPES]
        rejected = Counter(
            "streamrec_event_batches_rejected",
            "Event batches rejected whole, by reason",
            ["reason"],
            registry=registry,
        )
        self._rejected = {reason: rejected.labels(reason) for reason in REJECTIONS}
        self.problems = Counter(
            "streamrec_event_problems",
            "Problems listed in rejected event batches, by field",
            ["field"],
            registry=registry,
        )

    def accepted(self, batch: EventBatch) -> None:
        """Count a durable batch by event type."""
        counts = np.bincount(batch.type, minlength=len(EVENT_TYPES)).tolist()
        for child, count in zip(self._accepted, counts, strict=True):
            if count:
                child.inc(count)

    @contextmanager
    def decoding(self) -> Iterator[None]:
        """Count the batch a body fails to become (re-raising the error)."""
        try:
            yield
        except BatchTooLarge:
            self._rejected["too_large"].inc()
            raise
        except InvalidInput as exc:
            self._rejected["invalid"].inc()
            for problem in exc.problems:
                field = (problem.field or "body").split(".", 1)[0]
                self.problems.labels(field if field in PROBLEM_FIELDS else "other").inc()
            raise

    @contextmanager
    def appending(self, batch: EventBatch) -> Iterator[None]:
        """Count ``batch`` as accepted once durable (also when waiting for it to be
        applied times out), or as rejected by the log."""
        try:
            yield
        except TimeoutError:
            self.accepted(batch)
            raise
        except BackendUnavailable:
            self._rejected["log_unavailable"].inc()
            raise
        except StreamrecError:
            self._rejected["log_error"].inc()
            raise
        self.accepted(batch)


class ListMetrics:
    """Lists served, and how many of them a fallback built (degraded answers)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        served = Counter(
            "streamrec_lists_served",
            "Lists served, by list and whether a fallback built them",
            ["list", "fallback"],
            registry=registry,
        )
        self._served = {
            (name, fallback): served.labels(name, str(fallback).lower())
            for name in LISTS
            for fallback in (False, True)
        }

    def served(self, name: str, rec: Recommendation) -> Recommendation:
        """Count a list about to be served; return it."""
        self._served[name, rec.fallback].inc()
        return rec


class ApiMetrics:
    """The metrics of one app (its own registry, so apps in one process don't clash).

    Parameters
    ----------
    engine
        The app's engine, ``None`` before start-up; read at each scrape.
    """

    def __init__(self, engine: Callable[[], Engine[Any] | None]) -> None:
        self.registry = CollectorRegistry()
        self.requests = RequestMetrics(self.registry)
        self.events = EventMetrics(self.registry)
        self.lists = ListMetrics(self.registry)
        self.registry.register(BuildInfo("serve"))
        self.registry.register(EngineMetrics(engine))

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return _generate_latest(self.registry)


class RequestTimer:
    """Pure ASGI middleware observing each request's latency, status and error code."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts: an exception escaped every handler

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        except Exception:
            scope.setdefault(ERROR_CODE, "internal")
            raise
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            seconds = time.perf_counter() - started
            self.metrics.observe(route, scope["method"], status, seconds, scope.get(ERROR_CODE))
