"""``streamrec evaluate --protocol off-policy`` on an embedded data directory whose
served lists carry propensities and whose clicks name them."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from streamrec.bootstrap import embedded_engine
from streamrec.cli import main
from streamrec.config import Settings
from streamrec.events import Event, EventBatch, now_ms
from streamrec.experiments.served import ServedList
from streamrec.experiments.simulation import exploring_log
from streamrec.experiments.simulator import Population, PopulationSettings

POPULARITY_ONLY = {"recommend": {"weight_collaborative": 0.0, "weight_content": 0.0}}


def _fill(data_dir: Path) -> int:
    """History, then explored popularity lists and their clicks; the clicks sent."""
    population = Population(2, PopulationSettings(users=300))
    engine = embedded_engine(Settings(data_dir=data_dir))
    try:
        engine.upsert_items(population.catalog())
        engine.ingest(EventBatch.from_events(population.history(now_ms() - 86_400_000)))
        popular = population.popular_list(10)
        users = list(range(300))
        logged = exploring_log(
            population, lambda u: popular, lambda u: population.taste_list(u, 10), users, 0.3, 1
        )
        assert engine.attributor is not None
        clicks = []
        for user, entry in zip(users, logged, strict=True):
            rid, user_id = uuid.uuid4().hex, population.user_ids[user]
            engine.attributor.served_log.append(
                ServedList(
                    rid,
                    user_id,
                    "recommendations",
                    None,
                    "default",
                    entry.items,
                    (0.0,) * 10,
                    entry.propensities,
                    None,
                    "h",
                    now_ms(),
                    1.0,
                )
            )
            clicks += [
                Event(user_id=user_id, item_id=item, type="click", recommendation_id=rid)
                for item, hit in zip(entry.items, entry.clicks, strict=True)
                if hit
            ]
        engine.ingest(EventBatch.from_events(clicks), wait=True)
        return len({(e.recommendation_id, e.item_id) for e in clicks})
    finally:
        engine.close()


def test_the_command_estimates_a_candidate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    sent = _fill(data_dir)
    argv = ["evaluate", "--dataset", str(data_dir), "--protocol", "off-policy"]
    argv += ["--out", str(tmp_path / "out"), "--params", json.dumps({})]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    result = json.loads((tmp_path / "out" / "offpolicy.json").read_text())
    assert result["lists"] == 300 and result["clicks"] == sent
    for name in ("ips", "snips", "dr"):
        estimate = result["estimates"][name]
        lo, hi = estimate["ci"]
        assert lo <= estimate["ctr"] <= hi and 0 <= estimate["ctr"] < 1
        assert name in printed


def test_the_command_needs_explored_lists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    embedded_engine(Settings(data_dir=tmp_path / "data")).close()
    argv = ["evaluate", "--dataset", str(tmp_path / "data"), "--protocol", "off-policy"]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    assert "propensities" in capsys.readouterr().err
    bad = [*argv, "--out", str(tmp_path / "out"), "--params", '{"recommend": {"nope": 1}}']
    assert main(bad) == 2
