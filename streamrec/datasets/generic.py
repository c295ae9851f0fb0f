"""Event files of any origin: CSV with a column mapping, and JSON lines of wire events.

Both readers stream: they yield :class:`~streamrec.events.EventBatch` chunks of a
given size, so a file larger than memory can be replayed. Validation follows the
wire schema (DESIGN.md section 4); a bad record raises
:class:`~streamrec.errors.InvalidInput` whose message names the file and line, and
whose problems carry the line number as their ``index``.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import orjson

from streamrec.bounds import MAX_TIMESTAMP_MS
from streamrec.datasets.base import DEFAULT_CHUNK_SIZE, EventColumns
from streamrec.errors import InvalidInput, Problem
from streamrec.events import MAX_ID_LENGTH, TYPE_CODE, EventBatch, EventType, validate_events
from streamrec.events import parse_timestamp as parse_wire_timestamp

TimeUnit = Literal["s", "ms", "rfc3339"]


@dataclass(frozen=True, slots=True)
class CsvMapping:
    """Which CSV columns hold which event field.

    Columns are named by header (or, with ``header=False``, by 0-based position).

    Attributes
    ----------
    user, item
        The id columns.
    timestamp
        The time column, read in ``time_unit``: ``"s"`` or ``"ms"`` since the epoch
        (fractions allowed), or ``"rfc3339"`` date-times with a time zone.
    type
        The event type column (wire names such as ``view``, ``purchase``).
    event_type
        When set, every row has this type and no type column is read.
    value
        The optional value column; empty cells mean "no value".
    """

    user: str | int = "user_id"
    item: str | int = "item_id"
    timestamp: str | int = "timestamp"
    type: str | int = "type"
    event_type: EventType | None = None
    value: str | int | None = None
    time_unit: TimeUnit = "ms"
    delimiter: str = ","
    header: bool = True


@dataclass(frozen=True, slots=True)
class _Layout:
    """Column positions of the mapped fields (``type`` may be a fixed type instead)."""

    user: int
    item: int
    timestamp: int
    type: int | EventType
    value: int | None

    @property
    def width(self) -> int:
        """The fewest fields a row must have."""
        return 1 + max(
            p
            for p in (self.user, self.item, self.timestamp, self.type, self.value)
            if isinstance(p, int)
        )


def _invalid(path: Path, problems: list[Problem]) -> InvalidInput:
    first = problems[0]
    where = f"line {first.index}" + (f", column {first.field!r}" if first.field else "")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return InvalidInput(f"{path}: {where}: {first.message}{more}", problems)


@dataclass(frozen=True, slots=True)
class _Chunk:
    """One chunk of CSV rows and the line on which each row ends."""

    path: Path
    rows: list[list[str]]
    lines: list[int]

    def check(self, bad: np.ndarray, column: str | int | None, message: str) -> None:
        """Raise for every row flagged in ``bad``."""
        if bad.any():
            name = None if column is None else str(column)
            problems = [Problem(self.lines[i], name, message) for i in np.flatnonzero(bad)]
            raise _invalid(self.path, problems)

    def cells(self, index: int) -> list[str]:
        return [row[index] for row in self.rows]

    def ids(self, index: int, column: str | int) -> list[str]:
        values = self.cells(index)
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        self.check((lengths < 1) | (lengths > MAX_ID_LENGTH), column, "id must be 1-256 chars")
        nul = np.fromiter(("\x00" in v for v in values), dtype=bool, count=len(values))
        self.check(nul, column, "id must not hold a NUL character")
        return values

    def numbers(self, index: int, column: str | int, required: bool) -> np.ndarray:
        """Floats of a column (NaN for empty cells); bad numbers raise."""
        cells = self.cells(index)
        empty = np.fromiter((not c for c in cells), dtype=bool, count=len(cells))
        if required:
            self.check(empty, column, "missing value")
        try:
            parsed = np.asarray([c or "nan" for c in cells], dtype=np.float64)
        except ValueError:
            bad = np.fromiter((not _is_number(c) for c in cells), dtype=bool, count=len(cells))
            self.check(bad, column, "not a number")
            raise
        self.check(~np.isfinite(parsed) & ~empty, column, "not a finite number")
        return parsed


def _is_number(cell: str) -> bool:
    if not cell:
        return True
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _timestamps(chunk: _Chunk, index: int, mapping: CsvMapping) -> np.ndarray:
    column = mapping.timestamp
    if mapping.time_unit == "rfc3339":
        stamps = np.empty(len(chunk.rows), dtype=np.int64)
        for i, cell in enumerate(chunk.cells(index)):
            try:
                stamps[i] = parse_wire_timestamp(cell)
            except ValueError as exc:
                raise _invalid(
                    chunk.path, [Problem(chunk.lines[i], str(column), str(exc))]
                ) from None
        return stamps
    numbers = chunk.numbers(index, column, required=True)
    chunk.check(numbers < 0, column, "timestamp must not be negative")
    scale = 1000.0 if mapping.time_unit == "s" else 1.0
    stamps = np.round(numbers * scale)
    chunk.check(stamps > MAX_TIMESTAMP_MS, column, "timestamp must be before the year 10000")
    return stamps.astype(np.int64)


def _event_types(chunk: _Chunk, layout: _Layout, mapping: CsvMapping) -> np.ndarray:
    if isinstance(layout.type, EventType):
        return np.full(len(chunk.rows), TYPE_CODE[layout.type], dtype=np.int8)
    codes = np.fromiter(
        (TYPE_CODE.get(cell, -1) for cell in chunk.cells(layout.type)),
        dtype=np.int8,
        count=len(chunk.rows),
    )
    chunk.check(codes < 0, mapping.type, f"type must be one of {', '.join(TYPE_CODE)}")
    return codes


def _position(path: Path, column: str | int, header: list[str] | None) -> int:
    if isinstance(column, int):
        return column
    if header is None:
        raise InvalidInput(f"{path}: column {column!r} is named, but the file has no header")
    if column not in header:
        raise InvalidInput(
            f"{path}: no column {column!r} (the header has {', '.join(header)})",
            [Problem(1, column, "no such column")],
        )
    return header.index(column)


def _layout(path: Path, mapping: CsvMapping, header: list[str] | None) -> _Layout:
    return _Layout(
        user=_position(path, mapping.user, header),
        item=_position(path, mapping.item, header),
        timestamp=_position(path, mapping.timestamp, header),
        type=mapping.event_type or _position(path, mapping.type, header),
        value=None if mapping.value is None else _position(path, mapping.value, header),
    )


def read_csv(
    path: str | Path, mapping: CsvMapping, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Iterator[EventBatch]:
    """Read a CSV file of events in chunks, in file order.

    Parameters
    ----------
    path
        The file (UTF-8).
    mapping
        Which column holds which field, and the time unit.
    chunk_size
        The largest batch yielded.

    Raises
    ------
    InvalidInput
        For a missing column, or a row with a missing/bad field (naming its line).
    """
    columns = read_csv_columns(path, mapping, chunk_size)
    return (part.batch() for part in columns)


def read_csv_columns(
    path: str | Path, mapping: CsvMapping, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Iterator[EventColumns]:
    """Like :func:`read_csv`, but each chunk as :class:`EventColumns`."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    path = Path(path)
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.reader(file, delimiter=mapping.delimiter)
        with _readable(path, reader):
            header = next(reader, []) if mapping.header else None
        layout = _layout(path, mapping, header)
        rows = ((row, reader.line_num) for row in reader if row)
        while True:
            with _readable(path, reader):
                block = list(itertools.islice(rows, chunk_size))
            if not block:
                return
            chunk = _Chunk(path, [row for row, _ in block], [line for _, line in block])
            lengths = np.fromiter(map(len, chunk.rows), dtype=np.int64, count=len(block))
            chunk.check(lengths < layout.width, None, f"expected at least {layout.width} fields")
            yield _columns(chunk, layout, mapping)


