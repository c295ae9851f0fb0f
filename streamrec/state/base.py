"""The OnlineState and Catalog ports, and the domain types they speak.

The stream processor hands every micro-batch to :meth:`OnlineState.apply`; the
recommender reads profiles, neighbours and item rankings back, over dense item ids
through :class:`DenseReads`. Adapters (memory, Redis) share the pure update logic of
:mod:`streamrec.processing`, so they hold the same state for the same events.

Dense item ids are the state's own: they never change and are never reused, and
every dense read of one state speaks the same ids, so arrays read from one call index
arrays of another. Names (the external string ids) are looked up only at the edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import numpy as np
from pydantic import ConfigDict

from streamrec.events import EventBatch


class Ranking(StrEnum):
    """Item rankings the state keeps up to date."""

    POPULAR = "popular"
    TRENDING = "trending"


@dataclass(frozen=True, slots=True)
class Interaction:
    """One remembered interaction of a user."""

    __pydantic_config__ = ConfigDict(json_schema_serialization_defaults_required=True)

    item_id: str
    type: str
    timestamp: int
    value: float | None = None


@dataclass(frozen=True, slots=True)
class Session:
    """The user's current session."""

    session_key: int
    started_ms: int
    events: int
    category: str | None


@dataclass(frozen=True, slots=True)
class UserProfile:
    """A user's real-time features (newest interaction first)."""

    user_id: str
    recent: list[Interaction]
    seen: list[str]
    negative: list[str]
    cart: list[str]
    wishlist: list[str]
    affinities: dict[str, float]
    session: Session | None
    events: int
    last_ms: int


@dataclass(frozen=True, slots=True)
class ScoredItems:
    """Item ids with scores, best first."""

    item_ids: list[str]
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.item_ids)


@dataclass(frozen=True, slots=True)
class ItemStats:
    """Activity of one item: decayed popularity, trending, counts per event type (raw,
    and decayed with the popularity half-life), ratings and conversion ratios."""

    item_id: str
    popularity: float
    trending: float
    counts: dict[str, int]
    decayed_counts: dict[str, float]
    rating_mean: float | None
    rating_count: int
    view_to_cart: float | None
    cart_to_purchase: float | None


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """Item metadata (DESIGN.md section 4)."""

    #: Answers always carry every field, so their schema requires them all.
    __pydantic_config__ = ConfigDict(json_schema_serialization_defaults_required=True)

    item_id: str
    title: str | None = None
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    price: float | None = None
    available: bool = True
    created_at: int | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class OnlineState(Protocol):
    """Profiles, item statistics and item-item co-occurrence, updated per batch."""

    def apply(self, batch: EventBatch) -> None:
        """Fold a batch of logged events into the state.

        Idempotent per (partition, offset): events before :meth:`positions` are
        skipped, so a redelivered batch changes nothing.
        """
        ...

    def positions(self) -> dict[int, int]:
        """Per partition, the offset after the last applied event."""
        ...

    def profile(self, user_id: str) -> UserProfile | None:
        """The user's profile, or ``None`` for an unknown or expired user."""
        ...

    def neighbors(self, item_ids: Sequence[str], k: int) -> list[ScoredItems]:
        """For each item, its ``k`` strongest co-occurring items, normalized (cosine)."""
        ...

    def top_items(self, ranking: Ranking, k: int, category: str | None = None) -> ScoredItems:
        """The ``k`` best available items by ``ranking``, optionally in one category."""
        ...

    def item_stats(self, item_ids: Sequence[str]) -> list[ItemStats | None]:
        """Statistics of each item (``None`` where never seen)."""
        ...


@runtime_checkable
class Catalog(Protocol):
    """Item metadata; unavailable items are never recommended."""

    def upsert(self, items: Sequence[CatalogItem]) -> None:
        """Insert or replace items."""
        ...

    def remove(self, item_ids: Sequence[str]) -> None:
        """Delete items (unknown ones are skipped)."""
        ...

    def get(self, item_ids: Sequence[str]) -> list[CatalogItem | None]:
        """Metadata of each item (``None`` where unknown)."""
        ...

    def available(self, item_ids: Sequence[str]) -> np.ndarray:
        """A boolean mask: may each item be recommended? Unknown items may."""
        ...


