"""Serving through a Redis outage: answer from a cached popularity list, flagged.

:class:`FallbackState` wraps a :class:`~streamrec.state.redis.RedisState` for the
API. Rankings are served from a list at most ``refresh_s`` old (so trending, which
is computed on read, is off the request path). Reads that fail degrade instead of
raising: no profile (so the recommender treats the user as cold), no neighbours,
rankings from the last good list, every item available. After a failure
Redis is left alone for ``cooldown_s`` so that requests stay fast while it is down;
the next read after that tries again, which is how serving recovers. Writes still
raise: the processor must see failures. Dense reads degrade alike; names of ids go
straight through, since every id a degraded read hands out was named when it was
read (the Redis state caches names in the process).

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
from streamrec.state.base import (
    CatalogItem,
    ItemStats,
    Ranking,
    ScoredItems,
    UserArrays,
    UserProfile,
)
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
        self._rankings: dict[tuple[Ranking, str | None], tuple[float, np.ndarray, np.ndarray]] = {}
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

    def remove(self, item_ids: Sequence[str]) -> None:
        """Delete items (raises while Redis is down)."""
        self.state.remove(item_ids)

    def close(self) -> None:
        """Release the Redis connections."""
        self.state.close()

    # -- reads degrade -------------------------------------------------------

    def profile(self, user_id: str) -> UserProfile | None:
        """The profile, or ``None`` while Redis is down (the user looks cold)."""
        return self._read(lambda: self.state.profile(user_id), lambda: None)

    def user_arrays(self, user_id: str) -> UserArrays | None:
        """The profile over global ids, or ``None`` while Redis is down."""
        return self._read(lambda: self.state.user_arrays(user_id), lambda: None)

    def neighbor_rows(self, items: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Neighbour rows over global ids, or empty rows while Redis is down."""
        return self._read(
            lambda: self.state.neighbor_rows(items, k),
            lambda: [(np.empty(0, np.int64), np.empty(0)) for _ in range(len(items))],
        )

    def neighbors(self, item_ids: Sequence[str], k: int) -> list[ScoredItems]:
        """Neighbours, or none while Redis is down."""
        return self._read(
            lambda: self.state.neighbors(item_ids, k),
            lambda: [ScoredItems([], np.empty(0)) for _ in item_ids],
        )

    def top_items(self, ranking: Ranking, k: int, category: str | None = None) -> ScoredItems:
        """The ranking, or its last good copy while Redis is down."""
        ids, scores = self.top_rows(ranking, k, category)
        return ScoredItems(self.item_names(ids), scores)

    def top_rows(
        self, ranking: Ranking, k: int, category: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`top_items` over global ids."""
        return self._read(
            lambda: self._fresh_top(ranking, k, category),
            lambda: self._cached_top(ranking, k, category),
        )

    def _fresh_top(
        self, ranking: Ranking, k: int, category: str | None
    ) -> tuple[np.ndarray, np.ndarray]:
        key = (ranking, category)
        cached = self._rankings.get(key)
        if cached is not None and time.monotonic() - cached[0] <= self.refresh_s:
            _, ids, scores = cached
            if k <= len(ids) or len(ids) < self.size:  # long enough, or complete
                self.ranking_cache.hits += 1
                return ids[:k], scores[:k]
        self.ranking_cache.misses += 1
        ids, scores = self.state.top_rows(ranking, max(k, self.size), category)
        self._rankings[key] = (time.monotonic(), ids, scores)
        return ids[:k], scores[:k]

    def _cached_top(
        self, ranking: Ranking, k: int, category: str | None
    ) -> tuple[np.ndarray, np.ndarray]:
        cached = self._rankings.get((ranking, category))
        if cached is None:
            return np.empty(0, np.int64), np.empty(0)
        return cached[1][:k], cached[2][:k]

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

    def available_rows(self, ids: np.ndarray) -> np.ndarray:
        """Availability over global ids, or everything while Redis is down."""
        return self._read(
            lambda: self.state.available_rows(ids), lambda: np.ones(len(ids), dtype=np.bool_)
        )

    def in_category(self, ids: np.ndarray, category: str) -> np.ndarray:
        """Category membership, or none (entries unknown) while Redis is down."""
        return self._read(
            lambda: self.state.in_category(ids, category),
            lambda: np.zeros(len(ids), dtype=np.bool_),
        )

    def catalog_rows(self, ids: np.ndarray) -> list[CatalogItem | None]:
        """Catalog entries over global ids, or unknown while Redis is down."""
        return self._read(lambda: self.state.catalog_rows(ids), lambda: [None] * len(ids))

    def stats_rows(self, ids: np.ndarray) -> list[ItemStats | None]:
        """Item statistics over global ids, or unknown while Redis is down."""
        return self._read(lambda: self.state.stats_rows(ids), lambda: [None] * len(ids))

    def newest_rows(self, since_ms: int, k: int) -> np.ndarray:
        """The newest items, or none while Redis is down."""
        return self._read(
            lambda: self.state.newest_rows(since_ms, k), lambda: np.empty(0, np.int64)
        )

    def item_ids(self, names: Sequence[str]) -> np.ndarray:
        """Global ids of ``names``, or unknown while Redis is down."""
        return self._read(
            lambda: self.state.item_ids(names), lambda: np.full(len(names), -1, np.int64)
        )

    def item_names(self, ids: np.ndarray) -> list[str]:
        """Names of global ids (straight through: see the module docstring)."""
        return self.state.item_names(ids)
