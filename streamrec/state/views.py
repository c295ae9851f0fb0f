"""Read-side helpers: turn state arrays into the domain types of the ports."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numba
import numpy as np

from streamrec.events import EVENT_TYPES, TYPE_CODE, EventType
from streamrec.processing.profiles import TYPE_BITS, ProfileTable, decode_entry
from streamrec.state.base import Interaction, ItemStats, Session, UserArrays, UserProfile

if TYPE_CHECKING:
    from streamrec.state.memory import MemoryState


def _ring(values: np.ndarray, pos: int, length: int) -> np.ndarray:
    """Ring entries newest first."""
    width = values.shape[0]
    return values[(pos - 1 - np.arange(length)) % width] if width else values[:0]


def profile_of(state: MemoryState, user_id: str, row: int) -> UserProfile | None:
    """The :class:`UserProfile` of one profile row."""
    p = state.profiles
    if p.events[row] == 0:
        return None
    names = state.items.names
    ring_len, ring_pos = int(p.ring_len[row]), int(p.ring_pos[row])
    ring_items = _ring(p.ring_item[row], ring_pos, ring_len)
    ring_types = _ring(p.ring_type[row], ring_pos, ring_len)
    ring_seconds = _ring(p.ring_seconds[row], ring_pos, ring_len)
    recent = [
        Interaction(item, EVENT_TYPES[code].value, s * 1000, value)
        for item, (code, value), s in zip(
            names(ring_items),
            map(decode_entry, ring_types.tolist()),
            ring_seconds.tolist(),
            strict=True,
        )
    ]
    seen = _ring(p.seen[row], int(p.seen_pos[row]), int(p.seen_len[row]))
    negative = _ring(p.negative[row], int(p.negative_pos[row]), int(p.negative_len[row]))
    categories = p.affinity_category[row]
    landmark = state.landmark_ms or 0
    decayed = state.decays.affinity.value_at(
        p.affinity_weight[row].astype(np.float64), landmark, state.clock_ms
    )
    order = np.argsort(-decayed)
    affinities = {
        state.categories.name(int(c)): float(decayed[i])
        for i, c in zip(order.tolist(), categories[order].tolist(), strict=True)
        if c >= 0
    }
    session_category = int(p.session_category[row])
    session = Session(
        session_key=int(p.session_key[row]),
        started_ms=int(p.session_start[row]) * 1000,
        events=int(p.session_events[row]),
        category=state.categories.name(session_category) if session_category >= 0 else None,
    )
    return UserProfile(
        user_id=user_id,
        recent=recent,
        seen=names(seen),
        negative=names(negative),
        cart=names(p.cart[row, : p.cart_len[row]]),
        wishlist=names(p.wishlist[row, : p.wishlist_len[row]]),
        affinities=affinities,
        session=session,
        events=int(p.events[row]),
        last_ms=int(p.last_seconds[row]) * 1000,
    )


@numba.njit(cache=True)
def _newest_first(values, pos, length):  # type: ignore[no-untyped-def]
    """A ring's ``length`` entries newest first, as ``int64``."""
    found = np.empty(length, np.int64)
    for i in range(length):
        found[i] = values[(pos - 1 - i) % values.shape[0]]
    return found


@numba.njit(cache=True)
def _user_rows(
    ring_item,
    ring_type,
    ring_pos,
    ring_len,
    seen,
    seen_pos,
    seen_len,
    neg,
    neg_pos,
    neg_len,
    cart,
    cart_len,
    row,
):  # type: ignore[no-untyped-def]
    """Recent items, type codes and values, seen, negative and cart items of one row."""
    length = np.int64(ring_len[row])
    entries = _newest_first(ring_type[row], np.int64(ring_pos[row]), length)
    types = np.empty(length, np.int8)
    values = np.empty(length)
    for i in range(length):
        types[i] = entries[i] & ((1 << TYPE_BITS) - 1)
        code = (entries[i] & 0xFF) >> TYPE_BITS
        values[i] = (code - 1) / 2 if code > 0 else np.nan
    return (
        _newest_first(ring_item[row], np.int64(ring_pos[row]), length),
        types,
        values,
        _newest_first(seen[row], np.int64(seen_pos[row]), np.int64(seen_len[row])),
        _newest_first(neg[row], np.int64(neg_pos[row]), np.int64(neg_len[row])),
        cart[row, : cart_len[row]].astype(np.int64),
    )


def user_arrays_of(
    p: ProfileTable, row: int, category_name: Callable[[int], str | None]
) -> UserArrays | None:
    """The :class:`UserArrays` of one profile row (item ids as the table holds them)."""
    if p.events[row] == 0:
        return None
    items, types, values, seen, negative, cart = _user_rows(
        p.ring_item,
        p.ring_type,
        p.ring_pos,
        p.ring_len,
        p.seen,
        p.seen_pos,
        p.seen_len,
        p.negative,
        p.negative_pos,
        p.negative_len,
        p.cart,
        p.cart_len,
        row,
    )
    session_category = int(p.session_category[row])
    return UserArrays(
        recent_items=items,
        recent_types=types,
        recent_values=values,
        seen=seen,
        negative=negative,
        cart=cart,
        session_category=category_name(session_category) if session_category >= 0 else None,
    )


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def item_stats_of(state: MemoryState, item_id: str, trending: np.ndarray) -> ItemStats | None:
    """The :class:`ItemStats` of one item, or ``None`` if it has no events."""
    row = state.items.get(item_id)
    table = state.item_table
    if row is None or table.type_counts[:, row].sum() == 0:
        return None
    counts = {t.value: int(table.type_counts[code, row]) for code, t in enumerate(EVENT_TYPES)}
    landmark = state.landmark_ms or 0
    popularity = state.decays.popularity.value_at(table.popularity[row], landmark, state.clock_ms)
    by_type = state.decays.popularity.value_at(table.type_decayed[:, row], landmark, state.clock_ms)
    rating_count = int(table.rating_count[row])
    views = counts[EventType.VIEW.value] + counts[EventType.CLICK.value]
    carts = counts[EventType.ADD_TO_CART.value]
    return ItemStats(
        item_id=item_id,
        popularity=float(popularity),
        trending=float(trending[row]),
        counts={name: n for name, n in counts.items() if n},
        decayed_counts={
            t.value: float(v) for t, v in zip(EVENT_TYPES, by_type.tolist(), strict=True) if v
        },
        rating_mean=float(table.rating_sum[row] / rating_count) if rating_count else None,
        rating_count=rating_count,
        view_to_cart=_ratio(carts, views),
        cart_to_purchase=_ratio(table.type_counts[TYPE_CODE[EventType.PURCHASE], row], carts),
    )
