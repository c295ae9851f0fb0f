"""Offline splits: the seed-004 holdout and leave-last-out (DESIGN.md section 5).

A split hands every algorithm the same training events and, per evaluated user, the
items to exclude (their training items) and the relevant test items. Splits work on
dense codes with array operations; strings appear only in the result.

Positive events are the same everywhere in the evaluation: a rating at or above the
relevance threshold (4, or 3.5 when the ratings use half stars), or a view, click,
add-to-cart or purchase.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from streamrec.errors import InvalidInput
from streamrec.events import TYPE_CODE, EventBatch, EventType

RATING = TYPE_CODE[EventType.RATING]
#: Implicit event types that count as positive feedback.
POSITIVE_TYPES = tuple(
    TYPE_CODE[t]
    for t in (EventType.VIEW, EventType.CLICK, EventType.ADD_TO_CART, EventType.PURCHASE)
)


def has_half_stars(ratings: np.ndarray) -> bool:
    """Whether any rating value ends in .5 (NaN values are ignored)."""
    values = np.asarray(ratings, dtype=np.float64)
    values = values[np.isfinite(values)]
    return bool(np.any(np.mod(values * 2.0, 2.0) == 1.0))


def relevance_threshold(batch: EventBatch) -> float:
    """4.0, or 3.5 when the batch's rating events use half stars."""
    return 3.5 if has_half_stars(batch.value[batch.type == RATING]) else 4.0


def positive_mask(batch: EventBatch, threshold: float) -> np.ndarray:
    """Which events are positive: rating >= ``threshold``, or a view/click/cart/purchase."""
    rated = (batch.type == RATING) & (np.nan_to_num(batch.value, nan=-np.inf) >= threshold)
    return rated | np.isin(batch.type, POSITIVE_TYPES)


