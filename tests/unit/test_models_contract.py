"""The contract every batch model keeps, checked on the same synthetic data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from streamrec.ids import IdMap
from streamrec.models import ALSModel, ContentModel, EASEModel, ItemKNNModel, Recommender
from streamrec.state.base import CatalogItem

N_USERS, N_ITEMS = 60, 40


def _interactions(seed: int = 7) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((N_USERS, N_ITEMS)) < 0.15) * rng.integers(1, 6, (N_USERS, N_ITEMS))
    dense[:, 0] = 0  # an item nobody touched
    dense[0] = 0  # a user with no interactions
    return sp.csr_matrix(dense.astype(np.float32))


def _catalog(seed: int = 7) -> list[CatalogItem]:
    rng = np.random.default_rng(seed)
    words = ["red", "blue", "acoustic", "electric", "guitar", "drum", "vintage", "studio"]
    return [
        CatalogItem(
            item_id=f"i{i}",
            title=" ".join(rng.choice(words, 2)),
            categories=[f"cat{rng.integers(4)}"],
            tags=[f"tag{t}" for t in rng.choice(6, 2, replace=False)],
        )
        for i in range(N_ITEMS)
    ]


def _als(matrix: sp.csr_matrix) -> Recommender:
    return ALSModel(factors=8, iterations=6, random_state=3).fit(matrix)


def _als_ann(matrix: sp.csr_matrix) -> Recommender:
    model = ALSModel(factors=8, iterations=6, random_state=3).fit(matrix)
    model.build_index(ef_construction=100, M=8, ef=50)
    return model


def _itemknn(matrix: sp.csr_matrix) -> Recommender:
    return ItemKNNModel(neighbors=12, shrink=1.0).fit(matrix)


def _ease(matrix: sp.csr_matrix) -> Recommender:
    return EASEModel(l2=5.0).fit(matrix)


def _content(matrix: sp.csr_matrix) -> Recommender:
    items = IdMap(f"i{i}" for i in range(N_ITEMS))
    return ContentModel(items).fit(matrix, _catalog())


FACTORIES: dict[str, Callable[[sp.csr_matrix], Recommender]] = {
    "als": _als,
    "als+ann": _als_ann,
    "itemknn": _itemknn,
    "ease": _ease,
    "content": _content,
}


@pytest.fixture(scope="module")
def matrix() -> sp.csr_matrix:
    return _interactions()


@pytest.fixture(scope="module", params=sorted(FACTORIES))
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def model(name: str, matrix: sp.csr_matrix) -> Recommender:
    return FACTORIES[name](matrix)


def _rows(matrix: sp.csr_matrix, row: int) -> set[int]:
    return set(matrix[row].indices.tolist())


def test_recommend_shapes_order_and_padding(model: Recommender, matrix: sp.csr_matrix) -> None:
    k = N_ITEMS + 5
    ids, scores = model.recommend(matrix, k)
    assert ids.shape == scores.shape == (N_USERS, k)
    assert ids.dtype == np.int32 and scores.dtype == np.float32
    for row in range(N_USERS):
        valid = ids[row] >= 0
        count = int(valid.sum())
        assert valid[:count].all() and not valid[count:].any(), "padding only at the end"
        assert count <= N_ITEMS - len(_rows(matrix, row))
        assert np.all(np.isneginf(scores[row, count:]))
        assert np.all(np.diff(scores[row, :count]) <= 0), "best first"
        assert len(set(ids[row, :count].tolist())) == count, "no repeats"
        assert ids[row, :count].max(initial=0) < N_ITEMS


def test_every_model_recommends_for_users_with_history(
    model: Recommender, matrix: sp.csr_matrix
) -> None:
    ids, _ = model.recommend(matrix[1:], 5)
    assert (ids[:, 0] >= 0).all()


def test_batch_equals_single_user_calls(model: Recommender, matrix: sp.csr_matrix) -> None:
    batch_ids, batch_scores = model.recommend(matrix[:12], 7)
    for row in range(12):
        ids, scores = model.recommend(matrix[row : row + 1], 7)
        np.testing.assert_array_equal(ids[0], batch_ids[row])
        np.testing.assert_allclose(scores[0], batch_scores[row], rtol=1e-5, atol=1e-6)


def test_own_items_are_excluded_by_default(model: Recommender, matrix: sp.csr_matrix) -> None:
    ids, _ = model.recommend(matrix, 10)
    for row in range(N_USERS):
        assert not set(ids[row].tolist()) & _rows(matrix, row)


def test_explicit_exclusion(model: Recommender, matrix: sp.csr_matrix) -> None:
    nothing = sp.csr_matrix(matrix.shape, dtype=np.float32)
    ids, _ = model.recommend(matrix, 5, exclude=nothing)
    blocked = sp.csr_matrix(
        (np.ones(N_USERS, np.float32), (np.arange(N_USERS), np.maximum(ids[:, 0], 0))),
        shape=matrix.shape,
    )
    again, _ = model.recommend(matrix, 5, exclude=blocked)
    for row in range(N_USERS):
        if ids[row, 0] >= 0:
            assert ids[row, 0] not in again[row]
            np.testing.assert_array_equal(again[row, :3], ids[row, 1:4])


def test_own_items_can_come_back_without_exclusion(
    model: Recommender, matrix: sp.csr_matrix
) -> None:
    nothing = sp.csr_matrix(matrix.shape, dtype=np.float32)
    ids, _ = model.recommend(matrix, N_ITEMS, exclude=nothing)
    returned_own = sum(len(set(ids[row].tolist()) & _rows(matrix, row)) for row in range(N_USERS))
    assert returned_own > 0


def test_columns_are_fitted_to_the_catalog(model: Recommender, matrix: sp.csr_matrix) -> None:
    rows = matrix[:5].toarray()
    rows[:, -3:] = 0.0
    expected = model.recommend(sp.csr_matrix(rows), 6)
    narrow = model.recommend(sp.csr_matrix(rows[:, :-3]), 6)
    wide = model.recommend(sp.csr_matrix(np.hstack([rows, np.ones((5, 4), np.float32)])), 6)
    for got in (narrow, wide):
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])


def test_similar_items_exclude_the_item_itself(model: Recommender) -> None:
    queries = np.arange(N_ITEMS)
    ids, scores = model.similar_items(queries, 5)
    assert ids.shape == scores.shape == (N_ITEMS, 5)
    assert not (ids == queries[:, None]).any()
    assert (ids[1:, 0] >= 0).all(), "every item with data has a neighbour"
    with pytest.raises(ValueError):
        model.similar_items(np.array([N_ITEMS]), 5)


def test_save_load_round_trip(model: Recommender, matrix: sp.csr_matrix, tmp_path: Path) -> None:
    model.save(tmp_path)
    loaded = type(model).load(tmp_path)
    assert loaded.params() == model.params()
    for got, want in zip(loaded.recommend(matrix, 8), model.recommend(matrix, 8), strict=True):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(
        loaded.similar_items(np.arange(N_ITEMS), 4),
        model.similar_items(np.arange(N_ITEMS), 4),
        strict=True,
    ):
        np.testing.assert_array_equal(got, want)


def test_fitting_is_reproducible(name: str, model: Recommender, matrix: sp.csr_matrix) -> None:
    twin = FACTORIES[name](matrix)
    for got, want in zip(twin.recommend(matrix, 8), model.recommend(matrix, 8), strict=True):
        np.testing.assert_array_equal(got, want)


def test_k_must_be_positive(model: Recommender, matrix: sp.csr_matrix) -> None:
    with pytest.raises(ValueError):
        model.recommend(matrix, 0)


def test_empty_batches(model: Recommender, matrix: sp.csr_matrix) -> None:
    ids, scores = model.recommend(matrix[:0], 4)
    assert ids.shape == scores.shape == (0, 4)
    ids, scores = model.similar_items(np.array([], dtype=np.int64), 4)
    assert ids.shape == scores.shape == (0, 4)
