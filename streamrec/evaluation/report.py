"""Run a protocol over several algorithms and write a Markdown report with plots.

``run_evaluation`` is what ``streamrec evaluate`` calls: it loads a dataset, builds
the split (or the prequential plan) once, runs every algorithm on it with progress
bars, and writes ``report.md``, ``results.json`` and PNG plots into the output folder.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from streamrec.config import Settings
from streamrec.datasets import load_dataset
from streamrec.datasets.base import Dataset
from streamrec.errors import InvalidInput
from streamrec.evaluation import metrics, plots
from streamrec.evaluation.algorithms import (
    Algorithm,
    AlgorithmContext,
    AlgorithmSpec,
    build_algorithm,
)
from streamrec.evaluation.holdout import SIMILARITY_MAX_USERS, HoldoutResult, evaluate_holdout
from streamrec.evaluation.options import ACCURACY, KS, MAIN_K, PROTOCOLS
from streamrec.evaluation.prequential import (
    MODES,
    PrequentialResult,
    plan_prequential,
    run_prequential,
)
from streamrec.evaluation.splits import HoldoutSplit, leave_last_out_split, seed004_split
from streamrec.evaluation.tuning import TuningResult, merged, nest, tune


@dataclass(frozen=True)
class Tuned:
    """The search that chose an entry's parameters, and how long it took."""

    algorithm: str
    result: TuningResult
    seconds: float


@dataclass
class Report:
    """What a run produced: results and the files written."""

    dataset: str
    protocol: str
    details: dict[str, Any]
    holdout: list[HoldoutResult] = field(default_factory=list)
    prequential: list[PrequentialResult] = field(default_factory=list)
    tuning: list[Tuned] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def _bar(total: int, description: str, enabled: bool, unit: str) -> tqdm:
    return tqdm(total=total, desc=description, disable=not enabled, leave=False, unit=unit)


def _as_specs(algorithms: Sequence[str | AlgorithmSpec]) -> list[AlgorithmSpec]:
    return [a if isinstance(a, AlgorithmSpec) else AlgorithmSpec(a) for a in algorithms]


def _build(
    spec: AlgorithmSpec, context: AlgorithmContext, params: dict[str, Any] | None = None
) -> Algorithm:
    algorithm = build_algorithm(spec.name, context, spec.params if params is None else params)
    if spec.label:
        algorithm.name = spec.label
    return algorithm


def _tuned(
    spec: AlgorithmSpec, split: HoldoutSplit, context: AlgorithmContext, objective: str
) -> tuple[dict[str, Any], Tuned]:
    """``spec``'s parameters with its search space's best values on the validation split."""
    started = time.perf_counter()
    result = tune(split, spec.name, context, spec.search, objective=objective, base=spec.params)
    tuned = Tuned(spec.label or spec.name, result, time.perf_counter() - started)
    return merged(spec.params, nest(result.best_params)), tuned


def run_holdout(
    dataset: Dataset,
    split: HoldoutSplit,
    algorithms: Sequence[str | AlgorithmSpec],
    settings: Settings,
    progress: bool,
    objective: str = f"ndcg@{MAIN_K}",
) -> tuple[list[HoldoutResult], list[Tuned]]:
    """Every algorithm on ``split``, with the dataset's categories for diversity.

    Entries with a search space are tuned first (objective ``objective``); returns the
    results and the searches.
    """
    context = AlgorithmContext(split.threshold, dataset.catalog, settings)
    categories = {c.item_id: c.categories for c in dataset.catalog if c.categories}
    results = []
    searches = []
    for spec in _as_specs(algorithms):
        params = None
        if spec.search:
            params, tuned = _tuned(spec, split, context, objective)
            searches.append(tuned)
        algorithm = _build(spec, context, params)
        with _bar(len(split.users), algorithm.name, progress, "user") as bar:
            results.append(
                evaluate_holdout(
                    split,
                    algorithm,
                    ks=KS,
                    main_k=MAIN_K,
                    categories=categories,
                    on_progress=bar.update,
                )
            )
    return results, searches


