"""What the recommender returns, and the port of a pluggable candidate source.

Sources speak the state's dense item ids (see :class:`~streamrec.state.base.DenseReads`).
A source that keeps ids of its own, as a model bundle does, translates them with the
:class:`StateIds` it is handed: array look-ups, never a name per item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from streamrec.ids import IdMap
from streamrec.state.base import UserArrays

#: Which blend weight a source's scores take.
SourceKind = Literal["collaborative", "content", "popularity"]


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
    degraded: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SourceRows:
    """A source's candidates: distinct state item ids, raw scores (``>= 0``, higher is
    better) and the reason the source gives for every one of them."""

    ids: np.ndarray
    scores: np.ndarray
    reason: str

    def __len__(self) -> int:
        return len(self.ids)

    @staticmethod
    def empty() -> SourceRows:
        """No candidates."""
        return SourceRows(np.empty(0, np.int64), np.empty(0), "")


@runtime_checkable
class StateIds(Protocol):
    """Translation between the dense ids of a source's own id map and the state's."""

    def to_state(self, space: IdMap, ids: np.ndarray) -> np.ndarray:
        """State ids of ``space``'s ids ``ids`` (``-1`` where the state does not know
        the item)."""
        ...

    def from_state(self, space: IdMap, ids: np.ndarray) -> np.ndarray:
        """``space``'s ids of state ids ``ids`` (``-1`` where ``space`` does not know
        the item)."""
        ...


@runtime_checkable
class CandidateSource(Protocol):
    """A model that proposes candidates for a user (ALS, content, …).

    ``kind`` says which blend weight applies.
    """

    name: str
    kind: SourceKind

    def candidates(self, user: UserArrays | None, n: int, ids: StateIds) -> SourceRows:
        """Up to ``n`` candidates for the user whose profile is given (``None``: cold)."""
        ...

    def similar(self, item_id: str, n: int, ids: StateIds) -> SourceRows:
        """Up to ``n`` items similar to ``item_id``."""
        ...
