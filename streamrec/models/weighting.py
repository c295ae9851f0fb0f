"""Event weights and confidence transforms for the batch models.

:func:`event_weights` turns event types and values into signed interest weights with
the configured :class:`~streamrec.config.EventWeights`, the same rule the stream
processor applies, so batch models and online state agree on what an event means.
:func:`apply_confidence` reshapes the summed weights of an interaction matrix before
a model sees them; it is a parameter of each model, never baked into the matrix.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import scipy.sparse as sp

from streamrec.config import EventWeights
from streamrec.events import EVENT_TYPES, TYPE_CODE, EventType

_RATING = TYPE_CODE[EventType.RATING]


def event_weights(types: np.ndarray, values: np.ndarray, weights: EventWeights) -> np.ndarray:
    """Signed weight of each event.

    Parameters
    ----------
    types
        Type codes (see :data:`streamrec.events.TYPE_CODE`).
    values
        Event values, NaN where absent; only ratings use them.
    weights
        The configured weights.

    Returns
    -------
    numpy.ndarray
        ``float64`` weights, one per event. A rating weighs
        ``rating + rating_per_star * (value - rating_neutral)`` (its base weight when
        it has no value); every other type weighs its configured weight.
    """
    table = np.array([getattr(weights, t.value) for t in EVENT_TYPES], dtype=np.float64)
    result = table[np.asarray(types, dtype=np.intp)]
    rated = (types == _RATING) & ~np.isnan(values)
    result[rated] += weights.rating_per_star * (values[rated] - weights.rating_neutral)
    return result


class Confidence(StrEnum):
    """How a model turns summed interaction weights into confidences.

    ``linear`` keeps the weights, ``log`` uses ``log1p(weight)`` (damps heavy users
    and repeated events), ``binary`` turns every weight into its sign. Interaction
    matrices hold positive totals only, so ``log`` is always defined.
    """

    LINEAR = "linear"
    LOG = "log"
    BINARY = "binary"


def apply_confidence(user_items: sp.csr_matrix, confidence: Confidence) -> sp.csr_matrix:
    """A copy of ``user_items`` (``float32``) with ``confidence`` applied to its entries."""
    result = sp.csr_matrix(user_items, dtype=np.float32, copy=True)
    if confidence is Confidence.LOG:
        np.log1p(result.data, out=result.data)
    elif confidence is Confidence.BINARY:
        np.sign(result.data, out=result.data)
    return result
