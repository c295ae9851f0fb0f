"""The archiver's read buffer and backoff: what is committed covers only what is stored."""

from __future__ import annotations

import numpy as np

from streamrec.events import EMPTY_BATCH, Event, EventBatch
from streamrec.history.archive import Backoff
from streamrec.history.archive.buffer import ReadBuffer


def polled(start: int, partitions: list[int]) -> EventBatch:
    """Item ``i<k>`` at offset ``k`` (from ``start``), one event per listed partition."""
    offsets = range(start, start + len(partitions))
    events = [Event(user_id="u", item_id=f"i{k}", type="view", timestamp=k) for k in offsets]
    return EventBatch.from_events(events).with_positions(np.array(offsets), np.array(partitions))


def test_front_takes_whole_polls_up_to_the_size_and_their_last_positions() -> None:
    buffer = ReadBuffer()
    buffer.add(polled(0, [0, 1, 0]), {0: 3, 1: 2})
    buffer.add(polled(3, [1, 1]), {0: 3, 1: 5})
    buffer.add(polled(5, [0, 0, 0]), {0: 8, 1: 5})
    assert buffer.events == 8

    chunk = buffer.front(max_events=6)
    assert chunk is not None and chunk.entries == 2
    assert chunk.events.offset.tolist() == [0, 1, 2, 3, 4]
    assert chunk.positions == {0: 3, 1: 5}
    buffer.release(chunk)
    assert buffer.events == 3

    oversized = buffer.front(max_events=1)  # one poll even when it holds more
    assert oversized is not None and len(oversized.events) == 3
    buffer.release(oversized)
    assert buffer.front(10) is None and buffer.events == 0


def test_a_poll_of_skipped_messages_only_still_moves_the_positions() -> None:
    buffer = ReadBuffer()
    buffer.add(polled(0, [0]), {0: 1})
    buffer.add(EMPTY_BATCH, {0: 4})
    chunk = buffer.front(100)
    assert chunk is not None and len(chunk.events) == 1 and chunk.positions == {0: 4}


def test_discard_forgets_the_events_and_positions_of_revoked_partitions() -> None:
    buffer = ReadBuffer()
    buffer.add(polled(0, [0, 1, 2, 1]), {0: 1, 1: 4, 2: 3})
    buffer.add(polled(4, [2, 0]), {0: 6, 1: 4, 2: 5})
    assert buffer.per_partition() == {0: 2, 1: 2, 2: 2}

    buffer.discard([1, 2])

    assert buffer.events == 2 and buffer.per_partition() == {0: 2}
    chunk = buffer.front(100)
    assert chunk is not None
    assert chunk.events.partition.tolist() == [0, 0]
    assert chunk.events.item_id == ["i0", "i5"]
    assert chunk.positions == {0: 6}


class Clock:
    """A settable time source."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_up_to_its_cap_and_resets_on_success() -> None:
    clock = Clock()
    backoff = Backoff(0.5, 3.0, clock)
    assert backoff.due()
    assert [backoff.failed() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert not backoff.due()
    clock.now += 2.9
    assert not backoff.due()
    clock.now += 0.1
    assert backoff.due()
    backoff.succeeded()
    assert backoff.failures == 0 and backoff.failed() == 0.5
