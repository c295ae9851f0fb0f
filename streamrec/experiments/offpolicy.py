"""Off-policy estimates of a target ranker's CTR from served lists with propensities.

A logging policy that randomizes slots records, per position ``p``, the
probability ``pi0(p)`` that it showed the item it showed there. Under the
position-based click model (a click at ``p`` depends on the user, the item and
``p`` only), the target's expected clicks per slot are estimated per list as

- IPS: ``sum_p 1[target_p == logged_p] / pi0(p) * click_p / K``;
- SNIPS: the IPS sum divided by the mean importance weight instead of by the
  number of lists (lower variance, slightly biased);
- DR (doubly robust): a reward model ``r(item, p)`` (the logged CTR of the item at
  the position, shrunk towards the position's CTR) gives the direct estimate of
  the target's slots, and IPS corrects it with ``click_p - r(logged_p, p)``.

Lists are independent, so the intervals are normal intervals over the per-list
contributions (the delta method for SNIPS' ratio).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from streamrec.experiments.stats import z_of


@dataclass(frozen=True, slots=True)
class LoggedList:
    """One served list with its propensities and which positions were clicked."""

    items: tuple[str, ...]
    propensities: tuple[float, ...]
    clicks: tuple[bool, ...]


@dataclass(frozen=True, slots=True)
class Estimate:
    """An estimated CTR (clicks per slot) and its interval."""

    value: float
    low: float
    high: float

    def covers(self, truth: float) -> bool:
        """Whether the interval holds ``truth``."""
        return self.low <= truth <= self.high


def _interval(values: np.ndarray, alpha: float) -> Estimate:
    mean = float(values.mean())
    half = z_of(alpha) * float(values.std(ddof=1)) / math.sqrt(len(values))
    return Estimate(mean, mean - half, mean + half)


def _matches(logged: Sequence[LoggedList], target: Sequence[Sequence[str]], k: int) -> np.ndarray:
    """Per list and position, the importance weight of the target (0 where it differs)."""
    weights = np.zeros((len(logged), k))
    for row, (entry, wanted) in enumerate(zip(logged, target, strict=True)):
        for p in range(min(k, len(entry.items), len(wanted))):
            if entry.items[p] == wanted[p]:
                weights[row, p] = 1.0 / entry.propensities[p]
    return weights


def _clicks(logged: Sequence[LoggedList], k: int) -> np.ndarray:
    clicks = np.zeros((len(logged), k))
    for row, entry in enumerate(logged):
        clicks[row, : len(entry.clicks[:k])] = entry.clicks[:k]
    return clicks


def ips(
    logged: Sequence[LoggedList], target: Sequence[Sequence[str]], k: int, alpha: float = 0.05
) -> Estimate:
    """The inverse-propensity estimate of the target's CTR."""
    per_list = (_matches(logged, target, k) * _clicks(logged, k)).sum(axis=1) / k
    return _interval(per_list, alpha)


def snips(
    logged: Sequence[LoggedList], target: Sequence[Sequence[str]], k: int, alpha: float = 0.05
) -> Estimate:
    """The self-normalized estimate: weighted clicks over weights."""
    weights = _matches(logged, target, k)
    numerator = (weights * _clicks(logged, k)).sum(axis=1)
    denominator = weights.sum(axis=1)
    value = float(numerator.sum() / denominator.sum())
    residual = (numerator - value * denominator) / denominator.mean()
    half = z_of(alpha) * float(residual.std(ddof=1)) / math.sqrt(len(logged))
    return Estimate(value, value - half, value + half)


def reward_model(
    logged: Sequence[LoggedList], k: int, prior: float = 20.0
) -> dict[str, np.ndarray]:
    """Per item, the logged CTR at each position, shrunk towards the position's CTR
    with ``prior`` pseudo-impressions."""
    clicks = _clicks(logged, k)
    position_ctr = clicks.mean(axis=0)
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, np.ndarray] = {}
    for row, entry in enumerate(logged):
        for p, item in enumerate(entry.items[:k]):
            sums.setdefault(item, np.zeros(k))[p] += clicks[row, p]
            counts.setdefault(item, np.zeros(k))[p] += 1
    return {item: (sums[item] + prior * position_ctr) / (counts[item] + prior) for item in sums} | {
        "": position_ctr
    }


def doubly_robust(
    logged: Sequence[LoggedList], target: Sequence[Sequence[str]], k: int, alpha: float = 0.05
) -> Estimate:
    """The doubly robust estimate: the reward model's value of the target's slots,
    corrected by importance-weighted residuals of the logged slots."""
    model = reward_model(logged, k)
    fallback = model[""]
    weights = _matches(logged, target, k)
    clicks = _clicks(logged, k)
    per_list = np.zeros(len(logged))
    for row, (entry, wanted) in enumerate(zip(logged, target, strict=True)):
        direct = sum(model.get(item, fallback)[p] for p, item in enumerate(wanted[:k]))
        predicted = np.array(
            [model.get(item, fallback)[p] for p, item in enumerate(entry.items[:k])]
            + [0.0] * (k - len(entry.items[:k]))
        )
        correction = float((weights[row] * (clicks[row] - predicted)).sum())
        per_list[row] = (direct + correction) / k
    return _interval(per_list, alpha)
