"""The synthetic shop: reproducible, skewed, funnel-shaped, in time order, chunk-free."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from streamrec.datasets import ShopBehaviour, SyntheticShop
from streamrec.datasets.synthetic import DEFAULT_START_MS, category_names
from streamrec.events import TYPE_CODE, EventBatch

N_EVENTS = 120_000


def make_shop(seed: int = 11) -> SyntheticShop:
    return SyntheticShop(n_users=3_000, n_items=2_000, n_categories=15, seed=seed)


@pytest.fixture(scope="module")
def shop() -> SyntheticShop:
    return make_shop()


@pytest.fixture(scope="module")
def events(shop: SyntheticShop) -> EventBatch:
    return EventBatch.concat(list(shop.events(N_EVENTS, chunk_size=50_000)))


def assert_same(a: EventBatch, b: EventBatch) -> None:
    assert (a.user_id, a.item_id, a.session_id) == (b.user_id, b.item_id, b.session_id)
    assert np.array_equal(a.type, b.type) and np.array_equal(a.timestamp, b.timestamp)
    assert np.array_equal(a.value, b.value, equal_nan=True)


def counts(events: EventBatch) -> Counter[str]:
    names = {code: name for name, code in TYPE_CODE.items()}
    return Counter(names[c] for c in events.type.tolist())


def test_same_seed_same_shop_and_stream(shop: SyntheticShop, events: EventBatch) -> None:
    again = make_shop()
    assert again.catalog() == shop.catalog()
    replay = EventBatch.concat(list(again.events(N_EVENTS, chunk_size=50_000)))
    assert_same(replay, events)
    other = EventBatch.concat(list(make_shop(seed=12).events(1_000)))
    assert other.item_id != events.item_id[:1_000]


@pytest.mark.parametrize("chunk_size", [1, 997, 64_000])
def test_chunking_does_not_change_the_stream(shop: SyntheticShop, chunk_size: int) -> None:
    n = 3_000 if chunk_size == 1 else 70_000
    one_shot = next(shop.events(n, chunk_size=n))
    chunks = list(shop.events(n, chunk_size=chunk_size))
    assert all(len(c) == chunk_size for c in chunks[:-1])
    chunked = EventBatch.concat(chunks)
    assert_same(chunked, one_shot)


def test_shorter_stream_is_a_prefix(shop: SyntheticShop, events: EventBatch) -> None:
    head = next(shop.events(5_000, chunk_size=10_000))
    assert len(head) == 5_000
    assert_same(head, events.take(slice(0, 5_000)))


def test_global_time_order(events: EventBatch) -> None:
    assert len(events) == N_EVENTS
    assert np.all(np.diff(events.timestamp) >= 0)
    assert events.timestamp[0] >= DEFAULT_START_MS
    assert all(s is not None and s.startswith("s") for s in events.session_id[:100])


def test_popularity_is_zipf_like(shop: SyntheticShop, events: EventBatch) -> None:
    views = np.asarray(events.type) == TYPE_CODE["view"]
    per_item = Counter(i for i, v in zip(events.item_id, views.tolist(), strict=True) if v)
    ranked = sorted(per_item.values(), reverse=True)
    top = ranked[: shop.n_items // 100]
    assert sum(top) / sum(ranked) > 0.3  # top 1% of items draw a large share of views
    assert len(per_item) > 0.8 * shop.n_items  # yet the long tail is visited
    per_user = sorted(Counter(events.user_id).values(), reverse=True)
    assert sum(per_user[: len(per_user) // 10]) / len(events) > 0.3  # heavy-tailed users


def test_every_category_exists_and_is_shopped(shop: SyntheticShop, events: EventBatch) -> None:
    catalog = shop.catalog()
    assert len(catalog) == shop.n_items
    category = {item.item_id: item.categories[0] for item in catalog}
    sizes = Counter(category.values())
    assert set(sizes) == set(category_names(shop.n_categories))
    assert max(sizes.values()) > 3 * min(sizes.values())  # skewed category sizes
    assert {category[i] for i in events.item_id} == set(sizes)
    for item in catalog[:50]:
        assert item.price is not None and item.price > 0
        assert item.created_at is not None and item.created_at < DEFAULT_START_MS
        assert len(set(item.tags)) == 2


def test_sessions_stay_mostly_in_one_category(shop: SyntheticShop, events: EventBatch) -> None:
    category = {item.item_id: item.categories[0] for item in shop.catalog()}
    by_session: dict[str | None, Counter[str]] = {}
    for session, item, kind in zip(
        events.session_id, events.item_id, events.type.tolist(), strict=True
    ):
        if kind == TYPE_CODE["view"]:
            by_session.setdefault(session, Counter())[category[item]] += 1
    main = sum(c.most_common(1)[0][1] for c in by_session.values())
    assert main / sum(sum(c.values()) for c in by_session.values()) > 0.8


def test_funnel_rates(events: EventBatch) -> None:
    seen = counts(events)
    assert 0.06 < seen["add_to_cart"] / seen["view"] < 0.10
    assert 0.24 < seen["purchase"] / seen["add_to_cart"] < 0.36
    for kind in ("click", "remove_from_cart", "wishlist", "like", "dislike"):
        assert 0 < seen[kind] < seen["view"] * 0.3
    assert seen["rating"] == seen["skip"] == seen["impression"] == 0


def test_purchases_and_removals_follow_a_cart(events: EventBatch) -> None:
    carted: set[tuple[str | None, str]] = set()
    early = 0
    for session, item, kind in zip(
        events.session_id, events.item_id, events.type.tolist(), strict=True
    ):
        if kind == TYPE_CODE["add_to_cart"]:
            carted.add((session, item))
        elif kind in (TYPE_CODE["purchase"], TYPE_CODE["remove_from_cart"]):
            early += (session, item) not in carted
    assert early == 0
    purchases = events.value[events.type == TYPE_CODE["purchase"]]
    assert set(np.unique(purchases).tolist()) <= {1.0, 2.0, 3.0}


def test_dataset_matches_the_stream(shop: SyntheticShop, events: EventBatch) -> None:
    dataset = shop.dataset(20_000)
    assert len(dataset) == 20_000 and len(dataset.catalog) == shop.n_items
    assert dataset.events.user_id == events.user_id[:20_000]
    assert np.array_equal(dataset.events.timestamp, events.timestamp[:20_000])


def test_rejects_impossible_settings() -> None:
    with pytest.raises(ValueError, match="n_items >= n_categories"):
        SyntheticShop(n_users=10, n_items=5, n_categories=6)
    with pytest.raises(ValueError, match="add_to_cart must be between 0 and 1"):
        ShopBehaviour(add_to_cart=1.5)
    with pytest.raises(ValueError, match="like \\+ dislike"):
        ShopBehaviour(like=0.7, dislike=0.4)
