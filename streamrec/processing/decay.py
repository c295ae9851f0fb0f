"""Forward exponential decay (Cormode et al., "Forward Decay", ICDE 2009).

A decayed counter ``sum_e w_e * 2**(-(T - t_e) / h)`` is stored as
``sum_e w_e * 2**((t_e - L) / h)`` for a landmark time ``L``. Adding an event is then
a plain addition, whatever its time (late events included), and every item's score
at any time ``T`` is the stored value times the same factor ``2**(-(T - L) / h)``, so
rankings need no decay pass at all. When ``(t - L) / h`` grows large the landmark is
moved forward and the stored values rescaled (:meth:`ForwardDecay.rebase_factor`).

A half-life of 0 in the settings means no decay: an infinite half-life, whose
factors are all 1, so the counter is a plain sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streamrec.config import DecaySettings

#: Rebase before stored exponents pass half this many half-lives (2**100 fits float32).
MAX_HALF_LIVES = 200.0


@dataclass(frozen=True, slots=True)
class ForwardDecay:
    """Decay with one half-life, measured in milliseconds of event time (``inf``: none)."""

    half_life_ms: float

    @classmethod
    def from_seconds(cls, half_life_s: float) -> ForwardDecay:
        """A decay whose half-life is given in seconds (0: no decay)."""
        return cls(half_life_s * 1000.0 if half_life_s > 0 else float("inf"))

    def factors(self, timestamps_ms: np.ndarray, landmark_ms: int) -> np.ndarray:
        """Forward factors ``2**((t - L) / h)`` of each event time."""
        return np.exp2((timestamps_ms - landmark_ms) / self.half_life_ms)

    def value_at(self, stored: np.ndarray | float, landmark_ms: int, at_ms: int) -> np.ndarray:
        """Decayed values at time ``at_ms`` of counters stored against ``landmark_ms``."""
        return np.asarray(stored) * np.exp2(-(at_ms - landmark_ms) / self.half_life_ms)

    def rebase_factor(self, old_landmark_ms: int, new_landmark_ms: int) -> float:
        """Multiply stored values by this when the landmark moves."""
        return float(np.exp2(-(new_landmark_ms - old_landmark_ms) / self.half_life_ms))

    def needs_rebase(self, landmark_ms: int, latest_ms: int) -> bool:
        """Would events at ``latest_ms`` push stored values towards overflow?"""
        return (latest_ms - landmark_ms) / self.half_life_ms > MAX_HALF_LIVES / 2


@dataclass(frozen=True, slots=True)
class Decays:
    """The decays of every counter the online state keeps."""

    popularity: ForwardDecay
    trend_short: ForwardDecay
    trend_long: ForwardDecay
    cooccurrence: ForwardDecay
    affinity: ForwardDecay

    @classmethod
    def from_settings(cls, settings: DecaySettings) -> Decays:
        """Build from the ``decay`` settings section."""
        return cls(
            popularity=ForwardDecay.from_seconds(settings.popularity_half_life_s),
            trend_short=ForwardDecay.from_seconds(settings.trending_short_half_life_s),
            trend_long=ForwardDecay.from_seconds(settings.trending_long_half_life_s),
            cooccurrence=ForwardDecay.from_seconds(settings.cooccurrence_half_life_s),
            affinity=ForwardDecay.from_seconds(settings.affinity_half_life_s),
        )

    def named(self) -> dict[str, ForwardDecay]:
        """Each decay by name."""
        return {name: getattr(self, name) for name in self.__slots__}

    def needs_rebase(self, landmark_ms: int, latest_ms: int) -> bool:
        """Would any counter approach overflow at ``latest_ms``?"""
        return any(d.needs_rebase(landmark_ms, latest_ms) for d in self.named().values())
