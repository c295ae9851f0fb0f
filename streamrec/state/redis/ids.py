"""Dense ids of items and categories, interned in Redis and cached in the process.

Ids are handed out by a Lua script (one counter per kind) and never reused, so a
cached mapping never goes stale; caches are dropped when they pass a size cap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from streamrec.ids import IdMap
from streamrec.state.redis.keys import Client, Keys

#: Forget cached id mappings past this many entries (they are re-read on demand).
ID_CACHE = 1_000_000


class ItemIds:
    """Item and category ids of one Redis state."""

    def __init__(self, client: Client, keys: Keys, intern: Any) -> None:
        self.client = client
        self.keys = keys
        self._intern = intern
        self._item_ids: dict[str, int] = {}
        self._item_names: dict[int, str] = {}
        self._categories: list[str | None] = []

    def _remember(self, names: Sequence[str], ids: Sequence[int]) -> None:
        if len(self._item_ids) > ID_CACHE:
            self._item_ids.clear()
            self._item_names.clear()
        for name, gid in zip(names, ids, strict=True):
            self._item_ids[name] = gid
            self._item_names[gid] = name

    def intern(self, names: Sequence[str]) -> np.ndarray:
        """Global ids of ``names``, assigning new ones."""
        missing = [n for n in dict.fromkeys(names) if n not in self._item_ids]
        if missing:
            keys = [self.keys.item_ids, self.keys.item_names, self.keys.item_next]
            self._remember(missing, self._intern(keys=keys, args=missing))
        return np.array([self._item_ids[n] for n in names], dtype=np.int64)

    def lookup(self, names: Sequence[str]) -> np.ndarray:
        """Global ids of ``names`` (``-1`` where never seen)."""
        missing = [n for n in dict.fromkeys(names) if n not in self._item_ids]
        if missing:
            found = self.client.hmget(self.keys.item_ids, missing)
            known = [(n, int(f)) for n, f in zip(missing, found, strict=True) if f is not None]
            self._remember([n for n, _ in known], [g for _, g in known])
        return np.array([self._item_ids.get(n, -1) for n in names], dtype=np.int64)

    def names(self, ids: np.ndarray) -> list[str]:
        """Names of global item ids (all must exist)."""
        wanted = ids.tolist()
        missing = list({g for g in wanted if g not in self._item_names})
        if missing:
            found: list[bytes] = self.client.hmget(self.keys.item_names, missing)  # type: ignore[assignment]
            self._remember([f.decode() for f in found], missing)
        return [self._item_names[g] for g in wanted]

    def categories(self, codes: Sequence[int] = ()) -> IdMap:
        """Category names by code, re-read when ``codes`` holds an unknown one."""
        if any(c >= len(self._categories) for c in codes):
            stored: dict[bytes, bytes] = self.client.hgetall(self.keys.category_names)  # type: ignore[assignment]
            table: list[str | None] = [None] * (max(map(int, stored), default=-1) + 1)
            for code, name in stored.items():
                table[int(code)] = name.decode()
            self._categories = table
        return IdMap(self._categories)

    def intern_categories(self, names: Sequence[str]) -> list[int]:
        """Codes of category ``names``, assigning new ones."""
        keys = [self.keys.category_ids, self.keys.category_names, self.keys.category_next]
        return list(self._intern(keys=keys, args=list(names))) if names else []
