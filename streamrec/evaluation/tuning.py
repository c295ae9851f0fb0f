"""Hyper-parameter and blend-weight search on a validation split of the training data.

The test split is never looked at: :func:`validation_split` applies the split's own
rule again to its *training* events (for seed-004, each user's validation items are
the last 20% of their training part by (timestamp, item); for leave-last-out, their
last training event), and the search fits on the rest. Candidates come from a grid,
or a seeded random sample of it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from streamrec.evaluation.algorithms import AlgorithmContext, build_algorithm
from streamrec.evaluation.holdout import evaluate_holdout
from streamrec.evaluation.params import merged, nest
from streamrec.evaluation.splits import HoldoutSplit, leave_last_out_split, seed004_split

__all__ = ["TuningResult", "candidates", "merged", "nest", "tune", "validation_split"]


def validation_split(split: HoldoutSplit, **options: Any) -> HoldoutSplit:
    """``split``'s protocol applied to ``split.train`` (same threshold; ``options`` as there)."""
    make = leave_last_out_split if split.protocol == "leave-last-out" else seed004_split
    return make(split.train, threshold=split.threshold, **options)


def candidates(
    space: Mapping[str, Sequence[Any]], n_trials: int | None = None, seed: int = 0
) -> list[dict[str, Any]]:
    """Every combination of ``space``, or ``n_trials`` of them drawn with a fixed seed."""
    keys = list(space)
    grid = [dict(zip(keys, values, strict=True)) for values in itertools.product(*space.values())]
    if n_trials is None or n_trials >= len(grid):
        return grid
    picked = np.random.default_rng(seed).choice(len(grid), size=n_trials, replace=False)
    return [grid[i] for i in sorted(picked.tolist())]


@dataclass(frozen=True)
class TuningResult:
    """The best parameters and every trial.

    Attributes
    ----------
    best_params
        Flat (dotted) parameters of the best trial.
    best_score
        Its objective value on the validation split.
    table
        Per trial: the flat parameters and every validation metric.
    """

    algorithm: str
    objective: str
    best_params: dict[str, Any]
    best_score: float
    table: list[tuple[dict[str, Any], dict[str, float]]]

    def markdown(self) -> str:
        """The trials as a Markdown table, best first."""
        keys = list(self.best_params)
        rows = sorted(self.table, key=lambda t: -t[1][self.objective])
        lines = [
            "| " + " | ".join([*keys, self.objective]) + " |",
            "|---" * (len(keys) + 1) + "|",
        ]
        for params, scores in rows:
            cells = [str(params[k]) for k in keys] + [f"{scores[self.objective]:.4f}"]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def tune(
    split: HoldoutSplit,
    algorithm: str,
    context: AlgorithmContext,
    space: Mapping[str, Sequence[Any]],
    *,
    objective: str = "ndcg@10",
    n_trials: int | None = None,
    seed: int = 0,
    base: Mapping[str, Any] | None = None,
    on_trial: Callable[[dict[str, Any], float], None] | None = None,
) -> TuningResult:
    """Search ``space`` for the parameters of ``algorithm`` that maximize ``objective``.

    Parameters
    ----------
    split
        The evaluation split; only its training events are used (see
        :func:`validation_split`).
    algorithm
        A registry name (see :func:`~streamrec.evaluation.algorithms.build_algorithm`).
    context
        Threshold, catalog and base settings for building the algorithm.
    space
        Values to try per parameter; dotted names reach into nested parameters
        (``"recommend.weight_popularity"`` for the engine's settings).
    objective
        The validation metric to maximize (any key of the holdout metrics).
    n_trials, seed
        Try a seeded random sample of ``n_trials`` combinations instead of all.
    base
        Nested parameters every trial starts from (a trial's values win).
    on_trial
        Called with each trial's parameters and objective value.
    """
    validation = validation_split(split)
    table = []
    for params in candidates(space, n_trials, seed):
        trial = merged(base or {}, nest(params))
        result = evaluate_holdout(validation, build_algorithm(algorithm, context, trial))
        table.append((params, result.metrics))
        if on_trial is not None:
            on_trial(params, result.metrics[objective])
    if not table:
        raise ValueError("the search space is empty")
    best_params, best_metrics = max(table, key=lambda t: t[1][objective])
    return TuningResult(algorithm, objective, best_params, best_metrics[objective], table)
