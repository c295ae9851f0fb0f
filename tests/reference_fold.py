"""A plain-Python reference of the user-profile and item-statistics rules of the fold.

Written from the documented rules (``streamrec.config`` EventWeights / ProfileSettings /
DecaySettings, ``streamrec.processing.weights``, the module docstrings of
``streamrec.processing`` and ``streamrec.state.views``, README "What it does"), one
event at a time with Python lists and dicts, so that it shares no code path with the
compiled fold that every state adapter runs. Decayed values are exact sums
``w * 2**(-(T - t) / h)`` over the remembered contributions, evaluated at read time
``T`` (the latest event time the state has applied), with no landmark at all.

The rules, per user, over the user's interactions in log order (an ``impression`` says
that an item was shown to the user, not that the user did anything: it counts for the
item only and leaves the profile as it was; a user with impressions only has none):

- ``recent``: the last ``recent_items`` interactions, newest first, each with its time
  in whole seconds and, for a rating with a value, the rating at half-star resolution
  clipped to [0, 7] (other events carry no value);
- ``seen``: the most recent ``seen_items`` distinct items interacted with, newest first
  (an item interacted with again becomes the newest);
- ``negative``: the same, over negative feedback: events whose type weight is negative
  (dislike, skip, remove_from_cart at the default weights) and ratings at or below
  ``rating_dislike_at``;
- ``cart``: add_to_cart adds the item (if absent) at the end, dropping the oldest when
  ``cart_items`` are held; remove_from_cart and purchase remove it. ``wishlist``: the
  same with wishlist / purchase, capped at ``cart_items`` as well;
- ``session``: an interaction with a session id belongs to that session; one without
  joins the current session unless it comes more than ``session_gap_s`` (in whole
  seconds) after the latest interaction time so far, which opens a gap session. A new
  session starts at its first interaction's time; each interaction counts, and one
  on an item with a primary category makes that the session's category;
- ``affinities``: per primary category of the items of positive-weight interactions,
  the decayed sum of the weights (``decay.affinity_half_life_s``; 0, the default, is
  no decay: the plain sum), at most
  ``top_categories`` of them. When all are held, a new category takes the place of the
  weakest one (the first held among equals) only if its event alone outweighs it, and
  the weakest one's history is forgotten;
- ``events``: the number of interactions; ``last_ms``: the latest interaction time in
  whole seconds.

Per item: the count of each event type, the mean and count of rating values, views
and clicks to carts (``add_to_cart / (view + click)``), carts to purchases, decayed
popularity (positive weights, ``decay.popularity_half_life_s``, 0 for none, of the
interactions that count for everyone: ``influence`` in the settings — no bot, and
fewer than ``pair_cap`` remembered interactions of the user with the item in
``pair_window_s``) and trending (the
short-window rate minus the long-window rate, over the long rate plus
``recommend.trending_prior`` per long half-life).

Where floats are too close to call an eviction (the compiled fold keeps affinities in
``float32``), the user's affinities are marked inexact instead of guessing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from streamrec.config import EventWeights, Settings
from streamrec.events import Event

#: Relative difference below which two decayed weights are too close to call.
NEAR = 1e-5


@dataclass(frozen=True, slots=True)
class ExpectedInteraction:
    """One entry of ``recent``."""

    item_id: str
    type: str
    timestamp: int
    value: float | None


@dataclass(frozen=True, slots=True)
class ExpectedSession:
    """A session; ``identity`` is its explicit id, or the start second of a gap session."""

    identity: tuple[str, str | int]
    started_ms: int
    events: int
    category: str | None


@dataclass(frozen=True, slots=True)
class ExpectedProfile:
    """What :meth:`OnlineState.profile` should answer (sessions by identity, not key)."""

    recent: list[ExpectedInteraction]
    seen: list[str]
    negative: list[str]
    cart: list[str]
    wishlist: list[str]
    affinities: dict[str, float]
    #: False when an eviction was too close to call: ``affinities`` is then every
    #: category the user has positive weight in, with its full decayed weight.
    affinities_exact: bool
    session: ExpectedSession
    events: int
    last_ms: int


@dataclass(frozen=True, slots=True)
class ExpectedItemStats:
    """What :meth:`OnlineState.item_stats` should answer for one item."""

    popularity: float
    trending: float
    counts: dict[str, int]
    decayed_counts: dict[str, float]
    rating_mean: float | None
    rating_count: int
    view_to_cart: float | None
    cart_to_purchase: float | None


@dataclass(slots=True)
class _Contributions:
    """Weighted event times (ms) whose decayed sum is a counter's value."""

    parts: list[tuple[float, int]] = field(default_factory=list)

    def value(self, at_ms: int, half_life_s: float) -> float:
        """The decayed sum at ``at_ms``; a half-life of 0 is no decay (the plain sum)."""
        if half_life_s == 0:
            return sum(w for w, _ in self.parts)
        return sum(w * 2.0 ** (-(at_ms - t) / (half_life_s * 1000.0)) for w, t in self.parts)


