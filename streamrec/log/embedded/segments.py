"""Segment files of the embedded event log: layout, scanning, recovery, sparse index.

The log is a directory of segment files, ``segments/<base offset, 20 digits>.log``,
each a sequence of frames (:mod:`streamrec.log.embedded.frames`) with dense offsets that
continue from one segment to the next. Only the last segment is ever written; an
earlier one was fsynced whole before its successor was created.

So a damaged frame means two different things. At the end of the last segment it
is the trace of a crash during a write that was never acknowledged (a torn or
half-persisted frame), and recovery truncates it away. Anywhere else it is
corruption of acknowledged data, and :class:`~streamrec.errors.CorruptData` names
the file and byte position.
"""

from __future__ import annotations

import bisect
import logging
import os
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from streamrec.errors import CorruptData
from streamrec.events import EventBatch
from streamrec.log.embedded.frames import FrameHeader, FrameReader, payload_is_intact

logger = logging.getLogger(__name__)

SEGMENTS_DIR = "segments"
SEGMENT_SUFFIX = ".log"
_DIGITS = 20
INDEX_INTERVAL_BYTES = 4096


def segment_path(directory: Path, base_offset: int) -> Path:
    """The file of the segment that starts at ``base_offset``."""
    return directory / SEGMENTS_DIR / f"{base_offset:0{_DIGITS}d}{SEGMENT_SUFFIX}"


def list_segments(directory: Path) -> list[tuple[int, Path]]:
    """``(base offset, path)`` of every segment file, in offset order."""
    folder = directory / SEGMENTS_DIR
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        stem = path.name.removesuffix(SEGMENT_SUFFIX)
        if path.name.endswith(SEGMENT_SUFFIX) and len(stem) == _DIGITS and stem.isdigit():
            found.append((int(stem), path))
    return sorted(found)


@dataclass(slots=True)
class Segment:
    """One segment file: its extent and a sparse index of its frames.

    The index holds the first frame and then one frame at least
    :data:`INDEX_INTERVAL_BYTES` after the previous entry, so finding an offset
    costs one bisection and a walk over at most a few kilobytes of headers, and
    memory grows with the log's size in bytes rather than its frame count.
    """

    base_offset: int
    path: Path
    size: int = 0
    end_offset: int = -1
    _offsets: array = field(default_factory=lambda: array("q"), init=False, repr=False)
    _positions: array = field(default_factory=lambda: array("q"), init=False, repr=False)

    def __post_init__(self) -> None:
        if self.end_offset < 0:
            self.end_offset = self.base_offset

    def add(self, header: FrameHeader) -> None:
        """Record a frame written at the segment's end."""
        if not self._positions or header.position - self._positions[-1] >= INDEX_INTERVAL_BYTES:
            self._offsets.append(header.base_offset)
            self._positions.append(header.position)
        self.size = header.end_position
        self.end_offset = header.end_offset

    def seek_position(self, offset: int) -> int:
        """The byte position of an indexed frame at or before ``offset`` (0 if none)."""
        i = bisect.bisect_right(self._offsets, offset) - 1
        return self._positions[i] if i >= 0 else 0


@dataclass(frozen=True, slots=True)
class Damage:
    """Where and why a segment stops being readable."""

    position: int
    reason: str
    torn: bool

    def error(self, path: Path) -> CorruptData:
        """The error that reports this damage as corruption of acknowledged data."""
        return CorruptData(
            f"event log segment {path} is damaged at byte {self.position}: {self.reason}"
        )


