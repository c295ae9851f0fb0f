"""The reference window of drift monitoring, and how a block of events is counted.

Events are counted in blocks of a fixed number of events (``drift.block_events``),
the same way in the reference and in the live window, into four histograms:

- ``event_type``: events per type;
- ``item_popularity``: events per rank bin of their item in the reference's own
  ranking (top 10, 11-50, 51-200, 201-1000, the tail and unknown items), so its first
  bin is the share of traffic on the reference's top-10 items;
- ``user_activity``: users per bin of how many events they have in a block (1, 2,
  3-4, ...); a measure per block, so only full blocks count;
- ``category``: events per primary category of their item (the reference's 30
  largest categories, ``other`` and ``none``).

A :class:`DriftReference` holds the reference's histograms and the maps that place a
live event in their bins (its ranked items and categories). It is built by
:class:`ReferenceBuilder` from a stream of events: the training window
(:func:`streamrec.models.trainer.train_models` stores it in the model manifest) or
the first events a monitor sees when no model carries one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from streamrec.events import EVENT_TYPES, N_TYPES
from streamrec.processing.drift import (
    ACTIVITY_BINS,
    NO_CATEGORY,
    OTHER_CATEGORY,
    RANK_BINS,
    RANKED_ITEMS,
    TOP_CATEGORIES,
    activity_counts,
    rank_bins,
)

#: Looks up the primary category of each item (``None`` where it has none).
CategoryLookup = Callable[[Sequence[str]], list[str | None]]

#: Feature names and their bins, for features with fixed bins.
EVENT_TYPE = "event_type"
ITEM_POPULARITY = "item_popularity"
USER_ACTIVITY = "user_activity"
CATEGORY = "category"
SERVED_SCORE = "served_score"
TYPE_BINS = tuple(t.value for t in EVENT_TYPES)


def type_counts(types: np.ndarray) -> np.ndarray:
    """Events per type code."""
    return np.bincount(types.astype(np.int64), minlength=N_TYPES).astype(np.int64)


def user_activity(users: Sequence[str]) -> np.ndarray:
    """Users per events-per-user bin, over one block's events."""
    return activity_counts(np.fromiter(Counter(users).values(), dtype=np.int64))


#: The features whose bins need no reference, and their bins.
FIXED_BINS: dict[str, tuple[str, ...]] = {EVENT_TYPE: TYPE_BINS, USER_ACTIVITY: ACTIVITY_BINS}


def fixed_counts(users: Sequence[str], types: np.ndarray) -> dict[str, np.ndarray]:
    """One full block of events counted in the features of :data:`FIXED_BINS`."""
    return {EVENT_TYPE: type_counts(types), USER_ACTIVITY: user_activity(users)}


