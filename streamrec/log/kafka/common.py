"""What the Kafka log and its consumers share: the target, the connection, errors."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from streamrec.errors import BackendUnavailable, ConfigError, StreamrecError

DEFAULT_PARTITIONS = 4
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
_UNAVAILABLE = {
    KafkaError._TRANSPORT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._TIMED_OUT,
    KafkaError._MSG_TIMED_OUT,
    KafkaError.REQUEST_TIMED_OUT,
}

# librdkafka's own log lines (connection failures and the like) go here, not to stderr.
_CLIENT_LOG = logging.getLogger("streamrec.kafka.client")

DeliveryReport = Callable[[KafkaError | None, Message], None]


@dataclass(frozen=True, slots=True)
class KafkaTarget:
    """Where a log lives: bootstrap servers, topic, and partitions for creation."""

    bootstrap: str
    topic: str
    partitions: int = DEFAULT_PARTITIONS

    @property
    def dead_letter_topic(self) -> str:
        """The topic receiving messages that are not valid events."""
        return f"{self.topic}.dlq"

    @classmethod
    def parse(cls, url: str) -> KafkaTarget:
        """Read ``kafka://host:port[,host:port]/topic[?partitions=N]``.

        Raises
        ------
        ConfigError
            If the URL has another scheme, no host, a bad topic name or bad options.
        """
        parts = urlsplit(url)
        topic = parts.path.strip("/")
        if parts.scheme != "kafka" or not parts.netloc:
            raise ConfigError(f"{url!r} is not a kafka://host:port/topic URL")
        if not _TOPIC_NAME.match(topic):
            raise ConfigError(f"{url!r} names no valid topic (letters, digits, '.', '_', '-')")
        options = parse_qs(parts.query, keep_blank_values=True)
        unknown = sorted(set(options) - {"partitions"})
        if unknown:
            raise ConfigError(f"unknown option(s) {unknown} in {url!r}; known: partitions")
        partitions = options.get("partitions", [str(DEFAULT_PARTITIONS)])[-1]
        if not partitions.isdigit() or int(partitions) < 1:
            raise ConfigError(f"partitions must be a positive integer, not {partitions!r}")
        return cls(parts.netloc, topic, int(partitions))


def translate(exc: KafkaException, doing: str) -> StreamrecError:
    """The streamrec error for a client exception: unavailable if retrying may help."""
    error = exc.args[0] if exc.args else None
    if not isinstance(error, KafkaError):
        return BackendUnavailable(f"Kafka {doing} failed: {exc}")
    message = f"Kafka {doing} failed: {error.str()}"
    if error.retriable() or error.code() in _UNAVAILABLE:
        return BackendUnavailable(message)
    return StreamrecError(message)


@contextmanager
def kafka_errors(doing: str) -> Iterator[None]:
    """Translate client exceptions raised inside the block (see :func:`translate`)."""
    try:
        yield
    except KafkaException as exc:
        raise translate(exc, doing) from exc


def position(message: Message) -> tuple[int, int]:
    """``(partition, offset)`` of a consumed or delivered message."""
    partition, offset = message.partition(), message.offset()
    if partition is None or offset is None:
        raise StreamrecError("Kafka returned a message without a position")
    return partition, offset


class Deliveries:
    """The delivery reports of one flush: positions by message index, and failures."""

    def __init__(self, n: int) -> None:
        self.offset = np.full(n, -1, dtype=np.int64)
        self.partition = np.full(n, -1, dtype=np.int32)
        self.failures: list[str] = []

    def report(self, index: int) -> DeliveryReport:
        """The delivery callback of message ``index``."""

        def delivered(error: KafkaError | None, message: Message) -> None:
            if error is not None:
                self.failures.append(error.str())
            else:
                self.partition[index], self.offset[index] = position(message)

        return delivered


def produce(
    producer: Producer,
    topic: str,
    key: bytes | None,
    value: bytes,
    report: DeliveryReport,
    partition: int = -1,
) -> None:
    """Queue one message (to ``partition``, or where its key hashes for ``-1``),
    serving delivery reports while the local queue is full."""
    while True:
        try:
            producer.produce(topic, value=value, key=key, partition=partition, on_delivery=report)
            return
        except BufferError:
            producer.poll(0.05)


def flush(producer: Producer, deliveries: Deliveries, timeout_s: float, what: str) -> None:
    """Wait for every queued message; raise if any was not delivered.

    Raises
    ------
    BackendUnavailable
        If a message failed or is still queued after ``timeout_s``.
    """
    with kafka_errors(what):
        remaining = producer.flush(timeout_s)
    if remaining:
        raise BackendUnavailable(f"Kafka {what}: {remaining} message(s) undelivered")
    if deliveries.failures:
        raise BackendUnavailable(f"Kafka {what} failed: {deliveries.failures[0]}")


@dataclass(frozen=True, slots=True)
class KafkaConnection:
    """A topic that exists, with its partitions and the client settings to reach it."""

    target: KafkaTarget
    partitions: list[int]
    config: dict[str, Any]
    timeout_s: float

    @classmethod
    def open(cls, target: KafkaTarget, timeout_s: float) -> KafkaConnection:
        """Create the topic and its dead-letter topic if missing; read the partitions.

        Raises
        ------
        BackendUnavailable
            If the brokers do not answer.
        """
        config: dict[str, Any] = {
            "bootstrap.servers": target.bootstrap,
            "client.id": "streamrec",
            "logger": _CLIENT_LOG,
        }
        admin = AdminClient(config)
        with kafka_errors("topic creation"):
            existing = admin.list_topics(timeout=timeout_s).topics
            wanted = [
                NewTopic(name, num_partitions=target.partitions if name == target.topic else 1)
                for name in (target.topic, target.dead_letter_topic)
                if name not in existing
            ]
            futures = admin.create_topics(wanted).values() if wanted else []
            for future in futures:
                try:
                    future.result(timeout_s)
                except KafkaException as exc:
                    if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                        raise
            metadata = admin.list_topics(target.topic, timeout=timeout_s)
        partitions = sorted(metadata.topics[target.topic].partitions)
        return cls(target, partitions, config, timeout_s)

    def producer(self) -> Producer:
        """A producer with ``acks=all``, idempotence and Java-compatible key hashing."""
        return Producer(
            {
                **self.config,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
                "partitioner": "murmur2_random",
                "message.timeout.ms": int(self.timeout_s * 1000),
            }
        )

    def watermarks(self) -> dict[int, tuple[int, int]]:
        """``{partition: (first retained offset, next offset to be written)}``.

        Some brokers (tansu) answer ``ListOffsets`` for the latest offset with the
        base offset of the last record batch plus one. A fetch from that offset
        carries the true high watermark in its response, on every broker, so the
        high watermark is read from there.
        """
        topic = self.target.topic
        probe = Consumer(
            {
                **self.config,
                "group.id": f"{topic}.watermarks",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 10,
            }
        )
        try:
            with kafka_errors("watermark query"):
                listed = {
                    p: probe.get_watermark_offsets(TopicPartition(topic, p), timeout=self.timeout_s)
                    for p in self.partitions
                }
                probe.assign(
                    [TopicPartition(topic, p, max(lo, hi - 1)) for p, (lo, hi) in listed.items()]
                )
                return self._fetched_watermarks(probe, listed)
        finally:
            probe.close()

    def _fetched_watermarks(
        self, probe: Consumer, listed: dict[int, tuple[int, int]]
    ) -> dict[int, tuple[int, int]]:
        found: dict[int, tuple[int, int]] = {}
        deadline = time.monotonic() + self.timeout_s
        while len(found) < len(listed):
            if time.monotonic() > deadline:
                raise BackendUnavailable(f"Kafka did not report the end of {self.target.topic}")
            probe.consume(num_messages=1000, timeout=0.01)
            for p in set(listed) - set(found):
                tp = TopicPartition(self.target.topic, p)
                low, high = probe.get_watermark_offsets(tp, cached=True)
                if high >= 0:
                    found[p] = (low if low >= 0 else listed[p][0], high)
        return found

    def consumer_settings(self, group: str, session_timeout_ms: int) -> dict[str, Any]:
        """Settings of a group member that commits only explicitly."""
        return {
            **self.config,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": session_timeout_ms,
            "heartbeat.interval.ms": max(100, session_timeout_ms // 6),
        }
