"""What each dashboard page shows, asked of the :class:`~streamrec.engine.Engine` facade.

Every function returns plain values for a template: the same calls the JSON routes
make (``recommend``, ``similar``, ``ranked``, ``item``, ``profile``, ``status``), with
item titles looked up in the catalog. Nothing here computes a recommendation or a
metric of its own.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from streamrec.engine import Engine
from streamrec.errors import BackendUnavailable
from streamrec.recommend.explain import Explanation
from streamrec.recommend.types import Recommendation, RecommendedItem
from streamrec.state.base import CatalogItem, ItemStats, Ranking, StateSizes, UserProfile

#: Items in the overview's popular and trending lists, and in inspector lists.
LIST_SIZE = 10


@dataclass(frozen=True, slots=True)
class Listed:
    """One item of a list as a page shows it: the recommender's item and its title."""

    item: RecommendedItem
    title: str | None
    category: str | None

    @property
    def label(self) -> str:
        """The title, or the id where the catalog has no title."""
        return self.title or self.item.item_id


def listed(engine: Engine[Any], rec: Recommendation) -> list[Listed]:
    """``rec``'s items with their catalog titles and primary categories."""
    entries = engine.catalog([item.item_id for item in rec.items])
    return [
        Listed(item, meta.title if meta else None, _primary(meta))
        for item, meta in zip(rec.items, entries, strict=True)
    ]


def _primary(meta: CatalogItem | None) -> str | None:
    return meta.categories[0] if meta is not None and meta.categories else None


@dataclass(frozen=True, slots=True)
class Overview:
    """The overview's state part (the live figures come from :mod:`streamrec.ui.live`)."""

    sizes: StateSizes | None
    popular: list[Listed]
    trending: list[Listed]
    model_version: str | None
    model_created_at: str | None
    ready: bool
    processor_error: str | None


def overview(engine: Engine[Any], k: int = LIST_SIZE) -> Overview:
    """Sizes, the popular and trending lists, the model in use and readiness."""
    status = engine.status()
    manifest = engine.model_manifest or {}
    return Overview(
        sizes=_sizes(engine),
        popular=listed(engine, engine.ranked(Ranking.POPULAR, k)),
        trending=listed(engine, engine.ranked(Ranking.TRENDING, k)),
        model_version=engine.model_version,
        model_created_at=manifest.get("created_at"),
        ready=status.ready,
        processor_error=status.processor_error,
    )


def _sizes(engine: Engine[Any]) -> StateSizes | None:
    try:
        return engine.sizes()
    except BackendUnavailable:
        return None


@dataclass(frozen=True, slots=True)
class UserView:
    """The user inspector: profile, titles of recent items, and the list served now."""

    user_id: str
    profile: UserProfile | None
    titles: dict[str, str]
    recommendations: list[Listed]
    sources: list[str]
    variant: str
    model_version: str | None
    fallback: bool


def user_view(engine: Engine[Any], user_id: str, k: int = LIST_SIZE) -> UserView:
    """What the engine knows of ``user_id`` and recommends them (an unknown user gets
    the cold-start list)."""
    profile = engine.profile(user_id)
    rec = engine.recommend(user_id, k, exclude_seen=True)
    items = listed(engine, rec)
    recent = [i.item_id for i in profile.recent] if profile is not None else []
    return UserView(
        user_id=user_id,
        profile=profile,
        titles=_titles(engine, recent),
        recommendations=items,
        sources=sorted({name for entry in items for name in entry.item.sources}),
        variant=rec.variant,
        model_version=rec.model_version,
        fallback=rec.fallback,
    )


def explain_view(
    engine: Engine[Any], user_id: str, item_id: str, k: int = LIST_SIZE
) -> Explanation:
    """Why ``item_id`` is or is not on the list the user inspector shows (same ``k``,
    seen items excluded)."""
    return engine.explain(user_id, item_id, k, exclude_seen=True)


