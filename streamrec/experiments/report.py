"""``GET /v1/experiments/{id}/report``: per-variant figures and comparisons.

Per variant: users, lists, served slots, impressions (shown), clicks, CTR =
clicks / impressions with its 95% Wilson interval, add-to-carts, conversions
(purchases), conversion rate = conversions / impressions, revenue and revenue
per user, the same per position, and the live guardrails. Each variant after the
first is compared with the first (the baseline): the CTR lift with its interval,
the two-proportion p-value and ``significant`` (p below ``experiments.alpha``),
and the always-valid mSPRT p-value over the report's time buckets (``sequential``),
which may be read at every bucket without inflating false positives. An
interleaving experiment reports each team's wins, the ties and the binomial test.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streamrec.config import ExperimentSettings
from streamrec.experiments.definition import INTERLEAVED, Experiment
from streamrec.experiments.interleaving import TIES, wins_counter
from streamrec.experiments.stats import (
    binomial_p,
    lift_interval,
    msprt_p,
    two_proportion_p,
    wilson,
)
from streamrec.experiments.tallies import Tallies


def _ratio(top: float, bottom: float) -> float:
    return top / bottom if bottom else 0.0


def variant_figures(tallies: Tallies, name: str, users: int, alpha: float) -> dict[str, Any]:
    """The counters of one variant and the figures derived from them."""
    c = tallies.variant(name)
    impressions, clicks = c.get("impressions", 0.0), c.get("clicks", 0.0)
    conversions, revenue = c.get("conversions", 0.0), c.get("revenue", 0.0)
    positions = [
        {
            "position": position,
            "served": int(row.get("served", 0)),
            "impressions": int(row.get("impressions", 0)),
            "clicks": int(row.get("clicks", 0)),
            "ctr": _ratio(row.get("clicks", 0), row.get("impressions", 0)),
        }
        for position, row in tallies.by_position(name).items()
    ]
    return {
        "name": name,
        "users": users,
        "lists": int(c.get("lists", 0)),
        "served": int(c.get("served", 0)),
        "impressions": int(impressions),
        "clicks": int(clicks),
        "ctr": _ratio(clicks, impressions),
        "ctr_ci": list(wilson(clicks, impressions, alpha)),
        "add_to_cart": int(c.get("add_to_cart", 0)),
        "conversions": int(conversions),
        "conversion_rate": _ratio(conversions, impressions),
        "revenue": revenue,
        "revenue_per_user": _ratio(revenue, users),
        "positions": positions,
    }


def _looks(
    tallies: Tallies, variant: str, baseline: str
) -> list[tuple[float, float, float, float]]:
    """Cumulative (clicks, impressions) of both variants at the end of every bucket."""
    buckets = sorted({b for (v, b) in tallies.series if v in (variant, baseline)})
    totals = {variant: [0.0, 0.0], baseline: [0.0, 0.0]}
    looks = []
    for bucket in buckets:
        for name, total in totals.items():
            point = tallies.series.get((name, bucket), {})
            total[0] += point.get("clicks", 0.0)
            total[1] += point.get("impressions", 0.0)
        (x1, n1), (x0, n0) = totals[variant], totals[baseline]
        looks.append((x1, n1, x0, n0))
    return looks


def comparison(
    tallies: Tallies,
    variant: Mapping[str, Any],
    baseline: Mapping[str, Any],
    settings: ExperimentSettings,
) -> dict[str, Any]:
    """``variant`` against ``baseline``: lift, interval, p-values, significance."""
    x1, n1 = variant["clicks"], variant["impressions"]
    x0, n0 = baseline["clicks"], baseline["impressions"]
    p_value = two_proportion_p(x1, n1, x0, n0)
    interval = lift_interval(x1, n1, x0, n0, settings.alpha)
    sequential = msprt_p(_looks(tallies, variant["name"], baseline["name"]), settings.msprt_tau)
    return {
        "variant": variant["name"],
        "baseline": baseline["name"],
        "ctr_lift": variant["ctr"] / baseline["ctr"] - 1 if baseline["ctr"] else None,
        "ctr_lift_ci": list(interval) if interval is not None else None,
        "p_value": p_value,
        "significant": p_value is not None and p_value < settings.alpha,
        "sequential": {"p_value": sequential, "significant": sequential < settings.alpha},
    }


def interleaving_outcome(tallies: Tallies, experiment: Experiment, alpha: float) -> dict[str, Any]:
    """Wins per team, ties, and the binomial test of wins against losses."""
    lists = tallies.variant(INTERLEAVED)
    a, b = (v.name for v in experiment.variants)
    wins_a, wins_b = int(lists.get(wins_counter(a), 0)), int(lists.get(wins_counter(b), 0))
    p_value = binomial_p(wins_b, wins_a + wins_b)
    significant = p_value is not None and p_value < alpha
    return {
        "lists": int(lists.get("lists", 0)),
        "wins": {a: wins_a, b: wins_b},
        "ties": int(lists.get(TIES, 0)),
        "p_value": p_value,
        "significant": significant,
        "winner": (b if wins_b > wins_a else a)
        if p_value is not None and p_value < alpha
        else None,
    }


def series(tallies: Tallies, name: str, bucket_s: float, alpha: float) -> list[dict[str, Any]]:
    """A variant's cumulative CTR at the end of every time bucket."""
    clicks = impressions = 0.0
    points = []
    for variant, bucket in sorted(k for k in tallies.series if k[0] == name):
        point = tallies.series[(variant, bucket)]
        clicks += point.get("clicks", 0.0)
        impressions += point.get("impressions", 0.0)
        points.append(
            {
                "time_ms": int((bucket + 1) * bucket_s * 1000),
                "impressions": int(impressions),
                "clicks": int(clicks),
                "ctr": _ratio(clicks, impressions),
                "ctr_ci": list(wilson(clicks, impressions, alpha)),
            }
        )
    return points


def experiment_report(
    experiment: Experiment,
    tallies: Tallies,
    guardrails: Mapping[str, Mapping[str, Any]],
    settings: ExperimentSettings,
) -> dict[str, Any]:
    """The report of ``experiment`` from its counters and live guardrails."""
    interleaved = experiment.mode == "interleaving"
    variants = []
    for variant in experiment.variants:
        users = tallies.users.get(INTERLEAVED if interleaved else variant.name, 0)
        figures = variant_figures(tallies, variant.name, users, settings.alpha)
        figures["traffic"] = variant.traffic
        figures["guardrails"] = dict(guardrails.get(variant.name, {}))
        figures["series"] = series(tallies, variant.name, settings.report_bucket_s, settings.alpha)
        variants.append(figures)
    report: dict[str, Any] = {
        "experiment_id": experiment.experiment_id,
        "status": experiment.status,
        "mode": experiment.mode,
        "variants": variants,
        "comparisons": [comparison(tallies, v, variants[0], settings) for v in variants[1:]],
    }
    if interleaved:
        report["interleaving"] = interleaving_outcome(tallies, experiment, settings.alpha)
    return report
