"""The EventLog port: durable, ordered, replayable append with consumer positions.

A log has one or more partitions; each event gets an offset within its partition.
Positions are ``{partition: next_offset_to_read}``. Events of one user always land
in the same partition, so a user's events stay ordered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from streamrec.events import EventBatch

Positions = dict[int, int]


@runtime_checkable
class LogConsumer(Protocol):
    """Reads a log from given positions on behalf of one consumer group."""

    def poll(self, max_events: int, timeout_s: float) -> EventBatch:
        """Up to ``max_events`` events after the current position, waiting up to
        ``timeout_s`` for the first one; the batch carries offsets and partitions."""
        ...

    def seek(self, positions: Mapping[int, int]) -> None:
        """Continue reading each listed partition from the given offset."""
        ...

    def commit(self, positions: Mapping[int, int]) -> None:
        """Record that the group has processed everything before these positions."""
        ...

    def committed(self) -> Positions:
        """The group's committed positions (empty where nothing was committed)."""
        ...

    def close(self) -> None:
        """Release the consumer (leaving its group where there is one)."""
        ...


@runtime_checkable
class EventLog(Protocol):
    """An append-only, durable event log."""

    def append(self, batch: EventBatch) -> EventBatch:
        """Append events; return only once they are durable.

        Returns the batch with the offset and partition of every event.
        """
        ...

    def consumer(self, group: str) -> LogConsumer:
        """A consumer for ``group``, positioned at the group's committed positions."""
        ...

    def end_positions(self) -> Positions:
        """The next offset to be written, per partition."""
        ...

    def close(self) -> None:
        """Flush and release resources."""
        ...
