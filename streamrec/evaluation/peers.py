"""Other projects' recommenders as baselines, measured side by side in the same run.

:class:`RtrecSLIM` is ``rtrec``'s SLIM (elastic-net item-item regression) with its
defaults; ``rtrec`` is a development dependency (``pip install 'streamrec[dev]'``).
It is fed what a user of that library would feed it: ``(user, item, time, rating)``
tuples whose rating is the event's value for ratings and the event's weight
otherwise (interactions of non-positive weight are left out, as in the batch models'
matrix). ``learn`` uses its incremental ``fit``, which refits the touched items.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from streamrec.config import EventWeights
from streamrec.events import EventBatch
from streamrec.extras import import_extra
from streamrec.models.weighting import event_weights
from streamrec.processing.weights import RATING


def _interactions(batch: EventBatch, weights: EventWeights) -> list[tuple[str, str, float, float]]:
    """``(user, item, seconds, rating)`` of the events of positive weight."""
    weight = event_weights(batch.type, batch.value, weights)
    rating = np.where(batch.type == RATING, batch.value, weight)
    columns = zip(
        batch.user_id,
        batch.item_id,
        (batch.timestamp / 1000.0).tolist(),
        rating.tolist(),
        (weight > 0).tolist(),
        strict=True,
    )
    return [(user, item, at, float(value)) for user, item, at, value, keep in columns if keep]


class RtrecSLIM:
    """``rtrec.models.SLIM()`` under the protocols.

    Parameters
    ----------
    weights
        Event weights for events that are not ratings.
    params
        Keyword arguments of ``SLIM`` (none: its defaults).
    """

    name = "rtrec-slim"

    def __init__(self, weights: EventWeights, **params: Any) -> None:
        self._module = import_extra("rtrec.models", "dev", "the rtrec SLIM baseline")
        self.weights = weights
        self.params = params
        self.model: Any = None

    def fit(self, train: EventBatch) -> None:
        """A fresh SLIM fitted on ``train`` in bulk."""
        self.model = self._module.SLIM(**self.params)
        self.model.add_interactions(_interactions(train, self.weights))
        self.model.bulk_fit(parallel=False, progress_bar=False)

    def learn(self, batch: EventBatch) -> None:
        """Add ``batch`` and refit the items it touches (rtrec's incremental fit)."""
        if self.model is None:
            raise RuntimeError("rtrec-slim must be fitted before it learns")
        self.model.fit(_interactions(batch, self.weights), progress_bar=False)

    def recommend(self, user_ids: list[str], k: int, exclude: list[set[str]]) -> list[list[str]]:
        """rtrec's top lists (its own interacted-item filter on), ``exclude`` removed."""
        if self.model is None:
            raise RuntimeError("rtrec-slim must be fitted before it recommends")
        wanted = k + max((len(e) for e in exclude), default=0)
        lists = self.model.recommend_batch(user_ids, top_k=wanted, filter_interacted=True)
        return [
            [item for item in items if item not in banned][:k]
            for items, banned in zip(lists, exclude, strict=True)
        ]
