"""Adapters that let the batch models and the streaming engine run under the protocols."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from streamrec.bootstrap import in_memory_engine
from streamrec.config import EventWeights, Settings
from streamrec.engine import Engine
from streamrec.evaluation.baselines import exclusion_matrix
from streamrec.evaluation.model_cache import ModelCache
from streamrec.events import EventBatch
from streamrec.models.base import Recommender
from streamrec.models.bundle import ModelBundle
from streamrec.models.matrix import InteractionMatrix
from streamrec.models.weighting import event_weights
from streamrec.state.base import CatalogItem
from streamrec.state.memory import MemoryState


class ModelAlgorithm:
    """A batch model (item-kNN, EASE, ALS, ...) fitted on an :class:`InteractionMatrix`.

    ``learn`` keeps the model's parameters and only remembers each user's newer
    events: they join the user's row when recommending (items unknown to the model
    are ignored), which is how a deployed batch model folds in fresh behaviour
    between trainings.

    Parameters
    ----------
    name
        The name in reports.
    make_model
        Builds a fresh, unfitted model.
    weights
        Event weights of the interaction matrix.
    """

    def __init__(
        self, name: str, make_model: Callable[[], Recommender], weights: EventWeights
    ) -> None:
        self.name = name
        self.make_model = make_model
        self.weights = weights
        self.matrix: InteractionMatrix | None = None
        self.model: Recommender | None = None
        self.recent: dict[str, tuple[list[str], list[float]]] = {}

    def fit(self, train: EventBatch) -> None:
        """Build the interaction matrix of ``train`` and fit a fresh model on it."""
        self.matrix = InteractionMatrix.from_batches(train, self.weights)
        self.model = self.make_model().fit(self.matrix.csr)
        self.recent = {}

    def learn(self, batch: EventBatch) -> None:
        """Remember ``batch``'s events for their users' rows (the model is unchanged)."""
        weights = event_weights(batch.type, batch.value, self.weights).tolist()
        for user, item, weight in zip(batch.user_id, batch.item_id, weights, strict=True):
            items, item_weights = self.recent.setdefault(user, ([], []))
            items.append(item)
            item_weights.append(weight)

    def _rows(self, matrix: InteractionMatrix, user_ids: list[str]) -> sp.csr_matrix:
        rows = matrix.rows_for(user_ids)
        if not any(u in self.recent for u in user_ids):
            return rows
        newer = matrix.user_items_from(
            [
                (items, np.asarray(weights))
                for items, weights in (self.recent.get(u, ([], [])) for u in user_ids)
            ]
        )
        return (rows + newer).tocsr()

    def recommend(self, user_ids: list[str], k: int, exclude: list[set[str]]) -> list[list[str]]:
        """The model's top ``k`` for each user's row, ``exclude`` removed."""
        if self.matrix is None or self.model is None:
            raise RuntimeError(f"{self.name} must be fitted before it recommends")
        matrix = self.matrix
        banned = exclusion_matrix(exclude, matrix.items)
        ids, _ = self.model.recommend(self._rows(matrix, user_ids), k, banned)
        return [matrix.items.names(row[row >= 0]) for row in ids]


def with_overrides(settings: Settings, overrides: Mapping[str, Mapping[str, Any]]) -> Settings:
    """``settings`` with section values replaced, e.g. ``{"recommend": {"seed_items": 5}}``.

    Each changed section is validated again.
    """
    changed = {}
    for section, values in overrides.items():
        current = getattr(settings, section, None)
        if current is None or not isinstance(values, Mapping):
            raise TypeError(f"unknown settings section {section!r}")
        changed[section] = type(current).model_validate({**current.model_dump(), **values})
    return settings.model_copy(update=changed)


class EngineAlgorithm:
    """The streaming engine (:func:`~streamrec.bootstrap.in_memory_engine`) under a settings
    configuration.

    Parameters
    ----------
    settings
        Base settings.
    overrides
        Per-section overrides (see :func:`with_overrides`).
    catalog
        Items to load into the engine before any event.
    name
        The name in reports (a configuration may be given its own).
    batch_models
        Also train the ``models.kinds`` batch models on the training events and
        serve them as candidate sources beside the streaming state (a hybrid).
    models
        Where trained bundles are shared with other configurations; a private
        cache when omitted.
    """

    def __init__(
        self,
        settings: Settings,
        overrides: Mapping[str, Mapping[str, Any]],
        catalog: Sequence[CatalogItem] = (),
        name: str = "streamrec",
        batch_models: bool = False,
        models: ModelCache | None = None,
    ) -> None:
        self.name = name
        self.settings = with_overrides(settings, overrides)
        self.catalog = list(catalog)
        self.batch_models = batch_models
        self.models = ModelCache(capacity=1) if models is None else models
        self.engine: Engine[MemoryState] | None = None

    def fit(self, train: EventBatch) -> None:
        """A fresh engine with the catalog (and models trained on ``train``), fed ``train``."""
        self.engine = in_memory_engine(self.settings, self.trained_models(train))
        if self.catalog:
            self.engine.upsert_items(self.catalog)
        self.learn(train)

    def trained_models(self, train: EventBatch) -> ModelBundle | None:
        """The batch models the engine serves, trained on ``train`` (``None``: none)."""
        if not self.batch_models:
            return None
        return self.models.bundle(train, self.catalog, self.settings)

    def learn(self, batch: EventBatch) -> None:
        """Apply ``batch`` in micro-batches of the configured size."""
        engine = self._fitted()
        size = self.settings.processor.max_batch
        for start in range(0, len(batch), size):
            engine.ingest(batch.take(slice(start, start + size)))

    def recommend(self, user_ids: list[str], k: int, exclude: list[set[str]]) -> list[list[str]]:
        """One engine request per user."""
        engine = self._fitted()
        return [
            [item.item_id for item in engine.recommend(user, k, exclude=banned).items]
            for user, banned in zip(user_ids, exclude, strict=True)
        ]

    def _fitted(self) -> Engine[MemoryState]:
        if self.engine is None:
            raise RuntimeError(f"{self.name} must be fitted before it learns or recommends")
        return self.engine
