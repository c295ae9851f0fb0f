"""The FastAPI application of HTTP API v1.

The engine is built in the lifespan (from the settings given to
:func:`create_app`) and closed on shutdown; routes reach it through
``request.app.state.engine``. Blocking work (fsync, state reads) runs in the
threadpool via plain ``def`` routes.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import orjson
from fastapi import FastAPI, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Receive, Scope, Send

from streamrec import __version__
from streamrec.config import Settings
from streamrec.engine import Engine
from streamrec.events import MAX_ID_LENGTH, Event, EventBatch, decode_events
from streamrec.models.schedule import RetrainStatus
from streamrec.recommend.types import Recommendation
from streamrec.serving.errors import error_response, install_error_handlers
from streamrec.serving.schemas import (
    Accepted,
    ItemBody,
    ItemIn,
    ItemsIn,
    RecommendationOut,
)
from streamrec.state.base import Ranking

IdPath = Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH)]
K = Annotated[int | None, Query(ge=1, le=10_000)]


class Metrics:
    """Prometheus metrics of one app (own registry, so apps in one process don't clash)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "streamrec_events_accepted", "Events accepted", registry=self.registry
        )
        self.requests = Histogram(
            "streamrec_request_seconds",
            "Request latency by route",
            ["route"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0),
        )


class RetrainMetrics(Collector):
    """The retrain scheduler's state, read at each scrape (nothing when it is off)."""

    def __init__(self, status: Callable[[], RetrainStatus | None]) -> None:
        self.status = status

    def collect(self) -> Iterator[Metric]:
        """Gauges and counters of the current :class:`RetrainStatus`."""
        status = self.status()
        if status is None:
            return
        yield GaugeMetricFamily(
            "streamrec_retrain_running", "1 while a training runs", value=int(status.running)
        )
        yield GaugeMetricFamily(
            "streamrec_retrain_events_since",
            "Events applied since the last training started",
            value=status.events_since,
        )
        yield GaugeMetricFamily(
            "streamrec_retrain_seconds_since",
            "Seconds since the last training started",
            value=status.seconds_since,
        )
        yield CounterMetricFamily(
            "streamrec_retrain_runs", "Trainings started by the schedule", value=status.runs
        )
        yield CounterMetricFamily(
            "streamrec_retrain_failures", "Scheduled trainings that failed", value=status.failures
        )


