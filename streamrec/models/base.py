"""The shape every batch model shares: fit, batch recommend, similar items, save/load.

A model works on dense ids only: rows of a ``user_items`` matrix are users (any
users, trained or not), columns are the item ids of the
:class:`~streamrec.models.matrix.InteractionMatrix` it was fitted on. Subclasses
provide the scores; this class does the batching, exclusion, top-k and persistence
(``.npz`` loaded with ``allow_pickle=False``: no pickle anywhere).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import scipy.linalg  # noqa: F401  (loads scipy's BLAS before the controller scans)
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

from streamrec.models.topk import top_k

#: Dense score cells computed at once while recommending (bounds memory per call).
_SCORE_CELLS = 1 << 23


@cache
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()


def single_threaded_blas() -> AbstractContextManager[object]:
    """A context in which BLAS runs on the calling thread only.

    Scoring a few users is many small matrix products; a BLAS thread pool only adds
    hand-off latency to those (tens of milliseconds on a busy machine instead of
    one), and implicit's training parallelises over users itself.
    """
    return _blas_controller().limit(limits=1, user_api="blas")


class Recommender(ABC):
    """Base class of the batch models.

    Subclasses set :attr:`kind` and implement :meth:`fit`, :meth:`params`,
    :attr:`n_items`, :meth:`_user_scores`, :meth:`_item_scores`, :meth:`_arrays` and
    :meth:`_from_arrays`.
    """

    kind: ClassVar[str]

    @abstractmethod
    def fit(self, matrix: sp.csr_matrix) -> Self:
        """Train on a users × items matrix of positive interaction weights."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """The hyper-parameters, JSON-ready (they rebuild an unfitted twin)."""

    @property
    @abstractmethod
    def n_items(self) -> int:
        """How many item columns the model knows."""

    @abstractmethod
    def _user_scores(self, user_items: sp.csr_matrix) -> np.ndarray:
        """Dense ``(m, n_items)`` ``float32`` scores; ``-inf`` where not a candidate."""

    @abstractmethod
    def _item_scores(self, item_ids: np.ndarray) -> np.ndarray:
        """Dense ``(q, n_items)`` similarity of each item to every item."""

    @abstractmethod
    def _arrays(self) -> dict[str, np.ndarray]:
        """The fitted state as named arrays."""

    @classmethod
    @abstractmethod
    def _from_arrays(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        """Rebuild a fitted model from :meth:`params` and :meth:`_arrays`."""

    def recommend(
        self, user_items: sp.csr_matrix, k: int, exclude: sp.csr_matrix | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The top ``k`` items for each row of ``user_items``.

        Parameters
        ----------
        user_items
            ``(m, n)`` interaction weights of the users to recommend for. Columns past
            :attr:`n_items` (items the model was not trained on) are ignored.
        k
            How many items per user.
        exclude
            ``(m, n)`` matrix whose stored entries are never returned; by default the
            users' own items. Pass an empty matrix to exclude nothing.

        Returns
        -------
        ids, scores
            ``(m, k)`` ``int32`` item ids best first, padded with ``-1`` (score
            ``-inf``) where fewer than ``k`` items qualify, and ``float32`` scores.
        """
        user_items, exclude = self._recommend_inputs(user_items, k, exclude)
        m = user_items.shape[0]
        ids = np.empty((m, k), dtype=np.int32)
        scores = np.empty((m, k), dtype=np.float32)
        step = max(1, _SCORE_CELLS // max(1, self.n_items))
        with single_threaded_blas():
            for start in range(0, m, step):
                rows = slice(start, min(m, start + step))
                scores_rows = self._user_scores(user_items[rows])
                ids[rows], scores[rows] = top_k(scores_rows, k, exclude[rows])
        return ids, scores

    def _recommend_inputs(
        self, user_items: sp.csr_matrix, k: int, exclude: sp.csr_matrix | None
    ) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Checked ``user_items`` and ``exclude``, both fitted to :attr:`n_items`."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        user_items = self.fit_columns(user_items)
        exclude = user_items if exclude is None else self.fit_columns(exclude)
        if exclude.shape[0] != user_items.shape[0]:
            raise ValueError("exclude must have one row per row of user_items")
        return user_items, exclude

    def similar_items(self, item_ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items most similar to each of ``item_ids`` (never the item itself).

        Returns
        -------
        ids, scores
            ``(q, k)`` as in :meth:`recommend`.
        """
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        item_ids = np.asarray(item_ids, dtype=np.int64).reshape(-1)
        if item_ids.size and (item_ids.min() < 0 or item_ids.max() >= self.n_items):
            raise ValueError(f"item ids must lie in [0, {self.n_items})")
        q = item_ids.size
        itself = sp.csr_matrix(
            (np.ones(q, np.float32), item_ids, np.arange(q + 1)), shape=(q, self.n_items)
        )
        with single_threaded_blas():
            return top_k(self._item_scores(item_ids), k, itself)

    def fit_columns(self, matrix: sp.spmatrix) -> sp.csr_matrix:
        """``matrix`` as ``float32`` CSR with exactly :attr:`n_items` columns.

        Missing columns are empty; columns past :attr:`n_items` are dropped.
        """
        csr = sp.csr_matrix(matrix, dtype=np.float32)
        if csr.shape[1] > self.n_items:
            csr = csr[:, : self.n_items].tocsr()
        elif csr.shape[1] < self.n_items:
            csr = sp.csr_matrix(
                (csr.data, csr.indices, csr.indptr), shape=(csr.shape[0], self.n_items)
            )
        return csr

    def save(self, directory: str | Path) -> None:
        """Write the fitted model as ``<directory>/<kind>.npz``."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        arrays = {"params": np.array(json.dumps(self.params())), **self._arrays()}
        np.savez(path / f"{self.kind}.npz", **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, directory: str | Path) -> Self:
        """Read a model written by :meth:`save`."""
        with np.load(Path(directory) / f"{cls.kind}.npz", allow_pickle=False) as stored:
            params = json.loads(str(stored["params"]))
            arrays = {name: stored[name] for name in stored.files if name != "params"}
        return cls._from_arrays(params, arrays)


def sparse_arrays(prefix: str, matrix: sp.csr_matrix) -> dict[str, np.ndarray]:
    """The parts of a CSR matrix as named arrays (for :meth:`Recommender._arrays`)."""
    return {
        f"{prefix}_data": matrix.data,
        f"{prefix}_indices": matrix.indices,
        f"{prefix}_indptr": matrix.indptr,
        f"{prefix}_shape": np.asarray(matrix.shape, dtype=np.int64),
    }


def sparse_from_arrays(prefix: str, arrays: dict[str, np.ndarray]) -> sp.csr_matrix:
    """The CSR matrix stored by :func:`sparse_arrays`."""
    shape = tuple(int(x) for x in arrays[f"{prefix}_shape"])
    return sp.csr_matrix(
        (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]),
        shape=shape,
    )
