"""Approximate nearest neighbours by inner product (HNSW), for large catalogs.

A thin wrapper around ``hnswlib`` with the shapes the models use: batch queries give
``(m, k)`` ids padded with ``-1`` and ``float32`` inner-product scores. The index is
saved with hnswlib's own file format plus a small JSON header (no pickle).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Self

import numpy as np

from streamrec.extras import import_extra
from streamrec.models.topk import NO_SCORE

if TYPE_CHECKING:
    import hnswlib

DEFAULT_M = 32
DEFAULT_EF_CONSTRUCTION = 200
DEFAULT_EF = 200


class AnnIndex:
    """An HNSW index over item vectors, searched by inner product.

    Build it with :meth:`build`; ids are the row numbers of the vectors.
    """

    def __init__(self, index: hnswlib.Index, ef: int, m: int, ef_construction: int) -> None:
        self._index = index
        self.ef = ef
        self.m = m
        self.ef_construction = ef_construction

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        ef_construction: int = DEFAULT_EF_CONSTRUCTION,
        M: int = DEFAULT_M,  # noqa: N803 - the name HNSW papers and hnswlib use
        ef: int = DEFAULT_EF,
        seed: int = 0,
    ) -> Self:
        """Index the rows of ``vectors`` (``(n, dim)``).

        Parameters
        ----------
        vectors
            One vector per item; row ``i`` gets id ``i``.
        ef_construction
            Candidate list size while building (higher: better graph, slower build).
        M
            Links per node (higher: better recall, more memory).
        ef
            Default candidate list size at query time.
        seed
            Seed of the level generator; building is single-threaded, so the same
            vectors and seed give the same index.
        """
        data = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = data.shape
        index = import_extra("hnswlib", "models", "the ANN index").Index(space="ip", dim=dim)
        index.init_index(
            max_elements=max(1, n), ef_construction=ef_construction, M=M, random_seed=seed
        )
        if n:
            index.add_items(data, np.arange(n), num_threads=1)
        return cls(index, ef, M, ef_construction)

    def __len__(self) -> int:
        return int(self._index.get_current_count())

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self._index.dim)

    def query(
        self, vectors: np.ndarray, k: int, ef: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items of largest inner product with each row of ``vectors``.

        Returns
        -------
        ids, scores
            ``(m, k)`` ``int32`` ids best first (``-1`` padding when the index holds
            fewer than ``k`` items) and ``float32`` inner products (``-inf`` padding).
        """
        queries = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        m = queries.shape[0]
        ids = np.full((m, k), -1, dtype=np.int32)
        scores = np.full((m, k), NO_SCORE, dtype=np.float32)
        width = min(k, len(self))
        if width == 0 or m == 0:
            return ids, scores
        self._index.set_ef(max(ef or self.ef, width))
        labels, distances = self._index.knn_query(queries, k=width, num_threads=1)
        ids[:, :width] = labels
        scores[:, :width] = 1.0 - distances
        return ids, scores

    def save(self, directory: str | Path, name: str = "ann") -> None:
        """Write ``<name>.hnsw`` and its header ``<name>.json`` into ``directory``."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        self._index.save_index(str(path / f"{name}.hnsw"))
        header = {
            "dim": self.dim,
            "count": len(self),
            "ef": self.ef,
            "M": self.m,
            "ef_construction": self.ef_construction,
        }
        (path / f"{name}.json").write_text(json.dumps(header))

    @classmethod
    def load(cls, directory: str | Path, name: str = "ann") -> Self:
        """Read an index written by :meth:`save`."""
        path = Path(directory)
        header = json.loads((path / f"{name}.json").read_text())
        index = import_extra("hnswlib", "models", "the ANN index").Index(
            space="ip", dim=int(header["dim"])
        )
        index.load_index(str(path / f"{name}.hnsw"), max_elements=max(1, int(header["count"])))
        return cls(index, int(header["ef"]), int(header["M"]), int(header["ef_construction"]))

    @staticmethod
    def exists(directory: str | Path, name: str = "ann") -> bool:
        """Whether ``directory`` holds an index saved under ``name``."""
        return (Path(directory) / f"{name}.json").is_file()
