"""Reference baselines: global popularity and the seed system's co-occurrence.

Both learn incrementally, so under the prequential protocol they are genuine
streaming algorithms: ``learn`` costs time proportional to the new events, and the
next recommendation sees them.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from streamrec.config import EventWeights
from streamrec.evaluation.splits import positive_mask
from streamrec.events import EventBatch
from streamrec.ids import IdMap
from streamrec.models.topk import NO_SCORE, top_k
from streamrec.models.weighting import event_weights

#: Dense score cells computed at once while recommending (bounds memory per call).
_SCORE_CELLS = 1 << 23


def exclusion_matrix(exclude: list[set[str]], items: IdMap) -> sp.csr_matrix:
    """The ``exclude`` sets as a users x items matrix over ``items`` (unknown ids dropped)."""
    rows, cols = [], []
    for row, names in enumerate(exclude):
        dense = items.lookup_many(sorted(names))
        dense = dense[dense >= 0]
        rows.append(np.full(len(dense), row))
        cols.append(dense)
    row_ids = np.concatenate(rows) if rows else np.empty(0, np.int64)
    col_ids = np.concatenate(cols) if cols else np.empty(0, np.int64)
    return sp.csr_matrix(
        (np.ones(len(row_ids), np.float32), (row_ids, col_ids)),
        shape=(len(exclude), items.capacity),
    )


class UserItemLog:
    """A growing users x items matrix of summed event weights.

    The same rule as the batch models' interaction matrix: weights from
    :func:`~streamrec.models.weighting.event_weights`, summed per (user, item), and
    only positive totals count as interactions.
    """

    def __init__(self, weights: EventWeights) -> None:
        self.weights = weights
        self.users = IdMap()
        self.items = IdMap()
        self._total = sp.csr_matrix((0, 0), dtype=np.float64)
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._positive: sp.csr_matrix | None = None

    def add(self, batch: EventBatch) -> None:
        """Fold in a batch of events."""
        if not len(batch):
            return
        self._pending.append(
            (
                self.users.intern_many(batch.user_id),
                self.items.intern_many(batch.item_id),
                event_weights(batch.type, batch.value, self.weights),
            )
        )
        self._positive = None

    def incidence(self) -> sp.csr_matrix:
        """The 0/1 matrix of positive (user, item) totals, ``(users, items)``."""
        if self._positive is None:
            shape = (self.users.capacity, self.items.capacity)
            total = sp.csr_matrix(self._total)
            total.resize(shape)
            if self._pending:
                rows, cols, values = (np.concatenate(p) for p in zip(*self._pending, strict=True))
                total = (total + sp.csr_matrix((values, (rows, cols)), shape=shape)).tocsr()
                self._pending = []
            self._total = total
            positive = total.copy()
            positive.data = (positive.data > 0).astype(np.float64)
            positive.eliminate_zeros()
            self._positive = positive
        return self._positive

    def rows(self, user_ids: list[str], matrix: sp.csr_matrix) -> sp.csr_matrix:
        """The rows of ``matrix`` for ``user_ids`` (empty for unknown users)."""
        dense = self.users.lookup_many(user_ids)
        known = dense >= 0
        selector = sp.csr_matrix(
            (np.ones(int(known.sum())), (np.flatnonzero(known), dense[known])),
            shape=(len(user_ids), matrix.shape[0]),
        )
        return (selector @ matrix).tocsr()


class PopularityAlgorithm:
    """Items ranked by their number of positive events (most popular first)."""

    name = "popularity"

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.items = IdMap()
        self.counts = np.zeros(0, dtype=np.int64)

    def fit(self, train: EventBatch) -> None:
        """Count ``train``'s positive events per item, from scratch."""
        self.items = IdMap()
        self.counts = np.zeros(0, dtype=np.int64)
        self.learn(train)

    def learn(self, batch: EventBatch) -> None:
        """Add ``batch``'s positive events to the counts."""
        positive = np.flatnonzero(positive_mask(batch, self.threshold))
        dense = self.items.intern_many([batch.item_id[i] for i in positive.tolist()])
        grown = np.zeros(self.items.capacity, dtype=np.int64)
        grown[: len(self.counts)] = self.counts
        np.add.at(grown, dense, 1)
        self.counts = grown

    def recommend(self, user_ids: list[str], k: int, exclude: list[set[str]]) -> list[list[str]]:
        """The most popular items each user has not excluded (ties in id order)."""
        order = np.argsort(-self.counts, kind="stable")
        ranked = self.items.names(order[self.counts[order] > 0])
        out = []
        for banned in exclude:
            picks: list[str] = []
            for item in ranked:
                if item not in banned:
                    picks.append(item)
                    if len(picks) == k:
                        break
            out.append(picks)
        return out


class CooccurrenceAlgorithm:
    """The seed system's item-to-item co-occurrence.

    With ``c(j)`` the number of users who interacted with item ``j`` and ``c(i, j)``
    the number who interacted with both ``i`` and ``j``, a user with items ``J``
    scores ``s(i) = sum_{j in J} c(i, j) / c(j)``. The co-occurrence matrix is never
    built: ``s = (x / c) X^T X`` with ``X`` the users x items incidence matrix, so
    learning only appends to ``X``. Items with no co-occurrence are not candidates.
    """

    name = "cooccurrence"

    def __init__(self, weights: EventWeights) -> None:
        self.weights = weights
        self.log = UserItemLog(weights)

    def fit(self, train: EventBatch) -> None:
        """Start over from ``train``."""
        self.log = UserItemLog(self.weights)
        self.log.add(train)

    def learn(self, batch: EventBatch) -> None:
        """Append ``batch`` to the users' items."""
        self.log.add(batch)

    def scores(self, user_ids: list[str]) -> np.ndarray:
        """Dense ``(len(user_ids), items)`` co-occurrence scores, ``-inf`` for none."""
        x = self.log.incidence()
        users = np.asarray(x.sum(axis=0)).ravel()
        inverse = np.divide(1.0, users, out=np.zeros_like(users), where=users > 0)
        weighted = self.log.rows(user_ids, x) @ sp.diags(inverse)
        scores = ((weighted @ x.T) @ x).toarray().astype(np.float32)
        scores[scores <= 0] = NO_SCORE
        return scores

    def recommend(self, user_ids: list[str], k: int, exclude: list[set[str]]) -> list[list[str]]:
        """Each user's top ``k`` co-occurring items outside ``exclude``."""
        banned = exclusion_matrix(exclude, self.log.items)
        step = max(1, _SCORE_CELLS // max(1, self.log.items.capacity))
        out: list[list[str]] = []
        for start in range(0, len(user_ids), step):
            block = slice(start, start + step)
            ids, _ = top_k(self.scores(user_ids[block]), k, banned[block])
            out.extend(self.log.items.names(row[row >= 0]) for row in ids)
        return out
