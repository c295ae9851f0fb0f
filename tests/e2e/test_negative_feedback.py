"""Negative feedback over HTTP: a disliked, skipped or low-rated item leaves the user's list.

Each test first shows the item in the user's recommendations (other shoppers view it
with what the user viewed), then sends one negative event and shows it gone. The
lists are asked with ``exclude_seen=false``, so the item can only be dropped as
negative feedback, not as an item the user has interacted with.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from streamrec.config import Settings
from streamrec.serving.app import create_app

CATALOG = [
    {"item_id": "tent", "title": "Trail Tent", "categories": ["camping"]},
    {"item_id": "stove", "title": "Camp Stove", "categories": ["camping"]},
    {"item_id": "lamp", "title": "Camp Lamp", "categories": ["camping"]},
    {"item_id": "mug", "title": "Enamel Mug", "categories": ["kitchen"]},
]
DISLIKE_AT = Settings().weights.rating_dislike_at


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as test_client:
        assert test_client.post("/v1/items", json={"items": CATALOG}).status_code == 200
        history = [
            {"user_id": f"shopper-{n}", "item_id": item, "type": "view", "timestamp": 1_000 + n}
            for n in range(4)
            for item in ("tent", "stove", "lamp")
        ]
        _send(test_client, [*history, {"user_id": "ann", "item_id": "tent", "type": "view"}])
        yield test_client


def _send(client: TestClient, events: list[dict[str, object]]) -> None:
    response = client.post("/v1/events?wait=true", json={"events": events})
    assert response.status_code == 202, response.text


def _listed(client: TestClient) -> list[str]:
    response = client.get("/v1/users/ann/recommendations?k=5&exclude_seen=false")
    assert response.status_code == 200, response.text
    return [item["item_id"] for item in response.json()["items"]]


def _feedback(client: TestClient, kind: str, value: float | None = None) -> list[str]:
    """Ann's list after one event of ``kind`` on the stove, which it held before."""
    assert "stove" in _listed(client)
    event: dict[str, object] = {"user_id": "ann", "item_id": "stove", "type": kind}
    if value is not None:
        event["value"] = value
    _send(client, [event])
    return _listed(client)


def test_a_disliked_item_leaves_the_list(client: TestClient) -> None:
    assert "stove" not in _feedback(client, "dislike")
    assert client.get("/v1/users/ann/profile").json()["negative"] == ["stove"]


def test_a_skipped_item_leaves_the_list(client: TestClient) -> None:
    assert "stove" not in _feedback(client, "skip")


def test_an_item_rated_at_the_dislike_mark_leaves_the_list(client: TestClient) -> None:
    assert "stove" not in _feedback(client, "rating", DISLIKE_AT)


def test_an_item_rated_above_the_dislike_mark_stays(client: TestClient) -> None:
    assert "stove" in _feedback(client, "rating", DISLIKE_AT + 0.5)
    assert client.get("/v1/users/ann/profile").json()["negative"] == []
