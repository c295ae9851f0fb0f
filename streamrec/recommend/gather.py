"""Asking the candidate sources of a request, within its latency budget.

Each source is a producer of one :class:`~streamrec.recommend.candidates.Column`.
A producer that raises is isolated: the error is logged, the source is named in the
list's ``degraded`` and the list is built from the others. With a budget, the
producers run on a small thread pool and the request waits for them until its
deadline; a source that has not answered by then is dropped (and named in
``degraded`` as well), its late answer discarded. Without a budget they run one
after the other on the calling thread, as cheap as a plain call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait

from streamrec.recommend.candidates import Column

log = logging.getLogger(__name__)

#: A named source of one column.
Producer = tuple[str, Callable[[], Column]]


class SourceGatherer:
    """Runs producers, within a budget when one is given.

    Parameters
    ----------
    workers
        Threads of the pool that budgeted requests use (started on first use).
    """

    def __init__(self, workers: int = 8) -> None:
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def gather(
        self, producers: Sequence[Producer], budget_ms: float | None
    ) -> tuple[list[Column], tuple[str, ...]]:
        """The columns of the producers that answered in time, in producer order, and
        the names of those that raised or were late."""
        if budget_ms is None:
            answers = [_isolated(name, produce) for name, produce in producers]
            return _split(producers, answers)
        deadline = time.monotonic() + budget_ms / 1000.0
        pool = self._executor()
        futures = [pool.submit(_isolated, name, produce) for name, produce in producers]
        wait(futures, timeout=max(deadline - time.monotonic(), 0.0))
        answers = [
            _answer(name, future) for (name, _), future in zip(producers, futures, strict=True)
        ]
        return _split(producers, answers)

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="source")
            return self._pool

    def close(self) -> None:
        """Stop the pool (late sources finish on their own)."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None


def _isolated(name: str, produce: Callable[[], Column]) -> Column | None:
    try:
        return produce()
    except Exception:  # one failing source must not fail the list
        log.exception("candidate source %s failed; serving the list without it", name)
        return None


def _answer(name: str, future: Future[Column | None]) -> Column | None:
    if future.done():
        return future.result()
    future.cancel()
    log.warning("candidate source %s missed the latency budget; dropped", name)
    return None


def _split(
    producers: Sequence[Producer], answers: Sequence[Column | None]
) -> tuple[list[Column], tuple[str, ...]]:
    columns = [column for column in answers if column is not None]
    dropped = tuple(
        name for (name, _), column in zip(producers, answers, strict=True) if column is None
    )
    return columns, dropped
