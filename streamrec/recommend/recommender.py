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
   disliked, carted and excluded items, the ranked cut, availability, category),
   then for a user's list the shaping stages of :mod:`streamrec.recommend.shaping`
   (business rules, diversity), configured by ``recommend.shaping`` and per request;
   a page token continues a list (:mod:`streamrec.recommend.paging`);
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

import dataclasses
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from streamrec.config import RecommendSettings
from streamrec.recommend.bridge import Bridges
from streamrec.recommend.candidates import CandidateSet, Column, Seeds, cooccurrence_column
from streamrec.recommend.paging import PageCache, PageToken
from streamrec.recommend.reasons import render
from streamrec.recommend.request import Request
from streamrec.recommend.rules import ItemFacts
from streamrec.recommend.shaping import overlaid, shaping_stages
from streamrec.recommend.stages import (
    AvailableOnly,
    Banned,
    ExcludeBanned,
    Features,
    InCategory,
    LinearBlend,
    ListStage,
    Marks,
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


@dataclass(frozen=True, slots=True)
class Held:
    """A shaped list kept for its next pages: :meth:`Recommender.shortlist`'s answer
    and how many items the token had served before it was built."""

    scored: Scored
    rows: np.ndarray
    seeds: Seeds
    marks: Marks
    base: int


class Recommender:
    """Builds "for you", similar-item and popular/trending lists from the online state.

    Parameters
    ----------
    state
        What the pipeline reads, over dense ids (every state adapter).
    catalog
        Where titles for reasons come from (the state itself, for every adapter).
    settings
        Pool sizes, weights, seeds and the session boost.
    sources
        The model sources in use (asked once per request).
    model_version
        The version of the batch models in use.

    Attributes
    ----------
    score
        The score stage.
    stages
        The post-processing stages every list runs, in order.
    shaping
        The shaping stages a user's list runs after them (from
        ``settings.shaping``; a request with its own rules or shaping settings builds
        its own).
    """

    def __init__(
        self,
        state: DenseReads,
        catalog: Catalog,
        settings: RecommendSettings,
        sources: Callable[[], Sequence[CandidateSource]] = tuple,
        model_version: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.state = state
        self.catalog = catalog
        self.settings = settings
        self.ids = Bridges(state)
        self.score: ScoreStage = LinearBlend(settings.session_category_boost)
        self.stages: list[ListStage] = [ExcludeBanned(), RankCut(), AvailableOnly(), InCategory()]
        self.shaping: list[ListStage] = shaping_stages(settings.shaping, ())
        self.pages = PageCache(settings.shaping.page_ttl_s, settings.shaping.page_lists)
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
        **shaping: Any,
    ) -> Recommendation:
        """The top ``k`` items for ``user_id`` (see :class:`Request` for the options,
        ``shaping`` included: ``rules``, ``shaping``, ``page_token``, ``now_ms``)."""
        return self.run(
            Request(user_id, k, tuple(exclude), exclude_seen, category, context_item, **shaping)
        )

    def run(self, request: Request) -> Recommendation:
        """The list for ``request`` (a user's: ``request.user_id`` is set).

        Raises
        ------
        InvalidInput
            If a rule or the page token of the request is malformed.
        """
        stages = self._shaping_of(request)
        token = PageToken.first()
        if request.page_token is not None:
            token = PageToken.decode(request.page_token)
            held = self.pages.get(token.list_id)
            if held is not None and len(token.served) - held.base < len(held.rows):
                return self._page(request, token, held)
            request = dataclasses.replace(request, exclude=(*request.exclude, *token.served))
        scored, rows, seeds, marks = self.shortlist(request, stages)
        return self._page(request, token, Held(scored, rows, seeds, marks, len(token.served)))

    def shortlist(
        self,
        request: Request,
        stages: Sequence[ListStage],
        trace: list[tuple[str, np.ndarray]] | None = None,
    ) -> tuple[Scored, np.ndarray, Seeds, Marks]:
        """Every stage of a user's list up to its rendering: the scored candidates,
        the rows of the shaped list (best first, longer than ``k``), the seeds and the
        marks. With ``trace``, each stage's name and the rows it kept are appended."""
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
        banned = Banned.of(request, user, state)
        shaped, marks = self._post_process(request, scored, banned, [*self.stages, *stages], trace)
        return scored, shaped, seeds, marks

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
        banned = Banned.of(request, None, self.state)
        shaped, marks = self._post_process(request, scored, banned, self.stages, None)
        items = render(scored, marks, shaped[:k], seeds, self.state, self.catalog)
        return self._listed(request, items)

    def ranked(self, ranking: Ranking, k: int, category: str | None = None) -> Recommendation:
        """The popular or trending list."""
        ids, scores = self.state.top_rows(ranking, k, category)
        where = f" in {category}" if category else ""
        items = [
            RecommendedItem(item, score, [f"{ranking.value}{where}"], {ranking.value: score})
            for item, score in zip(self.state.item_names(ids), scores.tolist(), strict=True)
        ]
        return Recommendation(None, items, uuid.uuid4().hex, model_version=self._model_version())

    def _shaping_of(self, request: Request) -> list[ListStage]:
        if not request.shaping and not request.rules:
            return self.shaping
        return shaping_stages(overlaid(self.settings.shaping, request.shaping), request.rules)

    def _post_process(
        self,
        request: Request,
        scored: Scored,
        banned: Banned,
        stages: Sequence[ListStage],
        trace: list[tuple[str, np.ndarray]] | None,
    ) -> tuple[np.ndarray, Marks]:
        now_ms = request.now_ms if request.now_ms is not None else int(time.time() * 1000)
        marks = Marks(scored.total.copy(), ItemFacts(self.state, now_ms))
        rows = np.arange(len(scored.total))
        for stage in stages:
            rows = stage(Shortlist(request, scored, banned, self.state, rows, marks))
            if trace is not None:
                trace.append((stage.name, rows))
        return rows, marks

    def _page(self, request: Request, token: PageToken, held: Held) -> Recommendation:
        """The page of the held list after what ``token`` served, and the next token."""
        start = len(token.served) - held.base
        page = held.rows[start : start + request.k]
        items = render(held.scored, held.marks, page, held.seeds, self.state, self.catalog)
        following = None
        if start + request.k < len(held.rows):
            served = (*token.served, *(item.item_id for item in items))
            following = PageToken(token.list_id, served).encode()
            self.pages.put(token.list_id, held)
        return dataclasses.replace(self._listed(request, items), next_page_token=following)

    def _listed(self, request: Request, items: list[RecommendedItem]) -> Recommendation:
        return Recommendation(
            user_id=request.user_id,
            items=items,
            recommendation_id=uuid.uuid4().hex,
            model_version=self._model_version(),
        )

    def _weight(self, source: str, kind: SourceKind) -> float:
        if source in self.settings.source_weights:
            return self.settings.source_weights[source]
        return {
            "collaborative": self.settings.weight_collaborative,
            "content": self.settings.weight_content,
            "popularity": self.settings.weight_popularity,
        }[kind]
