"""ALS on Spark MLlib, published as the same artifact as the single-machine trainer.

The history streams through the driver once, in the History port's chunks: user and
item ids are interned exactly as :class:`~streamrec.models.matrix.InteractionMatrix`
interns them (catalog items first, then in order of appearance) and each chunk's
``(user, item, weight)`` rows, weighted by :func:`event_weights`, become one Parquet
part. Spark reads the parts like any partitioned Parquet data set, sums the weights
per (user, item), keeps the positive totals, applies the model's
:class:`~streamrec.models.settings.Confidence` transform and fits
``pyspark.ml.recommendation.ALS(implicitPrefs=True)``. The factors come back through
Parquet into an :class:`ALSModel` over the same id maps, so the model store publishes
the layout a server already loads: fold-in and the ANN index work on it unchanged.
The driver holds the id maps and the factors, never the events or the matrix.

Spark and ``implicit`` name their parameters alike but solve slightly different
problems (Hu, Koren and Volinsky 2008 in both cases):

- confidence: ``implicit`` gives an observed entry ``c = alpha * w`` (unobserved
  ones 1); Spark gives it ``c = 1 + alpha * w``.
- regularization: ``implicit`` adds ``regularization * I`` to every user's and item's
  normal equations; Spark adds ``regParam * n * I``, ``n`` being that row's number of
  positive entries (weighted-lambda regularization, Zhou et al. 2008), so the same
  value regularizes heavy users and popular items more.

Both are mapped as they are (``factors`` → ``rank``, ``regularization`` →
``regParam``, ``iterations`` → ``maxIter``, ``alpha`` → ``alpha``,
``random_state`` → ``seed``); request-time fold-in keeps ``implicit``'s equations
(see :meth:`ALSModel.fold_in`) over the Spark item factors.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from streamrec.config import EventWeights
from streamrec.errors import BackendUnavailable, ConfigError, InvalidInput
from streamrec.events import EventBatch
from streamrec.extras import import_extra
from streamrec.ids import IdMap
from streamrec.models.als import ALSModel
from streamrec.models.bundle import ModelBundle
from streamrec.models.content import ContentModel
from streamrec.models.matrix import DataWindow
from streamrec.models.settings import ALSSettings, Confidence, ModelSettings, SparkSettings
from streamrec.models.weighting import event_weights
from streamrec.state.base import CatalogItem

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

_SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"
#: Model kinds this trainer produces: ALS in Spark, content (catalog only) on the driver.
SPARK_KINDS = ("als", "content")


@dataclass(frozen=True)
class StagedInteractions:
    """Event weights written as Parquet parts, with the id maps that give ids meaning.

    Attributes
    ----------
    path
        Folder of ``part-*.parquet`` files with ``user`` and ``item`` (``int32`` dense
        ids) and ``weight`` (``float64``, one row per event).
    users, items
        The id maps, the same as :class:`InteractionMatrix` builds from the events.
    window
        The time range and counts of the events.
    """

    path: Path
    users: IdMap
    items: IdMap
    window: DataWindow


def stage_interactions(
    batches: Iterable[EventBatch],
    weights: EventWeights,
    directory: Path,
    item_ids: Sequence[str] = (),
) -> StagedInteractions:
    """Write each non-empty batch's weighted events as one Parquet part.

    Memory holds one batch and the id maps at a time, whatever the history's size.

    Parameters
    ----------
    batches
        The training events (for example ``History.scan()``).
    weights
        The configured event weights.
    directory
        Where the parts go (created; it must not hold parts already).
    item_ids
        Items to intern first, in this order (the catalog), as the matrix does.
    """
    pa = import_extra("pyarrow", "spark", "the Spark trainer")
    parquet = import_extra("pyarrow.parquet", "spark", "the Spark trainer")
    users = IdMap()
    items = IdMap(dict.fromkeys(item_ids))
    directory.mkdir(parents=True)
    n_events = 0
    min_ts: int | None = None
    max_ts: int | None = None
    for batch in batches:
        if not len(batch):
            continue
        low, high = int(batch.timestamp.min()), int(batch.timestamp.max())
        min_ts = low if min_ts is None else min(min_ts, low)
        max_ts = high if max_ts is None else max(max_ts, high)
        table = pa.table(
            {
                "user": users.intern_many(batch.user_id),
                "item": items.intern_many(batch.item_id),
                "weight": event_weights(batch.type, batch.value, weights),
            }
        )
        parquet.write_table(table, directory / f"part-{n_events:012d}.parquet")
        n_events += len(batch)
    window = DataWindow(min_ts, max_ts, n_events, len(users), len(items))
    return StagedInteractions(directory, users, items, window)


@contextmanager
def spark_session(settings: SparkSettings, workdir: Path) -> Iterator[SparkSession]:
    """A Spark session on ``settings.master`` with quiet logs, stopped on exit.

    Local masters bind to the loopback interface. The driver logs errors only
    (through a log4j2 file written into ``workdir``) unless ``settings.conf`` sets
    ``spark.driver.extraJavaOptions`` itself. A session already running in this
    process (a notebook's, a test module's) is used as it is and left running.
    """
    sql = import_extra("pyspark.sql", "spark", "the Spark trainer")
    running = sql.SparkSession.getActiveSession()
    if running is not None:
        log.info("training on the running Spark session (%s)", running.sparkContext.master)
        yield running
        return
    conf = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={_log_config(workdir)}",
    }
    if settings.master.startswith("local"):
        conf |= {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
    builder = sql.SparkSession.builder.master(settings.master).appName("streamrec-train")
    for key, value in (conf | settings.conf).items():
        builder = builder.config(key, value)
    logging.getLogger("py4j").setLevel(logging.WARNING)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM's errors arrive as py4j / pyspark exceptions
        raise BackendUnavailable(f"Spark did not start on {settings.master}: {exc}") from exc
    session.sparkContext.setLogLevel("ERROR")
    if settings.master.startswith("local") and _SHUFFLE_PARTITIONS not in settings.conf:
        # One shuffle partition per core: the default (200) is for clusters.
        session.conf.set(_SHUFFLE_PARTITIONS, str(session.sparkContext.defaultParallelism))
    try:
        yield session
    finally:
        session.stop()


def interaction_totals(
    spark: SparkSession, staged: StagedInteractions, confidence: Confidence
) -> DataFrame:
    """``(user, item, confidence)``: positive weight totals through ``confidence``.

    The same entries as ``apply_confidence(InteractionMatrix.csr, confidence)``.
    """
    functions = import_extra("pyspark.sql.functions", "spark", "the Spark trainer")
    weight = functions.col("weight")
    if confidence is Confidence.LOG:
        transformed = functions.log1p(weight)
    elif confidence is Confidence.BINARY:
        transformed = functions.signum(weight)
    else:
        transformed = weight
    totals: DataFrame = (
        spark.read.parquet(str(staged.path))
        .groupBy("user", "item")
        .agg(functions.sum("weight").alias("weight"))
        .where(weight > 0)
        .select("user", "item", transformed.cast("float").alias("confidence"))
    )
    return totals


def fit_spark_als(
    spark: SparkSession, staged: StagedInteractions, settings: ALSSettings, workdir: Path
) -> ALSModel:
    """Fit implicit-feedback ALS in Spark on the staged events.

    Parameters
    ----------
    spark
        The session to train in.
    staged
        From :func:`stage_interactions`.
    settings
        The ``models.als`` section (mapped as the module docstring says).
    workdir
        A folder Spark writes the factors to (shared with the executors on a cluster).

    Raises
    ------
    InvalidInput
        If no (user, item) pair has a positive weight total.
    """
    recommendation = import_extra("pyspark.ml.recommendation", "spark", "the Spark trainer")
    storage = import_extra("pyspark.storagelevel", "spark", "the Spark trainer")
    if staged.window.n_events == 0:
        raise InvalidInput("no event with positive weight to train the als model on")
    ratings = interaction_totals(spark, staged, settings.confidence)
    ratings = ratings.persist(storage.StorageLevel.MEMORY_AND_DISK)
    try:
        if ratings.isEmpty():
            raise InvalidInput("no event with positive weight to train the als model on")
        fitted = recommendation.ALS(
            rank=settings.factors,
            maxIter=settings.iterations,
            regParam=settings.regularization,
            alpha=settings.alpha,
            implicitPrefs=True,
            seed=settings.random_state,
            numUserBlocks=spark.sparkContext.defaultParallelism,
            numItemBlocks=spark.sparkContext.defaultParallelism,
            userCol="user",
            itemCol="item",
            ratingCol="confidence",
        ).fit(ratings)
    finally:
        ratings.unpersist()
    fitted.userFactors.write.parquet(str(workdir / "user_factors"))
    fitted.itemFactors.write.parquet(str(workdir / "item_factors"))
    model = ALSModel(**settings.model_dump())
    model.user_factors = _read_factors(workdir / "user_factors", staged.users.capacity, fitted.rank)
    model.item_factors = _read_factors(workdir / "item_factors", staged.items.capacity, fitted.rank)
    return model


def train_spark_bundle(
    batches: Iterable[EventBatch],
    catalog: Sequence[CatalogItem],
    settings: ModelSettings,
    *,
    weights: EventWeights | None = None,
) -> ModelBundle:
    """Train ALS in Spark (and the catalog-only content model here) into one bundle.

    Item-kNN and EASE need the whole interaction matrix in one process, so they are
    left to the single-machine trainer: kinds other than :data:`SPARK_KINDS` are
    skipped with a log line. The manifest records ``"trainer": "spark"``.

    Raises
    ------
    ConfigError
        If ``settings.kinds`` has no ``als``, or the ``spark`` extra is missing.
    InvalidInput
        If no event carries positive weight.
    """
    if "als" not in settings.kinds:
        raise ConfigError("the Spark trainer trains ALS: models.kinds must include 'als'")
    skipped = [kind for kind in settings.kinds if kind not in SPARK_KINDS]
    if skipped:
        log.warning("the Spark trainer skips %s (single-machine trainer only)", skipped)
    staging = settings.spark.staging_dir
    if staging is not None:
        staging.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="streamrec-spark-", dir=staging) as work,
        spark_session(settings.spark, Path(work)) as spark,
    ):
        staged = stage_interactions(
            batches,
            weights or EventWeights(),
            Path(work) / "interactions",
            item_ids=[item.item_id for item in catalog],
        )
        started = time.perf_counter()
        als = fit_spark_als(spark, staged, settings.als, Path(work))
        seconds = {"als": round(time.perf_counter() - started, 3)}
        master = spark.sparkContext.master
    if als.n_items >= settings.ann.min_items:
        ann = settings.ann
        als.build_index(ef_construction=ann.ef_construction, M=ann.M, ef=ann.ef)
    bundle = ModelBundle(users=staged.users, items=staged.items, als=als)
    if "content" in settings.kinds:
        started = time.perf_counter()
        content = ContentModel(staged.items, **settings.content.model_dump())
        bundle.content = content.fit(sp.csr_matrix((0, staged.items.capacity)), catalog)
        seconds["content"] = round(time.perf_counter() - started, 3)
    bundle.manifest = {
        "data_window": staged.window.as_dict(),
        "train_seconds": seconds,
        "trainer": {"name": "spark", "master": master},
    }
    return bundle


def _log_config(workdir: Path) -> Path:
    """A log4j2 configuration that prints errors only, to standard error."""
    path = workdir / "log4j2.properties"
    path.write_text(
        "rootLogger.level = error\n"
        "rootLogger.appenderRef.stderr.ref = stderr\n"
        "appender.console.type = Console\n"
        "appender.console.name = stderr\n"
        "appender.console.target = SYSTEM_ERR\n"
        "appender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n\n"
    )
    return path


def _read_factors(path: Path, rows: int, rank: int) -> np.ndarray:
    """``(rows, rank)`` ``float32`` factors from Spark's ``(id, features)`` Parquet output.

    Ids Spark has no factor for (no positive interaction) keep a zero row.
    """
    dataset: Any = import_extra("pyarrow.dataset", "spark", "the Spark trainer").dataset(
        path, format="parquet"
    )
    result = np.zeros((rows, rank), dtype=np.float32)
    for batch in dataset.to_batches(columns=["id", "features"]):
        ids = batch.column("id").to_numpy()
        features = batch.column("features").flatten().to_numpy()
        result[ids] = features.reshape(-1, rank)
    return result
