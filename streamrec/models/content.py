"""Content model: TF-IDF vectors of item metadata, compared by cosine.

Each item becomes a sparse vector over features drawn from its metadata:
categories (``c:…``), tags (``t:…``) and title words (``w:…``), each field with its
own weight, scaled by the feature's inverse document frequency and L2-normalized.
Because a vector needs nothing but metadata, an item has neighbours from its first
catalog write: :meth:`ContentModel.add_items` adds or replaces items without a
refit. New features get their IDF from the counts at that moment and existing
features keep theirs, so every vector stays ``normalize(counts · idf)``; a
:meth:`~ContentModel.fit` recomputes the IDF over everything known.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from streamrec.ids import IdMap
from streamrec.models.base import Recommender, sparse_arrays, sparse_from_arrays
from streamrec.models.topk import sparse_to_scores
from streamrec.state.base import CatalogItem

_WORD = re.compile(r"\w\w+")


class ContentModel(Recommender):
    """Metadata similarity between items, and between users' profiles and items.

    Parameters
    ----------
    items
        The item id map to share with the other models (dense ids must agree); a new
        one is made when omitted. :meth:`add_items` interns new items into it.
    category_weight, tag_weight, title_weight
        Weight of one occurrence of a feature of each field.
    """

    kind = "content"

    def __init__(
        self,
        items: IdMap | None = None,
        category_weight: float = 1.0,
        tag_weight: float = 1.0,
        title_weight: float = 0.5,
    ) -> None:
        self.items = IdMap() if items is None else items
        self.category_weight = category_weight
        self.tag_weight = tag_weight
        self.title_weight = title_weight
        self.features = IdMap()
        self.counts = sp.csr_matrix((0, 0), dtype=np.float32)
        self.idf = np.zeros(0, dtype=np.float32)
        self.vectors = sp.csr_matrix((0, 0), dtype=np.float32)

    def params(self) -> dict[str, Any]:
        return {
            "category_weight": self.category_weight,
            "tag_weight": self.tag_weight,
            "title_weight": self.title_weight,
        }

    @property
    def n_items(self) -> int:
        return int(self.vectors.shape[0])

    def fit(self, matrix: sp.csr_matrix, catalog: Sequence[CatalogItem] = ()) -> Self:
        """Take in ``catalog`` and rebuild every vector with a fresh IDF.

        ``matrix`` fixes the least number of item columns (items with interactions
        but no metadata get empty vectors).
        """
        self._write_counts(catalog, min_items=matrix.shape[1])
        self.idf = _idf(self.counts, np.arange(self.counts.shape[1]))
        self.vectors = _normalized(self.counts, self.idf)
        return self

    def add_items(self, items: Sequence[CatalogItem]) -> None:
        """Add or replace items' metadata; their vectors are usable at once."""
        if not items:
            return
        known_features = self.idf.size
        rows = self._write_counts(items, min_items=self.n_items)
        new_features = np.arange(known_features, self.counts.shape[1])
        self.idf = np.concatenate([self.idf, _idf(self.counts, new_features)])
        fresh = _normalized(self.counts[rows], self.idf)
        self.vectors = _replace_rows(self.vectors, rows, fresh, self.counts.shape)

    def _write_counts(self, catalog: Sequence[CatalogItem], min_items: int) -> np.ndarray:
        """Intern ``catalog`` and features, replace their count rows; returns the rows."""
        catalog = list({item.item_id: item for item in catalog}.values())
        row_ids = self.items.intern_many([item.item_id for item in catalog])
        columns: list[int] = []
        values: list[float] = []
        indptr = [0]
        for item in catalog:
            for feature, weight in self._features(item).items():
                columns.append(self.features.intern(feature))
                values.append(weight)
            indptr.append(len(columns))
        shape = (max(min_items, self.items.capacity, self.n_items), self.features.capacity)
        rows = sp.csr_matrix(
            (np.asarray(values, np.float32), np.asarray(columns, np.int32), indptr),
            shape=(len(catalog), shape[1]),
        )
        rows.sum_duplicates()
        self.counts = _replace_rows(self.counts, row_ids, rows, shape)
        return row_ids

    def _features(self, item: CatalogItem) -> dict[str, float]:
        features: dict[str, float] = {}
        fields = (
            ((f"c:{c.strip().lower()}" for c in item.categories), self.category_weight),
            ((f"t:{t.strip().lower()}" for t in item.tags), self.tag_weight),
            ((f"w:{w}" for w in _WORD.findall((item.title or "").lower())), self.title_weight),
        )
        for names, weight in fields:
            for name in names:
                if weight > 0 and len(name) > 2:
                    features[name] = features.get(name, 0.0) + weight
        return features

    def _user_scores(self, user_items: sp.csr_matrix) -> np.ndarray:
        profiles = _normalized(user_items @ self.vectors, None)
        return sparse_to_scores(profiles @ self.vectors.T)

    def _item_scores(self, item_ids: np.ndarray) -> np.ndarray:
        return sparse_to_scores(self.vectors[item_ids] @ self.vectors.T)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            **sparse_arrays("counts", self.counts),
            **sparse_arrays("vectors", self.vectors),
            "idf": self.idf,
            "features": _names_array(self.features),
            "items": _names_array(self.items),
        }

    @classmethod
    def _from_arrays(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        model = cls(IdMap(_names_list(arrays["items"])), **params)
        model.features = IdMap(_names_list(arrays["features"]))
        model.counts = sparse_from_arrays("counts", arrays)
        model.vectors = sparse_from_arrays("vectors", arrays)
        model.idf = arrays["idf"]
        return model

    @classmethod
    def load(cls, directory: str | Path, items: IdMap | None = None) -> Self:
        """Read a saved model; with ``items``, share that map (it must agree).

        Raises
        ------
        ValueError
            If ``items`` names the stored items differently.
        """
        model = super().load(directory)
        if items is not None:
            stored = model.items.to_list()
            if items.to_list()[: len(stored)] != stored:
                raise ValueError("the item id map does not match the content model's items")
            model.items = items
        return model


def _idf(counts: sp.csr_matrix, features: np.ndarray) -> np.ndarray:
    """Smoothed IDF, ``log((1 + N) / (1 + df)) + 1``, of ``features``; N = items with any."""
    documents = int(np.count_nonzero(np.diff(counts.indptr)))
    frequency = np.bincount(counts.indices, minlength=counts.shape[1])[features]
    return (np.log((1.0 + documents) / (1.0 + frequency)) + 1.0).astype(np.float32)


def _normalized(matrix: sp.csr_matrix, idf: np.ndarray | None) -> sp.csr_matrix:
    """Rows of ``matrix`` (scaled by ``idf`` per column if given) to unit L2 norm."""
    scaled = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    if idf is not None:
        scaled.data *= idf[scaled.indices]
    norms = np.sqrt(np.asarray(scaled.multiply(scaled).sum(axis=1)).ravel())
    scaled.data /= np.repeat(np.where(norms > 0, norms, 1.0), np.diff(scaled.indptr))
    return scaled


def _replace_rows(
    matrix: sp.csr_matrix, rows: np.ndarray, values: sp.csr_matrix, shape: tuple[int, int]
) -> sp.csr_matrix:
    """``matrix`` grown to ``shape`` with ``rows`` replaced by the rows of ``values``."""
    grown = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    grown.resize(shape)
    keep = np.ones(shape[0], dtype=np.float32)
    keep[rows] = 0.0
    placed = sp.csr_matrix(
        (np.ones(rows.size, np.float32), (rows, np.arange(rows.size))), shape=(shape[0], rows.size)
    )
    widened = sp.csr_matrix(values, dtype=np.float32, copy=True)
    widened.resize((rows.size, shape[1]))
    result = (sp.diags(keep) @ grown + placed @ widened).tocsr()
    result.eliminate_zeros()
    result.sort_indices()
    return result


def _names_array(ids: IdMap) -> np.ndarray:
    """An id map's table as a string array (released ids as ``""``, never a real id)."""
    return np.array([name or "" for name in ids.to_list()], dtype=np.str_)


def _names_list(stored: np.ndarray) -> list[str | None]:
    return [name or None for name in stored.tolist()]
