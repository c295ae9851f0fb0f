"""Every category of each item, over dense item ids, for array-wide membership tests.

A catalog entry lists any number of categories; the first is the item's primary
category (the one item rankings and sessions use). The recommender asks, for a few
hundred candidates at once, which of them list a given category (the session boost,
the ``category`` option): :class:`ItemCategories` answers that with one comparison
over a padded matrix of category codes instead of a look-up per item.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from streamrec.ids import IdMap


class ItemCategories:
    """A padded ``int32`` matrix of category codes by dense item id (``-1`` = none).

    Codes are this table's own (an :class:`~streamrec.ids.IdMap` of category names),
    independent of any state's category ids. Rows and the width grow as needed.
    """

    def __init__(self) -> None:
        self.names = IdMap()
        self.codes = np.full((0, 1), -1, np.int32)

    def set(self, ids: np.ndarray, categories: Sequence[Sequence[str]]) -> None:
        """Replace the categories of items ``ids`` (one list per id; ``-1`` is skipped)."""
        known = [
            (i, c) for i, c in zip(np.asarray(ids).tolist(), categories, strict=True) if i >= 0
        ]
        if not known:
            return
        ids = np.array([i for i, _ in known], np.int64)
        categories = [c for _, c in known]
        held, width = self.codes.shape
        wide = max(width, *(len(c) for c in categories))
        rows = int(np.max(ids)) + 1
        if rows > held or wide > width:
            grown = np.full((max(rows, 2 * held) if rows > held else held, wide), -1, np.int32)
            grown[:held, :width] = self.codes
            self.codes = grown
        for row, names in zip(ids.tolist(), categories, strict=True):
            self.codes[row] = -1
            self.codes[row, : len(names)] = [self.names.intern(n) for n in names]

    def contains(self, ids: np.ndarray, category: str) -> np.ndarray:
        """Whether each item lists ``category`` (``False`` for items never set)."""
        found = np.zeros(len(ids), np.bool_)
        code = self.names.get(category)
        if code is None:
            return found
        inside = (ids >= 0) & (ids < self.codes.shape[0])
        found[inside] = (self.codes[ids[inside]] == code).any(axis=1)
        return found
