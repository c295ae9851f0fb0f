"""Experiments run against a simulated population (:mod:`streamrec.experiments.simulator`).

- :class:`HttpShopper` drives a running API: it asks for each user's list, sends
  back an impression for every shown item and the clicks the click model draws,
  all with the list's ``recommendation_id``, and keeps count of what it sent;
- :func:`offline_comparison` runs an experiment with no server: each variant is a
  function from a user to a list, assignment is the real one and the statistics
  those of the report (fast enough for hundreds of A/A runs).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from streamrec.experiments.definition import Experiment, assign
from streamrec.experiments.simulator import Population
from streamrec.experiments.stats import UserMoments, difference_p, two_proportion_p

#: A variant's list for a user (by index into the population).
Policy = Callable[[int], Sequence[str]]


class JsonClient(Protocol):
    """The part of an ``httpx.Client`` (or a FastAPI ``TestClient``) the shopper uses."""

    def get(self, url: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``url``."""
        ...

    def post(self, url: str, *, json: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        """POST ``url``."""
        ...


@dataclass
class Sent:
    """What a shopper sent back per variant: lists seen, impressions, clicks, users."""

    lists: dict[str, int] = field(default_factory=dict)
    impressions: dict[str, int] = field(default_factory=dict)
    clicks: dict[str, int] = field(default_factory=dict)
    variant_of: dict[str, str] = field(default_factory=dict)

    def count(self, variant: str, user: str, impressions: int, clicks: int) -> None:
        """Count one list and its feedback."""
        self.lists[variant] = self.lists.get(variant, 0) + 1
        self.impressions[variant] = self.impressions.get(variant, 0) + impressions
        self.clicks[variant] = self.clicks.get(variant, 0) + clicks
        self.variant_of[user] = variant


class HttpShopper:
    """Simulated users shopping over the HTTP API."""

    def __init__(self, client: JsonClient, population: Population, seed: int) -> None:
        self.client = client
        self.population = population
        self.rng = np.random.default_rng(seed)
        self.sent = Sent()
        #: Feedback is posted with ``wait=true``: applied when ``visit`` returns.
        self.applied = {"wait": "true"}

    def warm_up(self, start_ms: int, batch: int = 5000) -> None:
        """Load the catalog and every user's history, applied before returning."""
        items = [dataclasses.asdict(item) for item in self.population.catalog()]
        for start in range(0, len(items), 1000):
            self._ok(self.client.post("/v1/items", json={"items": items[start : start + 1000]}))
        events = [e.model_dump(exclude_none=True) for e in self.population.history(start_ms)]
        for start in range(0, len(events), batch):
            chunk = {"events": events[start : start + batch]}
            self._ok(self.client.post("/v1/events", json=chunk, params={"wait": "true"}))

    def visit(self, user: int, k: int = 10) -> dict[str, Any]:
        """One user asks for a list and reacts to it (the feedback applied before it
        returns); returns the response body."""
        user_id = self.population.user_ids[user]
        answer = self.client.get(f"/v1/users/{user_id}/recommendations", params={"k": k})
        self._ok(answer)
        body: dict[str, Any] = answer.json()
        items = [i["item_id"] for i in body["items"]]
        clicked = self.population.clicks(user, items, self.rng)
        rid = body["recommendation_id"]
        events = [
            {"user_id": user_id, "item_id": item, "type": "impression", "recommendation_id": rid}
            for item in items
        ]
        events += [
            {"user_id": user_id, "item_id": item, "type": "click", "recommendation_id": rid}
            for item, hit in zip(items, clicked.tolist(), strict=True)
            if hit
        ]
        if events:
            posted = self.client.post("/v1/events", json={"events": events}, params=self.applied)
            self._ok(posted)
        self.sent.count(body["variant"], user_id, len(items), int(clicked.sum()))
        return body

    @staticmethod
    def _ok(answer: Any) -> None:
        if answer.status_code >= 400:
            raise RuntimeError(f"the API answered {answer.status_code}: {answer.text}")


def moments(clicks: np.ndarray, impressions: np.ndarray) -> UserMoments:
    """The per-user moments of users' click and impression counts."""
    c, n = clicks.astype(np.float64), impressions.astype(np.float64)
    return UserMoments(
        float(len(c)),
        float(c.sum()),
        float(n.sum()),
        float((c * c).sum()),
        float((n * n).sum()),
        float((c * n).sum()),
    )


def offline_outcomes(
    experiment: Experiment,
    population: Population,
    policies: Mapping[str, Policy],
    rng: np.random.Generator,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per variant, each of its users' clicks and impressions on one list (every
    shown item gets an impression; the click model draws the clicks)."""
    outcomes: dict[str, tuple[list[int], list[int]]] = {}
    for user, user_id in enumerate(population.user_ids):
        variant = assign(experiment, user_id)
        if variant is None:
            continue
        items = policies[variant](user)
        clicks, shown = outcomes.setdefault(variant, ([], []))
        clicks.append(int(population.clicks(user, items, rng).sum()))
        shown.append(len(items))
    return {v: (np.array(c), np.array(n)) for v, (c, n) in outcomes.items()}


def offline_comparison(
    experiment: Experiment,
    population: Population,
    policies: Mapping[str, Policy],
    seed: int,
) -> tuple[float | None, float | None]:
    """The p-values of the second variant against the first (user-level, pooled)."""
    outcomes = offline_outcomes(experiment, population, policies, np.random.default_rng(seed))
    baseline, variant = (outcomes[v.name] for v in experiment.variants[:2])
    m0, m1 = moments(*baseline), moments(*variant)
    return difference_p(m1, m0), two_proportion_p(
        m1.clicks, m1.impressions, m0.clicks, m0.impressions
    )
