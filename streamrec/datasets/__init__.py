"""Datasets: loaders for public interaction data and a synthetic shop.

Two entry points cover every file format:

- :func:`load_dataset` loads a whole dataset into memory, sorted by time, for
  evaluation and training (MovieLens, Amazon reviews, event CSV);
- :func:`open_events` streams a file as chunks of events with their number known up
  front, for ``streamrec ingest`` (the same formats, plus JSON lines of wire events).

The format is detected from the path unless given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from streamrec.datasets.amazon import is_amazon_reviews, load_amazon_reviews
from streamrec.datasets.base import DEFAULT_CHUNK_SIZE, Dataset, EventColumns, EventStream
from streamrec.datasets.generic import (
    CsvMapping,
    count_csv_rows,
    count_lines,
    read_csv,
    read_csv_columns,
    read_jsonl,
)
from streamrec.datasets.movielens import is_movielens, load_movielens
from streamrec.datasets.sessions import ShopBehaviour
from streamrec.datasets.synthetic import SyntheticShop
from streamrec.errors import InvalidInput

__all__ = [
    "CsvMapping",
    "Dataset",
    "EventColumns",
    "EventStream",
    "Format",
    "ShopBehaviour",
    "SyntheticShop",
    "detect_format",
    "load_amazon_reviews",
    "load_dataset",
    "load_movielens",
    "open_events",
    "read_csv",
    "read_jsonl",
]

Format = Literal["auto", "movielens", "csv", "jsonl", "amazon"]
_JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")


def _resolve(path_or_name: str | Path, root: str | Path | None) -> Path:
    path = Path(path_or_name)
    if not path.exists() and root is not None:
        path = Path(root) / path
    if path.is_dir() and not is_movielens(path):
        files = [f for f in path.iterdir() if f.suffix.lower() in (*_JSON_SUFFIXES, ".csv")]
        if len(files) == 1:
            return files[0]
    if path.exists():
        return path
    where = f" (nor under {root})" if root is not None else ""
    raise InvalidInput(f"no file or folder {str(path_or_name)!r}{where}")


def detect_format(path: str | Path) -> Format:
    """The format of a file or folder: a MovieLens release, Amazon reviews, JSONL, CSV.

    Raises
    ------
    InvalidInput
        If the format cannot be told from the path.
    """
    path = Path(path)
    if is_movielens(path):
        return "movielens"
    if path.is_file() and path.suffix.lower() in _JSON_SUFFIXES:
        return "amazon" if is_amazon_reviews(path) else "jsonl"
    if path.is_file() and path.suffix.lower() == ".csv":
        return "csv"
    raise InvalidInput(f"cannot tell the format of {path}; name it (movielens, csv, jsonl, amazon)")


def load_dataset(
    path_or_name: str | Path,
    format: Format = "auto",
    *,
    root: str | Path | None = None,
    mapping: CsvMapping | None = None,
) -> Dataset:
    """Load a whole dataset, its events sorted by (timestamp, user, item).

    Parameters
    ----------
    path_or_name
        A file or folder, or a name under ``root`` (e.g. ``"ml-100k"``). A folder
        that is not a MovieLens release stands for its only data file (JSON or CSV).
    format
        ``"movielens"``, ``"amazon"``, ``"csv"``, or ``"auto"`` to detect it.
    root
        Where to look for a name that is not an existing path.
    mapping
        Columns of a CSV file (default: ``user_id, item_id, type, timestamp`` in ms).

    Raises
    ------
    InvalidInput
        For an unknown path or format, a JSON-lines event file (stream it with
        :func:`open_events`: its events carry sessions and context that a dataset
        does not keep), or a malformed record.
    """
    path = _resolve(path_or_name, root)
    chosen = detect_format(path) if format == "auto" else format
    if chosen == "movielens":
        return load_movielens(path)
    if chosen == "amazon":
        return load_amazon_reviews(path)
    if chosen == "csv":
        columns = EventColumns.join(read_csv_columns(path, mapping or CsvMapping()))
        return Dataset(name=path.stem, columns=columns.sorted())
    raise InvalidInput(f"{path}: {chosen} files are event streams; read them with open_events")


def open_events(
    path_or_name: str | Path,
    format: Format = "auto",
    *,
    root: str | Path | None = None,
    mapping: CsvMapping | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> EventStream:
    """Stream the events of a file or dataset in chunks, with their total known.

    MovieLens and Amazon datasets come in time order with their catalog; CSV and
    JSON-lines files come in file order, read lazily (their total is counted first,
    so a bad record only shows while streaming).

    Parameters
    ----------
    path_or_name, format, root, mapping
        As in :func:`load_dataset`; ``format`` may also be ``"jsonl"``.
    chunk_size
        The largest batch yielded.
    """
    path = _resolve(path_or_name, root)
    chosen = detect_format(path) if format == "auto" else format
    if chosen == "csv":
        csv_mapping = mapping or CsvMapping()
        return EventStream(
            count_csv_rows(path, csv_mapping), read_csv(path, csv_mapping, chunk_size)
        )
    if chosen == "jsonl":
        return EventStream(count_lines(path), read_jsonl(path, chunk_size))
    return load_dataset(path, chosen, mapping=mapping).stream(chunk_size)
