"""The hybrid engine trains batch models on the training events and blends them in."""

from __future__ import annotations

from streamrec.datasets import SyntheticShop
from streamrec.evaluation.algorithms import AlgorithmContext, build_algorithm


def test_hybrid_serves_batch_model_candidates_beside_the_stream() -> None:
    shop = SyntheticShop(n_users=200, n_items=100, n_categories=5, seed=11)
    train = next(shop.events(8_000, chunk_size=8_000))
    hybrid = build_algorithm(
        "streamrec-hybrid",
        AlgorithmContext(catalog=shop.catalog()),
        {"models": {"kinds": ["itemknn"]}},
    )
    hybrid.fit(train)
    user = train.user_id[-1]
    engine = hybrid.engine  # type: ignore[attr-defined]
    items = engine.recommend(user, 10).items
    assert len(items) == 10
    assert any("itemknn" in item.sources for item in items)
    assert hybrid.recommend([user], 10, [set()])[0] == [item.item_id for item in items]


def test_configurations_of_one_context_share_the_trained_models() -> None:
    shop = SyntheticShop(n_users=100, n_items=60, n_categories=4, seed=3)
    train = next(shop.events(3_000, chunk_size=3_000))
    context = AlgorithmContext(catalog=shop.catalog())
    models = {"kinds": ["itemknn"]}
    first, second, other = (
        build_algorithm("streamrec-hybrid", context, params)
        for params in (
            {"models": models, "recommend": {"weight_popularity": 0.0}},
            {"models": models, "recommend": {"weight_popularity": 0.5}},
            {"models": {**models, "itemknn": {"neighbors": 5}}},
        )
    )
    for algorithm in (first, second, other):
        algorithm.fit(train)
    bundle = first.engine.models.bundle  # type: ignore[attr-defined]
    assert second.engine.models.bundle is bundle  # type: ignore[attr-defined]
    assert other.engine.models.bundle is not bundle  # type: ignore[attr-defined]
    fresh = build_algorithm(
        "streamrec-hybrid", AlgorithmContext(catalog=shop.catalog()), {"models": models}
    )
    fresh.fit(train)
    assert fresh.engine.models.bundle is not bundle  # type: ignore[attr-defined]
