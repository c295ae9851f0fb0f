"""Freshness: how long accepted events wait before the online state reflects them.

:class:`AcceptanceClock` remembers, per log partition, the end offset of each
append and the moment it became durable (when the API acknowledged it). When the
processor has applied a batch, the appends it completed are taken out with their
ages: one observation per append (per acknowledged request), measured when its last
event is applied, so the work per applied batch is proportional to the appends it
completes and never to its events. Appends this process did not make (a replay
after a restart, events of other producers) are not observed. At most ``capacity``
appends are remembered per partition; the oldest are forgotten first.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from streamrec.events import EventBatch


def end_offsets(batch: EventBatch) -> dict[int, int]:
    """Per partition, the offset after the batch's last logged event."""
    if len(batch) == 0:
        return {}
    partitions = batch.partition
    first, last = int(partitions.min()), int(partitions.max())
    if first == last:  # one partition (always, embedded): three array calls in all
        end = int(batch.offset.max()) + 1
        return {first: end} if end > 0 else {}
    logged = batch.offset >= 0
    partitions, offsets = partitions[logged], batch.offset[logged]
    return {int(p): int(offsets[partitions == p].max()) + 1 for p in np.unique(partitions).tolist()}


class AcceptanceClock:
    """When each append became durable, until the processor has applied it.

    Parameters
    ----------
    observe
        Receives each append's age in seconds once the state reflects it in full
        (0 for an append applied before it was acknowledged).
    capacity
        Appends remembered per partition.
    clock
        Monotonic seconds.
    """

    def __init__(
        self,
        observe: Callable[[float], None],
        capacity: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.observe = observe
        self.capacity = capacity
        self.clock = clock
        self._pending: dict[int, deque[tuple[int, float]]] = {}
        self._applied: dict[int, int] = {}
        self._lock = threading.Lock()

    def accepted(self, logged: EventBatch) -> None:
        """Note that ``logged`` (with its log offsets) is durable now."""
        now = self.clock()
        early = 0
        with self._lock:
            for partition, end in end_offsets(logged).items():
                if end <= self._applied.get(partition, 0):
                    early += 1
                    continue
                pending = self._pending.get(partition)
                if pending is None:
                    pending = self._pending[partition] = deque(maxlen=self.capacity)
                pending.append((end, now))
        for _ in range(early):
            self.observe(0.0)

    def applied(self, batch: EventBatch) -> None:
        """Observe the appends the state reflects in full now that it applied ``batch``."""
        now = self.clock()
        ages: list[float] = []
        with self._lock:
            for partition, end in end_offsets(batch).items():
                self._applied[partition] = max(end, self._applied.get(partition, 0))
                pending = self._pending.get(partition)
                while pending and pending[0][0] <= end:
                    ages.append(now - pending.popleft()[1])
        for age in ages:
            self.observe(age)
