"""The seed-004 holdout and leave-last-out splits on tiny hand-made datasets."""

from __future__ import annotations

import numpy as np
import pytest

from streamrec.datasets.base import make_batch
from streamrec.errors import InvalidInput
from streamrec.evaluation.splits import (
    has_half_stars,
    leave_last_out_split,
    positive_mask,
    relevance_threshold,
    seed004_split,
)
from streamrec.events import TYPE_CODE, EventBatch

Row = tuple[str, str, str, float, int]


def batch(rows: list[Row]) -> EventBatch:
    """Events from ``(user, item, type, value, timestamp)`` rows."""
    return make_batch(
        user_id=[r[0] for r in rows],
        item_id=[r[1] for r in rows],
        type=np.array([TYPE_CODE[r[2]] for r in rows]),
        value=np.array([r[3] for r in rows]),
        timestamp=np.array([r[4] for r in rows]),
    )


# User a: 5 ratings; items "9" and "10" share a timestamp and sort numerically, so
# the 4 train ratings are 3, 2, 1, 9 and "10" is the test rating.
# User b: 7 ratings: floor(7 * 4/5) = 5 train (items 1-5), test 6 (4 stars) and 7.
# User c: 3 ratings, too few to be split. A view of user a is not a rating.
ROWS: list[Row] = [
    ("a", "3", "rating", 3.0, 100),
    ("a", "2", "rating", 2.0, 200),
    ("a", "1", "rating", 5.0, 250),
    ("a", "10", "rating", 5.0, 300),
    ("a", "9", "rating", 4.0, 300),
    ("a", "7", "view", np.nan, 50),
    *[("b", str(i), "rating", 4.0, 10 * i) for i in range(1, 6)],
    ("b", "6", "rating", 4.0, 60),
    ("b", "7", "rating", 3.0, 70),
    ("c", "1", "rating", 5.0, 5),
    ("c", "2", "rating", 1.0, 6),
    ("c", "4", "rating", 2.0, 7),
]


def test_seed004_split_exact_sets() -> None:
    split = seed004_split(batch(ROWS), min_ratings=5, min_relevant=1)
    assert split.users == ["a", "b"]
    assert split.exclude == [{"1", "2", "3", "9"}, {"1", "2", "3", "4", "5"}]
    assert split.relevant == [{"10"}, {"6"}]
    assert split.threshold == 4.0
    train = sorted(zip(split.train.user_id, split.train.item_id, strict=True))
    expected = [("a", i) for i in "1239"] + [("b", str(i)) for i in range(1, 6)]
    assert train == sorted(expected + [("c", "1"), ("c", "2"), ("c", "4")])
    assert set(split.train.type.tolist()) == {TYPE_CODE["rating"]}


def test_light_users_can_be_left_out_of_training() -> None:
    split = seed004_split(batch(ROWS), min_ratings=5, min_relevant=1, train_light_users=False)
    assert "c" not in split.train.user_id
    assert len(split.train) == 9


def test_users_need_enough_relevant_test_items() -> None:
    split = seed004_split(batch(ROWS), min_ratings=5, min_relevant=2)
    assert split.users == []


def test_half_stars_lower_the_threshold() -> None:
    rows = [r if (r[0], r[1]) != ("b", "7") else ("b", "7", "rating", 3.5, 70) for r in ROWS]
    assert has_half_stars(np.array([4.0, 3.5]))
    assert not has_half_stars(np.array([4.0, np.nan, 1.0]))
    split = seed004_split(batch(rows), min_ratings=5, min_relevant=1)
    assert split.threshold == 3.5
    assert split.relevant == [{"10"}, {"6", "7"}]
    assert relevance_threshold(batch(ROWS)) == 4.0


@pytest.mark.parametrize(("n", "n_train"), [(50, 40), (52, 41), (53, 42), (54, 43), (55, 44)])
def test_eighty_percent_rounds_down(n: int, n_train: int) -> None:
    rows: list[Row] = [("u", str(i), "rating", 5.0, i) for i in range(n)]
    rows.append(("light", "0", "rating", 5.0, 0))
    split = seed004_split(batch(rows))
    assert split.users == ["u"]
    assert split.exclude == [{str(i) for i in range(n_train)}]
    assert split.relevant == [{str(i) for i in range(n_train, n)}]
    assert len(split.train) == n_train + 1


def test_users_below_fifty_ratings_are_not_split() -> None:
    rows: list[Row] = [("u", str(i), "rating", 5.0, i) for i in range(49)]
    split = seed004_split(batch(rows))
    assert split.users == []
    assert len(split.train) == 49


def test_seed004_needs_ratings() -> None:
    with pytest.raises(InvalidInput):
        seed004_split(batch([("a", "1", "view", np.nan, 1)]))


def test_positive_events() -> None:
    rows: list[Row] = [
        ("a", "1", "rating", 4.0, 1),
        ("a", "2", "rating", 3.5, 2),
        ("a", "3", "view", np.nan, 3),
        ("a", "4", "purchase", np.nan, 4),
        ("a", "5", "skip", np.nan, 5),
        ("a", "6", "rating", np.nan, 6),
    ]
    np.testing.assert_array_equal(
        positive_mask(batch(rows), 4.0), [True, False, True, True, False, False]
    )


def test_leave_last_out_holds_out_each_last_positive_event() -> None:
    rows: list[Row] = [
        ("a", "1", "view", np.nan, 1),
        ("a", "2", "view", np.nan, 2),
        ("a", "3", "purchase", np.nan, 3),
        ("b", "1", "view", np.nan, 1),
        ("b", "2", "skip", np.nan, 5),
        ("c", "9", "view", np.nan, 1),
    ]
    split = leave_last_out_split(batch(rows), min_events=2)
    assert split.users == ["a"]
    assert split.relevant == [{"3"}]
    assert split.exclude == [{"1", "2"}]
    assert len(split.train) == 5
