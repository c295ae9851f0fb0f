"""Batch models as candidate sources, hot-swapped from the model store.

:class:`ModelRegistry` holds the current :class:`~streamrec.models.bundle.ModelBundle`
and replaces it when the store publishes a newer version: the new bundle is loaded
on a background thread and swapped in with one reference assignment, so a request
uses either the old bundle or the new one, never half of each, and is never
blocked by a load. ALS folds the user's vector in from their *current* recent
interactions at request time, so their latest events move its candidates without
retraining. Sources answer in the state's dense item ids: the bundle's ids go
through one array look-up each way.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from streamrec.config import EventWeights
from streamrec.errors import CorruptData, NotFound, StreamrecError
from streamrec.models.bundle import ModelBundle
from streamrec.models.store import ModelStore
from streamrec.processing.weights import event_weights
from streamrec.recommend.types import CandidateSource, SourceKind, SourceRows, StateIds
from streamrec.state.base import CatalogItem, UserArrays

log = logging.getLogger(__name__)

#: Catalog writes kept to hand to a newly loaded bundle's content model (the most
#: recent ones; an item written before these gets its vector at the next training).
KEPT_CATALOG_WRITES = 100_000


class CatalogWrites:
    """Catalog items written to a running engine, given to its content models.

    A content vector needs nothing but metadata, so an item written to the catalog
    gets content neighbours at once, without retraining. The last
    :data:`KEPT_CATALOG_WRITES` items are kept and given again to each bundle loaded
    later, which was trained on a catalog that may predate them.
    """

    def __init__(self) -> None:
        self._recent: OrderedDict[str, CatalogItem] = OrderedDict()
        self.lock = threading.Lock()

    def record(self, bundle: ModelBundle | None, items: Sequence[CatalogItem]) -> None:
        """Keep ``items`` and add them to ``bundle``'s content model (if it has one)."""
        with self.lock:
            for item in items:
                self._recent.pop(item.item_id, None)
                self._recent[item.item_id] = item
            while len(self._recent) > KEPT_CATALOG_WRITES:
                self._recent.popitem(last=False)
            if bundle is not None and bundle.content is not None:
                bundle.content.add_items(items)

    def replay(self, bundle: ModelBundle) -> None:
        """Add every kept item to a newly loaded ``bundle``'s content model (hold
        :attr:`lock` until the bundle is in use, so that no write falls in between)."""
        if bundle.content is not None and self._recent:
            bundle.content.add_items(list(self._recent.values()))


class ModelRegistry:
    """The bundle in use, refreshed from a :class:`ModelStore`."""

    def __init__(self, store: ModelStore, poll_interval_s: float = 5.0) -> None:
        self.store = store
        self.poll_interval_s = poll_interval_s
        self.bundle: ModelBundle | None = None
        self._catalog = CatalogWrites()
        #: Why the newest published version is not in use (``None`` once it is).
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="model-registry", daemon=True)

    @property
    def version(self) -> str | None:
        """The version in use (``None`` before any model is published)."""
        bundle = self.bundle
        return bundle.version if bundle is not None else None

    def refresh(self) -> bool:
        """Load the store's latest version if it is newer; return whether it swapped.

        A version that fails to load leaves the one in use in place and is reported
        in :attr:`error` (and ``/readyz``) until a newer one loads.
        """
        latest = self.store.latest_version()
        if latest is None or latest == self.version:
            return False
        try:
            bundle = self.store.load(latest)
        except StreamrecError as exc:
            self.error = f"model version {latest} was not loaded: {exc}"
            log.error("%s; keeping %s", self.error, self.version)
            return False
        self._use(bundle)
        self.error = None
        log.info("serving models version %s", latest)
        return True

    def _use(self, bundle: ModelBundle) -> None:
        """Serve ``bundle``, with the catalog writes it has not seen."""
        with self._catalog.lock:
            self._catalog.replay(bundle)
            self.bundle = bundle

    def add_items(self, items: Sequence[CatalogItem]) -> None:
        """Give newly written catalog items to the content model, now and after swaps."""
        self._catalog.record(self.bundle, items)

    def published(self) -> list[dict[str, Any]]:
        """The manifest of every published version, newest first (versions pruned
        while they are read are left out)."""
        found = []
        for version in reversed(self.store.versions()):
            try:
                found.append(self.store.manifest(version))
            except (NotFound, CorruptData):
                continue
        return found

    def start(self) -> None:
        """Load what is published now (the newest version that loads, if the latest
        does not), then watch for new versions."""
        self.refresh()
        if self.bundle is None and self.error is not None:
            for version in reversed(self.store.versions()):
                try:
                    self._use(self.store.load(version))
                    log.warning("serving the older models version %s", version)
                    break
                except StreamrecError:
                    continue
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_interval_s):
            try:
                self.refresh()
            except Exception:  # a failing store must not stop serving the current models
                log.exception("looking for new models failed; keeping %s", self.version)

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


