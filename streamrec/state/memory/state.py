"""The embedded online state: arrays in process memory, snapshotted to disk.

Implements :class:`~streamrec.state.base.OnlineState`,
:class:`~streamrec.state.base.Catalog` and :class:`~streamrec.state.base.DenseReads`.
Updates run the shared pure fold of :mod:`streamrec.processing`; reads take a short
lock so they never observe a half-applied batch.

A neighbour row is cut once per row version: the cut (availability, normalization,
order) is cached until the fold or a catalog write bumps the row, and every top-k of
the row is a prefix of it.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence

import numpy as np

from streamrec.config import Settings
from streamrec.erasures import Erasures, runs
from streamrec.events import EventBatch
from streamrec.ids import IdMap
from streamrec.processing.cooccurrence import CooccurrenceIndex, neighbor_scores
from streamrec.processing.decay import Decays
from streamrec.processing.erase import erase
from streamrec.processing.fold import fold_batch, unapplied
from streamrec.processing.items import ItemTable
from streamrec.processing.order import best_first
from streamrec.processing.profiles import ProfileTable
from streamrec.state.base import (
    CatalogItem,
    ItemStats,
    Ranking,
    ScoredItems,
    StateSizes,
    UserArrays,
    UserProfile,
)
from streamrec.state.cache_counts import CacheCounts
from streamrec.state.categories import ItemCategories
from streamrec.state.views import item_stats_of, profile_of, user_arrays_of

_EMPTY_ROW = (np.empty(0, np.int64), np.empty(0))
_NEVER = np.iinfo(np.int64).min  # the creation time of an item without one
for _array in _EMPTY_ROW:
    _array.flags.writeable = False


class MemoryState:
    """Online state and catalog held in NumPy arrays."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.decays = Decays.from_settings(settings.decay)
        self.users = IdMap()
        self.items = IdMap()
        self.categories = IdMap()
        self.profiles = ProfileTable(settings.profile)
        self.item_table = ItemTable()
        self.cooccurrence = CooccurrenceIndex(settings.cooccurrence.max_neighbors)
        self.catalog: dict[str, CatalogItem] = {}
        self.item_categories = ItemCategories()
        self.created_ms = np.full(0, _NEVER, np.int64)  # creation time by dense id
        self.landmark_ms: int | None = None
        self.clock_ms = 0
        self._positions: dict[int, int] = {}
        self._version = 0  # bumped by every write; keys the ranking cache
        # per item: row version, the row's ids and scores cut in order, whether complete
        self._neighbor_cache: dict[int, tuple[int, np.ndarray, np.ndarray, bool]] = {}
        self._rankings: dict[
            tuple[Ranking, int, str | None], tuple[int, np.ndarray, np.ndarray]
        ] = {}
        self.neighbor_cache = CacheCounts()
        self.ranking_cache = CacheCounts()
        self.lock = threading.RLock()

    # -- writes ---------------------------------------------------------------

    def apply(self, batch: EventBatch) -> None:
        """Fold a batch in; events before :meth:`positions` are skipped."""
        with self.lock:
            fresh = unapplied(batch, self._positions)
            for run in runs(fresh):
                if isinstance(run, Erasures):
                    erase(self, run)
                    self._neighbor_cache.clear()
                else:
                    fold_batch(self, run)
                self._version += 1
            self._advance_positions(batch)

    def _advance_positions(self, batch: EventBatch) -> None:
        logged = batch.offset >= 0
        if not logged.any():
            return
        for partition in np.unique(batch.partition[logged]).tolist():
            in_partition = logged & (batch.partition == partition)
            end = int(batch.offset[in_partition].max()) + 1
            self._positions[partition] = max(end, self._positions.get(partition, 0))

    def positions(self) -> dict[int, int]:
        """Per partition, the offset after the last applied event."""
        with self.lock:
            return dict(self._positions)

    def set_positions(self, positions: dict[int, int]) -> None:
        """Restore positions (from a snapshot)."""
        with self.lock:
            self._positions = dict(positions)

    def expire(self, now_ms: int) -> int:
        """Forget users inactive for longer than the profile TTL; return how many."""
        with self.lock:
            rows = self.users.capacity
            cutoff = now_ms // 1000 - int(self.settings.profile.ttl_s)
            active = self.profiles.events[:rows] > 0
            stale = np.flatnonzero(active & (self.profiles.last_seconds[:rows] < cutoff))
            if len(stale):
                self.profiles.clear(stale)
                self.users.release(stale.tolist())
            return len(stale)

    def close(self) -> None:
        """Nothing to release: the state lives in this process (snapshots are the
        embedded engine's business)."""

    # -- catalog --------------------------------------------------------------

    def upsert(self, items: Sequence[CatalogItem]) -> None:
        """Insert or replace catalog items."""
        with self.lock:
            dense = self.items.intern_many([item.item_id for item in items])
            self.item_table.ensure(self.items.capacity)
            self._version += 1
            self._neighbor_cache.clear()  # availability may have changed
            for row, item in zip(dense.tolist(), items, strict=True):
                self.catalog[item.item_id] = item
                category = item.categories[0] if item.categories else None
                self.item_table.category[row] = (
                    -1 if category is None else self.categories.intern(category)
                )
                self.item_table.available[row] = item.available
            self.item_categories.set(dense, [item.categories for item in items])
            self._index_created(dense, items)

    def remove(self, item_ids: Sequence[str]) -> None:
        """Delete catalog entries (items the catalog does not know are skipped)."""
        with self.lock:
            dense = self.items.lookup_many(item_ids)
            known = dense[dense >= 0]
            self._version += 1
            self._neighbor_cache.clear()
            for name in item_ids:
                self.catalog.pop(name, None)
            self.item_table.category[known] = -1
            self.item_table.available[known] = True
            self.item_categories.set(known, [[] for _ in known])

    def restore_catalog(self, items: Sequence[CatalogItem]) -> None:
        """Set the catalog entries of a restored state whose item arrays are loaded."""
        with self.lock:
            self.catalog = {item.item_id: item for item in items}
            dense = self.items.lookup_many([item.item_id for item in items])
            self.item_categories.set(dense, [item.categories for item in items])
            self._index_created(dense, items)

    def _index_created(self, dense: np.ndarray, items: Sequence[CatalogItem]) -> None:
        """Record the creation time of catalog items (for :meth:`newest_rows`)."""
        if len(self.created_ms) < self.items.capacity:
            grown = np.full(max(self.items.capacity, 2 * len(self.created_ms)), _NEVER, np.int64)
            grown[: len(self.created_ms)] = self.created_ms
            self.created_ms = grown
        for row, item in zip(np.asarray(dense).tolist(), items, strict=True):
            if row >= 0:
                self.created_ms[row] = _NEVER if item.created_at is None else item.created_at

    def get(self, item_ids: Sequence[str]) -> list[CatalogItem | None]:
        """Catalog entries (``None`` where unknown)."""
        with self.lock:
            return [self.catalog.get(i) for i in item_ids]

    def catalog_page(self, offset: int, limit: int) -> list[CatalogItem]:
        """Up to ``limit`` catalog entries from ``offset``, oldest first."""
        with self.lock:
            return list(itertools.islice(self.catalog.values(), offset, offset + limit))

    def sizes(self) -> StateSizes:
        """Users with a live profile, items with an id, items with metadata."""
        with self.lock:
            return StateSizes(len(self.users), len(self.items), len(self.catalog))

    def available(self, item_ids: Sequence[str]) -> np.ndarray:
        """May each item be recommended? Items the catalog does not know may."""
        with self.lock:
            dense = self.items.lookup_many(item_ids)
            known = dense >= 0
            result = np.ones(len(item_ids), dtype=np.bool_)
            result[known] = self.item_table.available[dense[known]]
            return result

    def available_rows(self, ids: np.ndarray) -> np.ndarray:
        """:meth:`available` over dense ids."""
        with self.lock:
            result = np.ones(len(ids), dtype=np.bool_)
            known = (ids >= 0) & (ids < self.items.capacity)
            result[known] = self.item_table.available[ids[known]]
            return result

    def in_category(self, ids: np.ndarray, category: str) -> np.ndarray:
        """Whether each item's catalog entry lists ``category``."""
        with self.lock:
            return self.item_categories.contains(ids, category)

    def catalog_rows(self, ids: np.ndarray) -> list[CatalogItem | None]:
        """:meth:`get` over dense ids."""
        with self.lock:
            return [self.catalog.get(name) for name in self.items.names(ids)]

    def stats_rows(self, ids: np.ndarray) -> list[ItemStats | None]:
        """:meth:`item_stats` over dense ids."""
        with self.lock:
            return self.item_stats(self.items.names(ids))

    def newest_rows(self, since_ms: int, k: int) -> np.ndarray:
        """The ``k`` newest available items created at or after ``since_ms``."""
        with self.lock:
            n = min(len(self.created_ms), self.items.capacity)
            created = self.created_ms[:n]
            ids = np.flatnonzero((created >= since_ms) & self.item_table.available[:n])
            order = np.lexsort((ids, -created[ids]))[:k]
            return ids[order].astype(np.int64)

    # -- names ----------------------------------------------------------------

    def item_ids(self, names: Sequence[str]) -> np.ndarray:
        """Dense ids of ``names`` (``-1`` where unknown)."""
        with self.lock:
            return self.items.lookup_many(names).astype(np.int64)

    def item_names(self, ids: np.ndarray) -> list[str]:
        """Names of dense ids."""
        with self.lock:
            return self.items.names(ids)

    # -- reads ----------------------------------------------------------------

    def profile(self, user_id: str) -> UserProfile | None:
        """The user's profile, or ``None``."""
        with self.lock:
            row = self.users.get(user_id)
            if row is None:
                return None
            return profile_of(self, user_id, row)

    def user_arrays(self, user_id: str) -> UserArrays | None:
        """The user's profile over dense ids, or ``None``."""
        with self.lock:
            row = self.users.get(user_id)
            if row is None:
                return None
            return user_arrays_of(self.profiles, row, self.categories.name)

    def neighbors(self, item_ids: Sequence[str], k: int) -> list[ScoredItems]:
        """Each item's ``k`` strongest co-occurring available items, in the order of
        :mod:`streamrec.processing.order`.

        Scores are ``C(i, j) / (m_i ** 0.5 * m_j ** damping)`` with ``m`` each item's
        co-occurrence mass: damping 0.5 is cosine, 0 ranks by conditional probability.
        """
        with self.lock:
            rows = self.neighbor_rows(self.items.lookup_many(item_ids), k)
            return [ScoredItems(self.items.names(ids), scores) for ids, scores in rows]

    def neighbor_rows(self, items: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`neighbors` over dense ids (``int64`` ids; empty for ``-1``)."""
        with self.lock:
            return [self._neighbors(item, k) for item in np.asarray(items).tolist()]

    def _neighbor_row(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        ids, weights = self.cooccurrence.neighbors(item)
        if len(ids) == 0:
            return ids, weights
        table = self.item_table
        keep = table.available[ids]
        ids, weights = ids[keep], weights[keep]
        mass = table.cooccurrence_mass
        damping = self.settings.cooccurrence.popularity_damping
        scores = neighbor_scores(weights, mass[item], mass[ids], damping)
        order = best_first(scores, k, lambda rows: self.items.names(ids[rows]))
        return ids[order], scores[order]

    def _neighbors(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """A row's top ``k``, cached until the row or the item's catalog entry changes.

        A row is cut once per version, at least as far as the recommender's pool
        (``recommend.candidates_per_source``): the order is total, so every shorter
        top-k is a prefix of the cut.
        """
        if item < 0 or item >= self.items.capacity:
            return _EMPTY_ROW
        version = int(self.item_table.neighbors_version[item])
        cached = self._neighbor_cache.get(item)
        if cached is None or cached[0] != version or (len(cached[1]) < k and not cached[3]):
            self.neighbor_cache.misses += 1
            cut = max(k, self.settings.recommend.candidates_per_source)
            ids, scores = self._neighbor_row(item, cut)
            ids = ids.astype(np.int64)
            ids.flags.writeable = scores.flags.writeable = False  # shared by every caller
            if len(self._neighbor_cache) > 200_000:
                self._neighbor_cache.clear()
            cached = (version, ids, scores, len(ids) < cut)
            self._neighbor_cache[item] = cached
        else:
            self.neighbor_cache.hits += 1
        return cached[1][:k], cached[2][:k]

    def ranking_scores(self, ranking: Ranking) -> np.ndarray:
        """Current score of every dense item under ``ranking`` (higher is better)."""
        table = self.item_table
        n = self.items.capacity
        if ranking is Ranking.POPULAR:
            return table.popularity[:n]
        landmark = self.landmark_ms or 0
        short = self.decays.trend_short.value_at(table.trend_short[:n], landmark, self.clock_ms)
        long = self.decays.trend_long.value_at(table.trend_long[:n], landmark, self.clock_ms)
        short_rate = short / self.decays.trend_short.half_life_ms
        long_rate = long / self.decays.trend_long.half_life_ms
        prior = self.settings.recommend.trending_prior / self.decays.trend_long.half_life_ms
        return (short_rate - long_rate) / (long_rate + prior)  # type: ignore[no-any-return]

    def top_items(self, ranking: Ranking, k: int, category: str | None = None) -> ScoredItems:
        """The ``k`` best available items by ``ranking`` (ties by item id)."""
        with self.lock:
            ids, scores = self.top_rows(ranking, k, category)
            return ScoredItems(self.items.names(ids), scores)

    def top_rows(
        self, ranking: Ranking, k: int, category: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`top_items` over dense ids (``int64``; cached until the next write)."""
        with self.lock:
            cached = self._rankings.get((ranking, k, category))
            if cached is not None and cached[0] == self._version:
                self.ranking_cache.hits += 1
                return cached[1], cached[2]
            self.ranking_cache.misses += 1
            n = self.items.capacity
            table = self.item_table
            scores = self.ranking_scores(ranking)
            eligible = table.available[:n] & (table.popularity[:n] > 0)
            if category is not None:
                code = self.categories.get(category)
                eligible &= table.category[:n] == (-2 if code is None else code)
            ids = np.flatnonzero(eligible).astype(np.int64)
            order = best_first(scores[ids], k, lambda rows: self.items.names(ids[rows]))
            top, top_scores = ids[order], scores[ids][order]
            top.flags.writeable = top_scores.flags.writeable = False  # shared by every caller
            if len(self._rankings) > 1024:
                self._rankings.clear()
            self._rankings[(ranking, k, category)] = (self._version, top, top_scores)
            return top, top_scores

    def item_stats(self, item_ids: Sequence[str]) -> list[ItemStats | None]:
        """Statistics of each item (``None`` where never seen)."""
        with self.lock:
            trending = self.ranking_scores(Ranking.TRENDING)
            return [item_stats_of(self, item_id, trending) for item_id in item_ids]
