"""The stream fold: one micro-batch of logged events into the online state.

``fold_batch`` is the single place that turns events into state changes: it interns
ids, weighs events, moves the decay landmark when needed, runs the compiled profile
fold (which yields co-occurrence pairs and which events count for the shared
aggregates, see :mod:`streamrec.processing.influence`), and scatter-adds item
statistics. Every
state adapter calls it on arrays it holds or has loaded for the batch.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import numpy as np

from streamrec.config import Settings
from streamrec.events import EventBatch
from streamrec.ids import IdMap
from streamrec.processing.cooccurrence import CooccurrenceIndex
from streamrec.processing.decay import Decays
from streamrec.processing.influence import limits_of
from streamrec.processing.items import ItemTable
from streamrec.processing.profiles import IMPRESSION, FoldInput, ProfileTable, encode_values
from streamrec.processing.weights import RATING, event_weights, negative_mask, pairable_table

_PAIRABLE = pairable_table()


class FoldTarget(Protocol):
    """The arrays a fold updates (the memory state, or a batch-local view of Redis)."""

    settings: Settings
    decays: Decays
    users: IdMap
    items: IdMap
    profiles: ProfileTable
    item_table: ItemTable
    cooccurrence: CooccurrenceIndex
    landmark_ms: int | None
    clock_ms: int


def unapplied(batch: EventBatch, positions: dict[int, int]) -> EventBatch:
    """The events of ``batch`` not yet applied (unlogged events always are new)."""
    if not positions or not (batch.offset >= 0).any():
        return batch
    starts = np.array([positions.get(p, 0) for p in batch.partition.tolist()], dtype=np.int64)
    fresh = (batch.offset < 0) | (batch.offset >= starts)
    return batch if fresh.all() else batch.take(np.flatnonzero(fresh))


def session_keys(session_ids: list[str | None]) -> np.ndarray:
    """Stable positive 63-bit keys of session ids (0 where absent)."""
    return np.array(
        [0 if s is None else (zlib.crc32(s.encode()) << 31 | len(s)) + 1 for s in session_ids],
        dtype=np.int64,
    )


def _profile_rows(users: IdMap, batch: EventBatch) -> np.ndarray:
    """Each event's profile row; ``-1`` for impressions, which touch no profile (so a
    user who was only ever shown items holds none)."""
    interactions = batch.type != IMPRESSION
    rows = np.full(len(batch), -1, dtype=np.int32)
    rows[interactions] = users.intern_many(
        [user for user, kept in zip(batch.user_id, interactions.tolist(), strict=True) if kept]
    )
    return rows


def _move_landmark(target: FoldTarget, latest_ms: int) -> None:
    if target.landmark_ms is None:
        target.landmark_ms = latest_ms
        return
    if not target.decays.needs_rebase(target.landmark_ms, latest_ms):
        return
    old = target.landmark_ms
    factors = {
        name: decay.rebase_factor(old, latest_ms) for name, decay in target.decays.named().items()
    }
    target.item_table.scale(factors)
    target.cooccurrence.scale(factors["cooccurrence"])
    target.profiles.scale_affinities(factors["affinity"])
    target.landmark_ms = latest_ms


def fold_batch(target: FoldTarget, batch: EventBatch) -> None:
    """Apply ``batch`` (in log order) to ``target``."""
    settings = target.settings
    users = _profile_rows(target.users, batch)
    items = target.items.intern_many(batch.item_id)
    target.profiles.ensure(target.users.capacity)
    target.item_table.ensure(target.items.capacity)
    _move_landmark(target, int(batch.timestamp.max()))
    landmark = int(target.landmark_ms or 0)
    weights = event_weights(batch.type, batch.value, settings.weights)
    positive = np.where(weights > 0, weights, 0.0)
    factors = {
        name: decay.factors(batch.timestamp, landmark)
        for name, decay in target.decays.named().items()
    }
    pair_weight = positive * factors["cooccurrence"] * _PAIRABLE[batch.type]
    ratings = np.where(batch.type == RATING, batch.value, np.nan)
    *pairs, shared = target.profiles.fold(
        FoldInput(
            users=users,
            items=items,
            types=batch.type,
            seconds=batch.timestamp // 1000,
            pair_weight=pair_weight,
            affinity_weight=positive * factors["affinity"],
            negative=negative_mask(batch.type, batch.value, settings.weights),
            session_keys=session_keys(batch.session_id),
            categories=target.item_table.category[items],
            value_codes=encode_values(ratings),
        ),
        _PAIRABLE,
        settings.cooccurrence.window,
        settings.profile.session_gap_s,
        limits_of(settings.influence),
    )
    target.cooccurrence.add(*pairs)
    # a repeated index is bumped once: fancy-index ``+=`` writes each element once
    target.item_table.neighbors_version[np.concatenate([items, pairs[0]])] += 1
    target.item_table.add(
        items, batch.type, positive * shared, pair_weight * shared, factors, ratings
    )
    target.clock_ms = max(target.clock_ms, int(batch.timestamp.max()))
