"""Backpressure on writes: refuse events while the processor is too far behind.

The log absorbs bursts, but a processor that falls ever further behind serves ever
staler state (and, on Kafka, the topic grows without bound). Once the lag passes
``serving.max_lag_events``, :meth:`Backpressure.check` raises
:class:`~streamrec.errors.Overloaded`: ``POST /v1/events`` answers 503 with
``Retry-After`` and stores nothing, until the processor has caught up below the bound.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from streamrec.errors import Overloaded


class Backpressure:
    """Admission of writes by the processor's lag.

    Parameters
    ----------
    lag
        The events durable but not applied (``-1`` when unknown: writes are let
        through, and fail on their own if the backend is down).
    max_lag
        The bound; 0 turns backpressure off.
    retry_after_s
        What refused writers are told to wait.
    refresh_s
        How long a lag reading is reused (0: read it on every write; a Kafka
        log's lag is a broker round trip, so replicas reuse it briefly).
    """

    def __init__(
        self, lag: Callable[[], int], max_lag: int, retry_after_s: float, refresh_s: float = 0.0
    ) -> None:
        self._lag = lag
        self.max_lag = max_lag
        self.retry_after_s = retry_after_s
        self.refresh_s = refresh_s
        self.refused = 0
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._last = 0

    def current_lag(self) -> int:
        """The lag, read at most every ``refresh_s``."""
        with self._lock:
            now = time.monotonic()
            if now - self._read_at >= self.refresh_s:
                self._last = self._lag()
                self._read_at = now
            return self._last

    def check(self) -> None:
        """Let a write through, or refuse it.

        Raises
        ------
        Overloaded
            While the lag is above the bound.
        """
        if self.max_lag <= 0:
            return
        lag = self.current_lag()
        if lag > self.max_lag:
            with self._lock:
                self.refused += 1
            raise Overloaded(
                f"the processor is {lag} events behind (more than {self.max_lag}); retry later",
                self.retry_after_s,
            )
