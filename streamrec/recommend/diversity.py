"""Diversity stages: a per-category cap and MMR re-ranking, and intra-list diversity.

Similarity of two items is the Jaccard index of their label sets (categories and
tags, read from the catalog); intra-list diversity (ILD) is the mean of
``1 - similarity`` over the pairs of a list. Both stages read the labels of the
shortlist once, as a binary item-by-label matrix, so the similarity of every pair is
one matrix product.
"""

from __future__ import annotations

import numpy as np

from streamrec.recommend.rules import ItemFacts
from streamrec.recommend.stages import Shortlist


def label_matrix(ids: np.ndarray, facts: ItemFacts) -> np.ndarray:
    """``(n, labels)`` whether each item carries each category or tag."""
    labels: dict[str, int] = {}
    pairs: list[tuple[int, int]] = []
    for row, entry in enumerate(facts.entries(ids)):
        if entry is not None:
            for label in [*entry.categories, *("#" + tag for tag in entry.tags)]:
                pairs.append((row, labels.setdefault(label, len(labels))))
    matrix = np.zeros((len(ids), len(labels)), np.float64)
    if pairs:
        at = np.array(pairs)
        matrix[at[:, 0], at[:, 1]] = 1.0
    return matrix


def similarity(labels: np.ndarray) -> np.ndarray:
    """``(n, n)`` Jaccard similarity of the rows of a binary label matrix (0 for two
    items without labels)."""
    common = labels @ labels.T
    sizes = labels.sum(axis=1)
    union = sizes[:, None] + sizes[None, :] - common
    return np.divide(common, union, out=np.zeros_like(common), where=union > 0)


def intra_list_diversity(ids: np.ndarray, facts: ItemFacts) -> float:
    """The mean dissimilarity of the pairs of the list ``ids`` (0 for fewer than 2)."""
    n = len(ids)
    if n < 2:
        return 0.0
    sim = similarity(label_matrix(ids, facts))
    return float((n * n - n - (sim.sum() - np.trace(sim))) / (n * n - n))


class CategoryCap:
    """Keeps at most ``cap`` items of each primary category, in order (items without a
    category are not capped)."""

    name = "diversity"

    def __init__(self, cap: int) -> None:
        self.cap = cap

    def __call__(self, shortlist: Shortlist) -> np.ndarray:
        """The rows within the cap."""
        counts: dict[str, int] = {}
        keep = np.ones(len(shortlist.rows), np.bool_)
        for at, entry in enumerate(shortlist.marks.facts.entries(shortlist.ids())):
            if entry is None or not entry.categories:
                continue
            primary = entry.categories[0]
            counts[primary] = counts.get(primary, 0) + 1
            keep[at] = counts[primary] <= self.cap
        return shortlist.rows[keep]


class MaximalMarginalRelevance:
    """Re-ranks the first ``k`` places greedily: each takes the row maximizing
    ``lam * relevance - (1 - lam) * (largest similarity to a row already placed)``,
    with relevance the list score over the best one; the rest follow in order."""

    name = "diversity"

    def __init__(self, lam: float) -> None:
        self.lam = lam

    def __call__(self, shortlist: Shortlist) -> np.ndarray:
        """The rows, re-ranked."""
        rows = shortlist.rows
        k = min(shortlist.request.k, len(rows))
        if k < 2:
            return rows
        scores = shortlist.marks.scores[rows]
        top = float(scores.max())
        relevance = scores / top if top > 0 else np.zeros(len(rows))
        sim = similarity(label_matrix(shortlist.ids(), shortlist.marks.facts))
        placed = np.zeros(len(rows), np.bool_)
        closest = np.zeros(len(rows))
        order: list[int] = []
        for _ in range(k):
            value = self.lam * relevance - (1 - self.lam) * closest
            value[placed] = -np.inf
            best = int(np.argmax(value))  # the earliest row on ties
            order.append(best)
            placed[best] = True
            closest = np.maximum(closest, sim[best])
        rest = np.flatnonzero(~placed)
        return rows[np.concatenate([np.array(order, np.int64), rest])]
