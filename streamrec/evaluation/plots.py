"""PNG plots of evaluation results (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from streamrec.evaluation.holdout import HoldoutResult
from streamrec.evaluation.options import ACCURACY
from streamrec.evaluation.prequential import PrequentialResult
from streamrec.extras import import_extra

if TYPE_CHECKING:
    from matplotlib.figure import Figure

import_extra("matplotlib", "models", "evaluation plots").use("Agg")
plt = import_extra("matplotlib.pyplot", "models", "evaluation plots")


def metric_curves(results: Sequence[HoldoutResult], ks: Sequence[int], path: Path) -> Path:
    """One panel per accuracy metric: its value at each ``k``, one line per algorithm."""
    figure, axes = plt.subplots(1, len(ACCURACY), figsize=(4 * len(ACCURACY), 3.6))
    for axis, metric in zip(axes, ACCURACY, strict=True):
        for result in results:
            axis.plot(
                ks,
                [result.metrics[f"{metric}@{k}"] for k in ks],
                marker="o",
                label=result.algorithm,
            )
        axis.set_title(f"{metric}@K")
        axis.set_xlabel("K")
        axis.set_xticks(list(ks))
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    return _save(figure, path)


def metric_bars(
    names: Sequence[str], values: Mapping[str, Sequence[float]], title: str, path: Path
) -> Path:
    """One panel per metric in ``values``, one bar per name (model or model and mode)."""
    metrics = list(values)
    columns = min(4, len(metrics))
    rows = -(-len(metrics) // columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(3.2 * columns + 0.2 * len(names), 3.2 * rows), squeeze=False
    )
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for axis, metric in zip(axes.flat, metrics, strict=False):
        axis.bar(
            range(len(names)),
            values[metric],
            color=[colors[j % len(colors)] for j in range(len(names))],
        )
        axis.set_xticks(range(len(names)))
        axis.set_xticklabels(names, rotation=60, ha="right", fontsize=8)
        axis.set_title(metric)
        axis.grid(axis="y", alpha=0.3)
    for axis in list(axes.flat)[len(metrics) :]:
        axis.set_visible(False)
    figure.suptitle(title)
    return _save(figure, path)


def rolling_hit_rate(results: Sequence[PrequentialResult], path: Path) -> Path:
    """Hit rate over a sliding window of consecutive queries, per algorithm and mode."""
    figure, axis = plt.subplots(figsize=(11, 4))
    for result in results:
        hits = (result.ranks > 0).astype(np.float64)
        window = max(1, min(len(hits), max(20, len(hits) // 10)))
        if not len(hits):
            continue
        rolling = np.convolve(hits, np.ones(window) / window, mode="valid")
        axis.plot(
            result.positions[window - 1 :], rolling, label=f"{result.algorithm} {result.mode}"
        )
    axis.set_xlabel("event position in the stream")
    axis.set_ylabel(f"hit rate@{results[0].k if results else 10} (rolling)")
    axis.set_title("prequential hit rate over time")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(figure, path)


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
