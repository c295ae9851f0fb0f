"""The stream processor: the imperative shell around the fold.

A thread polls the log in micro-batches, applies each batch to the online state,
and only then commits the consumer position. Callers can wait until the state
reflects given log positions (``POST /v1/events?wait=true``). Observers (metrics,
drift) hear of every applied batch and every failed step, on the processor's thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from streamrec.config import ProcessorSettings
from streamrec.erasures import events_only
from streamrec.events import EventBatch
from streamrec.log.base import LogConsumer

log = logging.getLogger(__name__)

#: The consumer group that folds the log into the online state (the embedded
#: processor thread, or every scale-out worker of one state).
STATE_GROUP = "streamrec-state"
#: How often a consumer's step refreshes the lag per partition that metrics report.
LAG_REFRESH_S = 1.0


class BatchSink(Protocol):
    """What a processor folds batches into: an online state (or a state that also
    attributes, :class:`~streamrec.experiments.attributor.AttributedState`)."""

    def apply(self, batch: EventBatch) -> None:
        """Fold a batch in; events before :meth:`positions` are skipped."""
        ...

    def positions(self) -> dict[int, int]:
        """Per partition, the offset after the last applied event."""
        ...


class BatchObserver(Protocol):
    """Hears of what a consumer of the log does, batch by batch (kept cheap: it runs
    on the consumer's thread between batches)."""

    def applied(self, batch: EventBatch, seconds: float) -> None:
        """``batch`` was written to its sink in ``seconds``."""
        ...

    def failed(self) -> None:
        """A step failed (its batch will be read again)."""
        ...


def notify(observers: Sequence[BatchObserver], call: Callable[[BatchObserver], None]) -> None:
    """Tell each observer; one that fails is logged and never fails the consumer."""
    for observer in observers:
        try:
            call(observer)
        except Exception:  # telemetry must not stop or fail the processing
            log.exception("batch observer %r failed", observer)


class StreamProcessor:
    """Consumes a log into an online state on a background thread.

    Parameters
    ----------
    consumer
        Positioned where the state left off (the caller seeks it).
    state
        Receives every batch.
    on_applied
        Called after each applied batch with the number of events (snapshots).
    observers
        Told of each applied batch (with the seconds its apply and commit took) and
        of each failed step.
    """

    def __init__(
        self,
        consumer: LogConsumer,
        state: BatchSink,
        settings: ProcessorSettings,
        on_applied: Callable[[int], None] = lambda n: None,
        observers: Sequence[BatchObserver] = (),
    ) -> None:
        self.consumer = consumer
        self.state = state
        self.settings = settings
        self.on_applied = on_applied
        self.observers = tuple(observers)
        self.applied_events = 0
        self.last_error: str | None = None
        self._progress = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stream-processor", daemon=True)

    def start(self) -> None:
        """Start consuming."""
        self._thread.start()

    def step(self) -> int:
        """Poll and apply one micro-batch; return how many events it held."""
        batch = self.consumer.poll(self.settings.max_batch, self.settings.poll_interval_ms / 1000)
        if len(batch) == 0:
            return 0
        started = time.perf_counter()
        self.state.apply(batch)
        self.consumer.commit(self.state.positions())
        seconds = time.perf_counter() - started
        with self._progress:
            self.applied_events += len(batch)
            self._progress.notify_all()
        self.on_applied(len(batch))
        events = events_only(batch)
        notify(self.observers, lambda observer: observer.applied(events, seconds))
        return len(batch)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
                self.last_error = None
            except Exception as exc:  # the loop must survive a failing batch and retry
                self.last_error = repr(exc)
                log.exception("stream processor step failed; retrying")
                notify(self.observers, lambda observer: observer.failed())
                time.sleep(0.5)

    def wait_for(self, positions: Mapping[int, int], timeout_s: float) -> bool:
        """Block until the state has applied everything before ``positions``."""
        deadline = time.monotonic() + timeout_s

        def reached() -> bool:
            current = self.state.positions()
            return all(current.get(p, 0) >= o for p, o in positions.items())

        with self._progress:
            while not reached():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._progress.wait(min(remaining, 0.05))
        return True

    def stop(self) -> None:
        """Stop after the current batch."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