class SegmentWalk:
    """Iterates the frames of one segment file in order, stopping at the first damage.

    After iteration, :attr:`damage` tells whether (and where) the walk stopped early.
    Frames are checked for header integrity, offset continuity and completeness;
    with ``verify_payloads`` their payload checksums too.
    """

    def __init__(self, path: Path, base_offset: int, verify_payloads: bool) -> None:
        self.path = path
        self.base_offset = base_offset
        self.verify_payloads = verify_payloads
        self.damage: Damage | None = None
        self.end_offset = base_offset
        # A header-only walk reads small blocks: it skips over payloads.
        self.reader = FrameReader(str(path), block_bytes=(1 << 20) if verify_payloads else 4096)

    def __iter__(self) -> Iterator[FrameHeader]:
        size = os.fstat(self.reader.fileno()).st_size
        position = 0
        while position < size:
            status, header = self.reader.header(position, size)
            if header is None:
                self.damage = Damage(position, status.value, torn=True)
                return
            if header.base_offset != self.end_offset or header.count == 0:
                reason = (
                    f"frame holds offsets {header.base_offset}+{header.count}, "
                    f"expected {self.end_offset}"
                )
                self.damage = Damage(position, reason, torn=False)
                return
            if header.end_position > size:
                self.damage = Damage(position, "the file ends inside the frame", torn=True)
                return
            if self.verify_payloads and not payload_is_intact(
                header, self.reader.payload(header, size)
            ):
                self.damage = Damage(position, "payload checksum mismatch", torn=True)
                return
            yield header
            position = header.end_position
            self.end_offset = header.end_offset

    def batch(self, header: FrameHeader) -> EventBatch:
        """The events of a frame this walk yielded."""
        return self.reader.batch(header, header.end_position)

    def close(self) -> None:
        """Close the segment file."""
        self.reader.close()


def _walks(directory: Path, verify_sealed: bool) -> Iterator[tuple[SegmentWalk, bool]]:
    """A walk over each segment and whether it is the last one.

    Checks that each segment continues the previous one and, once a walk is done,
    that only the last segment stopped at a torn frame.
    """
    entries = list_segments(directory)
    end = entries[0][0] if entries else 0
    for i, (base, path) in enumerate(entries):
        if base != end:
            raise CorruptData(f"event log segment {path} starts at offset {base}, expected {end}")
        last = i == len(entries) - 1
        try:
            walk = SegmentWalk(path, base, verify_payloads=verify_sealed or last)
        except FileNotFoundError:  # retention deleted it meanwhile: the log starts later
            if i + 1 < len(entries) and base == end:
                end = entries[i + 1][0]
                continue
            raise
        try:
            yield walk, last
        finally:
            walk.close()
        if walk.damage is not None and not (last and walk.damage.torn):
            raise walk.damage.error(path)
        end = walk.end_offset


def recover(directory: Path, sync: bool) -> list[Segment]:
    """Index every segment for writing, truncating a torn tail of the last one.

    Earlier segments are walked by header only (their payload checksums are checked
    when they are read); the last one is verified whole, since a crash can have
    left any mix of written and unwritten bytes after its last fsync.

    Parameters
    ----------
    directory
        The log directory.
    sync
        Whether to fsync a truncation before returning.

    Raises
    ------
    CorruptData
        If an earlier segment is damaged, or segments do not continue each other.
    """
    segments: list[Segment] = []
    for walk, last in _walks(directory, verify_sealed=False):
        segment = Segment(walk.base_offset, walk.path)
        for header in walk:
            segment.add(header)
        segments.append(segment)
        if last and walk.damage is not None and walk.damage.torn:
            _truncate(walk.path, segment.size, sync)
            logger.warning(
                "event log: dropped an unacknowledged torn tail of %s from byte %d (%s)",
                walk.path,
                segment.size,
                walk.damage.reason,
            )
    return segments


def _truncate(path: Path, size: int, sync: bool) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def read_frames(
    directory: Path, verify_sealed: bool = True
) -> Iterator[tuple[FrameHeader, SegmentWalk]]:
    """Every complete frame of a log, read-only, with the walk that can decode it.

    A writer may be appending meanwhile: an incomplete frame at the end of the last
    segment ends the iteration and is left alone. The last segment's payloads are
    always verified (that is how a torn tail is found); with ``verify_sealed`` false
    the earlier segments are walked by header only, for callers that do not read
    payloads.

    Raises
    ------
    CorruptData
        If a segment other than the last is damaged.
    """
    for walk, _ in _walks(directory, verify_sealed):
        for header in walk:
            yield header, walk


def fsync_directory(path: Path) -> None:
    """Make the creation, rename or removal of entries in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
