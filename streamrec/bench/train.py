"""Training time of ALS: ``implicit`` called directly beside streamrec's ``ALSModel``.

Both factorize the same weighted user × item matrix with the same hyper-parameters,
BLAS limited to one thread (``implicit`` parallelises over users itself), on
MovieLens and on a synthetic shop. ``implicit`` alone is the reference; the ratio
shows what the project's wrapper adds.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from streamrec.bench.common import BenchResult, Sizes
from streamrec.bench.workloads import movielens_batches, shop, synthetic_batches
from streamrec.config import Settings
from streamrec.events import EventBatch
from streamrec.models.als import ALSModel
from streamrec.models.matrix import InteractionMatrix
from streamrec.models.weighting import apply_confidence


def _implicit(matrix: sp.csr_matrix, model: ALSModel) -> None:
    from implicit.cpu.als import AlternatingLeastSquares

    user_items = apply_confidence(matrix, model.confidence)
    with threadpool_limits(1, "blas"):
        AlternatingLeastSquares(
            factors=model.factors,
            regularization=model.regularization,
            alpha=model.alpha,
            iterations=model.iterations,
            random_state=model.random_state,
        ).fit(user_items, show_progress=False)


def _timed(fit: Callable[[], object]) -> float:
    started = time.perf_counter()
    fit()
    return time.perf_counter() - started


def _measure(result: BenchResult, name: str, batches: list[EventBatch], sizes: Sizes) -> None:
    started = time.perf_counter()
    matrix = InteractionMatrix.from_batches(batches, Settings().weights).csr
    build_s = time.perf_counter() - started
    model = ALSModel(iterations=sizes.train_iterations)
    runs: list[tuple[float, float]] = []
    for _ in range(sizes.serve_repeats):  # interleaved, so both see the same machine
        runs.append((_timed(lambda: _implicit(matrix, model)), _timed(lambda: model.fit(matrix))))
    reference = statistics.median(r[0] for r in runs)
    ours = statistics.median(r[1] for r in runs)
    users, items = matrix.shape
    for trainer, seconds in (("implicit ALS", reference), ("streamrec ALSModel", ours)):
        result.add(
            dataset=name,
            users=users,
            items=items,
            nonzeros=matrix.nnz,
            trainer=trainer,
            matrix_s=build_s,
            train_s=seconds,
            ratio_to_implicit=seconds / reference,
        )


def run(sizes: Sizes, movielens: Path | None) -> BenchResult:
    """Time ALS training on MovieLens (if given) and on a synthetic shop."""
    defaults = ALSModel(iterations=sizes.train_iterations)
    result = BenchResult(
        "train", params={**defaults.params(), "repeats": sizes.serve_repeats, "blas_threads": 1}
    )
    if movielens is not None:
        _measure(result, movielens.name, movielens_batches(movielens, 100_000), sizes)
    else:
        result.notes.append("MovieLens skipped: no --movielens folder given")
    source = shop(sizes.train_users, sizes.train_items)
    _measure(result, "synthetic", synthetic_batches(source, sizes.train_events, 100_000), sizes)
    return result
