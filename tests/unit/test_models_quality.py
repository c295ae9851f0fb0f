"""Models against known answers and exact oracles."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from streamrec.errors import ConfigError
from streamrec.ids import IdMap
from streamrec.models import (
    ALSModel,
    AnnIndex,
    ContentModel,
    EASEModel,
    ItemKNNModel,
    Recommender,
)
from streamrec.state.base import CatalogItem

GROUP_USERS, GROUP_ITEMS, HIDDEN = 30, 12, 3


def _checkerboard() -> tuple[sp.csr_matrix, np.ndarray]:
    """Two user groups, each liking every item of its own item group, with holes.

    Returns the training matrix and, per user, the ``HIDDEN`` in-group items withheld.
    """
    rng = np.random.default_rng(11)
    users = 2 * GROUP_USERS
    dense = np.zeros((users, 2 * GROUP_ITEMS), dtype=np.float32)
    hidden = np.empty((users, HIDDEN), dtype=np.int64)
    for user in range(users):
        group = np.arange(GROUP_ITEMS) + (GROUP_ITEMS if user >= GROUP_USERS else 0)
        dense[user, group] = 1.0
        hidden[user] = np.sort(rng.choice(group, HIDDEN, replace=False))
        dense[user, hidden[user]] = 0.0
    return sp.csr_matrix(dense), hidden


@pytest.mark.parametrize(
    "model",
    [
        ALSModel(factors=2, alpha=10.0, regularization=0.1, iterations=20, random_state=1),
        ItemKNNModel(neighbors=30),
        EASEModel(l2=1.0),
    ],
    ids=lambda m: m.kind,
)
def test_withheld_checkerboard_block_ranks_first(model: Recommender) -> None:
    train, hidden = _checkerboard()
    ids, _ = model.fit(train).recommend(train, HIDDEN)
    np.testing.assert_array_equal(np.sort(ids, axis=1), hidden)


def test_item_knn_never_crosses_the_checkerboard() -> None:
    train, _ = _checkerboard()
    ids, _ = ItemKNNModel(neighbors=30).fit(train).recommend(train, 10)
    assert (ids[:, HIDDEN:] == -1).all(), "out-of-group items have no similarity"


def _low_rank(seed: int = 5) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    taste = rng.random((200, 4)) ** 3
    appeal = rng.random((150, 4)) ** 3
    chance = taste @ appeal.T
    chance /= chance.max()
    weights = rng.integers(1, 5, chance.shape).astype(np.float32)
    return sp.csr_matrix(np.where(rng.random(chance.shape) < 0.6 * chance, weights, 0.0))


def test_fold_in_solves_the_same_equations_as_implicit() -> None:
    matrix = _low_rank()
    model = ALSModel(factors=12, alpha=2.0, regularization=0.1, iterations=5).fit(matrix)
    with threadpool_limits(1, "blas"):
        reference = AlternatingLeastSquares(factors=12, alpha=2.0, regularization=0.1)
    reference.item_factors = model.item_factors
    expected = reference.recalculate_user(np.arange(matrix.shape[0]), matrix)
    np.testing.assert_allclose(model.fold_in(matrix), expected, rtol=1e-4, atol=1e-4)


def test_fold_in_of_a_training_user_matches_the_trained_factors() -> None:
    matrix = _low_rank()
    model = ALSModel(factors=8, regularization=0.1, iterations=40, random_state=2).fit(matrix)
    folded = model.fold_in(matrix) @ model.item_factors.T
    trained = model.user_factors @ model.item_factors.T
    assert np.abs(folded - trained).max() < 0.05 * np.abs(trained).max()
    top_folded = np.argsort(-folded, axis=1)[:, :10]
    top_trained = np.argsort(-trained, axis=1)[:, :10]
    overlap = np.mean(
        [len(set(a) & set(b)) / 10 for a, b in zip(top_folded, top_trained, strict=True)]
    )
    assert overlap >= 0.95


def test_fold_in_personalizes_a_new_user_from_one_event() -> None:
    train, _ = _checkerboard()
    model = ALSModel(factors=2, alpha=10.0, regularization=0.1, iterations=20, random_state=1).fit(
        train
    )
    newcomer = sp.csr_matrix(([1.0], ([0], [GROUP_ITEMS + 2])), shape=(1, train.shape[1]))
    ids, _ = model.recommend(newcomer, GROUP_ITEMS - 1)
    assert set(ids[0].tolist()) == set(range(GROUP_ITEMS, 2 * GROUP_ITEMS)) - {GROUP_ITEMS + 2}


def test_ease_matches_per_item_ridge_regressions() -> None:
    rng = np.random.default_rng(3)
    x = (rng.random((25, 8)) < 0.4).astype(np.float64) * rng.integers(1, 4, (25, 8))
    l2 = 2.5
    model = EASEModel(l2=l2).fit(sp.csr_matrix(x, dtype=np.float32))
    expected = np.zeros((8, 8))
    for item in range(8):
        others = np.delete(np.arange(8), item)
        features = x[:, others]
        solution = np.linalg.solve(features.T @ features + l2 * np.eye(7), features.T @ x[:, item])
        expected[others, item] = solution
    np.testing.assert_allclose(model.weights, expected, rtol=1e-4, atol=1e-5)


def test_ease_refuses_catalogs_above_its_cap() -> None:
    with pytest.raises(ConfigError, match="max_items"):
        EASEModel(max_items=5).fit(sp.csr_matrix((3, 6), dtype=np.float32))


def _shop() -> list[CatalogItem]:
    return [
        CatalogItem("jazz-1", "Blue Train", ["jazz"], ["saxophone", "hard bop"]),
        CatalogItem("jazz-2", "Kind of Blue", ["jazz"], ["trumpet", "modal"]),
        CatalogItem("jazz-3", "Giant Steps", ["jazz"], ["saxophone"]),
        CatalogItem("rock-1", "Abbey Road", ["rock"], ["guitar"]),
        CatalogItem("rock-2", "Led Zeppelin IV", ["rock"], ["guitar", "hard rock"]),
    ]


def test_content_gives_a_new_item_neighbours_at_once() -> None:
    items = IdMap(["jazz-1", "jazz-2", "jazz-3", "rock-1", "rock-2"])
    model = ContentModel(items).fit(sp.csr_matrix((1, 5), dtype=np.float32), _shop())
    model.add_items([CatalogItem("jazz-new", "A Love Supreme", ["jazz"], ["saxophone", "free"])])
    new_id = items.get("jazz-new")
    assert new_id == 5 and model.n_items == 6
    ids, scores = model.similar_items(np.array([new_id]), 5)
    neighbours = items.names(ids[0][ids[0] >= 0])
    assert set(neighbours[:2]) == {"jazz-1", "jazz-3"}, "genre and saxophone rank first"
    assert set(neighbours) == {"jazz-1", "jazz-2", "jazz-3"}, "no rock"
    fan = sp.csr_matrix(([1.0], ([0], [items.get("jazz-3")])), shape=(1, 5))
    assert items.get("jazz-new") in model.recommend(fan, 3)[0][0]


def test_content_incremental_vectors_match_their_idf_and_a_refit() -> None:
    shop = _shop()
    grown = ContentModel().fit(sp.csr_matrix((0, 0), dtype=np.float32), shop[:3])
    grown.add_items(shop[3:])
    grown.add_items([CatalogItem("jazz-2", "Kind of Blue", ["jazz", "modal"], ["trumpet"])])
    scaled = grown.counts.multiply(grown.idf[None, :]).tocsr()
    norms = np.sqrt(np.asarray(scaled.multiply(scaled).sum(axis=1)))
    np.testing.assert_allclose(grown.vectors.toarray(), scaled.toarray() / norms, rtol=1e-6)
    replaced = [*shop[:1], CatalogItem("jazz-2", "Kind of Blue", ["jazz", "modal"], ["trumpet"])]
    fresh = ContentModel().fit(sp.csr_matrix((0, 0), dtype=np.float32), replaced + shop[2:])
    refit = grown.fit(sp.csr_matrix((0, 0), dtype=np.float32))
    assert refit.items.to_list() == fresh.items.to_list()
    for column, name in enumerate(refit.features.to_list()):
        fresh_column = fresh.features.get(str(name))
        got = refit.vectors[:, column].toarray()
        if fresh_column is None:
            assert not got.any(), f"{name} is used by no item any more"
        else:
            np.testing.assert_allclose(got, fresh.vectors[:, fresh_column].toarray(), rtol=1e-6)


def _recall_at_10(index: AnnIndex, vectors: np.ndarray, queries: np.ndarray) -> float:
    found, _ = index.query(queries, 10)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact, strict=True)]))


def test_ann_recall_against_brute_force() -> None:
    rng = np.random.default_rng(0)
    gaussian = rng.standard_normal((4000, 32)).astype(np.float32)
    queries = rng.standard_normal((200, 32)).astype(np.float32)
    assert _recall_at_10(AnnIndex.build(gaussian), gaussian, queries) >= 0.95
    als = ALSModel(factors=16, iterations=8, random_state=0).fit(_low_rank(seed=9))
    factors = als.item_factors
    users = als.fold_in(_low_rank(seed=9))
    assert _recall_at_10(AnnIndex.build(factors), factors, users) >= 0.95


def test_ann_pads_when_asked_for_more_than_it_holds() -> None:
    vectors = np.eye(3, dtype=np.float32)
    index = AnnIndex.build(vectors)
    ids, scores = index.query(vectors[:1], 5)
    assert ids[0, 0] == 0 and scores[0, 0] == pytest.approx(1.0)
    assert (ids[0, 3:] == -1).all() and np.isneginf(scores[0, 3:]).all()
