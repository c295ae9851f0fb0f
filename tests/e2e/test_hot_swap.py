"""Training publishes models that a running server swaps in under load, failing nothing."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi.testclient import TestClient

from streamrec.cli import main
from streamrec.config import Settings
from streamrec.datasets import SyntheticShop
from streamrec.engine import Engine
from streamrec.serving.app import create_app
from tests.history import fill_history


def test_train_publish_and_hot_swap_under_concurrent_requests(tmp_path: Path) -> None:
    shop = SyntheticShop(n_users=300, n_items=120, n_categories=6, seed=3)
    fill_history(tmp_path, shop, 20_000, chunk_size=5_000)
    assert main(["train", "--data-dir", str(tmp_path)]) == 0
    settings = Settings(data_dir=tmp_path)
    statuses: list[int] = []
    versions: set[str | None] = set()
    stop = threading.Event()
    with TestClient(create_app(settings)) as client:
        engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
        assert engine.models is not None
        first = engine.models.version
        assert first is not None and client.get("/readyz").json()["model_version"] == first

        def hammer() -> None:
            while not stop.is_set():
                response = client.get("/v1/users/u1/recommendations?k=10")
                statuses.append(response.status_code)
                versions.add(response.json().get("model_version"))

        workers = [threading.Thread(target=hammer) for _ in range(4)]
        for worker in workers:
            worker.start()
        # forced: the same history again need not beat the served configuration
        assert main(["train", "--data-dir", str(tmp_path), "--force"]) == 0
        assert engine.models.refresh()  # the watcher would do this within its interval
        second = engine.models.version
        stop.set()
        for worker in workers:
            worker.join()
        body = client.get("/v1/users/u1/recommendations?k=10").json()
    assert second != first
    assert statuses and set(statuses) == {200}
    assert versions <= {first, second}
    assert body["model_version"] == second
    kinds = set(engine.models.bundle.manifest["kinds"])  # type: ignore[union-attr]
    assert any(kinds & set(item["sources"]) for item in body["items"])
