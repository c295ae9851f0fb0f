"""Top-K metrics: hand-computed values on tiny fixtures, and plain-loop references."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp

from streamrec.evaluation import metrics

# Two users, K = 3. User 0 gets [0, 1, 2] and likes {1, 4}; user 1 gets [3, 0] (one
# padding slot) and likes {5}.
RECOMMENDED = np.array([[0, 1, 2], [3, 0, -1]])
RELEVANT = sp.csr_matrix(np.array([[0, 1, 0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 1, 0, 0]]))


def test_ranking_metrics_match_hand_computed_values() -> None:
    values = metrics.ranking_metrics(RECOMMENDED, RELEVANT, ks=(1, 3))
    np.testing.assert_allclose(values["precision@1"], [0.0, 0.0])
    np.testing.assert_allclose(values["precision@3"], [1 / 3, 0.0])
    np.testing.assert_allclose(values["recall@3"], [1 / 2, 0.0])
    np.testing.assert_allclose(values["hit_rate@3"], [1.0, 0.0])
    np.testing.assert_allclose(values["mrr@3"], [1 / 2, 0.0])
    # DCG = 1/log2(3); ideal DCG (2 relevant) = 1 + 1/log2(3).
    np.testing.assert_allclose(values["ndcg@3"], [0.386853, 0.0], atol=1e-6)
    np.testing.assert_allclose(values["ndcg@1"], [0.0, 0.0])


def test_padding_is_never_a_hit() -> None:
    relevant = sp.csr_matrix(np.array([[1, 0], [0, 1]]))
    hit = metrics.hits(np.array([[-1, -1], [1, -1]]), relevant)
    np.testing.assert_array_equal(hit, [[False, False], [True, False]])


def test_coverage_similarity_novelty_diversity_hand_values() -> None:
    assert metrics.catalog_coverage(RECOMMENDED, 8) == 0.5
    # A = {0,1,2}, B = {3,0}, C = {5,6}: J(A,B) = 1/4, the other pairs 0.
    three = np.array([[0, 1, 2], [3, 0, -1], [5, 6, -1]])
    assert metrics.inter_user_similarity(three) == pytest.approx(0.25 / 3)
    assert metrics.inter_user_similarity(RECOMMENDED) == pytest.approx(0.25)
    # p = [4/4, 2/4, 1/4, 1/4]: information 0, 1, 2, 2; lists average 1 and 1.
    assert metrics.novelty(RECOMMENDED, np.array([4, 2, 1, 1]), 4) == pytest.approx(1.0)
    categories = sp.csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0]]))
    # User 0: distances 1/2, 1, 1 -> 5/6; user 1: item 3 has no category -> 1.
    assert metrics.intra_list_diversity(RECOMMENDED, categories, "jaccard") == pytest.approx(
        (5 / 6 + 1) / 2
    )
    vectors = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [-1.0, 0.0]])
    # User 0: 1 - 1/sqrt2 twice and 1 -> mean 0.528595; user 1: cos = -1 -> 2.
    expected = ((2 * (1 - 1 / math.sqrt(2)) + 1) / 3 + 2) / 2
    assert metrics.intra_list_diversity(RECOMMENDED, vectors) == pytest.approx(expected)


def _random_case(seed: int) -> tuple[np.ndarray, sp.csr_matrix]:
    rng = np.random.default_rng(seed)
    n_users, n_items, k = 40, 25, 10
    recommended = np.stack([rng.permutation(n_items)[:k] for _ in range(n_users)])
    lengths = rng.integers(0, k + 1, n_users)
    recommended[np.arange(k)[None, :] >= lengths[:, None]] = -1
    relevant = sp.csr_matrix(rng.random((n_users, n_items)) < 0.15)
    return recommended, relevant


def _reference_ranking(recommended: np.ndarray, relevant: sp.csr_matrix, k: int) -> dict:
    out: dict[str, list[float]] = {m: [] for m in ("precision", "recall", "ndcg", "hit", "mrr")}
    for u, row in enumerate(recommended.tolist()):
        liked = set(relevant[u].indices.tolist())
        top = [i for i in row[:k]]
        flags = [i >= 0 and i in liked for i in top]
        out["precision"].append(sum(flags) / k)
        out["recall"].append(sum(flags) / len(liked) if liked else 0.0)
        dcg = sum(1 / math.log2(r + 2) for r, f in enumerate(flags) if f)
        ideal = sum(1 / math.log2(r + 2) for r in range(min(k, len(liked))))
        out["ndcg"].append(dcg / ideal if ideal else 0.0)
        out["hit"].append(1.0 if any(flags) else 0.0)
        first = next((r for r, f in enumerate(flags) if f), None)
        out["mrr"].append(0.0 if first is None else 1 / (first + 1))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranking_metrics_match_reference_loops(seed: int) -> None:
    recommended, relevant = _random_case(seed)
    for k in (1, 5, 10):
        values = metrics.ranking_metrics(recommended, relevant, ks=(k,))
        expected = _reference_ranking(recommended, relevant, k)
        np.testing.assert_allclose(values[f"precision@{k}"], expected["precision"])
        np.testing.assert_allclose(values[f"recall@{k}"], expected["recall"])
        np.testing.assert_allclose(values[f"ndcg@{k}"], expected["ndcg"])
        np.testing.assert_allclose(values[f"hit_rate@{k}"], expected["hit"])
        np.testing.assert_allclose(values[f"mrr@{k}"], expected["mrr"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beyond_accuracy_metrics_match_reference_loops(seed: int) -> None:
    recommended, _ = _random_case(seed)
    lists = [{i for i in row if i >= 0} for row in recommended.tolist()]
    pairs = list(itertools.combinations(lists, 2))
    jaccard = [len(a & b) / len(a | b) if a | b else 0.0 for a, b in pairs]
    assert metrics.inter_user_similarity(recommended) == pytest.approx(np.mean(jaccard))
    assert metrics.catalog_coverage(recommended, 30) == pytest.approx(len(set().union(*lists)) / 30)

    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 20, 25)
    per_user = [
        np.mean([-math.log2(max(counts[i], 1) / 20) for i in row if i >= 0])
        for row in recommended.tolist()
        if any(i >= 0 for i in row)
    ]
    assert metrics.novelty(recommended, counts, 20) == pytest.approx(np.mean(per_user))

    vectors = rng.normal(size=(25, 4))
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    diversity = []
    for row in recommended.tolist():
        items = [i for i in row if i >= 0]
        distances = [1 - float(unit[a] @ unit[b]) for a, b in itertools.permutations(items, 2)]
        if distances:
            diversity.append(np.mean(distances))
    assert metrics.intra_list_diversity(recommended, vectors) == pytest.approx(np.mean(diversity))


def test_similarity_is_exact_across_blocks_and_sampling_is_deterministic() -> None:
    rng = np.random.default_rng(3)
    distinct = np.stack([rng.choice(60, 5, replace=False) for _ in range(2400)])
    wide = np.concatenate([distinct, distinct[:300], np.full((50, 5), -1)])  # copies, empties
    dense = np.zeros((len(wide), 60))
    for row, items in enumerate(wide.tolist()):
        dense[row, [i for i in items if i >= 0]] = 1.0
    inter = dense @ dense.T
    sizes = dense.sum(axis=1)
    union = sizes[:, None] + sizes[None, :] - inter
    sim = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    n = len(wide)
    expected = (sim.sum() - np.trace(sim)) / (n * (n - 1))
    assert metrics.inter_user_similarity(wide) == pytest.approx(expected)
    sampled = metrics.inter_user_similarity(wide, max_users=500, seed=7)
    assert sampled == metrics.inter_user_similarity(wide, max_users=500, seed=7)
    assert sampled == pytest.approx(expected, abs=0.01)


def test_mean_interval_hand_values() -> None:
    mean, half = metrics.mean_interval(np.array([0.0, 1.0, 0.0, 1.0]))
    # s = sqrt(1/3); half-width = 1.96 * s / 2.
    assert (mean, half) == (0.5, pytest.approx(1.96 * math.sqrt(1 / 3) / 2))
    assert metrics.mean_interval(np.array([0.25])) == (0.25, 0.0)
