"""Implicit-feedback matrix factorization (ALS) with exact user fold-in.

Training wraps :class:`implicit.cpu.als.AlternatingLeastSquares` (Hu, Koren and
Volinsky 2008, conjugate-gradient solver). Serving never needs the trained user
factors: :meth:`ALSModel.fold_in` solves each user's least-squares problem against
the item factors from the user's interactions (the same equations as implicit's
``recalculate_user``), batched in NumPy, so any user, trained or brand new, is
scored from their latest interactions without retraining.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from streamrec.extras import import_extra
from streamrec.models.ann import AnnIndex
from streamrec.models.base import Recommender, single_threaded_blas
from streamrec.models.topk import NO_SCORE, top_k
from streamrec.models.weighting import Confidence, apply_confidence

#: Gathered factor cells per fold-in step (bounds the memory of a batch).
_FOLD_IN_CELLS = 1 << 22


class ALSModel(Recommender):
    """Alternating least squares on implicit feedback.

    Parameters
    ----------
    factors
        Latent dimension.
    regularization
        L2 penalty on the factors.
    alpha
        Multiplier turning an interaction weight into a confidence.
    iterations
        ALS sweeps.
    random_state
        Seed of the initial factors.
    confidence
        Transform of the interaction weights (see :class:`Confidence`).
    """

    kind = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 1.0,
        iterations: int = 15,
        random_state: int = 42,
        confidence: Confidence | str = Confidence.LINEAR,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.confidence = Confidence(confidence)
        self.item_factors = np.zeros((0, factors), dtype=np.float32)
        self.user_factors = np.zeros((0, factors), dtype=np.float32)
        self.index: AnnIndex | None = None
        self._solver: tuple[np.ndarray, np.ndarray] | None = None

    def params(self) -> dict[str, Any]:
        return {
            "factors": self.factors,
            "regularization": self.regularization,
            "alpha": self.alpha,
            "iterations": self.iterations,
            "random_state": self.random_state,
            "confidence": self.confidence.value,
        }

    @property
    def n_items(self) -> int:
        return int(self.item_factors.shape[0])

    def fit(self, matrix: sp.csr_matrix) -> Self:
        """Factorize ``matrix`` (users × items); drops any ANN index built before."""
        als = import_extra("implicit.cpu.als", "models", "ALS training")
        user_items = apply_confidence(matrix, self.confidence)
        # implicit parallelises over users itself; a multi-threaded BLAS underneath
        # it only oversubscribes the cores (implicit warns about exactly that).
        with single_threaded_blas():
            model = als.AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                random_state=self.random_state,
            )
            model.fit(user_items, show_progress=False)
        self.item_factors = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        self.user_factors = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.index = None
        self._solver = None
        return self

    def build_index(self, ef_construction: int, M: int, ef: int) -> None:  # noqa: N803
        """Index the item factors for approximate retrieval in :meth:`recommend`."""
        self.index = AnnIndex.build(self.item_factors, ef_construction=ef_construction, M=M, ef=ef)

    def fold_in(self, user_items: sp.csr_matrix) -> np.ndarray:
        """Exact least-squares user factors from each row's interactions.

        For user ``u`` with confidences ``c_ui = alpha * w_ui`` this solves
        ``(YᵀY + λI + Σ_i (|c_ui| - 1) y_i y_iᵀ) x_u = Σ_{c_ui > 0} c_ui y_i``,
        the equations of implicit's ``recalculate_user``. Users are grouped by
        interaction count and each group is solved as one batched system.

        Returns
        -------
        numpy.ndarray
            ``(m, factors)`` ``float32``; a row with no interactions folds in to zero.
        """
        confidences = apply_confidence(self.fit_columns(user_items), self.confidence)
        confidences.data *= self.alpha
        m, f = confidences.shape[0], self.factors
        result = np.zeros((m, f), dtype=np.float32)
        lengths = np.diff(confidences.indptr)
        order = np.argsort(lengths, kind="stable")
        order = order[lengths[order] > 0]
        padded, base = self._solver_terms()
        start = 0
        with single_threaded_blas():
            while start < order.size:
                stop = _group_end(lengths[order], start, f)
                rows = order[start:stop]
                ids, conf = _padded_rows(confidences, rows, int(lengths[rows[-1]]), self.n_items)
                gathered = padded[ids]
                weighted = gathered * (np.abs(conf) - 1.0)[..., None]
                lhs = base + np.ascontiguousarray(weighted.transpose(0, 2, 1)) @ gathered
                rhs = np.einsum("glf,gl->gf", gathered, np.maximum(conf, 0.0))
                result[rows] = np.linalg.solve(lhs, rhs[..., None])[..., 0]
                start = stop
        return result

    def recommend(
        self, user_items: sp.csr_matrix, k: int, exclude: sp.csr_matrix | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fold the users in, then score every item (or ask the ANN index if built).

        See :meth:`Recommender.recommend` for the parameters and result.
        """
        if self.index is None:
            return super().recommend(user_items, k, exclude)
        user_items, exclude = self._recommend_inputs(user_items, k, exclude)
        vectors = self.fold_in(user_items)
        ids = np.full((vectors.shape[0], k), -1, dtype=np.int32)
        scores = np.full((vectors.shape[0], k), NO_SCORE, dtype=np.float32)
        # Each row asks for k plus its own exclusions, rounded up to a power of two,
        # so a user's result does not depend on the other users in the batch.
        needed = k + np.diff(exclude.indptr)
        widths = np.minimum(self.n_items, 2 ** np.ceil(np.log2(needed)).astype(np.int64))
        for width in np.unique(widths).tolist():
            rows = np.flatnonzero(widths == width)
            found, found_scores = self.index.query(vectors[rows], width)
            owners = np.repeat(rows, width)
            hit = np.asarray(exclude[owners, np.maximum(found.ravel(), 0)]).reshape(found.shape)
            found_scores[(hit != 0) | (found < 0)] = NO_SCORE
            local, scores[rows] = top_k(found_scores, k)
            chosen = np.take_along_axis(found, np.maximum(local, 0), axis=1)
            ids[rows] = np.where(local >= 0, chosen, -1)
        return ids, scores

    def _user_scores(self, user_items: sp.csr_matrix) -> np.ndarray:
        scores: np.ndarray = self.fold_in(user_items) @ self.item_factors.T
        return scores

    def _item_scores(self, item_ids: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(self.item_factors, axis=1)
        unit = self.item_factors / np.where(norms > 0, norms, 1.0)[:, None]
        scores: np.ndarray = unit[item_ids] @ unit.T
        scores[:, norms == 0] = NO_SCORE
        return scores

    def _solver_terms(self) -> tuple[np.ndarray, np.ndarray]:
        """Item factors (``float64``, plus a zero padding row) and ``YᵀY + λI``, cached."""
        if self._solver is None:
            factors = self.item_factors.astype(np.float64)
            gram = factors.T @ factors + self.regularization * np.eye(self.factors)
            self._solver = (np.vstack([factors, np.zeros((1, self.factors))]), gram)
        return self._solver

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"item_factors": self.item_factors, "user_factors": self.user_factors}

    @classmethod
    def _from_arrays(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        model = cls(**params)
        model.item_factors = arrays["item_factors"]
        model.user_factors = arrays["user_factors"]
        return model

    def save(self, directory: str | Path) -> None:
        """Write the factors (and the ANN index, if built) into ``directory``."""
        super().save(directory)
        if self.index is not None:
            self.index.save(directory, name=f"{self.kind}_ann")

    @classmethod
    def load(cls, directory: str | Path) -> Self:
        """Read a model written by :meth:`save`, with its ANN index if it had one."""
        model = super().load(directory)
        if AnnIndex.exists(directory, name=f"{cls.kind}_ann"):
            model.index = AnnIndex.load(directory, name=f"{cls.kind}_ann")
        return model


def _group_end(sorted_lengths: np.ndarray, start: int, factors: int) -> int:
    """End of the batch of users from ``start`` (lengths ascending) that fits the budget."""
    remaining = sorted_lengths.size - start
    size = 1
    while size < remaining:
        bigger = min(remaining, 2 * size)
        width = int(sorted_lengths[start + bigger - 1])
        if bigger * factors * max(width, factors) > _FOLD_IN_CELLS:
            break
        size = bigger
    return start + size


def _padded_rows(
    matrix: sp.csr_matrix, rows: np.ndarray, width: int, pad_id: int
) -> tuple[np.ndarray, np.ndarray]:
    """Column ids and values of ``rows`` as ``(g, width)`` arrays, padded with ``pad_id`` / 0."""
    starts = matrix.indptr[rows]
    counts = matrix.indptr[rows + 1] - starts
    offsets = np.arange(width)
    filled = offsets[None, :] < counts[:, None]
    positions = (starts[:, None] + offsets[None, :])[filled]
    ids = np.full((rows.size, width), pad_id, dtype=np.int64)
    values = np.zeros((rows.size, width), dtype=np.float64)
    ids[filled] = matrix.indices[positions]
    values[filled] = matrix.data[positions]
    return ids, values
