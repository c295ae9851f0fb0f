"""Trained model bundles shared by the configurations of one evaluation or search."""

from __future__ import annotations

from collections.abc import Sequence

from streamrec.config import Settings
from streamrec.events import EventBatch
from streamrec.models.bundle import ModelBundle
from streamrec.models.trainer import train_models
from streamrec.state.base import CatalogItem


class ModelCache:
    """Bundles trained by :func:`~streamrec.models.trainer.train_models`, reused.

    Configurations that differ only in blending or streaming settings train the same
    models on the same events; a search over them would otherwise refit, say, EASE
    once per configuration. An entry is keyed by the training batch *object* (held,
    so its identity cannot be reused) and the ``models`` and ``weights`` settings.
    Served bundles are never mutated, so engines can share one.

    Parameters
    ----------
    capacity
        How many bundles to keep (the oldest is dropped first).
    """

    def __init__(self, capacity: int = 4) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._entries: list[tuple[EventBatch, str, ModelBundle]] = []

    def bundle(
        self, train: EventBatch, catalog: Sequence[CatalogItem], settings: Settings
    ) -> ModelBundle:
        """The models of ``settings`` trained on ``train`` (trained on the first call)."""
        key = settings.models.model_dump_json() + settings.weights.model_dump_json()
        for batch, entry_key, bundle in self._entries:
            if batch is train and entry_key == key:
                return bundle
        bundle = train_models([train], catalog, settings.models, weights=settings.weights)
        self._entries = [*self._entries[-(self.capacity - 1) :], (train, key, bundle)]
        return bundle
