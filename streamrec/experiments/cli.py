"""``streamrec experiments report ID``: the report of a running server as a table,
and its plots."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import httpx

from streamrec.errors import BackendUnavailable, NotFound
from streamrec.experiments.table import report_table
from streamrec.extras import import_extra


def fetch_report(url: str, experiment_id: str) -> dict[str, Any]:
    """The report of ``experiment_id`` from the API at ``url``.

    Raises
    ------
    NotFound
        If the server has no such experiment.
    BackendUnavailable
        If the server cannot be reached or fails.
    """
    try:
        answer = httpx.get(f"{url.rstrip('/')}/v1/experiments/{experiment_id}/report", timeout=30)
    except httpx.HTTPError as exc:
        raise BackendUnavailable(f"cannot reach {url}: {exc}") from None
    if answer.status_code == 404:
        raise NotFound(f"the server at {url} has no experiment {experiment_id!r}")
    if answer.status_code >= 400:
        raise BackendUnavailable(f"{url} answered {answer.status_code}: {answer.text}")
    report: dict[str, Any] = answer.json()
    return report


def cmd_report(args: argparse.Namespace) -> int:
    """Print the table and write the plots."""
    report = fetch_report(args.url, args.experiment_id)
    print(report_table(report))
    if args.plots is not None:
        plots = import_extra("streamrec.experiments.plots", "models", "experiment plots")
        for path in plots.report_plots(report, args.plots):
            print(f"wrote {path}")
    return 0


def add_experiments_parser(commands: Any) -> argparse.ArgumentParser:
    """``streamrec experiments report ID [--url URL] [--plots DIR]``."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "experiments", help="experiment reports of a running server"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    report = actions.add_parser("report", help="print an experiment's report and plot it")
    report.add_argument("experiment_id")
    report.add_argument("--url", default="http://127.0.0.1:8000", help="the running API")
    report.add_argument(
        "--plots",
        type=Path,
        default=Path("experiment-plots"),
        help="where the CTR-over-time and lift plots go",
    )
    report.set_defaults(handler=cmd_report)
    return parser