class FixedModels:
    """A bundle that never changes (offline evaluation, tests)."""

    error: str | None = None

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle: ModelBundle | None = bundle

    def add_items(self, items: Sequence[CatalogItem]) -> None:
        """Give newly written catalog items to the bundle's content model."""
        if self.bundle is not None and self.bundle.content is not None:
            self.bundle.content.add_items(items)

    @property
    def version(self) -> str | None:
        """The bundle's version, if it was published."""
        return self.bundle.version if self.bundle is not None else None

    def published(self) -> list[dict[str, Any]]:
        """The manifest of the one bundle."""
        return [self.bundle.manifest] if self.bundle is not None else []


class BundleSource:
    """One kind of model of the current bundle as a source.

    ``content`` blends with the content weight; ``als``, ``ease`` and ``itemknn``
    with the collaborative weight. The bundle's item ids are translated to and from
    the state's with the :class:`~streamrec.recommend.types.StateIds` handed in.
    """

    def __init__(
        self, registry: ModelRegistry | FixedModels, kind: str, weights: EventWeights
    ) -> None:
        self.registry = registry
        self.name = kind
        self.kind: SourceKind = "content" if kind == "content" else "collaborative"
        self._weights = weights
        self._reason = "similar to items you liked" if kind == "content" else "matches your taste"

    def candidates(self, user: UserArrays | None, n: int, ids: StateIds) -> SourceRows:
        """The model's top ``n`` for the user's recent interactions (folded in)."""
        bundle = self.registry.bundle
        model = getattr(bundle, self.name, None) if bundle is not None else None
        if bundle is None or model is None or user is None:
            return SourceRows.empty()
        row = self._user_row(bundle, user, ids)
        if row.nnz == 0:
            return SourceRows.empty()
        found, scores = model.recommend(row, n)
        return _rows(bundle, found[0], scores[0], self._reason, ids)

    def similar(self, item_id: str, n: int, ids: StateIds) -> SourceRows:
        """The model's nearest items to ``item_id``."""
        bundle = self.registry.bundle
        model = getattr(bundle, self.name, None) if bundle is not None else None
        item = bundle.items.get(item_id) if bundle is not None else None
        if bundle is None or model is None or item is None or item >= model.n_items:
            return SourceRows.empty()  # unknown, or learnt by the content model only
        found, scores = model.similar_items(np.array([item]), n)
        return _rows(bundle, found[0], scores[0], f"similar to {item_id}", ids)

    def _user_row(self, bundle: ModelBundle, user: UserArrays, ids: StateIds) -> sp.csr_matrix:
        """The user's recent interactions as one row of event weights over the bundle's
        items: summed per item (in order of first appearance, newest first) over the
        interactions of positive weight whose item the bundle knows."""
        columns = ids.from_state(bundle.items, user.recent_items)
        weights = event_weights(user.recent_types, user.recent_values, self._weights)
        keep = (columns >= 0) & (weights > 0)
        columns, weights = columns[keep], weights[keep]
        unique, first, inverse = np.unique(columns, return_index=True, return_inverse=True)
        summed = np.bincount(inverse, weights=weights, minlength=len(unique))
        order = np.argsort(first)
        values = summed[order].astype(np.float32)
        shape = (1, bundle.items.capacity)
        return sp.csr_matrix(
            (values, (np.zeros(len(order), np.int32), unique[order].astype(np.int32))),
            shape=shape,
        )


def model_sources(
    registry: ModelRegistry | FixedModels, weights: EventWeights
) -> Sequence[CandidateSource]:
    """A source for each model kind the current bundle holds."""
    bundle = registry.bundle
    kinds = bundle.models() if bundle is not None else {}
    return [BundleSource(registry, kind, weights) for kind in kinds]


def _rows(
    bundle: ModelBundle, found: np.ndarray, scores: np.ndarray, reason: str, ids: StateIds
) -> SourceRows:
    """A model's top list as state ids with non-negative scores."""
    keep = (found >= 0) & np.isfinite(scores)
    found, scores = found[keep], scores[keep]
    if len(scores) and scores.min() < 0:  # the blend expects non-negative evidence
        scores = scores - scores.min()
    state_ids = ids.to_state(bundle.items, found)
    known = state_ids >= 0
    return SourceRows(state_ids[known], scores[known].astype(np.float64), reason)
