"""``GET /v1/experiments/{id}/report``: per-variant figures and comparisons.

Per variant: users, lists, served slots, impressions (shown), clicks, CTR =
clicks / impressions with its 95% interval, add-to-carts, conversions
(purchases), conversion rate = conversions / impressions, revenue and revenue
per user, the same per position, and the live guardrails. Each variant after the
first is compared with the first (the baseline): the CTR lift with its interval,
the two-proportion p-value and ``significant`` (p below ``experiments.alpha``),
all with user-level variances (see :mod:`streamrec.experiments.stats`; the pooled
test that treats impressions as independent is ``p_value_pooled``), and the
always-valid mSPRT p-value over the report's time buckets (``sequential``), which
may be read at every bucket without inflating false positives. An interleaving
experiment reports each team's wins, the ties and the binomial test.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streamrec.config import ExperimentSettings
from streamrec.experiments.definition import INTERLEAVED, Experiment
from streamrec.experiments.interleaving import TIES, wins_counter
from streamrec.experiments.stats import (
    UserMoments,
    binomial_p,
    ctr_interval,
    difference_p,
    lift_interval,
    msprt_p,
    two_proportion_p,
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
        "ctr_ci": list(ctr_interval(UserMoments.of(c), alpha)),
        "add_to_cart": int(c.get("add_to_cart", 0)),
        "conversions": int(conversions),
        "conversion_rate": _ratio(conversions, impressions),
        "revenue": revenue,
        "revenue_per_user": _ratio(revenue, users),
        "positions": positions,
    }


def _cumulative(tallies: Tallies, name: str, buckets: list[int]) -> list[UserMoments]:
    """A variant's cumulative moments at the end of each of ``buckets``."""
    total: dict[str, float] = {}
    moments = []
    for bucket in buckets:
        for counter, value in tallies.series.get((name, bucket), {}).items():
            total[counter] = total.get(counter, 0.0) + value
        moments.append(UserMoments.of(total))
    return moments


def comparison(
    tallies: Tallies,
    variant: Mapping[str, Any],
    baseline: Mapping[str, Any],
    settings: ExperimentSettings,
) -> dict[str, Any]:
    """``variant`` against ``baseline``: lift, interval, p-values, significance."""
    a, b = variant["name"], baseline["name"]
    m1, m0 = UserMoments.of(tallies.variant(a)), UserMoments.of(tallies.variant(b))
    p_value = difference_p(m1, m0)
    interval = lift_interval(m1, m0, settings.alpha)
    buckets = sorted({bucket for (v, bucket) in tallies.series if v in (a, b)})
    looks = zip(_cumulative(tallies, a, buckets), _cumulative(tallies, b, buckets), strict=True)
    sequential = msprt_p(looks, settings.msprt_tau)
    return {
        "variant": a,
        "baseline": b,
        "ctr_lift": m1.ctr / m0.ctr - 1 if m0.ctr else None,
        "ctr_lift_ci": list(interval) if interval is not None else None,
        "p_value": p_value,
        "significant": p_value is not None and p_value < settings.alpha,
        "p_value_pooled": two_proportion_p(m1.clicks, m1.impressions, m0.clicks, m0.impressions),
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
        "winner": (b if wins_b > wins_a else a) if significant else None,
    }


def series(tallies: Tallies, name: str, bucket_s: float, alpha: float) -> list[dict[str, Any]]:
    """A variant's cumulative CTR (and interval) at the end of every time bucket."""
    buckets = sorted(bucket for (v, bucket) in tallies.series if v == name)
    return [
        {
            "time_ms": int((bucket + 1) * bucket_s * 1000),
            "impressions": int(m.impressions),
            "clicks": int(m.clicks),
            "ctr": m.ctr,
            "ctr_ci": list(ctr_interval(m, alpha)),
        }
        for bucket, m in zip(buckets, _cumulative(tallies, name, buckets), strict=True)
    ]


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
        users = tallies.variant(INTERLEAVED if interleaved else variant.name).get("users", 0)
        figures = variant_figures(tallies, variant.name, int(users), settings.alpha)
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
