"""Live guardrails per variant, over the variant's most recent served lists.

Each serving process keeps the last ``experiments.guardrail_window_lists`` lists
of every variant it served and computes, when a report asks:

- ``p99_latency_ms``: the 99th percentile of the time to build a list;
- ``coverage``: distinct items shown / items the state knows;
- ``intra_list_diversity``: the mean share of item pairs in a list whose primary
  categories differ (items without one form a category of their own);
- ``exposure_gini``: the Gini coefficient of how often each shown item was shown
  (0: every item equally, towards 1: a few items take all slots);
- ``novelty``: the mean self-information ``-log2((n_i + 1) / (N + 1))`` of the
  shown items, where ``n_i`` counts the item's events and ``N`` all events.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from streamrec.experiments.served import ServedList

#: The primary category of items (``None`` where unknown).
CategoryLookup = Callable[[Sequence[str]], list[str | None]]
#: The number of events of items.
EventCounts = Callable[[Sequence[str]], list[int]]


class GuardrailWindow:
    """The recent served lists of every (experiment, variant)."""

    def __init__(self, window: int) -> None:
        self.window = window
        self._lists: dict[tuple[str | None, str], deque[ServedList]] = {}
        self._lock = threading.Lock()

    def observe(self, served: ServedList) -> None:
        """Keep ``served`` in its variant's window."""
        key = (served.experiment, served.variant)
        with self._lock:
            lists = self._lists.get(key)
            if lists is None:
                lists = self._lists[key] = deque(maxlen=self.window)
            lists.append(served)

    def lists(self, experiment: str | None, variant: str) -> list[ServedList]:
        """The variant's window, oldest first."""
        with self._lock:
            return list(self._lists.get((experiment, variant), ()))


def gini(counts: Sequence[int]) -> float:
    """The Gini coefficient of non-negative counts (0 for fewer than two)."""
    values = np.sort(np.asarray(counts, dtype=np.float64))
    n, total = len(values), float(values.sum())
    if n < 2 or total == 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float(2 * (ranks * values).sum() / (n * total) - (n + 1) / n)


def _diversity(items: Sequence[str], category: dict[str, str | None]) -> float | None:
    if len(items) < 2:
        return None
    labels = [category.get(i) or f"\x00{i}" for i in items]
    counts = Counter(labels)
    pairs = len(labels) * (len(labels) - 1) / 2
    same = sum(c * (c - 1) / 2 for c in counts.values())
    return 1.0 - same / pairs


def guardrails(
    lists: Sequence[ServedList],
    catalog_size: int,
    categories: CategoryLookup,
    event_counts: EventCounts,
    total_events: int,
) -> dict[str, Any]:
    """The guardrail figures of ``lists`` (``None`` where there is nothing to measure)."""
    if not lists:
        return {
            "lists": 0,
            "p99_latency_ms": None,
            "coverage": None,
            "intra_list_diversity": None,
            "exposure_gini": None,
            "novelty": None,
        }
    exposure = Counter(item for served in lists for item in served.items)
    shown = sorted(exposure)
    category = dict(zip(shown, categories(shown), strict=True))
    counts = dict(zip(shown, event_counts(shown), strict=True))
    diversities = [d for s in lists if (d := _diversity(s.items, category)) is not None]
    slots = sum(exposure.values())
    novelty = (
        sum(
            exposure[i] * -np.log2((counts[i] + 1) / (max(total_events, counts[i]) + 1))
            for i in shown
        )
        / slots
        if slots
        else None
    )
    return {
        "lists": len(lists),
        "p99_latency_ms": float(np.percentile([s.latency_ms for s in lists], 99)),
        "coverage": len(shown) / catalog_size if catalog_size else None,
        "intra_list_diversity": float(np.mean(diversities)) if diversities else None,
        "exposure_gini": gini(list(exposure.values())),
        "novelty": float(novelty) if novelty is not None else None,
    }
