"""Item-item co-occurrence: pair generation and a bounded weighted index.

Two items co-occur when the same user interacts with both within the user's last
``window`` pairable interactions (the seed system used 50). Each positive event that
counts for the shared aggregates (:mod:`streamrec.processing.influence`) adds its
forward-decayed weight to the pair with every distinct item of that window, in both
directions. :func:`cooccurrence_pairs` is the pure step (events + each user's recent
window -> weighted pairs); :class:`CooccurrenceIndex` accumulates pairs in an
open-addressing hash table whose entries are also chained per source item, so a row
(an item's neighbours) is read without scanning the table.

Rows are kept bounded: past twice ``max_neighbors`` entries a row is pruned to at most
``max_neighbors`` entries, those heavier than the heaviest entry that does not fit.
Entries tied with that one (within a relative :data:`PRUNE_TIE`, below which two
stores' floating-point sums of the same weights may disagree) go with it, so what
survives depends on the weights alone, never on ids or insertion order: the memory
and Redis states prune a row alike (the Redis item script applies the same rule).
Pruning drops information, so a pruned row depends on when the prune ran: states fed
the same events in other batches (or partitions interleaved otherwise) keep the
same rows only while no row has passed twice ``max_neighbors``.
"""

from __future__ import annotations

import numba
import numpy as np

EMPTY = np.int64(-1)
DELETED = np.int64(-2)
_MIN_CAPACITY = 1024
_MAX_LOAD = 0.7
#: Relative weight difference under which two entries tie at a prune.
PRUNE_TIE = 1e-9


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
def _prune_row(keys, values, chain, head, row_len, item, keep):  # type: ignore[no-untyped-def]
    ids, weights = _row(keys, values, chain, head, item)
    if weights.shape[0] <= keep:
        return 0
    # the heaviest entry that does not fit, and every entry tied with it, goes
    limit = np.sort(weights)[weights.shape[0] - keep - 1] * (1.0 + PRUNE_TIE)
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
        Rows are pruned back to at most this many heaviest entries once they hold
        twice as many (ties at the cut are dropped, see the module docstring).
    """

    def __init__(self, max_neighbors: int, n_items: int = 0) -> None:
        self.max_neighbors = max_neighbors
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
        self._prune(np.unique(src))

    def row(self, item: int) -> tuple[np.ndarray, np.ndarray]:
        """All neighbours of ``item`` and their weights (unordered)."""
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
        over = items[self._row_len[items] > 2 * self.max_neighbors]
        for item in over.tolist():
            _prune_row(
                self._keys,
                self._values,
                self._chain,
                self._head,
                self._row_len,
                np.int64(item),
                self.max_neighbors,
            )
