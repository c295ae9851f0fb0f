"""Train the batch models from event history and publish them as one version."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from streamrec.config import DriftSettings, EventWeights
from streamrec.errors import InvalidInput
from streamrec.events import EventBatch
from streamrec.history.base import History
from streamrec.models.als import ALSModel
from streamrec.models.base import Recommender
from streamrec.models.bundle import ModelBundle
from streamrec.models.content import ContentModel
from streamrec.models.ease import EASEModel
from streamrec.models.itemknn import ItemKNNModel
from streamrec.models.matrix import InteractionMatrix
from streamrec.models.settings import ModelKind, ModelSettings
from streamrec.models.store import ModelStore
from streamrec.processing.drift_reference import ReferenceBuilder
from streamrec.state.base import CatalogItem


def train_models(
    batches: Iterable[EventBatch],
    catalog: Sequence[CatalogItem],
    settings: ModelSettings,
    kinds: Sequence[ModelKind] | None = None,
    *,
    weights: EventWeights | None = None,
    drift: DriftSettings | None = None,
) -> ModelBundle:
    """Build the interaction matrix and fit each requested model on it.

    Parameters
    ----------
    batches
        The training events (for example ``History.scan()``).
    catalog
        Item metadata; every catalog item gets an item id, with or without events.
    settings
        The ``models`` settings section.
    kinds
        Models to train; ``settings.kinds`` by default.
    weights
        Event weights (the ``weights`` settings section); the defaults if omitted.
    drift
        With the ``drift`` settings section, the training events are also counted
        into the reference window of drift monitoring, stored in the manifest under
        ``drift_reference`` (in the same pass over the events).

    Raises
    ------
    InvalidInput
        If a collaborative model is asked for but no event carries positive weight.
    """
    kinds = tuple(settings.kinds if kinds is None else kinds)
    reference = ReferenceBuilder(drift.block_events) if drift is not None else None
    if reference is not None:
        batches = _counted(batches, reference)
    matrix = InteractionMatrix.from_batches(
        batches, weights or EventWeights(), item_ids=[item.item_id for item in catalog]
    )
    bundle = ModelBundle(users=matrix.users, items=matrix.items)
    seconds: dict[str, float] = {}
    for kind in kinds:
        if kind != "content" and matrix.csr.nnz == 0:
            raise InvalidInput(f"no event with positive weight to train the {kind} model on")
        started = time.perf_counter()
        setattr(bundle, kind, _fit(kind, matrix, catalog, settings))
        seconds[kind] = round(time.perf_counter() - started, 3)
    bundle.manifest = {"data_window": matrix.window.as_dict(), "train_seconds": seconds}
    if reference is not None:
        primary = {item.item_id: item.categories[0] for item in catalog if item.categories}
        found = reference.finish(lambda ids: [primary.get(i) for i in ids], "training window")
        bundle.manifest["drift_reference"] = found.to_manifest()
    return bundle


def _counted(batches: Iterable[EventBatch], reference: ReferenceBuilder) -> Iterator[EventBatch]:
    """The batches, each counted into ``reference`` on its way through."""
    for batch in batches:
        reference.add(batch.user_id, batch.item_id, batch.type)
        yield batch


def train_and_publish(
    history: History,
    catalog: Sequence[CatalogItem],
    store: ModelStore,
    settings: ModelSettings,
    *,
    weights: EventWeights | None = None,
    drift: DriftSettings | None = None,
    metrics: dict[str, Any] | None = None,
) -> str:
    """Train on all of ``history``, publish the bundle, prune old versions.

    With ``drift``, the manifest carries the training window's drift reference (see
    :func:`train_models`).

    Returns
    -------
    str
        The published version.
    """
    bundle = train_models(history.scan(), catalog, settings, weights=weights, drift=drift)
    version = store.publish(bundle, {"metrics": metrics} if metrics is not None else None)
    store.prune(settings.keep_versions)
    return version


def _fit(
    kind: ModelKind,
    matrix: InteractionMatrix,
    catalog: Sequence[CatalogItem],
    settings: ModelSettings,
) -> Recommender:
    if kind == "als":
        als = ALSModel(**settings.als.model_dump()).fit(matrix.csr)
        if als.n_items >= settings.ann.min_items:
            ann = settings.ann
            als.build_index(ef_construction=ann.ef_construction, M=ann.M, ef=ann.ef)
        return als
    if kind == "itemknn":
        return ItemKNNModel(**settings.itemknn.model_dump()).fit(matrix.csr)
    if kind == "ease":
        return EASEModel(**settings.ease.model_dump()).fit(matrix.csr)
    content = ContentModel(matrix.items, **settings.content.model_dump())
    return content.fit(matrix.csr, catalog)
