"""MovieLens through the real paths: `streamrec ingest`, then recommendations; and quality."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamrec.bootstrap import embedded_engine
from streamrec.cli import main
from streamrec.config import Settings
from streamrec.datasets import load_dataset
from streamrec.evaluation.adapters import EngineAlgorithm
from streamrec.evaluation.algorithms import AlgorithmContext, build_algorithm
from streamrec.evaluation.baselines import PopularityAlgorithm
from streamrec.evaluation.holdout import evaluate_holdout
from streamrec.evaluation.splits import relevance_threshold, seed004_split

pytestmark = pytest.mark.slow

#: Ratings span 22 years: count them without time decay (tuned on MovieLens).
MOVIELENS = {
    "decay": {
        "popularity_half_life_s": 1e11,
        "cooccurrence_half_life_s": 1e11,
        "trending_short_half_life_s": 1e10,
        "trending_long_half_life_s": 1e11,
    },
    "cooccurrence": {"popularity_damping": 0.0},
}


def test_ingest_cli_then_recommend(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "ml-latest-small"
    assert main(["ingest", str(source), "--data-dir", str(tmp_path), "--quiet"]) == 0
    engine = embedded_engine(Settings(data_dir=tmp_path))
    try:
        assert engine.lag() == 0
        assert engine.log is not None and engine.log.end_positions() == {0: 100_836}
        rec = engine.recommend("1", 10)
        assert len(rec.items) == 10
        seen = {i.item_id for i in engine.profile("1").recent}  # type: ignore[union-attr]
        assert not seen & {i.item_id for i in rec.items}
        assert all(item.reasons for item in rec.items)
        assert any(r.startswith("because you rated") for item in rec.items for r in item.reasons)
    finally:
        engine.close()


def test_cooccurrence_engine_beats_popularity_on_seed004(shared_data: Path) -> None:
    dataset = load_dataset(shared_data / "ml-latest-small")
    split = seed004_split(dataset.events)
    popularity = evaluate_holdout(split, PopularityAlgorithm(relevance_threshold(dataset.events)))
    engine = evaluate_holdout(split, EngineAlgorithm(Settings(), MOVIELENS, dataset.catalog))
    assert engine.metrics["precision@10"] > popularity.metrics["precision@10"]


#: The hybrid configuration `streamrec evaluate --tune` chose on the validation split
#: of both MovieLens datasets (docs/evaluation.md).
HYBRID = {
    "decay": {**MOVIELENS["decay"], "affinity_half_life_s": 1e11},
    "profile": {"recent_items": 1000, "seen_items": 0},
    "cooccurrence": {"window": 10},
    "models": {"kinds": ["ease"], "ease": {"l2": 300.0}},
    "recommend": {
        "session_category_boost": 0.0,
        "source_weights": {"ease": 0.6, "cooccurrence": 0.4},
        "weight_popularity": 0.0,
        "recency_half_life_items": 3.0,
    },
}


def test_hybrid_beats_ease_and_popularity_on_ml_100k(shared_data: Path) -> None:
    dataset = load_dataset(shared_data / "ml-100k")
    split = seed004_split(dataset.events)
    context = AlgorithmContext(split.threshold, dataset.catalog)
    results = {
        name: evaluate_holdout(split, build_algorithm(name, context, params)).metrics
        for name, params in [("popularity", {}), ("ease", {}), ("streamrec-hybrid", HYBRID)]
    }
    hybrid = results["streamrec-hybrid"]
    for metric in ("precision@10", "ndcg@10"):
        assert hybrid[metric] > results["ease"][metric]
    assert hybrid["precision@10"] >= 1.3 * results["popularity"]["precision@10"]
