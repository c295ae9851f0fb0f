"""Metrics of a consumer of the event log: the state's processor, the archive, ...

:class:`ConsumerMetrics` is a :class:`~streamrec.processing.runner.BatchObserver`
(batch sizes, write latency, events, failures) and a collector of the consumer's lag
per partition, read at scrape time. Every sample is labelled with the consumer
group, so one dashboard shows every role. :func:`serve_consumer_metrics` is the one
call a role without the HTTP API makes to expose them on its own port.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from streamrec.config import MetricsSettings
from streamrec.errors import StreamrecError
from streamrec.events import EventBatch
from streamrec.monitoring.build import BuildInfo
from streamrec.monitoring.server import MetricsEndpoint, start_metrics_endpoint
from streamrec.processing.freshness import AcceptanceClock

#: Per partition, events of the log the consumer has not applied yet.
LagSource = Callable[[], Mapping[int, int]]

BATCH_BUCKETS = (1, 10, 100, 1_000, 5_000, 20_000, 100_000)
WRITE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
FRESHNESS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ConsumerMetrics(Collector):
    """Batches, write latency, failures and lag of one consumer group.

    Parameters
    ----------
    group
        The consumer group (the label of every sample).
    lag
        Per partition, the events not applied yet; read at each scrape.
    freshness
        Also keep ``streamrec_freshness_seconds``, fed by :attr:`acceptance` (only
        where the acknowledging API runs in the same process).
    """

    def __init__(self, group: str, lag: LagSource, *, freshness: bool = False) -> None:
        self.group = group
        self.lag = lag
        self._batch = Histogram(
            "streamrec_consumer_batch_events",
            "Events per batch written by a log consumer",
            ["group"],
            buckets=BATCH_BUCKETS,
            registry=None,
        )
        self._write = Histogram(
            "streamrec_consumer_write_seconds",
            "Seconds a log consumer took to write (apply) one batch to its sink",
            ["group"],
            buckets=WRITE_BUCKETS,
            registry=None,
        )
        self._events = Counter(
            "streamrec_consumer_events",
            "Events written by a log consumer",
            ["group"],
            registry=None,
        )
        self._failures = Counter(
            "streamrec_consumer_failures",
            "Failed steps of a log consumer (the batch is read again)",
            ["group"],
            registry=None,
        )
        self._freshness = Histogram(
            "streamrec_freshness_seconds",
            "Seconds from an append's acknowledgment to the online state reflecting it",
            buckets=FRESHNESS_BUCKETS,
            registry=None,
        )
        self._children = (
            self._batch.labels(group),
            self._write.labels(group),
            self._events.labels(group),
            self._failures.labels(group),
        )
        self.acceptance = AcceptanceClock(self._freshness.observe) if freshness else None
        #: Where :func:`serve_consumer_metrics` serves them (``None``: nowhere).
        self.endpoint: MetricsEndpoint | None = None

    def applied(self, batch: EventBatch, seconds: float) -> None:
        """Observe one written batch (and the appends it made visible)."""
        sizes, writes, events, _ = self._children
        sizes.observe(len(batch))
        writes.observe(seconds)
        events.inc(len(batch))
        if self.acceptance is not None:
            self.acceptance.applied(batch)

    def failed(self) -> None:
        """Count a failed step."""
        self._children[3].inc()

    def collect(self) -> Iterator[Metric]:
        """The histograms and counters, and the lag per partition now."""
        yield from self._batch.collect()
        yield from self._write.collect()
        yield from self._events.collect()
        yield from self._failures.collect()
        if self.acceptance is not None:
            yield from self._freshness.collect()
        lag = GaugeMetricFamily(
            "streamrec_consumer_lag_events",
            "Events of a log partition the consumer group has not applied yet",
            labels=["group", "partition"],
        )
        try:
            behind = self.lag()
        except StreamrecError:  # the log or the state is down: no sample, not a failed scrape
            behind = {}
        for partition, events in sorted(behind.items()):
            lag.add_metric([self.group, str(partition)], events)
        yield lag


@contextmanager
def serve_consumer_metrics(
    role: str,
    group: str,
    settings: MetricsSettings,
    lag: LagSource,
    collectors: Sequence[Collector] = (),
) -> Iterator[ConsumerMetrics]:
    """A consumer's metrics, served on ``settings.port`` (when set) until the block ends.

    This is the one call a log-consuming role makes to be scraped: hand the yielded
    :class:`ConsumerMetrics` to the loop as its batch observer. For example the
    state's scale-out worker (``streamrec process --metrics-port 9400``)::

        worker = Worker(event_log, state, settings.processor, group)
        with serve_consumer_metrics("process", group, settings.metrics,
                                    worker.lag_by_partition) as metrics:
            worker.observers.append(metrics)
            worker.run(stop)

    and a history archiver the same way, calling ``metrics.applied(batch, seconds)``
    after each batch it wrote (``seconds``: the write) and ``metrics.failed()`` after
    each failed step.

    Parameters
    ----------
    role
        The command (``process``, ``archive``), for ``streamrec_build_info``.
    group
        The consumer group.
    settings
        Where to listen (no endpoint while ``settings.port`` is ``None``).
    lag
        Per partition, the events the consumer has not applied yet (called at each
        scrape, from the endpoint's thread).
    collectors
        More collectors for the same endpoint.
    """
    metrics = ConsumerMetrics(group, lag)
    registry = CollectorRegistry()
    for collector in (BuildInfo(role), metrics, *collectors):
        registry.register(collector)
    if settings.port is not None:
        metrics.endpoint = start_metrics_endpoint(registry, settings.port, settings.host)
    try:
        yield metrics
    finally:
        if metrics.endpoint is not None:
            metrics.endpoint.close()
            metrics.endpoint = None
