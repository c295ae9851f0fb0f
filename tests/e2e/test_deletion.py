"""Deleting users and items over HTTP: gone at once, after a restart, after a cold replay.

Each phase opens the real embedded engine on the same data directory: the first
deletes, the second restarts from the snapshot written at shutdown (the erasure is
behind its positions), the third deletes the snapshot and replays the whole log.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

from streamrec.bootstrap.adapters import snapshot_path
from streamrec.config import Settings
from streamrec.history.embedded import EmbeddedHistory
from streamrec.serving.app import create_app

CATALOG = [
    {"item_id": "tent", "title": "Tent", "categories": ["camping"]},
    {"item_id": "stove", "title": "Stove", "categories": ["camping"]},
    {"item_id": "lamp", "title": "Lamp", "categories": ["camping"]},
]


@contextmanager
def serving(data_dir: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=data_dir)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/readyz").status_code == 200
        yield client


def _load(client: TestClient) -> None:
    assert client.post("/v1/items", json={"items": CATALOG}).status_code == 200
    events = []
    for n in range(6):
        user = f"shopper-{n}"
        for i, item in enumerate(["tent", "stove", "lamp"] * (3 if item_heavy(n) else 1)):
            events.append({"user_id": user, "item_id": item, "type": "view", "timestamp": n + i})
    events.append({"user_id": "alice", "item_id": "stove", "type": "purchase", "timestamp": 50})
    events.append({"user_id": "alice", "item_id": "lamp", "type": "view", "timestamp": 51})
    response = client.post("/v1/events?wait=true", json={"events": events})
    assert response.status_code == 202, response.text


def item_heavy(n: int) -> bool:
    return n < 3


def _assert_erased(client: TestClient) -> None:
    assert client.get("/v1/users/alice/profile").status_code == 404
    assert client.get("/v1/items/tent").status_code == 404
    popular = [i["item_id"] for i in client.get("/v1/items/popular?k=10").json()["items"]]
    trending = [i["item_id"] for i in client.get("/v1/items/trending?k=10").json()["items"]]
    assert "tent" not in popular and "tent" not in trending
    assert set(popular) == {"stove", "lamp"}
    for item in ("stove", "lamp"):
        similar = client.get(f"/v1/items/{item}/similar?k=10").json()["items"]
        assert "tent" not in [i["item_id"] for i in similar]
    assert client.get("/v1/items/stove").json()["stats"]["counts"]["view"] == 12
    assert client.get("/v1/users/shopper-0/profile").status_code == 200


def test_deleted_user_and_item_stay_gone_after_restart_and_replay(tmp_path: Path) -> None:
    with serving(tmp_path) as client:
        _load(client)
        assert client.get("/v1/users/alice/profile").status_code == 200
        similar = client.get("/v1/items/stove/similar?k=10").json()["items"]
        assert "tent" in [i["item_id"] for i in similar]

        user = client.delete("/v1/users/alice")
        assert user.status_code == 200, user.text
        assert user.json() == {"erased": "user", "id": "alice", "applied": True}
        item = client.delete("/v1/items/tent")
        assert item.status_code == 200, item.text
        assert client.delete("/v1/users/never-seen").status_code == 200
        _assert_erased(client)

    with serving(tmp_path) as client:  # restored from the snapshot + the log's tail
        _assert_erased(client)

    snapshot_path(tmp_path).unlink()
    with serving(tmp_path) as client:  # a cold replay of the whole log
        _assert_erased(client)
        # new events after the deletion are new data
        client.post(
            "/v1/events?wait=true",
            json={"user_id": "alice", "item_id": "lamp", "type": "view", "timestamp": 99_000},
        )
        recent = client.get("/v1/users/alice/profile").json()["recent"]
        assert [(r["item_id"], r["timestamp"]) for r in recent] == [("lamp", 99_000)]

    history = EmbeddedHistory(tmp_path / "log")
    scanned = [row for batch in history.scan() for row in batch.records()]
    assert all(row["item_id"] != "tent" for row in scanned)
    assert [row["timestamp"] for row in scanned if row["user_id"] == "alice"] == [99_000]
    assert all("erase" not in row for row in scanned)
