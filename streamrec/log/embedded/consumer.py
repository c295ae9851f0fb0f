"""Reading the embedded event log: consumers and their committed positions."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import orjson

from streamrec.errors import CorruptData, InvalidInput
from streamrec.events import EMPTY_BATCH, EventBatch
from streamrec.log.base import Positions
from streamrec.log.embedded.frames import FrameHeader, FrameReader
from streamrec.log.embedded.segments import fsync_directory

if TYPE_CHECKING:
    from streamrec.log.embedded.log import EmbeddedEventLog, ReadWindow

logger = logging.getLogger(__name__)

MAX_GROUP_BYTES = 200


class OffsetStore:
    """Committed positions of consumer groups, one small JSON file per group.

    A commit writes a temporary file, fsyncs it and renames it over the old one
    (then fsyncs the folder), so a crash leaves either the old or the new position.
    """

    def __init__(self, folder: Path, sync: bool) -> None:
        self._folder = folder
        self._sync = sync
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.tmp"):
            stale.unlink()

    def _path(self, group: str) -> Path:
        return self._folder / f"{quote(group, safe='')}.json"

    def load(self, group: str) -> int | None:
        """The committed offset of ``group`` (None if it never committed).

        Raises
        ------
        CorruptData
            If the group's file cannot be read as a committed position.
        """
        path = self._path(group)
        try:
            record = orjson.loads(path.read_bytes())
            return int(record["positions"]["0"])
        except FileNotFoundError:
            return None
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise CorruptData(f"consumer offsets file {path} is unreadable: {exc!r}") from None

    def save(self, group: str, offset: int) -> None:
        """Durably record ``offset`` as the committed position of ``group``."""
        path = self._path(group)
        temporary = path.with_name(path.name + ".tmp")
        data = orjson.dumps({"group": group, "positions": {"0": offset}})
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            if self._sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
        if self._sync:
            fsync_directory(self._folder)


class EmbeddedConsumer:
    """A consumer of the embedded log for one group (one thread at a time).

    Sequential polls continue from where the previous one stopped in the file, and
    the last decoded frame is kept, so reading a frame in several polls decodes it
    once. Other positions are found through the log's sparse index.
    """

    def __init__(self, log: EmbeddedEventLog, group: str, store: OffsetStore) -> None:
        if not group or len(group.encode()) > MAX_GROUP_BYTES:
            raise InvalidInput(f"a consumer group name has 1 to {MAX_GROUP_BYTES} bytes")
        self._log = log
        self._group = group
        self._store = store
        self._reader: FrameReader | None = None
        self._cursor: tuple[Path, int, int] | None = None
        self._decoded: tuple[int, EventBatch] | None = None
        committed = store.load(group)
        end = log.end_positions()[0]
        if committed is not None and committed > end:
            logger.warning(
                "consumer group %r committed offset %d beyond the log end %d "
                "(events lost with fsync disabled?); reading from %d",
                group,
                committed,
                end,
                end,
            )
            committed = end
        self._position = committed or 0

    def poll(self, max_events: int, timeout_s: float) -> EventBatch:
        """Up to ``max_events`` durable events from the current position on.

        Waits up to ``timeout_s`` when there is none yet; returns an empty batch if
        none arrived in time or the log was closed.

        Raises
        ------
        CorruptData
            If a frame in the read range fails its checksum.
        """
        if max_events < 1:
            raise InvalidInput("max_events must be at least 1")
        if not self._log.wait_beyond(self._position, timeout_s):
            return EMPTY_BATCH
        self._position = max(self._position, self._log.start_offset())  # past retention
        parts: list[EventBatch] = []
        need = max_events
        while need > 0 and (window := self._log.window(self._position)) is not None:
            need -= self._read_segment(window, need, parts)
        return EventBatch.concat(parts)

    def _read_segment(self, window: ReadWindow, need: int, parts: list[EventBatch]) -> int:
        """Read up to ``need`` events of one segment into ``parts``; how many were read."""
        reader = self._open(window.path)
        offset = self._position
        position = window.position
        if self._cursor is not None and self._cursor[:2] == (window.path, offset):
            position = self._cursor[2]
        taken = 0
        while taken < need and position < window.size:
            status, header = reader.header(position, window.size)
            if header is None:
                raise CorruptData(
                    f"event log segment {window.path} is damaged at byte {position}: {status.value}"
                )
            if header.end_offset <= offset:
                position = header.end_position
                continue
            batch = self._decode(reader, header, window.size)
            skip = offset - header.base_offset
            take = min(need - taken, header.count - skip)
            whole = skip == 0 and take == header.count
            parts.append(batch if whole else batch.take(slice(skip, skip + take)))
            offset += take
            taken += take
            if offset == header.end_offset:
                position = header.end_position
        self._position = offset
        self._cursor = (window.path, offset, position)
        return taken

    def _open(self, path: Path) -> FrameReader:
        if self._reader is None or self._reader.path != str(path):
            if self._reader is not None:
                self._reader.close()
            self._reader = FrameReader(str(path))
        return self._reader

    def _decode(self, reader: FrameReader, header: FrameHeader, limit: int) -> EventBatch:
        if self._decoded is not None and self._decoded[0] == header.base_offset:
            return self._decoded[1]
        batch = reader.batch(header, limit)
        self._decoded = (header.base_offset, batch)
        return batch

    def _offset(self, positions: Mapping[int, int]) -> int | None:
        """The partition-0 offset of ``positions``, checked against the log."""
        if set(positions) - {0}:
            raise InvalidInput(f"the embedded log has only partition 0, not {sorted(positions)}")
        if 0 not in positions:
            return None
        offset = int(positions[0])
        end = self._log.end_positions()[0]
        if not 0 <= offset <= end:
            raise InvalidInput(f"offset {offset} is outside the log (0 to {end})")
        return offset

    def seek(self, positions: Mapping[int, int]) -> None:
        """Continue reading from ``positions[0]`` (between 0 and the log end)."""
        offset = self._offset(positions)
        if offset is not None:
            self._position = offset

    def commit(self, positions: Mapping[int, int]) -> None:
        """Durably record that the group has processed everything before ``positions[0]``."""
        offset = self._offset(positions)
        if offset is not None:
            self._store.save(self._group, offset)

    def committed(self) -> Positions:
        """``{0: offset}`` as last committed by the group, or ``{}``."""
        offset = self._store.load(self._group)
        return {} if offset is None else {0: offset}

    def close(self) -> None:
        """Release the open segment file."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._decoded = None
