"""The EventLog contract, run against every adapter: embedded and Kafka (tansu)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from streamrec.log.base import EventLog, LogConsumer
from streamrec.log.embedded import EmbeddedEventLog
from streamrec.log.kafka import KafkaEventLog
from tests.integration.helpers import (
    by_partition,
    drain,
    items_per_user,
    records_by_position,
    sequence_batch,
)

pytestmark = pytest.mark.integration

OpenConsumer = Callable[[str], LogConsumer]


@pytest.fixture(params=["embedded", "kafka"])
def event_log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventLog]:
    log: EventLog
    if request.param == "embedded":
        log = EmbeddedEventLog.open(tmp_path / "log")
    else:
        url = request.getfixturevalue("kafka_url")
        log = KafkaEventLog.connect(f"{url}/{request.getfixturevalue('topic')}?partitions=4")
    yield log
    log.close()


@pytest.fixture
def open_consumer(event_log: EventLog) -> Iterator[OpenConsumer]:
    opened: list[LogConsumer] = []

    def make(group: str) -> LogConsumer:
        consumer = event_log.consumer(group)
        opened.append(consumer)
        return consumer

    yield make
    for consumer in opened:
        consumer.close()


def test_append_returns_positions_and_keeps_users_together(event_log: EventLog) -> None:
    batch = sequence_batch(300)
    appended = event_log.append(batch)

    assert list(appended.records()) == list(batch.records())
    assert (appended.offset >= 0).all()
    for offsets in by_partition(appended).values():
        assert offsets == sorted(set(offsets))
    partitions_of_user: dict[str, set[int]] = {}
    for user, partition in zip(appended.user_id, appended.partition.tolist(), strict=True):
        partitions_of_user.setdefault(user, set()).add(partition)
    assert all(len(found) == 1 for found in partitions_of_user.values())
    ends = event_log.end_positions()
    for partition, offsets in by_partition(appended).items():
        assert ends[partition] == offsets[-1] + 1


def test_appends_continue_where_the_last_one_ended(event_log: EventLog) -> None:
    first = by_partition(event_log.append(sequence_batch(100)))
    second = by_partition(event_log.append(sequence_batch(100, start=100)))
    for partition, offsets in second.items():
        assert offsets[0] > first.get(partition, [-1])[-1]


def test_consumer_reads_everything_in_order(
    event_log: EventLog, open_consumer: OpenConsumer
) -> None:
    batch = sequence_batch(500)
    appended = event_log.append(batch)

    read = drain(open_consumer("readers"), len(batch))

    assert by_partition(read) == by_partition(appended)
    assert items_per_user(read) == items_per_user(batch)
    assert records_by_position(read) == records_by_position(appended)


def test_new_consumer_resumes_at_the_committed_position(
    event_log: EventLog, open_consumer: OpenConsumer
) -> None:
    appended = event_log.append(sequence_batch(400))
    first = open_consumer("resumers")
    drain(first, len(appended))
    halfway = {p: offsets[len(offsets) // 2] for p, offsets in by_partition(appended).items()}
    first.commit(halfway)
    assert first.committed() == halfway
    first.close()

    second = open_consumer("resumers")
    assert second.committed() == halfway
    later = np.flatnonzero(appended.offset >= np.array([halfway[p] for p in appended.partition]))
    rest = drain(second, len(later))

    assert records_by_position(rest) == records_by_position(appended.take(later))


def test_seek_moves_the_read_position(event_log: EventLog, open_consumer: OpenConsumer) -> None:
    appended = event_log.append(sequence_batch(200))
    per_partition = by_partition(appended)
    target = {p: offsets[-5] for p, offsets in per_partition.items()}
    consumer = open_consumer("seekers")

    consumer.seek(target)
    read = drain(consumer, 5 * len(target))

    assert {p: offsets[0] for p, offsets in by_partition(read).items()} == target
    consumer.seek({p: offsets[0] for p, offsets in per_partition.items()})
    assert len(drain(consumer, len(appended))) == len(appended)


def test_groups_keep_separate_positions(event_log: EventLog, open_consumer: OpenConsumer) -> None:
    appended = event_log.append(sequence_batch(50))
    reader = open_consumer("group-a")
    drain(reader, len(appended))
    reader.commit({p: offsets[-1] + 1 for p, offsets in by_partition(appended).items()})

    assert open_consumer("group-b").committed() == {}
