"""Binary encodings of the Redis state: profile rows and journaled write plans.

A user's profile is one Redis string holding the fixed-width arrays of one
:class:`~streamrec.processing.profiles.ProfileTable` row as a NumPy structured record
(about 1 KiB at the default caps), with item references as *global* dense ids,
zlib-compressed (level 1: most slots of a typical profile are empty, so a record
shrinks about six-fold for some 15 microseconds of CPU). A
batch works on a local table whose item references are *local* ids (positions in a
sorted array of global ids); :func:`localize` and :func:`globalize` convert between
the two in place.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from streamrec.config import ProfileSettings
from streamrec.errors import CorruptData
from streamrec.processing.profiles import ProfileTable

#: First byte of a stored profile: the record format (1 = zlib-compressed record).
_FORMAT = b"\x01"

#: Profile arrays that hold dense item ids (``-1`` = empty slot).
ITEM_FIELDS = ("ring_item", "seen", "negative", "cart", "wishlist")


class ProfileCodec:
    """Packs profile rows into fixed-size records and back."""

    def __init__(self, settings: ProfileSettings) -> None:
        self.settings = settings
        template = ProfileTable(settings, 1)
        self.dtype = np.dtype(
            [
                (name, getattr(template, name).dtype, getattr(template, name).shape[1:])
                for name in ProfileTable.ARRAYS
            ]
        )

    @property
    def record_bytes(self) -> int:
        """Size of one encoded profile."""
        return int(self.dtype.itemsize)

    def encode(self, table: ProfileTable, rows: int) -> list[bytes]:
        """The first ``rows`` rows of ``table``, one compressed record each."""
        records = np.empty(rows, self.dtype)
        for name in ProfileTable.ARRAYS:
            records[name] = getattr(table, name)[:rows]
        data = records.tobytes()
        size = self.record_bytes
        return [_FORMAT + zlib.compress(data[i * size : (i + 1) * size], 1) for i in range(rows)]

    def decode(self, blobs: Sequence[bytes | None]) -> ProfileTable:
        """A table with one row per blob (an empty profile where ``None``).

        Raises
        ------
        CorruptData
            If a blob does not have the record size of the current profile caps
            (profiles written under other ``profile`` settings).
        """
        table = ProfileTable(self.settings, max(len(blobs), 1))
        present = [i for i, blob in enumerate(blobs) if blob is not None]
        if not present:
            return table
        raw = [_unpack(blobs[i]) for i in present]  # type: ignore[arg-type]
        sizes = {len(r) for r in raw}
        if sizes != {self.record_bytes}:
            raise CorruptData(
                f"stored profiles have {sorted(sizes)} bytes, the profile settings "
                f"need {self.record_bytes}: the caps changed since they were written"
            )
        records = np.frombuffer(b"".join(raw), self.dtype)
        rows = np.asarray(present)
        for name in ProfileTable.ARRAYS:
            getattr(table, name)[rows] = records[name]
        return table


def _unpack(blob: bytes) -> bytes:
    if blob[:1] != _FORMAT:
        raise CorruptData(f"unknown profile record format {blob[:1]!r}")
    try:
        return zlib.decompress(blob[1:])
    except zlib.error as exc:
        raise CorruptData(f"unreadable profile record: {exc}") from exc


def referenced_items(table: ProfileTable) -> np.ndarray:
    """Every item id the table refers to (unsorted, with repeats)."""
    parts = [getattr(table, name).ravel() for name in ITEM_FIELDS]
    found = np.concatenate(parts)
    return found[found >= 0]


def localize(table: ProfileTable, universe: np.ndarray) -> None:
    """Replace global item ids by their index in the sorted array ``universe``."""
    for name in ITEM_FIELDS:
        values = getattr(table, name)
        used = values >= 0
        values[used] = np.searchsorted(universe, values[used])


def globalize(table: ProfileTable, universe: np.ndarray) -> None:
    """Inverse of :func:`localize`."""
    for name in ITEM_FIELDS:
        values = getattr(table, name)
        used = values >= 0
        values[used] = universe[values[used]]


@dataclass(frozen=True, slots=True)
class Command:
    """One write of a plan: a script name (or ``"set"``), its keys and arguments."""

    name: str
    keys: tuple[str, ...]
    args: tuple[bytes | str, ...]


_COUNT = struct.Struct("<I")


def _pack_field(value: bytes | str, out: list[bytes]) -> None:
    data = value.encode() if isinstance(value, str) else value
    out.append(_COUNT.pack(len(data)))
    out.append(data)


def pack_plan(commands: Sequence[Command]) -> bytes:
    """Serialize a write plan (for the journal of Redis Cluster writes)."""
    out = [_COUNT.pack(len(commands))]
    for command in commands:
        out.append(_COUNT.pack(len(command.keys)))
        out.append(_COUNT.pack(len(command.args)))
        for field in (command.name, *command.keys, *command.args):
            _pack_field(field, out)
    return b"".join(out)


def unpack_plan(data: bytes) -> list[Command]:
    """Inverse of :func:`pack_plan` (names and keys as text, arguments as bytes)."""
    at = 0

    def count() -> int:
        nonlocal at
        (value,) = _COUNT.unpack_from(data, at)
        at += _COUNT.size
        return int(value)

    def field() -> bytes:
        nonlocal at
        size = count()
        at += size
        return data[at - size : at]

    commands = []
    for _ in range(count()):
        n_keys, n_args = count(), count()
        name = field().decode()
        keys = tuple(field().decode() for _ in range(n_keys))
        args = tuple(field() for _ in range(n_args))
        commands.append(Command(name, keys, args))
    return commands
