"""Team-draft interleaving: the merge, incremental win counting, and that it decides
with a fifth of the users an A/B test needs, on the simulator."""

from __future__ import annotations

import random

import numpy as np

from streamrec.experiments.definition import Experiment, Variant
from streamrec.experiments.interleaving import TIES, outcome_change, team_draft, wins_counter
from streamrec.experiments.simulation import offline_comparison, offline_interleaving
from streamrec.experiments.simulator import Population, PopulationSettings


def test_team_draft_merges_fairly_without_duplicates() -> None:
    rng = random.Random(0)
    for _ in range(200):
        a = random.Random(rng.random()).sample(range(30), 10)
        b = random.Random(rng.random()).sample(range(30), 10)
        names = [f"i{x}" for x in a], [f"i{x}" for x in b]
        merged, teams = team_draft(*names, ("a", "b"), 10, rng)
        assert len(merged) == len(set(merged)) == 10
        assert abs(teams.count("a") - teams.count("b")) <= 1
        for team, source in zip(("a", "b"), names, strict=True):
            picked = [item for item, t in zip(merged, teams, strict=True) if t == team]
            assert all(item in source for item in picked)
            assert picked == sorted(picked, key=source.index)  # each team in its own order
    short, teams = team_draft(["x"], ["x", "y"], ("a", "b"), 5, rng)
    assert sorted(short) == ["x", "y"] and len(teams) == 2


def test_outcomes_counted_click_by_click_equal_a_recount() -> None:
    rng = random.Random(1)
    counted: dict[str, float] = {}
    expected: dict[str, float] = {}
    for _ in range(500):
        clicks: dict[str, int] = {}
        for team in rng.choices(["a", "b"], k=rng.randint(0, 5)):
            for name, delta in outcome_change(clicks, team):
                counted[name] = counted.get(name, 0.0) + delta
            clicks[team] = clicks.get(team, 0) + 1
        a, b = clicks.get("a", 0), clicks.get("b", 0)
        if a or b:
            final = TIES if a == b else wins_counter("a" if a > b else "b")
            expected[final] = expected.get(final, 0.0) + 1
    assert {k: v for k, v in counted.items() if v} == expected


def _power_ab(population: Population, a: list[list[str]], b: list[list[str]], users: int) -> float:
    decided = 0
    for rep in range(60):
        experiment = Experiment(
            experiment_id="ab",
            variants=[Variant(name="a", traffic=0.5), Variant(name="b", traffic=0.5)],
            salt=f"rep-{rep}",
            status="running",
            mode="ab",
            surface="recommendations",
            created_at=0,
        )
        sample = np.random.default_rng(rep).integers(0, len(a), users).tolist()
        policies = {"a": a.__getitem__, "b": b.__getitem__}
        p_value, _ = offline_comparison(experiment, population, policies, rep, sample)
        decided += p_value is not None and p_value < 0.05
    return decided / 60


def _power_interleaving(
    population: Population, a: list[list[str]], b: list[list[str]], users: int
) -> float:
    decided = 0
    for rep in range(60):
        sample = np.random.default_rng(rep).integers(0, len(a), users).tolist()
        outcome = offline_interleaving(population, a.__getitem__, b.__getitem__, sample, rep)
        decided += (
            outcome.p_value is not None
            and outcome.p_value < 0.05
            and outcome.wins_b > outcome.wins_a
        )
    return decided / 60


def test_interleaving_decides_with_a_fifth_of_the_users() -> None:
    """Users who differ widely in how much they click (lognormal activity, sigma 2);
    ranker ``b`` shows each user their favourite categories, ``a`` the same with three
    slots given to the most popular items. A/B needs 800 users to tell them apart
    (power >= 80%); interleaving tells them apart with 160, where A/B cannot."""
    population = Population(3, PopulationSettings(users=1000, activity_sigma=2.0))
    popular = population.popular_list(3)
    b = [population.taste_list(u, 10) for u in range(1000)]
    a = []
    for favourite in b:
        weaker = list(favourite)
        for slot, item in zip((0, 3, 6), popular, strict=True):
            if item not in weaker:
                weaker[slot] = item
        a.append(weaker)
    truth = [population.click_probability(u, a[u]).mean() for u in range(1000)]
    better = [population.click_probability(u, b[u]).mean() for u in range(1000)]
    assert np.mean(better) > np.mean(truth)
    assert _power_ab(population, a, b, 800) >= 0.8
    assert _power_interleaving(population, a, b, 160) >= 0.8
    assert _power_ab(population, a, b, 160) < 0.5
