"""Events with a known order, and reading a consumer until it has what is expected."""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np

from streamrec.events import EVENT_TYPES, Event, EventBatch
from streamrec.log.base import LogConsumer

BASE_MS = 1_700_000_000_000


def sequence_batch(n: int, users: int = 7, start: int = 0) -> EventBatch:
    """``n`` events; event ``k`` (from ``start``) is item ``i<k>`` at ``BASE_MS + k``.

    Users take turns, every third event carries a value and every fifth a context,
    so per-user order and every optional field can be checked after a round trip.
    """
    events = [
        Event(
            user_id=f"user-{k % users}",
            item_id=f"i{k}",
            type=EVENT_TYPES[k % len(EVENT_TYPES)],
            value=float(k % 5) if k % 3 == 0 else None,
            timestamp=BASE_MS + k,
            session_id=f"s{k % 4}" if k % 2 else None,
            context={"page": k, "tags": ["a", "b"]} if k % 5 == 0 else None,
            recommendation_id=f"r{k}" if k % 7 == 0 else None,
        )
        for k in range(start, start + n)
    ]
    return EventBatch.from_events(events)


def drain(consumer: LogConsumer, expected: int, timeout_s: float = 30.0) -> EventBatch:
    """Poll until ``expected`` events arrived, then check that no more come."""
    parts: list[EventBatch] = []
    got = 0
    deadline = time.monotonic() + timeout_s
    while got < expected and time.monotonic() < deadline:
        batch = consumer.poll(max_events=1000, timeout_s=0.5)
        parts.append(batch)
        got += len(batch)
    extra = consumer.poll(max_events=1000, timeout_s=0.3)
    assert got == expected, f"expected {expected} events, got {got} in {timeout_s} s"
    assert len(extra) == 0, f"{len(extra)} events beyond the expected {expected}"
    return EventBatch.concat(parts)


def by_partition(batch: EventBatch) -> dict[int, list[int]]:
    """The offsets of the batch per partition, in batch order."""
    offsets: dict[int, list[int]] = defaultdict(list)
    for partition, offset in zip(batch.partition.tolist(), batch.offset.tolist(), strict=True):
        offsets[partition].append(offset)
    return dict(offsets)


def items_per_user(batch: EventBatch) -> dict[str, list[str]]:
    """Each user's items in batch order."""
    items: dict[str, list[str]] = defaultdict(list)
    for user, item in zip(batch.user_id, batch.item_id, strict=True):
        items[user].append(item)
    return dict(items)


def records_by_position(batch: EventBatch) -> dict[tuple[int, int], dict[str, object]]:
    """``{(partition, offset): wire record}``."""
    return {
        (int(p), int(o)): record
        for p, o, record in zip(batch.partition, batch.offset, batch.records(), strict=True)
    }


def sorted_order(batch: EventBatch) -> np.ndarray:
    """Row order by (timestamp, partition, offset)."""
    return np.lexsort((batch.offset, batch.partition, batch.timestamp))
