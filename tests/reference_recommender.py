"""The recommender as it was before the compiled path: a plain reference for tests.

Candidates are blended in Python dicts keyed by item-id strings, exactly as the
first implementation did; ``tests/unit/test_recommender_compiled.py`` checks that the
compiled pipeline of :mod:`streamrec.recommend.recommender` gives the same lists,
scores, reasons and per-source breakdowns. It reads the states through their string
ports only (``profile``, ``neighbors``, ``top_items``, ``get``, ``available``), and
model bundles through :class:`ReferenceBundleSource`, the string-keyed source the
engine used then.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from streamrec.config import EventWeights, RecommendSettings
from streamrec.events import TYPE_CODE, EventType
from streamrec.models.bundle import ModelBundle
from streamrec.processing.order import best_first
from streamrec.processing.weights import UNPAIRED_TYPES, type_weight_table
from streamrec.recommend.model_sources import FixedModels, ModelRegistry
from streamrec.recommend.types import Recommendation, RecommendedItem
from streamrec.state.base import Catalog, OnlineState, Ranking, ScoredItems, UserProfile

_VERBS = {
    EventType.VIEW: "viewed",
    EventType.CLICK: "clicked",
    EventType.ADD_TO_CART: "added to cart",
    EventType.WISHLIST: "wishlisted",
    EventType.PURCHASE: "bought",
    EventType.RATING: "rated",
    EventType.LIKE: "liked",
}
_SEED_TYPES = frozenset(t.value for t in EventType if t not in UNPAIRED_TYPES)


@dataclass(frozen=True, slots=True)
class SourceCandidates:
    """A source's candidates with raw scores and, per item, the reason it offers."""

    items: ScoredItems
    reasons: list[str]


class CandidateSource(Protocol):
    """A string-keyed candidate source (the model sources' former shape)."""

    name: str
    kind: str

    def candidates(self, profile: UserProfile | None, seeds: list[str], n: int) -> SourceCandidates:
        """Up to ``n`` candidates for the user whose profile and seed items are given."""
        ...

    def similar(self, item_id: str, n: int) -> SourceCandidates:
        """Up to ``n`` items similar to ``item_id``."""
        ...


@dataclass(slots=True)
class _Scores:
    """Blended candidate scores with the strongest reason per item."""

    total: dict[str, float]
    parts: dict[str, dict[str, float]]
    reason: dict[str, tuple[float, str]]

    @classmethod
    def empty(cls) -> _Scores:
        return cls({}, {}, {})

    def add(self, source: str, weight: float, found: SourceCandidates) -> None:
        scores = found.items.scores
        if len(scores) == 0 or weight <= 0:
            return
        top = float(scores.max())
        scale = weight / top if top > 0 else 0.0
        for item, raw, why in zip(
            found.items.item_ids, scores.tolist(), found.reasons, strict=True
        ):
            share = raw * scale
            if share <= 0:
                continue
            self.total[item] = self.total.get(item, 0.0) + share
            self.parts.setdefault(item, {})[source] = share
            if share > self.reason.get(item, (0.0, ""))[0]:
                self.reason[item] = (share, why)


