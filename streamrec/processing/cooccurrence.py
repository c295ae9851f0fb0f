"""Item-item co-occurrence: pair generation and a bounded weighted index.

Two items co-occur when the same user interacts with both within the user's last
``window`` pairable interactions (the seed system used 50). Each positive event that
counts for the shared aggregates (:mod:`streamrec.processing.influence`) adds its
forward-decayed weight to the pair with every distinct item of that window, in both
directions. :func:`cooccurrence_pairs` is the pure step (events + each user's recent
window -> weighted pairs); :class:`CooccurrenceIndex` accumulates pairs in an
open-addressing hash table whose entries are also chained per source item, so a row
(an item's neighbours) is read without scanning the table.

Rows are kept bounded, and so that a read need not depend on how the increments
were grouped into batches or interleaved (the processors of the scale-out topology
write each partition's micro-batches apart, in whatever order they come), the row a
read sees is cut from a larger stored one. A *read* cuts a row to its
:attr:`~CooccurrenceIndex.max_neighbors` (``K``) heaviest entries; the *stored* row
is a superset: past :data:`BOUND_FACTOR` ``* K`` entries it is pruned back to at
most :data:`KEEP_FACTOR` ``* K``. Both cuts keep the entries heavier than the
heaviest entry that does not fit; entries tied with that one (within a relative
:data:`PRUNE_TIE`, below which two stores' floating-point sums of the same weights
may disagree) go with it, so what survives depends on the weights alone, never on
ids or insertion order, and the memory and Redis states cut alike (the Redis item
script applies the same rule).

A prune drops weight that later events cannot restore, so the stored row depends on
when the prunes ran. The read does not, as long as each of the ``K + 1`` heaviest
entries of the unpruned row ranked within the top ``KEEP_FACTOR * K`` at every
prune: then none of them lost weight, every other entry can only have lost some,
and the read cut is that of the unpruned row, in any order of increments. Memory is
bounded by ``BOUND_FACTOR * K`` stored entries per item (1,000 at the default
``K`` = 200).
"""

from __future__ import annotations

import numba
import numpy as np

EMPTY = np.int64(-1)
DELETED = np.int64(-2)
_MIN_CAPACITY = 1024
_MAX_LOAD = 0.7
_MAX_ROW = 2**31 - 1  # row lengths are int32
#: Relative weight difference under which two entries tie at a cut.
PRUNE_TIE = 1e-9
#: A pruned row keeps at most this many times ``max_neighbors`` entries.
KEEP_FACTOR = 4
#: A row is pruned once it holds more than this many times ``max_neighbors`` entries.
BOUND_FACTOR = 5


@numba.njit(cache=True)
def _slot_of(key: np.int64, mask: np.int64) -> np.int64:
    # Fibonacci hashing of the packed (src, dst) key.
    return ((key * np.int64(-7046029254386353131)) >> np.int64(17)) & mask


@numba.njit(cache=True)
def _insert(keys, values, chain, head, row_len, src, dst, weight, touched):  # type: ignore[no-untyped-def]
    mask = np.int64(keys.shape[0] - 1)
    used = 0
    for e in range(src.shape[0]):
        s = np.int64(src[e])
        key = (s << np.int64(32)) | np.int64(dst[e])
        slot = _slot_of(key, mask)
        free = np.int64(-1)
        while True:
            k = keys[slot]
            if k == key:
                values[slot] += weight[e]
                break
            if k == DELETED and free < 0:
                free = slot
            elif k == EMPTY:
                if free < 0:
                    free = slot
                keys[free] = key
                values[free] = weight[e]
                chain[free] = head[s]
                head[s] = free
                if row_len[s] == 0:
                    touched[s] = True
                row_len[s] += 1
                used += 1
                break
            slot = (slot + 1) & mask
    return used


@numba.njit(cache=True)
def _row(keys, values, chain, head, item):  # type: ignore[no-untyped-def]
    n = 0
    slot = head[item]
    while slot >= 0:
        n += 1
        slot = chain[slot]
    ids = np.empty(n, np.int32)
    weights = np.empty(n, np.float64)
    slot = head[item]
    i = 0
    while slot >= 0:
        ids[i] = np.int32(keys[slot] & np.int64(0xFFFFFFFF))
        weights[i] = values[slot]
        i += 1
        slot = chain[slot]
    return ids, weights