@dataclass(slots=True)
class _User:
    recent: list[ExpectedInteraction] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    negative: list[str] = field(default_factory=list)
    cart: list[str] = field(default_factory=list)
    wishlist: list[str] = field(default_factory=list)
    held: list[tuple[str, _Contributions]] = field(default_factory=list)
    every_category: dict[str, _Contributions] = field(
        default_factory=lambda: defaultdict(_Contributions)
    )
    affinities_exact: bool = True
    session: ExpectedSession | None = None
    events: int = 0
    last_s: int = 0


@dataclass(slots=True)
class _Item:
    counts: Counter[str] = field(default_factory=Counter)
    ratings: list[float] = field(default_factory=list)
    popularity: _Contributions = field(default_factory=_Contributions)
    by_type: dict[str, _Contributions] = field(default_factory=dict)


def weight_of(event: Event, weights: EventWeights) -> float:
    """The documented signed weight of an event."""
    base = float(getattr(weights, event.type.value))
    if event.type == "rating" and event.value is not None:
        return base + weights.rating_per_star * (event.value - weights.rating_neutral)
    if event.type == "view" and event.value is not None:
        if weights.short_dwell_s is not None and event.value < weights.short_dwell_s:
            return weights.short_dwell
        if weights.dwell_full_s is not None:
            return base * min(event.value / weights.dwell_full_s, 1.0)
    return base


def is_negative(event: Event, weights: EventWeights) -> bool:
    """Negative feedback: a negative type weight, or a rating at/below the dislike mark."""
    if event.type == "rating" and event.value is not None:
        return event.value <= weights.rating_dislike_at
    short = weights.short_dwell_s
    if (
        event.type == "view"
        and event.value is not None
        and short is not None
        and event.value < short
    ):
        return True
    return float(getattr(weights, event.type.value)) < 0


def _push_newest(items: list[str], item: str, cap: int) -> None:
    """Make ``item`` the newest of a newest-first list of at most ``cap`` distinct items."""
    if item in items:
        items.remove(item)
    items.insert(0, item)
    del items[cap:]


def _append_new(items: list[str], item: str, cap: int) -> None:
    """Append ``item`` to an oldest-first list unless held; keep the newest ``cap``."""
    if item not in items and cap:
        items.append(item)
        del items[: len(items) - cap]


def _near(a: float, b: float) -> bool:
    return abs(a - b) <= NEAR * max(abs(a), abs(b))


