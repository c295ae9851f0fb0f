"""Damaged files at start: a corrupt snapshot is rebuilt from the log; a corrupt model
version leaves the previous one serving, with the error in ``/readyz``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from streamrec.bootstrap.adapters import models_directory, snapshot_path
from streamrec.cli import main
from streamrec.config import Settings
from streamrec.datasets import SyntheticShop
from streamrec.models.store import ModelStore
from streamrec.serving.app import create_app
from tests.history import fill_history


@contextmanager
def serving(data_dir: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=data_dir, state={"snapshot_every_events": 300})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def stats(client: TestClient) -> list[dict[str, Any]]:
    return [client.get(f"/v1/items/i{n}").json()["stats"] for n in range(23)]


def test_a_corrupt_snapshot_is_rebuilt_from_the_log(tmp_path: Path) -> None:
    with serving(tmp_path) as client:
        for n in range(10):
            events = [
                {"user_id": f"u{k % 17}", "item_id": f"i{k % 23}", "type": "view", "timestamp": k}
                for k in range(n * 100, n * 100 + 100)
            ]
            assert client.post("/v1/events?wait=true", json={"events": events}).status_code == 202
        before = stats(client)
        profile = client.get("/v1/users/u5/profile").json()
    snapshot = snapshot_path(tmp_path)
    data = bytearray(snapshot.read_bytes())
    data[len(data) // 3 : len(data) // 3 + 64] = b"\xff" * 64  # damage inside the archive
    snapshot.write_bytes(bytes(data[: len(data) * 2 // 3]))
    with serving(tmp_path) as client:
        assert client.get("/readyz").status_code == 200
        after = stats(client)
        assert [a["counts"] for a in after] == [b["counts"] for b in before]
        for a, b in zip(after, before, strict=True):  # other batch boundaries: last bits
            assert a["popularity"] == pytest.approx(b["popularity"], rel=1e-12)
        assert client.get("/v1/users/u5/profile").json() == profile
    assert snapshot.with_name(snapshot.name + ".corrupt").exists()


def test_a_corrupt_model_version_keeps_the_current_one(tmp_path: Path) -> None:
    shop = SyntheticShop(n_users=200, n_items=80, n_categories=4, seed=2)
    fill_history(tmp_path, shop, 8_000, chunk_size=4_000)
    assert main(["train", "--data-dir", str(tmp_path)]) == 0
    store = ModelStore(models_directory(tmp_path))
    good = store.latest_version()
    with serving(tmp_path) as client:
        engine = client.app.state.engine  # type: ignore[attr-defined]
        assert client.get("/readyz").json()["model_version"] == good
        assert main(["train", "--data-dir", str(tmp_path)]) == 0
        bad = store.latest_version()
        assert bad != good
        for artifact in (store.root / "versions" / str(bad)).rglob("*.npz"):
            artifact.write_bytes(b"not a model")
        assert not engine.models.refresh()  # what the watcher does every few seconds
        ready = client.get("/readyz")
        assert ready.status_code == 200
        body = ready.json()
        assert body["model_version"] == good
        assert str(bad) in body["model_error"]
        listed = client.get("/v1/users/u1/recommendations?k=5").json()
        assert listed["model_version"] == good
    with serving(tmp_path) as client:  # a restart serves the newest version that loads
        body = client.get("/readyz").json()
        assert body["model_version"] == good and str(bad) in body["model_error"]
