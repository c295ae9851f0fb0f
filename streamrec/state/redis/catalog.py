"""Catalog entries of the Redis state, read once and reused for a short while.

Entries are cached by global item id for :data:`CATALOG_TTL_S`: a write through the
same :class:`~streamrec.state.redis.RedisState` shows at once (it forgets the items it
wrote), a write through another process within that delay. Beside the entries the
cache keeps every item's categories in an
:class:`~streamrec.state.categories.ItemCategories` matrix, so "which of these
candidates are in category C" is one array comparison once the entries are fresh.
"""

from __future__ import annotations

import time

import numpy as np
import orjson

from streamrec.state.base import CatalogItem
from streamrec.state.categories import ItemCategories
from streamrec.state.redis.ids import ID_CACHE
from streamrec.state.redis.keys import Client, Keys

#: Seconds a catalog entry read from Redis is reused.
CATALOG_TTL_S = 2.0


class CatalogCache:
    """Catalog entries by global item id, re-read from Redis once stale."""

    def __init__(self, client: Client, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self._entries: dict[int, CatalogItem | None] = {}
        self._expires = np.zeros(0)  # monotonic deadline per global id (0 = never read)
        self._categories = ItemCategories()

    def entries(self, ids: np.ndarray) -> list[CatalogItem | None]:
        """The entry of each global id (``None`` where unknown or ``-1``)."""
        self._refresh(ids)
        return [self._entries.get(i) for i in ids.tolist()]

    def in_category(self, ids: np.ndarray, category: str) -> np.ndarray:
        """Whether each item's entry lists ``category``."""
        self._refresh(ids)
        return self._categories.contains(ids, category)

    def forget(self, ids: np.ndarray) -> None:
        """Drop entries (after this process wrote them)."""
        held = ids[(ids >= 0) & (ids < len(self._expires))]
        self._expires[held] = 0.0

    def _refresh(self, ids: np.ndarray) -> None:
        now = time.monotonic()
        known = ids[ids >= 0]
        if not len(known):
            return
        if len(self._entries) > ID_CACHE:
            self._entries.clear()
            self._expires[:] = 0.0
        top = int(known.max()) + 1
        if top > len(self._expires):
            grown = np.zeros(max(top, 2 * len(self._expires)))
            grown[: len(self._expires)] = self._expires
            self._expires = grown
        stale = np.unique(known[self._expires[known] <= now])
        if not len(stale):
            return
        found = self.client.hmget(self.keys.catalog, stale.tolist())
        items = [None if raw is None else CatalogItem(**orjson.loads(raw)) for raw in found]
        self._entries.update(zip(stale.tolist(), items, strict=True))
        self._categories.set(stale, [[] if item is None else item.categories for item in items])
        self._expires[stale] = now + CATALOG_TTL_S
