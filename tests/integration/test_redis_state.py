"""The Redis state holds what the memory state holds, on one server and on a cluster.

Every test runs the same events through :class:`MemoryState` (the reference) and
:class:`RedisState` and compares what the recommender reads: profiles, item
statistics, neighbour lists and top items.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import uuid
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import redis

from streamrec.config import Settings
from streamrec.datasets.synthetic import SyntheticShop
from streamrec.errors import BackendUnavailable, ConfigError, CorruptData
from streamrec.events import EventBatch
from streamrec.processing.cooccurrence import BOUND_FACTOR
from streamrec.recommend.recommender import Recommender
from streamrec.recommend.shaping_settings import ShapingSettings
from streamrec.state.base import CatalogItem, Ranking, ScoredItems, UserProfile
from streamrec.state.memory import MemoryState
from streamrec.state.redis import RedisState
from streamrec.state.redis.apply import PlanWriter
from streamrec.state.redis.codec import Command
from streamrec.state.redis.fallback import FallbackState, degradation_watch
from streamrec.state.redis.keys import RedisTarget
from streamrec.state.redis.rebase import rebase
from tests.integration.helpers import sequence_batch
from tests.reference_recommender import ReferenceRecommender

pytestmark = pytest.mark.integration

PARTITIONS = 3
#: Neighbour rows are never pruned here: the Redis state writes each partition's
#: events of a batch apart, so it prunes a row at other points than the memory state
#: fed whole batches (``test_neighbor_rows_stay_bounded`` feeds both alike).
SETTINGS = Settings()


def shop() -> SyntheticShop:
    """A small shop with skewed popularity and funnel sessions."""
    return SyntheticShop(n_users=150, n_items=120, n_categories=5, seed=3)


def partitioned(batch: EventBatch, ends: dict[int, int]) -> EventBatch:
    """``batch`` with Kafka-like positions: partition by user, offsets per partition."""
    partition = np.array([zlib.crc32(u.encode()) % PARTITIONS for u in batch.user_id], np.int32)
    offset = np.empty(len(batch), np.int64)
    for p in range(PARTITIONS):
        rows = np.flatnonzero(partition == p)
        offset[rows] = ends.get(p, 0) + np.arange(len(rows))
        ends[p] = ends.get(p, 0) + len(rows)
    return batch.with_positions(offset, partition)


def event_stream(n_events: int = 6_000, batch_size: int = 500) -> list[EventBatch]:
    """Logged micro-batches: a synthetic shop plus every event type with values."""
    ends: dict[int, int] = {}
    batches = [partitioned(sequence_batch(300, users=9), ends)]
    for chunk in shop().events(n_events, chunk_size=batch_size):
        batches.append(partitioned(chunk, ends))
    return batches


def all_users(batches: list[EventBatch]) -> list[str]:
    return sorted({u for b in batches for u in b.user_id})


def all_items(batches: list[EventBatch]) -> list[str]:
    return sorted({i for b in batches for i in b.item_id})


def assert_same_ranking(found: ScoredItems, expected: ScoredItems) -> None:
    """The same items in the same order (ties are cut by item id in both states).

    Scores are compared relative to the best one: stored forward-decayed values
    scale with the decay landmark, which each state moves on its own schedule.
    """
    assert found.item_ids == expected.item_ids
    if not len(expected):
        return
    relative = expected.scores / expected.scores[0]
    np.testing.assert_allclose(found.scores / found.scores[0], relative, rtol=1e-9)


def assert_same_profile(found: UserProfile | None, expected: UserProfile | None) -> None:
    if expected is None:
        assert found is None
        return
    assert found is not None
    for name in ("recent", "seen", "negative", "cart", "wishlist", "session", "events", "last_ms"):
        assert getattr(found, name) == getattr(expected, name), name
    assert list(found.affinities) == list(expected.affinities)
    np.testing.assert_allclose(
        list(found.affinities.values()), list(expected.affinities.values()), rtol=1e-6
    )


def assert_same_stats(found: list[Any], expected: list[Any]) -> None:
    assert len(found) == len(expected)
    for a, b in zip(found, expected, strict=True):
        if b is None:
            assert a is None
            continue
        assert a is not None
        assert (a.item_id, a.counts, a.rating_count) == (b.item_id, b.counts, b.rating_count)
        assert (a.view_to_cart, a.cart_to_purchase) == (b.view_to_cart, b.cart_to_purchase)
        assert a.popularity == pytest.approx(b.popularity, rel=1e-9)
        assert a.trending == pytest.approx(b.trending, rel=1e-9, abs=1e-12)
        if b.rating_mean is None:
            assert a.rating_mean is None
        else:
            assert a.rating_mean == pytest.approx(b.rating_mean, rel=1e-12)


def assert_same_state(
    found: RedisState, expected: MemoryState, users: list[str], items: list[str]
) -> None:
    """Everything the recommender reads is equal."""
    assert found.positions() == expected.positions()
    for user in users:
        assert_same_profile(found.profile(user), expected.profile(user))
    assert_same_stats(found.item_stats(items), expected.item_stats(items))
    for got, want in zip(found.neighbors(items, 10), expected.neighbors(items, 10), strict=True):
        assert_same_ranking(got, want)
    categories = [None, *sorted({c for i in shop().catalog() for c in i.categories[:1]})]
    for ranking in Ranking:
        for category in categories:
            assert_same_ranking(
                found.top_items(ranking, 10, category), expected.top_items(ranking, 10, category)
            )


def new_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["server", "cluster"])
def state_url(request: pytest.FixtureRequest) -> str:
    """A fresh key space on a single Redis server, and on a 3-node Redis Cluster."""
    if request.param == "server":
        return f"{request.getfixturevalue('redis_url')}?prefix={new_prefix()}"
    return f"{request.getfixturevalue('redis_cluster_url')}?cluster=true&prefix={new_prefix()}"


@pytest.fixture
def state(state_url: str) -> Iterator[RedisState]:
    opened = RedisState.connect(SETTINGS, state_url)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def stream() -> list[EventBatch]:
    return event_stream()


def reference(batches: list[EventBatch], catalog: list[CatalogItem]) -> MemoryState:
    memory = MemoryState(SETTINGS)
    memory.upsert(catalog)
    for batch in batches:
        memory.apply(batch)
    return memory


def test_same_stream_gives_the_same_state(state: RedisState, stream: list[EventBatch]) -> None:
    catalog = shop().catalog()
    state.upsert(catalog)
    for batch in stream:
        state.apply(batch)
    assert_same_state(state, reference(stream, catalog), all_users(stream), all_items(stream))


def mixed_catalog() -> list[CatalogItem]:
    """The shop's catalog with second categories on some items and some unavailable."""
    items = shop().catalog()
    names = sorted({i.categories[0] for i in items})
    return [
        dataclasses.replace(
            item,
            categories=[*item.categories, names[n % len(names)]] if n % 3 == 0 else item.categories,
            available=n % 11 != 0,
        )
        for n, item in enumerate(items)
    ]


