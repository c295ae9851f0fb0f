"""The start-up replay: an engine is not up to date until its state reaches the log's
end as it was when the engine opened.

An embedded engine restores its snapshot and replays the log's tail; an API replica
reads a Redis state that processors may still be restoring. Until the state's
positions reach the log end recorded at start, ``/readyz`` answers 503 with the
progress, and reads wait for the replay (never on the event loop) up to
``serving.replay_wait_s`` after the start; past that, lists are served flagged
``degraded: ["replaying"]``. Once reached, the replay is over for good: later lag is
the processor's business (``lag`` in ``/readyz``, backpressure on writes).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from streamrec.log.base import Positions

#: What an answer served while the replay runs is flagged with.
REPLAYING = "replaying"


@dataclass(frozen=True, slots=True)
class ReplayProgress:
    """How far the start-up replay is: per partition, the applied and target offsets."""

    applied: Positions
    target: Positions

    @property
    def remaining(self) -> int:
        """Events still to apply."""
        return sum(max(0, end - self.applied.get(p, 0)) for p, end in self.target.items())

    def as_dict(self) -> dict[str, object]:
        """The JSON form ``/readyz`` shows (partitions as strings)."""
        return {
            "applied": {str(p): o for p, o in sorted(self.applied.items())},
            "target": {str(p): o for p, o in sorted(self.target.items())},
            "remaining": self.remaining,
        }


class StartupReplay:
    """Tracks the replay of the log tail at start.

    Parameters
    ----------
    target
        The log's end positions when the engine opened.
    applied
        Reads the state's positions.
    wait_s
        How long after the start reads wait for the replay.
    """

    def __init__(
        self, target: Mapping[int, int], applied: Callable[[], Positions], wait_s: float
    ) -> None:
        self.target: Positions = {p: o for p, o in target.items() if o > 0}
        self._applied = applied
        self._deadline = time.monotonic() + wait_s
        self._done = threading.Event()

    def progress(self) -> ReplayProgress | None:
        """The progress while replaying; ``None`` once the state reached the target."""
        if self._done.is_set():
            return None
        found = ReplayProgress(self._applied(), self.target)
        if found.remaining == 0:
            self._done.set()
            return None
        return found

    @property
    def running(self) -> bool:
        """Whether the state has not reached the target yet."""
        return self.progress() is not None

    def wait_budget_s(self) -> float:
        """Seconds a read may still wait for the replay (0 past the deadline)."""
        return max(0.0, self._deadline - time.monotonic())
