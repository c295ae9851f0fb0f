"""Run an algorithm on a holdout split and score its lists with every metric."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from streamrec.evaluation import metrics
from streamrec.evaluation.splits import HoldoutSplit
from streamrec.ids import IdMap

if TYPE_CHECKING:  # the registry's shipped path scores with this module
    from streamrec.evaluation.algorithms import Algorithm

#: Users whose lists are requested per call (progress granularity).
RECOMMEND_BLOCK = 256
#: Above this many users, inter-user similarity is averaged over a user sample.
SIMILARITY_MAX_USERS = 20_000


@dataclass(frozen=True)
class HoldoutResult:
    """One algorithm's scores on a holdout split.

    Attributes
    ----------
    algorithm
        The algorithm's name.
    metrics
        Means over evaluated users (``"precision@10"``, ...) and beyond-accuracy
        values at the main ``k`` (``"coverage@10"``, ``"similarity@10"``, ...).
    per_user
        Per-user accuracy values, for slicing and confidence intervals.
    fit_seconds, recommend_seconds
        Wall time of training and of producing every list.
    """

    algorithm: str
    metrics: dict[str, float]
    per_user: dict[str, np.ndarray]
    fit_seconds: float
    recommend_seconds: float


def category_matrix(categories: Mapping[str, Sequence[str]], items: IdMap) -> sp.csr_matrix:
    """Items x categories 0/1 matrix for the items of ``items`` (others have none)."""
    names = IdMap()
    rows, cols = [], []
    for item, labels in categories.items():
        dense = items.get(item)
        if dense is not None:
            for label in labels:
                rows.append(dense)
                cols.append(names.intern(label))
    return sp.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(items.capacity, max(1, names.capacity))
    )


def _dense(lists: Sequence[Sequence[str]], items: IdMap, k: int) -> np.ndarray:
    out = np.full((len(lists), k), -1, dtype=np.int64)
    for row, names in enumerate(lists):
        ids = items.intern_many(list(names)[:k])
        out[row, : len(ids)] = ids
    return out


def score_lists(
    split: HoldoutSplit,
    lists: Sequence[Sequence[str]],
    *,
    ks: tuple[int, ...] = (1, 5, 10, 20),
    main_k: int = 10,
    categories: Mapping[str, Sequence[str]] | None = None,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Every metric of the recommended ``lists`` (one per evaluated user of ``split``).

    Coverage's denominator is the number of distinct training items; novelty's
    popularity is the share of training users who interacted with an item.
    """
    items = IdMap()
    train_items = items.intern_many(split.train.item_id)
    n_train_items = len(items)
    recommended = _dense(lists, items, max(ks))
    relevant_rows = [items.intern_many(sorted(r)) for r in split.relevant]
    relevant = sp.csr_matrix(
        (
            np.ones(sum(len(r) for r in relevant_rows)),
            (
                np.repeat(np.arange(len(relevant_rows)), [len(r) for r in relevant_rows]),
                np.concatenate(relevant_rows) if relevant_rows else np.empty(0, np.int64),
            ),
        ),
        shape=(len(split.users), items.capacity),
    )
    per_user = metrics.ranking_metrics(recommended, relevant, ks)
    summary = {
        name: float(values.mean()) if len(values) else 0.0 for name, values in per_user.items()
    }
    top = recommended[:, :main_k]
    users = IdMap()
    pairs = np.unique(
        np.stack([users.intern_many(split.train.user_id).astype(np.int64), train_items]), axis=1
    )
    item_users = np.bincount(pairs[1], minlength=items.capacity)
    summary[f"coverage@{main_k}"] = metrics.catalog_coverage(top, max(1, n_train_items))
    summary[f"similarity@{main_k}"] = metrics.inter_user_similarity(top, SIMILARITY_MAX_USERS)
    summary[f"novelty@{main_k}"] = metrics.novelty(top, item_users, max(1, len(users)))
    if categories:
        summary[f"diversity@{main_k}"] = metrics.intra_list_diversity(
            top, category_matrix(categories, items), measure="jaccard"
        )
    return summary, per_user


def evaluate_holdout(
    split: HoldoutSplit,
    algorithm: Algorithm,
    *,
    ks: tuple[int, ...] = (1, 5, 10, 20),
    main_k: int = 10,
    categories: Mapping[str, Sequence[str]] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> HoldoutResult:
    """Fit ``algorithm`` on the split's training events and score its top lists.

    Parameters
    ----------
    split
        From :func:`~streamrec.evaluation.splits.seed004_split` or another split.
    algorithm
        The algorithm to evaluate (fitted from scratch here).
    ks
        Cut-offs of the accuracy metrics; lists of ``max(ks)`` items are requested.
    main_k
        Cut-off of the beyond-accuracy metrics.
    categories
        Item categories (for intra-list diversity).
    on_progress
        Called with the number of users whose lists were just produced.
    """
    started = time.perf_counter()
    algorithm.fit(split.train)
    fitted = time.perf_counter()
    lists: list[list[str]] = []
    for start in range(0, len(split.users), RECOMMEND_BLOCK):
        block = slice(start, start + RECOMMEND_BLOCK)
        lists.extend(algorithm.recommend(split.users[block], max(ks), split.exclude[block]))
        if on_progress is not None:
            on_progress(len(split.users[block]))
    done = time.perf_counter()
    summary, per_user = score_lists(split, lists, ks=ks, main_k=main_k, categories=categories)
    return HoldoutResult(algorithm.name, summary, per_user, fitted - started, done - fitted)