def title_of(engine: Engine[Any], item_id: str) -> str:
    """The catalog title of ``item_id``, or the id where it has none."""
    return _titles(engine, [item_id]).get(item_id, item_id)


def _titles(engine: Engine[Any], item_ids: Sequence[str]) -> dict[str, str]:
    unique = list(dict.fromkeys(item_ids))
    return {
        item_id: meta.title
        for item_id, meta in zip(unique, engine.catalog(unique), strict=True)
        if meta is not None and meta.title
    }


@dataclass(frozen=True, slots=True)
class ItemView:
    """The item inspector: metadata, live statistics and neighbours."""

    item_id: str
    metadata: CatalogItem | None
    stats: ItemStats | None
    similar: list[Listed]


def item_view(engine: Engine[Any], item_id: str, k: int = LIST_SIZE) -> ItemView:
    """``item_id``'s catalog entry, statistics and most similar items."""
    meta, stats = engine.item(item_id)
    similar = listed(engine, engine.similar(item_id, k)) if meta or stats else []
    return ItemView(item_id, meta, stats, similar)


@dataclass(frozen=True, slots=True)
class ModelRow:
    """One published model version."""

    version: str | None
    created_at: str | None
    age_s: float | None
    kinds: list[str]
    in_use: bool
    data_window: dict[str, Any]
    metrics: dict[str, Any]
    train_seconds: dict[str, float]


def models_view(engine: Engine[Any]) -> list[ModelRow]:
    """Every published version, newest first, from its manifest."""
    in_use = engine.model_version
    return [_model_row(manifest, in_use) for manifest in engine.published_models()]


def _model_row(manifest: dict[str, Any], in_use: str | None) -> ModelRow:
    created = manifest.get("created_at")
    age = time.time() - datetime.fromisoformat(created).timestamp() if created else None
    version = manifest.get("version")
    return ModelRow(
        version=version,
        created_at=created,
        age_s=age,
        kinds=list(manifest.get("kinds", [])),
        in_use=version is not None and version == in_use,
        data_window=dict(manifest.get("data_window") or {}),
        metrics=_flat(manifest.get("metrics") or {}),
        train_seconds=dict(manifest.get("train_seconds") or {}),
    )


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested metric dicts as ``a.b`` keys (what a table can show)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flat(value, f"{name}."))
        else:
            flat[name] = value
    return flat


@dataclass(frozen=True, slots=True)
class DriftRow:
    """One feature's divergence and the two windows' shares per bin."""

    feature: str
    psi: float | None
    kl: float | None
    bins: list[tuple[str, float, float]]


def drift_view(engine: Engine[Any]) -> list[DriftRow]:
    """Every monitored feature's PSI, KL and per-bin shares (live, reference)."""
    rows = []
    for found in engine.status().drift:
        live_total = float(found.live.sum()) or 1.0
        ref_total = float(found.reference.sum()) or 1.0
        bins = [
            (name, live / live_total, ref / ref_total)
            for name, live, ref in zip(
                found.bins, found.live.tolist(), found.reference.tolist(), strict=True
            )
        ]
        rows.append(DriftRow(found.feature, found.psi, found.kl, bins))
    return rows


@dataclass(frozen=True, slots=True)
class Product:
    """A storefront card."""

    item_id: str
    title: str
    category: str | None
    price: float | None


def shop_products(engine: Engine[Any], n: int) -> list[Product]:
    """The storefront's grid: the popular items, then the catalog in the order stored,
    up to ``n`` available items."""
    popular = [i.item_id for i in engine.ranked(Ranking.POPULAR, n).items]
    entries = dict(zip(popular, engine.catalog(popular), strict=True))
    for meta in engine.catalog_page(0, n * 2):
        entries.setdefault(meta.item_id, meta)
    products = [
        Product(item_id, meta.title or item_id, _primary(meta), meta.price)
        if meta is not None
        else Product(item_id, item_id, None, None)
        for item_id, meta in entries.items()
        if meta is None or meta.available
    ]
    return products[:n]
