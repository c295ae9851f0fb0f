"""User profiles as fixed-width arrays, and the fold that updates them per batch.

Every user owns one row of each array, so memory per user is fixed by the caps in
:class:`~streamrec.config.ProfileSettings` (about 1 KiB at the defaults). The fold
(:meth:`ProfileTable.fold`) walks a batch in log order in compiled code: it emits the
user's co-occurrence pairs from the recent-items ring *before* appending the event,
then updates the rest of the profile. The rules, per interaction (an ``impression``
records that an item was shown, not an interaction: it leaves the profile alone):

- recent: a ring of the last ``recent_items`` interactions (item, type, time, and the
  rating of a rating at half-star resolution in [0, 7]);
- seen and negative feedback: the ``seen_items`` / ``negative_items`` most recent
  distinct items interacted with / given negative feedback (a negative weight, or a
  rating at or below ``rating_dislike_at``); a repeat makes the item the newest again;
- cart: add_to_cart appends the item, remove_from_cart and purchase take it out;
  wishlist: wishlist appends, purchase takes out; both hold ``cart_items`` at most
  and drop the oldest when full;
- session: an event's session id, else the current session unless more than
  ``session_gap_s`` passed since the user's latest interaction time; a new session
  restarts the event count and category; an item's primary category becomes the
  session's;
- affinities: positive weights, forward-decayed, summed per primary category into
  ``top_categories`` slots (``float32``); when all are taken, a new category replaces
  the weakest only if its one event outweighs it, and starts from that event alone.

Times are kept in whole epoch seconds (``uint32``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from streamrec.config import ProfileSettings
from streamrec.events import TYPE_CODE, EventType
from streamrec.processing.influence import counts_for_everyone

ADD_TO_CART = TYPE_CODE[EventType.ADD_TO_CART]
REMOVE_FROM_CART = TYPE_CODE[EventType.REMOVE_FROM_CART]
WISHLIST = TYPE_CODE[EventType.WISHLIST]
PURCHASE = TYPE_CODE[EventType.PURCHASE]
IMPRESSION = TYPE_CODE[EventType.IMPRESSION]


@dataclass(frozen=True, slots=True)
class FoldInput:
    """One batch, already interned and weighted, in log order."""

    users: np.ndarray  # int32 rows of the profile table (-1 for impressions)
    items: np.ndarray  # int32 dense item ids
    types: np.ndarray  # int8 type codes
    seconds: np.ndarray  # int64 epoch seconds
    pair_weight: np.ndarray  # float64 forward-decayed weight for co-occurrence (0 = none)
    affinity_weight: np.ndarray  # float64 forward-decayed weight for affinities (0 = none)
    negative: np.ndarray  # bool
    session_keys: np.ndarray  # int64 (0 = no session id)
    value_codes: np.ndarray  # uint8 rating in half stars + 1 (0 = no value), see encode_values
    categories: np.ndarray  # int32 primary category of each item (-1 = none)


TYPE_BITS = 4  # the low bits of a ring entry's type byte; the high bits hold its rating


def encode_values(values: np.ndarray) -> np.ndarray:
    """Ratings as half stars + 1 in 4 bits (0 = no value; 7.0 and above saturate)."""
    codes = np.zeros(len(values), dtype=np.uint8)
    present = ~np.isnan(values)
    codes[present] = np.clip(np.rint(values[present] * 2) + 1, 1, 15)
    return codes


def decode_entry(entry: int) -> tuple[int, float | None]:
    """The type code and the rating (``None`` if absent) of a ring type byte."""
    code = (entry & 0xFF) >> TYPE_BITS
    return entry & ((1 << TYPE_BITS) - 1), (code - 1) / 2 if code else None


class ProfileTable:
    """Per-user state arrays, one row per dense user id."""

    ARRAYS = (
        "ring_item",
        "ring_type",
        "ring_seconds",
        "ring_pos",
        "ring_len",
        "seen",
        "seen_pos",
        "seen_len",
        "negative",
        "negative_pos",
        "negative_len",
        "cart",
        "cart_len",
        "wishlist",
        "wishlist_len",
        "affinity_category",
        "affinity_weight",
        "session_key",
        "session_start",
        "session_events",
        "session_category",
        "last_seconds",
        "events",
    )

    def __init__(self, settings: ProfileSettings, capacity: int = 1024) -> None:
        self.settings = settings
        s = settings
        self.ring_item = np.full((capacity, s.recent_items), -1, np.int32)
        self.ring_type = np.zeros((capacity, s.recent_items), np.uint8)
        self.ring_seconds = np.zeros((capacity, s.recent_items), np.uint32)
        self.ring_pos = np.zeros(capacity, np.int16)
        self.ring_len = np.zeros(capacity, np.int16)
        self.seen = np.full((capacity, s.seen_items), -1, np.int32)
        self.seen_pos = np.zeros(capacity, np.int16)
        self.seen_len = np.zeros(capacity, np.int16)
        self.negative = np.full((capacity, s.negative_items), -1, np.int32)
        self.negative_pos = np.zeros(capacity, np.int16)
        self.negative_len = np.zeros(capacity, np.int16)
        self.cart = np.full((capacity, s.cart_items), -1, np.int32)
        self.cart_len = np.zeros(capacity, np.int16)
        self.wishlist = np.full((capacity, s.cart_items), -1, np.int32)
        self.wishlist_len = np.zeros(capacity, np.int16)
        self.affinity_category = np.full((capacity, s.top_categories), -1, np.int32)
        self.affinity_weight = np.zeros((capacity, s.top_categories), np.float32)
        self.session_key = np.zeros(capacity, np.int64)
        self.session_start = np.zeros(capacity, np.uint32)
        self.session_events = np.zeros(capacity, np.int32)
        self.session_category = np.full(capacity, -1, np.int32)
        self.last_seconds = np.zeros(capacity, np.uint32)
        self.events = np.zeros(capacity, np.int32)

    @property
    def capacity(self) -> int:
        """Rows allocated."""
        return len(self.events)

    @property
    def bytes_per_user(self) -> int:
        """Memory of one profile row across all arrays."""
        return sum(getattr(self, name)[:1].nbytes for name in self.ARRAYS)

    def ensure(self, rows: int) -> None:
        """Grow (doubling) so that row ``rows - 1`` exists; new rows are empty."""
        if rows <= self.capacity:
            return
        size = max(rows, 2 * self.capacity)
        fresh = ProfileTable(self.settings, size - self.capacity)
        for name in self.ARRAYS:
            setattr(self, name, np.concatenate([getattr(self, name), getattr(fresh, name)]))

    def clear(self, rows: np.ndarray) -> None:
        """Reset rows to the empty profile (for expired users)."""
        empty = ProfileTable(self.settings, 1)
        for name in self.ARRAYS:
            getattr(self, name)[rows] = getattr(empty, name)[0]

    def take(self, rows: np.ndarray) -> ProfileTable:
        """A new table holding copies of ``rows`` (in that order)."""
        view = ProfileTable(self.settings, 0)
        for name in self.ARRAYS:
            setattr(view, name, getattr(self, name)[rows].copy())
        return view

    def put(self, rows: np.ndarray, source: ProfileTable) -> None:
        """Write every row of ``source`` into ``rows`` of this table."""
        for name in self.ARRAYS:
            getattr(self, name)[rows] = getattr(source, name)

    def to_arrays(self, rows: int) -> dict[str, np.ndarray]:
        """The first ``rows`` rows of every array (for snapshots)."""
        return {name: getattr(self, name)[:rows] for name in self.ARRAYS}

    @classmethod
    def from_arrays(cls, settings: ProfileSettings, arrays: dict[str, np.ndarray]) -> ProfileTable:
        """Rebuild a table from :meth:`to_arrays` output."""
        rows = len(arrays["events"])
        table = cls(settings, max(rows, 16))
        for name in cls.ARRAYS:
            getattr(table, name)[:rows] = arrays[name]
        return table

    def scale_affinities(self, factor: float) -> None:
        """Multiply decayed affinities (when the decay landmark moves)."""
        self.affinity_weight *= np.float32(factor)

    def fold(
        self,
        batch: FoldInput,
        pairable_types: np.ndarray,
        window: int,
        session_gap_s: float,
        limits: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Apply a batch in order; return the co-occurrence pairs it produced and, per
        event, whether it counts for the shared aggregates (``limits``: see
        :func:`streamrec.processing.influence.limits_of`)."""
        shared = np.ones(len(batch.users), np.bool_)
        src, dst, weight = _fold(
            shared,
            limits,
            batch.users,
            batch.items,
            batch.types,
            batch.seconds,
            batch.pair_weight,
            batch.affinity_weight,
            batch.negative,
            batch.session_keys,
            batch.categories,
            batch.value_codes,
            pairable_types,
            np.int64(window),
            np.int64(session_gap_s),
            self.ring_item,
            self.ring_type,
            self.ring_seconds,
            self.ring_pos,
            self.ring_len,
            self.seen,
            self.seen_pos,
            self.seen_len,
            self.negative,
            self.negative_pos,
            self.negative_len,
            self.cart,
            self.cart_len,
            self.wishlist,
            self.wishlist_len,
            self.affinity_category,
            self.affinity_weight,
            self.session_key,
            self.session_start,
            self.session_events,
            self.session_category,
            self.last_seconds,
            self.events,
        )
        return src, dst, weight, shared


