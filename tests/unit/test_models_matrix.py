"""Event weighting, confidence transforms and the interaction matrix."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from streamrec.config import EventWeights
from streamrec.events import TYPE_CODE, Event, EventBatch
from streamrec.models import InteractionMatrix, event_weights
from streamrec.models.weighting import Confidence, apply_confidence


def _batch(rows: list[tuple[str, str, str, float | None, int]]) -> EventBatch:
    return EventBatch.from_events(
        [
            Event(user_id=u, item_id=i, type=t, value=v, timestamp=ts)  # type: ignore[arg-type]
            for u, i, t, v, ts in rows
        ]
    )


def test_event_weights_follow_the_configured_rule() -> None:
    weights = EventWeights(rating=1.0, rating_per_star=0.5, rating_neutral=3.0)
    types = np.array(
        [TYPE_CODE[t] for t in ("view", "purchase", "rating", "rating", "rating", "dislike")],
        dtype=np.int8,
    )
    values = np.array([np.nan, 2.0, 5.0, 1.0, np.nan, np.nan])
    expected = [weights.view, weights.purchase, 2.0, 0.0, 1.0, weights.dislike]
    np.testing.assert_allclose(event_weights(types, values, weights), expected)


def test_confidence_transforms() -> None:
    matrix = sp.csr_matrix(np.array([[0.0, 3.0], [1.0, 0.0]], dtype=np.float32))
    assert apply_confidence(matrix, Confidence.LINEAR).toarray().tolist() == [[0, 3], [1, 0]]
    np.testing.assert_allclose(
        apply_confidence(matrix, Confidence.LOG).toarray(), np.log1p(matrix.toarray())
    )
    assert apply_confidence(matrix, Confidence.BINARY).toarray().tolist() == [[0, 1], [1, 0]]
    assert matrix.toarray().tolist() == [[0, 3], [1, 0]], "the input is left alone"


EVENTS = [
    ("ann", "a", "view", None, 1_000),
    ("ann", "a", "purchase", None, 2_000),
    ("ann", "b", "view", None, 3_000),
    ("ann", "b", "dislike", None, 4_000),
    ("bob", "b", "rating", 5.0, 5_000),
    ("bob", "c", "rating", 1.0, 6_000),
    ("cid", "c", "skip", None, 7_000),
]


def test_matrix_sums_weights_and_keeps_positive_totals() -> None:
    weights = EventWeights()
    matrix = InteractionMatrix.from_batches(_batch(EVENTS), weights, item_ids=["z", "a"])
    assert matrix.items.to_list() == ["z", "a", "b", "c"], "given items first, no duplicates"
    assert matrix.users.to_list() == ["ann", "bob", "cid"]
    assert matrix.csr.dtype == np.float32 and matrix.shape == (3, 4)
    dense = matrix.csr.toarray()
    assert dense[0, 1] == pytest.approx(weights.view + weights.purchase)
    assert dense[0, 2] == 0.0, "view + dislike is negative: dropped"
    assert dense[1, 2] == pytest.approx(2.0) and dense[1, 3] == 0.0
    assert matrix.csr.nnz == 2 and (matrix.csr.data > 0).all()
    assert matrix.window.as_dict() == {
        "min_ts": 1_000,
        "max_ts": 7_000,
        "n_events": 7,
        "n_users": 3,
        "n_items": 4,
    }


def test_a_stream_of_batches_equals_one_batch() -> None:
    weights = EventWeights()
    whole = InteractionMatrix.from_batches(_batch(EVENTS), weights)
    streamed = InteractionMatrix.from_batches(
        iter([_batch(EVENTS[:3]), EventBatch.from_events([]), _batch(EVENTS[3:])]), weights
    )
    assert (whole.csr != streamed.csr).nnz == 0
    assert streamed.window == whole.window


def test_rows_for_and_user_items_from() -> None:
    matrix = InteractionMatrix.from_batches(_batch(EVENTS), EventWeights())
    rows = matrix.rows_for(["bob", "nobody", "ann"])
    assert rows.shape == (3, 3)
    np.testing.assert_array_equal(rows.toarray(), matrix.csr.toarray()[[1, 1, 0]] * [[1], [0], [1]])
    fresh = matrix.user_items_from(
        [(["c", "c", "unknown"], np.array([1.0, 2.0, 5.0])), (["a", "b"], np.array([-1.0, 4.0]))]
    )
    assert fresh.shape == (2, 3)
    assert fresh.toarray().tolist() == [[0, 0, 3], [0, 4, 0]]
    assert matrix.user_items_from([]).shape == (0, 3)


def test_als_after_itemknn_in_a_fresh_process_warns_nothing() -> None:
    """BLAS is pinned to one thread whatever model ran first (a fresh interpreter)."""
    import subprocess
    import sys

    script = (
        "import numpy as np, scipy.sparse as sp\n"
        "from streamrec.models.itemknn import ItemKNNModel\n"
        "from streamrec.models.als import ALSModel\n"
        "m = sp.random(200, 100, density=0.05, format='csr', random_state=0, dtype=np.float32)\n"
        "ItemKNNModel().fit(m).recommend(m[:5], 5)\n"
        "ALSModel(factors=8, iterations=2).fit(m)\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
