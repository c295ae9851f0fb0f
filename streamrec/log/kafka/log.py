"""The producing side: :class:`KafkaEventLog`."""

from __future__ import annotations

import threading

import orjson

from streamrec.erasures import broadcast
from streamrec.events import EventBatch
from streamrec.log.base import Positions
from streamrec.log.kafka.common import (
    Deliveries,
    KafkaConnection,
    KafkaTarget,
    flush,
    produce,
)
from streamrec.log.kafka.consumer import KafkaLogConsumer, PartitionsHook


class KafkaEventLog:
    """An :class:`~streamrec.log.base.EventLog` on a Kafka topic.

    Use :meth:`connect`. ``append`` may be called from several threads; calls are
    serialized so that each one waits for exactly its own delivery reports.
    """

    def __init__(self, connection: KafkaConnection, session_timeout_ms: int) -> None:
        self.connection = connection
        self._session_timeout_ms = session_timeout_ms
        self._producer = connection.producer()
        self._lock = threading.Lock()

    @classmethod
    def connect(
        cls, url: str, *, delivery_timeout_s: float = 30.0, session_timeout_ms: int = 6000
    ) -> KafkaEventLog:
        """Connect to the topic in ``url``, creating it and its DLQ when missing.

        Parameters
        ----------
        url
            ``kafka://host:port/topic[?partitions=N]``; ``N`` applies only when the
            topic is created.
        delivery_timeout_s
            How long an append (or a dead letter) may take before it fails; also
            the timeout of metadata and offset queries.
        session_timeout_ms
            Consumer group session timeout; short values let groups re-form fast.

        Raises
        ------
        ConfigError
            If the URL is malformed.
        BackendUnavailable
            If the brokers do not answer.
        """
        connection = KafkaConnection.open(KafkaTarget.parse(url), delivery_timeout_s)
        return cls(connection, session_timeout_ms)

    @property
    def partitions(self) -> list[int]:
        """The topic's partition numbers."""
        return self.connection.partitions

    def append(self, batch: EventBatch) -> EventBatch:
        """Produce one message per event (keyed by user) and wait for every report.

        An item's erasure record goes to every partition (see
        :mod:`streamrec.erasures`); the returned batch holds one row per message.

        Raises
        ------
        BackendUnavailable
            If any message was not delivered (some others may have been).
        """
        if not len(batch):
            return batch
        batch, targets = broadcast(batch, self.partitions)
        deliveries = Deliveries(len(batch))
        topic = self.connection.target.topic
        with self._lock:
            for i, (user, record, target) in enumerate(
                zip(batch.user_id, batch.records(), targets.tolist(), strict=True)
            ):
                produce(
                    self._producer,
                    topic,
                    user.encode(),
                    orjson.dumps(record),
                    deliveries.report(i),
                    partition=target,
                )
            flush(self._producer, deliveries, self.connection.timeout_s + 5, "append")
        return batch.with_positions(deliveries.offset, deliveries.partition)

    def consumer(
        self,
        group: str,
        *,
        on_assign: PartitionsHook | None = None,
        on_revoke: PartitionsHook | None = None,
    ) -> KafkaLogConsumer:
        """A member of consumer group ``group``, reading from its committed positions.

        ``on_assign`` and ``on_revoke`` receive partition numbers from inside
        :meth:`KafkaLogConsumer.poll` when the group rebalances; ``on_revoke`` runs
        before the partitions move, so a processor can flush its state and commit
        there. Partitions lost without a clean revoke (session timeout) reach
        ``on_revoke`` too; a commit made then fails.
        """
        settings = self.connection.consumer_settings(group, self._session_timeout_ms)
        return KafkaLogConsumer(self.connection, settings, on_assign, on_revoke)

    def end_positions(self) -> Positions:
        """The next offset to be written, per partition (the high watermarks)."""
        return {p: high for p, (_, high) in self.connection.watermarks().items()}

    def close(self) -> None:
        """Wait for queued messages (up to the delivery timeout)."""
        with self._lock:
            self._producer.flush(self.connection.timeout_s)
