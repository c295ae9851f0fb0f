"""The recommendation pipeline: explicit stages over the state's dense item ids.

``candidates -> features -> score -> post-process -> reasons``:

1. candidates (:mod:`streamrec.recommend.candidates`): co-occurrence neighbours of
   the seeds (the context item, then the user's recent positive interactions,
   weighted by recency), every plugged-in model source (ALS, EASE, item-kNN,
   content), and popular items; each source is one column of the candidate set;
2. features and 3. score (:mod:`streamrec.recommend.stages`): the linear blend of the
   sources' normalized scores with the configured weights, plus a boost for the
   category of the user's session;
4. post-processing: the :attr:`Recommender.stages` in order (exclusion of seen,
   disliked, carted and excluded items, the ranked cut, availability, category);
5. reasons (:mod:`streamrec.recommend.reasons`): names, titles and reason texts for
   the final ``k`` items only.

A source whose weight is 0 is not asked. Every array stage is NumPy or a numba kernel
(:mod:`streamrec.recommend.kernels`) over at most a few hundred candidates; Python
runs per seed, per source, per stage and per returned item, never per candidate.
Lists are in the order of :mod:`streamrec.processing.order`, so states holding the
same events give the same lists.

Model sources name their items in their bundle's id map; the recommender translates
those ids to the state's (:mod:`streamrec.recommend.bridge`). A model's item that the
state has never seen (no event, no catalog entry) is not a candidate.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence

import numpy as np

from streamrec.config import RecommendSettings
from streamrec.recommend.bridge import Bridges
from streamrec.recommend.candidates import CandidateSet, Column, Seeds, cooccurrence_column
from streamrec.recommend.reasons import render
from streamrec.recommend.request import Request
from streamrec.recommend.stages import (
    AvailableOnly,
    Banned,
    ExcludeBanned,
    Features,
    InCategory,
    LinearBlend,
    ListStage,
    RankCut,
    Scored,
    ScoreStage,
    Shortlist,
    features,
)
from streamrec.recommend.types import (
    CandidateSource,
    Recommendation,
    RecommendedItem,
    SourceKind,
    SourceRows,
)
from streamrec.state.base import Catalog, DenseReads, Ranking


class Recommender:
    """Builds "for you", similar-item and popular/trending lists from the online state.

    Parameters
    ----------
    state
        What the pipeline reads, over dense ids (every state adapter).
    catalog
        Where titles for reasons come from (the state itself, for every adapter).
    settings
        Pool sizes, weights, seeds and the session boost; or a function returning
        the ones in force (a model version may bring tuned ones, see
        :mod:`streamrec.models.tuned`), asked once per use.
    sources
        The model sources in use (asked once per request).
    model_version
        The version of the batch models in use.

    Attributes
    ----------
    score
        The score stage.
    stages
        The post-processing stages, in order.
    """

    def __init__(
        self,
        state: DenseReads,
        catalog: Catalog,
        settings: RecommendSettings | Callable[[], RecommendSettings],
        sources: Callable[[], Sequence[CandidateSource]] = tuple,
        model_version: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.state = state
        self.catalog = catalog
        self._settings = settings if callable(settings) else lambda: settings
        self.ids = Bridges(state)
        self.score: ScoreStage = LinearBlend(self.settings.session_category_boost)
        self.stages: list[ListStage] = [ExcludeBanned(), RankCut(), AvailableOnly(), InCategory()]
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
        """The top ``k`` items for ``user_id`` (see :class:`Request` for the options)."""
        return self.run(Request(user_id, k, tuple(exclude), exclude_seen, category, context_item))

    @property
    def settings(self) -> RecommendSettings:
        """The settings in force now."""
        return self._settings()

    def run(self, request: Request) -> Recommendation:
        """The list for ``request`` (a user's: ``request.user_id`` is set)."""
        state, settings = self.state, self.settings
        user = state.user_arrays(request.user_id) if request.user_id is not None else None
        context = None
        if request.context_item is not None:
            (known,) = state.item_ids([request.context_item]).tolist()
            context = (known, request.context_item)
        seeds = Seeds.of_user(user, context, settings.seed_items, settings.recency_half_life_items)
        pool = settings.candidates_per_source
        columns: list[Column] = []
        weight = self._weight("cooccurrence", "collaborative")
        if weight > 0:
            per_seed = max(pool // max(len(seeds), 1), 20)
            rows = state.neighbor_rows(seeds.ids, per_seed)
            columns.append(cooccurrence_column("cooccurrence", weight, seeds, rows))
        for source in self._sources():
            weight = self._weight(source.name, source.kind)
            if weight > 0:
                columns.append(
                    Column.of(source.name, weight, source.candidates(user, pool, self.ids))
                )
        weight = self._weight("popularity", "popularity")
        if weight > 0:
            popular_pool = min(pool, 5 * request.k + (len(user.seen) if user is not None else 0))
            ids, scores = state.top_rows(Ranking.POPULAR, popular_pool, request.category)
            where = f" in {request.category}" if request.category else ""
            columns.append(
                Column.of("popularity", weight, SourceRows(ids, scores, f"popular{where}"))
            )
        candidates = CandidateSet.gather(columns)
        scored = self.score(features(candidates, user, state))
        return self._finish(request, scored, Banned.of(request, user, state), seeds)

    def model_version(self) -> str | None:
        """The version of the batch models in use (``None`` before any is loaded)."""
        return self._model_version()

    def similar(self, item_id: str, k: int) -> Recommendation:
        """Items most related to ``item_id`` (co-occurrence first, then model sources)."""
        request = Request(None, k, exclude=(item_id,), exclude_seen=False)
        pool = self.settings.candidates_per_source
        item = self.state.item_ids([item_id])
        seeds = Seeds(item, np.ones(1), ["often together with "], [item_id])
        columns: list[Column] = []
        weight = self._weight("cooccurrence", "collaborative")
        if weight > 0:
            rows = self.state.neighbor_rows(item, pool)
            columns.append(cooccurrence_column("cooccurrence", weight, seeds, rows))
        for source in self._sources():
            weight = self._weight(source.name, source.kind)
            if weight > 0:
                columns.append(
                    Column.of(source.name, weight, source.similar(item_id, pool, self.ids))
                )
        scored = self.score(Features(CandidateSet.gather(columns), None))
        return self._finish(request, scored, Banned.of(request, None, self.state), seeds)

    def ranked(self, ranking: Ranking, k: int, category: str | None = None) -> Recommendation:
        """The popular or trending list."""
        ids, scores = self.state.top_rows(ranking, k, category)
        where = f" in {category}" if category else ""
        items = [
            RecommendedItem(item, score, [f"{ranking.value}{where}"], {ranking.value: score})
            for item, score in zip(self.state.item_names(ids), scores.tolist(), strict=True)
        ]
        return Recommendation(None, items, uuid.uuid4().hex, model_version=self._model_version())

    def _finish(
        self, request: Request, scored: Scored, banned: Banned, seeds: Seeds
    ) -> Recommendation:
        """Post-processing and reasons."""
        rows = np.arange(len(scored.total))
        for stage in self.stages:
            rows = stage(Shortlist(request, scored, banned, self.state, rows))
        items = render(scored, rows[: request.k], seeds, self.state, self.catalog)
        return Recommendation(
            user_id=request.user_id,
            items=items,
            recommendation_id=uuid.uuid4().hex,
            model_version=self._model_version(),
        )

    def _weight(self, source: str, kind: SourceKind) -> float:
        settings = self.settings
        if source in settings.source_weights:
            return settings.source_weights[source]
        return {
            "collaborative": settings.weight_collaborative,
            "content": settings.weight_content,
            "popularity": settings.weight_popularity,
        }[kind]
