"""Batch-trained models (ALS, item-kNN, EASE, content), their ANN index and store."""

import importlib
from typing import Any

#: Public names, imported on first use so that ``streamrec.config`` can import the
#: ``models`` settings section without loading every model.
_EXPORTS = {
    "ALSModel": "streamrec.models.als",
    "AnnIndex": "streamrec.models.ann",
    "Confidence": "streamrec.models.weighting",
    "ContentModel": "streamrec.models.content",
    "DataWindow": "streamrec.models.matrix",
    "EASEModel": "streamrec.models.ease",
    "InteractionMatrix": "streamrec.models.matrix",
    "ItemKNNModel": "streamrec.models.itemknn",
    "MODEL_TYPES": "streamrec.models.bundle",
    "ModelBundle": "streamrec.models.bundle",
    "ModelSettings": "streamrec.models.settings",
    "ModelStore": "streamrec.models.store",
    "Recommender": "streamrec.models.base",
    "event_weights": "streamrec.models.weighting",
    "train_and_publish": "streamrec.models.trainer",
    "train_models": "streamrec.models.trainer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'streamrec.models' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