@dataclass(frozen=True, slots=True)
class DriftReference:
    """The reference window: a histogram per feature and the maps to its bins.

    Attributes
    ----------
    source
        Where it comes from (``"model <version>"`` or ``"first events"``).
    block_events
        The block size its per-block features were counted with.
    events
        How many events it holds.
    counts
        Per feature, the count of each bin.
    ranked_items
        Its most frequent items, most frequent first (at most the last rank edge).
    categories
        The categories with a bin of their own, largest first.
    """

    source: str
    block_events: int
    events: int
    counts: Mapping[str, np.ndarray]
    ranked_items: tuple[str, ...]
    categories: tuple[str, ...]

    @property
    def category_bins(self) -> tuple[str, ...]:
        """The category feature's bins."""
        return (*self.categories, OTHER_CATEGORY, NO_CATEGORY)

    def bins(self, feature: str) -> tuple[str, ...]:
        """The bin labels of an event feature."""
        if feature == ITEM_POPULARITY:
            return RANK_BINS
        if feature == CATEGORY:
            return self.category_bins
        return FIXED_BINS[feature]

    def block_counts(
        self,
        users: Sequence[str],
        items: Sequence[str],
        types: np.ndarray,
        categories_of: CategoryLookup,
    ) -> dict[str, np.ndarray]:
        """One full block of events counted in this reference's bins."""
        per_item = Counter(items)
        distinct = list(per_item)
        counts = np.fromiter(per_item.values(), dtype=np.int64, count=len(distinct))
        rank_of = {item: rank for rank, item in enumerate(self.ranked_items)}
        ranks = np.fromiter((rank_of.get(i, -1) for i in distinct), np.int64, len(distinct))
        bin_of = {name: b for b, name in enumerate(self.categories)}
        other, none = len(self.categories), len(self.categories) + 1
        found = categories_of(distinct)
        category = np.fromiter(
            (none if c is None else bin_of.get(c, other) for c in found), np.int64, len(distinct)
        )
        return {
            **fixed_counts(users, types),
            ITEM_POPULARITY: _weighted(rank_bins(ranks), counts, len(RANK_BINS)),
            CATEGORY: _weighted(category, counts, len(self.category_bins)),
        }

    def to_manifest(self) -> dict[str, Any]:
        """The reference as JSON-ready values (stored under ``drift_reference``)."""
        return {
            "block_events": self.block_events,
            "events": self.events,
            "counts": {feature: c.tolist() for feature, c in self.counts.items()},
            "ranked_items": list(self.ranked_items),
            "categories": list(self.categories),
        }

    @classmethod
    def from_manifest(cls, stored: Mapping[str, Any], source: str) -> DriftReference:
        """Read back :meth:`to_manifest` output.

        Raises
        ------
        ValueError
            If a histogram is missing or does not fit its bins.
        """
        try:
            categories = tuple(str(c) for c in stored["categories"])
            reference = cls(
                source=source,
                block_events=int(stored["block_events"]),
                events=int(stored["events"]),
                counts={f: np.asarray(c, dtype=np.int64) for f, c in stored["counts"].items()},
                ranked_items=tuple(str(i) for i in stored["ranked_items"]),
                categories=categories,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed drift reference: {exc!r}") from None
        for feature in (EVENT_TYPE, ITEM_POPULARITY, USER_ACTIVITY, CATEGORY):
            counts = reference.counts.get(feature)
            if counts is None or counts.shape != (len(reference.bins(feature)),):
                raise ValueError(f"drift reference histogram {feature!r} does not fit its bins")
        return reference


def _weighted(bins: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(bins, weights=weights, minlength=n).round().astype(np.int64)


class ReferenceBuilder:
    """Counts a stream of events into a :class:`DriftReference`.

    Events arrive in any number of calls to :meth:`add`; they are cut into blocks of
    ``block_events``. Item counts are kept for every distinct item seen, so memory
    grows with the number of items (the catalog), not with the number of events.
    """

    def __init__(self, block_events: int) -> None:
        self.block_events = block_events
        self.events = 0
        self._types = np.zeros(N_TYPES, dtype=np.int64)
        self._activity = np.zeros(len(ACTIVITY_BINS), dtype=np.int64)
        self._items: Counter[str] = Counter()
        self._pending: list[str] = []

    def add(self, users: Sequence[str], items: Sequence[str], types: np.ndarray) -> None:
        """Count events (their user ids, item ids and type codes, in order)."""
        self.events += len(items)
        self._types += type_counts(types)
        self._items.update(items)
        self._pending.extend(users)
        block = self.block_events
        while len(self._pending) >= block:
            self._activity += user_activity(self._pending[:block])
            del self._pending[:block]

    def finish(self, categories_of: CategoryLookup, source: str) -> DriftReference:
        """The reference of everything added (the last partial block counts everywhere
        except in the per-block ``user_activity``)."""
        ranked = sorted(self._items.items(), key=lambda pair: (-pair[1], pair[0]))
        distinct = [item for item, _ in ranked]
        counts = np.array([n for _, n in ranked], dtype=np.int64)
        by_category: Counter[str | None] = Counter()
        for category, n in zip(categories_of(distinct), counts.tolist(), strict=True):
            by_category[category] += n
        named = sorted(
            ((c, n) for c, n in by_category.items() if c is not None),
            key=lambda pair: (-pair[1], pair[0]),
        )
        categories = tuple(c for c, _ in named[:TOP_CATEGORIES])
        rest = sum(n for _, n in named[TOP_CATEGORIES:])
        category_counts = [by_category[c] for c in categories] + [rest, by_category[None]]
        ranks = np.arange(len(distinct))
        return DriftReference(
            source=source,
            block_events=self.block_events,
            events=self.events,
            counts={
                EVENT_TYPE: self._types.copy(),
                ITEM_POPULARITY: _weighted(rank_bins(ranks), counts, len(RANK_BINS)),
                USER_ACTIVITY: self._activity.copy(),
                CATEGORY: np.array(category_counts, dtype=np.int64),
            },
            ranked_items=tuple(distinct[:RANKED_ITEMS]),
            categories=categories,
        )
