"""The Spark trainer: ALS on Spark MLlib (local mode) publishes the regular artifact.

One Spark session serves the whole module; every training below reuses it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import scipy.sparse as sp

from streamrec.cli import main
from streamrec.config import EventWeights, load_settings
from streamrec.datasets import SyntheticShop
from streamrec.datasets.base import Dataset
from streamrec.datasets.movielens import load_movielens
from streamrec.errors import ConfigError, InvalidInput
from streamrec.evaluation.baselines import PopularityAlgorithm, exclusion_matrix
from streamrec.evaluation.holdout import evaluate_holdout, score_lists
from streamrec.evaluation.splits import HoldoutSplit, seed004_split
from streamrec.events import Event, EventBatch, EventType
from streamrec.models.als import ALSModel
from streamrec.models.bundle import ModelBundle
from streamrec.models.matrix import InteractionMatrix
from streamrec.models.settings import ALSSettings, Confidence, ModelSettings, SparkSettings
from streamrec.models.store import ModelStore
from streamrec.models.weighting import apply_confidence
from tests.history import fill_history

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = [pytest.mark.integration, pytest.mark.slow]

IN_CI = os.environ.get("CI", "").lower() == "true"
#: Smaller than the defaults so that the module trains quickly; both trainers use it.
SETTINGS = ModelSettings(
    kinds=("als", "content"), als=ALSSettings(factors=32, iterations=10, random_state=7)
)
WEIGHTS = EventWeights()
#: ml-100k ids: Star Wars, The Empire Strikes Back, Return of the Jedi.
STAR_WARS = ("50", "172", "181")


def _chunks(batch: EventBatch, size: int) -> Iterator[EventBatch]:
    for start in range(0, len(batch), size):
        yield batch.take(slice(start, start + size))


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """A ``local[2]`` session; without pyspark or Java it skips (fails under CI)."""
    missing = [] if shutil.which("java") or os.environ.get("JAVA_HOME") else ["java"]
    try:
        import pyarrow  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as exc:
        missing.append(f"{exc.name} (pip install 'streamrec[spark]')")
    if missing:
        if IN_CI:
            pytest.fail(f"CI must run the Spark trainer tests; missing {', '.join(missing)}")
        pytest.skip(f"missing {', '.join(missing)}")
    from streamrec.models.spark_als import spark_session

    workdir = tmp_path_factory.mktemp("spark-session")
    with spark_session(SparkSettings(master="local[2]"), workdir) as session:
        yield session
    assert session.sparkContext._jsc is None, "the session is stopped on exit"


@pytest.fixture(scope="module")
def ml100k(shared_data: Path) -> Dataset:
    return load_movielens(shared_data / "ml-100k")


@pytest.fixture(scope="module")
def split(ml100k: Dataset) -> HoldoutSplit:
    return seed004_split(ml100k.events)


@pytest.fixture(scope="module")
def matrix(split: HoldoutSplit, ml100k: Dataset) -> InteractionMatrix:
    """What the single-machine trainer builds from the same events and catalog."""
    item_ids = [item.item_id for item in ml100k.catalog]
    return InteractionMatrix.from_batches(split.train, WEIGHTS, item_ids=item_ids)


@pytest.fixture(scope="module")
def published(
    spark: SparkSession,
    split: HoldoutSplit,
    ml100k: Dataset,
    tmp_path_factory: pytest.TempPathFactory,
) -> ModelBundle:
    """Spark ALS on the seed-004 training events, published and loaded back."""
    from streamrec.models.spark_als import train_spark_bundle

    bundle = train_spark_bundle(
        _chunks(split.train, 30_000), ml100k.catalog, SETTINGS, weights=WEIGHTS
    )
    store = ModelStore(tmp_path_factory.mktemp("models"))
    version = store.publish(bundle)
    loaded = store.load()
    assert loaded.version == version
    return loaded


def test_spark_sums_the_same_positive_totals_as_the_matrix(
    spark: SparkSession,
    split: HoldoutSplit,
    matrix: InteractionMatrix,
    ml100k: Dataset,
    tmp_path: Path,
) -> None:
    from streamrec.models.spark_als import interaction_totals, stage_interactions

    staged = stage_interactions(
        _chunks(split.train, 7_000),
        WEIGHTS,
        tmp_path / "parts",
        item_ids=[item.item_id for item in ml100k.catalog],
    )
    assert len(list(staged.path.glob("part-*.parquet"))) == -(-len(split.train) // 7_000)
    assert staged.users.to_list() == matrix.users.to_list()
    assert staged.items.to_list() == matrix.items.to_list()
    assert staged.window == matrix.window
    rows = interaction_totals(spark, staged, Confidence.LOG).collect()
    users, items, values = (np.array(column) for column in zip(*rows, strict=True))
    totals = sp.csr_matrix((values, (users, items)), shape=matrix.shape, dtype=np.float32)
    expected = apply_confidence(matrix.csr, Confidence.LOG)
    assert totals.nnz == expected.nnz
    np.testing.assert_allclose(totals.toarray(), expected.toarray(), rtol=1e-6)


def test_artifact_has_the_single_machine_layout(
    published: ModelBundle, matrix: InteractionMatrix, split: HoldoutSplit
) -> None:
    manifest = published.manifest
    assert manifest["kinds"] == ["als", "content"]
    assert manifest["params"]["als"] == SETTINGS.als.model_dump(mode="json")
    assert manifest["trainer"] == {"name": "spark", "master": "local[2]"}
    assert manifest["data_window"] == matrix.window.as_dict()
    assert manifest["data_window"]["n_events"] == len(split.train)
    assert published.users.to_list() == matrix.users.to_list()
    assert published.items.to_list() == matrix.items.to_list()
    als = published.als
    assert isinstance(als, ALSModel)
    assert als.user_factors.shape == (matrix.shape[0], SETTINGS.als.factors)
    assert als.item_factors.shape == (matrix.shape[1], SETTINGS.als.factors)
    assert als.item_factors.dtype == np.float32
    trained = np.asarray(matrix.csr.getnnz(axis=0) > 0)
    norms = np.linalg.norm(als.item_factors, axis=1)
    assert (norms[trained] > 0).all(), "every item with a positive total has a factor"
    assert (norms[~trained] == 0).all(), "catalog items without events keep zero rows"
    assert published.content is not None and published.content.n_items == matrix.shape[1]


def test_fold_in_recommends_the_rest_of_the_trilogy(
    published: ModelBundle, ml100k: Dataset
) -> None:
    als, items = published.als, published.items
    assert als is not None
    seen = np.array([items.get(item) for item in STAR_WARS[:2]])
    row = sp.csr_matrix((np.full(2, 2.0), (np.zeros(2), seen)), shape=(1, items.capacity))
    ids, scores = als.recommend(row, 10)
    names = items.names(ids[0])
    assert STAR_WARS[2] in names
    assert not set(STAR_WARS[:2]) & set(names)
    assert np.all(np.diff(scores[0]) <= 0)
    genres = {item.item_id: set(item.categories) for item in ml100k.catalog}
    similar, _ = als.similar_items(np.array([items.get(STAR_WARS[1])]), 10)
    unrelated = [n for n in items.names(similar[0]) if not genres[n] & genres[STAR_WARS[1]]]
    assert not unrelated, "the items most similar to an action/sci-fi film share a genre"


def test_quality_matches_implicit_and_beats_popularity(
    published: ModelBundle, matrix: InteractionMatrix, split: HoldoutSplit
) -> None:
    def precision(model: ALSModel) -> float:
        banned = exclusion_matrix(split.exclude, matrix.items)
        ids, _ = model.recommend(matrix.rows_for(split.users), 10, banned)
        lists = [matrix.items.names(row[row >= 0]) for row in ids]
        return score_lists(split, lists, ks=(10,))[0]["precision@10"]

    assert published.als is not None
    spark_p10 = precision(published.als)
    implicit_p10 = precision(ALSModel(**SETTINGS.als.model_dump()).fit(matrix.csr))
    popularity = evaluate_holdout(split, PopularityAlgorithm(split.threshold), ks=(10,))
    popularity_p10 = popularity.metrics["precision@10"]
    assert spark_p10 >= 0.8 * implicit_p10, (spark_p10, implicit_p10)
    assert spark_p10 >= 1.2 * popularity_p10, (spark_p10, popularity_p10)


def test_cli_trains_with_spark_and_publishes_the_same_id_maps(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAMREC_MODELS__TUNE_BUDGET_S", "0")  # every configured model
    shop = SyntheticShop(n_users=200, n_items=80, n_categories=4, seed=9)
    fill_history(tmp_path, shop, 6_000, chunk_size=2_000)
    store = ModelStore(tmp_path / "models")
    assert main(["train", "--force", "--data-dir", str(tmp_path)]) == 0  # publish what it fits
    single = store.load()
    assert main(["train", "--trainer", "spark", "--data-dir", str(tmp_path)]) == 0
    spark_bundle = store.load()
    assert spark_bundle.version != single.version
    assert spark_bundle.manifest["trainer"]["name"] == "spark"
    assert spark_bundle.manifest["kinds"] == ["als", "content"]
    assert spark_bundle.manifest["params"]["als"] == single.manifest["params"]["als"]
    assert spark_bundle.manifest["data_window"] == single.manifest["data_window"]
    assert spark_bundle.users.to_list() == single.users.to_list()
    assert spark_bundle.items.to_list() == single.items.to_list()
    assert spark_bundle.als is not None and single.als is not None
    assert spark_bundle.als.item_factors.shape == single.als.item_factors.shape


def test_nothing_positive_to_train_on_is_a_clear_error(
    spark: SparkSession, ml100k: Dataset
) -> None:
    from streamrec.models.spark_als import train_spark_bundle

    dislikes = EventBatch.from_events(
        [Event(user_id=f"u{n}", item_id=f"i{n % 3}", type=EventType.DISLIKE) for n in range(20)]
    )
    for batches in ([], [dislikes]):
        with pytest.raises(InvalidInput, match="no event with positive weight"):
            train_spark_bundle(batches, ml100k.catalog, SETTINGS)


def test_master_url_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMREC_MODELS__SPARK__MASTER", "spark-cluster")
    with pytest.raises(ConfigError, match="models.spark.master"):
        load_settings(None)


def test_cli_rejects_an_unknown_trainer(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["train", "--trainer", "mapreduce"])
    assert exited.value.code == 2
    assert "invalid choice: 'mapreduce'" in capsys.readouterr().err
