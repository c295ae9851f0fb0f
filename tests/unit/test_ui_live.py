"""The overview's live figures: histogram quantiles as Prometheus computes them, rates
over the sampling window, and samples read from a real registry."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram

from streamrec.ui.live import Buckets, LiveWindow, Sample, figures

INF = math.inf
LATENCY = Buckets((0.1, 0.2, 0.5, INF), (10.0, 30.0, 40.0, 40.0))


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (0.5, 0.1 + 0.1 * (20 - 10) / 20),  # rank 20 falls in (0.1, 0.2]
        (0.99, 0.2 + 0.3 * (39.6 - 30) / 10),  # rank 39.6 falls in (0.2, 0.5]
        (0.1, 0.1 * 4 / 10),  # rank 4 in the first bucket, from 0
    ],
)
def test_quantiles_interpolate_inside_their_bucket_like_histogram_quantile(
    q: float, expected: float
) -> None:
    assert LATENCY.quantile(q) == pytest.approx(expected, abs=1e-12)


def test_a_quantile_in_the_inf_bucket_is_the_largest_finite_bound() -> None:
    assert Buckets((0.1, 0.5, INF), (0.0, 0.0, 5.0)).quantile(0.5) == 0.5


def test_no_observations_have_no_quantile() -> None:
    assert Buckets().quantile(0.5) is None
    assert Buckets((0.1, INF), (0.0, 0.0)).quantile(0.99) is None


def test_the_window_counts_only_what_happened_inside_it() -> None:
    earlier = Buckets((0.1, 0.2, 0.5, INF), (10.0, 10.0, 10.0, 10.0))
    since = LATENCY.minus(earlier)
    assert since.counts == (0.0, 20.0, 30.0, 30.0)
    assert since.quantile(0.5) == pytest.approx(0.1 + 0.1 * 15 / 20)


def test_rates_are_the_counters_growth_over_the_span() -> None:
    first = Sample(at=100.0, applied=1_000.0, latency=Buckets((0.1, INF), (5.0, 5.0)))
    last = Sample(at=110.0, applied=1_300.0, latency=Buckets((0.1, INF), (45.0, 55.0)))
    found = figures(first, last)
    assert found.window_s == 10.0
    assert found.events_per_s == pytest.approx(30.0)
    assert found.requests_per_s == pytest.approx(5.0)
    assert found.latency_s["p50"] == pytest.approx(0.1 * 25 / 40)
    assert found.latency_s["p99"] == 0.1  # in the +Inf bucket
    assert found.freshness_s == {"p50": None, "p95": None, "p99": None}


def test_one_sample_gives_values_but_no_rates() -> None:
    found = LiveWindow().observe(Sample(at=5.0, applied=7.0, lag=2.0))
    assert (found.sample.applied, found.sample.lag) == (7.0, 2.0)
    assert found.events_per_s is None and found.requests_per_s is None


def test_the_window_starts_at_the_newest_sample_older_than_it() -> None:
    window = LiveWindow(window_s=60.0, min_spacing_s=1.0)
    for at, applied in ((0.0, 0.0), (30.0, 300.0), (30.5, 305.0), (90.0, 900.0)):
        found = window.observe(Sample(at=at, applied=applied))
    assert found.window_s == pytest.approx(60.0)  # from the sample at 30 s
    assert found.events_per_s == pytest.approx((900.0 - 300.0) / 60.0)


def test_frequent_polls_keep_the_window_bounded() -> None:
    window = LiveWindow(window_s=60.0, min_spacing_s=1.0)
    for step in range(1_000):  # ten polls a second for 100 s
        found = window.observe(Sample(at=step / 10, applied=float(step)))
    assert len(window._samples) <= 2 * 60 + 3
    assert found.window_s is not None and 60.0 <= found.window_s <= 61.0
    assert found.events_per_s == pytest.approx(10.0)


def test_a_sample_reads_the_api_routes_of_a_real_registry() -> None:
    registry = CollectorRegistry()
    duration = Histogram(
        "streamrec_http_request_duration_seconds",
        "latency",
        ["route", "method", "status"],
        buckets=(0.01, 0.1),
        registry=registry,
    )
    accepted = Counter("streamrec_events_accepted", "events", ["type"], registry=registry)
    for seconds in (0.005, 0.05, 0.05):
        duration.labels("/v1/items/popular", "GET", "200").observe(seconds)
    duration.labels("/ui/fragments/overview", "GET", "200").observe(0.005)  # not the API
    duration.labels("/v1/events", "POST", "202").observe(0.5)
    accepted.labels("view").inc(8)
    accepted.labels("purchase").inc(2)
    sample = Sample.of(registry, at=1.0)
    assert sample.latency.bounds == (0.01, 0.1, INF)
    assert sample.latency.counts == (1.0, 3.0, 4.0)
    assert sample.accepted == 10.0
    assert sample.applied is None and sample.lag is None
