"""The History port: every event kept for training and analysis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from streamrec.events import EventBatch


@runtime_checkable
class History(Protocol):
    """All events ever ingested, readable in time order in chunks."""

    def write(self, batch: EventBatch) -> None:
        """Store events (idempotent per partition and offset where those are set)."""
        ...

    def scan(
        self, since_ms: int | None = None, until_ms: int | None = None, chunk_size: int = 100_000
    ) -> Iterator[EventBatch]:
        """Events with ``since_ms <= timestamp < until_ms`` in (timestamp, offset) order."""
        ...

    def count(self) -> int:
        """How many events are stored."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...