@contextmanager
def _readable(path: Path, reader: Any) -> Iterator[None]:
    """Turn what stops a CSV file being read (not UTF-8, a malformed row) into
    :class:`InvalidInput` naming the line."""
    try:
        yield
    except (UnicodeDecodeError, csv.Error) as exc:
        line = reader.line_num + 1
        raise _invalid(path, [Problem(line, None, f"unreadable ({exc})")]) from None


def _columns(chunk: _Chunk, layout: _Layout, mapping: CsvMapping) -> EventColumns:
    return EventColumns.from_ids(
        user_ids=chunk.ids(layout.user, mapping.user),
        item_ids=chunk.ids(layout.item, mapping.item),
        type=_event_types(chunk, layout, mapping),
        value=(
            np.full(len(chunk.rows), np.nan)
            if layout.value is None
            else chunk.numbers(layout.value, str(mapping.value), required=False)
        ),
        timestamp=_timestamps(chunk, layout.timestamp, mapping),
    )


def count_csv_rows(path: str | Path, mapping: CsvMapping) -> int:
    """The number of non-empty data rows of a CSV file (header excluded)."""
    with Path(path).open(encoding="utf-8", newline="") as file:
        reader = csv.reader(file, delimiter=mapping.delimiter)
        with _readable(Path(path), reader):
            rows = sum(1 for row in reader if row)
    return max(rows - 1, 0) if mapping.header else rows


def read_jsonl(
    path: str | Path, chunk_size: int = DEFAULT_CHUNK_SIZE, default_timestamp: int | None = None
) -> Iterator[EventBatch]:
    """Read a JSON-lines file of wire-format events in chunks, in file order.

    Each non-blank line is one event object as accepted by ``POST /v1/events``; each
    chunk is validated whole with :func:`streamrec.events.validate_events`.

    Parameters
    ----------
    path
        The file (UTF-8).
    chunk_size
        The largest batch yielded.
    default_timestamp
        Epoch ms for events without a timestamp (default: the time of reading).

    Raises
    ------
    InvalidInput
        For a line that is not JSON or not a valid event; each problem's ``index`` is
        the line number (1-based).
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    path = Path(path)
    with path.open("rb") as file:
        numbered = ((n, line) for n, line in enumerate(file, start=1) if line.strip())
        while block := list(itertools.islice(numbered, chunk_size)):
            lines = [n for n, _ in block]
            payload = [_decode(path, n, line) for n, line in block]
            try:
                events = validate_events({"events": payload}, max_batch=len(payload))
            except InvalidInput as exc:
                problems = [
                    Problem(None if p.index is None else lines[p.index], p.field, p.message)
                    for p in exc.problems
                ]
                raise _invalid(path, problems) from None
            yield EventBatch.from_events(events, default_timestamp)


def _decode(path: Path, line_number: int, line: bytes) -> object:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise _invalid(path, [Problem(line_number, None, f"not JSON ({exc})")]) from None


def count_lines(path: str | Path) -> int:
    """The number of non-blank lines of a text file."""
    with Path(path).open("rb") as file:
        return sum(1 for line in file if line.strip())
