"""Drift gauges: PSI, KL and each window's shares per feature, read at scrape time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily, Metric

from streamrec.processing.drift_monitor import FeatureDrift


def drift_metrics(drift: Sequence[FeatureDrift]) -> Iterator[Metric]:
    """``streamrec_drift_psi``, ``streamrec_drift_kl`` and ``streamrec_drift_share`` of
    every feature with events in both windows."""
    psi = GaugeMetricFamily(
        "streamrec_drift_psi",
        "Population stability index of a feature, live window against the reference",
        labels=["feature"],
    )
    kl = GaugeMetricFamily(
        "streamrec_drift_kl",
        "KL divergence (nats) of a feature's live window from its reference",
        labels=["feature"],
    )
    share = GaugeMetricFamily(
        "streamrec_drift_share",
        "Share of a feature's bin in the live or the reference window",
        labels=["feature", "bin", "window"],
    )
    for found in drift:
        if found.psi is not None:
            psi.add_metric([found.feature], found.psi)
        if found.kl is not None:
            kl.add_metric([found.feature], found.kl)
        for window, counts in (("live", found.live), ("reference", found.reference)):
            total = int(counts.sum())
            for name, count in zip(found.bins, counts.tolist(), strict=True):
                share.add_metric([found.feature, name, window], count / total if total else 0.0)
    yield psi
    yield kl
    yield share
