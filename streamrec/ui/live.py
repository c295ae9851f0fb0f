"""The overview's live figures, read from the app's own Prometheus registry.

Every poll of the overview takes a :class:`Sample` of the same metrics Prometheus
scrapes (events applied, API requests and their latency histogram, freshness, lag,
model age), and :class:`LiveWindow` turns the samples of the last minute into rates
and latency quantiles over that window, the way ``rate()`` and
``histogram_quantile()`` do in Prometheus. The dashboard therefore shows exactly what
``/metrics`` says, with no second set of counters.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric

#: The API routes whose requests the overview counts (not the dashboard's own polls).
API_PREFIX = "/v1/"


@dataclass(frozen=True, slots=True)
class Buckets:
    """A cumulative histogram: upper bounds (ending with ``inf``) and counts."""

    bounds: tuple[float, ...] = ()
    counts: tuple[float, ...] = ()

    @property
    def total(self) -> float:
        """Observations counted."""
        return self.counts[-1] if self.counts else 0.0

    def minus(self, earlier: Buckets) -> Buckets:
        """The observations made since ``earlier`` (same bounds, or none before)."""
        if not earlier.counts:
            return self
        if earlier.bounds != self.bounds:
            return Buckets()
        return Buckets(
            self.bounds, tuple(a - b for a, b in zip(self.counts, earlier.counts, strict=True))
        )

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile, interpolated linearly inside its bucket as Prometheus's
        ``histogram_quantile`` does (``None`` without observations; the largest finite
        bound when it falls in the ``+Inf`` bucket)."""
        total = self.total
        if total <= 0:
            return None
        rank = q * total
        lower, below = 0.0, 0.0
        for bound, count in zip(self.bounds, self.counts, strict=True):
            if count >= rank:
                if math.isinf(bound):
                    return lower
                in_bucket = count - below
                return lower + (bound - lower) * ((rank - below) / in_bucket if in_bucket else 1.0)
            lower, below = bound, count
        return lower


@dataclass(frozen=True, slots=True)
class Sample:
    """The metrics the overview follows, at one moment (``at``: monotonic seconds)."""

    at: float
    applied: float | None = None
    accepted: float = 0.0
    lag: float | None = None
    model_age_s: float | None = None
    latency: Buckets = field(default_factory=Buckets)
    freshness: Buckets = field(default_factory=Buckets)

    @classmethod
    def of(cls, registry: CollectorRegistry, at: float | None = None) -> Sample:
        """Read ``registry`` now."""
        return cls.from_metrics(registry.collect(), time.monotonic() if at is None else at)

    @classmethod
    def from_metrics(cls, metrics: Iterable[Metric], at: float) -> Sample:
        """A sample of collected metric families."""
        values: dict[str, float] = {}
        latency: dict[float, float] = {}
        freshness: dict[float, float] = {}
        accepted = 0.0
        for metric in metrics:
            for s in metric.samples:
                if s.name == "streamrec_events_accepted_total":
                    accepted += s.value
                elif s.name == "streamrec_http_request_duration_seconds_bucket":
                    if s.labels.get("route", "").startswith(API_PREFIX):
                        le = float(s.labels["le"])
                        latency[le] = latency.get(le, 0.0) + s.value
                elif s.name == "streamrec_freshness_seconds_bucket":
                    freshness[float(s.labels["le"])] = s.value
                elif s.name in _GAUGES:
                    values[s.name] = s.value
        return cls(
            at=at,
            applied=values.get("streamrec_events_applied_total"),
            accepted=accepted,
            lag=values.get("streamrec_processing_lag_events"),
            model_age_s=values.get("streamrec_model_age_seconds"),
            latency=_buckets(latency),
            freshness=_buckets(freshness),
        )


_GAUGES = frozenset(
    {
        "streamrec_events_applied_total",
        "streamrec_processing_lag_events",
        "streamrec_model_age_seconds",
    }
)


def _buckets(counts: Mapping[float, float]) -> Buckets:
    bounds = tuple(sorted(counts))
    return Buckets(bounds, tuple(counts[b] for b in bounds))


@dataclass(frozen=True, slots=True)
class Figures:
    """What the overview shows: the latest sample's values and the window's rates.

    Rates and quantiles are ``None`` until two samples span some time (or while the
    window saw no requests or appends).
    """

    sample: Sample
    window_s: float | None
    events_per_s: float | None
    requests_per_s: float | None
    latency_s: dict[str, float | None]
    freshness_s: dict[str, float | None]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready figures (what the overview's charts plot)."""
        s = self.sample
        return {
            "events_applied": s.applied,
            "events_accepted": s.accepted,
            "lag": s.lag,
            "model_age_s": s.model_age_s,
            "window_s": self.window_s,
            "events_per_s": self.events_per_s,
            "requests_per_s": self.requests_per_s,
            "latency_s": self.latency_s,
            "freshness_s": self.freshness_s,
        }


QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


class LiveWindow:
    """Samples of the last ``window_s`` seconds, and the figures they give.

    Parameters
    ----------
    window_s
        How far back rates and quantiles look.
    min_spacing_s
        Samples closer than this to the newest kept one replace it rather than add
        to the window (many open dashboards do not grow it).
    """

    def __init__(self, window_s: float = 60.0, min_spacing_s: float = 1.0) -> None:
        self.window_s = window_s
        self.min_spacing_s = min_spacing_s
        self._samples: deque[Sample] = deque()
        self._lock = threading.Lock()

    def observe(self, sample: Sample) -> Figures:
        """Add ``sample`` and compute the figures from the oldest sample in the window."""
        with self._lock:
            samples = self._samples
            if len(samples) > 1 and sample.at - samples[-2].at < self.min_spacing_s:
                samples[-1] = sample
            else:
                samples.append(sample)
            while len(samples) > 2 and sample.at - samples[1].at >= self.window_s:
                samples.popleft()
            first = samples[0]
        return figures(first, sample)


def figures(first: Sample, last: Sample) -> Figures:
    """The figures of the span from ``first`` to ``last``."""
    span = last.at - first.at
    if span <= 0:
        quiet = dict.fromkeys(QUANTILES)
        return Figures(last, None, None, None, quiet, dict(quiet))
    latency = last.latency.minus(first.latency)
    freshness = last.freshness.minus(first.freshness)
    events = (
        (last.applied - first.applied) / span
        if last.applied is not None and first.applied is not None
        else (last.accepted - first.accepted) / span
    )
    return Figures(
        last,
        span,
        events,
        (latency.total) / span,
        {name: latency.quantile(q) for name, q in QUANTILES.items()},
        {name: freshness.quantile(q) for name, q in QUANTILES.items()},
    )
