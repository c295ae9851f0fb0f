"""Lists: "for you", similar items, popular and trending."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
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
    k: K = None,
    exclude_seen: bool = True,
    category: IdQuery = None,
    context_item: IdQuery = None,
    exclude: Annotated[str | None, Query(max_length=100_000)] = None,
    rules: Annotated[list[str] | None, Query(max_length=100)] = None,
    page_token: Annotated[str | None, Query(max_length=1_000_000)] = None,
    category_cap: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    mmr_lambda: Annotated[float | None, Query(ge=0, le=1)] = None,
) -> Response:
    """Personalized "for you" list.

    ``category`` keeps items that have it among their categories; ``context_item``
    is an item the user is looking at now (its neighbours come first). ``exclude``
    is a comma-separated list of items never to return; each ``rules`` is a business
    rule (``filter: price < 50``, docs/shaping.md); ``category_cap`` and
    ``mmr_lambda`` override the diversity settings; ``page_token`` (a response's
    ``next_page_token``) asks for the next page.
    """
    rec = engine.recommend(
        user_id,
        list_size(k, settings),
        exclude=[i for i in (exclude or "").split(",") if i],
        exclude_seen=exclude_seen,
        category=category,
        context_item=context_item,
        rules=tuple(rules or ()),
        shaping=_overlay(category_cap, mmr_lambda),
        page_token=page_token,
    )
    return list_response(metrics.lists.served("recommendations", rec))


def _overlay(category_cap: int | None, mmr_lambda: float | None) -> dict[str, Any] | None:
    """The shaping settings a request overrides."""
    diversity = {
        key: value
        for key, value in (("category_cap", category_cap), ("mmr_lambda", mmr_lambda))
        if value is not None
    }
    return {"diversity": diversity} if diversity else None


@router.get("/v1/items/popular", tags=["items"], response_model=RecommendationOut)
async def popular(
    engine: EngineDep,
    settings: SettingsDep,
    metrics: MetricsDep,
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
    k: K = None,
    category: IdQuery = None,
) -> Response:
    """Items whose recent activity rises fastest against their longer-term rate."""
    rec = engine.ranked(Ranking.TRENDING, list_size(k, settings), category)
    return list_response(metrics.lists.served("trending", rec))


@router.get("/v1/items/{item_id}/similar", tags=["items"], response_model=RecommendationOut)
async def similar(
    item_id: IdPath, engine: EngineDep, settings: SettingsDep, metrics: MetricsDep, k: K = None
) -> Response:
    """Items most related to this one."""
    rec = engine.similar(item_id, list_size(k, settings))
    return list_response(metrics.lists.served("similar", rec))
