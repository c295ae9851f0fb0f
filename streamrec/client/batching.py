"""The bookkeeping of an event batcher, shared by the thread and asyncio drivers.

:class:`BatchQueue` is plain state with no locking and no I/O: a driver
(:class:`~streamrec.client.batcher.Batcher`, :class:`~streamrec.client.aio.AsyncBatcher`)
holds its lock around every call, sends what :meth:`BatchQueue.take` hands out, and
reports back with :meth:`BatchQueue.finished`. Invariants: events leave in the order
they were added; a batch holds at most ``max_batch`` events; ``done`` never passes
``added``; a batch is due once it is full, once its oldest event has waited
``max_delay_s``, while a flush is pending, or once the queue is closed; every failed
batch is kept until it is raised by :meth:`BatchQueue.raise_failures` (or handed to
the ``on_error`` callback), so none is dropped unseen.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from streamrec.client.calls import EventLike
from streamrec.client.errors import StreamrecClientError, StreamrecHTTPError


@dataclass(frozen=True, slots=True)
class BatchOptions:
    """How a batcher groups events and what it does when its queue is full.

    Parameters
    ----------
    max_batch
        The most events in one request (a full batch is sent at once).
    max_delay_s
        The longest an event waits in the queue before its batch is sent.
    max_queue
        The most events waiting to be sent.
    when_full
        ``"block"``: :meth:`add` waits for room (up to its ``timeout``);
        ``"raise"``: :meth:`add` raises :class:`QueueFullError` at once.
    wait
        Send with ``?wait=true``: each batch returns once applied, not just durable.
    """

    max_batch: int = 500
    max_delay_s: float = 0.2
    max_queue: int = 10_000
    when_full: Literal["block", "raise"] = "block"
    wait: bool = False

    def __post_init__(self) -> None:
        if self.max_batch < 1 or self.max_queue < 1:
            raise ValueError("max_batch and max_queue must be at least 1")
        if self.max_delay_s < 0:
            raise ValueError("max_delay_s must not be negative")
        if self.when_full not in ("block", "raise"):
            raise ValueError("when_full is 'block' or 'raise'")


@dataclass(frozen=True, slots=True)
class FailedBatch:
    """A batch the server did not accept: its events, in order, and why.

    For an :class:`~streamrec.client.errors.InvalidInputError`, each problem's
    ``index`` is the position of the bad event in ``events``; none of them was stored.
    """

    events: list[EventLike]
    error: Exception

    def events_without_problems(self) -> list[EventLike]:
        """The events no problem names, in order: what can be sent again as they are.

        All of them when the failure was not a rejection (a connection failure, a 503).
        """
        named = (
            {p.index for p in self.error.problems}
            if isinstance(self.error, StreamrecHTTPError)
            else set()
        )
        return [event for i, event in enumerate(self.events) if i not in named]

    def describe(self) -> str:
        """One line: how many events, the error, and the first problems."""
        text = f"{len(self.events)} event(s): {self.error}"
        if isinstance(self.error, StreamrecHTTPError) and self.error.problems:
            shown = "; ".join(f"#{p.index} {p.field}: {p.message}" for p in self.error.problems[:5])
            text += f" [{shown}]"
        return text


class BatchError(StreamrecClientError):
    """Batches that failed since the last report; :attr:`failures` holds each one."""

    def __init__(self, failures: list[FailedBatch]) -> None:
        lines = "\n".join(f"  {f.describe()}" for f in failures)
        super().__init__(f"{len(failures)} batch(es) of events were not accepted:\n{lines}")
        self.failures = failures


class QueueFullError(StreamrecClientError):
    """The batcher's queue is full (at once with ``when_full="raise"``, else after a timeout)."""


class BatcherClosedError(StreamrecClientError):
    """An event was added to a batcher that is closed."""


OnError = Callable[[FailedBatch], object]

log = logging.getLogger(__name__)


def report(on_error: OnError | None, failure: FailedBatch) -> bool:
    """Hand ``failure`` to ``on_error``; whether it took it (it did not if it raised)."""
    if on_error is None:
        return False
    try:
        on_error(failure)
    except Exception:
        log.exception("on_error raised; the failure is kept for flush() and close()")
        return False
    return True


class BatchQueue:
    """Queued events and counters of one batcher (the driver holds the lock)."""

    def __init__(self, options: BatchOptions) -> None:
        self.options = options
        self.queue: deque[tuple[float, EventLike]] = deque()
        self.added = 0
        self.taken = 0
        self.done = 0
        self.flush_target = 0
        self.closed = False
        self.failures: list[FailedBatch] = []

    def has_room(self) -> bool:
        """Whether one more event fits the queue."""
        return len(self.queue) < self.options.max_queue

    def add(self, event: EventLike, now: float) -> None:
        """Queue ``event`` (arrived at monotonic time ``now``).

        Raises
        ------
        BatcherClosedError
            If the batcher is closed.
        """
        if self.closed:
            raise BatcherClosedError("the batcher is closed")
        self.queue.append((now, event))
        self.added += 1

    def request_flush(self) -> int:
        """Make everything queued so far due; the ``done`` count that means it was sent."""
        self.flush_target = self.added
        return self.added

    def due(self, now: float) -> bool:
        """Whether a batch should be sent now."""
        if not self.queue:
            return False
        return (
            len(self.queue) >= self.options.max_batch
            or now >= self.queue[0][0] + self.options.max_delay_s
            or self.taken < self.flush_target
            or self.closed
        )

    def seconds_until_due(self, now: float) -> float | None:
        """How long until the oldest event's delay runs out (``None``: nothing queued)."""
        if not self.queue:
            return None
        return max(0.0, self.queue[0][0] + self.options.max_delay_s - now)

    def finished_all(self) -> bool:
        """Closed with nothing left to send: the driver may stop."""
        return self.closed and not self.queue

    def take(self) -> list[EventLike]:
        """The next batch, oldest first."""
        size = min(len(self.queue), self.options.max_batch)
        batch = [self.queue.popleft()[1] for _ in range(size)]
        self.taken += size
        return batch

    def finished(self, batch: list[EventLike], error: Exception | None, reported: bool) -> None:
        """Record that ``batch`` was sent, or failed with ``error``.

        A failure already handed to an ``on_error`` callback (``reported``) is not kept.
        """
        self.done += len(batch)
        if error is not None and not reported:
            self.failures.append(FailedBatch(batch, error))

    def raise_failures(self) -> None:
        """Raise the failures kept since the last call, once.

        Raises
        ------
        BatchError
            If any batch failed.
        """
        if self.failures:
            failures, self.failures = self.failures, []
            raise BatchError(failures)