def run_evaluation(
    dataset_path: str | Path,
    protocol: str,
    algorithms: Sequence[str | AlgorithmSpec],
    out_dir: str | Path,
    progress: bool = True,
    *,
    settings: Settings | None = None,
    sample_size: int | None = 2000,
    retrain_every: int | None = None,
    command: str | None = None,
    objective: str = f"ndcg@{MAIN_K}",
) -> Report:
    """Evaluate ``algorithms`` on a dataset under ``protocol`` and write the report.

    Parameters
    ----------
    dataset_path
        A dataset file or folder (MovieLens, Amazon reviews, event CSV; see
        :func:`streamrec.datasets.load_dataset`).
    protocol
        ``"seed-004"``, ``"leave-last-out"`` or ``"prequential"`` (DESIGN.md section 5).
    algorithms
        Registry names (see :data:`~streamrec.evaluation.algorithms.ALGORITHMS`) or
        :class:`AlgorithmSpec` objects.
    out_dir
        Folder for ``report.md``, ``results.json`` and the PNG plots (created).
    progress
        Show progress bars (only when standard error is a terminal).
    settings
        Base settings (event weights, engine configuration); defaults otherwise.
    sample_size, retrain_every
        Prequential queries and refit interval (see :func:`plan_prequential`).
    command
        The command line to quote in the report.
    objective
        The validation metric that entries with a search space maximize.
    """
    if protocol not in PROTOCOLS:
        raise InvalidInput(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
    if protocol == "off-policy":
        raise InvalidInput("the off-policy protocol reads a data directory's served lists")
    specs = _as_specs(algorithms)
    if protocol == "prequential" and any(spec.search for spec in specs):
        raise InvalidInput("tuning needs a holdout protocol (seed-004 or leave-last-out)")
    settings = settings or Settings()
    show = progress and sys.stderr.isatty()
    started = time.perf_counter()
    dataset = load_dataset(dataset_path)
    events = dataset.events
    details: dict[str, Any] = {"events": len(events), "load_seconds": time.perf_counter() - started}
    report = Report(dataset.name, protocol, details)
    if protocol == "prequential":
        plan = plan_prequential(events, sample_size=sample_size, retrain_every=retrain_every)
        details.update(
            warm_up_events=plan.n_warm,
            candidates=plan.candidates,
            queries=len(plan.queries),
            threshold=plan.threshold,
            retrain_every=plan.retrain_every,
        )
        context = AlgorithmContext(plan.threshold, dataset.catalog, settings)
        for spec in specs:
            algorithm = _build(spec, context)
            for mode in MODES:
                with _bar(len(plan.queries), f"{algorithm.name} {mode}", show, "query") as bar:
                    report.prequential.append(
                        run_prequential(plan, algorithm, mode, k=MAIN_K, on_progress=bar.update)
                    )
    else:
        split = seed004_split(events) if protocol == "seed-004" else leave_last_out_split(events)
        details.update(split.details)
        if len(split.users) > SIMILARITY_MAX_USERS:
            details["similarity"] = f"all pairs of a seeded sample of {SIMILARITY_MAX_USERS} users"
        report.holdout, report.tuning = run_holdout(
            dataset, split, specs, settings, show, objective
        )
    write_report(report, Path(out_dir), command)
    return report


def _cell(value: float) -> str:
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}"


def holdout_table(results: Sequence[HoldoutResult], k: int | None = None) -> str:
    """Markdown table: one row per algorithm, its metrics and the wall times.

    With ``k``, only the metrics at ``k`` (accuracy and beyond-accuracy); otherwise all.
    """
    if not results:
        return ""
    names = [n for n in results[0].metrics if k is None or n.endswith(f"@{k}")]
    lines = [
        "| algorithm | " + " | ".join(names) + " | fit s | recommend s |",
        "|---" * (len(names) + 3) + "|",
    ]
    for r in results:
        cells = [_cell(r.metrics[n]) for n in names]
        times = f" | {r.fit_seconds:.2f} | {r.recommend_seconds:.2f} |"
        lines.append(f"| {r.algorithm} | " + " | ".join(cells) + times)
    return "\n".join(lines)


