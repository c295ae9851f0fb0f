"""Attribution, the pure part: which served list, variant and position an event credits.

Two inputs, both replayable: served lists (from the served-list log) and events
(from the event log). :func:`served_credits` turns a list into its ``served``
credits (one per slot) and a ``lists`` credit; :func:`event_credits` credits
``impression`` (shown), ``click``, ``add_to_cart`` and ``purchase`` events
(``value`` is the revenue) to

1. the list named by the event's ``recommendation_id``, at the item's position in
   it (an event whose list does not hold its item credits nothing);
2. without an id, the user's newest list that holds the item and was served at
   most ``window_ms`` before the event (``window_ms = 0``: never).

A served slot with no impression event is counted as served, not shown. Counters
are keyed by experiment, variant, surface and position, so per-variant,
per-position and per-surface figures are sums over the keys. Stores (memory,
Redis) only add credits up: applied to the same lists and events in the same
order, any store holds the same counters as a recount.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from streamrec.events import TYPE_CODE, EventBatch
from streamrec.experiments.served import ServedList

#: The counters of one key, in storage order.
COUNTERS = ("served", "impressions", "clicks", "add_to_cart", "conversions", "revenue")
#: The counter each attributed event type adds to.
EVENT_COUNTER = {
    TYPE_CODE["impression"]: "impressions",
    TYPE_CODE["click"]: "clicks",
    TYPE_CODE["add_to_cart"]: "add_to_cart",
    TYPE_CODE["purchase"]: "conversions",
}
#: The position of list-level counters (``lists``).
LIST_LEVEL = -1
#: What an experiment is stored as when none ran.
NO_EXPERIMENT = ""


@dataclass(frozen=True, slots=True)
class Key:
    """Where a credit goes."""

    experiment: str
    variant: str
    surface: str
    position: int


@dataclass(frozen=True, slots=True)
class Credit:
    """``amount`` added to ``counter`` of ``key``; ``bucket`` is the time bucket (for
    CTR over time), ``list_id`` the credited list."""

    key: Key
    counter: str
    amount: float
    bucket: int
    list_id: str


class ServedIndex(Protocol):
    """The recently served lists a store keeps for attribution."""

    def served(self, recommendation_ids: Sequence[str]) -> list[ServedList | None]:
        """The lists with these ids (``None`` where unknown or expired)."""
        ...

    def recent(self, user_id: str) -> Sequence[ServedList]:
        """The user's recent lists, newest first."""
        ...


def bucket_of(time_ms: int, bucket_ms: int) -> int:
    """The time bucket of ``time_ms``."""
    return time_ms // bucket_ms


def key_of(served: ServedList, position: int) -> Key:
    """The key of a position (or :data:`LIST_LEVEL`) of ``served``: an interleaved
    list's slot counts for the variant (team) that placed its item."""
    variant = served.variant
    if served.teams is not None and position != LIST_LEVEL:
        variant = served.teams[position]
    return Key(served.experiment or NO_EXPERIMENT, variant, served.surface, position)


def served_credits(served: ServedList, bucket_ms: int) -> Iterator[Credit]:
    """The ``lists`` credit of a served list and the ``served`` credit of each slot."""
    bucket = bucket_of(served.served_at, bucket_ms)
    rid = served.recommendation_id
    yield Credit(key_of(served, LIST_LEVEL), "lists", 1.0, bucket, rid)
    for position in range(len(served.items)):
        yield Credit(key_of(served, position), "served", 1.0, bucket, rid)


def attributable(batch: EventBatch) -> np.ndarray:
    """Rows of ``batch`` whose type is credited to lists."""
    return np.flatnonzero(np.isin(batch.type, np.fromiter(EVENT_COUNTER, np.int8)))


def event_credits(
    batch: EventBatch, index: ServedIndex, window_ms: int, bucket_ms: int
) -> list[Credit]:
    """The credits of the attributable events of ``batch`` (see the module doc)."""
    rows = attributable(batch)
    named = [batch.recommendation_id[r] for r in rows.tolist()]
    lists = index.served([rid for rid in named if rid is not None])
    by_id = {s.recommendation_id: s for s in lists if s is not None}
    credits: list[Credit] = []
    for row, rid in zip(rows.tolist(), named, strict=True):
        item = batch.item_id[row]
        timestamp = int(batch.timestamp[row])
        if rid is not None:
            served = by_id.get(rid)
            position = served.position(item) if served is not None else None
        elif window_ms > 0:
            served, position = _windowed(
                index.recent(batch.user_id[row]), item, timestamp, window_ms
            )
        else:
            continue
        if served is None or position is None:
            continue
        counter = EVENT_COUNTER[int(batch.type[row])]
        key = key_of(served, position)
        bucket = bucket_of(timestamp, bucket_ms)
        rid = served.recommendation_id
        credits.append(Credit(key, counter, 1.0, bucket, rid))
        if counter == "conversions":
            value = float(batch.value[row])
            revenue = value if np.isfinite(value) else 0.0
            credits.append(Credit(key, "revenue", revenue, bucket, rid))
    return credits


def _windowed(
    recent: Sequence[ServedList], item: str, timestamp: int, window_ms: int
) -> tuple[ServedList | None, int | None]:
    """The newest list of ``recent`` holding ``item`` served within the window."""
    for served in recent:
        if served.served_at <= timestamp <= served.served_at + window_ms:
            position = served.position(item)
            if position is not None:
                return served, position
    return None, None
