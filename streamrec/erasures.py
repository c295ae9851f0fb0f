"""Erasure records: tombstones of deleted users and items, carried in the event log.

``DELETE /v1/users/{id}`` and ``DELETE /v1/items/{id}`` append an erasure record to
the log, in order with the events, so that every consumer of the log erases the
subject at the same point of the stream: the online state (memory or Redis) drops
the user's profile, or the item's statistics, rankings and co-occurrence rows; the
history drops the subject's events logged before the record. Replaying the log, or
restoring a snapshot and replaying its tail, meets the record again, so an erased
subject never comes back (events logged after the record are new data).

Inside a batch an erasure is a row with a negative type code
(:data:`~streamrec.events.ERASE_USER` or :data:`~streamrec.events.ERASE_ITEM`); on
the wire (Kafka) it is ``{"erase": "user", "user_id": …}`` or
``{"erase": "item", "item_id": …}``. A user's records share the user's partition;
an item's events are spread over every partition, so its erasure is written to
each of them (:func:`broadcast`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from streamrec.events import ERASE_ITEM, ERASE_USER, MAX_ID_LENGTH, EventBatch, now_ms

ERASURE_KINDS = {"user": ERASE_USER, "item": ERASE_ITEM}


def erasure_batch(
    users: Sequence[str] = (), items: Sequence[str] = (), timestamp: int | None = None
) -> EventBatch:
    """A batch of erasure records: the users first, then the items."""
    n = len(users) + len(items)
    stamp = now_ms() if timestamp is None else timestamp
    return EventBatch(
        user_id=[*users, *([""] * len(items))],
        item_id=[*([""] * len(users)), *items],
        type=np.array([ERASE_USER] * len(users) + [ERASE_ITEM] * len(items), dtype=np.int8),
        value=np.full(n, np.nan),
        timestamp=np.full(n, stamp, dtype=np.int64),
        session_id=[None] * n,
        context=[None] * n,
        recommendation_id=[None] * n,
        offset=np.full(n, -1, dtype=np.int64),
        partition=np.zeros(n, dtype=np.int32),
    )


def is_erasure(batch: EventBatch) -> np.ndarray:
    """``True`` for each erasure record of ``batch``."""
    return batch.type < 0  # type: ignore[no-any-return]


def events_only(batch: EventBatch) -> EventBatch:
    """``batch`` without its erasure records (what event observers are shown)."""
    erasures = is_erasure(batch)
    return batch.take(np.flatnonzero(~erasures)) if erasures.any() else batch


def without_erased(batch: EventBatch) -> EventBatch:
    """The events of ``batch`` that no later erasure record of ``batch`` erases (a
    user's or item's events before its erasure in the same partition), without the
    erasure records: what a history keeps."""
    erasures = is_erasure(batch)
    if not erasures.any():
        return batch
    last: dict[tuple[int, int, str], int] = {}  # (code, partition, subject) -> offset
    for row in np.flatnonzero(erasures).tolist():
        code = int(batch.type[row])
        subject = batch.user_id[row] if code == ERASE_USER else batch.item_id[row]
        key = (code, int(batch.partition[row]), subject)
        last[key] = max(last.get(key, -1), int(batch.offset[row]))
    keep = ~erasures
    partitions = batch.partition.tolist()
    offsets = batch.offset.tolist()
    for row in np.flatnonzero(keep).tolist():
        p, o = partitions[row], offsets[row]
        user = last.get((ERASE_USER, p, batch.user_id[row]), -1)
        item = last.get((ERASE_ITEM, p, batch.item_id[row]), -1)
        if o < user or o < item:
            keep[row] = False
    return batch.take(np.flatnonzero(keep))


@dataclass(frozen=True, slots=True)
class Erasures:
    """The subjects one run of erasure records erases."""

    users: list[str]
    items: list[str]


def runs(batch: EventBatch) -> Iterator[EventBatch | Erasures]:
    """``batch`` cut into maximal runs, in order: event sub-batches and erasures.

    Applying the runs one after the other applies the batch in log order.
    """
    erasures = is_erasure(batch)
    if not erasures.any():
        if len(batch):
            yield batch
        return
    edges = np.flatnonzero(np.diff(erasures.astype(np.int8))) + 1
    for start, stop in zip([0, *edges.tolist()], [*edges.tolist(), len(batch)], strict=True):
        if not erasures[start]:
            yield batch.take(slice(start, stop))
            continue
        codes = batch.type[start:stop].tolist()
        yield Erasures(
            users=[
                u for u, c in zip(batch.user_id[start:stop], codes, strict=True) if c == ERASE_USER
            ],
            items=[
                i for i, c in zip(batch.item_id[start:stop], codes, strict=True) if c == ERASE_ITEM
            ],
        )


def broadcast(batch: EventBatch, partitions: Sequence[int]) -> tuple[EventBatch, np.ndarray]:
    """Repeat each item erasure of ``batch`` once per partition.

    Returns the expanded batch and, per row, the partition it must be written to
    (``-1`` where the log's own partitioner decides: events and user erasures).
    """
    items = batch.type == ERASE_ITEM
    if not items.any():
        return batch, np.full(len(batch), -1, dtype=np.int32)
    rows: list[int] = []
    targets: list[int] = []
    for row, is_item in enumerate(items.tolist()):
        for target in partitions if is_item else (-1,):
            rows.append(row)
            targets.append(target)
    return batch.take(np.asarray(rows, dtype=np.intp)), np.asarray(targets, dtype=np.int32)


def parse_erasure(record: dict[str, Any]) -> tuple[int, str, int] | str:
    """``(type code, subject id, timestamp)`` of a wire erasure record, or why it is
    not a valid one."""
    kind = record.get("erase")
    code = ERASURE_KINDS.get(kind) if isinstance(kind, str) else None
    if code is None:
        return f"erase must be one of {sorted(ERASURE_KINDS)}"
    field = f"{kind}_id"
    subject = record.get(field)
    if not isinstance(subject, str) or not 1 <= len(subject) <= MAX_ID_LENGTH:
        return f"an erasure of a {kind} needs {field} (1 to {MAX_ID_LENGTH} characters)"
    stamp = record.get("timestamp")
    if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp < 0:
        return "an erasure needs a non-negative integer timestamp"
    if set(record) - {"erase", field, "timestamp"}:
        return "an erasure record holds only erase, its id and timestamp"
    return code, subject, stamp
