"""Drift between two windows of one feature: PSI and KL divergence over histograms.

A feature is a histogram: a count per bin, with the same bins in the reference
window and in the live window. With ``p`` the live shares and ``q`` the reference
shares (each window's counts over its total)::

    PSI = sum_i (p_i - q_i) * ln(p_i / q_i)
    KL  = sum_i p_i * ln(p_i / q_i)            # KL(live || reference)

A bin empty in both windows contributes nothing (its limit is 0). Elsewhere a share
below :data:`EPSILON` counts as :data:`EPSILON` (without renormalizing), so a bin
empty in one window only gives a large, finite term. PSI is symmetric: it equals
KL(live || reference) + KL(reference || live). Read it as below 0.1 stable, 0.1 to
0.2 a moderate shift, above 0.2 a significant one.

This module also holds the bins of each feature and :class:`SlidingCounts`, the live
window: the running sum of the last few closed blocks, updated by adding the newest
block and subtracting the one that leaves, so its memory is bounded by the number of
blocks times the number of bins.
"""

from __future__ import annotations

from collections import deque

import numpy as np

#: The share an empty bin takes when the other window has events in it.
EPSILON = 1e-4

#: Upper bounds of the events-per-user bins: 1, 2, 3-4, 5-8, ..., 33-64, then 65+.
ACTIVITY_EDGES = np.array([1, 2, 4, 8, 16, 32, 64])
ACTIVITY_BINS = ("1", "2", "3-4", "5-8", "9-16", "17-32", "33-64", "65+")

#: Last rank (1-based) of each item-popularity bin; later ranks and unranked items
#: fall in the tail bin.
RANK_EDGES = np.array([10, 50, 200, 1000])
RANK_BINS = ("top10", "11-50", "51-200", "201-1000", "tail")
#: Items of the reference kept ranked (the last rank edge).
RANKED_ITEMS = int(RANK_EDGES[-1])

#: Lower bounds of the served-score bins after the first: [0, 0.1), ..., [0.9, 1), 1+.
SCORE_EDGES = np.round(np.arange(1, 11) / 10, 1)
SCORE_BINS = tuple(f"{lo:.1f}-{lo + 0.1:.1f}" for lo in np.arange(10) / 10) + ("1.0+",)

#: Categories of the reference with their own bin (by event share); the rest are
#: ``other``, items without a category ``none``.
TOP_CATEGORIES = 30
OTHER_CATEGORY = "other"
NO_CATEGORY = "none"


def _shares(live: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Both windows' shares over the bins used by either, floored at EPSILON."""
    p = np.asarray(live, dtype=np.float64)
    q = np.asarray(reference, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"windows of different bins: {p.shape} and {q.shape}")
    if p.sum() <= 0 or q.sum() <= 0:
        return None
    p, q = p / p.sum(), q / q.sum()
    used = (p > 0) | (q > 0)
    return np.maximum(p[used], EPSILON), np.maximum(q[used], EPSILON)


def psi(live: np.ndarray, reference: np.ndarray) -> float | None:
    """The population stability index of two histograms (``None`` if one is empty).

    Raises
    ------
    ValueError
        If the histograms have different shapes.
    """
    shares = _shares(live, reference)
    if shares is None:
        return None
    p, q = shares
    return float(np.sum((p - q) * np.log(p / q)))


def kl(live: np.ndarray, reference: np.ndarray) -> float | None:
    """KL(live || reference) of two histograms, in nats (``None`` if one is empty).

    Raises
    ------
    ValueError
        If the histograms have different shapes.
    """
    shares = _shares(live, reference)
    if shares is None:
        return None
    p, q = shares
    return float(np.sum(p * np.log(p / q)))


def activity_counts(events_per_user: np.ndarray) -> np.ndarray:
    """How many users fall in each :data:`ACTIVITY_BINS` bin, given each one's events."""
    bins = np.searchsorted(ACTIVITY_EDGES, events_per_user, side="left")
    return np.bincount(bins, minlength=len(ACTIVITY_BINS)).astype(np.int64)


def rank_bins(ranks: np.ndarray) -> np.ndarray:
    """The :data:`RANK_BINS` bin of each 0-based rank (``-1`` for unranked items)."""
    ranked = np.searchsorted(RANK_EDGES, ranks + 1, side="left")
    return np.where(ranks < 0, len(RANK_BINS) - 1, ranked)


def score_counts(scores: np.ndarray) -> np.ndarray:
    """How many scores fall in each :data:`SCORE_BINS` bin (negative ones in the first)."""
    bins = np.searchsorted(SCORE_EDGES, scores, side="right")
    return np.bincount(bins, minlength=len(SCORE_BINS)).astype(np.int64)


class SlidingCounts:
    """The per-bin counts of the last ``blocks`` closed blocks, as a running sum."""

    def __init__(self, bins: int, blocks: int) -> None:
        self.bins = bins
        self.blocks = blocks
        self.total = np.zeros(bins, dtype=np.int64)
        self._held: deque[np.ndarray] = deque()

    def push(self, counts: np.ndarray) -> None:
        """Add a closed block; the oldest one leaves once more than ``blocks`` are held."""
        block = np.asarray(counts, dtype=np.int64)
        if block.shape != (self.bins,):
            raise ValueError(f"a block of {block.shape} counts in a window of {self.bins} bins")
        self._held.append(block)
        self.total += block
        if len(self._held) > self.blocks:
            self.total -= self._held.popleft()

    def clear(self) -> None:
        """Forget every block."""
        self._held.clear()
        self.total[:] = 0

    def __len__(self) -> int:
        """How many blocks the window holds."""
        return len(self._held)