def test_recommendations_equal_the_reference_and_the_memory_state(
    state: RedisState, stream: list[EventBatch]
) -> None:
    """The compiled path over Redis's dense reads gives the lists, scores, reasons and
    breakdowns of the string-keyed reference on the same Redis state, and of the
    compiled path over the memory state."""
    catalog = mixed_catalog()
    state.upsert(catalog)
    for batch in stream:
        state.apply(batch)
    memory = reference(stream, catalog)
    compiled = Recommender(state, state, SETTINGS.recommend)
    answers = (
        ReferenceRecommender(state, state, SETTINGS.recommend),
        Recommender(memory, memory, SETTINGS.recommend),
    )
    items = all_items(stream)
    categories = sorted({c for i in catalog for c in i.categories})
    for n, user in enumerate(all_users(stream)):
        options: dict[str, Any] = [
            {},
            {"category": categories[n % len(categories)]},
            {"context_item": items[n % len(items)], "exclude": [items[(3 * n) % len(items)]]},
            {"exclude_seen": False},
        ][n % 4]
        found = compiled.recommend(user, 10, **options)
        for other in answers:
            expected = other.recommend(user, 10, **options)
            assert [(i.item_id, i.reasons) for i in found.items] == [
                (i.item_id, i.reasons) for i in expected.items
            ], (user, options)
            for got, want in zip(found.items, expected.items, strict=True):
                assert got.score == pytest.approx(want.score, abs=2e-6)
                assert got.sources == pytest.approx(want.sources, abs=2e-6)
    for item in items[:40]:
        found = compiled.similar(item, 10)
        for other in answers:
            assert [i.item_id for i in found.items] == [
                i.item_id for i in other.similar(item, 10).items
            ]


