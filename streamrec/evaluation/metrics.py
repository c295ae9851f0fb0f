"""Top-K recommendation metrics, vectorized over users.

Every function takes the recommendations as an ``int`` array ``recommended[u, r]``
(users x rank) of dense item ids, ``-1`` where a list is shorter than ``K``. Relevant
items are a users x items sparse matrix (nonzero = relevant) whose rows line up with
the rows of ``recommended``.

Accuracy metrics (:func:`ranking_metrics`) return per-user values so callers can
average, bootstrap or slice them; beyond-accuracy metrics (coverage, inter-user
similarity, intra-list diversity, novelty) return one number.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: Blocks of users processed at once by the pairwise metrics (bounds memory).
_USER_BLOCK = 4096


def hits(recommended: np.ndarray, relevant: sp.spmatrix) -> np.ndarray:
    """Which recommended items are relevant.

    Parameters
    ----------
    recommended
        ``(users, K)`` dense item ids, ``-1`` padding.
    relevant
        ``(users, n_items)`` sparse matrix; a nonzero marks a relevant item.

    Returns
    -------
    numpy.ndarray
        ``(users, K)`` booleans; padding is never a hit.
    """
    recommended = np.asarray(recommended, dtype=np.int64)
    relevant = sp.csr_matrix(relevant)
    relevant.eliminate_zeros()
    n_users, n_items = relevant.shape
    if recommended.shape[0] != n_users:
        raise ValueError(f"{recommended.shape[0]} recommendation rows for {n_users} users")
    rows = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(relevant.indptr))
    relevant_keys = rows * n_items + relevant.indices
    valid = (recommended >= 0) & (recommended < n_items)
    keys = np.arange(n_users, dtype=np.int64)[:, None] * n_items + recommended
    return valid & np.isin(keys, relevant_keys)


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def precision_at_k(hit: np.ndarray, k: int) -> np.ndarray:
    """Hits in the top ``k`` divided by ``k`` (short lists are not rewarded)."""
    return hit[:, :k].sum(axis=1) / k


def recall_at_k(hit: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Hits in the top ``k`` divided by the number of relevant items (0 when none)."""
    found = hit[:, :k].sum(axis=1).astype(np.float64)
    out: np.ndarray = np.divide(found, n_relevant, out=np.zeros_like(found), where=n_relevant > 0)
    return out


def hit_rate_at_k(hit: np.ndarray, k: int) -> np.ndarray:
    """1 when at least one of the top ``k`` is relevant, else 0."""
    return np.asarray(hit[:, :k].any(axis=1), dtype=np.float64)


def reciprocal_rank_at_k(hit: np.ndarray, k: int) -> np.ndarray:
    """``1 / rank`` of the first relevant item in the top ``k`` (0 when none)."""
    top = hit[:, :k]
    first = top.argmax(axis=1)
    return np.where(top.any(axis=1), 1.0 / (first + 1), 0.0)


