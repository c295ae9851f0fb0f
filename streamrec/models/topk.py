"""Top-k selection over score rows, with exclusions and ``-1`` padding."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: Score of a padding slot (id ``-1``) and of an item that is not a candidate.
NO_SCORE = np.float32(-np.inf)


def top_k(
    scores: np.ndarray, k: int, exclude: sp.csr_matrix | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best items of each row of ``scores``.

    Parameters
    ----------
    scores
        ``(m, n)`` scores; ``-inf`` marks an item that is not a candidate. Modified in
        place where ``exclude`` is set.
    k
        How many items per row.
    exclude
        ``(m, n)`` matrix whose stored entries are items never to return.

    Returns
    -------
    ids, scores
        ``(m, k)`` ``int32`` item ids, best first (equal scores in id order), and
        their ``float32`` scores; rows with fewer than ``k`` candidates are padded with
        id ``-1`` and score ``-inf``.
    """
    m, n = scores.shape
    ids = np.full((m, k), -1, dtype=np.int32)
    best = np.full((m, k), NO_SCORE, dtype=np.float32)
    if exclude is not None and exclude.nnz:
        rows = np.repeat(np.arange(m), np.diff(exclude.indptr))
        scores[rows, exclude.indices] = NO_SCORE
    width = min(k, n)
    if width == 0 or m == 0:
        return ids, best
    if width < n:
        part = np.argpartition(-scores, width - 1, axis=1)[:, :width]
    else:
        part = np.broadcast_to(np.arange(n), (m, n))
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    chosen = np.take_along_axis(part, order, axis=1)
    chosen_scores = np.take_along_axis(part_scores, order, axis=1)
    valid = chosen_scores > NO_SCORE
    ids[:, :width] = np.where(valid, chosen, -1)
    best[:, :width] = np.where(valid, chosen_scores, NO_SCORE)
    return ids, best


def sparse_to_scores(matrix: sp.spmatrix) -> np.ndarray:
    """Dense ``float32`` scores of a sparse score matrix, ``-inf`` where nothing is stored.

    Explicit zeros are dropped first: a zero similarity is no evidence.
    """
    csr = sp.csr_matrix(matrix, dtype=np.float32)
    csr.eliminate_zeros()
    dense = np.full(csr.shape, NO_SCORE, dtype=np.float32)
    rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    dense[rows, csr.indices] = csr.data
    return dense
