"""Liveness, readiness and metrics."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from streamrec import __version__
from streamrec.serving.dependencies import EngineDep, MetricsDep
from streamrec.serving.metrics import EXPOSITION_TYPE
from streamrec.serving.schemas import ReadyOut

router = APIRouter(tags=["operations"])


#: The body of ``/healthz``, built once.
HEALTHY = orjson.dumps({"status": "ok"})


@router.get("/healthz", response_model=dict[str, str])
async def healthz() -> Response:
    """The process is up."""
    return Response(HEALTHY, media_type="application/json")


@router.get("/readyz", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
async def readyz(engine: EngineDep) -> JSONResponse:
    """Ready to serve: the engine is open, its start-up replay done and its processor
    healthy (503 otherwise, with the replay's progress while it runs)."""
    status = engine.status()
    body = ReadyOut(
        status="ready" if status.ready else "replaying" if status.replay else "degraded",
        version=__version__,
        model_version=status.model_version,
        lag=status.lag,
        processor_error=status.processor_error,
        retrain=status.retrain.as_dict() if status.retrain is not None else None,
        serving=status.serving.as_dict() if status.serving is not None else None,
        replay=status.replay.as_dict() if status.replay is not None else None,
        model_error=status.model_error,
    )
    return JSONResponse(body.model_dump(), status_code=200 if status.ready else 503)


@router.get("/metrics", response_class=Response)
async def prometheus(metrics: MetricsDep) -> Response:
    """Prometheus text format."""
    return Response(metrics.exposition(), media_type=EXPOSITION_TYPE)
