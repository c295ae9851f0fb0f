"""The asyncio twin of :class:`~streamrec.client.batcher.Batcher`: a task, not a thread.

The bookkeeping (:class:`~streamrec.client.batching.BatchQueue`), the options and the
error reporting are the same; only waiting differs. The task starts with the first
:meth:`AsyncBatcher.add`, in the running event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Iterable
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


class SendEventsAsync(Protocol):
    """An async ``send_events`` (what :attr:`AsyncStreamrecClient.send_events` is)."""

    def __call__(self, events: Iterable[EventLike], *, wait: bool = False) -> Awaitable[object]: ...


class AsyncBatcher:
    """Queues events and sends them in batches from a background task.

    Parameters are those of :class:`~streamrec.client.batcher.Batcher`; ``on_error``
    is called in the event loop.
    """

    def __init__(
        self,
        send: SendEventsAsync,
        options: BatchOptions | None = None,
        on_error: OnError | None = None,
    ) -> None:
        self.options = options or BatchOptions()
        self._send = send
        self._on_error = on_error
        self._state = BatchQueue(self.options)
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def add(self, event: EventLike, timeout: float | None = None) -> None:
        """Queue one event; as :meth:`Batcher.add <streamrec.client.batcher.Batcher.add>`."""
        async with self._changed:
            self._state.raise_failures()
            if not self._state.has_room():
                if self.options.when_full == "raise":
                    raise QueueFullError(f"{self.options.max_queue} events are already queued")
                try:
                    await asyncio.wait_for(self._changed.wait_for(self._state.has_room), timeout)
                except TimeoutError:
                    raise QueueFullError(f"no room in the queue after {timeout} s") from None
            self._state.add(event, time.monotonic())
            self._changed.notify_all()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def flush(self, timeout: float | None = None) -> None:
        """Send everything queued so far and wait for it; as ``Batcher.flush``."""
        async with self._changed:
            target = self._state.request_flush()
            self._changed.notify_all()
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self._state.done >= target), timeout
                )
            except TimeoutError:
                raise TimeoutError(f"events were still being sent after {timeout} s") from None
            self._state.raise_failures()

    async def close(self, timeout: float | None = None) -> None:
        """Send everything queued, stop the task, and report failures; idempotent."""
        async with self._changed:
            self._state.closed = True
            self._changed.notify_all()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                raise TimeoutError(f"events were still being sent after {timeout} s") from None
        async with self._changed:
            self._state.raise_failures()

    async def __aenter__(self) -> AsyncBatcher:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def _next_batch(self) -> list[EventLike] | None:
        async with self._changed:
            while not self._state.due(time.monotonic()):
                if self._state.finished_all():
                    return None
                delay = self._state.seconds_until_due(time.monotonic())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), delay)
            return self._state.take()

    async def _run(self) -> None:
        while (batch := await self._next_batch()) is not None:
            error: Exception | None = None
            try:
                await self._send(batch, wait=self.options.wait)
            except Exception as exc:  # kept and raised to the caller, never lost
                error = exc
            reported = error is not None and report(self._on_error, FailedBatch(batch, error))
            async with self._changed:
                self._state.finished(batch, error, reported)
                self._changed.notify_all()