@dataclass(frozen=True, slots=True)
class UserArrays:
    """A user's profile over dense item ids (what the compiled recommender reads).

    Attributes
    ----------
    recent_items, recent_types, recent_values
        The remembered interactions, newest first: item ids (``int64``), type codes
        (``int8``, see :data:`streamrec.events.TYPE_CODE`) and values (``float64``,
        NaN where the event had none).
    seen, negative, cart
        Item ids the user interacted with, gave negative feedback on, has in the cart.
    session_category
        The category of the current session (``None`` when it has none).
    """

    recent_items: np.ndarray
    recent_types: np.ndarray
    recent_values: np.ndarray
    seen: np.ndarray
    negative: np.ndarray
    cart: np.ndarray
    session_category: str | None


@runtime_checkable
class ItemNames(Protocol):
    """The two-way map between item names and the state's dense item ids."""

    def item_ids(self, names: Sequence[str]) -> np.ndarray:
        """The dense id of each name (``int64``, ``-1`` where the state never saw it)."""
        ...

    def item_names(self, ids: np.ndarray) -> list[str]:
        """The name of each dense id (all must exist)."""
        ...


@runtime_checkable
class DenseReads(ItemNames, Protocol):
    """The read side over dense item ids: what the compiled recommender reads.

    Every array is indexed like the ``ids`` it answers for; ranked rows are in the
    order of :mod:`streamrec.processing.order`, as their string twins are.
    """

    def user_arrays(self, user_id: str) -> UserArrays | None:
        """The user's profile over dense ids, or ``None`` for an unknown or expired user."""
        ...

    def neighbor_rows(self, items: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per item, the ids and scores of :meth:`OnlineState.neighbors` (empty for ``-1``)."""
        ...

    def top_rows(
        self, ranking: Ranking, k: int, category: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ids and scores of :meth:`OnlineState.top_items`."""
        ...

    def available_rows(self, ids: np.ndarray) -> np.ndarray:
        """:meth:`Catalog.available` over dense ids (a boolean mask)."""
        ...

    def in_category(self, ids: np.ndarray, category: str) -> np.ndarray:
        """Whether each item's catalog entry lists ``category`` (among any of its
        categories; ``False`` for items the catalog does not know)."""
        ...

    def catalog_rows(self, ids: np.ndarray) -> list[CatalogItem | None]:
        """:meth:`Catalog.get` over dense ids (``None`` where unknown)."""
        ...

    def stats_rows(self, ids: np.ndarray) -> list[ItemStats | None]:
        """:meth:`OnlineState.item_stats` over dense ids (``None`` where never seen)."""
        ...

    def newest_rows(self, since_ms: int, k: int) -> np.ndarray:
        """The ``k`` available catalog items created most recently at or after
        ``since_ms`` (newest first, ties by dense id)."""
        ...


@runtime_checkable
class ServingState(OnlineState, Catalog, DenseReads, Protocol):
    """An online state that is also the catalog and answers dense reads, as every
    adapter does: what an engine serves from."""

    def close(self) -> None:
        """Release connections (nothing to release for an in-process state)."""
        ...


@dataclass(frozen=True, slots=True)
class StateSizes:
    """How much a state holds: users with a live profile, items it has ids for
    (from events or the catalog), and items with catalog metadata."""

    users: int
    items: int
    catalog: int


@runtime_checkable
class Inventory(Protocol):
    """A state that can count what it holds and list its catalog (the embedded one;
    a shared store would need a scan for either)."""

    def sizes(self) -> StateSizes:
        """The counts now."""
        ...

    def catalog_page(self, offset: int, limit: int) -> list[CatalogItem]:
        """Up to ``limit`` catalog entries from ``offset``, in the order they were
        first stored."""
        ...
