"""A history spanning years, replayed into a server with the defaults, is not forgotten."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streamrec.bootstrap import embedded_engine
from streamrec.config import Settings
from streamrec.datasets import load_dataset
from streamrec.evaluation.baselines import PopularityAlgorithm
from streamrec.evaluation.holdout import evaluate_holdout, score_lists
from streamrec.evaluation.splits import seed004_split

pytestmark = pytest.mark.slow

YEAR_MS = 365 * 86_400_000


def test_replayed_years_of_history_serve_no_worse_than_popularity(
    shared_data: Path, tmp_path: Path
) -> None:
    dataset = load_dataset(shared_data / "ml-latest-small")
    split = seed004_split(dataset.events)
    span = int(np.ptp(split.train.timestamp))
    assert span > 20 * YEAR_MS
    engine = embedded_engine(Settings(data_dir=tmp_path))
    try:
        engine.upsert_items(dataset.catalog)
        for start in range(0, len(split.train), 10_000):
            engine.ingest(split.train.take(slice(start, start + 10_000)))
        assert engine.catch_up(timeout_s=600)
        lists = [
            [item.item_id for item in engine.recommend(user, 10, exclude=banned).items]
            for user, banned in zip(split.users, split.exclude, strict=True)
        ]
    finally:
        engine.close()
    served, _ = score_lists(split, lists)
    popularity = evaluate_holdout(split, PopularityAlgorithm(split.threshold)).metrics
    assert served["precision@10"] >= popularity["precision@10"]
    assert served["ndcg@10"] >= popularity["ndcg@10"]
