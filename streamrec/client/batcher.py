"""A background thread that sends queued events in batches, by size and by time.

Make one with :meth:`StreamrecClient.batcher` (or use the client's own,
``client.events``). :meth:`Batcher.add` queues an event and returns; the thread sends
a batch once ``max_batch`` events are queued or the oldest has waited ``max_delay_s``.
The queue holds at most ``max_queue`` events: then :meth:`~Batcher.add` blocks for room
(``when_full="block"``, up to its ``timeout``) or raises
:class:`~streamrec.client.batching.QueueFullError` (``when_full="raise"``).

Nothing fails unseen: a batch the server rejects (a 422 lists every bad event), or
that could not be delivered after the client's retries, is handed to ``on_error`` if
one was given, and otherwise raised as a
:class:`~streamrec.client.batching.BatchError` by the next :meth:`~Batcher.flush`,
:meth:`~Batcher.add` or :meth:`~Batcher.close`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Protocol

from streamrec.client.batching import (
    BatchOptions,
    BatchQueue,
    FailedBatch,
    OnError,
    QueueFullError,
    report,
)
from streamrec.client.calls import EventLike


class SendEvents(Protocol):
    """A blocking ``send_events`` (what :attr:`StreamrecClient.send_events` is)."""

    def __call__(self, events: Iterable[EventLike], *, wait: bool = False) -> object: ...


class Batcher:
    """Queues events and sends them in batches from a background thread.

    Parameters
    ----------
    send
        Sends one batch (a client's ``send_events``, with its retries).
    options
        Batch size, delay, queue bound and what ``add`` does when it is full.
    on_error
        Called (on the batcher's thread) with each batch that failed; when it is not
        given, or raises, the failure is raised by the next ``add``, ``flush`` or
        ``close`` instead.
    """

    def __init__(
        self,
        send: SendEvents,
        options: BatchOptions | None = None,
        on_error: OnError | None = None,
    ) -> None:
        self.options = options or BatchOptions()
        self._send = send
        self._on_error = on_error
        self._state = BatchQueue(self.options)
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="streamrec-batcher", daemon=True)
        self._thread.start()

    def add(self, event: EventLike, timeout: float | None = None) -> None:
        """Queue one event.

        Parameters
        ----------
        event
            An :class:`~streamrec.events.Event` or a mapping (validated by the server).
        timeout
            With ``when_full="block"``, the longest to wait for room (``None``: no limit).

        Raises
        ------
        BatchError
            If earlier batches failed (``event`` is then not queued).
        QueueFullError
            If the queue stays full.
        BatcherClosedError
            If the batcher is closed.
        """
        with self._changed:
            self._state.raise_failures()
            if not self._state.has_room():
                if self.options.when_full == "raise":
                    raise QueueFullError(f"{self.options.max_queue} events are already queued")
                if not self._changed.wait_for(self._state.has_room, timeout):
                    raise QueueFullError(f"no room in the queue after {timeout} s")
            self._state.add(event, time.monotonic())
            self._changed.notify_all()

    def flush(self, timeout: float | None = None) -> None:
        """Send everything queued so far and wait until it was accepted or failed.

        Raises
        ------
        BatchError
            If any batch failed since the last report.
        TimeoutError
            If the batches are not all sent within ``timeout`` seconds.
        """
        with self._changed:
            target = self._state.request_flush()
            self._changed.notify_all()
            if not self._changed.wait_for(lambda: self._state.done >= target, timeout):
                raise TimeoutError(f"events were still being sent after {timeout} s")
            self._state.raise_failures()

    def close(self, timeout: float | None = None) -> None:
        """Send everything queued, stop the thread, and report failures; idempotent.

        Raises
        ------
        BatchError
            If any batch failed since the last report.
        TimeoutError
            If the queue is not drained within ``timeout`` seconds.
        """
        with self._changed:
            self._state.closed = True
            self._changed.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"events were still being sent after {timeout} s")
        with self._changed:
            self._state.raise_failures()

    def __enter__(self) -> Batcher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _next_batch(self) -> list[EventLike] | None:
        """Wait for a due batch and take it (``None`` once closed and drained)."""
        with self._changed:
            while not self._state.due(time.monotonic()):
                if self._state.finished_all():
                    return None
                self._changed.wait(self._state.seconds_until_due(time.monotonic()))
            return self._state.take()

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            error: Exception | None = None
            try:
                self._send(batch, wait=self.options.wait)
            except Exception as exc:  # kept and raised to the caller, never lost
                error = exc
            reported = error is not None and report(self._on_error, FailedBatch(batch, error))
            with self._changed:
                self._state.finished(batch, error, reported)
                self._changed.notify_all()
