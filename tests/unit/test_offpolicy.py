"""Off-policy estimates of a target ranker's CTR cover the simulator's true value."""

from __future__ import annotations

import numpy as np

from streamrec.experiments.offpolicy import LoggedList, doubly_robust, ips, snips
from streamrec.experiments.simulation import exploring_log
from streamrec.experiments.simulator import Population, PopulationSettings

K = 10


def test_intervals_cover_the_true_ctr_in_at_least_90_percent_of_50_seeds() -> None:
    covered = {"ips": 0, "snips": 0, "dr": 0}
    errors = []
    for seed in range(50):
        population = Population(seed, PopulationSettings(users=1500))
        popular = population.popular_list(K)
        users = list(range(1500))
        target = [population.taste_list(u, K) for u in users]
        logged = exploring_log(
            population, lambda u, shown=popular: shown, target.__getitem__, users, 0.3, seed
        )
        truth = float(np.mean([population.click_probability(u, target[u]).mean() for u in users]))
        estimates = {
            "ips": ips(logged, target, K),
            "snips": snips(logged, target, K),
            "dr": doubly_robust(logged, target, K),
        }
        for name, estimate in estimates.items():
            covered[name] += estimate.covers(truth)
        errors.append(abs(estimates["dr"].value - truth) / truth)
        logged_ctr = np.mean([np.mean(entry.clicks) for entry in logged])
        assert truth > 2 * logged_ctr  # the target is a different, better ranker
    assert covered["snips"] >= 45 and covered["dr"] >= 45, covered
    assert covered["ips"] >= 40, covered
    assert float(np.median(errors)) < 0.15


def test_a_target_that_is_the_logged_list_estimates_its_clicks() -> None:
    logged = [
        LoggedList(("a", "b"), (1.0, 1.0), (True, False)),
        LoggedList(("a", "c"), (1.0, 1.0), (False, False)),
        LoggedList(("b", "c"), (1.0, 1.0), (False, True)),
    ]
    target = [entry.items for entry in logged]
    for estimate in (ips(logged, target, 2), snips(logged, target, 2)):
        assert estimate.value == 2 / 6
    assert abs(doubly_robust(logged, target, 2).value - 2 / 6) < 1e-12