def by_partition(batch: EventBatch) -> list[EventBatch]:
    """The writes :meth:`RedisState.apply` makes of ``batch``: one per partition."""
    return [batch.take(np.flatnonzero(batch.partition == p)) for p in np.unique(batch.partition)]


def test_neighbor_rows_stay_bounded_and_prune_alike(
    state_url: str, stream: list[EventBatch]
) -> None:
    cap = 10
    settings = Settings(cooccurrence={"max_neighbors": cap})
    state = RedisState.connect(settings, state_url)
    memory = MemoryState(settings)
    unpruned = MemoryState(Settings(cooccurrence={"max_neighbors": 1000}))
    for batch in stream:
        state.apply(batch)
        unpruned.apply(batch)
        for write in by_partition(batch):
            memory.apply(write)
    items = all_items(stream)
    ids = state.ids.lookup(items).tolist()
    sizes = [state.client.zcard(state.keys.neighbors(i)) for i in ids]
    assert max(sizes) <= BOUND_FACTOR * cap
    full = [len(unpruned.cooccurrence.row(unpruned.items.get(i))[0]) for i in items]
    assert any(s < f for s, f in zip(sizes, full, strict=True))  # pruning ran
    assert sizes == [len(memory.cooccurrence.row(memory.items.get(i))[0]) for i in items]
    found, expected = state.neighbors(items, 2 * cap), memory.neighbors(items, 2 * cap)
    for got, want, item in zip(found, expected, items, strict=True):
        assert_same_ranking(got, want)
        # a read cuts the stored row to the cap, shorter only where entries tie with
        # the first one left out
        weights = np.sort(memory.cooccurrence.row(memory.items.get(item))[1])[::-1]
        assert len(got) <= cap
        if len(got) < min(cap, len(weights)):
            assert weights[len(got)] <= weights[cap] * (1 + 1e-9)
    state.close()


