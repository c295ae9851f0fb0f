"""Settings of the batch models, the ANN index and retraining (the ``models`` section)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from streamrec.models.ann import DEFAULT_EF, DEFAULT_EF_CONSTRUCTION, DEFAULT_M


class Confidence(StrEnum):
    """How a model turns summed interaction weights into confidences.

    ``linear`` keeps the weights, ``log`` uses ``log1p(weight)`` (damps heavy users
    and repeated events), ``binary`` turns every weight into its sign. Interaction
    matrices hold positive totals only, so ``log`` is always defined.
    """

    LINEAR = "linear"
    LOG = "log"
    BINARY = "binary"


ModelKind = Literal["als", "itemknn", "ease", "content"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ALSSettings(_Section):
    """Implicit ALS (see :class:`~streamrec.models.als.ALSModel`)."""

    factors: int = Field(default=64, ge=1, le=1024)
    regularization: float = Field(default=0.05, ge=0)
    alpha: float = Field(default=1.0, gt=0)
    iterations: int = Field(default=15, ge=1, le=1000)
    random_state: int = 42
    confidence: Confidence = Confidence.LINEAR


class ItemKNNSettings(_Section):
    """Cosine item-item neighbours (see :class:`~streamrec.models.itemknn.ItemKNNModel`)."""

    neighbors: int = Field(default=100, ge=1, le=10_000)
    shrink: float = Field(default=10.0, ge=0)
    confidence: Confidence = Confidence.LINEAR


class EASESettings(_Section):
    """Closed-form EASE (see :class:`~streamrec.models.ease.EASEModel`)."""

    l2: float = Field(default=500.0, gt=0)
    max_items: int = Field(default=20_000, ge=1)
    confidence: Confidence = Confidence.LINEAR


class ContentSettings(_Section):
    """Metadata TF-IDF field weights (see :class:`~streamrec.models.content.ContentModel`)."""

    category_weight: float = Field(default=1.0, ge=0)
    tag_weight: float = Field(default=1.0, ge=0)
    title_weight: float = Field(default=0.5, ge=0)


class AnnSettings(_Section):
    """HNSW retrieval over ALS item factors, used from ``min_items`` catalog items up."""

    min_items: int = Field(default=50_000, ge=0)
    M: int = Field(default=DEFAULT_M, ge=2, le=256)
    ef_construction: int = Field(default=DEFAULT_EF_CONSTRUCTION, ge=1)
    ef: int = Field(default=DEFAULT_EF, ge=1)


class SparkSettings(_Section):
    """Spark MLlib ALS training (``streamrec train --trainer spark``).

    ``master`` is any Spark master URL (``local[*]``, ``spark://host:7077``,
    ``yarn``, ...). The trainer writes the event weights as Parquet parts under
    ``staging_dir`` (a fresh temporary folder when unset) and reads the factors back
    from there: on a cluster it must be a path every executor and the driver see
    (a shared file system). ``conf`` passes Spark properties through unchanged.
    """

    master: str = Field(
        default="local[*]", pattern=r"^(local(\[[0-9*, ]+\])?|yarn|[a-z0-9]+://\S+)$"
    )
    staging_dir: Path | None = None
    conf: dict[str, str] = Field(default_factory=dict)


class ModelSettings(_Section):
    """Which models to train, their hyper-parameters, and when to retrain.

    A server on the embedded topology retrains in a separate process (see
    :mod:`streamrec.models.schedule`) once ``retrain_every_events`` events were
    applied since the last training started, or ``retrain_every_s`` seconds passed
    and at least one event arrived. 0 turns a trigger off; both 0 turn the schedule
    off (``streamrec train`` still publishes on demand).

    Training chooses the models and the blend on a validation split of the history
    (:mod:`streamrec.evaluation.selection`) for at most about ``tune_budget_s``
    seconds (0: the configured models and blend only, still validated), scoring
    ``validation_users`` users at most.
    """

    kinds: tuple[ModelKind, ...] = ("als", "itemknn", "content")
    als: ALSSettings = ALSSettings()
    itemknn: ItemKNNSettings = ItemKNNSettings()
    ease: EASESettings = EASESettings()
    content: ContentSettings = ContentSettings()
    ann: AnnSettings = AnnSettings()
    spark: SparkSettings = SparkSettings()
    retrain_every_events: int = Field(default=1_000_000, ge=0)
    retrain_every_s: float = Field(default=86_400.0, ge=0)
    keep_versions: int = Field(default=5, ge=1)
    tune_budget_s: float = Field(default=90.0, ge=0)
    validation_users: int = Field(default=500, ge=1)
