"""The OnlineState and Catalog ports, and the domain types they speak.

The stream processor hands every micro-batch to :meth:`OnlineState.apply`; the
recommender reads profiles, neighbours and item rankings back. Adapters (memory,
Redis) share the pure update logic of :mod:`streamrec.processing`, so they hold the
same state for the same events.
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

    def get(self, item_ids: Sequence[str]) -> list[CatalogItem | None]:
        """Metadata of each item (``None`` where unknown)."""
        ...

    def available(self, item_ids: Sequence[str]) -> np.ndarray:
        """A boolean mask: may each item be recommended? Unknown items may."""
        ...


@runtime_checkable
class ServingState(OnlineState, Catalog, Protocol):
    """An online state that is also the catalog, as every adapter is: what an engine
    serves from."""

    def close(self) -> None:
        """Release connections (nothing to release for an in-process state)."""
        ...
