"""What the recommender returns, and the port of a pluggable candidate source."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from streamrec.state.base import ScoredItems, UserProfile


@dataclass(frozen=True, slots=True)
class RecommendedItem:
    """One recommended item with why it is there and each source's share of its score."""

    item_id: str
    score: float
    reasons: list[str]
    sources: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Recommendation:
    """A ranked list for one request."""

    user_id: str | None
    items: list[RecommendedItem]
    recommendation_id: str
    variant: str = "default"
    model_version: str | None = None
    fallback: bool = False


@dataclass(frozen=True, slots=True)
class SourceCandidates:
    """A source's candidates with raw scores and, per item, the reason it offers."""

    items: ScoredItems
    reasons: list[str]


@runtime_checkable
class CandidateSource(Protocol):
    """A model that proposes candidates for a user (ALS, content, …).

    ``kind`` says which blend weight applies: ``"collaborative"``, ``"content"`` or
    ``"popularity"``.
    """

    name: str
    kind: str

    def candidates(self, profile: UserProfile | None, seeds: list[str], n: int) -> SourceCandidates:
        """Up to ``n`` candidates for the user whose profile and seed items are given."""
        ...

    def similar(self, item_id: str, n: int) -> SourceCandidates:
        """Up to ``n`` items similar to ``item_id``."""
        ...
