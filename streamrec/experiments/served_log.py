"""The served-list log: every served list, durable, replayable, bounded.

It is a log of its own beside the event log rather than a record kind inside it:
served lists are written ten times as often as most events are, need a retention
of their own (a week, a million lists) while the event log is the source of truth
kept for training, and no reader of the event log (the fold, the archiver, the
trainer, drift) has any use for them. Attribution joins the two logs by
``recommendation_id``; the processor drains this log before each event batch (see
:class:`~streamrec.experiments.attributor.Attributor`), and since a client learns
a list's id only from a response that was sent after the list was queued, a list
is always applied before any event that names it.

:class:`EmbeddedServedLog` is the embedded adapter: segment files of checksummed
JSON lines under ``<data_dir>/served/``, written by one thread that
group-commits (one ``fdatasync`` per batch of queued lists); serving only queues
(``experiments.served_log_wait`` makes it wait for the disk). Whole segments
(a tenth of ``served_max_lists`` each) are deleted once their newest list is
older than ``served_retention_s`` or once more than ``served_max_lists`` lists
are kept. :class:`MemoryServedLog` serves engines with no files.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import zlib
from collections import deque
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Protocol, runtime_checkable

from streamrec.config import ExperimentSettings
from streamrec.errors import CorruptData
from streamrec.events import now_ms
from streamrec.experiments.served import ServedList

log = logging.getLogger(__name__)

SERVED_DIR = "served"
#: Lists kept in memory after they were written, so attribution reads them from there.
TAIL_LISTS = 50_000


@runtime_checkable
class ServedLog(Protocol):
    """Where served lists go: sequence numbers from 0, retention from the oldest."""

    def append(self, served: ServedList) -> None:
        """Record a list (durable within the group commit, or at return when the
        log waits for the disk)."""
        ...

    def flush(self, timeout_s: float) -> bool:
        """Wait until every list appended so far is durable and readable."""
        ...

    def read(self, since: int) -> Iterator[tuple[int, ServedList]]:
        """The retained lists from sequence number ``since`` on, in order."""
        ...

    def end(self) -> int:
        """The sequence number the next durable list will get."""
        ...

    def close(self) -> None:
        """Write what is queued and release the log."""
        ...


def _line(served: ServedList) -> bytes:
    data = served.encode()
    return b"%08x %s\n" % (zlib.crc32(data), data)


def _parse(line: bytes) -> ServedList | None:
    """The list on one line, ``None`` for a torn or damaged line."""
    if len(line) < 10 or not line.endswith(b"\n") or line[8:9] != b" ":
        return None
    data = line[9:-1]
    try:
        if int(line[:8], 16) != zlib.crc32(data):
            return None
        return ServedList.decode(data)
    except (ValueError, CorruptData):
        return None


class _Segment:
    """One segment file: its first sequence number, count and newest time."""

    def __init__(self, path: Path, base: int) -> None:
        self.path = path
        self.base = base
        self.count = 0
        self.newest_ms = 0


class EmbeddedServedLog:
    """A durable served-list log in a local directory (one writer thread)."""

    def __init__(self, directory: Path, settings: ExperimentSettings, fsync: bool = True) -> None:
        self.directory = directory
        self.settings = settings
        self._fsync = fsync
        self._per_segment = max(settings.served_max_lists // 10, 1)
        self._lock = threading.Lock()
        self._queued = threading.Condition(self._lock)
        self._written = threading.Condition(self._lock)
        self._queue: list[ServedList] = []
        self._tail: deque[tuple[int, ServedList]] = deque(maxlen=TAIL_LISTS)
        self._closing = False
        self._failure: str | None = None
        directory.mkdir(parents=True, exist_ok=True)
        self._segments = self._recover()
        self._end = self._segments[-1].base + self._segments[-1].count
        self._accepted = self._end
        self._fd = os.open(self._segments[-1].path, os.O_WRONLY | os.O_APPEND)
        self._writer = threading.Thread(target=self._run, name="served-log-writer", daemon=True)
        self._writer.start()

    # -- recovery --------------------------------------------------------------

    def _recover(self) -> list[_Segment]:
        segments = [
            _Segment(path, int(path.stem)) for path in sorted(self.directory.glob("*.jsonl"))
        ]
        for index, segment in enumerate(segments):
            good = 0
            with segment.path.open("rb") as handle:
                for line in handle:
                    served = _parse(line)
                    if served is None:
                        break
                    segment.count += 1
                    segment.newest_ms = max(segment.newest_ms, served.served_at)
                    good += len(line)
            if good != segment.path.stat().st_size:
                if index != len(segments) - 1:
                    raise CorruptData(f"served-list segment {segment.path} is damaged")
                log.warning("truncating a torn tail of %s", segment.path)
                os.truncate(segment.path, good)
        if not segments:
            segments = [self._create(0)]
        return segments

    def _create(self, base: int) -> _Segment:
        path = self.directory / f"{base:020d}.jsonl"
        path.touch()
        return _Segment(path, base)

    # -- writing ---------------------------------------------------------------

    def append(self, served: ServedList) -> None:
        """Queue ``served``; with ``served_log_wait``, return once it is on disk.

        A log whose disk failed drops lists (and logged why) rather than failing
        the response that served them.
        """
        with self._lock:
            if self._closing or self._failure is not None:
                return
            self._queue.append(served)
            self._accepted += 1
            mine = self._accepted
            self._queued.notify()
            if self.settings.served_log_wait:
                while self._end < mine and self._failure is None and not self._closing:
                    self._written.wait()

    def flush(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` until every list queued so far is written."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            target = self._accepted
            while self._end < target and self._failure is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._written.wait(remaining)
            return self._end >= target

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._closing:
                    self._queued.wait()
                if not self._queue:
                    return
                batch, self._queue = self._queue, []
            try:
                self._write(batch)
            except OSError as exc:
                with self._lock:
                    self._failure = repr(exc)
                    self._written.notify_all()
                log.error("the served-list log stopped writing: %r", exc)
                return

    def _write(self, batch: list[ServedList]) -> None:
        active = self._segments[-1]
        start = 0
        while start < len(batch):
            room = self._per_segment - active.count
            if room <= 0:
                active = self._roll(active.base + active.count)
                continue
            chunk = batch[start : start + room]
            data = memoryview(b"".join(_line(served) for served in chunk))
            while data:
                data = data[os.write(self._fd, data) :]
            if self._fsync:
                os.fdatasync(self._fd)
            with self._lock:
                first = active.base + active.count
                active.count += len(chunk)
                active.newest_ms = max(active.newest_ms, *(s.served_at for s in chunk))
                self._tail.extend(enumerate(chunk, first))
                self._end = active.base + active.count
                doomed = self._pop_expired(now_ms())
                self._written.notify_all()
            for segment in doomed:
                segment.path.unlink(missing_ok=True)
            start += len(chunk)

    def _roll(self, base: int) -> _Segment:
        segment = self._create(base)
        fd = os.open(segment.path, os.O_WRONLY | os.O_APPEND)
        os.close(self._fd)
        self._fd = fd
        with self._lock:
            self._segments.append(segment)
        return segment

    def _pop_expired(self, now: int) -> list[_Segment]:
        """Take the sealed segments past the retention by time or count (under the lock)."""
        cutoff = now - int(self.settings.served_retention_s * 1000)
        doomed: list[_Segment] = []
        while len(self._segments) > 1:
            oldest = self._segments[0]
            too_many = self._end - oldest.base > self.settings.served_max_lists
            if not (too_many or oldest.newest_ms < cutoff):
                break
            doomed.append(self._segments.pop(0))
        return doomed

    # -- reading ---------------------------------------------------------------

    def read(self, since: int) -> Iterator[tuple[int, ServedList]]:
        """The retained lists from ``since`` on (from memory when they are recent)."""
        with self._lock:
            end = self._end
            since = max(since, self._segments[0].base)
            if self._tail and self._tail[0][0] <= since:
                recent = [entry for entry in self._tail if entry[0] >= since]
                segments: list[_Segment] = []
            else:
                recent = []
                segments = list(self._segments)
        yield from recent
        for segment in segments:
            if segment.base + segment.count <= since:
                continue
            try:
                handle = segment.path.open("rb")
            except FileNotFoundError:  # expired while we read
                continue
            with handle:
                for seq, line in enumerate(handle, segment.base):
                    if seq >= end:
                        return
                    served = _parse(line)
                    if served is None:
                        break
                    if seq >= since:
                        yield seq, served

    def end(self) -> int:
        """The sequence number of the next durable list."""
        with self._lock:
            return self._end

    def begin(self) -> int:
        """The sequence number of the oldest retained list."""
        with self._lock:
            return self._segments[0].base

    def close(self) -> None:
        """Write what is queued and stop the writer."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._queued.notify_all()
        self._writer.join()
        os.close(self._fd)


class MemoryServedLog:
    """A served-list log held in memory (engines with no files: evaluation, the
    simulator); the newest ``served_max_lists`` lists are kept."""

    def __init__(self, settings: ExperimentSettings) -> None:
        self._lock = threading.Lock()
        self._lists: deque[tuple[int, ServedList]] = deque(maxlen=settings.served_max_lists)
        self._end = 0

    def append(self, served: ServedList) -> None:
        """Keep ``served``."""
        with self._lock:
            self._lists.append((self._end, served))
            self._end += 1

    def flush(self, timeout_s: float) -> bool:
        """Nothing is ever queued."""
        return True

    def read(self, since: int) -> Iterator[tuple[int, ServedList]]:
        """The kept lists from ``since`` on."""
        with self._lock:
            first = self._lists[0][0] if self._lists else self._end
            entries = list(islice(self._lists, max(since - first, 0), None))
        yield from entries

    def end(self) -> int:
        """The next sequence number."""
        with self._lock:
            return self._end

    def close(self) -> None:
        """Nothing to release."""