def interval_table(results: Sequence[HoldoutResult], k: int = MAIN_K) -> str:
    """Markdown table of 95% intervals (normal approximation over users) at ``k``."""
    names = [f"{m}@{k}" for m in ("precision", "recall", "ndcg", "hit_rate")]
    lines = ["| algorithm | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for r in results:
        cells = [metrics.mean_interval(r.per_user[n]) for n in names]
        lines.append(
            f"| {r.algorithm} | " + " | ".join(f"{m:.4f} ± {h:.4f}" for m, h in cells) + " |"
        )
    return "\n".join(lines)


def prequential_table(results: Sequence[PrequentialResult]) -> str:
    """Markdown table: HitRate and MRR per algorithm and mode, with the lift."""
    k = results[0].k if results else MAIN_K
    lines = [
        f"| algorithm | mode | hit_rate@{k} | mrr@{k} | vs frozen | seconds |",
        "|---|---|---|---|---|---|",
    ]
    frozen = {r.algorithm: r.hit_rate for r in results if r.mode == "frozen"}
    for r in results:
        base = frozen.get(r.algorithm, 0.0)
        lift = f"{r.hit_rate / base:.2f}x" if base > 0 else "n/a"
        lines.append(
            f"| {r.algorithm} | {r.mode} | {r.hit_rate:.4f} | {r.mrr:.4f} | {lift} "
            f"| {r.seconds:.2f} |"
        )
    return "\n".join(lines)


def write_report(report: Report, out_dir: Path, command: str | None = None) -> None:
    """Write ``report.md``, ``results.json`` and the plots of ``report`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"# Evaluation: {report.dataset}, {report.protocol}", ""]
    if command:
        lines += ["```", command, "```", ""]
    lines += ["| setting | value |", "|---|---|"]
    lines += [
        f"| {key} | {value:.4g} |" if isinstance(value, float) else f"| {key} | {value} |"
        for key, value in report.details.items()
    ]
    lines.append("")
    images: list[Path] = []
    if report.holdout:
        names = [r.algorithm for r in report.holdout]
        lines += ["## Results", "", holdout_table(report.holdout, MAIN_K), ""]
        lines += ["## 95% intervals over users", "", interval_table(report.holdout), ""]
        lines += ["## Every cut-off", "", holdout_table(report.holdout), ""]
        images.append(plots.metric_curves(report.holdout, KS, out_dir / "metrics_at_k.png"))
        main = [f"{m}@{MAIN_K}" for m in ACCURACY]
        main += [
            m
            for m in report.holdout[0].metrics
            if m.split("@")[0] in ("coverage", "similarity", "diversity")
        ]
        values = {m: [r.metrics[m] for r in report.holdout] for m in main}
        images.append(
            plots.metric_bars(names, values, f"metrics at {MAIN_K}", out_dir / "metrics_bars.png")
        )
    for tuned in report.tuning:
        result = tuned.result
        lines += [
            f"## Tuning {tuned.algorithm} on the validation split",
            "",
            f"Objective {result.objective}; best {result.best_score:.4f} with "
            f"`{json.dumps(result.best_params)}`; {len(result.table)} trials in "
            f"{tuned.seconds:.0f} s.",
            "",
            result.markdown(),
            "",
        ]
    if report.prequential:
        lines += ["## Prequential", "", prequential_table(report.prequential), ""]
        labels = [f"{r.algorithm} {r.mode}" for r in report.prequential]
        values = {
            f"hit_rate@{MAIN_K}": [r.hit_rate for r in report.prequential],
            f"mrr@{MAIN_K}": [r.mrr for r in report.prequential],
        }
        images.append(
            plots.metric_bars(labels, values, "prequential", out_dir / "prequential_bars.png")
        )
        images.append(
            plots.rolling_hit_rate(report.prequential, out_dir / "prequential_hit_rate.png")
        )
    lines += [f"![{image.stem}]({image.name})" for image in images]
    markdown = out_dir / "report.md"
    markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = out_dir / "results.json"
    results.write_text(json.dumps(_results_json(report), indent=2), encoding="utf-8")
    report.files = [markdown, results, *images]


def _results_json(report: Report) -> dict[str, Any]:
    return {
        "dataset": report.dataset,
        "protocol": report.protocol,
        "details": report.details,
        "holdout": [
            {
                "algorithm": r.algorithm,
                "metrics": r.metrics,
                "fit_seconds": r.fit_seconds,
                "recommend_seconds": r.recommend_seconds,
            }
            for r in report.holdout
        ],
        "prequential": [
            {
                "algorithm": r.algorithm,
                "mode": r.mode,
                "hit_rate": r.hit_rate,
                "mrr": r.mrr,
                "queries": len(r.ranks),
                "seconds": r.seconds,
            }
            for r in report.prequential
        ],
        "tuning": [
            {
                "algorithm": t.algorithm,
                "objective": t.result.objective,
                "best_params": t.result.best_params,
                "best_score": t.result.best_score,
                "trials": len(t.result.table),
                "seconds": t.seconds,
            }
            for t in report.tuning
        ],
    }
