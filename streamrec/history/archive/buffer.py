"""Events read from the log and not yet stored in the history, in the order read.

Each entry is one poll: its events and the consumer's positions right after it
(``{partition: next offset}``, cumulative over every partition read so far). So the
positions of the last entry of any front run of entries cover exactly that run and
everything before it, dead-lettered messages included: committing them once the
run is stored commits nothing that is not stored.

Invariant: :attr:`ReadBuffer.events` is the number of events held.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from streamrec.events import EventBatch
from streamrec.log.base import Positions


@dataclass(frozen=True, slots=True)
class Polled:
    """One poll's events and the consumer positions after it."""

    events: EventBatch
    positions: Positions


@dataclass(frozen=True, slots=True)
class Chunk:
    """The front of a buffer: events to store together, and what to commit after."""

    events: EventBatch
    positions: Positions
    entries: int


class ReadBuffer:
    """A queue of polls waiting to be stored."""

    def __init__(self) -> None:
        self._entries: deque[Polled] = deque()
        self._events = 0

    @property
    def events(self) -> int:
        """How many events are held."""
        return self._events

    def add(self, events: EventBatch, positions: Positions) -> None:
        """Append one poll (it may hold no events when it only skipped messages)."""
        self._entries.append(Polled(events, dict(positions)))
        self._events += len(events)

    def front(self, max_events: int) -> Chunk | None:
        """The oldest polls holding at most ``max_events`` events together (always at
        least one poll), or ``None`` when the buffer is empty."""
        if not self._entries:
            return None
        taken = [self._entries[0]]
        total = len(taken[0].events)
        for entry in list(self._entries)[1:]:
            if total + len(entry.events) > max_events:
                break
            taken.append(entry)
            total += len(entry.events)
        events = EventBatch.concat(entry.events for entry in taken)
        return Chunk(events, dict(taken[-1].positions), len(taken))

    def release(self, chunk: Chunk) -> None:
        """Drop the polls of ``chunk`` (taken from :meth:`front`) once it is stored."""
        for _ in range(chunk.entries):
            self._events -= len(self._entries.popleft().events)

    def discard(self, partitions: Collection[int]) -> None:
        """Forget every event and position of ``partitions`` (they moved to another
        consumer, which reads them again from the group's committed positions)."""
        gone = np.asarray(list(partitions), dtype=np.int32)
        kept: deque[Polled] = deque()
        for entry in self._entries:
            keep = ~np.isin(entry.events.partition, gone)
            events = entry.events if keep.all() else entry.events.take(np.flatnonzero(keep))
            positions = {p: o for p, o in entry.positions.items() if p not in partitions}
            kept.append(Polled(events, positions))
        self._entries = kept
        self._events = sum(len(entry.events) for entry in kept)

    def per_partition(self) -> dict[int, int]:
        """How many events are held, per partition holding any (safe to call while
        another thread adds and releases: it counts a snapshot of the entries)."""
        counts: dict[int, int] = {}
        for entry in tuple(self._entries):
            found, n = np.unique(entry.events.partition, return_counts=True)
            for partition, count in zip(found.tolist(), n.tolist(), strict=True):
                counts[partition] = counts.get(partition, 0) + count
        return counts
