"""Attribution: incremental counters equal a plain recount of the same lists and events."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from streamrec.config import ExperimentSettings
from streamrec.events import Event, EventBatch
from streamrec.experiments.memory_store import MemoryAttribution
from streamrec.experiments.served import ServedList

WINDOW_S = 60.0
KINDS = {"impression": "impressions", "click": "clicks", "add_to_cart": "add_to_cart"}


def _served(rng: random.Random, n: int, t0: int = 1_000_000) -> list[ServedList]:
    lists = []
    for i in range(n):
        items = tuple(rng.sample([f"i{j}" for j in range(40)], rng.randint(1, 6)))
        experiment = rng.choice(["e1", "e1", None])
        interleaved = experiment == "e1" and rng.random() < 0.3
        variant = "interleaved" if interleaved else rng.choice(["a", "b"])
        lists.append(
            ServedList(
                recommendation_id=f"r{i}",
                user_id=f"u{rng.randrange(15)}",
                surface=rng.choice(["recommendations", "similar"]),
                experiment=experiment,
                variant=variant if experiment else "default",
                items=items,
                scores=tuple(rng.random() for _ in items),
                propensities=None,
                model_version=None,
                settings_hash="h",
                served_at=t0 + i * 7_000,
                latency_ms=1.0,
                teams=tuple(rng.choice(["a", "b"]) for _ in items) if interleaved else None,
            )
        )
    return lists


def _events(rng: random.Random, lists: list[ServedList]) -> list[Event]:
    events = []
    for served in lists:
        for _ in range(rng.randint(0, 4)):
            kind = rng.choice(["impression", "click", "add_to_cart", "purchase", "view"])
            item = rng.choice(served.items) if rng.random() < 0.9 else "i99"
            named = rng.random() < 0.7
            delay = rng.randint(0, 90_000)
            events.append(
                Event(
                    user_id=served.user_id or "anon",
                    item_id=item,
                    type=kind,
                    value=rng.choice([None, 10.0, 2.5]) if kind == "purchase" else None,
                    timestamp=served.served_at + delay,
                    recommendation_id=served.recommendation_id if named else None,
                )
            )
    events.sort(key=lambda e: e.timestamp or 0)
    return events


def _recount(lists: list[ServedList], events: list[Event]) -> dict[Any, float]:
    """A plain recount: every list known, no caps."""
    counts: dict[Any, float] = defaultdict(float)
    by_id = {s.recommendation_id: s for s in lists}
    team_clicks: dict[str, dict[str, int]] = defaultdict(dict)

    def variant_at(served: ServedList, position: int) -> str:
        return served.teams[position] if served.teams else served.variant

    for served in lists:
        e = served.experiment or ""
        counts[(e, served.variant, served.surface, -1, "lists")] += 1
        for p in range(len(served.items)):
            counts[(e, variant_at(served, p), served.surface, p, "served")] += 1
    for event in events:
        if event.type not in ("impression", "click", "add_to_cart", "purchase"):
            continue
        found = None
        if event.recommendation_id is not None:
            found = by_id.get(event.recommendation_id)
        else:
            candidates = [
                s
                for s in lists
                if s.user_id == event.user_id
                and s.served_at <= (event.timestamp or 0) <= s.served_at + WINDOW_S * 1000
                and event.item_id in s.items
            ]
            found = max(candidates, key=lambda s: s.served_at) if candidates else None
        if found is None or event.item_id not in found.items:
            continue
        p = found.items.index(event.item_id)
        key = (found.experiment or "", variant_at(found, p), found.surface, p)
        if event.type == "purchase":
            counts[(*key, "conversions")] += 1
            counts[(*key, "revenue")] += event.value or 0.0
        else:
            counts[(*key, KINDS[event.type])] += 1
        if event.type == "click" and found.teams:
            clicks = team_clicks[found.recommendation_id]
            clicks[key[1]] = clicks.get(key[1], 0) + 1
    for rid, clicks in team_clicks.items():
        found = by_id[rid]
        best = max(clicks.values())
        leaders = [t for t, c in clicks.items() if c == best]
        outcome = "ties" if len(leaders) > 1 else f"wins:{leaders[0]}"
        counts[(found.experiment, "interleaved", found.surface, -1, outcome)] += 1
    return {k: v for k, v in counts.items() if v}


def _flat(store: MemoryAttribution) -> dict[Any, float]:
    flat = {}
    for experiment in ("e1", None):
        for key, row in store.tallies(experiment).counters.items():
            for counter, value in row.items():
                if value:
                    flat[(key.experiment, key.variant, key.surface, key.position, counter)] = value
    return flat


def _feed(
    store: MemoryAttribution, lists: list[ServedList], events: list[Event], rng: random.Random
) -> None:
    """Lists before the events that follow them, in random chunks, offsets as logged."""
    batch = EventBatch.from_events(events)
    batch = batch.with_positions(np.arange(len(batch)))
    cursor = served = 0
    while cursor < len(batch):
        end = min(len(batch), cursor + rng.randint(1, 25))
        horizon = int(batch.timestamp[end - 1])
        while served < len(lists) and lists[served].served_at <= horizon:
            store.apply_served([(served, lists[served])])
            served += 1
        store.apply_events(batch.take(slice(cursor, end)))
        cursor = end
    store.apply_served(list(enumerate(lists))[served:])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_incremental_counters_equal_a_recount(seed: int) -> None:
    rng = random.Random(seed)
    lists = _served(rng, 120)
    events = _events(rng, lists)
    settings = ExperimentSettings(attribution_window_s=WINDOW_S, lists_per_user=1000)
    store = MemoryAttribution(settings)
    _feed(store, lists, events, rng)
    assert _flat(store) == pytest.approx(_recount(lists, events))
    users = {s.user_id for s in lists if s.experiment == "e1" and s.variant == "a"}
    assert store.tallies("e1").users["a"] == len(users)


def test_replaying_applied_events_changes_nothing(tmp_path: Path) -> None:
    rng = random.Random(5)
    lists = _served(rng, 60)
    events = _events(rng, lists)
    store = MemoryAttribution(ExperimentSettings(attribution_window_s=WINDOW_S))
    _feed(store, lists, events, rng)
    before = _flat(store)
    store.save(tmp_path / "a.json")
    restored = MemoryAttribution.load(store.settings, tmp_path / "a.json")
    assert _flat(restored) == before
    _feed(restored, lists, events, rng)  # everything again, from offset 0
    assert _flat(restored) == before
    assert restored.positions() == {0: len(events)}
    assert restored.served_position() == len(lists)


def test_the_index_is_bounded_by_count_and_time() -> None:
    rng = random.Random(3)
    lists = _served(rng, 200)
    settings = ExperimentSettings(attribution_max_lists=50, served_retention_s=700.0)
    store = MemoryAttribution(settings)
    store.apply_served(list(enumerate(lists)))
    # 7 s apart: 700 s keeps the newest 101 by time, the count cap keeps 50
    assert store.indexed() == 50
    assert store.served(["r0", "r199"])[0] is None
    assert all(len(store.recent(f"u{u}")) <= settings.lists_per_user for u in range(15))
    narrow = MemoryAttribution(ExperimentSettings(served_retention_s=70.0))
    narrow.apply_served(list(enumerate(lists)))
    assert narrow.indexed() == 11
    # counters keep counting what the index forgot
    assert narrow.tallies("e1").variant("a").get("lists", 0) + narrow.tallies("e1").variant(
        "b"
    ).get("lists", 0) + narrow.tallies("e1").variant("interleaved").get("lists", 0) == sum(
        1 for s in lists if s.experiment == "e1"
    )


def test_an_event_after_the_window_or_without_its_item_is_not_credited() -> None:
    settings = ExperimentSettings(attribution_window_s=10.0)
    store = MemoryAttribution(settings)
    served = _served(random.Random(1), 1)[0]
    store.apply_served([(0, served)])
    item = served.items[0]
    late = served.served_at + 11_000
    events = [
        Event(user_id=served.user_id or "", item_id=item, type="click", timestamp=late),
        Event(user_id=served.user_id or "", item_id="zz", type="click", timestamp=late - 5_000),
        Event(user_id="x", item_id="zz", type="click", recommendation_id=served.recommendation_id),
    ]
    store.apply_events(EventBatch.from_events(events))
    counters = store.tallies(served.experiment).variant(served.variant)
    assert "clicks" not in counters
    assert counters["lists"] == 1
