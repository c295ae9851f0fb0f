"""The memory state's profiles and item statistics equal the plain-Python reference fold.

Random streams (several users, categorized and uncategorized items, every event type,
ratings with arbitrary values, session ids and inactivity gaps, late events, catalog
changes) are applied in batches with random boundaries; after every batch each user's
profile and each item's statistics are compared with :mod:`tests.reference_fold`,
field by field.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from streamrec.config import Settings
from streamrec.events import EVENT_TYPES, Event, EventBatch
from streamrec.state.base import CatalogItem
from streamrec.state.memory import MemoryState
from tests.reference_fold import ExpectedProfile, ReferenceFold

START_MS = 1_700_000_000_123
GAP_S = 1800
USERS = [f"u{n}" for n in range(3)]
ITEMS = [f"i{n}" for n in range(8)]
CATEGORIES = ["books", "garden", "music", "toys", "tools"]

TIGHT = Settings(
    profile={
        "recent_items": 5,
        "seen_items": 3,
        "negative_items": 2,
        "cart_items": 2,
        "top_categories": 2,
        "session_gap_s": GAP_S,
    },
    decay={
        "popularity_half_life_s": 7200,
        "trending_short_half_life_s": 600,  # the landmark moves every ~17 hours
        "trending_long_half_life_s": 3600,
        "affinity_half_life_s": 86_400,
    },
    influence={"pair_cap": 2, "pair_window_s": 3600, "bot_events": 4, "bot_window_s": 120},
)
#: Views weighed by their dwell time, and short ones counted as negative feedback.
DWELL = TIGHT.model_copy(
    update={"weights": TIGHT.weights.model_copy(update={"short_dwell_s": 2.0, "dwell_full_s": 4.0})}
)
CONFIGS = (TIGHT, Settings(), DWELL)

# steps between a user's consecutive event times: a burst, just inside or past the session gap,
# hours of quiet, or back in time (a late event)
steps = st.one_of(
    st.integers(0, 120_000),
    st.integers((GAP_S - 2) * 1000, (GAP_S + 2) * 1000),
    st.integers(3_600_000, 6 * 3_600_000),
    st.integers(-3 * 3_600_000, 0),
)
values = st.one_of(
    st.none(),
    st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0, 3.5, 4.0, 5.0]),
    st.floats(-2.0, 12.0, allow_nan=False),
)
event_fields = st.tuples(
    st.sampled_from(USERS),
    st.sampled_from(ITEMS),
    st.sampled_from([t.value for t in EVENT_TYPES]),
    values,
    steps,
    st.sampled_from([None, None, None, "s1", "s2"]),
)
raw_events = st.integers(1, 80).flatmap(lambda n: st.lists(event_fields, min_size=n, max_size=n))
item_categories = st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True)
catalogs = st.fixed_dictionaries({item: item_categories for item in ITEMS})
recatalogs = st.dictionaries(st.sampled_from(ITEMS), item_categories)


def build_events(raw: Sequence[tuple]) -> list[Event]:
    """Events from drawn fields; each user's clock moves by the steps of their events."""
    events, clocks = [], dict.fromkeys(USERS, START_MS)
    for user, item, kind, value, step, session in raw:
        clocks[user] = max(0, clocks[user] + step)
        events.append(
            Event(
                user_id=user,
                item_id=item,
                type=kind,
                value=value,
                timestamp=clocks[user],
                session_id=session,
            )
        )
    return events


def upsert(state: MemoryState, catalog: dict[str, list[str]]) -> dict[str, str | None]:
    state.upsert([CatalogItem(item, categories=cats) for item, cats in catalog.items()])
    return {item: cats[0] if cats else None for item, cats in catalog.items()}


class SessionKeys:
    """Checks that a user's session key is stable within a session and new for each."""

    def __init__(self) -> None:
        self.key_of: dict[tuple[str, tuple[str, str | int]], int] = {}
        self.identity_of: dict[tuple[str, int], tuple[str, str | int]] = {}

    def check(self, user: str, identity: tuple[str, str | int], key: int) -> None:
        assert self.key_of.setdefault((user, identity), key) == key, (user, identity)
        assert self.identity_of.setdefault((user, key), identity) == identity, (user, key)


