"""Experiments: definitions, and the report of each (DESIGN.md section 4)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from streamrec.errors import InvalidInput, Problem
from streamrec.experiments.definition import Experiment, ExperimentBody
from streamrec.serving.dependencies import EngineDep, IdPath
from streamrec.serving.schemas import ErrorOut

router = APIRouter(tags=["experiments"])

#: Schemas the raw-body route refers to, for the OpenAPI description.
REFERENCED_SCHEMAS = {"ExperimentBody": ExperimentBody}


@router.put(
    "/v1/experiments/{experiment_id}",
    response_model=Experiment,
    responses={409: {"model": ErrorOut, "description": "Another experiment runs on the surface"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ExperimentBody"}}
            },
        }
    },
)
async def put_experiment(experiment_id: IdPath, request: Request, engine: EngineDep) -> Experiment:
    """Create or replace an experiment (422 listing every problem, 409 when another
    experiment already runs on its surface); durable before the answer."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("body is not valid JSON", [Problem(None, None, str(exc))]) from None
    experiment: Experiment = await run_in_threadpool(engine.experiments.put, experiment_id, body)
    return experiment


@router.get("/v1/experiments")
def list_experiments(engine: EngineDep) -> dict[str, list[Experiment]]:
    """Every experiment, in id order."""
    return {"experiments": engine.experiments.all()}


@router.get("/v1/experiments/{experiment_id}", response_model=Experiment)
def get_experiment(experiment_id: IdPath, engine: EngineDep) -> Experiment:
    """One experiment (404 if unknown)."""
    return engine.experiments.get(experiment_id)


@router.get("/v1/experiments/{experiment_id}/report")
def experiment_report(experiment_id: IdPath, engine: EngineDep) -> dict[str, Any]:
    """Per-variant counters, CTR with interval, comparisons and guardrails."""
    return engine.experiment_report(experiment_id)
