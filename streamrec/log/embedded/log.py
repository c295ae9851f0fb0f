"""The embedded event log: a local append-only log of segment files, fsync before ack.

This is the default, durable :class:`~streamrec.log.base.EventLog` of a
single-process deployment. It has one partition (0) with dense offsets. The files
live under the log directory::

    LOCK                               held (flock) by the one process that writes
    segments/00000000000000000000.log  frames of appended batches, named by base offset
    consumers/<group>.json             committed position of each consumer group

**Group commit.** Callers of :meth:`EmbeddedEventLog.append` (any number of
threads) encode their batch, reserve its offsets and queue the frame; one writer
thread writes everything queued, fsyncs once and wakes every caller whose frame it
covered. While other callers are still encoding a batch, the writer waits for them
up to ``group_commit_ms`` so that their frames share the fsync; a lone caller never
waits.

**Recovery.** Opening the log indexes every segment and truncates a torn tail of
the last one (see :mod:`streamrec.log.embedded.segments`); acknowledged frames are never
dropped.

**Retention.** :meth:`EmbeddedEventLog.compact` deletes the oldest sealed segments
past ``log.retention_bytes`` or ``log.retention_s``, but only segments wholly before
the positions a snapshot holds: the embedded engine calls it after each snapshot, so
disk use stays bounded and a restart never needs a deleted event.
"""

from __future__ import annotations

import bisect
import errno
import fcntl
import os
import threading
import time
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from streamrec.config import LogSettings
from streamrec.errors import BackendUnavailable, InvalidInput, Overloaded
from streamrec.events import EventBatch
from streamrec.log.base import Positions
from streamrec.log.embedded.consumer import EmbeddedConsumer, OffsetStore
from streamrec.log.embedded.frames import MAX_PAYLOAD, FrameHeader, encode_header, encode_payload
from streamrec.log.embedded.segments import (
    SEGMENTS_DIR,
    Segment,
    fsync_directory,
    recover,
    segment_path,
)

PARTITION = 0
LOCK_FILE = "LOCK"


def _truncate_to(fd: int, size: int) -> None:
    """Cut a file back to ``size`` bytes (dropping a write that did not complete)."""
    os.ftruncate(fd, size)


def _age_s(path: Path) -> float:
    """Seconds since ``path`` was last written."""
    return time.time() - path.stat().st_mtime


@dataclass(frozen=True, slots=True)
class _Frame:
    header: FrameHeader
    data: bytes


@dataclass(frozen=True, slots=True)
class ReadWindow:
    """Where to read an offset: its segment file, an indexed frame before it, the
    durable size of the file, and the first offset after the segment."""

    path: Path
    position: int
    size: int
    end_offset: int