@numba.njit(cache=True)
def _push_newest(table, pos, length, row, item):  # type: ignore[no-untyped-def]
    """Make ``item`` the newest entry of a ring of distinct items (the oldest goes when
    full; an item already held moves up, the ones newer than it one step down)."""
    width = table.shape[1]
    if width == 0:
        return
    newest = (pos[row] - 1) % width
    for back in range(length[row]):
        if table[row, (newest - back) % width] == item:
            for step in range(back, 0, -1):
                table[row, (newest - step) % width] = table[row, (newest - step + 1) % width]
            table[row, newest] = item
            return
    table[row, pos[row]] = item
    pos[row] = (pos[row] + 1) % width
    if length[row] < width:
        length[row] += 1


@numba.njit(cache=True)
def _set_add(table, length, row, item):  # type: ignore[no-untyped-def]
    width = table.shape[1]
    if width == 0:
        return
    n = length[row]
    for k in range(n):
        if table[row, k] == item:
            return
    if n == width:  # full: drop the oldest
        for k in range(1, n):
            table[row, k - 1] = table[row, k]
        n -= 1
    table[row, n] = item
    length[row] = n + 1


@numba.njit(cache=True)
def _set_remove(table, length, row, item):  # type: ignore[no-untyped-def]
    n = length[row]
    for k in range(n):
        if table[row, k] == item:
            for m in range(k + 1, n):
                table[row, m - 1] = table[row, m]
            table[row, n - 1] = -1
            length[row] = n - 1
            return


