"""Stage one: seeds, co-occurrence candidates, and the candidate set of a request.

Everything here is over the state's dense item ids. A :class:`CandidateSet` holds
every distinct candidate once, with each source's raw score in one column of a dense
matrix (0 where the source did not propose it), so the score stage can blend the
columns and a ranker can read them as features. Reasons stay codes until the final
list is rendered: the source column of a candidate's largest share, and for
co-occurrence the index of the seed that contributed most.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from streamrec.events import EVENT_TYPES, EventType
from streamrec.processing.weights import UNPAIRED_TYPES
from streamrec.recommend.kernels import merge_entries, seed_positions
from streamrec.recommend.types import SourceRows
from streamrec.state.base import UserArrays

_VERBS = {
    EventType.VIEW: "viewed",
    EventType.CLICK: "clicked",
    EventType.ADD_TO_CART: "added to cart",
    EventType.WISHLIST: "wishlisted",
    EventType.PURCHASE: "bought",
    EventType.RATING: "rated",
    EventType.LIKE: "liked",
}
#: ``because you <verb>`` by type code.
_BECAUSE = [f"because you {_VERBS.get(t, 'interacted with')} " for t in EVENT_TYPES]
#: Whether a type code's interaction seeds neighbours.
_SEED_TYPE = np.array([t not in UNPAIRED_TYPES for t in EVENT_TYPES], dtype=np.bool_)


@dataclass(frozen=True, slots=True)
class Seeds:
    """Items whose neighbours are candidates, with a weight and a reason prefix each.

    Attributes
    ----------
    ids
        State ids (``-1`` for an item the state does not know: it has no neighbours).
    weights
        How much each seed's neighbour scores count.
    prefixes
        The reason of a candidate the seed contributed most to, before its title.
    names
        The seed's name where the request gave it, else ``None`` (looked up when a
        reason needs it).
    """

    ids: np.ndarray
    weights: np.ndarray
    prefixes: list[str]
    names: list[str | None]

    def __len__(self) -> int:
        return len(self.ids)

    @staticmethod
    def of_user(
        user: UserArrays | None,
        context: tuple[int, str] | None,
        limit: int,
        half_life: float,
    ) -> Seeds:
        """The context item (weight 1), then the user's most recent distinct positive
        interactions (weight ``0.5 ** (rank / half_life)`` by position in the history),
        at most ``limit`` in all; items with negative feedback never seed."""
        ids: list[int] = []
        weights: list[float] = []
        prefixes: list[str] = []
        if context is not None:
            ids.append(context[0])
            weights.append(1.0)
            prefixes.append("because you are looking at ")
        if user is not None and limit > len(ids):
            items, types = user.recent_items, user.recent_types
            skip = -1 if context is None else context[0]
            found = seed_positions(items, types, user.negative, skip, limit - len(ids), _SEED_TYPE)
            ranks = found.tolist()
            ids.extend(items[found].tolist())
            weights.extend(0.5 ** (rank / half_life) for rank in ranks)
            prefixes.extend(_BECAUSE[code] for code in types[found].tolist())
        names: list[str | None] = [None] * len(ids)
        if context is not None:
            names[0] = context[1]
        return Seeds(np.array(ids, np.int64), np.array(weights), prefixes, names)


@dataclass(frozen=True, slots=True)
class Column:
    """One source's contribution as gathered: entries of (item, value) that are summed
    per item, with the seed behind each entry (``None``: unseeded), the blend weight
    of the source and its reason text."""

    name: str
    weight: float
    ids: np.ndarray
    values: np.ndarray
    reason: str = ""
    seeds: np.ndarray | None = None

    @staticmethod
    def of(name: str, weight: float, rows: SourceRows) -> Column:
        """A source's rows as a column."""
        return Column(name, weight, rows.ids, rows.scores, rows.reason)


def cooccurrence_column(
    name: str, weight: float, seeds: Seeds, rows: Sequence[tuple[np.ndarray, np.ndarray]]
) -> Column:
    """Neighbours of every seed: an item's score is the sum over seeds of
    ``seed weight * neighbour score``, and its seed that of the largest term."""
    sizes = [len(ids) for ids, _ in rows]
    if not sum(sizes):
        return Column(name, weight, np.empty(0, np.int64), np.empty(0), seeds=np.empty(0, np.int64))
    seed = np.repeat(np.arange(len(rows)), sizes)
    shares = seeds.weights[seed] * np.concatenate([scores for _, scores in rows])
    return Column(name, weight, np.concatenate([ids for ids, _ in rows]), shares, seeds=seed)


@dataclass(frozen=True, slots=True)
class CandidateSet:
    """Every distinct candidate of a request, with each source's raw score.

    Attributes
    ----------
    ids
        State item ids, distinct and ascending (``int64``, ``n``).
    raw
        ``(n, m)``: column ``j`` holds source ``j``'s raw score (``> 0``) of the
        candidates it proposed, 0 elsewhere.
    top
        ``(m,)``: each source's best raw score (0 for a source with no rows).
    sources, weights, reasons
        Per column: the source's name, blend weight and reason text.
    seeds
        ``(n, m)``: for a seeded source, the seed of the largest term of the score
        (the earliest seed on ties); ``-1`` elsewhere.
    """

    ids: np.ndarray
    raw: np.ndarray
    top: np.ndarray
    sources: tuple[str, ...]
    weights: np.ndarray
    reasons: tuple[str, ...]
    seeds: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def normalized(self) -> np.ndarray:
        """``(n, m)`` each source's score divided by its best one (in ``[0, 1]``)."""
        return np.divide(self.raw, self.top, out=np.zeros_like(self.raw), where=self.top > 0)

    @staticmethod
    def gather(columns: Sequence[Column]) -> CandidateSet:
        """Merge the columns: a candidate is any item some column scores above 0."""
        if columns:
            ids, raw, seeds, top = merge_entries(
                np.concatenate([c.ids for c in columns]).astype(np.int64, copy=False),
                np.concatenate([c.values for c in columns]).astype(np.float64, copy=False),
                np.repeat(np.arange(len(columns)), [len(c.ids) for c in columns]),
                np.concatenate(
                    [
                        np.full(len(c.ids), -1, np.int64) if c.seeds is None else c.seeds
                        for c in columns
                    ]
                ),
                len(columns),
            )
        else:
            ids, raw, seeds, top = (
                np.empty(0, np.int64),
                np.zeros((0, 0)),
                np.zeros((0, 0), np.int64),
                np.zeros(0),
            )
        return CandidateSet(
            ids=ids,
            raw=raw,
            top=top,
            sources=tuple(c.name for c in columns),
            weights=np.array([c.weight for c in columns], dtype=np.float64),
            reasons=tuple(c.reason for c in columns),
            seeds=seeds,
        )
