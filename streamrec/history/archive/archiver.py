"""The history archiver: its own Kafka consumer group, writing every event to the History.

Run it as ``streamrec archive --log kafka://… --history postgresql://…``. It shares
nothing with the processors but the topic: its group (``streamrec-history``) has
its own offsets, so a Redis outage never holds the history back and a PostgreSQL
outage never holds the online state back.

Invariants:

* offsets are committed only for events the history has stored (commit after
  write), so a crash loses nothing: what was read but not stored is read again;
* the history stores each ``(partition, offset)`` once, so what is read again after
  a crash, a failed commit or a rebalance is not stored twice;
* at most ``archive.buffer_events`` events are held in memory: when the buffer is
  full the consumer is paused (it keeps polling, so it stays in its group) and
  Kafka keeps the rest;
* while the history fails, writes are retried after ``backoff_base_s``, doubling up
  to ``backoff_max_s``; the connection is opened again for each retry;
* an event the history refuses as invalid (text PostgreSQL cannot hold) is found by
  splitting the batch, sent to the topic's dead-letter topic and skipped, so it
  cannot stall the stream.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from streamrec.config import ArchiveSettings
from streamrec.erasures import events_only
from streamrec.errors import InvalidInput, StreamrecError
from streamrec.events import EventBatch
from streamrec.history.archive.buffer import Chunk, ReadBuffer
from streamrec.history.base import History
from streamrec.log.base import Positions
from streamrec.processing.runner import LAG_REFRESH_S, BatchObserver, notify

if TYPE_CHECKING:  # the Kafka extra is imported by whoever builds the log
    from streamrec.log.kafka import KafkaEventLog, KafkaLogConsumer

log = logging.getLogger(__name__)

#: The archiver's consumer group (the processors use ``streamrec-state``).
ARCHIVE_GROUP = "streamrec-history"

#: Pause before polling again after the log failed.
RETRY_PAUSE_S = 0.5


@dataclass(frozen=True, slots=True)
class ArchiveStatus:
    """What a running archiver reports.

    ``last_error`` is the latest failure (of the log or the history), ``None``
    again once a step went through with the history writable.
    """

    archived_events: int
    failed_writes: int
    rejected_events: int
    buffered_events: int
    paused: bool
    assignment: list[int]
    last_error: str | None


@dataclass(frozen=True, slots=True)
class ArchiveLag:
    """Events in the topic not yet stored in the history, per partition."""

    partitions: dict[int, int]

    @property
    def total(self) -> int:
        """Summed over partitions."""
        return sum(self.partitions.values())


class Backoff:
    """Exponential backoff: ``base``, ``2 base``, ``4 base``, … capped at ``cap``."""

    def __init__(
        self, base_s: float, cap_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.failures = 0
        self._clock = clock
        self._next_try = 0.0

    def due(self) -> bool:
        """Whether the next attempt may run now."""
        return self._clock() >= self._next_try

    def failed(self) -> float:
        """Record a failure; return the delay until the next attempt."""
        delay = min(self.cap_s, self.base_s * 2.0 ** min(self.failures, 60))
        self.failures += 1
        self._next_try = self._clock() + delay
        return delay

    def succeeded(self) -> None:
        """Record a success: the next failure waits ``base`` again."""
        self.failures = 0
        self._next_try = 0.0


class HistoryArchiver:
    """Polls a consumer-group member and stores its events in a history.

    Parameters
    ----------
    log
        The Kafka event log to consume.
    connect
        Opens the history (usually ``PostgresHistory.connect(url)``); called again
        after a failed write, so a restarted server is reached anew.
    settings
        Batch size, buffer bound, poll timeout and backoff.
    group
        The consumer group (every archiver of one history uses the same group).

    Step it from one thread (:meth:`run` does); :meth:`status` and :meth:`lag` may
    be read from another.
    """

    def __init__(
        self,
        log: KafkaEventLog,
        connect: Callable[[], History],
        settings: ArchiveSettings,
        group: str = ARCHIVE_GROUP,
        observers: Sequence[BatchObserver] = (),
    ) -> None:
        self.settings = settings
        #: Told of every stored chunk (with its write time) and every failed write.
        self.observers = list(observers)
        self.archived_events = 0
        self.failed_writes = 0
        self.rejected_events = 0
        self.last_error: str | None = None
        self._connect = connect
        self._history: History | None = None
        self._buffer = ReadBuffer()
        self._backoff = Backoff(settings.backoff_base_s, settings.backoff_max_s)
        self._read: Positions = {}  # positions after the last poll buffered
        self._written: Positions = {}  # positions up to which everything is stored
        self._committed: Positions = {}
        self._lag: dict[int, int] = {}  # read by metrics scrapes from another thread
        self._lag_read_at = 0.0
        self.consumer: KafkaLogConsumer = log.consumer(group, on_revoke=self._revoked)

    def _revoked(self, partitions: list[int]) -> None:
        """Commit how far partitions about to move were stored; forget what of them
        is buffered (their next owner reads it again)."""
        stored = {p: self._written[p] for p in partitions if p in self._written}
        try:
            self.consumer.commit(stored)
        except StreamrecError as exc:  # partitions already lost: the history dedupes
            log.warning("commit on revoke of %s failed: %s", partitions, exc)
        self._buffer.discard(partitions)
        for p in partitions:
            for positions in (self._read, self._written, self._committed):
                positions.pop(p, None)

    def step(self) -> int:
        """Store what is buffered when the history is due, then poll one micro-batch
        into the buffer (unless it is full); return how many events were stored.

        A failed write is recorded and retried after the backoff, never raised.

        Raises
        ------
        StreamrecError
            If the log fails (polling or committing); the next step carries on.
        """
        stored = self._store_due()
        self._commit_stored()
        self._poll()
        self._refresh_lag()
        if not self._backoff.failures:
            self.last_error = None
        return stored

    def _store_due(self) -> int:
        stored = 0
        while (chunk := self._buffer.front(self.settings.batch_size)) is not None:
            if len(chunk.events) and not self._backoff.due():
                break
            started = time.perf_counter()
            try:
                kept = self._store(chunk)
            except Exception as exc:  # the chunk stays buffered for the next attempt
                self._write_failed(exc)
                notify(self.observers, lambda observer: observer.failed())
                break
            self._observe_stored(chunk.events, time.perf_counter() - started)
            self._buffer.release(chunk)
            self._written.update(chunk.positions)
            self.archived_events += kept
            stored += kept
        return stored

    def _observe_stored(self, events: EventBatch, seconds: float) -> None:
        stored = events_only(events)
        notify(self.observers, lambda observer: observer.applied(stored, seconds))

    def _store(self, chunk: Chunk) -> int:
        if not len(chunk.events):
            return 0
        if self._history is None:
            self._history = self._connect()
        try:
            kept = self._store_valid(self._history, chunk.events)
        except Exception:
            self._disconnect()
            raise
        if self._backoff.failures:
            log.info("the history is writable again after %d failed writes", self._backoff.failures)
        self._backoff.succeeded()
        return kept

    def _store_valid(self, history: History, events: EventBatch) -> int:
        """Write ``events``; dead-letter the ones the history refuses as invalid
        (found by halving); return how many were stored."""
        try:
            history.write(events)
            return len(events)
        except InvalidInput as exc:
            if len(events) == 1:
                self.consumer.dead_letter(events, f"the history refused the event: {exc}")
                self.rejected_events += 1
                log.warning("dead-lettered an event the history refused: %s", exc)
                return 0
        half = len(events) // 2
        return self._store_valid(history, events.take(slice(0, half))) + self._store_valid(
            history, events.take(slice(half, None))
        )

    def _write_failed(self, exc: Exception) -> None:
        self.failed_writes += 1
        self.last_error = repr(exc)
        delay = self._backoff.failed()
        log.warning(
            "history write failed (%s); %d events buffered, retrying in %.1f s",
            exc,
            self._buffer.events,
            delay,
        )

    def _disconnect(self) -> None:
        history, self._history = self._history, None
        if history is not None:
            with contextlib.suppress(Exception):  # it is broken already
                history.close()

    def _commit_stored(self) -> None:
        ahead = {p: o for p, o in self._written.items() if self._committed.get(p) != o}
        if ahead:
            self.consumer.commit(ahead)
            self._committed.update(ahead)

    def _poll(self) -> None:
        room = self.settings.buffer_events - self._buffer.events
        if room <= 0 and not self.consumer.paused:
            self.consumer.pause()
            log.warning("buffer full (%d events): reading paused", self._buffer.events)
        elif room > 0 and self.consumer.paused:
            self.consumer.resume()
        wanted = max(1, min(self.settings.batch_size, room))  # paused: serves rebalances
        batch = self.consumer.poll(wanted, self.settings.poll_timeout_ms / 1000)
        positions = self.consumer.positions()
        if len(batch) or positions != self._read:
            self._buffer.add(batch, positions)
            self._read = positions

    def run(self, stop: threading.Event, report_every_s: float = 10.0) -> None:
        """Step until ``stop`` is set, surviving failures (logged, retried)."""
        last_report = time.monotonic()
        reported = self.archived_events
        while not stop.is_set():
            try:
                self.step()
            except Exception as exc:  # keep going: nothing read is lost
                self.last_error = repr(exc)
                log.warning("reading the log failed, retrying: %s", exc)
                stop.wait(RETRY_PAUSE_S)
            now = time.monotonic()
            if now - last_report >= report_every_s:
                rate = (self.archived_events - reported) / (now - last_report)
                log.info(
                    "archived %d events (%.0f/s), %d buffered, lag %d",
                    self.archived_events,
                    rate,
                    self._buffer.events,
                    self._total_lag(),
                )
                last_report, reported = now, self.archived_events

    def lag(self) -> ArchiveLag:
        """Events not yet stored: not yet read, plus read and still buffered.

        Raises
        ------
        BackendUnavailable
            If Kafka cannot be reached.
        """
        buffered = self._buffer.per_partition()
        unread = self.consumer.lag()
        return ArchiveLag({p: n + buffered.get(p, 0) for p, n in unread.items()})

    def lag_by_partition(self) -> dict[int, int]:
        """Per assigned partition, the events not stored yet (unread + buffered), as of
        the archiver's last step at most ``LAG_REFRESH_S`` ago.

        Safe to call from any thread (a metrics scrape): the Kafka client is only
        called from the archiver's own thread.
        """
        return self._lag

    def _refresh_lag(self) -> None:
        now = time.monotonic()
        if now - self._lag_read_at < LAG_REFRESH_S:
            return
        self._lag_read_at = now
        try:
            unread = self.consumer.fetched_lag()
        except StreamrecError:  # the log is down: keep the last reading
            return
        buffered = self._buffer.per_partition()
        self._lag = {p: n + buffered.get(p, 0) for p, n in unread.items()}

    def _total_lag(self) -> int:
        try:
            return self.lag().total
        except StreamrecError:
            return -1

    def status(self) -> ArchiveStatus:
        """Progress and health."""
        return ArchiveStatus(
            archived_events=self.archived_events,
            failed_writes=self.failed_writes,
            rejected_events=self.rejected_events,
            buffered_events=self._buffer.events,
            paused=self.consumer.paused,
            assignment=self.consumer.assignment(),
            last_error=self.last_error,
        )

    def close(self) -> None:
        """Leave the group (its revoke hook commits what was stored), close the history."""
        self.consumer.close()
        self._disconnect()
