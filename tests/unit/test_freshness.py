"""Freshness: each append's age when the state reflects it in full."""

from __future__ import annotations

import numpy as np

from streamrec.events import EventBatch
from streamrec.processing.freshness import AcceptanceClock, end_offsets


def _logged(first: int, count: int, partition: int = 0) -> EventBatch:
    n = count
    batch = EventBatch.from_columns(
        {
            "user_id": ["u"] * n,
            "item_id": ["i"] * n,
            "type": [0] * n,
            "value": [None] * n,
            "timestamp": [0] * n,
        }
    )
    return batch.with_positions(np.arange(first, first + n), np.full(n, partition))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_append_is_observed_once_its_last_event_is_applied() -> None:
    clock, ages = Clock(), []
    acceptance = AcceptanceClock(ages.append, clock=clock)
    acceptance.accepted(_logged(0, 3))  # offsets 0-2 at t=0
    clock.now = 1.0
    acceptance.accepted(_logged(3, 2))  # offsets 3-4 at t=1
    clock.now = 1.5
    acceptance.applied(_logged(0, 4))  # the first append in full, the second in part
    assert ages == [1.5]
    clock.now = 4.0
    acceptance.applied(_logged(4, 1))
    assert ages == [1.5, 3.0]
    acceptance.applied(_logged(5, 1))  # events this process never acknowledged
    assert ages == [1.5, 3.0]


def test_an_append_applied_before_its_acknowledgment_is_fresh() -> None:
    ages: list[float] = []
    acceptance = AcceptanceClock(ages.append, clock=Clock())
    acceptance.applied(_logged(0, 5))
    acceptance.accepted(_logged(2, 3))
    assert ages == [0.0]


def test_partitions_are_followed_apart_and_memory_is_bounded() -> None:
    clock, ages = Clock(), []
    acceptance = AcceptanceClock(ages.append, capacity=2, clock=clock)
    for first in range(0, 30, 10):  # three appends on partition 1: the oldest is forgotten
        acceptance.accepted(_logged(first, 10, partition=1))
    acceptance.accepted(_logged(0, 10, partition=0))
    clock.now = 2.0
    acceptance.applied(_logged(0, 30, partition=1))
    assert ages == [2.0, 2.0]
    acceptance.applied(_logged(0, 10, partition=0))
    assert ages == [2.0, 2.0, 2.0]


def test_end_offsets_per_partition() -> None:
    two = EventBatch.concat([_logged(5, 2, partition=0), _logged(9, 3, partition=3)])
    assert end_offsets(two) == {0: 7, 3: 12}
    assert end_offsets(_logged(0, 2).with_positions(np.array([-1, -1]))) == {}
