"""Vectorized simulation of shopping sessions (the engine of the synthetic shop).

:func:`simulate_sessions` turns one block of sessions into events with NumPy only:
session starts, users and categories, then every view, then the events that views
lead to (clicks, carts, wishlists, likes, dislikes), then what carts lead to
(purchases at checkout, removals). The block's events come out unordered; the caller
merges blocks into global time order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from streamrec.events import TYPE_CODE

_MS = 1000.0


_RATES = (
    "favourite",
    "second_favourite",
    "in_category",
    "click",
    "add_to_cart",
    "wishlist",
    "like",
    "dislike",
    "purchase",
    "remove_from_cart",
)


@dataclass(frozen=True, slots=True)
class ShopBehaviour:
    """How shoppers behave: session shape and funnel rates.

    Attributes
    ----------
    session_interval_s
        Mean seconds between session starts across the whole shop.
    views_per_session
        Mean number of item views per session (geometric, at least one).
    view_gap_s
        Mean seconds between two views of a session.
    favourite, second_favourite
        Share of sessions in the user's first and second favourite category; the
        rest pick a category by its popularity.
    in_category
        Share of a session's views inside its category.
    click, add_to_cart, wishlist, like, dislike
        Chance that a view leads to each (like and dislike exclude each other).
    purchase
        Chance that a cart ends in a purchase at checkout.
    remove_from_cart
        Chance that a cart that is not bought is removed.
    """

    session_interval_s: float = 2.0
    views_per_session: float = 6.0
    view_gap_s: float = 45.0
    favourite: float = 0.6
    second_favourite: float = 0.25
    in_category: float = 0.85
    click: float = 0.25
    add_to_cart: float = 0.08
    wishlist: float = 0.02
    like: float = 0.015
    dislike: float = 0.005
    purchase: float = 0.30
    remove_from_cart: float = 0.2

    def __post_init__(self) -> None:
        for name in _RATES:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.favourite + self.second_favourite > 1.0 or self.like + self.dislike > 1.0:
            raise ValueError("favourite + second_favourite and like + dislike must be <= 1")
        if self.session_interval_s <= 0 or self.view_gap_s < 0 or self.views_per_session < 1:
            raise ValueError("need session_interval_s > 0, view_gap_s >= 0, views_per_session >= 1")


@dataclass(frozen=True, slots=True)
class ShopModel:
    """The fixed randomness of a shop: who is active, what is popular, who likes what.

    Items are numbered category by category; ``category_first[c]:category_first[c+1]``
    are the items of category ``c``.
    """

    user_cumulative: np.ndarray  # cumulative activity weight over users
    favourites: np.ndarray  # (n_users, 2) favourite categories
    item_cumulative: np.ndarray  # cumulative popularity weight over items
    category_first: np.ndarray  # first item of each category, then n_items
    category_cumulative: np.ndarray  # cumulative popularity weight over categories


@dataclass(frozen=True, slots=True)
class SessionBlock:
    """Simulated events as columns (user and item as dense codes, session numbers)."""

    user: np.ndarray
    item: np.ndarray
    type: np.ndarray
    value: np.ndarray
    timestamp: np.ndarray
    session: np.ndarray

    def __len__(self) -> int:
        return len(self.user)

    @classmethod
    def empty(cls) -> SessionBlock:
        """A block without events."""
        ints = np.empty(0, np.int32)
        return cls(ints, ints, np.empty(0, np.int8), np.empty(0), np.empty(0, np.int64), ints)

    @classmethod
    def concat(cls, blocks: Sequence[SessionBlock]) -> SessionBlock:
        """Join blocks in order."""
        return cls(*(np.concatenate([getattr(b, f.name) for b in blocks]) for f in fields(cls)))

    def take(self, rows: slice | np.ndarray) -> SessionBlock:
        """The events of the selected rows."""
        return SessionBlock(*(getattr(self, f.name)[rows] for f in fields(self)))

    def sorted(self) -> SessionBlock:
        """The events ordered by timestamp, then user, item and type."""
        return self.take(np.lexsort((self.type, self.item, self.user, self.timestamp)))


def pick(cumulative: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """Indices drawn with weights given as a cumulative sum, from uniform [0, 1) draws."""
    drawn = np.searchsorted(cumulative, uniform * cumulative[-1], side="right")
    return np.minimum(drawn, len(cumulative) - 1)


def _session_items(
    rng: np.random.Generator, shop: ShopModel, behaviour: ShopBehaviour, category: np.ndarray
) -> np.ndarray:
    """One viewed item per entry of ``category``, mostly from that category."""
    n = len(category)
    cumulative = shop.item_cumulative
    first, stop = shop.category_first[category], shop.category_first[category + 1]
    low = np.where(first > 0, cumulative[np.maximum(first - 1, 0)], 0.0)
    mass = cumulative[stop - 1] - low
    inside = np.clip(
        np.searchsorted(cumulative, low + rng.random(n) * mass, side="right"), first, stop - 1
    )
    anywhere = pick(cumulative, rng.random(n))
    return np.where(rng.random(n) < behaviour.in_category, inside, anywhere)


class _Parts:
    """Events collected by kind: the view each follows, type, time and value."""

    def __init__(self) -> None:
        self.views: list[np.ndarray] = []
        self.types: list[np.ndarray] = []
        self.times: list[np.ndarray] = []
        self.values: list[np.ndarray] = []

    def add(
        self, views: np.ndarray, name: str, times: np.ndarray, values: np.ndarray | None = None
    ) -> None:
        self.views.append(views)
        self.types.append(np.full(len(views), TYPE_CODE[name], np.int8))
        self.times.append(times)
        self.values.append(np.full(len(views), np.nan) if values is None else values)


def _delays_ms(rng: np.random.Generator, n: int, low_s: float, high_s: float) -> np.ndarray:
    return rng.uniform(low_s * _MS, high_s * _MS, n)


def simulate_sessions(
    rng: np.random.Generator,
    shop: ShopModel,
    behaviour: ShopBehaviour,
    clock_ms: float,
    first_session: int,
    n_sessions: int,
) -> tuple[SessionBlock, float]:
    """Simulate the next ``n_sessions`` sessions, starting after ``clock_ms``.

    Parameters
    ----------
    rng
        The stream's generator; draws happen in a fixed order per block.
    shop, behaviour
        Who shops what, and how.
    clock_ms
        Start time of the previous session (epoch ms, fractional).
    first_session
        Number of the first session of this block (session numbers are global).
    n_sessions
        Sessions in the block.

    Returns
    -------
    tuple[SessionBlock, float]
        The block's events (not in time order), and the start of its last session;
        every later session starts at or after it.
    """
    b = behaviour
    starts = clock_ms + np.cumsum(rng.exponential(b.session_interval_s * _MS, n_sessions))
    user = pick(shop.user_cumulative, rng.random(n_sessions))
    draw = rng.random(n_sessions)
    category = np.where(
        draw < b.favourite,
        shop.favourites[user, 0],
        np.where(
            draw < b.favourite + b.second_favourite,
            shop.favourites[user, 1],
            pick(shop.category_cumulative, rng.random(n_sessions)),
        ),
    )
    views = rng.geometric(1.0 / b.views_per_session, n_sessions)
    session = np.repeat(np.arange(n_sessions), views)
    first_view = np.cumsum(views) - views
    gaps = rng.exponential(b.view_gap_s * _MS, len(session))
    gaps[first_view] = 0.0
    elapsed = np.cumsum(gaps)
    view_time = starts[session] + elapsed - np.repeat(elapsed[first_view], views)
    item = _session_items(rng, shop, b, category[session])

    n = len(session)
    parts = _Parts()
    parts.add(np.arange(n), "view", view_time)
    draws = rng.random((4, n))
    opinion = draws[3]
    follow_ups = (
        ("click", draws[0] < b.click, 1.0, 20.0),
        ("wishlist", draws[2] < b.wishlist, 5.0, 60.0),
        ("like", opinion < b.like, 5.0, 90.0),
        ("dislike", (opinion >= b.like) & (opinion < b.like + b.dislike), 2.0, 30.0),
    )
    for name, chosen, low_s, high_s in follow_ups:
        index = np.flatnonzero(chosen)
        parts.add(index, name, view_time[index] + _delays_ms(rng, len(index), low_s, high_s))
    carts = np.flatnonzero(draws[1] < b.add_to_cart)
    cart_time = view_time[carts] + _delays_ms(rng, len(carts), 5.0, 60.0)
    parts.add(carts, "add_to_cart", cart_time, np.ones(len(carts)))

    # Checkout follows the session's last view; carts not bought are sometimes removed.
    checkout = np.maximum(view_time[first_view + views - 1][session[carts]], cart_time)
    fate = rng.random((2, len(carts)))
    bought = np.flatnonzero(fate[0] < b.purchase)
    removed = np.flatnonzero((fate[0] >= b.purchase) & (fate[1] < b.remove_from_cart))
    quantity = 1.0 + (fate[1] < 0.15) + (fate[1] < 0.04)
    parts.add(
        carts[bought],
        "purchase",
        checkout[bought] + _delays_ms(rng, len(bought), 30.0, 300.0),
        quantity[bought],
    )
    parts.add(
        carts[removed],
        "remove_from_cart",
        cart_time[removed] + _delays_ms(rng, len(removed), 10.0, 600.0),
        np.ones(len(removed)),
    )

    view = np.concatenate(parts.views)
    block = SessionBlock(
        user=user[session[view]].astype(np.int32),
        item=item[view].astype(np.int32),
        type=np.concatenate(parts.types),
        value=np.concatenate(parts.values),
        timestamp=np.floor(np.concatenate(parts.times)).astype(np.int64),
        session=(first_session + session[view]).astype(np.int64),
    )
    return block, float(starts[-1])
