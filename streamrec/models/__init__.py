"""Batch-trained models (ALS, item-kNN, EASE, content), their ANN index and store."""

from streamrec.models.als import ALSModel
from streamrec.models.ann import AnnIndex
from streamrec.models.base import Recommender
from streamrec.models.bundle import MODEL_TYPES, ModelBundle
from streamrec.models.content import ContentModel
from streamrec.models.ease import EASEModel
from streamrec.models.itemknn import ItemKNNModel
from streamrec.models.matrix import DataWindow, InteractionMatrix
from streamrec.models.settings import ModelSettings
from streamrec.models.store import ModelStore
from streamrec.models.trainer import train_and_publish, train_models
from streamrec.models.weighting import Confidence, event_weights

__all__ = [
    "ALSModel",
    "AnnIndex",
    "Confidence",
    "ContentModel",
    "DataWindow",
    "EASEModel",
    "InteractionMatrix",
    "ItemKNNModel",
    "MODEL_TYPES",
    "ModelBundle",
    "ModelSettings",
    "ModelStore",
    "Recommender",
    "event_weights",
    "train_and_publish",
    "train_models",
]
