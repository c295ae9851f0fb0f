"""The drift monitor: live windows of recent events and served scores, against a reference.

:class:`DriftMonitor` is fed the batches a processor applies (:meth:`applied`) and the
scores of the lists an API serves (:meth:`served`). Each call only appends to the
open block; when a block is full its histograms are counted (once per
``drift.block_events`` events: C-level counting of its ids and one pass over its
distinct items, never a Python step per event) and pushed into the live window, a
:class:`~streamrec.processing.drift.SlidingCounts` of the last ``drift.window_blocks``
blocks. Memory is bounded by one open block plus the window's counters.

The event reference is the training window stored in the manifest of the model in
use (``drift_reference``, counted with the same block size); without one, it is the
first ``drift.reference_events`` events the monitor sees. When the model version
changes, the reference follows it: the item and category windows restart (their
bins are the reference's), and the served-score reference is taken again from the
first ``drift.reference_events`` scores served with the new version (a new model
moves scores on purpose).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from streamrec.config import DriftSettings
from streamrec.events import EventBatch
from streamrec.processing.drift import SCORE_BINS, SlidingCounts, kl, psi, score_counts
from streamrec.processing.drift_reference import (
    CATEGORY,
    EVENT_TYPE,
    ITEM_POPULARITY,
    SERVED_SCORE,
    USER_ACTIVITY,
    CategoryLookup,
    DriftReference,
    ReferenceBuilder,
    fixed_counts,
)

log = logging.getLogger(__name__)

#: The manifest of the model in use (``None`` while there is none).
ManifestSource = Callable[[], Mapping[str, Any] | None]

EVENT_FEATURES = (EVENT_TYPE, ITEM_POPULARITY, USER_ACTIVITY, CATEGORY)
#: The source of a reference taken from the first events the monitor saw.
FIRST_EVENTS = "first events"


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    """One feature's two windows and their divergence (``None`` while one is empty)."""

    feature: str
    bins: tuple[str, ...]
    live: np.ndarray
    reference: np.ndarray
    psi: float | None
    kl: float | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values: the divergences and each window's counts per bin."""
        return {
            "psi": self.psi,
            "kl": self.kl,
            "live": dict(zip(self.bins, self.live.tolist(), strict=True)),
            "reference": dict(zip(self.bins, self.reference.tolist(), strict=True)),
        }


def _drift(feature: str, bins: tuple[str, ...], live: np.ndarray, ref: np.ndarray) -> FeatureDrift:
    return FeatureDrift(feature, bins, live.copy(), ref.copy(), psi(live, ref), kl(live, ref))


