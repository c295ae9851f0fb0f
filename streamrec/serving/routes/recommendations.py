"""Lists: "for you", similar items, popular and trending."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from streamrec.events import MAX_ID_LENGTH
from streamrec.serving.dependencies import (
    EngineDep,
    IdPath,
    IdQuery,
    K,
    MetricsDep,
    SettingsDep,
    list_size,
)
from streamrec.serving.list_options import ListOptionsDep
from streamrec.serving.replay import Replayed
from streamrec.serving.responses import list_response
from streamrec.serving.schemas import ExplanationOut, RecommendationOut
from streamrec.state.base import Ranking

router = APIRouter()


@router.get(
    "/v1/users/{user_id}/recommendations",
    tags=["recommendations"],
    response_model=RecommendationOut,
)
async def recommendations(
    user_id: IdPath,
    engine: EngineDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    options: ListOptionsDep,
    _: Replayed,
    k: K = None,
    page_token: Annotated[str | None, Query(max_length=8_192)] = None,
    variant: IdQuery = None,
) -> Response:
    """Personalized "for you" list, shaped by the options (docs/shaping.md);
    ``page_token`` (a response's ``next_page_token``) asks for the next page;
    ``variant`` forces a variant of the running experiment (or ``default``), for QA."""
    size = list_size(k, settings)
    rec = engine.recommend(user_id, size, page_token=page_token, variant=variant, **options.options)
    return list_response(metrics.lists.served("recommendations", rec))


@router.get(
    "/v1/users/{user_id}/recommendations/explain",
    tags=["recommendations"],
    response_model=ExplanationOut,
)
async def explain(
    user_id: IdPath,
    item_id: Annotated[str, Query(min_length=1, max_length=MAX_ID_LENGTH)],
    engine: EngineDep,
    settings: SettingsDep,
    options: ListOptionsDep,
    k: K = None,
    variant: IdQuery = None,
) -> ExplanationOut:
    """Why ``item_id`` is or is not on the user's list of the same options: the stage
    that dropped or demoted it (docs/shaping.md), in the list of the user's experiment
    variant (``variant`` forces one, as for the list)."""
    size = list_size(k, settings)
    found = engine.explain(user_id, item_id, size, variant=variant, **options.options)
    return ExplanationOut.model_validate(dataclasses.asdict(found))


@router.get("/v1/items/popular", tags=["items"], response_model=RecommendationOut)
async def popular(
    engine: EngineDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    _: Replayed,
    k: K = None,
    category: IdQuery = None,
) -> Response:
    """Most popular available items (decayed).

    ``category`` ranks the items whose primary (first-listed) category it is: each
    item is counted in one category ranking, kept incrementally. (Recommendations'
    ``category`` is wider: any item that lists it.)
    """
    rec = engine.ranked(Ranking.POPULAR, list_size(k, settings), category)
    return list_response(metrics.lists.served("popular", rec))


@router.get("/v1/items/trending", tags=["items"], response_model=RecommendationOut)
async def trending(
    engine: EngineDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    _: Replayed,
    k: K = None,
    category: IdQuery = None,
) -> Response:
    """Items whose recent activity rises fastest against their longer-term rate.

    ``category`` ranks the items whose primary (first-listed) category it is.
    """
    rec = engine.ranked(Ranking.TRENDING, list_size(k, settings), category)
    return list_response(metrics.lists.served("trending", rec))


@router.get("/v1/items/{item_id}/similar", tags=["items"], response_model=RecommendationOut)
async def similar(
    item_id: IdPath,
    engine: EngineDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    _: Replayed,
    k: K = None,
    user_id: IdQuery = None,
) -> Response:
    """Items most related to this one (``user_id``: who is looking, for attribution)."""
    rec = engine.similar(item_id, list_size(k, settings), user_id=user_id)
    return list_response(metrics.lists.served("similar", rec))
