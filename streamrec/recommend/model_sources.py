"""Batch models as candidate sources, hot-swapped from the model store.

:class:`ModelRegistry` holds the current :class:`~streamrec.models.bundle.ModelBundle`
and replaces it when the store publishes a newer version: the new bundle is loaded
on a background thread and swapped in with one reference assignment, so a request
uses either the old bundle or the new one, never half of each, and is never
blocked by a load. ALS folds the user's vector in from their *current* recent
interactions at request time, so their latest events move its candidates without
retraining.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from streamrec.config import EventWeights
from streamrec.events import TYPE_CODE, EventType
from streamrec.models.bundle import ModelBundle
from streamrec.models.store import ModelStore
from streamrec.processing.weights import type_weight_table
from streamrec.recommend.types import CandidateSource, SourceCandidates
from streamrec.state.base import ScoredItems, UserProfile

log = logging.getLogger(__name__)


class ModelRegistry:
    """The bundle in use, refreshed from a :class:`ModelStore`."""

    def __init__(self, store: ModelStore, poll_interval_s: float = 5.0) -> None:
        self.store = store
        self.poll_interval_s = poll_interval_s
        self.bundle: ModelBundle | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="model-registry", daemon=True)

    @property
    def version(self) -> str | None:
        """The version in use (``None`` before any model is published)."""
        bundle = self.bundle
        return bundle.version if bundle is not None else None

    def refresh(self) -> bool:
        """Load the store's latest version if it is newer; return whether it swapped."""
        latest = self.store.latest_version()
        if latest is None or latest == self.version:
            return False
        self.bundle = self.store.load(latest)
        log.info("serving models version %s", latest)
        return True

    def start(self) -> None:
        """Load what is published now, then watch for new versions."""
        self.refresh()
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_interval_s):
            try:
                self.refresh()
            except Exception:  # a bad artifact must not stop serving the current one
                log.exception("loading a new model version failed; keeping %s", self.version)

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


class FixedModels:
    """A bundle that never changes (offline evaluation, tests)."""

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle: ModelBundle | None = bundle

    @property
    def version(self) -> str | None:
        """The bundle's version, if it was published."""
        return self.bundle.version if self.bundle is not None else None


class BundleSource:
    """One kind of model of the current bundle as a source.

    ``content`` blends with the content weight; ``als``, ``ease`` and ``itemknn``
    with the collaborative weight.
    """

    def __init__(
        self, registry: ModelRegistry | FixedModels, kind: str, weights: EventWeights
    ) -> None:
        self.registry = registry
        self.name = kind
        self.kind = "content" if kind == "content" else "collaborative"
        self._type_weights = type_weight_table(weights)
        self._per_star, self._neutral = weights.rating_per_star, weights.rating_neutral
        self._reason = "similar to items you liked" if kind == "content" else "matches your taste"

    def candidates(self, profile: UserProfile | None, seeds: list[str], n: int) -> SourceCandidates:
        """The model's top ``n`` for the user's recent interactions (folded in)."""
        bundle = self.registry.bundle
        model = getattr(bundle, self.name, None) if bundle is not None else None
        if bundle is None or model is None or profile is None:
            return _empty()
        row = self._user_row(bundle, profile)
        if row.nnz == 0:
            return _empty()
        ids, scores = model.recommend(row, n)
        return _named(bundle, ids[0], scores[0], self._reason)

    def similar(self, item_id: str, n: int) -> SourceCandidates:
        """The model's nearest items to ``item_id``."""
        bundle = self.registry.bundle
        model = getattr(bundle, self.name, None) if bundle is not None else None
        item = bundle.items.get(item_id) if bundle is not None else None
        if bundle is None or model is None or item is None:
            return _empty()
        ids, scores = model.similar_items(np.array([item]), n)
        return _named(bundle, ids[0], scores[0], f"similar to {item_id}")

    def _user_row(self, bundle: ModelBundle, profile: UserProfile) -> sp.csr_matrix:
        weights: dict[int, float] = {}
        for interaction in profile.recent:
            item = bundle.items.get(interaction.item_id)
            weight = float(self._type_weights[TYPE_CODE[interaction.type]])
            if interaction.type == EventType.RATING and interaction.value is not None:
                weight += self._per_star * (interaction.value - self._neutral)
            if item is not None and weight > 0:
                weights[item] = weights.get(item, 0.0) + weight
        columns = np.fromiter(weights, dtype=np.int32, count=len(weights))
        values = np.fromiter(weights.values(), dtype=np.float32, count=len(weights))
        shape = (1, bundle.items.capacity)
        return sp.csr_matrix((values, (np.zeros(len(columns), np.int32), columns)), shape=shape)


def model_sources(
    registry: ModelRegistry | FixedModels, weights: EventWeights
) -> Sequence[CandidateSource]:
    """A source for each model kind the current bundle holds."""
    bundle = registry.bundle
    kinds = bundle.models() if bundle is not None else {}
    return [BundleSource(registry, kind, weights) for kind in kinds]


def _empty() -> SourceCandidates:
    return SourceCandidates(ScoredItems([], np.empty(0)), [])


def _named(
    bundle: ModelBundle, ids: np.ndarray, scores: np.ndarray, reason: str
) -> SourceCandidates:
    keep = (ids >= 0) & np.isfinite(scores)
    ids, scores = ids[keep], scores[keep]
    if len(scores) and scores.min() < 0:  # the blend expects non-negative evidence
        scores = scores - scores.min()
    return SourceCandidates(
        ScoredItems(bundle.items.names(ids), scores.astype(np.float64)), [reason] * len(ids)
    )
