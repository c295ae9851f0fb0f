"""MovieLens 100K through the scale-out topology gives the embedded engine's lists.

The ratings go through a 4-partition Kafka topic to two processor processes writing
one Redis state; the reference is the memory state fed the same events in one
process. Two workers write their partitions' micro-batches interleaved as they
come, so every co-occurrence row sees its increments in another order and other
groupings than the memory state does: the lists agree only if pruning does not
depend on batch boundaries or interleaving.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from streamrec.config import Settings
from streamrec.datasets.base import Dataset
from streamrec.datasets.movielens import load_movielens
from streamrec.events import EventBatch
from streamrec.log.kafka import KafkaEventLog
from streamrec.recommend.recommender import Recommender
from streamrec.scaleout.cluster import start_worker
from streamrec.state.memory import MemoryState
from streamrec.state.redis import RedisState
from tests.integration.test_redis_state import all_users, new_prefix
from tests.integration.test_scaleout import state_url, stop, wait_applied

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PARTITIONS = 4
WORKERS = 2
#: The share of users whose top-10 list must be the embedded one, item for item.
REQUIRED = 0.99
#: The processors' settings (the defaults).
SETTINGS = Settings()
#: The test's own reads wait out a worker's write transaction on a loaded machine.
TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def movielens(shared_data: Path) -> Dataset:
    return load_movielens(shared_data / "ml-100k")


@pytest.fixture
def state(redis_url: str) -> Iterator[RedisState]:
    opened = RedisState.connect(SETTINGS, f"{redis_url}?prefix={new_prefix()}", TIMEOUT_S)
    yield opened
    opened.close()


def top10(recommender: Recommender, user: str) -> list[str]:
    return [item.item_id for item in recommender.recommend(user, 10).items]


@pytest.mark.timeout(600)
def test_movielens_lists_equal_the_embedded_lists(
    kafka_url: str, topic: str, state: RedisState, movielens: Dataset, tmp_path: Path
) -> None:
    log_url = f"{kafka_url}/{topic}?partitions={PARTITIONS}"
    log = KafkaEventLog.connect(log_url)
    sent: list[EventBatch] = []
    for chunk in movielens.stream(10_000):
        log.append(chunk)
        sent.append(chunk)
    log.close()
    state.upsert(movielens.catalog)
    url = state_url(state)
    group = f"group-{topic}"
    workers = [start_worker(log_url, url, tmp_path / f"w{i}.log", group) for i in range(WORKERS)]
    try:
        wait_applied(state, len(movielens), timeout_s=400)
    finally:
        stop(workers)
    memory = MemoryState(SETTINGS)
    memory.upsert(movielens.catalog)
    for batch in sent:
        memory.apply(batch)
    scaled, embedded = (Recommender(s, s, SETTINGS.recommend) for s in (state, memory))
    users = all_users(sent)
    differing = [user for user in users if top10(scaled, user) != top10(embedded, user)]
    same = len(users) - len(differing)
    print(f"identical top-10 lists: {same}/{len(users)}")
    assert same >= REQUIRED * len(users), f"{same}/{len(users)} identical; differ: {differing[:20]}"
