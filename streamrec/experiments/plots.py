"""PNG plots of an experiment report: CTR over time with interval bands, and lift."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from streamrec.extras import import_extra

import_extra("matplotlib", "models", "experiment plots").use("Agg")
plt = import_extra("matplotlib.pyplot", "models", "experiment plots")


def report_plots(report: Mapping[str, Any], directory: Path) -> list[Path]:
    """Write ``<id>-ctr.png`` (cumulative CTR per variant over time, with its 95%
    band) and ``<id>-lift.png`` (each comparison's lift with its interval)."""
    directory.mkdir(parents=True, exist_ok=True)
    name = report["experiment_id"]
    figure, axis = plt.subplots(figsize=(7, 4))
    for row in report["variants"]:
        points = row["series"]
        if not points:
            continue
        hours = [(p["time_ms"] - points[0]["time_ms"]) / 3_600_000 for p in points]
        axis.plot(hours, [p["ctr"] for p in points], marker="o", label=row["name"])
        axis.fill_between(
            hours, [p["ctr_ci"][0] for p in points], [p["ctr_ci"][1] for p in points], alpha=0.2
        )
    axis.set_xlabel("hours since the first bucket")
    axis.set_ylabel("cumulative CTR")
    axis.set_title(f"{name}: CTR over time (95% bands)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    ctr_path = directory / f"{name}-ctr.png"
    figure.tight_layout()
    figure.savefig(ctr_path, dpi=110)
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(6, 3.5))
    rows = [c for c in report["comparisons"] if c["ctr_lift"] is not None]
    for y, c in enumerate(rows):
        lift = 100 * c["ctr_lift"]
        interval = c["ctr_lift_ci"] or [c["ctr_lift"], c["ctr_lift"]]
        lo, hi = 100 * interval[0], 100 * interval[1]
        axis.errorbar([lift], [y], xerr=[[lift - lo], [hi - lift]], fmt="o", capsize=4)
    axis.axvline(0, color="grey", linewidth=1)
    axis.set_yticks(range(len(rows)), [f"{c['variant']} vs {c['baseline']}" for c in rows])
    axis.set_xlabel("CTR lift, % (95% interval)")
    axis.set_title(f"{name}: lift")
    axis.grid(alpha=0.3)
    lift_path = directory / f"{name}-lift.png"
    figure.tight_layout()
    figure.savefig(lift_path, dpi=110)
    plt.close(figure)
    return [ctr_path, lift_path]
