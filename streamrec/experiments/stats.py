"""The statistics of experiment reports.

- :func:`wilson`: the Wilson score interval of a proportion (CTR);
- :func:`two_proportion_p`: the two-sided pooled z-test of two proportions;
- :func:`lift_interval`: the interval of ``p1 / p0 - 1`` by the delta method on
  the log of the ratio;
- :func:`msprt_p`: the always-valid p-value of the mixture sequential probability
  ratio test (Johari, Pekelis and Walsh, 2017) on the difference of two
  proportions with a normal mixture ``N(0, tau^2)``, minimised over the looks
  taken so far: stopping whenever it falls below alpha keeps the false-positive
  rate at alpha however often one peeks;
- :func:`binomial_p`: the two-sided exact binomial test of interleaving wins.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from scipy import stats


def z_of(alpha: float) -> float:
    """The two-sided normal quantile of ``alpha``."""
    return float(stats.norm.ppf(1 - alpha / 2))


def wilson(successes: float, trials: float, alpha: float = 0.05) -> tuple[float, float]:
    """The Wilson score interval of ``successes / trials`` (``(0, 1)`` with no trials)."""
    if trials <= 0:
        return (0.0, 1.0)
    z = z_of(alpha)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def two_proportion_p(x1: float, n1: float, x0: float, n0: float) -> float | None:
    """Two-sided p-value of ``x1/n1 == x0/n0`` (pooled z-test); ``None`` without data."""
    if n1 <= 0 or n0 <= 0:
        return None
    pooled = (x1 + x0) / (n1 + n0)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n0)
    if variance <= 0:
        return 1.0
    z = (x1 / n1 - x0 / n0) / math.sqrt(variance)
    return float(2 * stats.norm.sf(abs(z)))


def lift_interval(
    x1: float, n1: float, x0: float, n0: float, alpha: float = 0.05
) -> tuple[float, float] | None:
    """The interval of the relative lift ``(x1/n1) / (x0/n0) - 1``; ``None`` when either
    side has no success (the log ratio is undefined)."""
    if x1 <= 0 or x0 <= 0 or n1 <= 0 or n0 <= 0:
        return None
    ratio = (x1 / n1) / (x0 / n0)
    spread = z_of(alpha) * math.sqrt((1 - x1 / n1) / x1 + (1 - x0 / n0) / x0)
    return (ratio * math.exp(-spread) - 1, ratio * math.exp(spread) - 1)


def msprt_ratio(x1: float, n1: float, x0: float, n0: float, tau: float) -> float:
    """The mixture likelihood ratio of ``p1 != p0`` at one look (1 without data)."""
    if n1 <= 0 or n0 <= 0:
        return 1.0
    p1, p0 = x1 / n1, x0 / n0
    variance = p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0
    if variance <= 0:
        return 1.0
    tau2 = tau * tau
    d = p1 - p0
    exponent = d * d * tau2 / (2 * variance * (variance + tau2))
    return math.sqrt(variance / (variance + tau2)) * math.exp(min(exponent, 700.0))


def msprt_p(looks: Iterable[tuple[float, float, float, float]], tau: float) -> float:
    """The always-valid p-value after the cumulative ``(x1, n1, x0, n0)`` looks."""
    p = 1.0
    for x1, n1, x0, n0 in looks:
        p = min(p, 1.0 / msprt_ratio(x1, n1, x0, n0, tau))
    return p


def binomial_p(wins: int, trials: int) -> float | None:
    """Two-sided exact p-value of ``wins`` out of ``trials`` against one half."""
    if trials <= 0:
        return None
    return float(stats.binomtest(wins, trials, 0.5).pvalue)
