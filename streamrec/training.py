"""Training the batch models from the configured history into the model store."""

from __future__ import annotations

from typing import Literal

from streamrec.adapters import (
    adapter_class,
    catalog_journal_path,
    log_directory,
    models_directory,
)
from streamrec.config import Settings
from streamrec.engine import CatalogJournal
from streamrec.errors import ConfigError
from streamrec.models.store import ModelStore
from streamrec.models.trainer import train_and_publish

#: Who fits the models: ``implicit`` in this process, or Spark MLlib (ALS).
Trainer = Literal["implicit", "spark"]
TRAINERS: tuple[Trainer, ...] = ("implicit", "spark")


def train_from_history(settings: Settings, trainer: Trainer = "implicit") -> str:
    """Train on every event of the history, publish atomically; return the version.

    ``trainer="spark"`` fits ALS on Spark (``models.spark``) and publishes the same
    artifact; see :func:`streamrec.models.spark_als.train_spark_bundle`.

    Raises
    ------
    ConfigError
        If ``trainer`` is not one of :data:`TRAINERS`.
    """
    if trainer not in TRAINERS:
        raise ConfigError(f"unknown trainer {trainer!r} (known: {', '.join(TRAINERS)})")
    history_class = adapter_class("history", settings.history.url)
    if settings.history.url == "embedded":
        history = history_class(log_directory(settings.data_dir))
    else:
        history = history_class.connect(settings.history.url)
    try:
        catalog = CatalogJournal(catalog_journal_path(settings.data_dir)).read()
        store = ModelStore(models_directory(settings.data_dir))
        if trainer == "implicit":
            return train_and_publish(
                history, catalog, store, settings.models, weights=settings.weights
            )
        from streamrec.models.spark_als import train_spark_bundle

        bundle = train_spark_bundle(
            history.scan(), catalog, settings.models, weights=settings.weights
        )
        version = store.publish(bundle)
        store.prune(settings.models.keep_versions)
        return version
    finally:
        history.close()
