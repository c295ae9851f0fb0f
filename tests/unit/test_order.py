"""The one order of ranked items: score descending, then item id, at a fixed resolution."""

from __future__ import annotations

import numpy as np

from streamrec.processing.order import best_first, order_keys, settled

NAMES = np.array(["d", "b", "a", "c", "e"])


def first(scores: list[float], k: int) -> list[str]:
    asked: list[list[str]] = []

    def names(rows: np.ndarray) -> list[str]:
        asked.append(NAMES[rows].tolist())
        return NAMES[rows].tolist()

    order = best_first(np.array(scores), k, names)
    assert len(asked) <= 1
    return NAMES[order].tolist()


def test_ties_go_by_item_id() -> None:
    assert first([1.0, 3.0, 1.0, 2.0, 1.0], 5) == ["b", "c", "a", "d", "e"]
    assert first([1.0, 3.0, 1.0, 2.0, 1.0], 3) == ["b", "c", "a"]


def test_scores_equal_but_for_their_last_bits_tie() -> None:
    a = 0.1 + 0.2  # 0.30000000000000004
    assert first([a, 1.0, 0.3, 0.0, 0.0], 2) == ["b", "a"]
    assert first([0.3, 1.0, a, 0.0, 0.0], 2) == ["b", "a"]


def test_the_order_does_not_depend_on_the_scale_of_a_list() -> None:
    rng = np.random.default_rng(7)
    scores = rng.choice([0.5, 0.25, 0.125], size=5) * (1 + rng.normal(0, 1e-15, size=5))
    for scale in (1.0, 3.7e-6, 1.9e12):
        assert first((scores * scale).tolist(), 3) == first(scores.tolist(), 3)


def test_only_tied_contenders_are_named() -> None:
    named: list[str] = []

    def names(rows: np.ndarray) -> list[str]:
        named.extend(NAMES[rows].tolist())
        return NAMES[rows].tolist()

    assert best_first(np.array([5.0, 4.0, 1.0, 1.0, 0.5]), 2, names).tolist() == [0, 1]
    assert named == []
    assert best_first(np.array([5.0, 4.0, 4.0, 1.0, 0.5]), 2, names).tolist() == [0, 2]
    assert sorted(named) == ["a", "b"]


def test_ties_anywhere_in_the_list_go_by_item_id() -> None:
    rng = np.random.default_rng(3)
    names = np.array([f"n{i:03d}" for i in rng.permutation(200)])
    scores = rng.choice([0.1, 0.2, 0.3, 0.5, 0.7], size=200) * rng.choice([1.0, 1.5], size=200)
    keys = order_keys(scores)
    expected = sorted(range(200), key=lambda i: (-keys[i], names[i]))
    for k in (1, 7, 50, 200, 300):
        found = best_first(scores, k, lambda rows: names[rows].tolist())
        assert found.tolist() == expected[:k]


def test_settled_once_no_later_entry_can_tie_the_kth() -> None:
    read = np.array([4.0, 3.0, 2.0])
    assert settled(read, 2, 2.9)
    assert not settled(read, 2, 3.0 * (1 + 1e-12))  # might tie the second
    assert not settled(read, 4, 0.0)  # fewer entries than asked
