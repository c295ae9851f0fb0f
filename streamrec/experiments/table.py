"""The experiment report as a table (what ``streamrec experiments report`` prints)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.1f}%"


def _interval(pair: list[float] | None, percent: bool = True) -> str:
    if pair is None:
        return "-"
    lo, hi = pair
    return f"[{100 * lo:+.1f}%, {100 * hi:+.1f}%]" if percent else f"[{lo:.4f}, {hi:.4f}]"


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.2g}"


def report_table(report: Mapping[str, Any]) -> str:
    """One row per variant: traffic, users, CTR with interval, conversions, revenue,
    lift with interval against the baseline, p-values and p99 latency."""
    comparisons = {c["variant"]: c for c in report["comparisons"]}
    header = (
        f"{'variant':<14} {'users':>6} {'lists':>7} {'impr.':>8} {'clicks':>7} "
        f"{'CTR':>7} {'CTR 95% CI':>18} {'conv.':>6} {'revenue':>9} {'lift':>8} "
        f"{'lift 95% CI':>20} {'p':>8} {'mSPRT p':>8} {'p99 ms':>7}"
    )
    lines = [f"experiment {report['experiment_id']} ({report['status']})", header]
    for row in report["variants"]:
        c = comparisons.get(row["name"])
        p99 = row["guardrails"].get("p99_latency_ms")
        lines.append(
            f"{row['name']:<14} {row['users']:>6} {row['lists']:>7} {row['impressions']:>8} "
            f"{row['clicks']:>7} {row['ctr']:>7.4f} {_interval(row['ctr_ci'], False):>18} "
            f"{row['conversions']:>6} {row['revenue']:>9.2f} "
            f"{_pct(c['ctr_lift']) if c else 'baseline':>8} "
            f"{_interval(c['ctr_lift_ci']) if c else '':>20} "
            f"{_p(c['p_value']) if c else '':>8} "
            f"{_p(c['sequential']['p_value']) if c else '':>8} "
            f"{'-' if p99 is None else f'{p99:.2f}':>7}"
        )
    for c in report["comparisons"]:
        verdict = "significant" if c["significant"] else "not significant"
        lines.append(f"{c['variant']} vs {c['baseline']}: {verdict} at the report's alpha")
    if "interleaving" in report:
        outcome = report["interleaving"]
        wins = ", ".join(f"{name} {n}" for name, n in outcome["wins"].items())
        lines.append(
            f"interleaving: {outcome['lists']} lists, wins {wins}, ties {outcome['ties']}, "
            f"p {_p(outcome['p_value'])}, winner {outcome['winner'] or 'none yet'}"
        )
    return "\n".join(lines)
