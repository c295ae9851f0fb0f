"""An item written to the catalog has content neighbours at once, with no events and
no retraining, and keeps them when a newer model version is swapped in."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from streamrec.cli import main
from streamrec.config import Settings
from streamrec.datasets import SyntheticShop
from streamrec.engine import Engine
from streamrec.serving.app import create_app
from tests.history import fill_history


def _similar(client: TestClient, item_id: str) -> dict[str, dict[str, float]]:
    response = client.get(f"/v1/items/{item_id}/similar?k=200")
    assert response.status_code == 200
    return {item["item_id"]: item["sources"] for item in response.json()["items"]}


def test_a_new_item_without_events_is_similar_to_an_item_of_its_category(
    tmp_path: Path,
) -> None:
    shop = SyntheticShop(n_users=200, n_items=80, n_categories=4, seed=5)
    fill_history(tmp_path, shop, 8_000, chunk_size=4_000)
    assert main(["train", "--data-dir", str(tmp_path)]) == 0
    neighbour = next(item for item in shop.catalog() if item.categories)
    category = neighbour.categories[0]
    new_item = {"title": "brand new arrival", "categories": [category], "tags": neighbour.tags}
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
        assert engine.models is not None and engine.models.version is not None
        assert "fresh-1" not in _similar(client, neighbour.item_id)

        assert client.put("/v1/items/fresh-1", json=new_item).status_code == 200
        found = _similar(client, neighbour.item_id)
        assert "fresh-1" in found and found["fresh-1"].get("content", 0) > 0
        own = _similar(client, "fresh-1")  # the other models do not know it: no error
        assert own and all("content" in sources for sources in own.values())

        assert client.post("/v1/items", json={"items": [{"item_id": "fresh-2", **new_item}]})
        assert "fresh-2" in _similar(client, neighbour.item_id)

        # a version trained before the write still learns the item when swapped in
        published = engine.models.store.latest_version()
        assert main(["train", "--data-dir", str(tmp_path)]) == 0
        assert engine.models.refresh() and engine.models.version != published
        assert {"fresh-1", "fresh-2"} <= set(_similar(client, neighbour.item_id))