@numba.njit(cache=True)
def _add_affinity(categories, weights, row, category, weight):  # type: ignore[no-untyped-def]
    lowest = 0
    for k in range(categories.shape[1]):
        if categories[row, k] == category:
            weights[row, k] += weight
            return
        if categories[row, k] < 0:
            categories[row, k] = category
            weights[row, k] = weight
            return
        if weights[row, k] < weights[row, lowest]:
            lowest = k
    if weight > weights[row, lowest]:
        categories[row, lowest] = category
        weights[row, lowest] = weight


@numba.njit(cache=True)
def _held(dst, start, stop, item):  # type: ignore[no-untyped-def]
    """Whether ``item`` is among this event's partners (the pairs from ``start``
    alternate event -> partner and partner -> event)."""
    for k in range(start, stop, 2):  # noqa: SIM110 (compiled by numba)
        if dst[k] == item:
            return True
    return False


@numba.njit(cache=True)
def _fold(
    shared,
    limits,
    users,
    items,
    types,
    seconds,
    pair_weight,
    affinity_weight,
    negative,
    session_keys,
    categories,
    value_codes,
    pairable_types,
    window,
    session_gap_s,
    ring_item,
    ring_type,
    ring_seconds,
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
    wish,
    wish_len,
    aff_cat,
    aff_w,
    session_key,
    session_start,
    session_events,
    session_category,
    last_seconds,
    events,
):  # type: ignore[no-untyped-def]
    width = ring_item.shape[1]
    capacity = 0
    for e in range(users.shape[0]):
        if pair_weight[e] > 0:
            capacity += 2 * min(window, width)
    src = np.empty(capacity, np.int32)
    dst = np.empty(capacity, np.int32)
    pw = np.empty(capacity, np.float64)
    n = 0
    for e in range(users.shape[0]):
        t = types[e]
        if t == IMPRESSION:  # the item was shown: not an interaction of the user
            continue
        u = users[e]
        i = items[e]
        shared[e] = counts_for_everyone(
            ring_item, ring_seconds, ring_pos, ring_len, u, i, seconds[e], limits
        )
        # co-occurrence with the distinct items of the user's window, before the
        # event joins it
        if pair_weight[e] > 0 and pairable_types[t] and shared[e]:
            paired = 0
            partners = 0
            for back in range(ring_len[u]):
                if paired >= window:
                    break
                slot = (ring_pos[u] - 1 - back) % width
                if not pairable_types[ring_type[u, slot] & 15]:
                    continue
                paired += 1
                j = ring_item[u, slot]
                if j == i or _held(dst, n - 2 * partners, n, j):
                    continue
                partners += 1
                src[n] = i
                dst[n] = j
                pw[n] = pair_weight[e]
                src[n + 1] = j
                dst[n + 1] = i
                pw[n + 1] = pair_weight[e]
                n += 2
        # sessions: an explicit id, else a new one after an inactivity gap
        now = seconds[e]
        key = session_keys[e]
        if key == 0:
            if events[u] == 0 or now - np.int64(last_seconds[u]) > session_gap_s:
                key = -(now + 1)
            else:
                key = session_key[u]
        if key != session_key[u] or events[u] == 0:
            session_key[u] = key
            session_start[u] = now
            session_events[u] = 0
            session_category[u] = -1
        session_events[u] += 1
        if categories[e] >= 0:
            session_category[u] = categories[e]
        # recent interactions ring
        pos = ring_pos[u]
        ring_item[u, pos] = i
        ring_type[u, pos] = t | (value_codes[e] << 4)
        ring_seconds[u, pos] = now
        ring_pos[u] = (pos + 1) % width
        if ring_len[u] < width:
            ring_len[u] += 1
        _push_newest(seen, seen_pos, seen_len, u, i)
        if negative[e]:
            _push_newest(neg, neg_pos, neg_len, u, i)
        if t == ADD_TO_CART:
            _set_add(cart, cart_len, u, i)
        elif t == REMOVE_FROM_CART or t == PURCHASE:  # noqa: SIM109 (compiled by numba)
            _set_remove(cart, cart_len, u, i)
        if t == WISHLIST:
            _set_add(wish, wish_len, u, i)
        elif t == PURCHASE:
            _set_remove(wish, wish_len, u, i)
        if affinity_weight[e] > 0 and categories[e] >= 0:
            _add_affinity(aff_cat, aff_w, u, categories[e], affinity_weight[e])
        if now > np.int64(last_seconds[u]):
            last_seconds[u] = now
        events[u] += 1
    return src[:n], dst[:n], pw[:n]
