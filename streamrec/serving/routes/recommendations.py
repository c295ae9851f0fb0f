"""Lists: "for you", similar items, popular and trending."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from streamrec.serving.dependencies import (
    EngineDep,
    IdPath,
    IdQuery,
    K,
    MetricsDep,
    SettingsDep,
    list_size,
)
from streamrec.serving.replay import Replayed
from streamrec.serving.responses import list_response
from streamrec.serving.schemas import RecommendationOut
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
    _: Replayed,
    k: K = None,
    exclude_seen: bool = True,
    category: IdQuery = None,
    context_item: IdQuery = None,
) -> Response:
    """Personalized "for you" list.

    ``category`` keeps items that have it among their categories; ``context_item``
    is an item the user is looking at now (its neighbours come first).
    """
    rec = engine.recommend(
        user_id,
        list_size(k, settings),
        exclude_seen=exclude_seen,
        category=category,
        context_item=context_item,
    )
    return list_response(metrics.lists.served("recommendations", rec))


@router.get("/v1/items/popular", tags=["items"], response_model=RecommendationOut)
async def popular(
    engine: EngineDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    _: Replayed,
    k: K = None,
    category: IdQuery = None,
) -> Response:
    """Most popular available items (decayed), optionally of one category."""
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
    """Items whose recent activity rises fastest against their longer-term rate."""
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
) -> Response:
    """Items most related to this one."""
    rec = engine.similar(item_id, list_size(k, settings))
    return list_response(metrics.lists.served("similar", rec))
