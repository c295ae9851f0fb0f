"""Response bodies built once, with orjson, in the contract's field names."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

from streamrec.recommend.types import Recommendation, RecommendedItem


def list_response(rec: Recommendation) -> Response:
    """A recommendation list as JSON (the fields are already the contract's)."""
    body: dict[str, Any] = {
        "user_id": rec.user_id,
        "items": [_item(i) for i in rec.items],
        "experiment": rec.experiment,
        "variant": rec.variant,
        "model_version": rec.model_version,
        "recommendation_id": rec.recommendation_id,
        "fallback": rec.fallback,
        "next_page_token": rec.next_page_token,
        "degraded": list(rec.degraded),
    }
    return Response(orjson.dumps(body), media_type="application/json")


def _item(item: RecommendedItem) -> dict[str, Any]:
    return {
        "item_id": item.item_id,
        "score": item.score,
        "reasons": item.reasons,
        "sources": item.sources,
        "propensity": item.propensity,
    }
