"""The metrics endpoint of roles without the API, and a consumer's metrics."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from streamrec.config import MetricsSettings
from streamrec.errors import BackendUnavailable, ConfigError
from streamrec.events import EventBatch
from streamrec.monitoring.consumers import ConsumerMetrics, serve_consumer_metrics
from streamrec.monitoring.server import start_metrics_endpoint
from streamrec.processing.runner import notify


def _batch(n: int) -> EventBatch:
    batch = EventBatch.from_columns(
        {"user_id": ["u"] * n, "item_id": ["i"] * n, "type": [0] * n, "value": [None] * n,
         "timestamp": [0] * n}
    )  # fmt: skip
    return batch.with_positions(np.arange(n))


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_role_serves_its_consumer_metrics_until_the_block_ends() -> None:
    lag = {0: 7, 1: 0}
    with serve_consumer_metrics("archive", "history", MetricsSettings(port=0), lambda: lag) as m:
        m.applied(_batch(40), 0.003)
        m.applied(_batch(10), 0.02)
        m.failed()
        assert m.endpoint is not None
        url = f"http://127.0.0.1:{m.endpoint.port}/metrics"
        samples = _samples(httpx.get(url, timeout=10).text)
    group = frozenset({("group", "history")})
    assert samples["streamrec_consumer_events_total", group] == 50
    assert samples["streamrec_consumer_batch_events_count", group] == 2
    assert samples["streamrec_consumer_batch_events_bucket", group | {("le", "10.0")}] == 1
    assert samples["streamrec_consumer_write_seconds_bucket", group | {("le", "0.005")}] == 1
    assert samples["streamrec_consumer_failures_total", group] == 1
    partition = frozenset({("group", "history"), ("partition", "0")})
    assert samples["streamrec_consumer_lag_events", partition] == 7
    assert samples["streamrec_build_info", frozenset({("role", "archive"), ("version", "0.1.0")})]
    assert not any(name.startswith("streamrec_freshness") for name, _ in samples)
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)


def test_without_a_port_nothing_listens() -> None:
    with serve_consumer_metrics("process", "g", MetricsSettings(), lambda: {}) as metrics:
        assert metrics.endpoint is None


def test_a_lag_that_cannot_be_read_leaves_the_gauge_empty() -> None:
    def down() -> dict[int, int]:
        raise BackendUnavailable("log down")

    registry = CollectorRegistry()
    registry.register(ConsumerMetrics("g", down))
    endpoint = start_metrics_endpoint(registry, 0)
    try:
        text = httpx.get(f"http://127.0.0.1:{endpoint.port}/metrics", timeout=10).text
    finally:
        endpoint.close()
    assert "streamrec_consumer_lag_events{" not in text
    assert "streamrec_consumer_events_total" in text


def test_a_port_in_use_is_a_config_error() -> None:
    registry = CollectorRegistry()
    endpoint = start_metrics_endpoint(registry, 0)
    try:
        with pytest.raises(ConfigError, match="cannot serve metrics"):
            start_metrics_endpoint(registry, endpoint.port)
    finally:
        endpoint.close()


class Exploding:
    def applied(self, batch: EventBatch, seconds: float) -> None:
        raise RuntimeError("a broken observer")

    def failed(self) -> None:
        raise RuntimeError("a broken observer")


def test_a_failing_observer_never_fails_the_consumer() -> None:
    counted = ConsumerMetrics("g", dict)
    notify([Exploding(), counted], lambda observer: observer.applied(_batch(3), 0.1))
    notify([Exploding(), counted], lambda observer: observer.failed())
    samples = _samples(_exposition(counted))
    assert samples["streamrec_consumer_events_total", frozenset({("group", "g")})] == 3
    assert samples["streamrec_consumer_failures_total", frozenset({("group", "g")})] == 1


def _exposition(metrics: ConsumerMetrics) -> str:
    registry = CollectorRegistry()
    registry.register(metrics)
    return generate_latest(registry).decode()
