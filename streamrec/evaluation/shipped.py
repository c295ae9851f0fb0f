"""The shipped path as an algorithm: what ``serve`` + ``ingest`` + ``train`` do by default.

:class:`ShippedAlgorithm` runs the code a user runs, in process and with no flags: a
fresh engine (:func:`~streamrec.bootstrap.in_memory_engine`: the embedded engine's
state and recommender without the files) is fed the catalog and then the training
events in the processor's micro-batches (``streamrec ingest``); the batch models are
trained from those events by :func:`~streamrec.models.trainer.train_models` with the
``models``, ``weights`` and ``drift`` settings, the step ``streamrec train``
publishes, and served as a server serves the version it hot-swapped in
(``streamrec serve``). ``trained=False`` is the engine before any training.
"""

from __future__ import annotations

from collections.abc import Sequence

from streamrec.config import Settings
from streamrec.evaluation.adapters import EngineAlgorithm
from streamrec.events import EventBatch
from streamrec.models.bundle import ModelBundle
from streamrec.models.trainer import train_models
from streamrec.state.base import CatalogItem


class ShippedAlgorithm(EngineAlgorithm):
    """The engine as ``streamrec serve`` runs it after ``ingest`` (and ``train``).

    Parameters
    ----------
    settings
        The settings of every step (the defaults, unless ``--config`` gives others).
    catalog
        The dataset's catalog (ingested before the events).
    trained
        Also run ``streamrec train`` on the ingested events and serve its models.
    """

    def __init__(
        self, settings: Settings, catalog: Sequence[CatalogItem] = (), trained: bool = True
    ) -> None:
        name = "shipped" if trained else "shipped-untrained"
        super().__init__(settings, {}, catalog, name=name, batch_models=trained)

    def trained_models(self, train: EventBatch) -> ModelBundle | None:
        """What ``streamrec train`` publishes after ingesting ``train``."""
        if not self.batch_models:
            return None
        return train_models(
            [train],
            self.catalog,
            self.settings.models,
            weights=self.settings.weights,
            drift=self.settings.drift,
        )