def assert_profile(
    state: MemoryState, user: str, expected: ExpectedProfile | None, keys: SessionKeys
) -> None:
    actual = state.profile(user)
    if expected is None:
        assert actual is None
        return
    assert actual is not None, user
    recent = [(r.item_id, r.type, r.timestamp, r.value) for r in actual.recent]
    assert recent == [(r.item_id, r.type, r.timestamp, r.value) for r in expected.recent]
    assert actual.seen == expected.seen
    assert actual.negative == expected.negative
    assert actual.cart == expected.cart
    assert actual.wishlist == expected.wishlist
    assert actual.events == expected.events
    assert actual.last_ms == expected.last_ms
    assert actual.session is not None
    session = expected.session
    assert actual.session.started_ms == session.started_ms
    assert actual.session.events == session.events
    assert actual.session.category == session.category
    keys.check(user, session.identity, actual.session.session_key)
    weights = list(actual.affinities.values())
    assert weights == sorted(weights, reverse=True)
    assert len(actual.affinities) <= state.settings.profile.top_categories
    if expected.affinities_exact:
        assert actual.affinities.keys() == expected.affinities.keys()
    else:  # too close to call which category stays: each held one is the user's
        assert actual.affinities.keys() <= expected.affinities.keys()
    for category, weight in actual.affinities.items():
        full = expected.affinities[category]
        if expected.affinities_exact:
            assert np.isclose(weight, full, rtol=1e-5, atol=1e-30), category
        else:
            assert weight <= full * (1 + 1e-5) + 1e-30, category


def assert_item_stats(state: MemoryState, reference: ReferenceFold) -> None:
    for item, actual in zip(ITEMS, state.item_stats(ITEMS), strict=True):
        expected = reference.item_stats(item)
        if expected is None:
            assert actual is None
            continue
        assert actual is not None, item
        assert actual.counts == expected.counts
        assert actual.decayed_counts.keys() == expected.decayed_counts.keys()
        for kind, value in expected.decayed_counts.items():
            assert np.isclose(actual.decayed_counts[kind], value, rtol=1e-9, atol=1e-12), kind
        assert actual.rating_count == expected.rating_count
        assert actual.view_to_cart == expected.view_to_cart
        assert actual.cart_to_purchase == expected.cart_to_purchase
        if expected.rating_mean is None:
            assert actual.rating_mean is None
        else:
            assert np.isclose(actual.rating_mean, expected.rating_mean, rtol=1e-12)
        assert np.isclose(actual.popularity, expected.popularity, rtol=1e-9, atol=1e-12), item
        assert np.isclose(actual.trending, expected.trending, rtol=1e-7, atol=1e-9), item


def run(
    config: Settings,
    events: list[Event],
    cuts: list[int],
    catalog: dict[str, list[str]],
    recatalog: dict[str, list[str]],
) -> None:
    state, reference, keys = MemoryState(config), ReferenceFold(config), SessionKeys()
    categories = upsert(state, catalog)
    bounds = sorted({0, len(events), *[c % (len(events) + 1) for c in cuts]})
    for number, (start, stop) in enumerate(zip(bounds, bounds[1:], strict=False)):
        if number == 1:  # the catalog changes between batches
            categories |= upsert(state, recatalog)
        state.apply(EventBatch.from_events(events[start:stop]))
        reference.apply(events[start:stop], categories)
        for user in [*USERS, "nobody"]:
            assert_profile(state, user, reference.profile(user), keys)
        assert_item_stats(state, reference)


@settings(max_examples=100, deadline=None)
@given(
    raw=raw_events,
    cuts=st.lists(st.integers(0, 80), max_size=4),
    catalog=catalogs,
    recatalog=recatalogs,
)
def test_profiles_and_item_stats_equal_the_reference(
    raw: list[tuple], cuts: list[int], catalog: dict, recatalog: dict
) -> None:
    events = build_events(raw)
    for config in CONFIGS:
        run(config, events, cuts, catalog, recatalog)
