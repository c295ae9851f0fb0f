"""A set of models trained together, with the id maps that give their ids meaning."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streamrec.ids import IdMap
from streamrec.models.als import ALSModel
from streamrec.models.base import Recommender
from streamrec.models.content import ContentModel
from streamrec.models.ease import EASEModel
from streamrec.models.itemknn import ItemKNNModel

#: Every model kind, by the name it has in bundles, manifests and settings.
MODEL_TYPES: dict[str, type[Recommender]] = {
    model.kind: model for model in (ALSModel, ItemKNNModel, EASEModel, ContentModel)
}


@dataclass
class ModelBundle:
    """Models of one training run (any subset of the kinds) and their id maps.

    Attributes
    ----------
    users, items
        Dense ids of the training matrix's rows and columns; every model of the
        bundle uses these item ids (the content model may intern new items into
        ``items`` as they arrive).
    manifest
        What the run was trained on and how (data window, parameters, metrics).
    version
        The store version it was published as or loaded from, if any.
    """

    users: IdMap
    items: IdMap
    als: ALSModel | None = None
    itemknn: ItemKNNModel | None = None
    ease: EASEModel | None = None
    content: ContentModel | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    version: str | None = None

    def models(self) -> dict[str, Recommender]:
        """The models present, by kind."""
        present = {
            "als": self.als,
            "itemknn": self.itemknn,
            "ease": self.ease,
            "content": self.content,
        }
        return {kind: model for kind, model in present.items() if model is not None}
