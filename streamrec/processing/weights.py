"""How much each event says about a user's interest in an item.

One function turns event types and values into signed weights with the configured
:class:`~streamrec.config.EventWeights`; every component (online state, batch
models, evaluation) uses it, so they agree on what an event means.
"""

from __future__ import annotations

import numpy as np

from streamrec.config import EventWeights
from streamrec.events import EVENT_TYPES, TYPE_CODE, EventType

RATING = TYPE_CODE[EventType.RATING]
VIEW = TYPE_CODE[EventType.VIEW]
#: Types that never make two items "co-occur" for a user.
UNPAIRED_TYPES = frozenset(
    {EventType.DISLIKE, EventType.SKIP, EventType.IMPRESSION, EventType.REMOVE_FROM_CART}
)


def type_weight_table(weights: EventWeights) -> np.ndarray:
    """The configured weight of each type code (``rating`` holds its base weight)."""
    return np.array([getattr(weights, t.value) for t in EVENT_TYPES], dtype=np.float64)


def pairable_table() -> np.ndarray:
    """``True`` per type code where the type makes items co-occur."""
    return np.array([t not in UNPAIRED_TYPES for t in EVENT_TYPES], dtype=np.bool_)


def event_weights(types: np.ndarray, values: np.ndarray, weights: EventWeights) -> np.ndarray:
    """Signed weight of each event.

    Parameters
    ----------
    types
        Type codes (see :data:`streamrec.events.TYPE_CODE`).
    values
        Event values, NaN where absent; used by ratings.
    weights
        The configured weights.

    Returns
    -------
    numpy.ndarray
        ``float64`` weights; a rating weighs
        ``rating + rating_per_star * (value - rating_neutral)`` (its base weight when it
        has no value); a view with a dwell time is weighed by it as
        :class:`~streamrec.config.EventWeights` says.
    """
    result = type_weight_table(weights)[types.astype(np.intp)]
    rated = (types == RATING) & ~np.isnan(values)
    result[rated] += weights.rating_per_star * (values[rated] - weights.rating_neutral)
    dwelt = (types == VIEW) & ~np.isnan(values)
    if weights.dwell_full_s is not None:
        result[dwelt] *= np.minimum(values[dwelt] / weights.dwell_full_s, 1.0)
    result[_short_dwell(types, values, weights)] = weights.short_dwell
    return result


def _short_dwell(types: np.ndarray, values: np.ndarray, weights: EventWeights) -> np.ndarray:
    """``True`` where a view's dwell time is below ``short_dwell_s``."""
    if weights.short_dwell_s is None:
        return np.zeros(len(types), np.bool_)
    with np.errstate(invalid="ignore"):
        return (types == VIEW) & (values < weights.short_dwell_s)  # NaN: no dwell, False


def negative_mask(types: np.ndarray, values: np.ndarray, weights: EventWeights) -> np.ndarray:
    """``True`` where an event is negative feedback (a dislike, skip, low rating, or a
    view shorter than ``short_dwell_s``)."""
    negative = type_weight_table(weights)[types.astype(np.intp)] < 0
    rated = (types == RATING) & ~np.isnan(values)
    negative[rated] = values[rated] <= weights.rating_dislike_at
    negative |= _short_dwell(types, values, weights)
    return negative
