"""HTTP API v1 end to end, over the real embedded engine (log on disk, processor thread)."""

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
    {"item_id": "sold-out", "title": "Old Tent", "categories": ["camping"], "available": False},
]


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path)
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def _events(client: TestClient, events: list[dict[str, object]]) -> None:
    response = client.post("/v1/events?wait=true", json={"events": events})
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": len(events), "applied": True}


def test_new_user_gets_coviewed_items_with_reasons(client: TestClient) -> None:
    assert client.post("/v1/items", json={"items": CATALOG}).status_code == 200
    history = []
    for n in range(5):  # other shoppers view tent, stove and lamp together
        user = f"shopper-{n}"
        history += [
            {"user_id": user, "item_id": item, "type": "view", "timestamp": 1_000 + n * 10 + i}
            for i, item in enumerate(["tent", "stove", "lamp", "sold-out"])
        ]
    history.append({"user_id": "other", "item_id": "mug", "type": "purchase", "timestamp": 5_000})
    _events(client, history)

    _events(
        client,
        [
            {"user_id": "newbie", "item_id": "tent", "type": "view", "timestamp": 10_000},
            {"user_id": "newbie", "item_id": "stove", "type": "view", "timestamp": 10_001},
        ],
    )
    body = client.get("/v1/users/newbie/recommendations?k=3").json()
    ids = [item["item_id"] for item in body["items"]]
    assert ids[0] == "lamp"
    assert "tent" not in ids and "stove" not in ids and "sold-out" not in ids
    lamp = body["items"][0]
    assert any("Camp Stove" in reason or "Trail Tent" in reason for reason in lamp["reasons"])
    assert lamp["sources"]["cooccurrence"] > 0
    assert body["recommendation_id"] and body["fallback"] is False

    profile = client.get("/v1/users/newbie/profile").json()
    assert [i["item_id"] for i in profile["recent"]] == ["stove", "tent"]
    assert profile["session"]["category"] == "camping"
    assert profile["events"] == 2


def test_cold_user_gets_popular_items(client: TestClient) -> None:
    _events(client, [{"user_id": "a", "item_id": "mug", "type": "purchase", "timestamp": 1}])
    body = client.get("/v1/users/nobody/recommendations").json()
    assert [i["item_id"] for i in body["items"]] == ["mug"]
    assert body["items"][0]["reasons"] == ["popular"]
    assert list(body["items"][0]["sources"]) == ["popularity"]
    # the popular list names its source as the recommendations do
    popular = client.get("/v1/items/popular").json()["items"]
    assert [i["item_id"] for i in popular] == ["mug"] and list(popular[0]["sources"]) == [
        "popularity"
    ]


def test_bad_batch_is_rejected_whole_with_every_problem(client: TestClient) -> None:
    batch = {
        "events": [
            {"user_id": "u", "item_id": "i", "type": "view"},
            {"user_id": "", "item_id": "i", "type": "view"},
            {"user_id": "u", "item_id": "i", "type": "teleport"},
            {"user_id": "u", "item_id": "i", "type": "view", "timestamp": "yesterday"},
        ]
    }
    response = client.post("/v1/events", json=batch)
    assert response.status_code == 422
    problems = response.json()["error"]["details"]
    assert sorted({p["index"] for p in problems}) == [1, 2, 3]
    assert client.get("/v1/users/u/profile").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/v1/events", b"not json"),
        ("post", "/v1/events", b"[]"),
        ("post", "/v1/events", b'{"events": []}'),
        ("post", "/v1/events", b'{"events": {"a": 1}}'),
        ("post", "/v1/items", b'{"items": [{"item_id": ""}]}'),
        ("put", "/v1/items/x", b'{"price": -1}'),
        ("get", "/v1/users/u/recommendations?k=0", None),
        ("get", "/v1/users/u/recommendations?k=abc", None),
    ],
)
def test_bad_input_is_a_4xx_in_the_error_shape(
    client: TestClient, method: str, path: str, body: bytes | None
) -> None:
    response = client.request(method.upper(), path, content=body)
    assert 400 <= response.status_code < 500
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_similar_popular_trending_and_operations(client: TestClient) -> None:
    client.put("/v1/items/tent", json={"title": "Trail Tent", "categories": ["camping"]})
    _events(
        client,
        [
            {"user_id": "a", "item_id": "tent", "type": "view", "timestamp": 1},
            {"user_id": "a", "item_id": "lamp", "type": "add_to_cart", "timestamp": 2},
        ],
    )
    similar = client.get("/v1/items/tent/similar").json()
    assert [i["item_id"] for i in similar["items"]] == ["lamp"]
    assert [i["item_id"] for i in client.get("/v1/items/popular?k=1").json()["items"]] == ["lamp"]
    assert client.get("/v1/items/trending").status_code == 200
    assert client.get("/v1/items/popular?category=camping").json()["items"][0]["item_id"] == "tent"
    assert client.get("/v1/items/tent").json()["stats"]["counts"] == {"view": 1}
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    metrics = client.get("/metrics").text
    assert 'streamrec_events_accepted_total{type="view"} 1.0' in metrics
    assert 'streamrec_events_accepted_total{type="add_to_cart"} 1.0' in metrics
    spec = client.get("/openapi.json").json()
    assert "Event" in spec["components"]["schemas"]
