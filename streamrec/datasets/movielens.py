"""MovieLens loaders: the 100K and 1M releases and the CSV releases (latest, 20M, 25M).

Each release is recognised from its folder (or any file in it) by its ratings and
movies files. Ratings become ``rating`` events (value = the rating, timestamp in epoch
milliseconds) sorted by (timestamp, user, item); movies become catalog items whose
categories are the genres and whose tags are the users' free-text tags, when the
release has them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streamrec.datasets.base import Dataset, EventColumns
from streamrec.errors import InvalidInput
from streamrec.events import TYPE_CODE
from streamrec.state.base import CatalogItem

#: Genre labels that mean "no genre" rather than naming one.
NO_GENRE = frozenset({"unknown", "(no genres listed)"})


@dataclass(frozen=True, slots=True)
class _Release:
    """How to recognise and read one MovieLens file layout."""

    name: str
    ratings: str
    movies: str
    read_ratings: Callable[[Path], np.ndarray]
    read_catalog: Callable[[Path], list[CatalogItem]]


def _table(source: Path | io.StringIO, path: Path, delimiter: str, skip: int) -> np.ndarray:
    """A numeric table of ``user item rating unix_seconds`` rows."""
    try:
        table = np.loadtxt(
            source, delimiter=delimiter, skiprows=skip, usecols=(0, 1, 2, 3), ndmin=2
        )
    except ValueError as exc:
        raise InvalidInput(f"{path}: {exc}") from None
    return table


def _ratings_100k(folder: Path) -> np.ndarray:
    path = folder / "u.data"
    return _table(path, path, "\t", 0)


def _ratings_1m(folder: Path) -> np.ndarray:
    path = folder / "ratings.dat"
    text = path.read_text(encoding="latin-1").replace("::", "\t")
    return _table(io.StringIO(text), path, "\t", 0)


def _ratings_csv(folder: Path) -> np.ndarray:
    path = folder / "ratings.csv"
    return _table(path, path, ",", 1)


def _genres(labels: list[str]) -> list[str]:
    return [g for g in labels if g and g not in NO_GENRE]


def _catalog_100k(folder: Path) -> list[CatalogItem]:
    genre_file = (folder / "u.genre").read_text(encoding="latin-1")
    names = dict(
        (int(index), name)
        for name, _, index in (line.rpartition("|") for line in genre_file.splitlines() if line)
    )
    genres = [names[i] for i in range(len(names))]
    catalog = []
    for line in (folder / "u.item").read_text(encoding="latin-1").splitlines():
        if not line:
            continue
        fields = line.split("|")
        flags = fields[5 : 5 + len(genres)]
        labels = [g for g, flag in zip(genres, flags, strict=True) if flag == "1"]
        catalog.append(CatalogItem(item_id=fields[0], title=fields[1], categories=_genres(labels)))
    return catalog


def _catalog_1m(folder: Path) -> list[CatalogItem]:
    catalog = []
    for line in (folder / "movies.dat").read_text(encoding="latin-1").splitlines():
        if not line:
            continue
        item_id, _, rest = line.partition("::")
        title, _, genres = rest.rpartition("::")
        catalog.append(
            CatalogItem(item_id=item_id, title=title, categories=_genres(genres.split("|")))
        )
    return catalog


def _tags_csv(folder: Path) -> dict[str, list[str]]:
    """Distinct tags per movie, in order of first use."""
    path = folder / "tags.csv"
    if not path.is_file():
        return {}
    tags: dict[str, dict[str, None]] = {}
    with path.open(encoding="utf-8", newline="") as file:
        rows = csv.reader(file)
        next(rows, None)
        for row in rows:
            tag = row[2].strip()
            if tag:
                tags.setdefault(row[1], {})[tag] = None
    return {movie: list(distinct) for movie, distinct in tags.items()}


def _catalog_csv(folder: Path) -> list[CatalogItem]:
    tags = _tags_csv(folder)
    with (folder / "movies.csv").open(encoding="utf-8", newline="") as file:
        rows = csv.reader(file)
        next(rows, None)
        return [
            CatalogItem(
                item_id=item_id,
                title=title,
                categories=_genres(genres.split("|")),
                tags=tags.get(item_id, []),
            )
            for item_id, title, genres in rows
        ]


RELEASES = (
    _Release("ml-100k", "u.data", "u.item", _ratings_100k, _catalog_100k),
    _Release("ml-1m", "ratings.dat", "movies.dat", _ratings_1m, _catalog_1m),
    _Release("ml-csv", "ratings.csv", "movies.csv", _ratings_csv, _catalog_csv),
)


def _release(path: Path) -> tuple[_Release, Path] | None:
    folder = path if path.is_dir() else path.parent
    for release in RELEASES:
        present = (folder / release.ratings).is_file() and (folder / release.movies).is_file()
        if present and (path.is_dir() or path.name in (release.ratings, release.movies)):
            return release, folder
    return None


def is_movielens(path: str | Path) -> bool:
    """Whether ``path`` is a MovieLens folder, or its ratings or movies file."""
    return _release(Path(path)) is not None


def load_movielens(path: str | Path) -> Dataset:
    """Load a MovieLens release: ratings as events, movies as the catalog.

    Parameters
    ----------
    path
        The release's folder, or its ratings or movies file. The layout (100K
        ``u.data``/``u.item``, 1M ``ratings.dat``/``movies.dat``, or the CSV releases'
        ``ratings.csv``/``movies.csv``/``tags.csv``) is detected from the files.

    Returns
    -------
    Dataset
        Named after the folder; ``rating`` events sorted by (timestamp, user, item),
        user and item ids as the release's decimal strings.

    Raises
    ------
    InvalidInput
        If ``path`` is not a MovieLens release, or its ratings file is malformed.
    """
    found = _release(Path(path))
    if found is None:
        raise InvalidInput(f"{path} is not a MovieLens folder (no ratings and movies files)")
    release, folder = found
    table = release.read_ratings(folder)
    columns = EventColumns.from_ids(
        user_ids=table[:, 0].astype(np.int64),
        item_ids=table[:, 1].astype(np.int64),
        type=TYPE_CODE["rating"],
        value=table[:, 2],
        timestamp=table[:, 3].astype(np.int64) * 1000,
    )
    return Dataset(name=folder.name, columns=columns.sorted(), catalog=release.read_catalog(folder))
