"""A seeded simulated population, the ground truth of experiment tests and the demo.

Items belong to one of ``categories`` categories and have Zipf popularity. Each
user has a hidden taste: a Dirichlet distribution over the categories,
concentrated on a few. A user's history is views drawn in proportion to
popularity times taste. Shown a list, the user examines position ``p`` with
probability ``(p + 1) ** -position_bias`` and, having examined item ``i``, clicks
it with the attraction ``min(0.95, base_attraction * categories * activity * taste[cat(i)])``
(the position-based click model), where ``activity`` is the user's lognormal
propensity to click at all (mean 1): a list of the user's favourite categories
out-clicks the popular items, users differ in how much they click, and the true
CTR of any list is known exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from streamrec.events import Event, EventType
from streamrec.state.base import CatalogItem


@dataclass(frozen=True, slots=True)
class PopulationSettings:
    """The shape of a simulated population."""

    users: int = 1000
    items: int = 300
    categories: int = 10
    zipf: float = 0.6
    taste_concentration: float = 0.1
    history: int = 20
    position_bias: float = 1.0
    base_attraction: float = 0.05
    activity_sigma: float = 1.0


class Population:
    """Users with hidden tastes over a Zipf catalog, and their click model."""

    def __init__(self, seed: int, settings: PopulationSettings | None = None) -> None:
        self.settings = s = settings or PopulationSettings()
        self.rng = np.random.default_rng(seed)
        self.item_ids = [f"item{i}" for i in range(s.items)]
        self.user_ids = [f"user{u}" for u in range(s.users)]
        self.category = self.rng.integers(0, s.categories, s.items)
        weights = 1.0 / np.arange(1, s.items + 1) ** s.zipf
        self.popularity = weights[self.rng.permutation(s.items)] / weights.sum()
        self.taste = self.rng.dirichlet(np.full(s.categories, s.taste_concentration), s.users)
        sigma = s.activity_sigma
        self.activity = np.exp(sigma * self.rng.standard_normal(s.users) - sigma * sigma / 2)
        self._index = {item: i for i, item in enumerate(self.item_ids)}

    def catalog(self) -> list[CatalogItem]:
        """Every item with its category."""
        return [
            CatalogItem(item_id=item, categories=[f"c{self.category[i]}"])
            for i, item in enumerate(self.item_ids)
        ]

    def history(self, start_ms: int) -> list[Event]:
        """Every user's past views, one second apart."""
        s = self.settings
        events: list[Event] = []
        for u, user in enumerate(self.user_ids):
            p = self.popularity * self.taste[u, self.category]
            items = self.rng.choice(s.items, size=s.history, replace=False, p=p / p.sum())
            events.extend(
                Event(
                    user_id=user,
                    item_id=self.item_ids[i],
                    type=EventType.VIEW,
                    timestamp=start_ms + (u * s.history + n) * 1000,
                )
                for n, i in enumerate(items.tolist())
            )
        return events

    def examination(self, k: int) -> np.ndarray:
        """The probability that each of ``k`` positions is looked at."""
        return 1.0 / (np.arange(1, k + 1) ** self.settings.position_bias)

    def attraction(self, user: int, items: Sequence[str]) -> np.ndarray:
        """The probability that ``user`` clicks each item once examined (0 if unknown)."""
        s = self.settings
        rows = np.array([self._index.get(i, -1) for i in items], dtype=np.int64)
        known = rows >= 0
        taste = np.where(known, self.taste[user, self.category[np.maximum(rows, 0)]], 0.0)
        return np.minimum(0.95, s.base_attraction * s.categories * self.activity[user] * taste)

    def click_probability(self, user: int, items: Sequence[str]) -> np.ndarray:
        """The probability of a click on each position of a list shown to ``user``."""
        return self.examination(len(items)) * self.attraction(user, items)

    def clicks(self, user: int, items: Sequence[str], rng: np.random.Generator) -> np.ndarray:
        """Which positions ``user`` clicks, drawn from the click model."""
        return rng.random(len(items)) < self.click_probability(user, items)

    def popular_list(self, k: int) -> list[str]:
        """The ``k`` most popular items."""
        return [self.item_ids[i] for i in np.argsort(-self.popularity)[:k].tolist()]

    def taste_list(self, user: int, k: int) -> list[str]:
        """The ``k`` items the user is most attracted to (popularity breaks ties)."""
        score = self.taste[user, self.category] + 1e-3 * self.popularity
        return [self.item_ids[i] for i in np.argsort(-score)[:k].tolist()]
