"""The shipped path as an algorithm: what ``serve`` + ``ingest`` + ``train`` do by default.

:class:`ShippedAlgorithm` runs the code a user runs, in process and with no flags: a
fresh engine (:func:`~streamrec.bootstrap.in_memory_engine`: the embedded engine's
state and recommender without the files) is fed the catalog and then the training
events in the processor's micro-batches (``streamrec ingest``); the models and the
serving blend are chosen on validation and trained from those events by
:func:`~streamrec.evaluation.selection.train_selected`, the step ``streamrec train``
publishes (on a first training nothing is served yet, so popularity alone gates
it), and served as a server serves the version it hot-swapped in (``streamrec
serve``: the version's tuned settings under the user's explicit ones).
``trained=False`` is the engine before any training.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from streamrec.config import Settings
from streamrec.evaluation.adapters import EngineAlgorithm
from streamrec.evaluation.selection import train_selected
from streamrec.events import EventBatch
from streamrec.models.bundle import ModelBundle
from streamrec.state.base import CatalogItem

log = logging.getLogger(__name__)


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
        bundle, selection = train_selected(train, self.catalog, self.settings)
        reason = selection.refusal()
        if reason is not None:
            log.warning("streamrec train would not publish: %s", reason)
            return None
        return bundle
