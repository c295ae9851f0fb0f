"""MovieLens and Amazon loaders against the real public files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streamrec.datasets import Dataset, load_dataset, open_events
from streamrec.datasets.movielens import NO_GENRE, load_movielens
from streamrec.errors import InvalidInput
from streamrec.events import TYPE_CODE

AMAZON = "amazon-musical-instruments-5core/reviews_Musical_Instruments_5.json"


@pytest.fixture(scope="module")
def ml100k(shared_data: Path) -> Dataset:
    return load_movielens(shared_data / "ml-100k")


@pytest.fixture(scope="module")
def ml_small(shared_data: Path) -> Dataset:
    return load_movielens(shared_data / "ml-latest-small")


def assert_time_ordered(dataset: Dataset) -> None:
    """Rows ordered by (timestamp, user, item), decimal ids compared as numbers."""
    events = dataset.events
    numeric = all(u.isdigit() for u in events.user_id) and all(i.isdigit() for i in events.item_id)
    keys: list[tuple[int, int | str, int | str]] = [
        (t, int(u), int(i)) if numeric else (t, u, i)
        for t, u, i in zip(events.timestamp.tolist(), events.user_id, events.item_id, strict=True)
    ]
    assert keys == sorted(keys)


def test_ml100k_counts_and_checksums(ml100k: Dataset) -> None:
    events = ml100k.events
    assert ml100k.name == "ml-100k"
    assert len(events) == 100_000
    assert len(set(events.user_id)) == 943
    assert len(set(events.item_id)) == 1_682
    assert len(ml100k.catalog) == 1_682
    assert np.all(events.type == TYPE_CODE["rating"])
    assert events.value.sum() == 352_986
    assert set(events.value.tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}


def test_ml100k_timestamps_are_epoch_ms_in_order(ml100k: Dataset) -> None:
    stamps = ml100k.events.timestamp
    assert stamps.dtype == np.int64
    assert np.all(stamps % 1000 == 0)
    assert stamps[0] == 874_724_710_000  # 1997-09-20, the first rating
    assert stamps[-1] == 893_286_638_000  # 1998-04-22, the last one
    assert_time_ordered(ml100k)


def test_ml100k_genres_from_u_genre(ml100k: Dataset) -> None:
    by_id = {item.item_id: item for item in ml100k.catalog}
    toy_story = by_id["1"]
    assert toy_story.title == "Toy Story (1995)"
    assert toy_story.categories == ["Animation", "Children's", "Comedy"]
    assert by_id["2"].categories == ["Action", "Adventure", "Thriller"]
    assert toy_story.created_at is None and toy_story.tags == []
    assert not any(set(item.categories) & NO_GENRE for item in ml100k.catalog)
    assert sum(1 for item in ml100k.catalog if not item.categories) == 2


def test_latest_small_counts_half_stars_and_tags(ml_small: Dataset) -> None:
    events = ml_small.events
    assert len(events) == 100_836
    assert len(set(events.user_id)) == 610
    assert len(ml_small.catalog) == 9_742
    assert events.value.sum() == 353_083
    assert set(events.value.tolist()) == {x / 2 for x in range(1, 11)}
    by_id = {item.item_id: item for item in ml_small.catalog}
    assert by_id["1"].categories == ["Adventure", "Animation", "Children", "Comedy", "Fantasy"]
    assert by_id["1"].tags == ["pixar", "fun"]
    assert by_id["60756"].tags[:2] == ["funny", "Highly quotable"]
    assert sum(len(item.tags) for item in ml_small.catalog) == 3_579  # distinct per movie
    assert by_id["114335"].categories == []  # "(no genres listed)"
    assert_time_ordered(ml_small)


def test_detects_release_from_any_of_its_files(shared_data: Path) -> None:
    by_file = load_dataset(shared_data / "ml-100k" / "u.data")
    by_name = load_dataset("ml-100k", root=shared_data)
    assert len(by_file) == len(by_name) == 100_000
    assert by_file.events.item_id[:50] == by_name.events.item_id[:50]


def test_ml1m_layout(tmp_path: Path) -> None:
    (tmp_path / "ratings.dat").write_text(
        "2::20::4::978300760\n1::10::5::978300760\n1::20::3::978000000\n"
    )
    (tmp_path / "movies.dat").write_bytes(
        "10::Amélie (2001)::Comedy|Romance\n20::Solaris (1972)::Drama|Sci-Fi\n".encode("latin-1")
    )
    dataset = load_dataset(tmp_path / "ratings.dat")
    events = dataset.events
    assert (events.user_id, events.item_id) == (["1", "1", "2"], ["20", "10", "20"])
    assert events.timestamp.tolist() == [978_000_000_000, 978_300_760_000, 978_300_760_000]
    assert events.value.tolist() == [3.0, 5.0, 4.0]
    assert dataset.catalog[0].title == "Amélie (2001)"
    assert dataset.catalog[1].categories == ["Drama", "Sci-Fi"]


def test_malformed_ratings_file_is_invalid_input(tmp_path: Path) -> None:
    (tmp_path / "u.data").write_text("1\t2\t3\t881250949\n1\tx\t3\t881250949\n")
    (tmp_path / "u.item").write_text("2|Film|||url|0\n")
    (tmp_path / "u.genre").write_text("unknown|0\n")
    with pytest.raises(InvalidInput, match="u.data"):
        load_movielens(tmp_path)


def test_not_a_release(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not a MovieLens folder"):
        load_movielens(tmp_path)


def test_amazon_reviews(shared_data: Path) -> None:
    dataset = load_dataset("amazon-musical-instruments-5core", root=shared_data)
    events = dataset.events
    assert dataset.name == "reviews_Musical_Instruments_5"
    assert len(events) == 10_261
    assert len(set(events.user_id)) == 1_429
    assert len(set(events.item_id)) == 900
    assert events.value.sum() == 46_059
    assert np.all(events.timestamp % 86_400_000 == 0)  # day precision, in ms
    assert dataset.catalog == []
    assert_time_ordered(dataset)


def test_amazon_bad_line_names_it(tmp_path: Path) -> None:
    path = tmp_path / "reviews.json"
    good = '{"reviewerID": "A1", "asin": "B1", "overall": 5.0, "unixReviewTime": 1393545600}'
    path.write_text(f'{good}\n{{"reviewerID": "A2", "asin": "B1", "overall": 4.0}}\n')
    with pytest.raises(InvalidInput, match="line 2") as caught:
        load_dataset(path, "amazon")
    assert caught.value.problems[0].index == 2


def test_open_events_streams_datasets_in_chunks(shared_data: Path) -> None:
    stream = open_events(AMAZON, root=shared_data, chunk_size=4_000)
    sizes = [len(batch) for batch in stream]
    assert stream.total == sum(sizes) == 10_261
    assert sizes == [4_000, 4_000, 2_261]
    movies = open_events(shared_data / "ml-100k", chunk_size=60_000)
    assert (movies.total, len(movies.catalog)) == (100_000, 1_682)