@numba.njit(cache=True)
def _cut_limit(weights, keep):  # type: ignore[no-untyped-def]
    # the heaviest entry that does not fit, and every entry tied with it, goes: an
    # entry stays if it is heavier than this
    out = weights.shape[0] - keep - 1
    return np.partition(weights, out)[out] * (1.0 + PRUNE_TIE)


@numba.njit(cache=True)
def _prune_row(keys, values, chain, head, row_len, item, keep):  # type: ignore[no-untyped-def]
    ids, weights = _row(keys, values, chain, head, item)
    if weights.shape[0] <= keep:
        return 0
    limit = _cut_limit(weights, keep)
    kept = 0
    removed = 0
    prev = np.int64(-1)
    slot = head[item]
    while slot >= 0:
        nxt = chain[slot]
        if values[slot] > limit:
            kept += 1
            prev = slot
        else:
            keys[slot] = DELETED
            values[slot] = 0.0
            if prev < 0:
                head[item] = nxt
            else:
                chain[prev] = nxt
            removed += 1
        slot = nxt
    row_len[item] = kept
    return removed


@numba.njit(cache=True)
def _rehash(old_keys, old_values, new_keys, new_values, new_chain, head, row_len):  # type: ignore[no-untyped-def]
    head[:] = -1
    row_len[:] = 0
    mask = np.int64(new_keys.shape[0] - 1)
    for slot in range(old_keys.shape[0]):
        key = old_keys[slot]
        if key < 0:
            continue
        s = key >> np.int64(32)
        target = _slot_of(key, mask)
        while new_keys[target] != EMPTY:
            target = (target + 1) & mask
        new_keys[target] = key
        new_values[target] = old_values[slot]
        new_chain[target] = head[s]
        head[s] = target
        row_len[s] += 1


def strongest(ids: np.ndarray, weights: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray]:
    """The entries of a row that a cut to ``keep`` keeps (in their given order).

    Those heavier than the heaviest entry that does not fit, ties with it excluded
    (see the module docstring); at most ``keep`` entries, all of them if no more.
    """
    if len(weights) <= keep:
        return ids, weights
    kept = weights > _cut_limit(weights.astype(np.float64), keep)
    return ids[kept], weights[kept]


def neighbor_scores(
    weights: np.ndarray, own_mass: float, neighbor_mass: np.ndarray, damping: float
) -> np.ndarray:
    """Read-time normalization of one row: ``C(i, j) / (m_i ** 0.5 * m_j ** damping)``.

    ``m`` is each item's co-occurrence mass; damping 0.5 is cosine, 0 ranks a row by
    conditional probability (the seed system's ``P(j | i)``).
    """
    denominator = np.sqrt(max(own_mass, 1e-300)) * np.maximum(neighbor_mass, 1e-300) ** damping
    return weights / denominator  # type: ignore[no-any-return]


