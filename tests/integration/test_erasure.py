"""Erasure records in the scale-out stores: Redis erases as the memory state does, and
the PostgreSQL history deletes what came before the record."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import numpy as np
import pytest

from streamrec.erasures import broadcast, erasure_batch
from streamrec.events import ERASE_ITEM, ERASE_USER, TYPE_CODE, EventBatch, EventType
from streamrec.history.postgres import PostgresHistory
from streamrec.log.kafka import KafkaEventLog
from streamrec.state.memory import MemoryState
from streamrec.state.redis import RedisState
from tests.integration.helpers import drain, sequence_batch
from tests.integration.test_redis_state import (
    PARTITIONS,
    SETTINGS,
    all_items,
    all_users,
    assert_same_state,
    by_partition,
    partitioned,
    shop,
    state_url,  # noqa: F401  (the parametrized fixture)
)

pytestmark = pytest.mark.integration

IMPRESSION = TYPE_CODE[EventType.IMPRESSION]


def erasures(users: list[str], items: list[str], ends: dict[int, int]) -> EventBatch:
    """Erasure records placed as a Kafka log places them: a user's in its partition,
    an item's in every partition."""
    batch, targets = broadcast(erasure_batch(users, items, 1), list(range(PARTITIONS)))
    partition = np.array(
        [
            zlib.crc32(u.encode()) % PARTITIONS if t < 0 else t
            for u, t in zip(batch.user_id, targets.tolist(), strict=True)
        ],
        np.int32,
    )
    offset = np.empty(len(batch), np.int64)
    for row, p in enumerate(partition.tolist()):
        offset[row] = ends.get(p, 0)
        ends[p] = offset[row] + 1
    return batch.with_positions(offset, partition)


@pytest.fixture
def state(state_url: str) -> Iterator[RedisState]:  # noqa: F811
    opened = RedisState.connect(SETTINGS, state_url)
    yield opened
    opened.close()


def test_redis_erases_users_and_items_as_the_memory_state_does(state: RedisState) -> None:
    ends: dict[int, int] = {}
    raw = list(shop().events(4_000, chunk_size=500))
    chunks = [partitioned(c, ends) for c in raw[:4]]
    users, items = all_users(chunks)[:5], all_items(chunks)[:6]
    chunks.append(erasures(users, items[:3], ends))
    chunks.append(erasures([], items[3:], ends))
    for chunk in raw[4:]:  # the first three erased items never come back
        fresh = ~np.isin(np.array(chunk.item_id), items[:3])
        chunks.append(partitioned(chunk.take(np.flatnonzero(fresh)), ends))
    stream = [*chunks[:5], EventBatch.concat(chunks[5:7]), *chunks[7:]]  # events after, in one
    chunks = [*chunks[:4], *chunks[6:]]
    catalog = shop().catalog()
    memory = MemoryState(SETTINGS)
    for target in (state, memory):
        target.upsert(catalog)
    for batch in stream:
        state.apply(batch)
        for write in by_partition(batch):
            memory.apply(write)
    state.remove(items)
    memory.remove(items)
    everyone, every_item = all_users(stream), all_items(stream)
    assert_same_state(state, memory, everyone, every_item)

    for user in users:  # a profile holds only what came after the erasure
        later = sum(
            int(((c.type != IMPRESSION) & (np.array(c.user_id) == user)).sum()) for c in chunks[4:]
        )
        profile = state.profile(user)
        assert (0 if profile is None else profile.events) == later
    returned = {i for c in chunks[4:] for i in c.item_id}
    ids = state.ids.lookup(every_item).tolist()
    for item in items:
        if item in returned:
            continue
        assert state.item_stats([item]) == [None]
        gid = str(int(state.ids.lookup([item])[0]))
        assert all(state.client.zscore(state.keys.neighbors(i), gid) is None for i in ids)
        assert state.client.zscore(state.keys.popular, gid) is None
    assert returned.isdisjoint(items[:3]) and set(items[3:]) <= returned


def test_postgres_history_deletes_what_precedes_the_erasure(postgres_database: str) -> None:
    history = PostgresHistory.connect(postgres_database)
    try:
        history.migrate()
        events = sequence_batch(60, users=3)
        before = events.with_positions(np.arange(60), np.zeros(60, np.int32))
        erase = erasure_batch(["user-1"], ["i2"], 1).with_positions(np.array([60, 61]))
        after = sequence_batch(30, users=3, start=60).with_positions(np.arange(62, 92))
        history.write(EventBatch.concat([before.take(slice(0, 40)), erase]))
        history.write(before.take(slice(40, 60)))  # a late write of earlier offsets
        history.write(EventBatch.concat([erase, after]))  # a redelivery, then new events
        kept = EventBatch.concat(list(history.scan()))
        user = kept.offset[np.array(kept.user_id) == "user-1"]
        assert sorted(user.tolist()) == [k + 2 for k in range(60, 90) if k % 3 == 1]
        assert "i2" not in kept.item_id
        assert history.count() == len(kept) == 60 - 20 - 1 + 30
    finally:
        history.close()


def test_kafka_carries_erasures_in_order_and_an_item_erasure_to_every_partition(
    kafka_url: str, topic: str
) -> None:
    log = KafkaEventLog.connect(f"{kafka_url}/{topic}?partitions=3")
    consumer = log.consumer("erasures")
    try:
        first = log.append(sequence_batch(30, users=4))
        tombstones = log.append(erasure_batch(["user-1"], ["i7"], 1))
        log.append(sequence_batch(30, users=4, start=30))
        assert len(tombstones) == 1 + 3
        assert sorted(tombstones.partition[1:].tolist()) == [0, 1, 2]
        user_partition = first.partition[first.user_id.index("user-1")]
        assert tombstones.partition[0] == user_partition
        read = drain(consumer, 64)
    finally:
        consumer.close()
        log.close()
    erased = read.take(np.flatnonzero(read.type < 0))
    assert sorted(zip(erased.type.tolist(), erased.user_id, erased.item_id, strict=True)) == [
        (ERASE_ITEM, "", "i7"),
        (ERASE_ITEM, "", "i7"),
        (ERASE_ITEM, "", "i7"),
        (ERASE_USER, "user-1", ""),
    ]
    for row in np.flatnonzero(read.type < 0).tolist():  # behind its partition's first batch
        p, o = read.partition[row], read.offset[row]
        earlier = read.offset[(read.partition == p) & (read.type >= 0)]
        assert (earlier < o).sum() == (first.partition == p).sum()
