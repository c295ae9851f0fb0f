"""Per-item statistics as arrays indexed by dense item id.

All decayed counters are forward-decayed against the state's landmark (see
:mod:`streamrec.processing.decay`), so an update is a vectorized scatter-add and a
ranking is an argpartition over stored values.
"""

from __future__ import annotations

import numpy as np

from streamrec.events import N_TYPES

_VECTORS = (
    "popularity",
    "trend_short",
    "trend_long",
    "cooccurrence_mass",
    "rating_sum",
    "rating_count",
    "category",
    "available",
    "neighbors_version",
)
_MATRICES = ("type_decayed", "type_counts")
_COUNTERS = _VECTORS[:6]


class ItemTable:
    """Decayed popularity, trending windows, per-type counts and ratings per item."""

    def __init__(self, capacity: int = 1024) -> None:
        self.popularity = np.zeros(capacity)
        self.trend_short = np.zeros(capacity)
        self.trend_long = np.zeros(capacity)
        self.cooccurrence_mass = np.zeros(capacity)
        self.rating_sum = np.zeros(capacity)
        self.rating_count = np.zeros(capacity, np.int64)
        self.category = np.full(capacity, -1, np.int32)
        self.available = np.ones(capacity, np.bool_)
        self.neighbors_version = np.zeros(capacity, np.int64)  # bumped when a row may change
        self.type_decayed = np.zeros((N_TYPES, capacity))
        self.type_counts = np.zeros((N_TYPES, capacity), np.int64)

    @property
    def capacity(self) -> int:
        """Items allocated."""
        return len(self.popularity)

    def ensure(self, items: int) -> None:
        """Grow (doubling) so that item ``items - 1`` exists."""
        if items <= self.capacity:
            return
        fresh = ItemTable(max(items, 2 * self.capacity) - self.capacity)
        for name in _VECTORS:
            setattr(self, name, np.concatenate([getattr(self, name), getattr(fresh, name)]))
        for name in _MATRICES:
            setattr(self, name, np.hstack([getattr(self, name), getattr(fresh, name)]))

    def add(
        self,
        items: np.ndarray,
        types: np.ndarray,
        positive_weight: np.ndarray,
        pair_weight: np.ndarray,
        factors: dict[str, np.ndarray],
        ratings: np.ndarray,
    ) -> None:
        """Fold a batch into the counters.

        Parameters
        ----------
        items, types
            Dense item ids and type codes of the events.
        positive_weight
            Each event's weight where positive, else 0.
        pair_weight
            Each event's forward-decayed co-occurrence weight (0 where it pairs with
            nothing): the item's co-occurrence mass, used to normalize neighbours.
        factors
            Forward-decay factors per event for ``popularity``, ``trend_short`` and
            ``trend_long``.
        ratings
            Rating values (NaN where the event carries no rating).
        """
        n = self.capacity

        def scatter(weights: np.ndarray) -> np.ndarray:
            return np.bincount(items, weights=weights, minlength=n)

        self.popularity += scatter(positive_weight * factors["popularity"])
        self.trend_short += scatter(positive_weight * factors["trend_short"])
        self.trend_long += scatter(positive_weight * factors["trend_long"])
        self.cooccurrence_mass += scatter(pair_weight)
        flat = types.astype(np.int64) * n + items
        self.type_decayed += np.bincount(
            flat, weights=factors["popularity"], minlength=N_TYPES * n
        ).reshape(N_TYPES, n)
        self.type_counts += np.bincount(flat, minlength=N_TYPES * n).reshape(N_TYPES, n)
        rated = ~np.isnan(ratings)
        if rated.any():
            self.rating_sum += np.bincount(items[rated], weights=ratings[rated], minlength=n)
            self.rating_count += np.bincount(items[rated], minlength=n)

    def clear(self, rows: np.ndarray) -> None:
        """Reset the counters and ratings of items to "never seen" (erased items);
        their neighbour rows change version. The catalog's category and availability
        stay: the catalog removes its entries itself."""
        for name in _COUNTERS:
            getattr(self, name)[rows] = 0
        for name in _MATRICES:
            getattr(self, name)[:, rows] = 0
        self.neighbors_version[rows] += 1

    def scale(self, factors: dict[str, float]) -> None:
        """Multiply decayed counters when the landmark moves."""
        self.popularity *= factors["popularity"]
        self.trend_short *= factors["trend_short"]
        self.trend_long *= factors["trend_long"]
        self.cooccurrence_mass *= factors["cooccurrence"]
        self.type_decayed *= factors["popularity"]

    def to_arrays(self, items: int) -> dict[str, np.ndarray]:
        """The first ``items`` entries of every array (for snapshots)."""
        arrays = {name: getattr(self, name)[:items] for name in _VECTORS}
        arrays.update({name: getattr(self, name)[:, :items] for name in _MATRICES})
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> ItemTable:
        """Rebuild from :meth:`to_arrays` output."""
        items = len(arrays["popularity"])
        table = cls(max(items, 16))
        for name in _VECTORS:
            getattr(table, name)[:items] = arrays[name]
        for name in _MATRICES:
            getattr(table, name)[:, :items] = arrays[name]
        return table
