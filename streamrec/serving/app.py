"""The FastAPI application of HTTP API v1.

:func:`create_app` builds the app around an engine factory: the lifespan opens the
engine (by default :func:`streamrec.bootstrap.open_engine`) and closes it on
shutdown, and the routers of :mod:`streamrec.serving.routes` reach it through the
dependencies of :mod:`streamrec.serving.dependencies`. Blocking work (fsync)
runs in the threadpool; reads of the in-process state run on the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from streamrec import __version__
from streamrec.bootstrap import open_engine
from streamrec.config import Settings
from streamrec.engine import Engine
from streamrec.serving.errors import install_error_handlers
from streamrec.serving.guard import Guard
from streamrec.serving.metrics import ApiMetrics, RequestTimer
from streamrec.serving.openapi import describe, list_parameters
from streamrec.serving.routes import (
    catalog,
    editorial,
    events,
    experiments,
    lifecycle,
    operations,
    recommendations,
    users,
)
from streamrec.ui.pages import install_ui

ROUTERS = (
    events.router,
    recommendations.router,
    catalog.router,
    users.router,
    lifecycle.router,
    operations.router,
    experiments.router,
    editorial.router,
)


def create_app(
    settings: Settings | None = None,
    engine_factory: Callable[[Settings], Engine[Any]] = open_engine,
) -> FastAPI:
    """The app; its lifespan opens the engine with ``engine_factory(settings)``."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = engine_factory(settings)
        try:
            yield
        finally:
            app.state.engine.close()

    app = FastAPI(
        title="streamrec",
        version=__version__,
        summary="Real-time recommendations from interaction events.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics = ApiMetrics(lambda: getattr(app.state, "engine", None))
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    install_ui(app)
    describe(
        app,
        events.REFERENCED_SCHEMAS | experiments.REFERENCED_SCHEMAS,
        settings.auth.protect_metrics,
        settings.auth.enabled,
    )
    app.add_middleware(
        Guard,
        auth=settings.auth,
        limits=settings.limits,
        list_parameters=lambda: list_parameters(app.openapi()),
    )
    if settings.serving.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.serving.cors_origins),
            allow_methods=["*"],
            allow_headers=["authorization", "x-api-key", "content-type"],
            expose_headers=["retry-after"],
        )
    app.add_middleware(RequestTimer, metrics=metrics.requests)
    return app
