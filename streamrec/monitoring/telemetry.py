"""What an engine carries for its operators: its processor's metrics, drift, caches.

:mod:`streamrec.bootstrap` fills an :class:`EngineTelemetry` for each engine it
wires (it knows the concrete state and processor); the engine hands appends to the
freshness clock and drift to its status, and the API's metrics read the rest at
scrape time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from streamrec.monitoring.consumers import ConsumerMetrics
from streamrec.processing.drift_monitor import DriftMonitor
from streamrec.state.cache_counts import CacheCounts


@dataclass(frozen=True, slots=True)
class EngineTelemetry:
    """An engine's sources of metrics (each one absent where the topology has none).

    Attributes
    ----------
    processor
        The metrics of the processor applying the log to this engine's state (the
        embedded processor thread; scale-out workers serve their own).
    drift
        Drift of the applied events (embedded) and of the served scores.
    caches
        The read caches' counters, by cache name.
    """

    processor: ConsumerMetrics | None = None
    drift: DriftMonitor | None = None
    caches: Mapping[str, CacheCounts] = field(default_factory=dict)
