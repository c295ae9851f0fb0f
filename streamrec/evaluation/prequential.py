"""Prequential (test-then-learn) replay: the real-time value of streaming updates.

As DESIGN.md section 5 specifies: events in global time order; the first half (by
event count) warms the algorithm up; each later positive event of a user seen during
warm-up is a query candidate, and an even sample of them (every n-th) is asked: the
user's top ``k`` *before* the event is applied, a hit when the event's item is in it.
Three modes share the same queries:

- ``streaming``: every event before a query is learned first (in one batch: all
  events since the previous query);
- ``frozen``: the state as at the end of warm-up answers every query;
- ``periodic``: the algorithm is refitted from scratch on all events so far every
  ``retrain_every`` events, and answers the queries in between from that fit.

A query excludes the items the answering state has seen the user interact with
(``exclude_seen``), so the frozen state excludes only warm-up items.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from streamrec.evaluation.algorithms import Algorithm
from streamrec.evaluation.splits import positive_mask, relevance_threshold
from streamrec.events import EventBatch

MODES = ("streaming", "frozen", "periodic")


@dataclass(frozen=True)
class PrequentialPlan:
    """The time-ordered events, the warm-up length and the sampled queries.

    Attributes
    ----------
    events
        Every event, in time order.
    n_warm
        Events ``[0, n_warm)`` are the warm-up.
    queries
        Sorted indices of the queried events.
    candidates
        How many events qualified before sampling.
    threshold
        The positive-rating threshold.
    retrain_every
        Events between refits in ``periodic`` mode.
    """

    events: EventBatch
    n_warm: int
    queries: np.ndarray
    candidates: int
    threshold: float
    retrain_every: int


def plan_prequential(
    events: EventBatch,
    *,
    sample_size: int | None = 2000,
    threshold: float | None = None,
    retrain_every: int | None = None,
) -> PrequentialPlan:
    """Order ``events`` by time and choose the queries.

    Parameters
    ----------
    sample_size
        How many queries at most; candidates ``floor(j * n / sample_size)`` for
        ``j = 0..sample_size-1`` are taken (evenly spaced). ``None`` asks them all.
    threshold
        Positive-rating threshold (default 4, or 3.5 with half stars).
    retrain_every
        Events between refits in ``periodic`` mode (default: a tenth of the events).
    """
    order = np.argsort(events.timestamp, kind="stable")
    ordered = events.take(order)
    n_warm = len(ordered) // 2
    threshold = relevance_threshold(ordered) if threshold is None else threshold
    warm_users = set(ordered.user_id[:n_warm])
    positive = positive_mask(ordered, threshold)
    known = np.fromiter((u in warm_users for u in ordered.user_id), bool, len(ordered))
    candidates = np.flatnonzero(positive & known & (np.arange(len(ordered)) >= n_warm))
    n = len(candidates)
    if sample_size is not None and n > sample_size:
        candidates = candidates[np.arange(sample_size) * n // sample_size]
    every = max(1, len(ordered) // 10) if retrain_every is None else retrain_every
    if every < 1:
        raise ValueError(f"retrain_every must be positive, got {every}")
    return PrequentialPlan(ordered, n_warm, candidates, n, threshold, every)


@dataclass(frozen=True)
class PrequentialResult:
    """One algorithm in one mode.

    Attributes
    ----------
    ranks
        Per query, the 1-based rank of the event's item in the list, 0 when missed.
    positions
        Per query, the index of the queried event in time order.
    seconds
        Wall time of the whole replay (fitting, learning and recommending).
    """

    algorithm: str
    mode: str
    k: int
    ranks: np.ndarray
    positions: np.ndarray
    seconds: float

    @property
    def hit_rate(self) -> float:
        """Share of queries whose item was in the top ``k``."""
        return float(np.mean(self.ranks > 0)) if len(self.ranks) else 0.0

    @property
    def mrr(self) -> float:
        """Mean reciprocal rank of the queried items (0 for a miss)."""
        reciprocal = np.divide(1.0, self.ranks, out=np.zeros(len(self.ranks)), where=self.ranks > 0)
        return float(reciprocal.mean()) if len(self.ranks) else 0.0


class _Seen:
    """The items of the queried users, as of a position in the event order."""

    def __init__(self, events: EventBatch, users: set[str], enabled: bool) -> None:
        self.events = events
        self.items: dict[str, set[str]] = {u: set() for u in users}
        self.enabled = enabled
        self.position = 0

    def advance(self, stop: int) -> None:
        if self.enabled:
            users, items = self.events.user_id, self.events.item_id
            for i in range(self.position, stop):
                seen = self.items.get(users[i])
                if seen is not None:
                    seen.add(items[i])
        self.position = max(self.position, stop)

    def of(self, user: str) -> set[str]:
        return set(self.items[user])


def _segments(plan: PrequentialPlan, mode: str) -> list[tuple[int, np.ndarray]]:
    """Groups of query slots answered from the state as of one event position."""
    queries = plan.queries
    if mode == "frozen":
        return [(plan.n_warm, np.arange(len(queries)))]
    if mode == "streaming":
        return [(int(q), np.array([j])) for j, q in enumerate(queries.tolist())]
    if mode == "periodic":
        cut = plan.n_warm + (queries - plan.n_warm) // plan.retrain_every * plan.retrain_every
        starts, first = np.unique(cut, return_index=True)
        bounds = [*first.tolist(), len(queries)]
        return [
            (int(s), np.arange(bounds[j], bounds[j + 1])) for j, s in enumerate(starts.tolist())
        ]
    raise ValueError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")


def run_prequential(
    plan: PrequentialPlan,
    algorithm: Algorithm,
    mode: str,
    *,
    k: int = 10,
    exclude_seen: bool = True,
    on_progress: Callable[[int], None] | None = None,
) -> PrequentialResult:
    """Replay ``plan`` through ``algorithm`` in ``mode`` and record each query's rank.

    Parameters
    ----------
    on_progress
        Called with the number of queries just answered.
    """
    events, queries = plan.events, plan.queries
    query_users = [events.user_id[q] for q in queries.tolist()]
    query_items = [events.item_id[q] for q in queries.tolist()]
    seen = _Seen(events, set(query_users), exclude_seen)
    ranks = np.zeros(len(queries), dtype=np.int64)
    started = time.perf_counter()
    algorithm.fit(events.take(slice(0, plan.n_warm)))
    learned = plan.n_warm
    for position, slots in _segments(plan, mode):
        if position > learned:
            if mode == "periodic":
                algorithm.fit(events.take(slice(0, position)))
            else:
                algorithm.learn(events.take(slice(learned, position)))
            learned = position
        seen.advance(position)
        users = [query_users[j] for j in slots.tolist()]
        lists = algorithm.recommend(users, k, [seen.of(u) for u in users])
        for j, items in zip(slots.tolist(), lists, strict=True):
            target = query_items[j]
            ranks[j] = items.index(target) + 1 if target in items[:k] else 0
        if on_progress is not None:
            on_progress(len(slots))
    seconds = time.perf_counter() - started
    return PrequentialResult(algorithm.name, mode, k, ranks, queries.copy(), seconds)
