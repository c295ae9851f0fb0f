"""The dashboard's experiments page: every experiment, and one's report.

The report is :meth:`Engine.experiment_report <streamrec.engine.Engine.experiment_report>`,
the same dict ``GET /v1/experiments/{id}/report`` answers; the page only lays it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from streamrec.engine import Engine
from streamrec.errors import NotFound
from streamrec.experiments.definition import Experiment
from streamrec.serving.dependencies import EngineDep
from streamrec.ui.render import IdField, page

router = APIRouter(prefix="/ui", include_in_schema=False)

#: The guardrails a report carries per variant, in the order shown, with their labels.
GUARDRAILS = (
    ("lists", "lists in the window"),
    ("p99_latency_ms", "p99 latency (ms)"),
    ("coverage", "coverage"),
    ("intra_list_diversity", "intra-list diversity"),
    ("exposure_gini", "exposure Gini"),
    ("novelty", "novelty (bits)"),
)


@dataclass(frozen=True, slots=True)
class ExperimentsView:
    """Every experiment, the one shown (``None``: there are none, or no such one) and its
    report."""

    experiments: list[Experiment]
    experiment_id: str | None
    report: dict[str, Any] | None
    alpha: float


def experiments_view(engine: Engine[Any], experiment_id: str | None) -> ExperimentsView:
    """The experiments and the report of ``experiment_id`` (by default the first running
    experiment, else the first one)."""
    experiments = engine.experiments.all()
    if experiment_id is None and experiments:
        running = [e for e in experiments if e.status == "running"]
        experiment_id = (running or experiments)[0].experiment_id
    report = None
    if experiment_id is not None:
        try:
            report = engine.experiment_report(experiment_id)
        except NotFound:
            report = None
    alpha = engine.settings.experiments.alpha
    return ExperimentsView(experiments, experiment_id, report, alpha)


@router.get("/experiments", response_class=HTMLResponse)
def experiments_page(
    request: Request, engine: EngineDep, experiment_id: IdField = None
) -> HTMLResponse:
    """Per-variant CTR with intervals, lift against the baseline, and the guardrails."""
    view = experiments_view(engine, experiment_id)
    missing = view.experiment_id is not None and view.report is None
    return page(
        request,
        "experiments.html",
        status_code=404 if missing else 200,
        page="experiments",
        view=view,
        guardrails=GUARDRAILS,
    )
