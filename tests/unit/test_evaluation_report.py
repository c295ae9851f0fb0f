"""End to end on a small MovieLens-format dataset: reports, CLI, tuning, adapters."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from streamrec.config import Settings
from streamrec.datasets.movielens import load_movielens
from streamrec.errors import InvalidInput
from streamrec.evaluation.adapters import ModelAlgorithm
from streamrec.evaluation.algorithms import AlgorithmContext, AlgorithmSpec, build_algorithm
from streamrec.evaluation.cli import add_evaluate_parser
from streamrec.evaluation.report import run_evaluation
from streamrec.evaluation.splits import seed004_split
from streamrec.evaluation.tuning import candidates, nest, tune, validation_split
from streamrec.models.itemknn import ItemKNNModel
from streamrec.models.settings import ItemKNNSettings, ModelSettings
from tests.unit.test_evaluation_splits import batch

GENRES = ["Comedy", "Drama", "Horror", "Sci-Fi"]


@pytest.fixture(scope="module")
def movielens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 users with 60-80 half-star ratings each over 120 movies in 4 genres, interleaved."""
    folder = tmp_path_factory.mktemp("ml-tiny")
    rng = np.random.default_rng(11)
    lines = ["userId,movieId,rating,timestamp"]
    for user in range(1, 25):
        taste = user % 4
        weights = np.where(np.arange(120) % 4 == taste, 4.0, 1.0)
        movies = rng.choice(
            120, size=int(rng.integers(60, 81)), replace=False, p=weights / weights.sum()
        )
        for n, movie in enumerate(movies.tolist()):
            rating = 4.5 if movie % 4 == taste else float(rng.choice([1.0, 2.5, 3.0, 5.0]))
            lines.append(f"{user},{movie + 1},{rating},{1_000_000 + 100 * n + user}")
    (folder / "ratings.csv").write_text("\n".join(lines) + "\n")
    movies_csv = ["movieId,title,genres"]
    movies_csv += [f"{m + 1},Movie {m + 1},{GENRES[m % 4]}" for m in range(120)]
    (folder / "movies.csv").write_text("\n".join(movies_csv) + "\n")
    return folder


def test_seed004_report_is_written(movielens: Path, tmp_path: Path) -> None:
    report = run_evaluation(
        movielens, "seed-004", ["popularity", "cooccurrence", "itemknn"], tmp_path, progress=False
    )
    assert report.details["threshold"] == 3.5
    assert report.details["users_evaluated"] > 10
    names = [r.algorithm for r in report.holdout]
    assert names == ["popularity", "cooccurrence", "itemknn"]
    for path in report.files:
        assert path.exists() and path.stat().st_size > 0
    assert {p.suffix for p in report.files} == {".md", ".json", ".png"}
    markdown = (tmp_path / "report.md").read_text()
    assert "| cooccurrence |" in markdown and "metrics_at_k.png" in markdown
    assert "## 95% intervals over users" in markdown
    stored = json.loads((tmp_path / "results.json").read_text())
    assert (
        stored["holdout"][0]["metrics"]["precision@10"] == report.holdout[0].metrics["precision@10"]
    )
    # Users like one genre: the personalized baselines beat popularity.
    by_name = {r.algorithm: r.metrics["ndcg@10"] for r in report.holdout}
    assert by_name["cooccurrence"] > by_name["popularity"]


def test_prequential_report_through_the_cli(
    movielens: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="streamrec")
    add_evaluate_parser(parser.add_subparsers())
    args = parser.parse_args(
        [
            "evaluate",
            "--dataset",
            str(movielens),
            "--protocol",
            "prequential",
            "--algorithms",
            "popularity,cooccurrence",
            "--out",
            str(tmp_path),
            "--sample-size",
            "100",
            "--no-progress",
        ]
    )
    assert args.handler(args) == 0
    printed = capsys.readouterr().out
    assert "| cooccurrence | streaming |" in printed
    stored = json.loads((tmp_path / "results.json").read_text())
    assert [(r["algorithm"], r["mode"]) for r in stored["prequential"]][:3] == [
        ("popularity", "streaming"),
        ("popularity", "frozen"),
        ("popularity", "periodic"),
    ]
    assert all(r["queries"] == 100 for r in stored["prequential"])
    assert (tmp_path / "prequential_hit_rate.png").stat().st_size > 0


