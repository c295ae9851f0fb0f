"""Event weights and confidence transforms for the batch models.

:func:`event_weights` is the stream processor's own rule (re-exported from
:mod:`streamrec.processing.weights`), so batch models and online state agree on
what an event means.
:func:`apply_confidence` reshapes the summed weights of an interaction matrix before
a model sees them; it is a parameter of each model, never baked into the matrix.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from streamrec.models.settings import Confidence
from streamrec.processing.weights import event_weights

__all__ = ["Confidence", "apply_confidence", "event_weights"]


def apply_confidence(user_items: sp.csr_matrix, confidence: Confidence) -> sp.csr_matrix:
    """A copy of ``user_items`` (``float32``) with ``confidence`` applied to its entries."""
    result = sp.csr_matrix(user_items, dtype=np.float32, copy=True)
    if confidence is Confidence.LOG:
        np.log1p(result.data, out=result.data)
    elif confidence is Confidence.BINARY:
        np.sign(result.data, out=result.data)
    return result
