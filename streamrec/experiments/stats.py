"""The statistics of experiment reports.

Users, not impressions, are assigned to variants, and one user's impressions and
clicks are correlated (their taste), so the variance of a variant's CTR is taken
with the user as the unit (:class:`UserMoments`, the delta method for a ratio of
per-user sums); the textbook pooled test that treats impressions as independent
(:func:`two_proportion_p`) is reported beside it and runs hot when users differ.

- :func:`wilson`: the Wilson score interval of a proportion;
- :func:`ctr_interval`, :func:`difference_p`, :func:`lift_interval`: a variant's
  CTR interval, the two-proportion z-test and the interval of ``ctr1 / ctr0 - 1``
  (delta method on the log of the ratio), all with user-level variances;
- :func:`two_proportion_p`: the two-sided pooled z-test of two proportions;
- :func:`msprt_p`: the always-valid p-value of the mixture sequential probability
  ratio test (Johari, Pekelis and Walsh, 2017) on the difference of the CTRs with
  a normal mixture ``N(0, tau^2)``, minimised over the looks taken so far:
  stopping whenever it falls below alpha keeps the false-positive rate at alpha
  however often one peeks;
- :func:`binomial_p`: the two-sided exact binomial test of interleaving wins.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class UserMoments:
    """Per-user sums of one variant: users, clicks ``c``, impressions ``n`` and the
    sums of ``c^2``, ``n^2``, ``c*n`` over users."""

    users: float
    clicks: float
    impressions: float
    clicks_sq: float
    impressions_sq: float
    cross: float

    @staticmethod
    def of(counters: Mapping[str, float]) -> UserMoments:
        """The moments among a variant's counters."""
        return UserMoments(
            counters.get("users", 0.0),
            counters.get("clicks", 0.0),
            counters.get("impressions", 0.0),
            counters.get("clicks_sq", 0.0),
            counters.get("impressions_sq", 0.0),
            counters.get("clicks_x_impressions", 0.0),
        )

    @property
    def ctr(self) -> float:
        """Clicks per impression."""
        return self.clicks / self.impressions if self.impressions else 0.0

    def variance(self) -> float | None:
        """The variance of the CTR estimate with users as the independent unit (the
        delta method for a ratio of sums); ``None`` below two users or impressions."""
        n = self.users
        if n < 2 or self.impressions <= 0:
            return None
        mean_c, mean_n = self.clicks / n, self.impressions / n
        var_c = max(self.clicks_sq / n - mean_c**2, 0.0)
        var_n = max(self.impressions_sq / n - mean_n**2, 0.0)
        cov = self.cross / n - mean_c * mean_n
        r = self.ctr
        spread = max(var_c - 2 * r * cov + r * r * var_n, 0.0) * n / (n - 1)
        return spread / (n * mean_n**2)


def ctr_interval(m: UserMoments, alpha: float = 0.05) -> tuple[float, float]:
    """The interval of a variant's CTR (user-level variance; Wilson without it)."""
    variance = m.variance()
    if variance is None or variance == 0:
        return wilson(m.clicks, m.impressions, alpha)
    half = z_of(alpha) * math.sqrt(variance)
    return (max(0.0, m.ctr - half), min(1.0, m.ctr + half))


def difference_p(m1: UserMoments, m0: UserMoments) -> float | None:
    """Two-sided p-value of equal CTRs, z-test with user-level variances."""
    v1, v0 = m1.variance(), m0.variance()
    if v1 is None or v0 is None:
        return None
    if v1 + v0 <= 0:
        return 1.0
    z = (m1.ctr - m0.ctr) / math.sqrt(v1 + v0)
    return float(2 * stats.norm.sf(abs(z)))


def lift_interval(
    m1: UserMoments, m0: UserMoments, alpha: float = 0.05
) -> tuple[float, float] | None:
    """The interval of the relative lift ``ctr1 / ctr0 - 1`` (delta method on the log
    of the ratio); ``None`` when either side has no click or too few users."""
    v1, v0 = m1.variance(), m0.variance()
    if v1 is None or v0 is None or m1.clicks <= 0 or m0.clicks <= 0:
        return None
    ratio = m1.ctr / m0.ctr
    spread = z_of(alpha) * math.sqrt(v1 / m1.ctr**2 + v0 / m0.ctr**2)
    return (ratio * math.exp(-spread) - 1, ratio * math.exp(spread) - 1)


def msprt_ratio(difference: float, variance: float, tau: float) -> float:
    """The mixture likelihood ratio of a non-zero difference at one look (1 when
    the variance is unknown)."""
    if variance <= 0:
        return 1.0
    tau2 = tau * tau
    exponent = difference * difference * tau2 / (2 * variance * (variance + tau2))
    return math.sqrt(variance / (variance + tau2)) * math.exp(min(exponent, 700.0))


def msprt_p(looks: Iterable[tuple[UserMoments, UserMoments]], tau: float) -> float:
    """The always-valid p-value after the cumulative looks ``(variant, baseline)``."""
    p = 1.0
    for m1, m0 in looks:
        v1, v0 = m1.variance(), m0.variance()
        if v1 is not None and v0 is not None:
            p = min(p, 1.0 / msprt_ratio(m1.ctr - m0.ctr, v1 + v0, tau))
    return p


def binomial_p(wins: int, trials: int) -> float | None:
    """Two-sided exact p-value of ``wins`` out of ``trials`` against one half."""
    if trials <= 0:
        return None
    return float(stats.binomtest(wins, trials, 0.5).pvalue)
