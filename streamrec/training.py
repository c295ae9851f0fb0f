"""Training the batch models from the configured history into the model store."""

from __future__ import annotations

from streamrec.adapters import (
    adapter_class,
    catalog_journal_path,
    log_directory,
    models_directory,
)
from streamrec.config import Settings
from streamrec.engine import CatalogJournal
from streamrec.models.store import ModelStore
from streamrec.models.trainer import train_and_publish


def train_from_history(settings: Settings) -> str:
    """Train on every event of the history, publish atomically; return the version."""
    history_class = adapter_class("history", settings.history.url)
    if settings.history.url == "embedded":
        history = history_class(log_directory(settings.data_dir))
    else:
        history = history_class.connect(settings.history.url)
    try:
        catalog = CatalogJournal(catalog_journal_path(settings.data_dir)).read()
        store = ModelStore(models_directory(settings.data_dir))
        return train_and_publish(history, catalog, store, settings.models, weights=settings.weights)
    finally:
        history.close()
