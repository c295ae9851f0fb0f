"""The on-disk frame of the embedded event log.

One frame holds one appended batch. It is a fixed header followed by the payload,
``orjson.dumps(batch.to_columns())``::

    magic "SRLF" | version u8 | base_offset i64 | count u32 | payload_length u32
    | payload_crc32 u32 | header_crc32 u32 | payload

All integers are little-endian. ``header_crc32`` covers the header bytes before it,
so a damaged header is told apart from a damaged payload, and a scan that reads
only headers (to build an index) still detects a corrupt offset or length.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from enum import Enum

import numpy as np
import orjson

from streamrec.errors import CorruptData
from streamrec.events import EventBatch

MAGIC = b"SRLF"
VERSION = 1
_HEADER = struct.Struct("<4sBqIII")
_HEADER_CRC = struct.Struct("<I")
HEADER_SIZE = _HEADER.size + _HEADER_CRC.size
MAX_PAYLOAD = 2**32 - 1


@dataclass(frozen=True, slots=True)
class FrameHeader:
    """The decoded header of one frame and where the frame sits in its file."""

    position: int
    base_offset: int
    count: int
    payload_length: int
    payload_crc: int

    @property
    def end_offset(self) -> int:
        """The offset just after the frame's last event."""
        return self.base_offset + self.count

    @property
    def end_position(self) -> int:
        """The byte position just after the frame."""
        return self.position + HEADER_SIZE + self.payload_length


class HeaderStatus(Enum):
    """Why a header could not be read."""

    OK = "ok"
    SHORT = "the file ends inside the frame header"
    BAD_MAGIC = "bad magic or version"
    BAD_CRC = "header checksum mismatch"


def encode_payload(batch: EventBatch) -> bytes:
    """The payload bytes of a batch (its columns as JSON)."""
    return orjson.dumps(batch.to_columns())


def encode_header(base_offset: int, count: int, payload: bytes, payload_crc: int) -> bytes:
    """The header of a frame holding ``count`` events from ``base_offset``."""
    head = _HEADER.pack(MAGIC, VERSION, base_offset, count, len(payload), payload_crc)
    return head + _HEADER_CRC.pack(zlib.crc32(head))


def decode_header(
    data: bytes | memoryview, start: int, position: int
) -> tuple[HeaderStatus, FrameHeader | None]:
    """Parse the header at ``data[start:]``, which lies at byte ``position`` of its file."""
    if len(data) - start < HEADER_SIZE:
        return HeaderStatus.SHORT, None
    magic, version, base, count, length, payload_crc = _HEADER.unpack_from(data, start)
    if magic != MAGIC or version != VERSION:
        return HeaderStatus.BAD_MAGIC, None
    (stored,) = _HEADER_CRC.unpack_from(data, start + _HEADER.size)
    if zlib.crc32(data[start : start + _HEADER.size]) != stored:
        return HeaderStatus.BAD_CRC, None
    return HeaderStatus.OK, FrameHeader(position, base, count, length, payload_crc)


def decode_payload(header: FrameHeader, payload: bytes | memoryview, path: str) -> EventBatch:
    """Check a payload against its header and decode it into a positioned batch.

    Raises
    ------
    CorruptData
        If the checksum, the JSON or the event count do not match the header.
    """
    where = f"{path} at byte {header.position}"
    if len(payload) != header.payload_length or zlib.crc32(payload) != header.payload_crc:
        raise CorruptData(f"event log frame checksum mismatch in {where}")
    try:
        columns = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise CorruptData(f"event log frame payload is not JSON in {where}: {exc}") from None
    if len(columns.get("user_id", ())) != header.count:
        raise CorruptData(
            f"event log frame holds a different event count than its header in {where}"
        )
    columns["offset"] = np.arange(header.base_offset, header.end_offset, dtype=np.int64)
    columns["partition"] = np.zeros(header.count, dtype=np.int32)
    return EventBatch.from_columns(columns)


def payload_is_intact(header: FrameHeader, payload: bytes | memoryview) -> bool:
    """Whether a payload is complete and matches its header's checksum."""
    return len(payload) == header.payload_length and zlib.crc32(payload) == header.payload_crc


class FrameReader:
    """Reads frames of one file through a read-ahead buffer (``os.pread``, no seeks).

    Parameters
    ----------
    path
        The segment file.
    block_bytes
        How much to read at once; frames larger than this are read whole.
    """

    def __init__(self, path: str, block_bytes: int = 1 << 20) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDONLY)
        self._block = block_bytes
        self._buffer = memoryview(b"")
        self._start = 0

    def _view(self, position: int, length: int, limit: int) -> memoryview:
        """``length`` bytes at ``position`` (fewer if ``limit`` comes first)."""
        length = max(0, min(length, limit - position))
        offset = position - self._start
        if offset < 0 or offset + length > len(self._buffer):
            want = min(max(length, self._block), limit - position)
            self._buffer = memoryview(os.pread(self._fd, want, position))
            self._start = position
            offset = 0
        return self._buffer[offset : offset + length]

    def fileno(self) -> int:
        """The file descriptor (for ``os.fstat``)."""
        return self._fd

    def header(self, position: int, limit: int) -> tuple[HeaderStatus, FrameHeader | None]:
        """The header of the frame at ``position``; the file is read no further than ``limit``."""
        return decode_header(self._view(position, HEADER_SIZE, limit), 0, position)

    def payload(self, header: FrameHeader, limit: int) -> memoryview:
        """The payload bytes of a frame (short if the file ends before ``limit``)."""
        return self._view(header.position + HEADER_SIZE, header.payload_length, limit)

    def batch(self, header: FrameHeader, limit: int) -> EventBatch:
        """The frame's events, checked against its header (see :func:`decode_payload`)."""
        return decode_payload(header, self.payload(header, limit), self.path)

    def close(self) -> None:
        """Close the file."""
        self._buffer = memoryview(b"")
        os.close(self._fd)
