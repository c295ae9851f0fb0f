"""The consuming side: :class:`KafkaLogConsumer`, with a dead-letter topic."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import orjson
from confluent_kafka import (
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from streamrec.erasures import erasure_batch, parse_erasure
from streamrec.errors import BackendUnavailable, InvalidInput
from streamrec.events import (
    EMPTY_BATCH,
    ERASE_ITEM,
    ERASE_USER,
    Event,
    EventBatch,
    validate_events,
)
from streamrec.log.base import Positions
from streamrec.log.kafka.common import (
    Deliveries,
    KafkaConnection,
    flush,
    kafka_errors,
    position,
    produce,
    translate,
)

PartitionsHook = Callable[[list[int]], None]


def decode(message: Message) -> dict[str, Any] | str:
    """The message's JSON object, or why it is not one.

    A record without a ``timestamp`` gets the message's timestamp, so every replay
    of the log sees the same event times.
    """
    raw = message.value()
    if not raw:
        return "empty message"
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return f"invalid JSON: {exc}"
    if not isinstance(record, dict):
        return f"not a JSON object but {type(record).__name__}"
    kind, stamp = message.timestamp()
    if "timestamp" not in record and kind != TIMESTAMP_NOT_AVAILABLE:
        record["timestamp"] = stamp
    return record


def validate_records(records: list[dict[str, Any]]) -> tuple[list[Event], dict[int, str]]:
    """The valid records as events, and ``{index: reason}`` for the others."""
    try:
        return validate_events({"events": records}, max_batch=len(records)), {}
    except InvalidInput as exc:
        reasons: dict[int, list[str]] = {}
        for problem in exc.problems:
            where = problem.field or "event"
            reasons.setdefault(problem.index or 0, []).append(f"{where}: {problem.message}")
    good = [record for i, record in enumerate(records) if i not in reasons]
    events = validate_events({"events": good}, max_batch=len(good)) if good else []
    return events, {i: "invalid event: " + "; ".join(found) for i, found in reasons.items()}


def _in_log_order(
    events: EventBatch,
    messages: list[Message],
    erasures: list[tuple[Message, tuple[int, str, int]]],
) -> EventBatch:
    """``events`` (read from ``messages``) and the erasure records, positioned and in
    the order of their messages."""
    users = [subject for _, (code, subject, _) in erasures if code == ERASE_USER]
    items = [subject for _, (code, subject, _) in erasures if code == ERASE_ITEM]
    ordered = [m for m, (code, _, _) in erasures if code == ERASE_USER]
    ordered += [m for m, (code, _, _) in erasures if code == ERASE_ITEM]
    stamps = [stamp for _, (code, _, stamp) in erasures if code == ERASE_USER]
    stamps += [stamp for _, (code, _, stamp) in erasures if code == ERASE_ITEM]
    tombstones = erasure_batch(users, items)
    tombstones = dataclasses.replace(tombstones, timestamp=np.asarray(stamps, dtype=np.int64))
    both = EventBatch.concat([events, tombstones]) if erasures else events
    places = np.array([position(m) for m in [*messages, *ordered]], dtype=np.int64)
    positioned = both.with_positions(places[:, 1], places[:, 0])
    if not erasures:
        return positioned
    return positioned.take(np.lexsort((positioned.offset, positioned.partition)))


class KafkaLogConsumer:
    """A :class:`~streamrec.log.base.LogConsumer` in a Kafka consumer group.

    Create it with :meth:`KafkaEventLog.consumer`. Offsets are committed only by
    :meth:`commit`. :meth:`positions` counts dead-lettered messages as read, so
    committing it after processing a batch also moves past skipped messages.
    :meth:`pause` stops fetching while the consumer keeps polling (so it stays in
    its group); partitions assigned while paused start paused.
    """

    def __init__(
        self,
        connection: KafkaConnection,
        settings: dict[str, Any],
        on_assign: PartitionsHook | None,
        on_revoke: PartitionsHook | None,
    ) -> None:
        self._connection = connection
        self._topic = connection.target.topic
        self._on_assign = on_assign
        self._on_revoke = on_revoke
        self._next: Positions = {}
        self._pending_seeks: Positions = {}
        self._dead_letters: Producer | None = None
        self._paused = False
        self._closed = False
        self._consumer = Consumer(settings)
        with kafka_errors("subscribe"):
            self._consumer.subscribe(
                [self._topic],
                on_assign=self._assigned,
                on_revoke=self._revoked,
                on_lost=self._revoked,
            )

    def _assigned(self, consumer: Consumer, assigned: list[TopicPartition]) -> None:
        for tp in assigned:
            if tp.partition in self._pending_seeks:
                tp.offset = self._pending_seeks.pop(tp.partition)
        consumer.assign(assigned)
        if self._paused:
            consumer.pause(assigned)
        if self._on_assign is not None:
            self._on_assign(sorted(tp.partition for tp in assigned))

    def _revoked(self, consumer: Consumer, revoked: list[TopicPartition]) -> None:
        partitions = sorted(tp.partition for tp in revoked)
        if self._on_revoke is not None:
            self._on_revoke(partitions)
        for p in partitions:
            self._next.pop(p, None)

    def poll(self, max_events: int, timeout_s: float) -> EventBatch:
        """Up to ``max_events`` valid events, waiting up to ``timeout_s`` for the first.

        Messages that are not valid events are delivered to the dead-letter topic
        before this returns, and skipped.

        Raises
        ------
        BackendUnavailable
            If the brokers fail, or a dead letter cannot be delivered; the consumer
            is then rewound so that the next poll reads this poll's messages again.
        """
        with kafka_errors("poll"):
            messages = self._consumer.consume(num_messages=max_events, timeout=timeout_s)
        records: list[dict[str, Any]] = []
        kept: list[Message] = []
        dead: list[tuple[Message, str]] = []
        errors = [m.error() for m in messages if m.error() is not None]
        messages = [m for m in messages if m.error() is None]
        if errors:
            self._rewind(messages)
            raise translate(KafkaException(errors[0]), "poll")
        erasures: list[tuple[Message, tuple[int, str, int]]] = []
        for message in messages:
            decoded = decode(message)
            if isinstance(decoded, str):
                dead.append((message, decoded))
            elif "erase" in decoded:
                parsed = parse_erasure(decoded)
                if isinstance(parsed, str):
                    dead.append((message, f"invalid erasure: {parsed}"))
                else:
                    erasures.append((message, parsed))
            else:
                records.append(decoded)
                kept.append(message)
        events, invalid = validate_records(records) if records else ([], {})
        dead += [(kept[i], reason) for i, reason in invalid.items()]
        if dead:
            dead.sort(key=lambda letter: position(letter[0]))
            self._send_dead_letters(dead, messages)
        for message in messages:
            partition, offset = position(message)
            self._next[partition] = offset + 1
        if not events and not erasures:
            return EMPTY_BATCH
        valid = [m for i, m in enumerate(kept) if i not in invalid]
        return _in_log_order(EventBatch.from_events(events), valid, erasures)

    def _send_dead_letters(self, dead: list[tuple[Message, str]], polled: list[Message]) -> None:
        letters = []
        for message, reason in dead:
            partition, offset = position(message)
            raw = message.value()
            payload = None if raw is None else raw.decode("utf-8", errors="replace")
            letters.append((message.key(), self._letter(reason, partition, offset, payload)))
        try:
            self._deliver(letters)
        except BackendUnavailable:
            self._rewind(polled)
            raise

    def dead_letter(self, batch: EventBatch, reason: str) -> None:
        """Send events that a store downstream refused to the dead-letter topic.

        Each letter carries the event's wire record as its ``payload``.

        Raises
        ------
        BackendUnavailable
            If a letter cannot be delivered.
        """
        self._deliver(
            [
                (user.encode(), self._letter(reason, int(p), int(o), orjson.dumps(record).decode()))
                for user, p, o, record in zip(
                    batch.user_id, batch.partition, batch.offset, batch.records(), strict=True
                )
            ]
        )

    def _letter(self, reason: str, partition: int, offset: int, payload: str | None) -> bytes:
        return orjson.dumps(
            {
                "reason": reason,
                "source_topic": self._topic,
                "partition": partition,
                "offset": offset,
                "payload": payload,
            }
        )

    def _deliver(self, letters: list[tuple[bytes | None, bytes]]) -> None:
        if self._dead_letters is None:
            self._dead_letters = self._connection.producer()
        deliveries = Deliveries(len(letters))
        topic = self._connection.target.dead_letter_topic
        for i, (key, letter) in enumerate(letters):
            produce(self._dead_letters, topic, key, letter, deliveries.report(i))
        flush(self._dead_letters, deliveries, self._connection.timeout_s + 5, "dead letter")

    def _rewind(self, polled: list[Message]) -> None:
        """Read ``polled`` again on the next poll (they were not handed out)."""
        first: Positions = {}
        for message in polled:
            partition, offset = position(message)
            first.setdefault(partition, offset)
        self.seek(first)

    def seek(self, positions: Mapping[int, int]) -> None:
        """Read each listed partition from the given offset next.

        Partitions not assigned yet are positioned when the group assigns them.
        """
        assigned = {tp.partition for tp in self._consumer.assignment()}
        with kafka_errors("seek"):
            for partition, offset in positions.items():
                if partition in assigned:
                    self._consumer.seek(TopicPartition(self._topic, partition, offset))
                else:
                    self._pending_seeks[partition] = offset
                self._next[partition] = offset

    def commit(self, positions: Mapping[int, int]) -> None:
        """Synchronously commit ``{partition: next offset to read}`` for the group."""
        if not positions:
            return
        offsets = [TopicPartition(self._topic, p, o) for p, o in positions.items()]
        with kafka_errors("commit"):
            results = self._consumer.commit(offsets=offsets, asynchronous=False) or []
        for tp in results:
            if tp.error is not None:
                raise translate(KafkaException(tp.error), "commit")

    def committed(self) -> Positions:
        """The group's committed positions (partitions without a commit are absent)."""
        asked = [TopicPartition(self._topic, p) for p in self._connection.partitions]
        with kafka_errors("committed offsets query"):
            found = self._consumer.committed(asked, timeout=self._connection.timeout_s)
        return {tp.partition: tp.offset for tp in found if tp.offset >= 0}

    def positions(self) -> Positions:
        """The next offset this consumer reads, per partition it has read or sought."""
        return dict(self._next)

    def pause(self) -> None:
        """Stop fetching: polls return nothing (but keep the group membership) until
        :meth:`resume`; messages fetched ahead are dropped and read again after it."""
        self._paused = True
        with kafka_errors("pause"):
            self._consumer.pause(self._consumer.assignment())

    def resume(self) -> None:
        """Fetch again from the positions reached before :meth:`pause`."""
        self._paused = False
        with kafka_errors("resume"):
            self._consumer.resume(self._consumer.assignment())

    @property
    def paused(self) -> bool:
        """Whether :meth:`pause` is in force."""
        return self._paused

    def assignment(self) -> list[int]:
        """The partitions this consumer owns right now."""
        return sorted(tp.partition for tp in self._consumer.assignment())

    def lag(self) -> dict[int, int]:
        """Events not yet read, per partition of the topic.

        Counted from this consumer's position where it has one, else from the
        group's committed position, else from the first retained offset.
        """
        committed = self.committed()
        return {
            p: max(0, high - self._next.get(p, committed.get(p, low)))
            for p, (low, high) in self._connection.watermarks().items()
        }

    def fetched_lag(self) -> dict[int, int]:
        """Events not yet read, per assigned partition, as of the last fetch.

        Read from the high watermarks the consumer's own fetches brought back, so it
        asks the broker nothing (cheap enough for every metrics scrape); partitions
        not fetched yet are absent.
        """
        found: dict[int, int] = {}
        with kafka_errors("fetched lag"):
            for tp in self._consumer.assignment():
                _, high = self._consumer.get_watermark_offsets(tp, cached=True)
                if high < 0:
                    continue
                read = self._next.get(tp.partition)
                if read is None:
                    (at,) = self._consumer.position([tp])
                    read = at.offset
                if read >= 0:
                    found[tp.partition] = max(0, high - read)
        return found

    def close(self) -> None:
        """Leave the group (revoking partitions) and flush pending dead letters.

        Closing again does nothing.
        """
        if self._closed:
            return
        self._closed = True
        with kafka_errors("close"):
            self._consumer.close()
        if self._dead_letters is not None:
            self._dead_letters.flush(self._connection.timeout_s)
