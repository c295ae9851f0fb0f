"""Profile rules checked by hand on small streams (the property test covers random ones)."""

from __future__ import annotations

from streamrec.config import Settings
from streamrec.events import Event, EventBatch
from streamrec.state.memory import MemoryState


def _state(events: list[tuple[str, str, str, float | None]], **profile: int) -> MemoryState:
    state = MemoryState(Settings(profile=profile))
    state.apply(
        EventBatch.from_events(
            [
                Event(user_id=user, item_id=item, type=kind, value=value, timestamp=1_000 * n)
                for n, (user, item, kind, value) in enumerate(events)
            ]
        )
    )
    return state


def test_only_a_rating_carries_a_value_among_recent_interactions() -> None:
    state = _state(
        [
            ("u", "a", "view", 30.0),  # dwell seconds
            ("u", "b", "purchase", 2.0),  # quantity
            ("u", "c", "rating", 4.3),
            ("u", "d", "rating", 9.0),
        ]
    )
    profile = state.profile("u")
    assert profile is not None
    assert [(r.item_id, r.value) for r in profile.recent] == [
        ("d", 7.0),  # ratings keep half stars up to 7
        ("c", 4.5),
        ("b", None),
        ("a", None),
    ]


def test_a_repeat_keeps_an_item_among_the_most_recent_seen_and_negative() -> None:
    state = _state(
        [("u", "a", "dislike", None), ("u", "b", "skip", None)]
        + [("u", "a", "dislike", None), ("u", "c", "skip", None)],
        seen_items=2,
        negative_items=2,
    )
    profile = state.profile("u")
    assert profile is not None
    assert profile.negative == ["c", "a"]
    assert profile.seen == ["c", "a"]


def test_impressions_count_for_the_item_and_leave_the_profile_alone() -> None:
    state = _state(
        [("u", "a", "view", None), ("u", "b", "impression", None), ("v", "b", "impression", None)]
    )
    profile = state.profile("u")
    assert profile is not None
    assert [r.item_id for r in profile.recent] == ["a"]
    assert profile.seen == ["a"]
    assert profile.session is not None and profile.session.events == 1
    assert profile.events == 1 and profile.last_ms == 0
    assert state.profile("v") is None and "v" not in state.users  # no row held
    (stats,) = state.item_stats(["b"])
    assert stats is not None and stats.counts == {"impression": 2}
