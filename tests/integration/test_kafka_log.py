"""What only the Kafka log does: dead letters, lag, rebalance hooks, URL options."""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from streamrec.errors import BackendUnavailable, ConfigError
from streamrec.log.kafka import KafkaEventLog, KafkaLogConsumer, KafkaTarget, PartitionsHook
from streamrec.testing.process import free_port
from tests.integration.helpers import drain, sequence_batch


class Members:
    """Opens consumers of one log and closes them all at teardown."""

    def __init__(self, log: KafkaEventLog) -> None:
        self.log = log
        self.opened: list[KafkaLogConsumer] = []

    def join(self, group: str, on_revoke: PartitionsHook | None = None) -> KafkaLogConsumer:
        consumer = self.log.consumer(group, on_revoke=on_revoke)
        self.opened.append(consumer)
        return consumer


@pytest.fixture
def log(kafka_url: str, topic: str) -> Iterator[KafkaEventLog]:
    opened = KafkaEventLog.connect(f"{kafka_url}/{topic}?partitions=2")
    yield opened
    opened.close()


@pytest.fixture
def members(log: KafkaEventLog) -> Iterator[Members]:
    group = Members(log)
    yield group
    for consumer in group.opened:
        consumer.close()


def read_topic(bootstrap: str, topic: str, expected: int) -> list[dict[str, object]]:
    """Every message of partition 0 of ``topic`` from the start, as JSON."""
    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": "inspector"})
    reader.assign([TopicPartition(topic, 0, 0)])
    found: list[dict[str, object]] = []
    deadline = time.monotonic() + 20
    while len(found) < expected and time.monotonic() < deadline:
        found += [orjson.loads(m.value()) for m in reader.consume(100, 0.5) if not m.error()]
    reader.close()
    return found


@pytest.mark.integration
def test_bad_messages_go_to_the_dead_letter_topic(log: KafkaEventLog, members: Members) -> None:
    target = log.connection.target
    good = list(sequence_batch(6).records())
    poison = [
        b"{not json",
        orjson.dumps({"user_id": "", "item_id": "x", "type": "teleport"}),
        orjson.dumps(["an", "array"]),
        orjson.dumps({"events": good[:2]}),
    ]
    raw = Producer({"bootstrap.servers": target.bootstrap})
    for k, record in enumerate(good):
        raw.produce(target.topic, value=orjson.dumps(record), key=b"user", partition=0)
        if k < len(poison):
            raw.produce(target.topic, value=poison[k], key=b"user", partition=0)
    assert raw.flush(10) == 0
    consumer = members.join("dlq-readers")

    read = drain(consumer, len(good))

    assert list(read.records()) == good
    assert consumer.positions()[0] == len(good) + len(poison)
    letters = read_topic(target.bootstrap, target.dead_letter_topic, len(poison))
    assert [letter["payload"] for letter in letters] == [p.decode() for p in poison]
    assert [letter["offset"] for letter in letters] == [1, 3, 5, 7]
    assert all(
        letter["source_topic"] == target.topic and letter["partition"] == 0 for letter in letters
    )
    reasons = [str(letter["reason"]) for letter in letters]
    assert reasons[0].startswith("invalid JSON")
    assert reasons[1].startswith("invalid event") and "user_id" in reasons[1]
    assert "type" in reasons[1]
    assert reasons[2].startswith("not a JSON object")
    assert reasons[3].startswith("invalid event")


@pytest.mark.integration
def test_a_record_without_timestamp_gets_the_message_time(
    log: KafkaEventLog, members: Members
) -> None:
    target = log.connection.target
    raw = Producer({"bootstrap.servers": target.bootstrap})
    raw.produce(
        target.topic,
        value=orjson.dumps({"user_id": "u", "item_id": "i", "type": "view"}),
        timestamp=1_234_567,
    )
    assert raw.flush(10) == 0
    consumer = members.join("stampers")

    assert drain(consumer, 1).timestamp.tolist() == [1_234_567]


