"""``POST /v1/events``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from streamrec.bounds import TimeWindow
from streamrec.config import Settings
from streamrec.event_decoding import decode_batch
from streamrec.events import Event
from streamrec.serving.dependencies import EngineDep, MetricsDep, SettingsDep
from streamrec.serving.schemas import Accepted

router = APIRouter(tags=["events"])

#: The body is read raw (validated whole-batch by :func:`decode_batch`), so its
#: schema is declared here: one event, or ``{"events": [...]}``.
EVENTS_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"$ref": "#/components/schemas/Event"},
                    {
                        "type": "object",
                        "properties": {
                            "events": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/Event"},
                            }
                        },
                        "required": ["events"],
                    },
                ]
            }
        }
    },
}

#: Schemas the raw-body route refers to, for the OpenAPI description.
REFERENCED_SCHEMAS = {"Event": Event}


def event_window(settings: Settings) -> TimeWindow:
    """The event times the API accepts (settings ``limits``)."""
    limits = settings.limits
    return TimeWindow(limits.event_time_min_ms, limits.event_time_max_skew_s)


@router.post(
    "/v1/events",
    status_code=202,
    response_model=Accepted,
    openapi_extra={"requestBody": EVENTS_BODY},
)
async def post_events(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    wait: bool = False,
) -> Accepted:
    """One event or ``{"events": [...]}``; 202 once durable (and applied with ``wait``).

    A batch is validated whole: one bad event rejects it with 422, every problem
    listed, and nothing of it is stored.
    """
    with metrics.events.decoding():
        batch = decode_batch(
            await request.body(), settings.serving.max_events_per_request, event_window(settings)
        )
    with metrics.events.appending(batch):
        await run_in_threadpool(engine.ingest, batch, wait)
    return Accepted(accepted=len(batch), applied=wait)