class ReferenceFold:
    """The documented fold, event by event; read it with :meth:`profile`/:meth:`item_stats`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.users: dict[str, _User] = {}
        self.items: dict[str, _Item] = {}
        self.clock_ms = 0

    def apply(self, events: Sequence[Event], categories: Mapping[str, str | None]) -> None:
        """Fold ``events`` in order; ``categories`` is each item's primary category now."""
        for event in events:
            self._apply(event, categories.get(event.item_id))

    def _apply(self, event: Event, category: str | None) -> None:
        assert event.timestamp is not None
        self.clock_ms = max(self.clock_ms, event.timestamp)
        item = self.items.setdefault(event.item_id, _Item())
        weight = weight_of(event, self.settings.weights)
        kind = event.type.value
        item.counts[kind] += 1
        item.by_type.setdefault(kind, _Contributions()).parts.append((1.0, event.timestamp))
        if kind == "rating" and event.value is not None:
            item.ratings.append(event.value)
        second = event.timestamp // 1000
        known = self.users.get(event.user_id)
        shared = kind == "impression" or known is None or self._counts(known, event, second)
        if weight > 0 and shared:
            item.popularity.parts.append((weight, event.timestamp))
        if kind == "impression":  # shown to the user, not done by them
            return

        caps = self.settings.profile
        user = self.users.setdefault(event.user_id, _User())
        self._session(user, event, second, category)
        rating = None
        if kind == "rating" and event.value is not None:
            rating = min(max(round(event.value * 2), 0), 14) / 2
        user.recent.insert(0, ExpectedInteraction(event.item_id, kind, second * 1000, rating))
        del user.recent[caps.recent_items :]
        if caps.seen_items:
            _push_newest(user.seen, event.item_id, caps.seen_items)
        if is_negative(event, self.settings.weights) and caps.negative_items:
            _push_newest(user.negative, event.item_id, caps.negative_items)
        if kind == "add_to_cart":
            _append_new(user.cart, event.item_id, caps.cart_items)
        elif kind in ("remove_from_cart", "purchase") and event.item_id in user.cart:
            user.cart.remove(event.item_id)
        if kind == "wishlist":
            _append_new(user.wishlist, event.item_id, caps.cart_items)
        elif kind == "purchase" and event.item_id in user.wishlist:
            user.wishlist.remove(event.item_id)
        if weight > 0 and category is not None:
            self._affinity(user, category, weight, event.timestamp)
        user.last_s = max(user.last_s, second)
        user.events += 1

    def _counts(self, user: _User, event: Event, second: int) -> bool:
        """Whether the interaction counts for popularity and trending: the user is no
        bot (``bot_events`` remembered interactions within ``bot_window_s``) and has
        fewer than ``pair_cap`` remembered ones with the item within ``pair_window_s``."""
        rules = self.settings.influence
        recent = user.recent
        bot = 0 < rules.bot_events <= len(recent)
        if bot and second - recent[rules.bot_events - 1].timestamp // 1000 < rules.bot_window_s:
            return False
        same = sum(
            1
            for r in recent
            if r.item_id == event.item_id and second - r.timestamp // 1000 < rules.pair_window_s
        )
        return same < rules.pair_cap

    def _session(self, user: _User, event: Event, second: int, category: str | None) -> None:
        current = user.session
        if event.session_id is not None:
            identity: tuple[str, str | int] = ("id", event.session_id)
        elif current is None or second - user.last_s > self.settings.profile.session_gap_s:
            identity = ("gap", second)
        else:
            identity = current.identity
        if current is None or identity != current.identity:
            current = ExpectedSession(identity, second * 1000, 0, None)
        user.session = ExpectedSession(
            identity,
            current.started_ms,
            current.events + 1,
            current.category if category is None else category,
        )

    def _affinity(self, user: _User, category: str, weight: float, at_ms: int) -> None:
        user.every_category[category].parts.append((weight, at_ms))
        half_life = self.settings.decay.affinity_half_life_s
        for name, held in user.held:
            if name == category:
                held.parts.append((weight, at_ms))
                return
        if len(user.held) < self.settings.profile.top_categories:
            user.held.append((category, _Contributions([(weight, at_ms)])))
            return
        values = [held.value(at_ms, half_life) for _, held in user.held]
        weakest = min(range(len(values)), key=values.__getitem__)
        replaces = weight > values[weakest]
        rival = any(_near(v, values[weakest]) for k, v in enumerate(values) if k != weakest)
        if _near(weight, values[weakest]) or (replaces and rival):
            user.affinities_exact = False
        if replaces:
            user.held[weakest] = (category, _Contributions([(weight, at_ms)]))

    def profile(self, user_id: str) -> ExpectedProfile | None:
        """The expected profile of ``user_id`` (``None`` before any event)."""
        user = self.users.get(user_id)
        if user is None:
            return None
        assert user.session is not None
        half_life = self.settings.decay.affinity_half_life_s
        held = user.held if user.affinities_exact else list(user.every_category.items())
        return ExpectedProfile(
            recent=list(user.recent),
            seen=list(user.seen),
            negative=list(user.negative),
            cart=list(user.cart),
            wishlist=list(user.wishlist),
            affinities={name: c.value(self.clock_ms, half_life) for name, c in held},
            affinities_exact=user.affinities_exact,
            session=user.session,
            events=user.events,
            last_ms=user.last_s * 1000,
        )

    def item_stats(self, item_id: str) -> ExpectedItemStats | None:
        """The expected statistics of ``item_id`` (``None`` before any event)."""
        item = self.items.get(item_id)
        if item is None:
            return None
        decay, at = self.settings.decay, self.clock_ms
        short_rate = item.popularity.value(at, decay.trending_short_half_life_s) / (
            decay.trending_short_half_life_s * 1000
        )
        long_half_life_ms = decay.trending_long_half_life_s * 1000
        long_rate = item.popularity.value(at, decay.trending_long_half_life_s) / long_half_life_ms
        prior = self.settings.recommend.trending_prior / long_half_life_ms
        looks = item.counts["view"] + item.counts["click"]
        carts = item.counts["add_to_cart"]
        return ExpectedItemStats(
            popularity=item.popularity.value(at, decay.popularity_half_life_s),
            trending=(short_rate - long_rate) / (long_rate + prior),
            counts={kind: n for kind, n in item.counts.items() if n},
            decayed_counts={
                kind: c.value(at, decay.popularity_half_life_s) for kind, c in item.by_type.items()
            },
            rating_mean=sum(item.ratings) / len(item.ratings) if item.ratings else None,
            rating_count=len(item.ratings),
            view_to_cart=carts / looks if looks else None,
            cart_to_purchase=item.counts["purchase"] / carts if carts else None,
        )
