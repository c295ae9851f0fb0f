"""``streamrec models list`` shows every version with its validation metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamrec.cli import main
from streamrec.datasets import SyntheticShop
from streamrec.models.settings import ModelSettings
from streamrec.models.store import ModelStore
from streamrec.models.trainer import train_models


def test_models_list_shows_versions_and_validation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = SyntheticShop(n_users=40, n_items=30, n_categories=3, seed=2)
    events = next(shop.events(1_000, chunk_size=1_000))
    bundle = train_models([events], [], ModelSettings(kinds=("itemknn",)))
    store = ModelStore(tmp_path / "models")
    old = store.publish(bundle)
    validation = {"metrics": {"ndcg@10": 0.21234}, "popularity": {"ndcg@10": 0.1}}
    new = store.publish(bundle, {"validation": validation})
    assert main(["models", "list", "--data-dir", str(tmp_path)]) == 0
    header, first, second = capsys.readouterr().out.strip().splitlines()
    assert header.split()[:4] == ["version", "latest", "kinds", "events"]
    assert first.split() == [old, "itemknn", "1000", "-", "-"]
    assert second.split() == [new, "*", "itemknn", "1000", "0.2123", "0.1000"]


def test_models_list_of_an_empty_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.split() == ["version", "latest", "kinds", "events"] + [
        "validation",
        "ndcg@10",
        "popularity",
        "ndcg@10",
    ]
