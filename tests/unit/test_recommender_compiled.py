"""The compiled recommendation path gives the reference's lists, scores and reasons.

Each case draws a random world: a catalog with multi-category items, missing entries,
titles and availability; events of every type (ratings with values, dislikes, carts,
sessions) in a few batches with catalog changes between them; random settings (seed
counts, pool sizes, weights of 0, small caps so rows prune and rings wrap); and, in
most cases, a model bundle trained on the events. Then it asks both implementations
random requests (context items, categories, exclusions, known and unknown ids) and
compares every returned item.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pytest

from streamrec.config import Settings
from streamrec.errors import InvalidInput
from streamrec.events import EVENT_TYPES, EventBatch, EventType
from streamrec.models.bundle import ModelBundle
from streamrec.models.settings import ModelSettings
from streamrec.models.trainer import train_models
from streamrec.recommend.candidates import CandidateSet, Seeds, cooccurrence_column
from streamrec.recommend.model_sources import FixedModels, model_sources
from streamrec.recommend.recommender import Recommender
from streamrec.recommend.stages import Shortlist
from streamrec.recommend.types import Recommendation
from streamrec.state.base import CatalogItem, Ranking
from streamrec.state.memory import MemoryState
from tests.reference_recommender import ReferenceRecommender, reference_sources

BASE_MS = 1_700_000_000_000
MODEL_KINDS = ("itemknn", "ease", "content", "als")


@dataclass
class World:
    state: MemoryState
    settings: Settings
    users: list[str]
    items: list[str]
    categories: list[str]
    bundle: ModelBundle | None


def random_catalog(
    rng: np.random.Generator, items: list[str], categories: list[str]
) -> list[CatalogItem]:
    entries = []
    for item in items:
        if rng.random() < 0.1:
            continue  # an item the catalog never hears of
        picked = rng.choice(len(categories), size=int(rng.integers(0, 4)), replace=True)
        entries.append(
            CatalogItem(
                item_id=item,
                title=None if rng.random() < 0.3 else f"Title of {item}",
                categories=[categories[c] for c in picked],
                available=bool(rng.random() > 0.2),
            )
        )
    return entries


def random_events(
    rng: np.random.Generator, users: list[str], items: list[str], n: int, start_ms: int
) -> EventBatch:
    popularity = 1.0 / np.arange(1, len(items) + 1) ** rng.uniform(0.3, 1.5)
    types = rng.integers(len(EVENT_TYPES), size=n)
    rated = (types == EVENT_TYPES.index(EventType.RATING)) & (rng.random(n) < 0.9)
    values = np.where(rated, rng.integers(1, 11, size=n) / 2, np.nan)
    gaps = rng.choice([1_000, 60_000, 3_600_000], size=n, p=[0.7, 0.2, 0.1])
    sessions = np.where(rng.random(n) < 0.3, np.arange(n) // 7, -1)
    return EventBatch.from_columns(
        {
            "user_id": [users[u] for u in rng.integers(len(users), size=n).tolist()],
            "item_id": [
                items[i] for i in rng.choice(len(items), size=n, p=popularity / popularity.sum())
            ],
            "type": types,
            "value": values,
            "timestamp": start_ms + np.cumsum(gaps),
            "session_id": [f"s{k}" if k >= 0 else None for k in sessions.tolist()],
        }
    )


def random_settings(rng: np.random.Generator) -> Settings:
    weights = {
        "weight_collaborative": float(rng.choice([0.0, 0.6, rng.uniform(0, 2)])),
        "weight_content": float(rng.choice([0.0, 0.3, rng.uniform(0, 2)])),
        "weight_popularity": float(rng.choice([0.0, 0.1, rng.uniform(0, 2)])),
    }
    overrides = {
        name: float(rng.choice([0.0, rng.uniform(0, 2)]))
        for name in ("cooccurrence", "popularity", *MODEL_KINDS)
        if rng.random() < 0.2
    }
    return Settings(
        recommend={
            **weights,
            "source_weights": overrides,
            "seed_items": int(rng.integers(1, 25)),
            "candidates_per_source": int(rng.choice([5, 30, 200])),
            "session_category_boost": float(rng.choice([0.0, 0.2, rng.uniform(0, 1)])),
            "recency_half_life_items": float(rng.uniform(0.5, 20)),
        },
        profile={
            "recent_items": int(rng.integers(3, 60)),
            "seen_items": int(rng.integers(0, 70)),
            "negative_items": int(rng.integers(0, 10)),
            "cart_items": int(rng.integers(0, 6)),
        },
        cooccurrence={
            "window": int(rng.integers(1, 60)),
            "max_neighbors": int(rng.integers(2, 60)),
            "popularity_damping": float(rng.choice([0.0, 0.5, rng.uniform(0, 1)])),
        },
    )


def random_world(seed: int) -> World:
    rng = np.random.default_rng(seed)
    settings = random_settings(rng)
    items = [f"i{n}" for n in range(int(rng.integers(3, 150)))]
    users = [f"u{n}" for n in range(int(rng.integers(1, 30)))]
    categories = [f"c{n}" for n in range(int(rng.integers(1, 7)))]
    state = MemoryState(settings)
    catalog = random_catalog(rng, items, categories)
    state.upsert(catalog)
    batches = []
    clock = BASE_MS
    for _ in range(int(rng.integers(1, 5))):
        batch = random_events(rng, users, items, int(rng.integers(1, 600)), clock)
        clock = int(batch.timestamp.max())
        state.apply(batch)
        batches.append(batch)
        if rng.random() < 0.5:  # availability and categories move between batches
            state.upsert(random_catalog(rng, list(rng.choice(items, size=5)), categories))
    bundle = None
    if rng.random() < 0.75:
        kinds = [k for k in MODEL_KINDS if rng.random() < 0.5] or ["content"]
        models = ModelSettings(
            als={"factors": 4, "iterations": 2}, itemknn={"neighbors": int(rng.integers(1, 30))}
        )
        try:
            bundle = train_models(batches, catalog, models, kinds, weights=settings.weights)
        except InvalidInput:  # no event of positive weight: nothing to train on
            bundle = None
    return World(state, settings, users, items, categories, bundle)


@functools.cache
def shared_world(seed: int) -> World:
    """A world that tests only read."""
    return random_world(seed)


def recommenders(world: World) -> tuple[Recommender, ReferenceRecommender]:
    state, settings = world.state, world.settings
    if world.bundle is None:
        return Recommender(state, state, settings.recommend), ReferenceRecommender(
            state, state, settings.recommend
        )
    models = FixedModels(world.bundle)
    compiled = Recommender(
        state, state, settings.recommend, sources=lambda: model_sources(models, settings.weights)
    )
    reference = ReferenceRecommender(
        state,
        state,
        settings.recommend,
        sources=lambda: reference_sources(models, settings.weights),
    )
    return compiled, reference


def assert_same(found: Recommendation, expected: Recommendation, what: str) -> None:
    assert [i.item_id for i in found.items] == [i.item_id for i in expected.items], what
    for got, want in zip(found.items, expected.items, strict=True):
        assert got.score == pytest.approx(want.score, abs=1e-6), what
        assert got.reasons == want.reasons, what
        assert list(got.sources) == list(want.sources), what
        for name, share in want.sources.items():
            assert got.sources[name] == pytest.approx(share, abs=1e-6), what
    assert found.user_id == expected.user_id


def pick(rng: np.random.Generator, choices: list[str], unknown: str) -> str:
    return unknown if rng.random() < 0.15 else choices[int(rng.integers(len(choices)))]


@pytest.mark.parametrize("seed", range(40))
def test_compiled_lists_equal_the_reference(seed: int) -> None:
    world = shared_world(seed)
    compiled, reference = recommenders(world)
    rng = np.random.default_rng(1_000 + seed)
    for user in [*world.users, "never-seen"]:
        for _ in range(2):
            exclude = [pick(rng, world.items, "gone") for _ in range(rng.integers(0, 6))]
            if rng.random() < 0.2:  # names the state never saw widen the ranked cut
                exclude += [f"gone-{n}" for n in range(rng.integers(1, 60))]
            options = {
                "exclude": exclude,
                "exclude_seen": bool(rng.random() < 0.8),
                "category": pick(rng, world.categories, "no-such") if rng.random() < 0.3 else None,
                "context_item": pick(rng, world.items, "elsewhere") if rng.random() < 0.3 else None,
            }
            k = int(rng.integers(1, 16))
            what = f"seed {seed}, user {user}, k {k}, {options}"
            expected = reference.recommend(user, k, **options)  # type: ignore[arg-type]
            assert_same(compiled.recommend(user, k, **options), expected, what)  # type: ignore[arg-type]
    for item in [*world.items[:20], "never-seen"]:
        k = int(rng.integers(1, 16))
        assert_same(compiled.similar(item, k), reference.similar(item, k), f"similar {item}")
    for ranking in Ranking:
        category = pick(rng, world.categories, "no-such") if rng.random() < 0.5 else None
        assert_same(
            compiled.ranked(ranking, 10, category),
            reference.ranked(ranking, 10, category),
            f"{ranking} {category}",
        )


def test_the_worlds_exercise_every_part() -> None:
    """The random worlds above reach models, sessions, categories and seeds."""
    reasons: set[str] = set()
    sources: set[str] = set()
    for seed in range(40):
        world = shared_world(seed)
        compiled, _ = recommenders(world)
        for user in world.users:
            for item in compiled.recommend(user, 10).items:
                reasons.add(item.reasons[0].split(" ")[0])
                sources.update(item.sources)
    assert {"because", "popular", "matches", "similar"} <= reasons
    assert {"cooccurrence", "popularity", "session", *MODEL_KINDS} <= sources


def test_a_model_item_the_state_never_saw_is_no_candidate() -> None:
    world = random_world(3)
    assert world.bundle is not None
    world.bundle.items.intern("only-in-the-model")
    compiled, _ = recommenders(world)
    for user in world.users:
        assert "only-in-the-model" not in [i.item_id for i in compiled.recommend(user, 50).items]


class Pin:
    """Moves one item's row to the front when it is a candidate (a business rule)."""

    name = "pinned"

    def __init__(self, item: int) -> None:
        self.item = item

    def __call__(self, shortlist: Shortlist) -> np.ndarray:
        row = np.flatnonzero(shortlist.scored.candidates.ids == self.item)
        return np.concatenate([row, shortlist.rows[~np.isin(shortlist.rows, row)]])


