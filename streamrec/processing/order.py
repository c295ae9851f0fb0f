"""The one order of ranked items: score descending, then item id ascending.

Every cut of a ranked list uses it: a neighbour row read, the popular and trending
top-k, the final recommendation list. So two states that hold the same events give
the same lists, whatever order their rows, sorted sets or dense ids are in.

Scores are compared at a fixed resolution, because two states never compute them
bit for bit alike: Redis adds each batch's sum of co-occurrence weights (``ZINCRBY``)
where the memory state adds pair by pair, and each state sets its own decay landmark,
which scales every stored weight and popularity. Both effects change a score by a few
units in the last place, or scale a whole list. A score is therefore compared
*relative to the best score of its list*, rounded to :data:`DECIMALS` decimals: a
list's ratios are independent of the landmark, and scores within ``1e-9`` of the
best one count as tied and are ordered by item id. Two exactly equal sums differ
across states only where a rounding boundary falls between their last bits
(a chance of about ``1e-7`` per pair).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: Decimals of the relative scores the order compares.
DECIMALS = 9


def order_keys(scores: np.ndarray) -> np.ndarray:
    """The scores as the order compares them: ``round(score / |best|, DECIMALS)``.

    ``best`` is the largest score (a list whose best score is 0 is compared as is).
    """
    if len(scores) == 0:
        return np.asarray(scores, dtype=np.float64)
    scale = abs(float(np.max(scores))) or 1.0
    return np.round(np.asarray(scores, dtype=np.float64) / scale, DECIMALS)


def best_first(
    scores: np.ndarray, k: int, names: Callable[[np.ndarray], Sequence[str]]
) -> np.ndarray:
    """Indices of the first ``k`` entries in the order, best first.

    Parameters
    ----------
    scores
        One score per entry (higher is better).
    k
        How many to return (fewer if there are fewer entries).
    names
        The item ids of the given entry indices; it is called at most once, for the
        entries that can make the cut (those not below the ``k``-th key) and share
        their key with another one: distinct keys need no names.
    """
    if k <= 0 or len(scores) == 0:
        return np.empty(0, dtype=np.intp)
    keys = order_keys(scores)
    if k < len(keys):
        kth = np.partition(keys, len(keys) - k)[len(keys) - k]
        contenders = np.flatnonzero(keys >= kth)
    else:
        contenders = np.arange(len(keys))
    ranked = contenders[np.argsort(-keys[contenders], kind="stable")]
    ranked_keys = keys[ranked]
    tied = ranked_keys[1:] == ranked_keys[:-1]
    if tied.any():
        shared = np.flatnonzero(np.r_[tied, False] | np.r_[False, tied])
        labels = names(ranked[shared])
        by_name = sorted(range(len(shared)), key=lambda i: (-ranked_keys[shared[i]], labels[i]))
        ranked[shared] = ranked[shared[by_name]]
    return ranked[:k]


def settled(scores: np.ndarray, k: int, bound: float) -> bool:
    """Whether the first ``k`` of ``scores`` are decided against every further entry
    scoring at most ``bound`` (no higher than the best of ``scores``): such an entry
    can neither beat nor tie the ``k``-th key."""
    if k <= 0:
        return True
    if len(scores) < k:
        return False
    keys = order_keys(np.append(scores, bound))
    return bool(keys[-1] < np.partition(keys[:-1], len(scores) - k)[len(scores) - k])
