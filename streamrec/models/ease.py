"""EASE: the closed-form shallow linear auto-encoder (Steck, WWW 2019).

With ``G = XᵀX + λI`` and ``P = G⁻¹``, the item-item weights are
``B = I - P · diag(1 / diag(P))``, which is the ridge regression of each item's
column on every other item's with the diagonal forced to zero. ``B`` is dense
(items × items), so the catalog size is capped.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from streamrec.errors import ConfigError
from streamrec.models.base import Recommender
from streamrec.models.weighting import Confidence, apply_confidence


class EASEModel(Recommender):
    """Embarrassingly shallow auto-encoder.

    Parameters
    ----------
    l2
        Ridge penalty λ.
    max_items
        Largest catalog accepted (``B`` takes ``4 · items²`` bytes).
    confidence
        Transform of the interaction weights (see :class:`Confidence`).
    """

    kind = "ease"

    def __init__(
        self,
        l2: float = 500.0,
        max_items: int = 20_000,
        confidence: Confidence | str = Confidence.LINEAR,
    ) -> None:
        if l2 <= 0:
            raise ValueError(f"l2 must be positive, got {l2}")
        self.l2 = l2
        self.max_items = max_items
        self.confidence = Confidence(confidence)
        self.weights = np.zeros((0, 0), dtype=np.float32)

    def params(self) -> dict[str, Any]:
        return {"l2": self.l2, "max_items": self.max_items, "confidence": self.confidence.value}

    @property
    def n_items(self) -> int:
        return int(self.weights.shape[0])

    def fit(self, matrix: sp.csr_matrix) -> Self:
        """Solve for ``B``.

        Raises
        ------
        ConfigError
            If the matrix has more than ``max_items`` items.
        """
        n = matrix.shape[1]
        if n > self.max_items:
            raise ConfigError(
                f"EASE keeps a dense {n} x {n} matrix; the catalog exceeds max_items="
                f"{self.max_items} (raise it, or use ALS / item-kNN for this catalog)"
            )
        x = apply_confidence(matrix, self.confidence).astype(np.float64)
        gram = (x.T @ x).toarray()
        gram[np.diag_indices(n)] += self.l2
        precision = _spd_inverse(gram)
        weights = -precision / np.diag(precision)[None, :]
        weights[np.diag_indices(n)] = 0.0
        self.weights = weights.astype(np.float32)
        return self

    def _user_scores(self, user_items: sp.csr_matrix) -> np.ndarray:
        scores: np.ndarray = apply_confidence(user_items, self.confidence) @ self.weights
        return np.asarray(scores, dtype=np.float32)

    def _item_scores(self, item_ids: np.ndarray) -> np.ndarray:
        return self.weights[item_ids].copy()

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights}

    @classmethod
    def _from_arrays(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        model = cls(**params)
        model.weights = arrays["weights"]
        return model


def _spd_inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix by Cholesky (overwrites it)."""
    factor, info = lapack.dpotrf(matrix, lower=False, overwrite_a=True)
    if info == 0:
        inverse, info = lapack.dpotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"the item Gram matrix is not positive definite ({info})")
    upper = np.triu(inverse)
    return upper + np.triu(upper, 1).T
