"""Drift: PSI and KL against hand computations, the windows, the references."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import pytest

from streamrec.config import DriftSettings, Settings
from streamrec.datasets import SyntheticShop
from streamrec.engine import Engine
from streamrec.events import TYPE_CODE, EventBatch
from streamrec.models.settings import ModelSettings
from streamrec.models.trainer import train_models
from streamrec.monitoring.telemetry import EngineTelemetry
from streamrec.processing.drift import (
    EPSILON,
    SCORE_BINS,
    SlidingCounts,
    activity_counts,
    kl,
    psi,
    rank_bins,
    score_counts,
)
from streamrec.processing.drift_monitor import FIRST_EVENTS, DriftMonitor, FeatureDrift
from streamrec.processing.drift_reference import (
    CATEGORY,
    EVENT_TYPE,
    ITEM_POPULARITY,
    SERVED_SCORE,
    USER_ACTIVITY,
    DriftReference,
    ReferenceBuilder,
)
from streamrec.state.memory import MemoryState

BLOCK = 100
SETTINGS = DriftSettings(block_events=BLOCK, window_blocks=3, reference_events=10 * BLOCK)


def _batch(
    types: Sequence[str], users: Sequence[str] | None = None, items: Sequence[str] | None = None
) -> EventBatch:
    n = len(types)
    return EventBatch.from_columns(
        {
            "user_id": list(users) if users is not None else [f"u{i % 37}" for i in range(n)],
            "item_id": list(items) if items is not None else [f"i{i % 11}" for i in range(n)],
            "type": [TYPE_CODE[t] for t in types],
            "value": [None] * n,
            "timestamp": list(range(n)),
        }
    )


def _mix(views: int, purchases: int, blocks: int) -> EventBatch:
    """``blocks`` blocks, each with ``views`` views then ``purchases`` purchases."""
    return _batch((["view"] * views + ["purchase"] * purchases) * blocks)


def _no_categories(items: Sequence[str]) -> list[str | None]:
    return [None] * len(items)


def _feature(monitor: DriftMonitor, name: str) -> FeatureDrift:
    (found,) = [d for d in monitor.drift() if d.feature == name]
    return found


def test_psi_and_kl_of_a_shifted_type_mix_match_the_hand_computation() -> None:
    # The reference (the first 1,000 events) is 80 % views, 20 % purchases; the live
    # window (the last 3 blocks) is 50/50. No bin is empty in one window only, so
    # PSI = sum (p_live - p_ref) * ln(p_live / p_ref) has no epsilon term:
    #   (0.5 - 0.8) * ln(0.5 / 0.8) = 0.1410011
    #   (0.5 - 0.2) * ln(0.5 / 0.2) = 0.2748872             PSI = 0.4158883
    # and KL(live || ref) = sum p_live * ln(p_live / p_ref):
    #   0.5 * ln(0.5 / 0.8) + 0.5 * ln(0.5 / 0.2) = -0.2350018 + 0.4581454 = 0.2231436
    monitor = DriftMonitor(SETTINGS, _no_categories)
    monitor.applied(_mix(80, 20, 10))
    monitor.applied(_mix(50, 50, 3))
    found = _feature(monitor, EVENT_TYPE)
    hand_psi = (0.5 - 0.8) * math.log(0.5 / 0.8) + (0.5 - 0.2) * math.log(0.5 / 0.2)
    hand_kl = 0.5 * math.log(0.5 / 0.8) + 0.5 * math.log(0.5 / 0.2)
    assert hand_psi == pytest.approx(0.4158883, abs=1e-7)
    assert hand_kl == pytest.approx(0.2231436, abs=1e-7)
    assert found.psi == pytest.approx(hand_psi, abs=1e-6)
    assert found.kl == pytest.approx(hand_kl, abs=1e-6)
    assert monitor.reference is not None and monitor.reference.source == FIRST_EVENTS
    assert found.live[TYPE_CODE["view"]] == 150 and found.reference[TYPE_CODE["view"]] == 800


def test_a_bin_empty_in_one_window_takes_epsilon() -> None:
    # Reference: 80 views, 20 purchases. Live: 50 views, 40 purchases, 10 clicks; the
    # click bin is empty in the reference, so its share there is EPSILON = 1e-4:
    #   PSI = (0.5 - 0.8) ln(0.5/0.8) + (0.4 - 0.2) ln(0.4/0.2) + (0.1 - 1e-4) ln(0.1/1e-4)
    #   KL  = 0.5 ln(0.5/0.8) + 0.4 ln(0.4/0.2) + 0.1 ln(0.1/1e-4)
    reference = np.array([80, 0, 20])
    live = np.array([50, 10, 40])
    assert EPSILON == 1e-4
    hand_psi = (
        (0.5 - 0.8) * math.log(0.5 / 0.8)
        + (0.4 - 0.2) * math.log(0.4 / 0.2)
        + (0.1 - 1e-4) * math.log(0.1 / 1e-4)
    )
    hand_kl = 0.5 * math.log(0.5 / 0.8) + 0.4 * math.log(0.4 / 0.2) + 0.1 * math.log(0.1 / 1e-4)
    assert psi(live, reference) == pytest.approx(hand_psi, abs=1e-6)
    assert kl(live, reference) == pytest.approx(hand_kl, abs=1e-6)
    assert psi(live, reference) == pytest.approx(0.9697151, abs=1e-6)


def test_psi_is_both_kl_directions_and_zero_for_equal_shares() -> None:
    rng = np.random.default_rng(7)
    live, reference = rng.integers(1, 50, 9), rng.integers(1, 50, 9)
    both = kl(live, reference) + kl(reference, live)  # type: ignore[operator]
    assert psi(live, reference) == pytest.approx(both, abs=1e-12)
    assert psi(np.array([2, 0, 6]), np.array([1, 0, 3])) == 0.0  # empty in both: no term
    assert psi(np.zeros(3), reference[:3]) is None and kl(live, np.zeros(9)) is None
    with pytest.raises(ValueError, match="different bins"):
        psi(live, reference[:3])


def test_the_live_window_forgets_blocks_beyond_its_length() -> None:
    monitor = DriftMonitor(SETTINGS, _no_categories)
    monitor.applied(_mix(80, 20, 10))
    monitor.applied(_mix(50, 50, 3))
    assert _feature(monitor, EVENT_TYPE).psi == pytest.approx(0.4158883, abs=1e-6)
    monitor.applied(_mix(80, 20, 2))  # one 50/50 block is still in the window
    assert _feature(monitor, EVENT_TYPE).live[TYPE_CODE["purchase"]] == 50 + 20 + 20
    monitor.applied(_mix(80, 20, 1))  # the last 50/50 block has left it
    found = _feature(monitor, EVENT_TYPE)
    assert found.live.sum() == 3 * BLOCK and found.psi == pytest.approx(0.0, abs=1e-12)


def test_a_block_closes_only_when_full_whatever_the_batches() -> None:
    monitor = DriftMonitor(SETTINGS, _no_categories)
    monitor.applied(_mix(80, 20, 10))
    for _ in range(3):  # 3 blocks of 50/50 in batches of 30 events
        for start in range(0, BLOCK, 30):
            monitor.applied(_batch((["view"] * 50 + ["purchase"] * 50)[start : start + 30]))
    assert _feature(monitor, EVENT_TYPE).psi == pytest.approx(0.4158883, abs=1e-6)
    monitor.applied(_batch(["click"] * (BLOCK - 1)))  # one short of a block: not counted
    assert _feature(monitor, EVENT_TYPE).live[TYPE_CODE["click"]] == 0


def test_sliding_counts_are_the_sum_of_the_last_blocks() -> None:
    window = SlidingCounts(bins=2, blocks=2)
    for block in ([1, 0], [0, 2], [3, 3]):
        window.push(np.array(block))
    assert window.total.tolist() == [3, 5] and len(window) == 2
    with pytest.raises(ValueError, match="2 bins"):
        window.push(np.array([1, 2, 3]))
    window.clear()
    assert window.total.tolist() == [0, 0] and len(window) == 0


def test_bins_of_activity_ranks_and_scores() -> None:
    # users with 1, 2, 3, 4, 5, 64 and 65 events: bins 1, 2, 3-4, 3-4, 5-8, 33-64, 65+
    assert activity_counts(np.array([1, 2, 3, 4, 5, 64, 65])).tolist() == [1, 1, 2, 1, 0, 0, 1, 1]
    # 0-based ranks 0 and 9 are the top 10, 10 starts 11-50, 999 is the last ranked
    assert rank_bins(np.array([0, 9, 10, 49, 50, 199, 200, 999, 1000, -1])).tolist() == [
        0, 0, 1, 1, 2, 2, 3, 3, 4, 4,
    ]  # fmt: skip
    counts = score_counts(np.array([-0.5, 0.0, 0.09, 0.1, 0.55, 0.99, 1.0, 1.7]))
    assert dict(zip(SCORE_BINS, counts.tolist(), strict=True)) == {
        "0.0-0.1": 3, "0.1-0.2": 1, "0.2-0.3": 0, "0.3-0.4": 0, "0.4-0.5": 0,
        "0.5-0.6": 1, "0.6-0.7": 0, "0.7-0.8": 0, "0.8-0.9": 0, "0.9-1.0": 1, "1.0+": 2,
    }  # fmt: skip


def test_reference_counts_items_by_rank_categories_and_users_per_block() -> None:
    builder = ReferenceBuilder(block_events=4)
    # 10 events: a x5, b x3, c x2; users: block 1 = ann ann bob cyd, block 2 = ann x4
    items = ["a", "a", "b", "c", "a", "b", "a", "c", "b", "a"]
    users = ["ann", "ann", "bob", "cyd"] + ["ann"] * 4 + ["dan", "eve"]
    builder.add(users[:5], items[:5], np.full(5, TYPE_CODE["view"]))
    builder.add(users[5:], items[5:], np.full(5, TYPE_CODE["click"]))
    categories = {"a": "tents", "b": "stoves"}
    reference = builder.finish(lambda ids: [categories.get(i) for i in ids], "test")
    assert reference.ranked_items == ("a", "b", "c")
    assert reference.categories == ("tents", "stoves")
    counts = reference.counts
    assert (
        counts[EVENT_TYPE][TYPE_CODE["view"]] == 5 and counts[EVENT_TYPE][TYPE_CODE["click"]] == 5
    )
    assert counts[ITEM_POPULARITY].tolist() == [10, 0, 0, 0, 0]  # all three are in the top 10
    assert counts[CATEGORY].tolist() == [5, 3, 0, 2]  # tents, stoves, other, none
    # block 1: ann 2 events, bob 1, cyd 1; block 2: ann 4; the last 2 events are no block
    assert counts[USER_ACTIVITY].tolist() == [2, 1, 1, 0, 0, 0, 0, 0]
    # a live block in these bins: unknown items are the tail, unknown categories "other"
    live = reference.block_counts(
        ["x", "y", "x", "x"],
        ["a", "zz", "c", "b"],
        np.zeros(4, np.int8),
        lambda ids: ["tents", "mugs", None, "stoves"],
    )
    assert live[ITEM_POPULARITY].tolist() == [3, 0, 0, 0, 1]
    assert live[CATEGORY].tolist() == [1, 1, 1, 1]
    assert live[USER_ACTIVITY].tolist() == [1, 0, 1, 0, 0, 0, 0, 0]
    stored = DriftReference.from_manifest(reference.to_manifest(), "model v1")
    assert stored.ranked_items == reference.ranked_items and stored.source == "model v1"
    assert all((stored.counts[f] == counts[f]).all() for f in counts)


def test_a_malformed_stored_reference_is_refused() -> None:
    stored = ReferenceBuilder(4).finish(_no_categories, "x").to_manifest()
    stored["counts"][CATEGORY] = [1, 2, 3]  # no categories: only other and none
    with pytest.raises(ValueError, match="category"):
        DriftReference.from_manifest(stored, "model v")
    with pytest.raises(ValueError, match="malformed"):
        DriftReference.from_manifest({"events": 3}, "model v")


def test_the_model_manifest_carries_the_training_window_as_reference() -> None:
    shop = SyntheticShop(n_users=60, n_items=40, seed=3)
    catalog = shop.catalog()
    events = list(shop.events(3_000, chunk_size=700))
    settings = ModelSettings(kinds=("itemknn",))
    bundle = train_models(events, catalog, settings, drift=SETTINGS)
    stored = bundle.manifest["drift_reference"]
    assert stored["events"] == 3_000 and stored["block_events"] == BLOCK
    types = np.concatenate([b.type for b in events])
    assert stored["counts"][EVENT_TYPE] == np.bincount(types, minlength=11).tolist()
    assert sum(stored["counts"][USER_ACTIVITY]) > 0 and stored["categories"]
    assert "drift_reference" not in train_models(events, catalog, settings).manifest

    # A live window as long as the training window, over the same events, is the
    # reference itself: every feature has a PSI of 0.
    whole = DriftSettings(block_events=BLOCK, window_blocks=30, reference_events=1_000)
    manifest = {"version": "v1", **bundle.manifest}
    primary = {item.item_id: item.categories[0] for item in catalog if item.categories}
    monitor = DriftMonitor(whole, lambda ids: [primary.get(i) for i in ids], lambda: manifest)
    for batch in events:
        monitor.applied(batch)
    assert monitor.reference is not None and monitor.reference.source == "model v1"
    found = {d.feature: d for d in monitor.drift()}
    assert set(found) == {EVENT_TYPE, ITEM_POPULARITY, USER_ACTIVITY, CATEGORY}
    for drift in found.values():
        assert (drift.live == drift.reference).all(), drift.feature
        assert drift.psi == 0.0 and drift.kl == 0.0

    other_blocks = DriftSettings(block_events=50, window_blocks=3, reference_events=1_000)
    refused = DriftMonitor(other_blocks, _no_categories, lambda: manifest)
    assert refused.reference is None  # counted in other blocks: the first events instead


def test_a_new_model_version_moves_the_reference() -> None:
    manifest: dict[str, object] | None = None
    monitor = DriftMonitor(SETTINGS, _no_categories, lambda: manifest)
    monitor.applied(_mix(80, 20, 10))
    assert monitor.reference is not None and monitor.reference.source == FIRST_EVENTS
    manifest = {"version": "v2"}  # a model without a reference keeps the first events
    monitor.applied(_mix(50, 50, 1))
    assert monitor.reference.source == FIRST_EVENTS
    builder = ReferenceBuilder(BLOCK)
    mix = _mix(50, 50, 2)
    builder.add(mix.user_id, mix.item_id, mix.type)
    manifest = {
        "version": "v3",
        "drift_reference": builder.finish(_no_categories, "x").to_manifest(),
    }
    monitor.applied(_mix(50, 50, 3))  # the whole live window is 50/50, as v3's reference
    assert monitor.reference.source == "model v3"
    assert _feature(monitor, EVENT_TYPE).psi == pytest.approx(0.0, abs=1e-12)
    assert ITEM_POPULARITY in {d.feature for d in monitor.drift()}


def test_a_model_without_reference_does_not_restart_the_first_events() -> None:
    manifest: dict[str, object] | None = None
    monitor = DriftMonitor(SETTINGS, _no_categories, lambda: manifest)
    monitor.applied(_mix(80, 20, 6))
    manifest = {"version": "v1"}  # published while the first 1,000 events are counted
    monitor.applied(_mix(80, 20, 4))
    assert monitor.reference is not None and monitor.reference.events == 10 * BLOCK


def test_a_reference_without_full_blocks_has_no_user_activity() -> None:
    builder = ReferenceBuilder(BLOCK)
    short = _mix(40, 10, 1)  # 50 events: less than a block
    builder.add(short.user_id, short.item_id, short.type)
    stored = builder.finish(_no_categories, "x").to_manifest()
    monitor = DriftMonitor(
        SETTINGS, _no_categories, lambda: {"version": "v", "drift_reference": stored}
    )
    monitor.applied(_mix(40, 60, 1))
    assert {d.feature for d in monitor.drift()} == {EVENT_TYPE, ITEM_POPULARITY, CATEGORY}


def test_served_scores_drift_from_the_first_scores_of_a_model() -> None:
    version = "v1"
    monitor = DriftMonitor(SETTINGS, _no_categories, lambda: {"version": version})
    for _ in range(100):  # 1,000 scores of 0.05 and 0.95: the reference
        monitor.served([0.05] * 5 + [0.95] * 5)
    for _ in range(30):  # the live window's last 3 blocks are all 0.55
        monitor.served([0.55] * 10)
    found = _feature(monitor, SERVED_SCORE)
    # live: 1.0 in bin 0.5-0.6; reference: 0.5 in 0.0-0.1 and in 0.9-1.0.
    hand = (1e-4 - 0.5) * math.log(1e-4 / 0.5) * 2 + (1 - 1e-4) * math.log(1 / 1e-4)
    assert found.psi == pytest.approx(hand, abs=1e-6)
    version = "v2"  # a new model: its scores are the new reference
    for _ in range(30):
        monitor.served([0.55] * 10)
    assert _feature(monitor, SERVED_SCORE).psi == pytest.approx(0.0, abs=1e-12)


@contextmanager
def _always_degraded() -> Iterator[Callable[[], bool]]:
    yield lambda: True


def test_the_engine_counts_served_scores_except_those_of_fallback_lists() -> None:
    tiny = DriftSettings(block_events=5, window_blocks=1, reference_events=5)
    settings = Settings()
    popular = _batch(["purchase"] * 5, users=list("abcde"), items=list("vwxyz"))
    counted = DriftMonitor(tiny, _no_categories)
    engine = Engine(settings, MemoryState(settings), telemetry=EngineTelemetry(drift=counted))
    engine.ingest(popular)
    for _ in range(2):  # 5 scores of a cold user's list each: the reference, then a block
        assert len(engine.recommend("cold", 5).items) == 5
    assert _feature(counted, SERVED_SCORE).live.sum() == 5
    skipped = DriftMonitor(tiny, _no_categories)
    degraded = Engine(
        settings,
        MemoryState(settings),
        read_watch=_always_degraded,
        telemetry=EngineTelemetry(drift=skipped),
    )
    degraded.ingest(popular)
    for _ in range(2):
        assert degraded.recommend("cold", 5).fallback
    assert skipped.drift() == []
