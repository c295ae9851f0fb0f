"""What routes are given: the app's engine, settings and metrics (FastAPI dependencies).

The lifespan puts them on ``app.state``; these async dependencies read them back
(async, so resolving them never costs a threadpool hop).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request

from streamrec.config import Settings
from streamrec.engine import Engine
from streamrec.events import ID_PATTERN, MAX_ID_LENGTH
from streamrec.serving.metrics import ApiMetrics


async def _engine(request: Request) -> Engine[Any]:
    engine: Engine[Any] = request.app.state.engine
    return engine


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _metrics(request: Request) -> ApiMetrics:
    metrics: ApiMetrics = request.app.state.metrics
    return metrics


EngineDep = Annotated[Engine[Any], Depends(_engine)]
SettingsDep = Annotated[Settings, Depends(_settings)]
MetricsDep = Annotated[ApiMetrics, Depends(_metrics)]

#: An id in a path (DESIGN.md section 4: 1-256 characters).
IdPath = Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN)]
#: The size of a list.
K = Annotated[int | None, Query(ge=1, le=10_000)]
#: An item id or a category name in a query.
IdQuery = Annotated[str | None, Query(min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN)]


def list_size(k: int | None, settings: Settings) -> int:
    """``k``, or the default list size, capped at ``recommend.max_k``."""
    return min(k or settings.recommend.default_k, settings.recommend.max_k)
