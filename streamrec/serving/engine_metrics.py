"""What the engine knows, read at each scrape: progress, model, caches, retraining, drift,
and the running experiments' counters and guardrails per variant.

Nothing here runs on the request path: :class:`EngineMetrics` asks the engine's
facade and telemetry when Prometheus scrapes ``/metrics``. A backend that does not
answer leaves its samples out of that scrape instead of failing it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from streamrec.engine import Engine
from streamrec.errors import BackendUnavailable
from streamrec.models.schedule import RetrainStatus
from streamrec.monitoring.drift import drift_metrics


class EngineMetrics(Collector):
    """The engine's state as metrics (nothing before the app has opened its engine)."""

    def __init__(self, engine: Callable[[], Engine[Any] | None]) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        """Every metric of the engine, as it is now."""
        engine = self.engine()
        if engine is None:
            return
        yield from _progress(engine)
        yield from _model(engine.model_version, engine.model_manifest)
        yield from _caches(engine)
        if engine.retrain is not None:
            yield from _retrain(engine.retrain.status())
        telemetry = engine.telemetry
        if telemetry.processor is not None:
            yield from telemetry.processor.collect()
        if telemetry.drift is not None:
            yield from drift_metrics(telemetry.drift.drift())
        yield from _experiments(engine)


#: The counters of a variant's report, exported as Prometheus counters.
_VARIANT_COUNTERS = {
    "lists": "Lists served",
    "impressions": "Items shown (impression events attributed to a served list)",
    "clicks": "Clicks attributed to a served list",
    "conversions": "Purchases attributed to a served list",
    "revenue": "Revenue (purchase values) attributed to a served list",
}


def _experiments(engine: Engine[Any]) -> Iterator[Metric]:
    """Per running experiment and variant: the report's counters, CTR and guardrails."""
    labels = ["experiment", "variant"]
    counters = {
        name: CounterMetricFamily(f"streamrec_experiment_{name}", text, labels=labels)
        for name, text in _VARIANT_COUNTERS.items()
    }
    ctr = GaugeMetricFamily(
        "streamrec_experiment_ctr", "Clicks per impression of a variant", labels=labels
    )
    guardrails = GaugeMetricFamily(
        "streamrec_experiment_guardrail",
        "A variant's live guardrails (p99 latency ms, coverage, diversity, Gini, novelty)",
        labels=[*labels, "guardrail"],
    )
    for experiment in engine.experiments.all():
        if experiment.status != "running":
            continue
        try:
            report = engine.experiment_report(experiment.experiment_id)
        except BackendUnavailable:
            continue
        for variant in report["variants"]:
            values = [experiment.experiment_id, variant["name"]]
            for name, family in counters.items():
                family.add_metric(values, float(variant.get(name, 0)))
            ctr.add_metric(values, float(variant.get("ctr", 0.0)))
            for guardrail, value in (variant.get("guardrails") or {}).items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    guardrails.add_metric([*values, guardrail], float(value))
    yield from counters.values()
    yield ctr
    yield guardrails


def _progress(engine: Engine[Any]) -> Iterator[Metric]:
    try:
        applied, lag = engine.applied_events(), engine.lag()
    except BackendUnavailable:
        return
    yield CounterMetricFamily(
        "streamrec_events_applied",
        "Log events the online state has applied (its summed log positions)",
        value=applied,
    )
    if lag >= 0:
        yield GaugeMetricFamily(
            "streamrec_processing_lag_events",
            "Events durable in the log but not yet applied to the online state",
            value=lag,
        )


def _model(version: str | None, manifest: Mapping[str, Any] | None) -> Iterator[Metric]:
    if version is None:
        return
    info = GaugeMetricFamily("streamrec_model_info", "The model version in use", labels=["version"])
    info.add_metric([version], 1)
    yield info
    created = (manifest or {}).get("created_at")
    if isinstance(created, str):
        published = datetime.fromisoformat(created).timestamp()
        yield GaugeMetricFamily(
            "streamrec_model_age_seconds",
            "Seconds since the model version in use was published",
            value=max(0.0, time.time() - published),
        )


def _caches(engine: Engine[Any]) -> Iterator[Metric]:
    lookups = CounterMetricFamily(
        "streamrec_cache_requests",
        "Lookups of a read cache, answered from it (hit) or not (miss)",
        labels=["cache", "result"],
    )
    for name, counts in sorted(engine.telemetry.caches.items()):
        lookups.add_metric([name, "hit"], counts.hits)
        lookups.add_metric([name, "miss"], counts.misses)
    yield lookups


def _retrain(status: RetrainStatus) -> Iterator[Metric]:
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