def test_cli_refuses_unknown_algorithms(
    movielens: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="streamrec")
    add_evaluate_parser(parser.add_subparsers())
    args = parser.parse_args(
        ["evaluate", "--dataset", str(movielens), "--algorithms", "oracle", "--out", str(tmp_path)]
    )
    assert args.handler(args) == 2
    assert "oracle" in capsys.readouterr().err


def test_cli_evaluates_labelled_configurations(movielens: Path, tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="streamrec")
    add_evaluate_parser(parser.add_subparsers())
    params = '{"streamrec:popular": {"recommend": {"weight_collaborative": 0.0}}}'
    entries = "streamrec,streamrec:popular"
    out = tmp_path / "out"
    args = parser.parse_args(
        [
            "evaluate",
            "--dataset",
            str(movielens),
            "--algorithms",
            entries,
            "--params",
            params,
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert args.handler(args) == 0
    stored = json.loads((out / "results.json").read_text())
    results = {r["algorithm"]: r["metrics"]["ndcg@10"] for r in stored["holdout"]}
    assert list(results) == ["streamrec", "streamrec:popular"]
    assert results["streamrec"] != results["streamrec:popular"]


def test_tuning_never_sees_the_test_split(movielens: Path) -> None:
    split = seed004_split(load_movielens(movielens).events)
    validation = validation_split(split)
    train_pairs = set(zip(split.train.user_id, split.train.item_id, strict=True))
    assert set(zip(validation.train.user_id, validation.train.item_id, strict=True)) < train_pairs
    for user, relevant in zip(validation.users, validation.relevant, strict=True):
        assert {(user, item) for item in relevant} <= train_pairs
    context = AlgorithmContext(split.threshold)
    result = tune(split, "itemknn", context, {"neighbors": [5, 50], "shrink": [0.0, 10.0]})
    assert len(result.table) == 4
    assert result.best_score == max(m["ndcg@10"] for _, m in result.table)
    assert result.markdown().count("\n") == 5


def _evaluate_args(movielens: Path, out: Path, *options: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="streamrec")
    add_evaluate_parser(parser.add_subparsers())
    return parser.parse_args(
        ["evaluate", "--dataset", str(movielens), "--out", str(out), "--no-progress", *options]
    )


def test_evaluate_tunes_on_validation_then_tests_the_choice(
    movielens: Path, tmp_path: Path
) -> None:
    space = {"itemknn": {"neighbors": [2, 50], "shrink": [0.0, 10.0]}}
    args = _evaluate_args(
        movielens,
        tmp_path,
        "--algorithms",
        "popularity,itemknn",
        "--params",
        '{"itemknn": {"confidence": "binary"}}',
        "--tune",
        json.dumps(space),
        "--objective",
        "precision@10",
    )
    assert args.handler(args) == 0
    stored = json.loads((tmp_path / "results.json").read_text())
    (tuning,) = stored["tuning"]
    assert tuning["algorithm"] == "itemknn" and tuning["trials"] == 4
    assert tuning["objective"] == "precision@10"
    best = tuning["best_params"]
    # The search ran on the validation split with the base parameters under every trial...
    split = seed004_split(load_movielens(movielens).events)
    context = AlgorithmContext(split.threshold)
    again = tune(
        split,
        "itemknn",
        context,
        space["itemknn"],
        objective="precision@10",
        base={"confidence": "binary"},
    )
    assert (again.best_params, again.best_score) == (best, tuning["best_score"])
    # ... and the test run used the chosen values over the base parameters.
    chosen = run_evaluation(
        movielens,
        "seed-004",
        [AlgorithmSpec("itemknn", {"confidence": "binary", **best})],
        tmp_path / "direct",
        progress=False,
    )
    tested = {r["algorithm"]: r["metrics"] for r in stored["holdout"]}["itemknn"]
    assert tested == pytest.approx(chosen.holdout[0].metrics)
    markdown = (tmp_path / "report.md").read_text()
    assert "## Tuning itemknn on the validation split" in markdown
    assert "--tune" in markdown


def test_evaluate_lists_every_problem_of_a_search_space(
    movielens: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    space = '{"itemknn": {"neighbors": [], "shrink": 3}, "ease": {}}'
    args = _evaluate_args(movielens, tmp_path, "--algorithms", "itemknn,ease", "--tune", space)
    assert args.handler(args) == 2
    error = capsys.readouterr().err
    assert "itemknn.neighbors" in error and "itemknn.shrink" in error and "ease" in error
    args = _evaluate_args(
        movielens,
        tmp_path,
        "--protocol",
        "prequential",
        "--algorithms",
        "itemknn",
        "--tune",
        '{"itemknn": {"neighbors": [5]}}',
    )
    assert args.handler(args) == 2
    assert "holdout protocol" in capsys.readouterr().err
    assert not (tmp_path / "report.md").exists()


def test_candidates_are_seeded_and_nest_dotted_keys() -> None:
    space: dict[str, list[float]] = {"a": [1, 2, 3], "b": [0.1, 0.2]}
    assert len(candidates(space)) == 6
    assert candidates(space, 3, seed=4) == candidates(space, 3, seed=4)
    assert len(candidates(space, 3, seed=4)) == 3
    assert nest({"recommend.seed_items": 5, "l2": 1.0}) == {
        "recommend": {"seed_items": 5},
        "l2": 1.0,
    }


@pytest.mark.parametrize("name", ["cooccurrence", "itemknn", "ease", "als", "streamrec"])
def test_adapters_respect_exclusions_and_learn(movielens: Path, name: str) -> None:
    dataset = load_movielens(movielens)
    split = seed004_split(dataset.events)
    spec = AlgorithmSpec(name, {"factors": 8, "iterations": 3} if name == "als" else {})
    algorithm = build_algorithm(spec.name, AlgorithmContext(3.5, dataset.catalog), spec.params)
    algorithm.fit(split.train)
    users = split.users[:5]
    lists = algorithm.recommend(users, 10, split.exclude[:5])
    for items, banned in zip(lists, split.exclude[:5], strict=True):
        assert 0 < len(items) <= 10 and len(set(items)) == len(items)
        assert not set(items) & banned
    # A newcomer rates five genre-1 movies (ids 2, 6, 10, ...): learning them is
    # enough for genre-1 movies to dominate their list, with no refit.
    liked = [str(m) for m in range(2, 21, 4)]
    start = int(split.train.timestamp.max()) + 1
    algorithm.learn(batch([("newcomer", m, "rating", 5.0, start + i) for i, m in enumerate(liked)]))
    items = algorithm.recommend(["newcomer"], 10, [set(liked)])[0]
    assert len(items) == 10
    assert sum(int(m) % 4 == 2 for m in items) >= 7


def test_model_parameters_default_to_the_settings_and_are_validated() -> None:
    settings = Settings(models=ModelSettings(itemknn=ItemKNNSettings(neighbors=7)))
    algorithm = build_algorithm("itemknn", AlgorithmContext(settings=settings), {"shrink": 2.0})
    assert isinstance(algorithm, ModelAlgorithm)
    model = algorithm.make_model()
    assert isinstance(model, ItemKNNModel)
    assert (model.neighbors, model.shrink) == (7, 2.0)
    bad: list[tuple[str, dict[str, float]]] = [("ease", {"l2": -1.0}), ("itemknn", {"nope": 1})]
    for name, params in [*bad, ("oracle", {})]:
        with pytest.raises(InvalidInput):
            build_algorithm(name, AlgorithmContext(), params)
    with pytest.raises(InvalidInput):
        build_algorithm("streamrec", AlgorithmContext(), {"recommend": {"max_k": 0}})