def ndcg_at_k(hit: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Normalized DCG with binary gain: ``DCG / ideal DCG`` (0 when nothing is relevant).

    ``DCG = sum_r hit[r] / log2(r + 2)`` over ranks ``r = 0..k-1``; the ideal puts
    ``min(k, n_relevant)`` hits first.
    """
    discounts = _discounts(k)
    top = hit[:, :k]
    dcg = top.astype(np.float64) @ discounts[: top.shape[1]]
    ideal_cumulative = np.concatenate([[0.0], np.cumsum(discounts)])
    ideal = ideal_cumulative[np.minimum(n_relevant, k)]
    return np.divide(dcg, ideal, out=np.zeros_like(dcg), where=ideal > 0)


def ranking_metrics(
    recommended: np.ndarray, relevant: sp.spmatrix, ks: tuple[int, ...] = (1, 5, 10, 20)
) -> dict[str, np.ndarray]:
    """Per-user Precision, Recall, NDCG, HitRate and MRR at each ``k``.

    Returns
    -------
    dict
        ``"precision@10"`` and so on, each a ``(users,)`` array.
    """
    hit = hits(recommended, relevant)
    n_relevant = np.diff(sp.csr_matrix(relevant).indptr)
    out: dict[str, np.ndarray] = {}
    for k in ks:
        out[f"precision@{k}"] = precision_at_k(hit, k)
        out[f"recall@{k}"] = recall_at_k(hit, n_relevant, k)
        out[f"ndcg@{k}"] = ndcg_at_k(hit, n_relevant, k)
        out[f"hit_rate@{k}"] = hit_rate_at_k(hit, k)
        out[f"mrr@{k}"] = reciprocal_rank_at_k(hit, k)
    return out


def incidence(recommended: np.ndarray, n_items: int) -> sp.csr_matrix:
    """The users x items 0/1 matrix of the recommended lists (padding dropped)."""
    recommended = np.asarray(recommended, dtype=np.int64)
    valid = recommended >= 0
    rows = np.nonzero(valid)[0]
    matrix = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float64), (rows, recommended[valid])),
        shape=(recommended.shape[0], n_items),
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def catalog_coverage(recommended: np.ndarray, n_catalog: int) -> float:
    """Distinct recommended items divided by ``n_catalog`` (e.g. distinct train items)."""
    if n_catalog <= 0:
        raise ValueError("n_catalog must be positive")
    distinct = np.unique(np.asarray(recommended)[np.asarray(recommended) >= 0])
    return len(distinct) / n_catalog


def inter_user_similarity(
    recommended: np.ndarray, max_users: int | None = None, seed: int = 0
) -> float:
    """Mean Jaccard similarity of the recommended lists over all pairs of users.

    Computed exactly from the sparse product ``X @ X.T`` of the lists x items
    incidence matrix ``X``, a block of lists at a time: pairs sharing no item
    contribute 0 and never materialize, and identical lists are computed once and
    weighted by how many users got them. Two empty lists count as similarity 0.

    Parameters
    ----------
    recommended
        ``(users, K)`` dense item ids, ``-1`` padding.
    max_users
        When there are more users than this, the mean is taken over all pairs of a
        uniform random sample of ``max_users`` users (an unbiased estimate).
    seed
        Seed of that sample.
    """
    recommended = np.asarray(recommended, dtype=np.int64)
    if max_users is not None and recommended.shape[0] > max_users:
        rng = np.random.default_rng(seed)
        recommended = recommended[np.sort(rng.choice(recommended.shape[0], max_users, False))]
    n_users = recommended.shape[0]
    if n_users < 2:
        return 0.0
    # Identical lists (as sets) are merged and weighted by their multiplicity.
    lists, copies = np.unique(np.sort(recommended, axis=1), axis=0, return_counts=True)
    copies = copies.astype(np.float64)
    n_items = int(recommended.max(initial=-1)) + 1
    x = incidence(lists, max(n_items, 1))
    sizes = np.diff(x.indptr).astype(np.float64)
    nonempty = sizes > 0
    total = float(np.sum(copies[nonempty] * (copies[nonempty] - 1) / 2))
    xt = x.T.tocsr()
    block = max(1, 4_000_000 // len(lists))
    for start in range(0, len(lists), block):
        shared = (x[start : start + block] @ xt).tocoo()
        rows = shared.row + start
        upper = shared.col > rows
        rows, cols, common = rows[upper], shared.col[upper], shared.data[upper]
        weight = copies[rows] * copies[cols]
        total += float(np.sum(weight * common / (sizes[rows] + sizes[cols] - common)))
    return total / (n_users * (n_users - 1) / 2)


def _pair_mean(similarity: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per user, the mean of ``1 - similarity`` over distinct valid pairs (NaN if < 2)."""
    pair = valid[:, :, None] & valid[:, None, :]
    k = valid.shape[1]
    pair &= ~np.eye(k, dtype=bool)[None]
    count = pair.sum(axis=(1, 2))
    distance = np.where(pair, 1.0 - similarity, 0.0).sum(axis=(1, 2))
    return np.divide(distance, count, out=np.full(len(count), np.nan), where=count > 0)


def intra_list_diversity(
    recommended: np.ndarray, item_features: np.ndarray | sp.spmatrix, measure: str = "cosine"
) -> float:
    """Mean pairwise distance between the items of each list, averaged over users.

    Parameters
    ----------
    recommended
        ``(users, K)`` dense item ids, ``-1`` padding.
    item_features
        ``(n_items, d)`` item vectors (``measure="cosine"``: distance ``1 - cos``) or
        0/1 item categories (``measure="jaccard"``: distance ``1 - |A & B| / |A | B|``).
        Similarity with an item without features is 0.
    measure
        ``"cosine"`` or ``"jaccard"``.

    Returns
    -------
    float
        The mean over users whose list holds at least two items (NaN if none does).
    """
    if measure not in ("cosine", "jaccard"):
        raise ValueError(f"unknown measure {measure!r}; use 'cosine' or 'jaccard'")
    if isinstance(item_features, np.ndarray):
        features = np.asarray(item_features, dtype=np.float64)
    else:
        features = sp.csr_matrix(item_features).toarray().astype(np.float64)
    if measure == "cosine":
        norms = np.linalg.norm(features, axis=1, keepdims=True)
        features = np.divide(features, norms, out=np.zeros_like(features), where=norms > 0)
    else:
        features = (features != 0).astype(np.float64)
    recommended = np.asarray(recommended, dtype=np.int64)
    per_user = []
    for start in range(0, recommended.shape[0], _USER_BLOCK):
        block = recommended[start : start + _USER_BLOCK]
        valid = block >= 0
        vectors = features[np.where(valid, block, 0)]
        dot = np.einsum("ukd,uvd->ukv", vectors, vectors)
        if measure == "jaccard":
            sizes = vectors.sum(axis=2)
            union = sizes[:, :, None] + sizes[:, None, :] - dot
            dot = np.divide(dot, union, out=np.zeros_like(dot), where=union > 0)
        per_user.append(_pair_mean(dot, valid))
    values = np.concatenate(per_user) if per_user else np.empty(0)
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else float("nan")


def novelty(recommended: np.ndarray, item_users: np.ndarray, n_users: int) -> float:
    """Mean self-information ``-log2 p(i)`` of the recommended items.

    ``p(i) = item_users[i] / n_users`` is the share of training users who interacted
    with ``i``; items never seen in training count as seen by one user. Each user's
    list is averaged first, then the users.
    """
    if n_users <= 0:
        raise ValueError("n_users must be positive")
    counts = np.maximum(np.asarray(item_users, dtype=np.float64), 1.0)
    information = -np.log2(np.minimum(counts / n_users, 1.0))
    recommended = np.asarray(recommended, dtype=np.int64)
    valid = recommended >= 0
    values = np.where(valid, information[np.where(valid, recommended, 0)], 0.0)
    length = valid.sum(axis=1)
    per_user = np.divide(values.sum(axis=1), length, out=np.zeros(len(length)), where=length > 0)
    return float(per_user[length > 0].mean()) if (length > 0).any() else float("nan")


def mean_interval(values: np.ndarray, z: float = 1.96) -> tuple[float, float]:
    """Mean and half-width of its normal-approximation interval (95% for ``z = 1.96``).

    The half-width is ``z * s / sqrt(n)`` with ``s`` the sample standard deviation;
    0 when there are fewer than two values.
    """
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return float("nan"), float("nan")
    if len(values) < 2:
        return float(values[0]), 0.0
    return float(values.mean()), float(z * values.std(ddof=1) / np.sqrt(len(values)))
