"""Item-based nearest neighbours: sparse cosine similarity, top neighbours kept.

``S[i, j]`` is the shrunk cosine similarity of items ``i`` and ``j`` over the users'
interaction weights, ``dot(i, j) / (|i| |j| + shrink)``, kept only for the
``neighbors`` most similar ``j`` of each ``i``. A user's score for ``j`` is
``Σ_i w_ui S[i, j]``: the items they interacted with vote for their neighbours.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from streamrec.models.base import Recommender, sparse_arrays, sparse_from_arrays
from streamrec.models.topk import sparse_to_scores
from streamrec.models.weighting import Confidence, apply_confidence

#: Dense similarity cells computed at once while fitting.
_FIT_CELLS = 1 << 24


class ItemKNNModel(Recommender):
    """Cosine item-item neighbours.

    Parameters
    ----------
    neighbors
        Neighbours kept per item.
    shrink
        Added to the norm product; damps similarities resting on few users.
    confidence
        Transform of the interaction weights (see :class:`Confidence`).
    """

    kind = "itemknn"

    def __init__(
        self,
        neighbors: int = 100,
        shrink: float = 10.0,
        confidence: Confidence | str = Confidence.LINEAR,
    ) -> None:
        if neighbors < 1:
            raise ValueError(f"neighbors must be at least 1, got {neighbors}")
        if shrink < 0:
            raise ValueError(f"shrink must not be negative, got {shrink}")
        self.neighbors = neighbors
        self.shrink = shrink
        self.confidence = Confidence(confidence)
        self.similarity = sp.csr_matrix((0, 0), dtype=np.float32)

    def params(self) -> dict[str, Any]:
        return {
            "neighbors": self.neighbors,
            "shrink": self.shrink,
            "confidence": self.confidence.value,
        }

    @property
    def n_items(self) -> int:
        return int(self.similarity.shape[0])

    def fit(self, matrix: sp.csr_matrix) -> Self:
        """Compute the neighbour lists of every item, a block of items at a time."""
        item_users = apply_confidence(matrix, self.confidence).T.tocsr().astype(np.float64)
        n = item_users.shape[0]
        norms = np.sqrt(np.asarray(item_users.multiply(item_users).sum(axis=1)).ravel())
        keep = min(self.neighbors, max(0, n - 1))
        step = max(1, _FIT_CELLS // max(1, n))
        blocks = []
        for start in range(0, n, step):
            block = np.arange(start, min(n, start + step))
            dots = (item_users[block] @ item_users.T).toarray()
            cosine = dots / (norms[block, None] * norms[None, :] + self.shrink + 1e-12)
            cosine[np.arange(block.size), block] = 0.0
            blocks.append(_top_per_row(cosine, keep))
        self.similarity = (
            sp.vstack(blocks, format="csr", dtype=np.float32)
            if blocks
            else sp.csr_matrix((0, 0), dtype=np.float32)
        )
        self.similarity.resize((n, n))
        self.similarity.sort_indices()
        return self

    def _user_scores(self, user_items: sp.csr_matrix) -> np.ndarray:
        return sparse_to_scores(apply_confidence(user_items, self.confidence) @ self.similarity)

    def _item_scores(self, item_ids: np.ndarray) -> np.ndarray:
        return sparse_to_scores(self.similarity[item_ids])

    def _arrays(self) -> dict[str, np.ndarray]:
        return sparse_arrays("similarity", self.similarity)

    @classmethod
    def _from_arrays(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        model = cls(**params)
        model.similarity = sparse_from_arrays("similarity", arrays)
        return model


def _top_per_row(dense: np.ndarray, keep: int) -> sp.csr_matrix:
    """The ``keep`` largest positive entries of each row of ``dense``, as CSR."""
    rows, n = dense.shape
    if keep == 0:
        return sp.csr_matrix((rows, n), dtype=np.float32)
    if keep < n:
        columns = np.argpartition(-dense, keep - 1, axis=1)[:, :keep]
    else:
        columns = np.broadcast_to(np.arange(n), (rows, n))
    values = np.take_along_axis(dense, columns, axis=1)
    positive = values > 0
    row_ids = np.broadcast_to(np.arange(rows)[:, None], columns.shape)
    return sp.csr_matrix(
        (values[positive], (row_ids[positive], columns[positive])),
        shape=(rows, n),
        dtype=np.float32,
    )