@pytest.mark.integration
def test_lag_counts_what_the_group_has_not_read(log: KafkaEventLog, members: Members) -> None:
    appended = log.append(sequence_batch(300))
    consumer = members.join("laggards")
    assert sum(consumer.lag().values()) == 300

    read = 0
    while read < 120:
        read += len(consumer.poll(max_events=120 - read, timeout_s=1.0))
    lag = consumer.lag()
    assert sum(lag.values()) == 180
    # from the consumer's own fetches: the same, for each partition it has read from
    fetched = consumer.fetched_lag()
    assert fetched and all(fetched[p] == lag[p] for p in fetched)

    consumer.commit(consumer.positions())
    consumer.close()
    fresh = members.join("laggards")
    assert sum(fresh.lag().values()) == 180
    assert log.end_positions() == {
        p: int(appended.offset[appended.partition == p].max()) + 1 for p in log.partitions
    }


@pytest.mark.integration
def test_revoke_hook_can_commit_before_partitions_move(
    log: KafkaEventLog, members: Members
) -> None:
    log.append(sequence_batch(200))
    revoked: list[list[int]] = []
    first: KafkaLogConsumer

    def flush_then_commit(partitions: list[int]) -> None:
        revoked.append(partitions)
        positions = first.positions()
        first.commit({p: positions[p] for p in partitions if p in positions})

    first = members.join("workers", on_revoke=flush_then_commit)
    drain(first, 200)
    second = members.join("workers")
    deadline = time.monotonic() + 30
    while not (first.assignment() and second.assignment()) and time.monotonic() < deadline:
        first.poll(100, 0.2)
        second.poll(100, 0.2)

    assert revoked and revoked[0] == [0, 1]
    assert sorted(first.assignment() + second.assignment()) == [0, 1]
    assert sum(second.lag().values()) == 0


@pytest.mark.integration
def test_a_paused_consumer_reads_nothing_across_rebalances_until_resumed(
    log: KafkaEventLog, members: Members
) -> None:
    log.append(sequence_batch(100))
    first = members.join("pausers")
    second = members.join("pausers")
    deadline = time.monotonic() + 30
    while not (first.assignment() and second.assignment()) and time.monotonic() < deadline:
        first.poll(1, 0.2)
        second.poll(1, 0.2)
    (kept,) = first.assignment()
    first.pause()
    second.close()  # the other partition moves to the paused consumer
    read_while_paused = 0
    while len(first.assignment()) < 2 and time.monotonic() < deadline:
        read_while_paused += len(first.poll(100, 0.2))
    read_while_paused += len(first.poll(100, 1.0))

    assert first.assignment() == sorted({0, 1}) and kept in first.assignment()
    assert read_while_paused == 0 and first.paused
    first.resume()
    assert not first.paused
    drain(first, 100)  # nothing was committed: everything, from the start


@pytest.mark.integration
def test_an_existing_topic_keeps_its_partitions(kafka_url: str, topic: str) -> None:
    KafkaEventLog.connect(f"{kafka_url}/{topic}?partitions=3").close()
    again = KafkaEventLog.connect(f"{kafka_url}/{topic}?partitions=5")
    assert again.partitions == [0, 1, 2]
    again.close()


def test_append_to_an_absent_broker_is_unavailable() -> None:
    with pytest.raises(BackendUnavailable):
        KafkaEventLog.connect(f"kafka://127.0.0.1:{free_port()}/events", delivery_timeout_s=1)


def test_url_parsing() -> None:
    assert KafkaTarget.parse("kafka://a:1,b:2/clicks?partitions=8") == KafkaTarget(
        "a:1,b:2", "clicks", 8
    )
    assert KafkaTarget.parse("kafka://a:1/clicks").dead_letter_topic == "clicks.dlq"
    for bad in (
        "redis://a:1/x",
        "kafka://a:1",
        "kafka:///x",
        "kafka://a:1/x?partitions=0",
        "kafka://a:1/x?replicas=3",
        "kafka://a:1/bad topic",
    ):
        with pytest.raises(ConfigError):
            KafkaTarget.parse(bad)