class DriftMonitor:
    """Drift of the applied events and of the served scores.

    Parameters
    ----------
    settings
        Block size, live window length and first-events reference length.
    categories_of
        The primary category of items (the catalog).
    manifest
        The manifest of the model in use, read when a block closes.
    """

    def __init__(
        self,
        settings: DriftSettings,
        categories_of: CategoryLookup,
        manifest: ManifestSource = lambda: None,
    ) -> None:
        self.settings = settings
        self.categories_of = categories_of
        self.manifest = manifest
        self.reference: DriftReference | None = None
        self._model: str | None = None  # the model version the reference follows
        self._builder: ReferenceBuilder | None = None
        self._live: dict[str, SlidingCounts] = {}
        self._users: list[str] = []
        self._items: list[str] = []
        self._types: list[np.ndarray] = []
        self._pending = 0
        self._events_lock = threading.Lock()
        self._scores: list[float] = []
        self._score_model: str | None = None
        self._score_reference = np.zeros(len(SCORE_BINS), dtype=np.int64)
        self._score_live = SlidingCounts(len(SCORE_BINS), settings.window_blocks)
        self._scores_lock = threading.Lock()
        self._follow_model(self._current_model())

    # -- feeding ---------------------------------------------------------------

    def applied(self, batch: EventBatch, seconds: float = 0.0) -> None:
        """Count a batch the state applied (blocks that fill up are closed here)."""
        with self._events_lock:
            self._users.extend(batch.user_id)
            self._items.extend(batch.item_id)
            self._types.append(batch.type)
            self._pending += len(batch)
            block = self.settings.block_events
            while self._pending >= block:
                types = np.concatenate(self._types)
                self._close_block(self._users[:block], self._items[:block], types[:block])
                del self._users[:block], self._items[:block]
                self._types = [types[block:]]
                self._pending -= block

    def failed(self) -> None:
        """Nothing to count: a failed batch is counted when it is applied again."""

    def served(self, scores: Sequence[float]) -> None:
        """Count the scores of one served list."""
        with self._scores_lock:
            self._scores.extend(scores)
            block = self.settings.block_events
            while len(self._scores) >= block:
                self._close_scores(np.asarray(self._scores[:block], dtype=np.float64))
                del self._scores[:block]

    # -- blocks ----------------------------------------------------------------

    def _current_model(self) -> tuple[str | None, Mapping[str, Any] | None]:
        manifest = self.manifest()
        if manifest is None:
            return None, None
        return str(manifest.get("version")), manifest.get("drift_reference")

    def _follow_model(self, model: tuple[str | None, Mapping[str, Any] | None]) -> None:
        """Take the reference of the model in use, or build one from the events to come
        (a first-events reference, built or being built, is kept across models that
        carry none)."""
        version, stored = model
        self._model = version
        reference = self._model_reference(version, stored)
        kept = self.reference
        if reference is None and (
            self._builder is not None or (kept is not None and kept.source == FIRST_EVENTS)
        ):
            return  # keep the first-events reference, or keep building it
        self.reference = reference
        self._builder = ReferenceBuilder(self.settings.block_events) if reference is None else None
        for feature in (ITEM_POPULARITY, CATEGORY):  # their bins are the reference's
            self._live.pop(feature, None)

    def _model_reference(
        self, version: str | None, stored: Mapping[str, Any] | None
    ) -> DriftReference | None:
        if stored is None:
            return None
        try:
            reference = DriftReference.from_manifest(stored, f"model {version}")
        except ValueError as exc:
            log.warning("model %s: %s; drift uses the first events instead", version, exc)
            return None
        if reference.block_events != self.settings.block_events:
            log.warning(
                "model %s counted its drift reference in blocks of %d events, not %d; "
                "drift uses the first events instead",
                version,
                reference.block_events,
                self.settings.block_events,
            )
            return None
        return reference

    def _close_block(self, users: list[str], items: list[str], types: np.ndarray) -> None:
        model = self._current_model()
        if model[0] != self._model:
            self._follow_model(model)
        if self._builder is not None:
            self._builder.add(users, items, types)
            if self._builder.events >= self.settings.reference_events:
                self.reference = self._builder.finish(self.categories_of, FIRST_EVENTS)
                self._builder = None
        if self.reference is None:
            counts = fixed_counts(users, types)
        else:
            counts = self.reference.block_counts(users, items, types, self.categories_of)
        for feature, block in counts.items():
            window = self._live.get(feature)
            if window is None:
                window = self._live[feature] = SlidingCounts(
                    len(block), self.settings.window_blocks
                )
            window.push(block)

    def _close_scores(self, scores: np.ndarray) -> None:
        version = self._current_model()[0]
        if version != self._score_model:
            self._score_model = version
            self._score_reference[:] = 0
            self._score_live.clear()
        counts = score_counts(scores)
        if self._score_reference.sum() < self.settings.reference_events:
            self._score_reference += counts
        self._score_live.push(counts)

    # -- reading ---------------------------------------------------------------

    def drift(self) -> list[FeatureDrift]:
        """Every feature with events in both windows, and its divergences."""
        found: list[FeatureDrift] = []
        with self._events_lock:
            reference = self.reference
            if reference is not None:
                for feature in EVENT_FEATURES:
                    window = self._live.get(feature)
                    ref = reference.counts[feature]
                    if window is not None and window.total.any() and ref.any():
                        found.append(_drift(feature, reference.bins(feature), window.total, ref))
        with self._scores_lock:
            if self._score_live.total.any() and self._score_reference.any():
                found.append(
                    _drift(SERVED_SCORE, SCORE_BINS, self._score_live.total, self._score_reference)
                )
        return found
