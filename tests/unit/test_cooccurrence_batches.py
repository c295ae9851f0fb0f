"""Co-occurrence reads do not depend on how the events were cut into batches.

The scale-out processors write each partition's micro-batches apart, interleaved as
they come; the embedded engine folds the log's batches in order. Here one memory
state folds MovieLens 100K in 10,000-event chunks, another in per-partition
micro-batches of random sizes interleaved at random (each partition's order kept),
as the processors would.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest

from streamrec.config import Settings
from streamrec.datasets.base import Dataset
from streamrec.datasets.movielens import load_movielens
from streamrec.events import EventBatch
from streamrec.recommend.recommender import Recommender
from streamrec.state.memory import MemoryState

pytestmark = pytest.mark.slow

SETTINGS = Settings()
PARTITIONS = 4


def interleaved(batch: EventBatch, seed: int) -> list[EventBatch]:
    """``batch`` split by user into partitions, each cut into micro-batches of 200 to
    2,000 events, the partitions' micro-batches interleaved at random."""
    rng = np.random.default_rng(seed)
    partition = np.array([zlib.crc32(u.encode()) % PARTITIONS for u in batch.user_id])
    queues: list[list[np.ndarray]] = []
    for p in range(PARTITIONS):
        rows = np.flatnonzero(partition == p)
        cuts = np.cumsum(rng.integers(200, 2_000, size=len(rows) // 200 + 1))
        queues.append([part for part in np.split(rows, cuts[cuts < len(rows)]) if len(part)])
    out = []
    while any(queues):
        p = int(rng.choice([p for p, queue in enumerate(queues) if queue]))
        out.append(batch.take(queues[p].pop(0)))
    return out


def folded(dataset: Dataset, batches: Iterable[EventBatch]) -> MemoryState:
    state = MemoryState(SETTINGS)
    state.upsert(dataset.catalog)
    for batch in batches:
        state.apply(batch)
    return state


def stored_rows(state: MemoryState) -> list[set[int]]:
    dense = state.items.lookup_many(state.items.to_list())
    return [set(state.cooccurrence.row(item)[0].tolist()) for item in dense.tolist()]


def test_movielens_lists_do_not_depend_on_batches(shared_data: Path) -> None:
    dataset = load_movielens(shared_data / "ml-100k")
    whole = folded(dataset, dataset.stream(10_000))
    parts = folded(dataset, interleaved(dataset.events, seed=1))
    assert max(len(row) for row in stored_rows(whole)) <= whole.cooccurrence.bound
    # pruning ran, and what it kept depended on the batches (sums alone would not)
    assert stored_rows(whole) != stored_rows(parts)
    items = whole.items.to_list()
    rows = zip(whole.neighbors(items, 10), parts.neighbors(items, 10), strict=True)
    same_rows = sum(a.item_ids == b.item_ids for a, b in rows)
    assert same_rows >= 0.99 * len(items)
    users = sorted(set(dataset.events.user_id))
    lists = [Recommender(s, s, SETTINGS.recommend) for s in (whole, parts)]
    same = sum(
        [i.item_id for i in lists[0].recommend(user, 10).items]
        == [i.item_id for i in lists[1].recommend(user, 10).items]
        for user in users
    )
    assert same >= 0.99 * len(users), f"{same}/{len(users)}"
