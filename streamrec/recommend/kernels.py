"""Compiled loops of the candidate stage (numba), over a few hundred entries at most.

A request's candidate arrays are small, so the cost of NumPy is its per-call
overhead, not its loops: the steps that would take a dozen NumPy calls each (picking
seeds, merging every source's rows into one candidate set) are one compiled call.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def seed_positions(items, types, negative, context, limit, seeding):  # type: ignore[no-untyped-def]
    """Positions in ``items`` (newest first) of the first ``limit`` distinct items whose
    interaction type seeds (``seeding[type]``), that are not ``context`` and carry no
    negative feedback."""
    found = np.empty(min(limit, items.shape[0]), np.int64)
    n = 0
    for at in range(items.shape[0]):
        if n >= limit:
            break
        item = items[at]
        if not seeding[types[at]] or item == context:
            continue
        taken = False
        for j in range(negative.shape[0]):
            if negative[j] == item:
                taken = True
                break
        for j in range(n):
            if taken or items[found[j]] == item:
                taken = True
                break
        if not taken:
            found[n] = at
            n += 1
    return found[:n]


@numba.njit(cache=True)
def merge_entries(ids, values, columns, seeds, n_columns):  # type: ignore[no-untyped-def]
    """Sum entries per (item, column), in entry order.

    Returns the distinct items some column sums above 0 (ascending), their
    ``(n, n_columns)`` sums, the seed of each sum's largest entry (the earliest on
    ties, ``-1`` for entries without a seed), and every column's largest sum over all
    items.
    """
    order = np.argsort(ids, kind="mergesort")  # stable: equal ids keep entry order
    groups = 0
    for i in range(order.shape[0]):
        if i == 0 or ids[order[i]] != ids[order[i - 1]]:
            groups += 1
    unique = np.empty(groups, np.int64)
    sums = np.zeros((groups, n_columns))
    best = np.zeros((groups, n_columns))
    seed = np.full((groups, n_columns), -1, np.int64)
    g = -1
    for i in range(order.shape[0]):
        e = order[i]
        if i == 0 or ids[e] != ids[order[i - 1]]:
            g += 1
            unique[g] = ids[e]
        c = columns[e]
        sums[g, c] += values[e]
        if seeds[e] >= 0 and values[e] > best[g, c]:
            best[g, c] = values[e]
            seed[g, c] = seeds[e]
    top = np.zeros(n_columns)
    keep = np.zeros(groups, np.bool_)
    for g in range(groups):
        for c in range(n_columns):
            top[c] = max(top[c], sums[g, c])
            if sums[g, c] > 0:
                keep[g] = True
    return unique[keep], sums[keep], seed[keep], top


@numba.njit(cache=True)
def blend(raw, scale, matched, boost):  # type: ignore[no-untyped-def]
    """Per candidate, ``sum_j raw[i, j] * scale[j]`` in column order, plus ``boost``
    where ``matched``; the share of every column and of the boost (the last column)
    and whether each contributed."""
    n, m = raw.shape
    total = np.zeros(n)
    parts = np.zeros((n, m + 1))
    present = np.zeros((n, m + 1), np.bool_)
    for i in range(n):
        for j in range(m):
            share = raw[i, j] * scale[j]
            parts[i, j] = share
            present[i, j] = share > 0
            total[i] += share
        if matched[i]:
            total[i] += boost
            parts[i, m] = boost
            present[i, m] = True
    return total, parts, present
