"""Prequential replay and the baselines, on streams small enough to follow by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from streamrec.config import EventWeights
from streamrec.evaluation.baselines import CooccurrenceAlgorithm, PopularityAlgorithm
from streamrec.evaluation.prequential import plan_prequential, run_prequential
from streamrec.events import EventBatch
from tests.unit.test_evaluation_splits import Row, batch

# Warm-up = the first 4 of 9 events (users u1, u2; popularity A 2, B 1, C 1).
# Event 6 (u1 views D) and event 7 (u2 views B) are the queries; the skip is not.
# Popularity with k = 2, excluding each user's seen items:
#   streaming: D has 2 views by event 6 -> u1 gets [D, C] (rank 1);
#              D has 3 by event 7      -> u2 gets [D, B] (rank 2);
#   frozen:    u1 gets [C] (miss), u2 gets [B] (rank 1);
#   periodic (refit every 3 events): event 6 uses the warm-up fit (miss),
#              event 7 the refit on events 0-6 (rank 2).
STREAM: list[Row] = [
    ("u1", "A", "view", np.nan, 10),
    ("u2", "A", "view", np.nan, 20),
    ("u1", "B", "view", np.nan, 30),
    ("u2", "C", "view", np.nan, 40),
    ("u3", "D", "view", np.nan, 50),
    ("u4", "D", "view", np.nan, 60),
    ("u1", "D", "view", np.nan, 70),
    ("u2", "B", "view", np.nan, 80),
    ("u1", "E", "skip", np.nan, 90),
]


def shuffled_stream() -> EventBatch:
    order = [4, 0, 8, 2, 6, 1, 3, 7, 5]
    return batch([STREAM[i] for i in order])


def test_plan_orders_by_time_and_samples_evenly() -> None:
    plan = plan_prequential(shuffled_stream(), retrain_every=3)
    assert plan.n_warm == 4
    assert plan.events.item_id == [r[1] for r in STREAM]
    assert plan.queries.tolist() == [6, 7]
    one = plan_prequential(shuffled_stream(), sample_size=1)
    assert one.queries.tolist() == [6]
    assert one.candidates == 2


@pytest.mark.parametrize(
    ("mode", "ranks", "hit_rate", "mrr"),
    [
        ("streaming", [1, 2], 1.0, 0.75),
        ("frozen", [0, 1], 0.5, 0.5),
        ("periodic", [0, 2], 0.5, 0.25),
    ],
)
def test_popularity_hits_by_hand(mode: str, ranks: list[int], hit_rate: float, mrr: float) -> None:
    plan = plan_prequential(shuffled_stream(), retrain_every=3)
    result = run_prequential(plan, PopularityAlgorithm(threshold=4.0), mode, k=2)
    assert result.ranks.tolist() == ranks
    assert result.hit_rate == hit_rate
    assert result.mrr == mrr
    assert result.positions.tolist() == [6, 7]


def test_unknown_mode_is_refused() -> None:
    plan = plan_prequential(shuffled_stream())
    with pytest.raises(ValueError, match="unknown mode"):
        run_prequential(plan, PopularityAlgorithm(threshold=4.0), "sometimes")


def test_cooccurrence_scores_by_hand() -> None:
    # c(A) = 3 (u1, u2, x); c(B, A) = 2, c(C, A) = 1, D never meets A.
    rows: list[Row] = [
        ("u1", "A", "view", np.nan, 1),
        ("u1", "B", "view", np.nan, 2),
        ("u2", "A", "view", np.nan, 3),
        ("u2", "B", "view", np.nan, 4),
        ("u2", "C", "view", np.nan, 5),
        ("u3", "C", "view", np.nan, 6),
        ("u3", "D", "view", np.nan, 7),
        ("x", "A", "view", np.nan, 8),
    ]
    algorithm = CooccurrenceAlgorithm(EventWeights())
    algorithm.fit(batch(rows))
    assert algorithm.recommend(["x"], 3, [{"A"}]) == [["B", "C"]]
    items = algorithm.log.items
    scores = algorithm.scores(["x"])[0]
    assert scores[items.get("B")] == pytest.approx(2 / 3)
    assert scores[items.get("C")] == pytest.approx(1 / 3)
    algorithm.learn(batch([("x", "D", "view", np.nan, 9)]))
    assert algorithm.recommend(["x"], 3, [{"A", "D"}]) == [["C", "B"]]


def test_cooccurrence_matches_pair_counting() -> None:
    rng = np.random.default_rng(5)
    rows: list[Row] = []
    for u in range(30):
        for i in rng.choice(15, size=rng.integers(1, 8), replace=False).tolist():
            rows.append((f"u{u}", f"i{i}", "view", np.nan, len(rows)))
    algorithm = CooccurrenceAlgorithm(EventWeights())
    algorithm.fit(batch(rows))
    baskets: dict[str, set[str]] = {}
    for user, item, *_ in rows:
        baskets.setdefault(user, set()).add(item)
    count: dict[str, int] = {}
    pair: dict[tuple[str, str], int] = {}
    for basket in baskets.values():
        for i in basket:
            count[i] = count.get(i, 0) + 1
        for i, j in itertools.permutations(basket, 2):
            pair[i, j] = pair.get((i, j), 0) + 1
    users = sorted(baskets)
    scores = algorithm.scores(users)
    for row, name in enumerate(users):
        for target in count:
            basket = baskets[name]
            expected = sum(pair.get((target, j), 0) / count[j] for j in basket if j != target)
            expected += 1.0 if target in basket else 0.0
            got = scores[row, algorithm.log.items.get(target)]
            assert (got if np.isfinite(got) else 0.0) == pytest.approx(expected, rel=1e-5)