def test_a_stage_added_to_the_list_shapes_every_list() -> None:
    """Post-processing is a list of stages: a pin rule is one more entry."""
    world = random_world(5)
    compiled, _ = recommenders(world)
    user = world.users[0]
    before = [i.item_id for i in compiled.recommend(user, 10).items]
    assert len(before) == 10
    pinned = before[6]
    (row,) = world.state.item_ids([pinned]).tolist()
    ranked = [stage.name for stage in compiled.stages].index("ranked")
    compiled.stages.insert(ranked + 1, Pin(row))
    after = [i.item_id for i in compiled.recommend(user, 10).items]
    assert after == [pinned, *[i for i in before if i != pinned]]


def test_cooccurrence_sums_over_seeds_and_credits_the_first_of_tied_seeds() -> None:
    seeds = Seeds(np.array([7, 8, 9]), np.array([1.0, 1.0, 0.5]), ["a ", "b ", "c "], [None] * 3)
    rows = [
        (np.array([1, 2]), np.array([0.5, 0.25])),
        (np.array([2, 1]), np.array([0.5, 0.5])),
        (np.array([3]), np.array([2.0])),
    ]
    found = CandidateSet.gather([cooccurrence_column("cooccurrence", 1.0, seeds, rows)])
    assert found.ids.tolist() == [1, 2, 3]
    assert found.raw[:, 0].tolist() == [1.0, 0.75, 1.0]
    assert found.seeds[:, 0].tolist() == [0, 1, 2]
