"""The embedded History: the embedded event log's own files, read as history.

Every event in the log is history, so nothing is copied: this adapter reads the
segment files of an :class:`~streamrec.log.embedded.EmbeddedEventLog` directory
(read-only, so a trainer in another process can scan while the server appends).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from streamrec.erasures import is_erasure, without_erased
from streamrec.errors import InvalidInput
from streamrec.events import EventBatch
from streamrec.log.embedded.segments import read_frames


class EmbeddedHistory:
    """History over an embedded event log directory.

    Parameters
    ----------
    directory
        The event log directory (the one given to ``EmbeddedEventLog.open``).
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def write(self, batch: EventBatch) -> None:
        """Do nothing: the events are already history, since they are in the log.

        Every event reaches the embedded log before anything else sees it, and this
        history reads the log's files, so storing ``batch`` again would duplicate it.
        """

    def scan(
        self, since_ms: int | None = None, until_ms: int | None = None, chunk_size: int = 100_000
    ) -> Iterator[EventBatch]:
        """Events with ``since_ms <= timestamp < until_ms`` in (timestamp, offset) order.

        The log is in offset order, not time order, so a scan reads every frame,
        keeps the events inside the window and sorts them (a stable sort of the
        timestamps, so ties stay in offset order) before yielding chunks. Memory
        grows with the number of events in the window. Events of a user or item
        erased later in the log are left out, and so are the erasure records (see
        :mod:`streamrec.erasures`); an erasure outside the time window still applies.

        Raises
        ------
        InvalidInput
            If ``chunk_size`` is below 1.
        CorruptData
            If an acknowledged frame is damaged.
        """
        if chunk_size < 1:
            raise InvalidInput("chunk_size must be at least 1")
        parts = []
        for header, walk in read_frames(self.directory):
            batch = walk.batch(header)
            keep = np.ones(len(batch), dtype=bool)
            if since_ms is not None:
                keep &= batch.timestamp >= since_ms
            if until_ms is not None:
                keep &= batch.timestamp < until_ms
            keep |= is_erasure(batch)
            if keep.all():
                parts.append(batch)
            elif keep.any():
                parts.append(batch.take(np.flatnonzero(keep)))
        events = without_erased(EventBatch.concat(parts))
        order = np.argsort(events.timestamp, kind="stable")
        for start in range(0, len(order), chunk_size):
            yield events.take(order[start : start + chunk_size])

    def count(self) -> int:
        """How many events the log holds (headers only; payloads are not decoded)."""
        return sum(header.count for header, _ in read_frames(self.directory, verify_sealed=False))

    def close(self) -> None:
        """Nothing to release: every scan opens and closes its own files."""
