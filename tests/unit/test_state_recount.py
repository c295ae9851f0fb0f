"""Incremental state equals a from-scratch recount of the same events (decay included,
and without decay at the defaults)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from streamrec.config import Settings
from streamrec.events import EVENT_TYPES, TYPE_CODE, Event, EventBatch
from streamrec.processing.cooccurrence import BOUND_FACTOR, KEEP_FACTOR, PRUNE_TIE, strongest
from streamrec.processing.weights import UNPAIRED_TYPES, event_weights
from streamrec.state.memory import MemoryState

HOUR_MS = 3_600_000
SMALL = Settings(
    profile={"recent_items": 4},
    cooccurrence={"window": 3, "max_neighbors": 1000},
    decay={
        "popularity_half_life_s": 7200,
        "trending_short_half_life_s": 600,
        "trending_long_half_life_s": 3600,
        "cooccurrence_half_life_s": 5400,
    },
)

#: Tight influence rules, so that the caps and the bot rule bind on short streams.
STRICT = SMALL.model_copy(
    update={
        "influence": SMALL.influence.model_copy(
            update={"pair_cap": 2, "pair_window_s": 7200.0, "bot_events": 3, "bot_window_s": 600.0}
        )
    }
)

events_strategy = st.lists(
    st.builds(
        lambda u, i, t, v, ts: Event(
            user_id=f"u{u}",
            item_id=f"i{i}",
            type=t,
            timestamp=ts,
            value=v if t == "rating" else None,
        ),
        st.integers(0, 4),
        st.integers(0, 7),
        st.sampled_from([t.value for t in EVENT_TYPES]),
        st.sampled_from([0.5, 1.0, 2.0, 3.0, 4.0, 4.5, 5.0]),
        st.integers(0, 400 * HOUR_MS),  # spans many landmark moves of the 10-minute decay
    ),
    min_size=1,
    max_size=60,
)


def counts_for_everyone(ring: list[tuple[str, str, int]], event: Event, config: Settings) -> bool:
    """The documented influence rules (InfluenceSettings) over the user's remembered
    interactions before ``event``: not a bot, and under the per-(user, item) cap."""
    rules = config.influence
    now = (event.timestamp or 0) // 1000
    bot = 0 < rules.bot_events <= len(ring)
    if bot and now - ring[-rules.bot_events][2] < rules.bot_window_s:
        return False
    same = sum(1 for j, _, t in ring if j == event.item_id and now - t < rules.pair_window_s)
    return same < rules.pair_cap


def recount(events: list[Event], config: Settings, at_ms: int) -> tuple[dict, dict]:
    """Co-occurrence and popularity computed the obvious way, one event at a time."""
    batch = EventBatch.from_events(events)
    weights = event_weights(batch.type, batch.value, config.weights)
    # a half-life of 0 (the default) is no decay
    pair_half = config.decay.cooccurrence_half_life_s * 1000 or float("inf")
    pop_half = config.decay.popularity_half_life_s * 1000 or float("inf")
    rings: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    pairs: dict[tuple[str, str], float] = defaultdict(float)
    popularity: dict[str, float] = defaultdict(float)
    for event, weight in zip(events, weights.tolist(), strict=True):
        ring = rings[event.user_id]
        shared = event.type == "impression" or counts_for_everyone(ring, event, config)
        if weight > 0 and shared:
            popularity[event.item_id] += weight * 2 ** (-(at_ms - event.timestamp) / pop_half)
        if weight > 0 and shared and event.type not in UNPAIRED_TYPES:
            window = [j for j, t, _ in reversed(ring) if t not in UNPAIRED_TYPES]
            decayed = weight * 2 ** (-(at_ms - event.timestamp) / pair_half)
            partners = set(window[: config.cooccurrence.window]) - {event.item_id}
            for other in partners:  # each distinct item of the window once
                pairs[event.item_id, other] += decayed
                pairs[other, event.item_id] += decayed
        if event.type != "impression":  # an impression is not an interaction
            ring.append((event.item_id, event.type, (event.timestamp or 0) // 1000))
            del ring[: -config.profile.recent_items]
    return pairs, popularity


def incremental(
    events: list[Event], config: Settings, cuts: list[int], at_ms: int
) -> tuple[dict, dict]:
    state = MemoryState(config)
    bounds = sorted({0, len(events), *[c % (len(events) + 1) for c in cuts]})
    for start, stop in zip(bounds, bounds[1:], strict=False):
        state.apply(EventBatch.from_events(events[start:stop]))
    landmark = state.landmark_ms or 0
    pairs = {}
    for item in state.items.to_list():
        dense = state.items.get(item)
        ids, weights = state.cooccurrence.row(dense)
        decayed = state.decays.cooccurrence.value_at(weights, landmark, at_ms)
        for other, value in zip(state.items.names(ids), decayed.tolist(), strict=True):
            pairs[item, other] = value
    popularity = {
        item: float(
            state.decays.popularity.value_at(
                state.item_table.popularity[state.items.get(item)], landmark, at_ms
            )
        )
        for item in state.items.to_list()
    }
    return pairs, popularity


def assert_close(expected: dict, actual: dict) -> None:
    keys = {k for k, v in expected.items() if v > 1e-12} | {
        k for k, v in actual.items() if v > 1e-12
    }
    for key in keys:
        assert np.isclose(actual.get(key, 0.0), expected.get(key, 0.0), rtol=1e-9, atol=1e-12), key


@settings(max_examples=150, deadline=None)
@given(events=events_strategy, cuts=st.lists(st.integers(0, 60), max_size=5))
def test_incremental_state_equals_recount(events: list[Event], cuts: list[int]) -> None:
    at_ms = max(e.timestamp for e in events if e.timestamp is not None)
    for config in (SMALL, Settings(), STRICT):
        expected_pairs, expected_popularity = recount(events, config, at_ms)
        pairs, popularity = incremental(events, config, cuts, at_ms)
        assert_close(expected_pairs, pairs)
        assert_close(expected_popularity, popularity)


def views(user: str, items: list[str], start_ms: int) -> EventBatch:
    return EventBatch.from_events(
        [
            Event(user_id=user, item_id=item, type="view", timestamp=start_ms + n)
            for n, item in enumerate(items)
        ]
    )


def test_reads_cut_rows_to_the_cap_and_stored_rows_stay_bounded() -> None:
    config = Settings(
        cooccurrence={"max_neighbors": 2, "window": 50},
        decay={"cooccurrence_half_life_s": 86_400.0},  # later pairs weigh more
    )
    state = MemoryState(config)
    index = state.cooccurrence
    assert (index.kept, index.bound) == (KEEP_FACTOR * 2, BOUND_FACTOR * 2)
    for n in range(3):  # i1 co-viewed with the hub three times, i2 twice
        state.apply(views(f"fan{n}", ["i1", "hub"], n))
    for n in range(2):
        state.apply(views(f"pal{n}", ["i2", "hub"], n))
    # u co-views five more items with the hub, once each (tied: the same hub event)
    state.apply(views("u", [*(f"u{n}" for n in range(5)), "hub"], 10))
    hub = state.items.get("hub")
    assert len(index.row(hub)[0]) == 7  # stored whole: not past the bound of 10
    assert sorted(state.items.names(index.neighbors(hub)[0])) == ["i1", "i2"]
    assert state.neighbors(["hub"], 5)[0].item_ids == ["i1", "i2"]
    # v co-views six more an hour later (heavier, by decay): 13 entries pass the
    # bound, and the cut back to 8 keeps i1, i2 and v's six; u's five tie at the cut
    # (the heaviest entry that does not fit) and all go
    state.apply(views("v", [*(f"v{n}" for n in range(6)), "hub"], HOUR_MS))
    kept = sorted(state.items.names(index.row(hub)[0]))
    assert kept == ["i1", "i2", *(f"v{n}" for n in range(6))]
    assert state.neighbors(["hub"], 5)[0].item_ids == ["i1", "i2"]


def test_a_cut_keeps_what_is_heavier_than_the_first_entry_left_out() -> None:
    ids = np.arange(6)
    weights = np.array([1.0, 3.0, 2.0, 2.0 * (1 + PRUNE_TIE / 10), 5.0, 0.5])
    assert strongest(ids, weights, 2)[0].tolist() == [1, 4]
    assert strongest(ids, weights, 3)[0].tolist() == [1, 4]  # 2 and 2 tie: both go
    assert strongest(ids, weights, 4)[0].tolist() == [1, 2, 3, 4]
    assert strongest(ids, weights, 6)[0].tolist() == ids.tolist()


def test_type_codes_are_stable() -> None:
    assert TYPE_CODE["view"] == 0 and TYPE_CODE["impression"] == len(EVENT_TYPES) - 1