class EmbeddedEventLog:
    """A durable, single-partition event log in a local directory.

    Use :meth:`open`. Appending is thread-safe; each consumer is meant for one
    thread at a time. Consumers only ever see acknowledged (fsynced) events, so state
    built from them never runs ahead of what survives a crash.
    """

    def __init__(self, directory: Path, settings: LogSettings, lock_fd: int) -> None:
        self.directory = directory
        self._settings = settings
        self._sync = settings.fsync
        self._lock_fd = lock_fd
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._durable = threading.Condition(self._lock)
        self._queue: list[_Frame] = []
        self._preparing = 0
        self._closing = False
        self._closed = False
        self._failure: BackendUnavailable | None = None
        self._rejected: dict[int, Overloaded] = {}  # by base offset: frames a full disk refused
        self._segments = recover(directory, sync=self._sync)
        if not self._segments:
            self._segments = [self._create_segment(0)]
        self._bases = [s.base_offset for s in self._segments]
        self._end = self._next = self._segments[-1].end_offset
        self._fd = os.open(self._segments[-1].path, os.O_WRONLY | os.O_APPEND)
        self._offsets = OffsetStore(directory / "consumers", sync=self._sync)
        if self._sync:
            fsync_directory(directory)
        self._writer = threading.Thread(target=self._run, name="streamrec-log-writer", daemon=True)
        self._writer.start()

    @classmethod
    def open(cls, directory: str | Path, settings: LogSettings | None = None) -> EmbeddedEventLog:
        """Open (creating if needed) the log in ``directory`` and recover it.

        Raises
        ------
        BackendUnavailable
            If the log is already open (in this process or another).
        CorruptData
            If acknowledged data is damaged (see :func:`streamrec.log.embedded.segments.recover`).
        """
        root = Path(directory)
        (root / SEGMENTS_DIR).mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise BackendUnavailable(f"event log {root} is already open") from None
        try:
            return cls(root, settings or LogSettings(), lock_fd)
        except BaseException:
            os.close(lock_fd)
            raise

    # -- appending -------------------------------------------------------------------

    def append(self, batch: EventBatch) -> EventBatch:
        """Append a batch as one frame; return once it is durable.

        Returns
        -------
        EventBatch
            The same events with their offsets (partition 0).

        Raises
        ------
        Overloaded
            If the disk is full: nothing of the batch is stored, and later appends
            are tried again (``log.disk_full_retry_s`` is the advice to callers).
        BackendUnavailable
            If the log is closed or a write to disk failed otherwise (the log then
            refuses further appends; acknowledged events stay readable).
        InvalidInput
            If the batch encodes to more than 4 GiB.
        """
        count = len(batch)
        if count == 0:
            return batch.with_positions(np.empty(0, dtype=np.int64))
        with self._lock:
            self._check_open()
            self._preparing += 1
        try:
            payload = encode_payload(batch)
            payload_crc = zlib.crc32(payload)
        finally:
            with self._lock:
                self._preparing -= 1
                self._work.notify()
        if len(payload) > MAX_PAYLOAD:
            raise InvalidInput(f"a batch of {count} events encodes to more than 4 GiB")
        with self._lock:
            self._check_open()
            base = self._next
            self._next += count
            header = encode_header(base, count, payload, payload_crc)
            frame_header = FrameHeader(-1, base, count, len(payload), payload_crc)
            self._queue.append(_Frame(frame_header, header + payload))
            self._work.notify()
            while self._end < base + count and self._failure is None:
                if base in self._rejected:
                    raise self._rejected.pop(base)
                self._durable.wait()
            if self._end < base + count:
                raise self._failure or BackendUnavailable("event log closed")
        return batch.with_positions(np.arange(base, base + count, dtype=np.int64))

    def _check_open(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._closing:
            raise BackendUnavailable(f"event log {self.directory} is closed")

    def _run(self) -> None:
        delay_s = self._settings.group_commit_ms / 1000.0
        while True:
            with self._lock:
                while not self._queue and not self._closing:
                    self._work.wait()
                if not self._queue:
                    return
                deadline = time.monotonic() + delay_s
                while self._preparing and (remaining := deadline - time.monotonic()) > 0:
                    self._work.wait(remaining)
                frames, self._queue = self._queue, []
            try:
                self._write(frames)
            except OSError as exc:
                if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                    self._fail(exc)
                    return
                self._refuse(frames, exc)
            except Exception as exc:
                self._fail(exc)
                return

    def _refuse(self, frames: list[_Frame], exc: OSError) -> None:
        """The disk is full: drop what did not become durable, refuse its appends (and
        every queued one) with :class:`Overloaded`, and go on accepting appends."""
        segment = self._segments[-1]
        _truncate_to(self._fd, segment.size)
        with self._lock:
            refused = [f for f in [*frames, *self._queue] if f.header.base_offset >= self._end]
            for frame in refused:
                self._rejected[frame.header.base_offset] = Overloaded(
                    f"event log {self.directory}: the disk is full ({exc.strerror}); "
                    "nothing of the batch was stored",
                    self._settings.disk_full_retry_s,
                )
            self._queue.clear()
            self._next = self._end
            self._durable.notify_all()

    def _fail(self, exc: Exception) -> None:
        """Any other write failure: refuse every append from now on."""
        with self._lock:
            self._failure = BackendUnavailable(
                f"event log {self.directory} stopped accepting events: write failed: {exc!r}"
            )
            self._queue.clear()
            self._durable.notify_all()

    def _write(self, frames: list[_Frame]) -> None:
        """Write queued frames (rolling segments as they fill up) and make them durable."""
        segment = self._segments[-1]
        size = segment.size
        chunk: list[_Frame] = []
        for frame in frames:
            if size > 0 and size + len(frame.data) > self._settings.segment_bytes:
                self._flush(segment, chunk)
                segment = self._roll(frame.header.base_offset)
                size, chunk = 0, []
            chunk.append(_Frame(replace(frame.header, position=size), frame.data))
            size += len(frame.data)
        self._flush(segment, chunk)

    def _flush(self, segment: Segment, chunk: list[_Frame]) -> None:
        if not chunk:
            return
        data = memoryview(b"".join(frame.data for frame in chunk))
        while data:
            data = data[os.write(self._fd, data) :]
        if self._sync:
            os.fdatasync(self._fd)
        with self._lock:
            for frame in chunk:
                segment.add(frame.header)
            self._end = segment.end_offset
            self._durable.notify_all()

    def _roll(self, base_offset: int) -> Segment:
        segment = self._create_segment(base_offset)
        fd = os.open(segment.path, os.O_WRONLY | os.O_APPEND)
        os.close(self._fd)
        self._fd = fd
        with self._lock:
            self._segments.append(segment)
            self._bases.append(base_offset)
        return segment

    def _create_segment(self, base_offset: int) -> Segment:
        path = segment_path(self.directory, base_offset)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        if self._sync:
            fsync_directory(path.parent)
        return Segment(base_offset, path)

    # -- reading ---------------------------------------------------------------------

    def consumer(self, group: str) -> EmbeddedConsumer:
        """A consumer for ``group``, positioned at its committed offset (0 if none)."""
        return EmbeddedConsumer(self, group, self._offsets)

    def end_positions(self) -> Positions:
        """``{0: next offset}`` — the offset the next acknowledged event will get."""
        with self._lock:
            return {PARTITION: self._end}

    def start_offset(self) -> int:
        """The first offset the log still holds (retention deletes older segments)."""
        with self._lock:
            return self._segments[0].base_offset

    def compact(self, keep_from: int) -> int:
        """Apply the retention settings to segments wholly before ``keep_from``.

        ``keep_from`` is the position a snapshot holds everything before (so the
        deleted events are in a state that never needs them again). Oldest first,
        each sealed segment ending at or before it goes while the log is larger than
        ``retention_bytes`` or the segment was last written longer than
        ``retention_s`` ago; the segment being written always stays.

        Returns
        -------
        int
            The bytes deleted.
        """
        limit_bytes, limit_s = self._settings.retention_bytes, self._settings.retention_s
        if not limit_bytes and not limit_s:
            return 0
        freed = 0
        while True:
            with self._lock:
                sealed = self._segments[:-1]
                total = sum(s.size for s in self._segments)
                if not sealed or sealed[0].end_offset > keep_from:
                    break
                oldest = sealed[0]
                too_big = bool(limit_bytes) and total > limit_bytes
                too_old = bool(limit_s) and _age_s(oldest.path) > limit_s
                if not (too_big or too_old):
                    break
                self._segments.pop(0)
                self._bases.pop(0)
            oldest.path.unlink()
            freed += oldest.size
        if freed and self._sync:
            fsync_directory(oldest.path.parent)
        return freed

    def wait_beyond(self, offset: int, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` until an event at ``offset`` is durable; whether it is."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self._end <= offset and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._durable.wait(remaining)
            return self._end > offset

    def window(self, offset: int) -> ReadWindow | None:
        """Where to start reading ``offset``, or None if it is not durable yet."""
        with self._lock:
            if not self._segments[0].base_offset <= offset < self._end:
                return None
            segment = self._segments[bisect.bisect_right(self._bases, offset) - 1]
            return ReadWindow(
                segment.path, segment.seek_position(offset), segment.size, segment.end_offset
            )

    # -- closing ---------------------------------------------------------------------

    def close(self) -> None:
        """Write what is queued, stop the writer thread and release the directory."""
        with self._lock:
            if self._closed:
                return
            self._closed = self._closing = True
            self._work.notify_all()
            self._durable.notify_all()
        self._writer.join()
        os.close(self._fd)
        os.close(self._lock_fd)

    def __enter__(self) -> EmbeddedEventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
