"""Experiments run against a simulated population (:mod:`streamrec.experiments.simulator`).

- :class:`HttpShopper` drives a running API: it asks for each user's list, sends
  back an impression for every shown item and the clicks the click model draws,
  all with the list's ``recommendation_id``, and keeps count of what it sent;
- :func:`offline_comparison` runs an experiment with no server: each variant is a
  function from a user to a list, assignment is the real one and the statistics
  those of the report (fast enough for hundreds of A/A runs);
- :func:`offline_interleaving` does the same for team-draft interleaving;
- :func:`exploring_log` serves lists with randomized slots and logs propensities
  (the input of :mod:`streamrec.experiments.offpolicy`).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from streamrec.experiments.definition import Experiment, assign
from streamrec.experiments.interleaving import TIES, outcome_change, team_draft, wins_counter
from streamrec.experiments.offpolicy import LoggedList
from streamrec.experiments.simulator import Population
from streamrec.experiments.stats import UserMoments, binomial_p, difference_p, two_proportion_p

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
    """What a shopper sent back per variant: lists seen, impressions, clicks, users,
    and the items clicked in each list (by recommendation id)."""

    lists: dict[str, int] = field(default_factory=dict)
    impressions: dict[str, int] = field(default_factory=dict)
    clicks: dict[str, int] = field(default_factory=dict)
    variant_of: dict[str, str] = field(default_factory=dict)
    clicked: dict[str, list[str]] = field(default_factory=dict)

    def count(
        self, variant: str, user: str, impressions: int, clicked: list[str], rid: str
    ) -> None:
        """Count one list and its feedback."""
        self.lists[variant] = self.lists.get(variant, 0) + 1
        self.impressions[variant] = self.impressions.get(variant, 0) + impressions
        self.clicks[variant] = self.clicks.get(variant, 0) + len(clicked)
        self.variant_of[user] = variant
        self.clicked[rid] = clicked


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
        hits = _hits(items, clicked)
        events += [
            {"user_id": user_id, "item_id": item, "type": "click", "recommendation_id": rid}
            for item in hits
        ]
        if events:
            posted = self.client.post("/v1/events", json={"events": events}, params=self.applied)
            self._ok(posted)
        self.sent.count(body["variant"], user_id, len(items), hits, rid)
        return body

    @staticmethod
    def _ok(answer: Any) -> None:
        """Raise unless ``answer`` is a success."""
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
    users: Sequence[int] | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per variant, each of its users' clicks and impressions on one list (every
    shown item gets an impression; the click model draws the clicks); ``users``
    (indices, repeats allowed) default to the whole population."""
    outcomes: dict[str, tuple[list[int], list[int]]] = {}
    for user in range(len(population.user_ids)) if users is None else users:
        variant = assign(experiment, population.user_ids[user])
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
    users: Sequence[int] | None = None,
) -> tuple[float | None, float | None]:
    """The p-values of the second variant against the first (user-level, pooled)."""
    rng = np.random.default_rng(seed)
    outcomes = offline_outcomes(experiment, population, policies, rng, users)
    baseline, variant = (outcomes[v.name] for v in experiment.variants[:2])
    m0, m1 = moments(*baseline), moments(*variant)
    return difference_p(m1, m0), two_proportion_p(
        m1.clicks, m1.impressions, m0.clicks, m0.impressions
    )


@dataclass(frozen=True, slots=True)
class InterleavingOutcome:
    """Lists won by each team, ties, and the binomial p-value of ``b`` against ``a``."""

    wins_a: int
    wins_b: int
    ties: int
    p_value: float | None


def offline_interleaving(
    population: Population,
    a: Policy,
    b: Policy,
    users: Sequence[int],
    seed: int,
    k: int = 10,
) -> InterleavingOutcome:
    """Each of ``users`` shown the team-draft interleaving of ``a`` and ``b``; the
    click model's clicks counted into wins as the attribution store counts them."""
    rng = np.random.default_rng(seed)
    draft = random.Random(seed)
    outcome: dict[str, float] = {}
    for user in users:
        merged, teams = team_draft(a(user), b(user), ("a", "b"), k, draft)
        clicks: dict[str, int] = {}
        for team, hit in zip(teams, population.clicks(user, merged, rng).tolist(), strict=True):
            if hit:
                for counter, delta in outcome_change(clicks, team):
                    outcome[counter] = outcome.get(counter, 0.0) + delta
                clicks[team] = clicks.get(team, 0) + 1
    wins_a, wins_b = int(outcome.get(wins_counter("a"), 0)), int(outcome.get(wins_counter("b"), 0))
    return InterleavingOutcome(
        wins_a, wins_b, int(outcome.get(TIES, 0)), binomial_p(wins_b, wins_a + wins_b)
    )


def _hits(items: Sequence[str], clicked: np.ndarray) -> list[str]:
    return [item for item, hit in zip(items, clicked.tolist(), strict=True) if hit]


def exploring_log(
    population: Population,
    base: Policy,
    target: Policy,
    users: Sequence[int],
    epsilon: float,
    seed: int,
) -> list[LoggedList]:
    """Lists a logging policy served with exploration slots, and their clicks.

    Each slot shows ``base``'s item with probability ``1 - epsilon`` and otherwise
    an item drawn uniformly from the pool of both rankers' items for the user; the
    propensity of what it showed is logged (the target has support everywhere).
    """
    rng = np.random.default_rng(seed)
    logged = []
    for user in users:
        shown_base = list(base(user))
        pool = list(dict.fromkeys([*shown_base, *target(user)]))
        explore = rng.random(len(shown_base)) < epsilon
        picks = rng.integers(0, len(pool), len(shown_base))
        items = [pool[j] if e else b for b, e, j in zip(shown_base, explore, picks, strict=True)]
        propensities = tuple(
            (1 - epsilon) * (item == b) + epsilon / len(pool)
            for item, b in zip(items, shown_base, strict=True)
        )
        clicks = tuple(bool(c) for c in population.clicks(user, items, rng))
        logged.append(LoggedList(tuple(items), propensities, clicks))
    return logged