_EVENTS_BODY = {
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


class RequestTimer:
    """Pure ASGI middleware observing each request's latency by route template."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.histogram.labels(route).observe(time.perf_counter() - started)


def _out(rec: Recommendation) -> Response:
    """The list as JSON (serialized directly: the fields are already the contract's)."""
    body = {
        "user_id": rec.user_id,
        "items": [
            {"item_id": i.item_id, "score": i.score, "reasons": i.reasons, "sources": i.sources}
            for i in rec.items
        ],
        "variant": rec.variant,
        "model_version": rec.model_version,
        "recommendation_id": rec.recommendation_id,
        "fallback": rec.fallback,
    }
    return Response(orjson.dumps(body), media_type="application/json")


def _retrain_status(app: FastAPI) -> RetrainStatus | None:
    """The engine's retrain schedule state (``None`` before start-up or when off)."""
    engine: Engine | None = getattr(app.state, "engine", None)
    scheduler = engine.retrain if engine is not None else None
    return scheduler.status() if scheduler is not None else None


def _document_event_schema(app: FastAPI) -> None:
    """Publish the Event schema that the raw-body events route refers to."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema["components"]["schemas"]["Event"] = Event.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    settings: Settings | None = None, engine_factory: Callable[[Settings], Engine] = Engine.open
) -> FastAPI:
    """The app; its lifespan opens the engine with ``engine_factory(settings)``."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = engine_factory(settings)
        try:
            app.state.engine.start_retraining()
            yield
        finally:
            app.state.engine.close()

    app = FastAPI(
        title="streamrec",
        version=__version__,
        summary="Real-time recommendations from interaction events.",
        lifespan=lifespan,
    )
    metrics = Metrics()
    metrics.registry.register(RetrainMetrics(lambda: _retrain_status(app)))
    install_error_handlers(app)
    _document_event_schema(app)

    app.add_middleware(RequestTimer, histogram=metrics.requests)

    def engine(request: Request) -> Engine:
        return request.app.state.engine  # type: ignore[no-any-return]

    @app.post(
        "/v1/events",
        status_code=202,
        response_model=Accepted,
        tags=["events"],
        openapi_extra={"requestBody": _EVENTS_BODY},
    )
    async def post_events(request: Request, wait: bool = False) -> Accepted:
        """One event or ``{"events": [...]}``; 202 once durable (and applied with ``wait``)."""
        events = decode_events(await request.body(), settings.serving.max_events_per_request)
        batch = EventBatch.from_events(events)
        await run_in_threadpool(engine(request).ingest, batch, wait)
        metrics.events.inc(len(events))
        return Accepted(accepted=len(events), applied=wait)

    @app.get(
        "/v1/users/{user_id}/recommendations",
        response_model=RecommendationOut,
        tags=["recommendations"],
    )
    async def recommendations(
        request: Request,
        user_id: IdPath,
        k: K = None,
        exclude_seen: bool = True,
        category: Annotated[str | None, Query(max_length=MAX_ID_LENGTH)] = None,
        context_item: Annotated[str | None, Query(max_length=MAX_ID_LENGTH)] = None,
    ) -> Response:
        """Personalized "for you" list."""
        rec = engine(request).recommender.recommend(
            user_id,
            min(k or settings.recommend.default_k, settings.recommend.max_k),
            exclude_seen=exclude_seen,
            category=category,
            context_item=context_item,
        )
        return _out(rec)

    @app.get("/v1/items/popular", response_model=RecommendationOut, tags=["items"])
    async def popular(request: Request, k: K = None, category: str | None = None) -> Response:
        """Most popular available items (decayed)."""
        return _ranked(request, Ranking.POPULAR, k, category)

    @app.get("/v1/items/trending", response_model=RecommendationOut, tags=["items"])
    async def trending(request: Request, k: K = None, category: str | None = None) -> Response:
        """Items whose recent activity rises fastest against their longer-term rate."""
        return _ranked(request, Ranking.TRENDING, k, category)

    def _ranked(
        request: Request, ranking: Ranking, k: int | None, category: str | None
    ) -> Response:
        size = min(k or settings.recommend.default_k, settings.recommend.max_k)
        return _out(engine(request).recommender.ranked(ranking, size, category))

    @app.get("/v1/items/{item_id}/similar", response_model=RecommendationOut, tags=["items"])
    async def similar(request: Request, item_id: IdPath, k: K = None) -> Response:
        """Items most related to this one."""
        size = min(k or settings.recommend.default_k, settings.recommend.max_k)
        return _out(engine(request).recommender.similar(item_id, size))

    @app.put("/v1/items/{item_id}", tags=["catalog"])
    def put_item(request: Request, item_id: IdPath, body: ItemBody) -> dict[str, object]:
        """Create or replace one item's metadata."""
        item = ItemIn(item_id=item_id, **body.model_dump()).to_domain()
        engine(request).upsert_items([item])
        return {"item_id": item_id, "stored": True}

    @app.post("/v1/items", tags=["catalog"])
    def post_items(request: Request, body: ItemsIn) -> dict[str, int]:
        """Create or replace many items' metadata."""
        engine(request).upsert_items([i.to_domain() for i in body.items])
        return {"stored": len(body.items)}

    @app.get("/v1/items/{item_id}", tags=["catalog"])
    async def get_item(request: Request, item_id: IdPath) -> dict[str, object]:
        """An item's metadata and live statistics."""
        state = engine(request).state
        (meta,) = state.get([item_id])
        (stats,) = state.item_stats([item_id])
        if meta is None and stats is None:
            return error_response(404, "not_found", f"item {item_id!r} is unknown")  # type: ignore[return-value]
        return {"item_id": item_id, "metadata": meta, "stats": stats}

    @app.get("/v1/users/{user_id}/profile", tags=["users"])
    async def profile(request: Request, user_id: IdPath) -> object:
        """The user's real-time features."""
        found = engine(request).state.profile(user_id)
        if found is None:
            return error_response(404, "not_found", f"user {user_id!r} has no profile")
        return found

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    async def readyz(request: Request) -> Response:
        """Ready to serve: the engine is open and its processor healthy."""
        current = engine(request)
        processor = current.processor
        body = {
            "status": "ready",
            "version": __version__,
            "model_version": current.recommender.model_version(),
            "lag": current.lag(),
            "processor_error": processor.last_error if processor else None,
            "retrain": retrain.as_dict() if (retrain := _retrain_status(app)) else None,
        }
        if processor is not None and processor.last_error is not None:
            body["status"] = "degraded"
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    @app.get("/metrics", tags=["operations"])
    async def prometheus() -> PlainTextResponse:
        """Prometheus text format."""
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