class ReferenceRecommender:
    """Builds "for you", similar-item and popular/trending lists from the online state."""

    def __init__(
        self,
        state: OnlineState,
        catalog: Catalog,
        settings: RecommendSettings,
        sources: Callable[[], Sequence[CandidateSource]] = tuple,
        model_version: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.state = state
        self.catalog = catalog
        self.settings = settings
        self._sources = sources
        self._model_version = model_version

    def recommend(
        self,
        user_id: str,
        k: int,
        *,
        exclude: Collection[str] = (),
        exclude_seen: bool = True,
        category: str | None = None,
        context_item: str | None = None,
    ) -> Recommendation:
        """The top ``k`` items for ``user_id``.

        Parameters
        ----------
        exclude
            Items never to return.
        exclude_seen
            Drop items the user already interacted with.
        category
            Only items whose primary category is this one.
        context_item
            An item the user is looking at now; it seeds neighbours first.
        """
        profile = self.state.profile(user_id)
        seeds = self._seeds(profile, context_item)
        pool = self.settings.candidates_per_source
        scores = _Scores.empty()
        cooccurrence_weight = self._weight("cooccurrence", "collaborative")
        scores.add("cooccurrence", cooccurrence_weight, self._cooccurrence(seeds, pool))
        for source in self._sources():
            weight = self._weight(source.name, source.kind)
            scores.add(
                source.name, weight, source.candidates(profile, [s for s, _, _ in seeds], pool)
            )
        popular_pool = min(pool, 5 * k + len(profile.seen) if profile else 5 * k)
        scores.add(
            "popularity",
            self._weight("popularity", "popularity"),
            self._popular(popular_pool, category),
        )
        self._boost_session(scores, profile)
        banned = set(exclude)
        if profile is not None:
            banned.update(profile.negative)
            banned.update(profile.cart)
            if exclude_seen:
                banned.update(profile.seen)
                banned.update(i.item_id for i in profile.recent)
        items = self._finish(scores, k, banned, category)
        return Recommendation(
            user_id=user_id,
            items=items,
            recommendation_id=uuid.uuid4().hex,
            model_version=self._model_version(),
        )

    def model_version(self) -> str | None:
        """The version of the batch models in use (``None`` before any is loaded)."""
        return self._model_version()

    def similar(self, item_id: str, k: int) -> Recommendation:
        """Items most related to ``item_id`` (co-occurrence first, then model sources)."""
        pool = self.settings.candidates_per_source
        scores = _Scores.empty()
        (neighbors,) = self.state.neighbors([item_id], pool)
        scores.add(
            "cooccurrence",
            self._weight("cooccurrence", "collaborative"),
            SourceCandidates(
                neighbors, [f"often together with {self._title(item_id)}"] * len(neighbors)
            ),
        )
        for source in self._sources():
            scores.add(
                source.name, self._weight(source.name, source.kind), source.similar(item_id, pool)
            )
        items = self._finish(scores, k, {item_id}, None)
        return Recommendation(None, items, uuid.uuid4().hex, model_version=self._model_version())

    def ranked(self, ranking: Ranking, k: int, category: str | None = None) -> Recommendation:
        """The popular or trending list (sources named as in recommendations)."""
        found = self.state.top_items(ranking, k, category)
        where = f" in {category}" if category else ""
        source = {Ranking.POPULAR: "popularity", Ranking.TRENDING: "trending"}[ranking]
        items = [
            RecommendedItem(item, float(score), [f"{ranking.value}{where}"], {source: float(score)})
            for item, score in zip(found.item_ids, found.scores.tolist(), strict=True)
        ]
        return Recommendation(None, items, uuid.uuid4().hex, model_version=self._model_version())

    # -- candidate sources ----------------------------------------------------

    def _weight(self, source: str, kind: str) -> float:
        if source in self.settings.source_weights:
            return self.settings.source_weights[source]
        return {
            "collaborative": self.settings.weight_collaborative,
            "content": self.settings.weight_content,
            "popularity": self.settings.weight_popularity,
        }[kind]

    def _seeds(
        self, profile: UserProfile | None, context_item: str | None
    ) -> list[tuple[str, float, str]]:
        """(item, weight, verb) of the most recent distinct positive interactions."""
        seeds: list[tuple[str, float, str]] = []
        if context_item is not None:
            seeds.append((context_item, 1.0, "are looking at"))
        if profile is None:
            return seeds
        taken = {context_item}
        half_life = self.settings.recency_half_life_items
        for rank, interaction in enumerate(profile.recent):
            if len(seeds) >= self.settings.seed_items:
                break
            if interaction.type not in _SEED_TYPES or interaction.item_id in taken:
                continue
            if interaction.item_id in profile.negative:
                continue
            taken.add(interaction.item_id)
            verb = _VERBS.get(EventType(interaction.type), "interacted with")
            seeds.append((interaction.item_id, 0.5 ** (rank / half_life), verb))
        return seeds

    def _cooccurrence(self, seeds: list[tuple[str, float, str]], pool: int) -> SourceCandidates:
        per_seed = max(pool // max(len(seeds), 1), 20)
        rows = self.state.neighbors([item for item, _, _ in seeds], per_seed)
        total: dict[str, float] = {}
        best: dict[str, tuple[float, str]] = {}
        for (seed, weight, verb), row in zip(seeds, rows, strict=True):
            why = f"because you {verb} {self._title(seed)}"
            for item, score in zip(row.item_ids, row.scores.tolist(), strict=True):
                share = weight * score
                total[item] = total.get(item, 0.0) + share
                if share > best.get(item, (0.0, ""))[0]:
                    best[item] = (share, why)

        ids = list(total)
        return SourceCandidates(
            ScoredItems(ids, np.array([total[i] for i in ids])), [best[i][1] for i in ids]
        )

    def _popular(self, pool: int, category: str | None) -> SourceCandidates:
        found = self.state.top_items(Ranking.POPULAR, pool, category)
        where = f" in {category}" if category else ""
        return SourceCandidates(found, [f"popular{where}"] * len(found))

    def _boost_session(self, scores: _Scores, profile: UserProfile | None) -> None:
        if profile is None or profile.session is None or profile.session.category is None:
            return
        boost = self.settings.session_category_boost
        current = profile.session.category
        candidates = list(scores.total)
        for item, meta in zip(candidates, self.catalog.get(candidates), strict=True):
            if meta is not None and current in meta.categories:
                scores.total[item] += boost
                scores.parts[item]["session"] = boost

    # -- post-processing ------------------------------------------------------

    def _finish(
        self, scores: _Scores, k: int, banned: set[str], category: str | None
    ) -> list[RecommendedItem]:
        candidates = [item for item in scores.total if item not in banned]
        totals = np.array([scores.total[item] for item in candidates])
        first = best_first(
            totals, max(4 * k, k + len(banned)), lambda rows: [candidates[r] for r in rows.tolist()]
        )
        window = [candidates[r] for r in first.tolist()]
        allowed = self.catalog.available(window)
        metas = self.catalog.get(window) if category is not None else [None] * len(window)
        items: list[RecommendedItem] = []
        for item, ok, meta in zip(window, allowed.tolist(), metas, strict=True):
            if not ok or (
                category is not None and (meta is None or category not in meta.categories)
            ):
                continue
            items.append(
                RecommendedItem(
                    item_id=item,
                    score=round(scores.total[item], 6),
                    reasons=[scores.reason[item][1]],
                    sources={s: round(v, 6) for s, v in scores.parts[item].items()},
                )
            )
            if len(items) == k:
                break
        return items

    def _title(self, item_id: str) -> str:
        (meta,) = self.catalog.get([item_id])
        return meta.title if meta is not None and meta.title else item_id


class ReferenceBundleSource:
    """One kind of model of the current bundle as a string-keyed source."""

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


def reference_sources(
    registry: ModelRegistry | FixedModels, weights: EventWeights
) -> Sequence[CandidateSource]:
    """A string-keyed source for each model kind the current bundle holds."""
    bundle = registry.bundle
    kinds = bundle.models() if bundle is not None else {}
    return [ReferenceBundleSource(registry, kind, weights) for kind in kinds]


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