def test_redelivered_events_change_nothing(state: RedisState, stream: list[EventBatch]) -> None:
    for batch in stream:
        state.apply(batch)
    # a consumer that restarts from older offsets, with other batch boundaries
    state.apply(EventBatch.concat(stream[2:5]))
    state.apply(stream[-1].take(np.arange(len(stream[-1]) // 2)))
    assert_same_state(state, reference(stream, []), all_users(stream), all_items(stream))


def test_unlogged_events_are_applied(state: RedisState) -> None:
    batch = sequence_batch(40, users=3)
    state.apply(batch)
    memory = MemoryState(SETTINGS)
    memory.apply(batch)
    assert state.positions() == {}
    assert_same_state(state, memory, sorted(set(batch.user_id)), sorted(set(batch.item_id)))


class CrashAfter:
    """Issues plan commands until ``limit`` were sent, then fails like a dead server."""

    def __init__(self, state: RedisState, limit: int) -> None:
        self.state = state
        self.limit = limit

    def __call__(self, command: Command, target: Any) -> None:
        if self.limit == 0:
            raise redis.ConnectionError("connection lost")
        self.limit -= 1
        self.state._run(command, target)


class HalfWriter(PlanWriter):
    """Journals a plan, applies its first half, then fails like a dead process."""

    def _apply(self, plan: list[Command]) -> None:
        super()._apply(plan[: len(plan) // 2])
        raise redis.ConnectionError("connection lost")


def test_a_cluster_write_cut_short_is_finished_exactly_once(
    redis_cluster_url: str, stream: list[EventBatch]
) -> None:
    url = f"{redis_cluster_url}?cluster=true&prefix={new_prefix()}"
    state = RedisState.connect(SETTINGS, url)
    for batch in stream[:3]:
        state.apply(batch)
    healthy = state._writer
    state._writer = HalfWriter(state.client, state.keys, True, state._run)
    with pytest.raises(BackendUnavailable):
        state.apply(stream[3])
    state._writer = healthy
    # the group re-delivers from the committed offsets, with new batch boundaries
    state.apply(EventBatch.concat(stream[3:6]))
    for batch in stream[6:]:
        state.apply(batch)
    assert_same_state(state, reference(stream, []), all_users(stream), all_items(stream))
    state.close()


def test_a_server_write_cut_short_leaves_nothing(redis_url: str, stream: list[EventBatch]) -> None:
    state = RedisState.connect(SETTINGS, f"{redis_url}?prefix={new_prefix()}")
    for batch in stream[:3]:
        state.apply(batch)
    before = state.positions()
    healthy = state._writer
    state._writer = PlanWriter(state.client, state.keys, False, CrashAfter(state, 50))
    with pytest.raises(BackendUnavailable):
        state.apply(stream[3])
    assert state.positions() == before
    state._writer = healthy
    for batch in stream[3:]:
        state.apply(batch)
    assert_same_state(state, reference(stream, []), all_users(stream), all_items(stream))
    state.close()


def test_catalog_round_trip_and_availability(state: RedisState) -> None:
    items = [
        CatalogItem("a", title="A", categories=["books", "new"], price=3.5),
        CatalogItem("b", available=False, tags=["x"], properties={"k": [1, 2]}),
    ]
    state.upsert(items)
    assert state.get(["a", "b", "zzz"]) == [*items, None]
    assert state.available(["a", "b", "zzz"]).tolist() == [True, False, True]


def test_unavailable_items_are_never_ranked(state: RedisState, stream: list[EventBatch]) -> None:
    catalog = shop().catalog()
    state.upsert(catalog)
    for batch in stream:
        state.apply(batch)
    top = state.top_items(Ranking.POPULAR, 3).item_ids
    off = [CatalogItem(i, available=False) for i in top]
    state.upsert(off)
    memory = reference(stream, [*catalog, *off])
    assert not set(top) & set(state.top_items(Ranking.POPULAR, 10).item_ids)
    assert_same_state(state, memory, [], all_items(stream))


def test_a_category_change_moves_the_item_between_rankings(state: RedisState) -> None:
    books = [CatalogItem("i0", categories=["books"]), CatalogItem("i1", categories=["books"])]
    moved = [CatalogItem("i1", categories=["toys"])]
    batch = sequence_batch(20, users=2)  # i0 is viewed, i1 clicked
    memory = MemoryState(SETTINGS)
    for target in (state, memory):
        target.upsert(books)
        target.apply(batch)
        target.upsert(moved)
    assert state.top_items(Ranking.POPULAR, 5, "toys").item_ids == ["i1"]
    assert state.top_items(Ranking.POPULAR, 5, "books").item_ids == ["i0"]
    assert state.top_items(Ranking.POPULAR, 5, "unknown").item_ids == []
    for ranking in Ranking:
        for category in (None, "books", "toys"):
            assert_same_ranking(
                state.top_items(ranking, 5, category), memory.top_items(ranking, 5, category)
            )


def test_profiles_expire_after_the_ttl(state_url: str) -> None:
    settings = Settings(profile={"ttl_s": 100})
    state = RedisState.connect(settings, state_url)
    state.apply(sequence_batch(5, users=1))
    ttl = state.client.ttl(state.keys.profile("user-0"))
    assert 0 < ttl <= 100
    state.close()


def test_profiles_written_under_other_caps_are_reported(state_url: str) -> None:
    RedisState.connect(SETTINGS, state_url).apply(sequence_batch(5, users=1))
    other = RedisState.connect(Settings(profile={"recent_items": 7}), state_url)
    with pytest.raises(CorruptData, match="caps changed"):
        other.profile("user-0")


def test_urls() -> None:
    assert RedisTarget.parse("redis://h:1/2") == RedisTarget("redis://h:1/2", False, "sr")
    assert RedisTarget.parse("redis://h:1?cluster=true&prefix=x") == RedisTarget(
        "redis://h:1", True, "x"
    )
    for bad in (
        "memcached://h:1",
        "redis://h:1?cluster=maybe",
        "redis://h:1?prefix={x}",
        "redis://h:1/3?cluster=true",
        "redis://h:1?colour=red",
    ):
        with pytest.raises(ConfigError):
            RedisTarget.parse(bad)


def test_an_absent_server_is_unavailable() -> None:
    with pytest.raises(BackendUnavailable):
        RedisState.connect(SETTINGS, "redis://127.0.0.1:1/0", timeout_s=0.5)


def test_reads_fall_back_to_popular_items_while_redis_is_down(redis_url: str) -> None:
    state = RedisState.connect(SETTINGS, f"{redis_url}?prefix={new_prefix()}", timeout_s=0.3)
    batches = event_stream(2_000)
    for batch in batches:
        state.apply(batch)
    resilient = FallbackState(state, refresh_s=0.0, cooldown_s=0.2)
    recommender = Recommender(resilient, resilient, SETTINGS.recommend)
    user = all_users(batches)[0]
    with degradation_watch() as degraded:
        healthy = recommender.recommend(user, 10)
    assert not degraded() and len(healthy.items) == 10
    popular = state.top_items(Ranking.POPULAR, 10).item_ids
    server = int(state.client.info("server")["process_id"])
    os.kill(server, signal.SIGSTOP)
    try:
        with degradation_watch() as degraded:
            answer = recommender.recommend(user, 10)
        assert degraded()
        assert [i.item_id for i in answer.items] == popular
    finally:
        os.kill(server, signal.SIGCONT)
    resilient._down_until = 0.0  # skip the cool-down instead of sleeping through it
    with degradation_watch() as degraded:
        again = recommender.recommend(user, 10)
    assert not degraded()
    assert [i.item_id for i in again.items] == [i.item_id for i in healthy.items]
    state.close()


def test_moving_the_landmark_keeps_every_answer(
    state: RedisState, stream: list[EventBatch]
) -> None:
    catalog = shop().catalog()
    state.upsert(catalog)
    half = len(stream) // 2
    for batch in stream[:half]:
        state.apply(batch)
    landmark, clock = state.clock()
    (top,) = state.top_items(Ranking.POPULAR, 1).scores
    assert rebase(state, clock) > 0
    assert state.clock()[0] == clock != landmark
    (moved,) = state.top_items(Ranking.POPULAR, 1).scores
    assert moved == pytest.approx(top * state.decays.popularity.rebase_factor(landmark, clock))
    for batch in stream[half:]:
        state.apply(batch)
    assert_same_state(state, reference(stream, catalog), all_users(stream), all_items(stream))


def test_trending_walks_past_the_first_page_exactly(state: RedisState) -> None:
    """More active items than one trending page (1,000): the early stop stays exact."""
    wide = SyntheticShop(n_users=2_000, n_items=4_000, n_categories=4, seed=11, zipf=0.6)
    catalog = wide.catalog()
    memory = MemoryState(SETTINGS)
    for target in (state, memory):
        target.upsert(catalog)
    ends: dict[int, int] = {}
    for chunk in wide.events(30_000, chunk_size=10_000):
        batch = partitioned(chunk, ends)
        state.apply(batch)
        memory.apply(batch)
    assert state.client.zcard(state.keys.short) > 2_000
    for category in (None, catalog[0].categories[0]):
        for k in (1, 10, 300):
            assert_same_ranking(
                state.top_items(Ranking.TRENDING, k, category),
                memory.top_items(Ranking.TRENDING, k, category),
            )


def test_shaped_lists_equal_those_of_the_memory_state(
    state: RedisState, stream: list[EventBatch]
) -> None:
    """Rules, diversity and the reserved slots read the same catalog entries, newest
    items and statistics from Redis as from the memory state."""
    catalog = [
        dataclasses.replace(
            item,
            price=float(n % 97),
            created_at=None if n % 4 else 1_000 * n,
            properties={"sponsored": n % 13 == 0},
        )
        for n, item in enumerate(mixed_catalog())
    ]
    state.upsert(catalog)
    for batch in stream:
        state.apply(batch)
    memory = reference(stream, catalog)
    slots = {"new_arrivals": 1, "promoted_share": 0.2, "promoted_when": "properties.sponsored"}
    shaping = {
        "rules": ["filter: price < 80", "bury(0.5): popularity < 1"],
        "diversity": {"category_cap": 3, "mmr_lambda": 0.7},
        "slots": slots,
    }
    settings = SETTINGS.recommend.model_copy(
        update={"shaping": ShapingSettings.model_validate(shaping)}
    )
    assert (
        state.newest_rows(0, 50).tolist()
        == state.item_ids(memory.item_names(memory.newest_rows(0, 50))).tolist()
    )
    compiled, local = Recommender(state, state, settings), Recommender(memory, memory, settings)
    for user in all_users(stream)[:60]:
        found = compiled.recommend(user, 10, now_ms=10_000_000)
        expected = local.recommend(user, 10, now_ms=10_000_000)
        assert found.items
        assert [(i.item_id, i.reasons) for i in found.items] == [
            (i.item_id, i.reasons) for i in expected.items
        ], user
