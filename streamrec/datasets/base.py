"""What every loader returns: dictionary-encoded event columns, datasets, streams.

Loaders parse a file into arrays and keep user and item ids as integer codes into a
vocabulary of strings, so a dataset of millions of events stays compact; an
:class:`~streamrec.events.EventBatch` (one Python string per id) is built only for
the rows asked for, a chunk at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from streamrec.events import EventBatch
from streamrec.ids import IdMap
from streamrec.state.base import CatalogItem

DEFAULT_CHUNK_SIZE = 10_000


def make_batch(
    user_id: list[str],
    item_id: list[str],
    type: np.ndarray,
    value: np.ndarray,
    timestamp: np.ndarray,
    session_id: list[str | None] | None = None,
) -> EventBatch:
    """Build an :class:`EventBatch` of not-yet-logged events from plain columns.

    Parameters
    ----------
    user_id, item_id
        External ids, one per event.
    type
        Event type codes (see :data:`streamrec.events.TYPE_CODE`).
    value
        Values, NaN where absent.
    timestamp
        Epoch milliseconds.
    session_id
        Optional session ids; ``None`` for none at all.
    """
    n = len(user_id)
    return EventBatch(
        user_id=user_id,
        item_id=item_id,
        type=np.asarray(type, dtype=np.int8),
        value=np.asarray(value, dtype=np.float64),
        timestamp=np.asarray(timestamp, dtype=np.int64),
        session_id=[None] * n if session_id is None else session_id,
        context=[None] * n,
        recommendation_id=[None] * n,
        offset=np.full(n, -1, dtype=np.int64),
        partition=np.zeros(n, dtype=np.int32),
    )


def _encode(ids: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Vocabulary (sorted: numerically for integer ids) and int32 codes of ``ids``."""
    vocabulary, codes = np.unique(ids, return_inverse=True)
    return [str(v) for v in vocabulary.tolist()], codes.astype(np.int32).reshape(-1)


def _recode_sorted(ids: IdMap, codes: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Vocabulary of an :class:`IdMap` in string order, and ``codes`` mapped onto it."""
    names = np.asarray(ids.names(range(ids.capacity)), dtype=str)
    order = np.argsort(names, kind="stable")
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    return names[order].tolist(), rank[np.asarray(codes, dtype=np.int64)]


@dataclass(frozen=True, slots=True)
class EventColumns:
    """Events as arrays, with user and item ids encoded against vocabularies.

    ``user[i]`` indexes ``users`` (and ``item[i]`` indexes ``items``); ``type`` holds
    event type codes, ``value`` is NaN where absent and ``timestamp`` is epoch ms.
    """

    users: list[str]
    items: list[str]
    user: np.ndarray
    item: np.ndarray
    type: np.ndarray
    value: np.ndarray
    timestamp: np.ndarray

    def __len__(self) -> int:
        return len(self.user)

    @classmethod
    def from_ids(
        cls,
        user_ids: Sequence[Any] | np.ndarray,
        item_ids: Sequence[Any] | np.ndarray,
        type: np.ndarray | int,
        value: np.ndarray,
        timestamp: np.ndarray,
    ) -> EventColumns:
        """Encode raw id columns (integers or strings); ``type`` may be one code for all."""
        users, user = _encode(np.asarray(user_ids))
        items, item = _encode(np.asarray(item_ids))
        n = len(user)
        return cls(
            users=users,
            items=items,
            user=user,
            item=item,
            type=np.broadcast_to(np.asarray(type, dtype=np.int8), (n,)).copy(),
            value=np.asarray(value, dtype=np.float64),
            timestamp=np.asarray(timestamp, dtype=np.int64),
        )

    @classmethod
    def from_interned(
        cls,
        users: IdMap,
        user: np.ndarray,
        items: IdMap,
        item: np.ndarray,
        type: np.ndarray,
        value: np.ndarray,
        timestamp: np.ndarray,
    ) -> EventColumns:
        """Wrap codes from :class:`IdMap` interning, re-coding ids in sorted order."""
        user_vocabulary, user_codes = _recode_sorted(users, user)
        item_vocabulary, item_codes = _recode_sorted(items, item)
        return cls(
            users=user_vocabulary,
            items=item_vocabulary,
            user=user_codes,
            item=item_codes,
            type=np.asarray(type, dtype=np.int8),
            value=np.asarray(value, dtype=np.float64),
            timestamp=np.asarray(timestamp, dtype=np.int64),
        )

    @classmethod
    def join(cls, parts: Iterable[EventColumns]) -> EventColumns:
        """Join column sets in order, merging their vocabularies."""
        users, items = IdMap(), IdMap()
        user, item = [np.empty(0, np.int32)], [np.empty(0, np.int32)]
        types, values, times = [np.empty(0, np.int8)], [np.empty(0)], [np.empty(0, np.int64)]
        for part in parts:
            user.append(users.intern_many(part.users)[part.user])
            item.append(items.intern_many(part.items)[part.item])
            types.append(part.type)
            values.append(part.value)
            times.append(part.timestamp)
        return cls.from_interned(
            users,
            np.concatenate(user),
            items,
            np.concatenate(item),
            np.concatenate(types),
            np.concatenate(values),
            np.concatenate(times),
        )

    def sorted(self) -> EventColumns:
        """The events ordered by timestamp, then user, then item.

        Users and items compare in vocabulary order: numerically for integer ids,
        lexicographically for string ids.
        """
        order = np.lexsort((self.item, self.user, self.timestamp))
        return EventColumns(
            users=self.users,
            items=self.items,
            user=self.user[order],
            item=self.item[order],
            type=self.type[order],
            value=self.value[order],
            timestamp=self.timestamp[order],
        )

    def batch(self, start: int = 0, stop: int | None = None) -> EventBatch:
        """The events in rows ``start:stop`` as an :class:`EventBatch`."""
        rows = slice(start, stop)
        users, items = self.users, self.items
        return make_batch(
            user_id=[users[c] for c in self.user[rows].tolist()],
            item_id=[items[c] for c in self.item[rows].tolist()],
            type=self.type[rows],
            value=self.value[rows],
            timestamp=self.timestamp[rows],
        )

    def chunks(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[EventBatch]:
        """The events in order, as batches of at most ``chunk_size``."""
        _check_chunk_size(chunk_size)
        for start in range(0, len(self), chunk_size):
            yield self.batch(start, start + chunk_size)


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: events in time order plus the item catalog.

    Attributes
    ----------
    name
        What was loaded (e.g. ``"ml-100k"``).
    columns
        The events, sorted by (timestamp, user, item).
    catalog
        Item metadata; empty when the source has none.
    """

    name: str
    columns: EventColumns
    catalog: list[CatalogItem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.columns)

    @cached_property
    def events(self) -> EventBatch:
        """Every event as one batch (built on first use, then kept)."""
        return self.columns.batch()

    def stream(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> EventStream:
        """The events as a stream of chunks, with the catalog attached."""
        return EventStream(len(self), self.columns.chunks(chunk_size), self.catalog)


@dataclass(frozen=True, slots=True)
class EventStream:
    """Events arriving in chunks, their number known up front (for progress bars).

    Iterate it once; each chunk is an :class:`EventBatch`.
    """

    total: int
    chunks: Iterator[EventBatch]
    catalog: list[CatalogItem] = field(default_factory=list)

    def __iter__(self) -> Iterator[EventBatch]:
        return self.chunks


def _check_chunk_size(chunk_size: int) -> None:
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
