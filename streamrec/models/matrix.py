"""The user × item interaction matrix the batch models train on.

Events are interned to dense ids and their weights (:func:`event_weights`) summed per
(user, item); only positive totals are kept, so a user who bought and then disliked
an item carries no positive signal for it. Batches are folded in as they stream, and
pending triples are compacted into the sparse total every few million events, so
memory follows the number of distinct pairs rather than the number of events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from streamrec.config import EventWeights
from streamrec.events import EventBatch
from streamrec.ids import IdMap
from streamrec.models.weighting import event_weights

_COMPACT_EVERY = 4_000_000


@dataclass(frozen=True, slots=True)
class DataWindow:
    """What the matrix was built from: event time range and counts."""

    min_ts: int | None
    max_ts: int | None
    n_events: int
    n_users: int
    n_items: int

    def as_dict(self) -> dict[str, int | None]:
        """The window as plain JSON-ready values."""
        return {
            "min_ts": self.min_ts,
            "max_ts": self.max_ts,
            "n_events": self.n_events,
            "n_users": self.n_users,
            "n_items": self.n_items,
        }


class InteractionMatrix:
    """Summed positive interaction weights, users × items, with their id maps.

    Attributes
    ----------
    csr
        ``float32`` matrix of shape ``(len(users), len(items))`` holding the positive
        weight totals.
    users, items
        Maps between external string ids and the row / column numbers.
    window
        The time range and counts of the events it was built from.
    """

    def __init__(self, csr: sp.csr_matrix, users: IdMap, items: IdMap, window: DataWindow) -> None:
        self.csr = csr
        self.users = users
        self.items = items
        self.window = window

    @classmethod
    def from_batches(
        cls,
        batches: EventBatch | Iterable[EventBatch],
        weights: EventWeights,
        item_ids: Sequence[str] = (),
    ) -> InteractionMatrix:
        """Build the matrix from one batch or a stream of them.

        Parameters
        ----------
        batches
            Events, in any order.
        weights
            The configured event weights.
        item_ids
            Items to give columns even when no event names them (for example the
            catalog), interned first in the given order.
        """
        users = IdMap()
        items = IdMap(dict.fromkeys(item_ids))
        total = sp.csr_matrix((0, 0), dtype=np.float32)
        pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        pending_events = n_events = 0
        min_ts: int | None = None
        max_ts: int | None = None
        for batch in [batches] if isinstance(batches, EventBatch) else batches:
            if not len(batch):
                continue
            n_events += len(batch)
            low, high = int(batch.timestamp.min()), int(batch.timestamp.max())
            min_ts = low if min_ts is None else min(min_ts, low)
            max_ts = high if max_ts is None else max(max_ts, high)
            pending.append(
                (
                    users.intern_many(batch.user_id),
                    items.intern_many(batch.item_id),
                    event_weights(batch.type, batch.value, weights),
                )
            )
            pending_events += len(batch)
            if pending_events >= _COMPACT_EVERY:
                total = _add_triples(total, pending, (users.capacity, items.capacity))
                pending, pending_events = [], 0
        total = _add_triples(total, pending, (users.capacity, items.capacity))
        csr = _positive(total)
        window = DataWindow(min_ts, max_ts, n_events, len(users), len(items))
        return cls(csr, users, items, window)

    @property
    def shape(self) -> tuple[int, int]:
        """``(users, items)``."""
        return (int(self.csr.shape[0]), int(self.csr.shape[1]))

    def rows_for(self, user_ids: Sequence[str]) -> sp.csr_matrix:
        """The training rows of ``user_ids`` (an empty row for an unknown user)."""
        dense = self.users.lookup_many(user_ids)
        known = dense >= 0
        selector = sp.csr_matrix(
            (np.ones(int(known.sum()), np.float32), (np.flatnonzero(known), dense[known])),
            shape=(len(user_ids), self.shape[0]),
        )
        result: sp.csr_matrix = (selector @ self.csr).tocsr()
        result.sort_indices()
        return result

    def user_items_from(self, rows: Sequence[tuple[Sequence[str], np.ndarray]]) -> sp.csr_matrix:
        """A user × item matrix from each user's ``(item_ids, weights)``.

        Weights of repeated items are summed and only positive totals kept, as in
        training; items the matrix does not know are dropped (a model has nothing to
        say about them). Use it to fold in users who are not in the training matrix,
        or a user's latest interactions.
        """
        row_parts, col_parts, weight_parts = [], [], []
        for row, (item_ids, item_weights) in enumerate(rows):
            columns = self.items.lookup_many(item_ids)
            known = columns >= 0
            row_parts.append(np.full(int(known.sum()), row, dtype=np.int32))
            col_parts.append(columns[known])
            weight_parts.append(np.asarray(item_weights, dtype=np.float64)[known])
        if not rows:
            return sp.csr_matrix((0, self.shape[1]), dtype=np.float32)
        summed = sp.csr_matrix(
            (np.concatenate(weight_parts), (np.concatenate(row_parts), np.concatenate(col_parts))),
            shape=(len(rows), self.shape[1]),
            dtype=np.float64,
        )
        return _positive(summed)


def _add_triples(
    total: sp.csr_matrix,
    triples: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    shape: tuple[int, int],
) -> sp.csr_matrix:
    """``total`` (grown to ``shape``) plus the summed ``(row, column, weight)`` triples."""
    grown = sp.csr_matrix(total, dtype=np.float64)
    grown.resize(shape)
    if not triples:
        return grown
    rows, columns, weights = (np.concatenate(part) for part in zip(*triples, strict=True))
    return (grown + sp.csr_matrix((weights, (rows, columns)), shape=shape)).tocsr()


def _positive(summed: sp.csr_matrix) -> sp.csr_matrix:
    """``float32`` copy of ``summed`` keeping strictly positive entries, indices sorted."""
    summed = summed.tocsr()
    summed.sum_duplicates()
    summed.data[summed.data <= 0] = 0.0
    summed.eliminate_zeros()
    result = sp.csr_matrix(summed, dtype=np.float32)
    result.sort_indices()
    return result
