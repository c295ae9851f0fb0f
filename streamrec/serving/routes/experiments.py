"""Experiments: definitions, and the report of each (DESIGN.md section 4)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from streamrec.experiments.definition import Experiment, ExperimentBody
from streamrec.serving.dependencies import EngineDep, IdPath

router = APIRouter(tags=["experiments"])


@router.put(
    "/v1/experiments/{experiment_id}",
    response_model=Experiment,
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": ExperimentBody.model_json_schema()}}
        }
    },
)
def put_experiment(
    experiment_id: IdPath,
    engine: EngineDep,
    body: Annotated[dict[str, Any], Body(description="An ExperimentBody.")],
) -> Experiment:
    """Create or replace an experiment (422 listing every problem, 409 when another
    experiment already runs on its surface)."""
    return engine.experiments.put(experiment_id, body)


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