def item_rank(item_ids: list[str]) -> tuple[np.ndarray, list[str]]:
    """Codes of ``item_ids`` in id order: numeric when every id is an integer.

    Returns
    -------
    codes, names
        ``codes[i]`` is the rank of ``item_ids[i]``; ``names[code]`` its id.
    """
    names, codes = np.unique(np.asarray(item_ids, dtype=str), return_inverse=True)
    if all(n.isdigit() for n in names.tolist()):
        order = np.argsort(names.astype(np.int64), kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return rank[codes.reshape(-1)], names[order].tolist()
    return codes.reshape(-1).astype(np.int64), names.tolist()


@dataclass(frozen=True)
class HoldoutSplit:
    """Training events and, for each evaluated user, exclusions and relevant items.

    Attributes
    ----------
    protocol
        Which split produced it.
    train
        The events every algorithm is fitted on.
    users
        The evaluated users.
    exclude
        Per evaluated user, the items never to recommend (their training items).
    relevant
        Per evaluated user, the relevant test items.
    threshold
        The rating at or above which a rating is positive.
    details
        Counts describing the split, for the report.
    """

    protocol: str
    train: EventBatch
    users: list[str]
    exclude: list[set[str]]
    relevant: list[set[str]]
    threshold: float
    details: dict[str, float | int | str]


def _user_groups(
    batch: EventBatch, item_codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Event order by (user, timestamp, item), user codes, and user names."""
    users, user_codes = np.unique(np.asarray(batch.user_id, dtype=str), return_inverse=True)
    user_codes = user_codes.reshape(-1)
    order = np.lexsort((item_codes, batch.timestamp, user_codes))
    return order, user_codes, users.tolist()


def _per_user_sets(
    user_codes: np.ndarray, item_names: list[str], item_codes: np.ndarray, users: np.ndarray
) -> list[set[str]]:
    """For each user code in ``users``, the set of item names of the given rows."""
    position = {int(u): i for i, u in enumerate(users.tolist())}
    sets: list[set[str]] = [set() for _ in range(len(users))]
    for u, i in zip(user_codes.tolist(), item_codes.tolist(), strict=True):
        slot = position.get(u)
        if slot is not None:
            sets[slot].add(item_names[i])
    return sets


def seed004_split(
    events: EventBatch,
    *,
    min_ratings: int = 50,
    train_fraction: float = 0.8,
    min_relevant: int = 5,
    threshold: float | None = None,
    train_light_users: bool = True,
) -> HoldoutSplit:
    """The seed report's holdout, exactly as DESIGN.md section 5 specifies.

    Only rating events take part. Users with at least ``min_ratings`` ratings are
    split: their ratings sorted by (timestamp, item), the first
    ``floor(n * train_fraction)`` go to training (exact rational arithmetic: 0.8 is
    4/5, so 52 ratings give 41 train and 11 test) and the rest to test. Relevant items
    are test ratings at or above the threshold; users with at least ``min_relevant``
    of them are evaluated, excluding their training items.

    Parameters
    ----------
    events
        The dataset's events.
    threshold
        The relevance threshold; by default 4, or 3.5 when ratings use half stars.
    train_light_users
        Whether users with fewer than ``min_ratings`` ratings contribute all their
        ratings to training (they are never evaluated). The default keeps them, so
        every algorithm sees all the data the evaluated users' test parts do not hold.

    Raises
    ------
    InvalidInput
        If the events hold no ratings.
    """
    ratings = events.take(np.flatnonzero(events.type == RATING))
    if not len(ratings):
        raise InvalidInput("the seed-004 holdout needs rating events; the dataset has none")
    threshold = relevance_threshold(ratings) if threshold is None else threshold
    fraction = Fraction(train_fraction).limit_denominator(1000)
    item_codes, item_names = item_rank(ratings.item_id)
    order, user_codes, user_names = _user_groups(ratings, item_codes)
    counts = np.bincount(user_codes, minlength=len(user_names))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    sorted_users = user_codes[order]
    position = np.arange(len(order)) - starts[sorted_users]
    n_train = counts * fraction.numerator // fraction.denominator
    heavy = counts >= min_ratings
    is_test = heavy[sorted_users] & (position >= n_train[sorted_users])
    keep_train = ~is_test & (heavy[sorted_users] | train_light_users)
    test_rows = order[is_test]
    relevant_rows = test_rows[ratings.value[test_rows] >= threshold]
    n_relevant = np.bincount(user_codes[relevant_rows], minlength=len(user_names))
    evaluated = np.flatnonzero(heavy & (n_relevant >= min_relevant))
    train_rows = np.sort(order[keep_train])
    heavy_train = train_rows[heavy[user_codes[train_rows]]]
    return HoldoutSplit(
        protocol="seed-004",
        train=ratings.take(train_rows),
        users=[user_names[u] for u in evaluated.tolist()],
        exclude=_per_user_sets(
            user_codes[heavy_train], item_names, item_codes[heavy_train], evaluated
        ),
        relevant=_per_user_sets(
            user_codes[relevant_rows], item_names, item_codes[relevant_rows], evaluated
        ),
        threshold=threshold,
        details={
            "ratings": len(ratings),
            "users": len(user_names),
            "users_split": int(heavy.sum()),
            "users_evaluated": len(evaluated),
            "train_events": len(train_rows),
            "test_events": len(test_rows),
            "relevant_test_events": len(relevant_rows),
            "train_fraction": f"{fraction.numerator}/{fraction.denominator} (floor)",
            "threshold": threshold,
            "light_users_in_train": str(train_light_users),
        },
    )


def leave_last_out_split(
    events: EventBatch, *, min_events: int = 5, threshold: float | None = None
) -> HoldoutSplit:
    """Hold out each user's last event, evaluating users whose last event is positive.

    Each user's events are sorted by (timestamp, item); users with at least
    ``min_events`` events whose last event is positive are evaluated with that item as
    the single relevant one. Every other event (of every user) is training data, and
    an evaluated user's training items are excluded, so a repeat interaction with an
    item cannot be a hit.
    """
    if not len(events):
        raise InvalidInput("leave-last-out needs events; the dataset has none")
    threshold = relevance_threshold(events) if threshold is None else threshold
    item_codes, item_names = item_rank(events.item_id)
    order, user_codes, user_names = _user_groups(events, item_codes)
    counts = np.bincount(user_codes, minlength=len(user_names))
    last = order[np.cumsum(counts) - 1]
    positive = positive_mask(events, threshold)
    chosen = last[(counts >= min_events) & positive[last]]
    evaluated = user_codes[chosen]
    is_train = np.ones(len(events), dtype=bool)
    is_train[chosen] = False
    train_rows = np.flatnonzero(is_train)
    tested = np.zeros(len(user_names), dtype=bool)
    tested[evaluated] = True
    evaluated_train = train_rows[tested[user_codes[train_rows]]]
    return HoldoutSplit(
        protocol="leave-last-out",
        train=events.take(train_rows),
        users=[user_names[u] for u in evaluated.tolist()],
        exclude=_per_user_sets(
            user_codes[evaluated_train], item_names, item_codes[evaluated_train], evaluated
        ),
        relevant=[{item_names[int(item_codes[row])]} for row in chosen.tolist()],
        threshold=threshold,
        details={
            "events": len(events),
            "users": len(user_names),
            "users_evaluated": len(evaluated),
            "train_events": len(train_rows),
            "threshold": threshold,
        },
    )
