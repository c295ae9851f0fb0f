"""Acceptance: an A/B test of popularity against the hybrid over HTTP on the embedded
engine, with a simulated population sending impressions and clicks back by
recommendation_id; an A/A test on the same traffic; the false-positive rate of
200 simulated A/A tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from streamrec.config import Settings
from streamrec.events import now_ms
from streamrec.experiments.definition import Experiment, Variant
from streamrec.experiments.simulation import HttpShopper, offline_comparison
from streamrec.experiments.simulator import Population, PopulationSettings
from streamrec.serving.app import create_app

POPULARITY_ONLY = {"recommend": {"weight_collaborative": 0.0, "weight_content": 0.0}}
USERS = 600


def _report(client: TestClient, experiment_id: str) -> dict[str, Any]:
    answer = client.get(f"/v1/experiments/{experiment_id}/report")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def _check_counts(report: dict[str, Any], shopper: HttpShopper, shares: dict[str, float]) -> None:
    rows = {row["name"]: row for row in report["variants"]}
    sent = shopper.sent
    assert set(rows) == set(shares)
    total_users = len(sent.variant_of)
    for name, share in shares.items():
        row = rows[name]
        assert row["lists"] == sent.lists[name]
        assert row["impressions"] == sent.impressions[name]
        assert row["clicks"] == sent.clicks[name]
        assert row["ctr"] == row["clicks"] / row["impressions"]
        lo, hi = row["ctr_ci"]
        assert lo <= row["ctr"] <= hi
        users = sum(1 for v in sent.variant_of.values() if v == name)
        assert row["users"] == users
        assert abs(users / total_users - share) <= 0.05


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root: Path = tmp_path_factory.mktemp("acceptance")
    population = Population(11, PopulationSettings(users=USERS))
    with TestClient(create_app(Settings(data_dir=root))) as client:
        HttpShopper(client, population, seed=1).warm_up(now_ms() - 86_400_000)
        yield client, population


def test_hybrid_beats_popularity_significantly(shop: Any) -> None:
    client, population = shop
    body = {
        "variants": [
            {"name": "popularity", "traffic": 0.5, "settings": POPULARITY_ONLY},
            {"name": "hybrid", "traffic": 0.5},
        ],
        "salt": "ab-1",
    }
    assert client.put("/v1/experiments/ab", json=body).status_code == 200
    shopper = HttpShopper(client, population, seed=2)
    for user in range(USERS):
        shopper.visit(user)
    for user in range(0, USERS, 20):  # sticky: a second visit gets the same variant
        first = shopper.sent.variant_of[population.user_ids[user]]
        assert shopper.visit(user)["variant"] == first
    report = _report(client, "ab")
    _check_counts(report, shopper, {"popularity": 0.5, "hybrid": 0.5})
    (comparison,) = report["comparisons"]
    assert comparison["variant"] == "hybrid" and comparison["baseline"] == "popularity"
    assert comparison["significant"] and comparison["p_value"] < 0.01
    assert comparison["ctr_lift"] > 0 and comparison["ctr_lift_ci"][0] > 0
    assert comparison["sequential"]["significant"]
    guards = {row["name"]: row["guardrails"] for row in report["variants"]}
    assert guards["hybrid"]["coverage"] > guards["popularity"]["coverage"]
    assert guards["hybrid"]["novelty"] > guards["popularity"]["novelty"]
    for figures in guards.values():
        assert figures["p99_latency_ms"] > 0
        assert 0 <= figures["exposure_gini"] < 1
        assert 0 <= figures["intra_list_diversity"] <= 1
    stopped = {**body, "status": "stopped"}
    assert client.put("/v1/experiments/ab", json=stopped).status_code == 200


def test_an_aa_test_on_the_same_traffic_is_not_significant(shop: Any) -> None:
    client, population = shop
    body = {"variants": [{"name": "a", "traffic": 0.5}, {"name": "b", "traffic": 0.5}]}
    assert client.put("/v1/experiments/aa", json=body).status_code == 200
    shopper = HttpShopper(client, population, seed=3)
    for user in range(USERS):
        shopper.visit(user)
    report = _report(client, "aa")
    _check_counts(report, shopper, {"a": 0.5, "b": 0.5})
    (comparison,) = report["comparisons"]
    assert not comparison["significant"]
    assert not comparison["sequential"]["significant"]
    lo, hi = comparison["ctr_lift_ci"]
    assert lo < 0 < hi


def test_the_false_positive_rate_of_200_aa_tests_is_near_alpha() -> None:
    positives = 0
    for run in range(200):
        population = Population(run, PopulationSettings(users=600))
        popular = population.popular_list(10)
        same = {"a": lambda u, shown=popular: shown, "b": lambda u, shown=popular: shown}
        experiment = Experiment(
            experiment_id="aa",
            variants=[Variant(name="a", traffic=0.5), Variant(name="b", traffic=0.5)],
            salt=f"run-{run}",
            status="running",
            mode="ab",
            surface="recommendations",
            created_at=0,
        )
        p_value, _ = offline_comparison(experiment, population, same, run)
        assert p_value is not None
        positives += p_value < 0.05
    assert 0.02 <= positives / 200 <= 0.09


def test_an_interleaving_experiment_credits_each_team(shop: Any) -> None:
    client, population = shop
    body = {
        "variants": [
            {"name": "popularity", "traffic": 0.5, "settings": POPULARITY_ONLY},
            {"name": "hybrid", "traffic": 0.5},
        ],
        "mode": "interleaving",
    }
    for running in client.get("/v1/experiments").json()["experiments"]:
        if running["status"] == "running":
            stop = {k: running[k] for k in ("variants", "salt", "mode", "surface")}
            client.put(
                f"/v1/experiments/{running['experiment_id']}", json=stop | {"status": "stopped"}
            )
    assert client.put("/v1/experiments/il", json=body).status_code == 200
    shopper = HttpShopper(client, population, seed=4)
    for user in range(200):
        assert shopper.visit(user)["variant"] == "interleaved"
    report = _report(client, "il")
    # a recount from the served-list log and the clicks sent
    engine = client.app.state.engine  # type: ignore[attr-defined]
    wins = {"popularity": 0, "hybrid": 0}
    ties = 0
    for _, served in engine.attributor.served_log.read(0):
        if served.experiment != "il":
            continue
        assert served.teams is not None and len(served.teams) == len(served.items)
        clicked = shopper.sent.clicked[served.recommendation_id]
        per_team = {t: sum(served.teams[served.items.index(i)] == t for i in clicked) for t in wins}
        if per_team["popularity"] != per_team["hybrid"]:
            wins[max(per_team, key=per_team.__getitem__)] += 1
        elif clicked:
            ties += 1
    outcome = report["interleaving"]
    assert outcome["wins"] == wins and outcome["ties"] == ties and outcome["lists"] == 200
    assert outcome["winner"] == "hybrid" and outcome["significant"]
    rows = {row["name"]: row for row in report["variants"]}
    assert (
        rows["popularity"]["clicks"] + rows["hybrid"]["clicks"]
        == shopper.sent.clicks["interleaved"]
    )
