"""The scale-out processor: one member of a Kafka consumer group folding into Redis.

Run N of them (``streamrec process --log kafka://… --state redis://…``, wired by
:func:`streamrec.bootstrap.run_processor`); the group
gives each partition one owner. A step polls a micro-batch, applies it to the state
and commits the consumer position only after the state write succeeded. The state
stores its own per-partition positions in the same write, so a batch redelivered
after a crash (applied, not yet committed) changes nothing. When a write fails the
consumer is rewound to the batch before the next poll, after a pause; malformed
messages never reach the state (the Kafka adapter dead-letters them). Observers
(the ``/metrics`` of ``streamrec process --metrics-port``) hear of every applied batch
and every failed step.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from streamrec.config import ProcessorSettings
from streamrec.erasures import events_only
from streamrec.errors import StreamrecError
from streamrec.events import EventBatch
from streamrec.log.kafka import KafkaEventLog
from streamrec.log.kafka.consumer import KafkaLogConsumer
from streamrec.processing.runner import LAG_REFRESH_S, STATE_GROUP, BatchObserver, notify
from streamrec.state.base import OnlineState

log = logging.getLogger(__name__)

#: Pause before retrying a batch whose write failed.
RETRY_PAUSE_S = 0.5


@dataclass(frozen=True, slots=True)
class WorkerStatus:
    """What a running worker reports."""

    applied_events: int
    failed_steps: int
    assignment: list[int]
    last_error: str | None


class Worker:
    """Polls a consumer-group member and applies its batches to an online state.

    Parameters
    ----------
    log
        The Kafka event log to consume.
    state
        The shared online state (usually :class:`~streamrec.state.redis.RedisState`).
    settings
        Batch size and poll timeout.
    group
        The consumer group (every worker of one state uses the same group).
    observers
        Told of each applied batch (with the seconds its state write took) and of
        each failed step.
    """

    def __init__(
        self,
        log: KafkaEventLog,
        state: OnlineState,
        settings: ProcessorSettings,
        group: str = STATE_GROUP,
        observers: Sequence[BatchObserver] = (),
    ) -> None:
        self.state = state
        self.settings = settings
        self.observers = list(observers)
        self.applied_events = 0
        self.failed_steps = 0
        self.last_error: str | None = None
        self._rewind: dict[int, int] = {}  # where to read again after a failed batch
        self._committed: dict[int, int] = {}
        self._lag: dict[int, int] = {}
        self._lag_read_at = float("-inf")
        self.consumer: KafkaLogConsumer = log.consumer(group, on_revoke=self._revoked)

    def _revoked(self, partitions: list[int]) -> None:
        """Commit how far partitions about to move were applied (everything read,
        except a failed batch still to be read again)."""
        done = {**self.consumer.positions(), **self._rewind}
        try:
            self.consumer.commit({p: done[p] for p in partitions if p in done})
        except StreamrecError as exc:  # partitions already lost: the state's positions decide
            log.warning("commit on revoke of %s failed: %s", partitions, exc)
        for p in partitions:
            self._rewind.pop(p, None)
            self._committed.pop(p, None)

    def step(self) -> int:
        """Poll and apply one micro-batch; return how many events it held.

        Raises
        ------
        StreamrecError
            If the log or the state fails; the failed batch is read again by the
            next step.
        """
        self._refresh_lag()
        if self._rewind:
            self.consumer.seek(self._rewind)
            self._rewind = {}
        batch = self.consumer.poll(self.settings.max_batch, self.settings.poll_interval_ms / 1000)
        if len(batch):
            started = time.perf_counter()
            try:
                self.state.apply(batch)
            except Exception:
                self._rewind = _firsts(batch)
                raise
            seconds = time.perf_counter() - started
            events = events_only(batch)
            notify(self.observers, lambda observer: observer.applied(events, seconds))
        read = self.consumer.positions()
        if read != self._committed:
            self.consumer.commit(read)
            self._committed = read
        self.applied_events += len(batch)
        return len(batch)

    def run(self, stop: threading.Event, report_every_s: float = 10.0) -> None:
        """Step until ``stop`` is set, surviving failures (logged, retried)."""
        last_report = time.monotonic()
        reported = self.applied_events
        while not stop.is_set():
            try:
                self.step()
                self.last_error = None
            except Exception as exc:  # keep consuming: the failed batch is read again
                self.failed_steps += 1
                self.last_error = repr(exc)
                notify(self.observers, lambda observer: observer.failed())
                log.warning("batch failed, retrying: %s", exc)
                stop.wait(RETRY_PAUSE_S)
            now = time.monotonic()
            if now - last_report >= report_every_s:
                rate = (self.applied_events - reported) / (now - last_report)
                total = self.applied_events
                log.info("applied %d events (%.0f/s), lag %d", total, rate, self.lag())
                last_report, reported = now, self.applied_events

    def lag(self) -> int:
        """Events in the topic this group has not read yet (-1 if the log is down)."""
        try:
            return sum(self.consumer.lag().values())
        except StreamrecError:
            return -1

    def lag_by_partition(self) -> dict[int, int]:
        """Per partition assigned to this worker, the events it has not read yet, so
        that the group's workers add up to its lag.

        Safe to call from any thread (a metrics scrape): it returns what the worker's
        own thread read from its consumer's last fetches at most ``LAG_REFRESH_S``
        ago (the Kafka client is only ever called from the worker's thread).
        """
        return self._lag

    def _refresh_lag(self) -> None:
        now = time.monotonic()
        if now - self._lag_read_at < LAG_REFRESH_S:
            return
        self._lag_read_at = now
        try:
            self._lag = self.consumer.fetched_lag()
        except StreamrecError:  # the log is down: no lag to report
            self._lag = {}

    def status(self) -> WorkerStatus:
        """Progress and health."""
        return WorkerStatus(
            applied_events=self.applied_events,
            failed_steps=self.failed_steps,
            assignment=self.consumer.assignment(),
            last_error=self.last_error,
        )

    def close(self) -> None:
        """Leave the group (its revoke hook commits) and release the consumer."""
        self.consumer.close()


def _firsts(batch: EventBatch) -> dict[int, int]:
    """The first offset of each partition in ``batch``."""
    logged = batch.offset >= 0
    return {
        int(p): int(batch.offset[logged & (batch.partition == p)].min())
        for p in np.unique(batch.partition[logged]).tolist()
    }
