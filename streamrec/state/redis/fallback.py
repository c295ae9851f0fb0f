"""Serving through a Redis outage: answer from a cached popularity list, flagged.

:class:`FallbackState` wraps a :class:`~streamrec.state.redis.RedisState` for the
API. Rankings are served from a list at most ``refresh_s`` old (so trending, which
is computed on read, is off the request path). Reads that fail degrade instead of
raising: no profile (so the recommender treats the user as cold), no neighbours,
rankings from the last good list, every item available. After a failure
Redis is left alone for ``cooldown_s`` so that requests stay fast while it is down;
the next read after that tries again, which is how serving recovers. Writes still
raise: the processor must see failures.

A caller learns whether an answer was degraded with :func:`degradation_watch`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

import numpy as np

from streamrec.errors import BackendUnavailable
from streamrec.events import EventBatch
from streamrec.state.base import CatalogItem, ItemStats, Ranking, ScoredItems, UserProfile
from streamrec.state.cache_counts import CacheCounts
from streamrec.state.redis.state import RedisState

log = logging.getLogger(__name__)
T = TypeVar("T")

_DEGRADED: ContextVar[list[bool] | None] = ContextVar("streamrec_degraded", default=None)


@contextmanager
def degradation_watch() -> Iterator[Callable[[], bool]]:
    """Within the block, record whether any read fell back; yield a getter."""
    flag = [False]
    token = _DEGRADED.set(flag)
    try:
        yield lambda: flag[0]
    finally:
        _DEGRADED.reset(token)


class FallbackState:
    """An OnlineState and Catalog that degrades reads while Redis is unavailable.

    Parameters
    ----------
    state
        The Redis state to read through.
    refresh_s
        Age after which a cached ranking is re-read (while Redis answers).
    cooldown_s
        After a failure, serve fallbacks without trying Redis for this long.
    size
        Items kept per cached ranking.
    """

    def __init__(
        self,
        state: RedisState,
        refresh_s: float = 1.0,
        cooldown_s: float = 1.0,
        size: int = 200,
    ) -> None:
        self.state = state
        self.refresh_s = refresh_s
        self.cooldown_s = cooldown_s
        self.size = size
        self._rankings: dict[tuple[Ranking, str | None], tuple[float, ScoredItems]] = {}
        self._down_until = 0.0
        self._lock = threading.Lock()
        self.ranking_cache = CacheCounts()

    @property
    def degraded(self) -> bool:
        """Is Redis being skipped right now?"""
        return time.monotonic() < self._down_until

    def _read(self, read: Callable[[], T], fallback: Callable[[], T]) -> T:
        if not self.degraded:
            try:
                return read()
            except BackendUnavailable as exc:
                log.warning("Redis read failed, serving fallbacks: %s", exc)
                with self._lock:
                    self._down_until = time.monotonic() + self.cooldown_s
        flag = _DEGRADED.get()
        if flag is not None:
            flag[0] = True
        return fallback()

    # -- writes and positions go straight through ------------------------------

    def apply(self, batch: EventBatch) -> None:
        """Fold a batch in (raises while Redis is down)."""
        self.state.apply(batch)

    def positions(self) -> dict[int, int]:
        """Per partition, the offset after the last applied event."""
        return self.state.positions()

    def upsert(self, items: Sequence[CatalogItem]) -> None:
        """Insert or replace items (raises while Redis is down)."""
        self.state.upsert(items)

    def close(self) -> None:
        """Release the Redis connections."""
        self.state.close()

    # -- reads degrade -------------------------------------------------------

    def profile(self, user_id: str) -> UserProfile | None:
        """The profile, or ``None`` while Redis is down (the user looks cold)."""
        return self._read(lambda: self.state.profile(user_id), lambda: None)

    def neighbors(self, item_ids: Sequence[str], k: int) -> list[ScoredItems]:
        """Neighbours, or none while Redis is down."""
        return self._read(
            lambda: self.state.neighbors(item_ids, k),
            lambda: [ScoredItems([], np.empty(0)) for _ in item_ids],
        )

    def top_items(self, ranking: Ranking, k: int, category: str | None = None) -> ScoredItems:
        """The ranking, or its last good copy while Redis is down."""
        return self._read(
            lambda: self._fresh_top(ranking, k, category),
            lambda: self._cached_top(ranking, k, category),
        )

    def _fresh_top(self, ranking: Ranking, k: int, category: str | None) -> ScoredItems:
        key = (ranking, category)
        cached = self._rankings.get(key)
        if cached is not None and time.monotonic() - cached[0] <= self.refresh_s:
            found = cached[1]
            if k <= len(found) or len(found) < self.size:  # long enough, or complete
                self.ranking_cache.hits += 1
                return _head(found, k)
        self.ranking_cache.misses += 1
        found = self.state.top_items(ranking, max(k, self.size), category)
        self._rankings[key] = (time.monotonic(), found)
        return _head(found, k)

    def _cached_top(self, ranking: Ranking, k: int, category: str | None) -> ScoredItems:
        cached = self._rankings.get((ranking, category))
        return ScoredItems([], np.empty(0)) if cached is None else _head(cached[1], k)

    def item_stats(self, item_ids: Sequence[str]) -> list[ItemStats | None]:
        """Item statistics, or unknown while Redis is down."""
        return self._read(lambda: self.state.item_stats(item_ids), lambda: [None] * len(item_ids))

    def get(self, item_ids: Sequence[str]) -> list[CatalogItem | None]:
        """Catalog entries, or unknown while Redis is down."""
        return self._read(lambda: self.state.get(item_ids), lambda: [None] * len(item_ids))

    def available(self, item_ids: Sequence[str]) -> np.ndarray:
        """Availability, or everything while Redis is down."""
        return self._read(
            lambda: self.state.available(item_ids),
            lambda: np.ones(len(item_ids), dtype=np.bool_),
        )


def _head(found: ScoredItems, k: int) -> ScoredItems:
    return ScoredItems(found.item_ids[:k], found.scores[:k])
