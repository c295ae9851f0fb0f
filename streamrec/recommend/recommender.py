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
import functools
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from streamrec.config import RecommendSettings
from streamrec.recommend.bridge import Bridges
from streamrec.recommend.candidates import CandidateSet, Column, Seeds, cooccurrence_column
from streamrec.recommend.gather import Producer, SourceGatherer
from streamrec.recommend.paging import PageCache, PageToken
from streamrec.recommend.reasons import render
from streamrec.recommend.request import Request
from streamrec.recommend.rules import ItemFacts
from streamrec.recommend.shaping import overlaid, shaping_stages
from streamrec.recommend.shaping_settings import ShapingSettings
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
from streamrec.state.base import Catalog, DenseReads, Ranking, UserArrays


@dataclass(frozen=True, slots=True)
class Held:
    """A shaped list (kept for its next pages): the scored candidates, the rows of the
    list in order, the seeds, the marks, the sources dropped (raised or late), and
    how many items a page token had served before the list was built."""

    scored: Scored
    rows: np.ndarray
    seeds: Seeds
    marks: Marks
    degraded: tuple[str, ...] = ()
    base: int = 0


def _neighbours(state: DenseReads, weight: float, seeds: Seeds, per_seed: int) -> Column:
    rows = state.neighbor_rows(seeds.ids, per_seed)
    return cooccurrence_column("cooccurrence", weight, seeds, rows)


def _column(name: str, weight: float, ask: Callable[[], SourceRows]) -> Column:
    return Column.of(name, weight, ask())


def _popular(state: DenseReads, weight: float, pool: int, category: str | None) -> Column:
    ids, scores = state.top_rows(Ranking.POPULAR, pool, category)
    where = f" in {category}" if category else ""
    return Column.of("popularity", weight, SourceRows(ids, scores, f"popular{where}"))


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
        self.gatherer = SourceGatherer()
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
        shaping, stages = self.plan(request)
        token = PageToken.first()
        if request.page_token is not None:
            token = PageToken.decode(request.page_token)
            held = self.pages.get(token.list_id)
            if held is not None and len(token.served) - held.base < len(held.rows):
                return self._page(request, token, held)
            request = dataclasses.replace(request, exclude=(*request.exclude, *token.served))
        held = self.shortlist(request, shaping, stages)
        return self._page(request, token, dataclasses.replace(held, base=len(token.served)))

    def shortlist(
        self,
        request: Request,
        shaping: ShapingSettings,
        stages: Sequence[ListStage],
        trace: list[tuple[str, np.ndarray]] | None = None,
    ) -> Held:
        """Every stage of a user's list up to its rendering: the scored candidates,
        the rows of the shaped list (best first, longer than ``k``), the seeds, the
        marks and the sources dropped. With ``trace``, each stage's name and the rows
        it kept are appended."""
        state, settings = self.state, self.settings
        user = state.user_arrays(request.user_id) if request.user_id is not None else None
        context = None
        if request.context_item is not None:
            (known,) = state.item_ids([request.context_item]).tolist()
            context = (known, request.context_item)
        seeds = Seeds.of_user(user, context, settings.seed_items, settings.recency_half_life_items)
        columns, degraded = self.gatherer.gather(
            self._producers(request, user, seeds), shaping.budget_ms
        )
        candidates = CandidateSet.gather(columns)
        scored = self.score(features(candidates, user, state))
        banned = Banned.of(request, user, state)
        shaped, marks = self._post_process(request, scored, banned, [*self.stages, *stages], trace)
        return Held(scored, shaped, seeds, marks, degraded)

    def _producers(self, request: Request, user: UserArrays | None, seeds: Seeds) -> list[Producer]:
        """The candidate sources of a user's list whose weight is above 0."""
        state, pool = self.state, self.settings.candidates_per_source
        producers: list[Producer] = []
        weight = self._weight("cooccurrence", "collaborative")
        if weight > 0:
            per_seed = max(pool // max(len(seeds), 1), 20)
            producers.append(
                ("cooccurrence", functools.partial(_neighbours, state, weight, seeds, per_seed))
            )
        for source in self._sources():
            weight = self._weight(source.name, source.kind)
            if weight > 0:
                ask = functools.partial(source.candidates, user, pool, self.ids)
                producers.append(
                    (source.name, functools.partial(_column, source.name, weight, ask))
                )
        weight = self._weight("popularity", "popularity")
        if weight > 0:
            popular_pool = min(pool, 5 * request.k + (len(user.seen) if user is not None else 0))
            popular = functools.partial(_popular, state, weight, popular_pool, request.category)
            producers.append(("popularity", popular))
        return producers

    def close(self) -> None:
        """Stop the thread pool of budgeted requests."""
        self.gatherer.close()

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
        """The popular or trending list (of one primary category); its items' score
        breakdown names the source as recommendations do (``popularity``, ``trending``)."""
        ids, scores = self.state.top_rows(ranking, k, category)
        source = "popularity" if ranking is Ranking.POPULAR else ranking.value
        where = f" in {category}" if category else ""
        items = [
            RecommendedItem(item, score, [f"{ranking.value}{where}"], {source: score})
            for item, score in zip(self.state.item_names(ids), scores.tolist(), strict=True)
        ]
        return Recommendation(None, items, uuid.uuid4().hex, model_version=self._model_version())

    def plan(self, request: Request) -> tuple[ShapingSettings, list[ListStage]]:
        """The shaping settings and stages of ``request`` (the recommender's own
        without overrides).

        Raises
        ------
        InvalidInput
            If a rule or a shaping setting of the request is malformed.
        """
        if not request.shaping and not request.rules:
            return self.settings.shaping, self.shaping
        shaping = overlaid(self.settings.shaping, request.shaping)
        return shaping, shaping_stages(shaping, request.rules)

    def sources(self) -> Sequence[CandidateSource]:
        """The model sources in use now."""
        return self._sources()

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
        listed = self._listed(request, items)
        return dataclasses.replace(listed, next_page_token=following, degraded=held.degraded)

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
