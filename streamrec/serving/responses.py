"""Response bodies built once, with orjson, in the contract's field names."""

from __future__ import annotations

import orjson
from fastapi.responses import Response

from streamrec.recommend.types import Recommendation


def list_response(rec: Recommendation) -> Response:
    """A recommendation list as JSON (the fields are already the contract's)."""
    body: dict[str, object] = {
        "user_id": rec.user_id,
        "items": [
            {"item_id": i.item_id, "score": i.score, "reasons": i.reasons, "sources": i.sources}
            for i in rec.items
        ],
        "variant": rec.variant,
        "model_version": rec.model_version,
        "recommendation_id": rec.recommendation_id,
        "fallback": rec.fallback,
        "degraded": rec.degraded,
    }
    return Response(orjson.dumps(body), media_type="application/json")
