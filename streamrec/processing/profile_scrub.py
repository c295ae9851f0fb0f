"""Dropping erased items from profiles: every ring and set of a row loses their entries.

After an item is erased (see :mod:`streamrec.erasures`) no profile may name it,
else a later event of the user would pair the erased item with the new one again,
and the profile would still show it. A ring keeps its remaining entries in order
(the newest stays newest); sets stay in insertion order. The memory state scrubs its
table; the Redis state scrubs each stored record with the same function.
"""

from __future__ import annotations

import numba
import numpy as np

from streamrec.processing.profiles import ProfileTable


@numba.njit(cache=True)
def _gone(sorted_items, item):  # type: ignore[no-untyped-def]
    at = np.searchsorted(sorted_items, item)
    return at < sorted_items.shape[0] and sorted_items[at] == item


@numba.njit(cache=True)
def _scrub_ring(values, extra_a, extra_b, wide, pos, length, row, gone):  # type: ignore[no-untyped-def]
    """Drop ``gone`` items of a ring (with ``wide``, ``extra_*`` are parallel rings)."""
    width = values.shape[1]
    n = length[row]
    if width == 0 or n == 0:
        return False
    start = (pos[row] - n) % width
    keep = np.empty(n, np.int64)
    m = 0
    for k in range(n):
        slot = (start + k) % width
        if not _gone(gone, values[row, slot]):
            keep[m] = slot
            m += 1
    if m == n:
        return False
    kept_values = values[row, keep[:m]].copy()
    kept_a = extra_a[row, keep[:m]].copy() if wide else extra_a[0, :0].copy()
    kept_b = extra_b[row, keep[:m]].copy() if wide else extra_b[0, :0].copy()
    values[row, :] = -1
    values[row, :m] = kept_values
    if wide:
        extra_a[row, :] = 0
        extra_a[row, :m] = kept_a
        extra_b[row, :] = 0
        extra_b[row, :m] = kept_b
    pos[row] = m % width
    length[row] = m
    return True


@numba.njit(cache=True)
def _scrub_set(values, length, row, gone):  # type: ignore[no-untyped-def]
    n = length[row]
    m = 0
    for k in range(n):
        item = values[row, k]
        if not _gone(gone, item):
            values[row, m] = item
            m += 1
    if m == n:
        return False
    values[row, m:] = -1
    length[row] = m
    return True


@numba.njit(cache=True)
def _scrub(  # type: ignore[no-untyped-def]
    rows,
    gone,
    ring_item,
    ring_type,
    ring_seconds,
    ring_pos,
    ring_len,
    seen,
    seen_pos,
    seen_len,
    neg,
    neg_pos,
    neg_len,
    cart,
    cart_len,
    wish,
    wish_len,
):
    dummy_a = np.zeros((1, 1), np.uint8)
    dummy_b = np.zeros((1, 1), np.uint8)
    changed = np.zeros(rows, np.bool_)
    for row in range(rows):
        a = _scrub_ring(ring_item, ring_type, ring_seconds, True, ring_pos, ring_len, row, gone)
        b = _scrub_ring(seen, dummy_a, dummy_b, False, seen_pos, seen_len, row, gone)
        c = _scrub_ring(neg, dummy_a, dummy_b, False, neg_pos, neg_len, row, gone)
        d = _scrub_set(cart, cart_len, row, gone)
        e = _scrub_set(wish, wish_len, row, gone)
        changed[row] = a or b or c or d or e
    return changed


def drop_items(table: ProfileTable, rows: int, items: np.ndarray) -> np.ndarray:
    """Remove ``items`` (dense ids) from the first ``rows`` rows of ``table``; return
    the indices of the rows that changed."""
    if rows == 0 or len(items) == 0:
        return np.empty(0, np.int64)
    t = table
    changed = _scrub(
        rows,
        np.unique(np.asarray(items, dtype=np.int64)),
        t.ring_item,
        t.ring_type,
        t.ring_seconds,
        t.ring_pos,
        t.ring_len,
        t.seen,
        t.seen_pos,
        t.seen_len,
        t.negative,
        t.negative_pos,
        t.negative_len,
        t.cart,
        t.cart_len,
        t.wishlist,
        t.wishlist_len,
    )
    return np.flatnonzero(changed)
