"""Amazon product reviews (McAuley et al., 2014 "5-core" JSON lines) as rating events.

Each line is a review object; ``reviewerID`` is the user, ``asin`` the item,
``overall`` (1-5 stars) the rating and ``unixReviewTime`` (seconds, day precision) its
time. The other fields (review text, summary, helpfulness) are not read.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson

from streamrec.datasets.base import Dataset, EventColumns
from streamrec.errors import InvalidInput, Problem
from streamrec.events import MAX_ID_LENGTH, TYPE_CODE

FIELDS = ("reviewerID", "asin", "overall", "unixReviewTime")
_READ_BLOCK = 50_000


def _review(path: Path, line_number: int, line: bytes) -> tuple[str, str, float, int]:
    """The four used fields of one review line."""
    try:
        review = orjson.loads(line)
        user, item, rating, seconds = (review[name] for name in FIELDS)
        if not all(isinstance(i, str) and 0 < len(i) <= MAX_ID_LENGTH for i in (user, item)):
            raise ValueError("reviewerID and asin must be 1-256 character strings")
        return user, item, float(rating), int(seconds)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        message = f"not a review with {', '.join(FIELDS)} ({exc!r})"
        raise InvalidInput(
            f"{path}: line {line_number}: {message}", [Problem(line_number, None, message)]
        ) from None


def is_amazon_reviews(path: str | Path) -> bool:
    """Whether the first line of ``path`` is a review object with the used fields."""
    path = Path(path)
    if not path.is_file():
        return False
    with path.open("rb") as file:
        first = file.readline()
    try:
        review = orjson.loads(first)
    except orjson.JSONDecodeError:
        return False
    return isinstance(review, dict) and all(name in review for name in FIELDS)


def load_amazon_reviews(path: str | Path) -> Dataset:
    """Load an Amazon reviews JSON-lines file as ``rating`` events.

    The file is read in blocks, keeping only the four used fields, so the review
    text of a large category never has to fit in memory.

    Parameters
    ----------
    path
        The ``reviews_*.json`` file (one JSON object per line).

    Returns
    -------
    Dataset
        Named after the file; events sorted by (timestamp, user, item), value = stars,
        timestamp in epoch milliseconds; no catalog.

    Raises
    ------
    InvalidInput
        For a line that is not a review (naming the line).
    """
    path = Path(path)
    with path.open("rb") as file:
        numbered = ((n, line) for n, line in enumerate(file, start=1) if line.strip())
        columns = EventColumns.join(_blocks(path, numbered))
    return Dataset(name=path.stem, columns=columns.sorted())


def _blocks(path: Path, numbered: Iterator[tuple[int, bytes]]) -> Iterator[EventColumns]:
    while block := list(itertools.islice(numbered, _READ_BLOCK)):
        user_ids, item_ids, stars, seconds = zip(
            *(_review(path, n, line) for n, line in block), strict=True
        )
        yield EventColumns.from_ids(
            user_ids=np.asarray(user_ids),
            item_ids=np.asarray(item_ids),
            type=TYPE_CODE["rating"],
            value=np.asarray(stars, dtype=np.float64),
            timestamp=np.asarray(seconds, dtype=np.int64) * 1000,
        )