class CooccurrenceIndex:
    """Weighted, bounded item-item co-occurrence over dense item ids.

    Parameters
    ----------
    max_neighbors
        A read (:meth:`neighbors`) returns at most this many heaviest entries of a
        row. A stored row holds at most ``BOUND_FACTOR * max_neighbors`` entries:
        past that it is pruned back to ``KEEP_FACTOR * max_neighbors`` (ties at
        either cut are dropped, see the module docstring).
    """

    def __init__(self, max_neighbors: int, n_items: int = 0) -> None:
        self.max_neighbors = max_neighbors
        self.kept = min(KEEP_FACTOR * max_neighbors, _MAX_ROW)
        self.bound = min(BOUND_FACTOR * max_neighbors, _MAX_ROW)
        self._keys = np.full(_MIN_CAPACITY, EMPTY, dtype=np.int64)
        self._values = np.zeros(_MIN_CAPACITY, dtype=np.float64)
        self._chain = np.full(_MIN_CAPACITY, -1, dtype=np.int64)
        self._head = np.full(max(n_items, 16), -1, dtype=np.int64)
        self._row_len = np.zeros(max(n_items, 16), dtype=np.int32)
        self._used = 0  # live + deleted slots

    def __len__(self) -> int:
        """The number of stored (directed) pairs."""
        return int(self._row_len.sum())

    @property
    def nbytes(self) -> int:
        """Memory held by the index arrays."""
        arrays = (self._keys, self._values, self._chain, self._head, self._row_len)
        return sum(a.nbytes for a in arrays)

    def add(self, src: np.ndarray, dst: np.ndarray, weight: np.ndarray) -> None:
        """Add ``weight`` to each directed pair ``(src, dst)``."""
        if len(src) == 0:
            return
        top = int(max(src.max(), dst.max())) + 1
        if top > len(self._head):
            self._grow_rows(top)
        touched = np.zeros(len(self._head), dtype=np.bool_)
        start = 0
        while start < len(src):
            room = int(_MAX_LOAD * len(self._keys)) - self._used
            if room < min(len(src) - start, len(self._keys) // 4):
                self._resize()
                continue
            stop = min(len(src), start + room)
            self._used += _insert(
                self._keys,
                self._values,
                self._chain,
                self._head,
                self._row_len,
                src[start:stop],
                dst[start:stop],
                weight[start:stop],
                touched,
            )
            start = stop
        self._prune(src)

    def neighbors(self, item: int) -> tuple[np.ndarray, np.ndarray]:
        """The row as read: its ``max_neighbors`` heaviest entries (unordered)."""
        return strongest(*self.row(item), self.max_neighbors)

    def row(self, item: int) -> tuple[np.ndarray, np.ndarray]:
        """All stored neighbours of ``item`` and their weights (unordered)."""
        if item < 0 or item >= len(self._head):
            return np.empty(0, np.int32), np.empty(0, np.float64)
        return _row(self._keys, self._values, self._chain, self._head, np.int64(item))  # type: ignore[no-any-return]

    def remove_items(self, items: np.ndarray) -> np.ndarray:
        """Drop every pair from or to ``items`` (erased items); return the items whose
        rows lost an entry (their own rows included)."""
        live = self._keys >= 0
        src = np.where(live, self._keys >> 32, -1)
        dst = np.where(live, self._keys & 0xFFFFFFFF, -1)
        gone = live & (np.isin(src, items) | np.isin(dst, items))
        if not gone.any():
            return np.empty(0, np.int64)
        touched = np.unique(src[gone])
        self._keys[gone] = DELETED
        self._values[gone] = 0.0
        self._resize()  # rebuilds every chain from the live entries
        self._used = len(self)
        return touched  # type: ignore[no-any-return]

    def scale(self, factor: float) -> None:
        """Multiply every weight (used when the decay landmark moves)."""
        self._values *= factor

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The live pairs as ``src``, ``dst``, ``weight`` arrays (for snapshots)."""
        live = self._keys >= 0
        keys = self._keys[live]
        return {
            "src": (keys >> 32).astype(np.int32),
            "dst": (keys & 0xFFFFFFFF).astype(np.int32),
            "weight": self._values[live].copy(),
        }

    @classmethod
    def from_arrays(cls, max_neighbors: int, arrays: dict[str, np.ndarray]) -> CooccurrenceIndex:
        """Rebuild an index from :meth:`to_arrays` output."""
        index = cls(max_neighbors)
        index.add(arrays["src"], arrays["dst"], arrays["weight"])
        return index

    def _grow_rows(self, n_items: int) -> None:
        size = max(n_items, 2 * len(self._head))
        head = np.full(size, -1, dtype=np.int64)
        head[: len(self._head)] = self._head
        row_len = np.zeros(size, dtype=np.int32)
        row_len[: len(self._row_len)] = self._row_len
        self._head, self._row_len = head, row_len

    def _resize(self) -> None:
        """Rehash into a table sized for the live entries (dropping deleted slots)."""
        live = len(self)
        capacity = _MIN_CAPACITY
        while capacity * _MAX_LOAD < 2 * live + _MIN_CAPACITY:
            capacity *= 2
        keys = np.full(capacity, EMPTY, dtype=np.int64)
        values = np.zeros(capacity, dtype=np.float64)
        chain = np.full(capacity, -1, dtype=np.int64)
        _rehash(self._keys, self._values, keys, values, chain, self._head, self._row_len)
        self._keys, self._values, self._chain = keys, values, chain
        self._used = live

    def _prune(self, items: np.ndarray) -> None:
        over = np.unique(items[self._row_len[items] > self.bound])
        for item in over.tolist():
            _prune_row(
                self._keys,
                self._values,
                self._chain,
                self._head,
                self._row_len,
                np.int64(item),
                self.kept,
            )
