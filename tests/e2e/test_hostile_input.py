"""Hostile values over the real app: every one gets a 4xx in the error shape (never a
500), a bad batch is rejected whole with every problem listed, and nothing of it is
stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from streamrec.config import Settings
from streamrec.events import now_ms
from streamrec.serving.app import create_app

JSON = {"content-type": "application/json"}
DAY_MS = 86_400_000


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, limits={"event_time_min_ms": 946_684_800_000})
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def _event(**fields: object) -> dict[str, object]:
    return {"user_id": "hostile-u", "item_id": "hostile-i", "type": "view", **fields}


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"a": value}
    return value


BAD_EVENTS = {
    "far-future timestamp": _event(timestamp=4_102_444_800_000),  # 2100
    "before the window": _event(timestamp=1_000),
    "past year 9999": _event(timestamp=10**20),
    "huge float timestamp": _event(timestamp=1e300),
    "RFC 3339 far future": _event(timestamp="2999-01-01T00:00:00Z"),
    "RFC 3339 year 1": _event(timestamp="0001-01-01T00:00:00+00:00"),
    "RFC 3339 without zone": _event(timestamp="2024-01-01T00:00:00"),
    "huge value": _event(value=1e300),
    "deep context": _event(context=_nested(9)),
    "wide context": _event(context={f"k{n}": n for n in range(1001)}),
    "long context string": _event(context={"q": "x" * 10_001}),
    "long context key": _event(context={"k" * 257: 1}),
    "long user id": _event(user_id="u" * 257),
    "empty item id": _event(item_id=""),
    "unknown type": _event(type="hover"),
    "bool timestamp": _event(timestamp=True),
}


@pytest.mark.parametrize("name", sorted(BAD_EVENTS))
def test_each_hostile_event_is_rejected_with_its_field(client: TestClient, name: str) -> None:
    response = client.post("/v1/events", json=BAD_EVENTS[name])
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["details"] and all(d["index"] == 0 for d in error["details"])


def test_a_batch_lists_every_bad_event_and_stores_none(client: TestClient) -> None:
    now = now_ms()
    events = [
        _event(user_id="batch-ok", timestamp=now),
        _event(timestamp=now + 2 * DAY_MS),
        _event(user_id="batch-ok", timestamp=now + DAY_MS // 2),  # within the skew
        _event(value=float("1e300")),
        _event(context=_nested(12)),
        _event(timestamp=1_000),
    ]
    response = client.post("/v1/events?wait=true", json={"events": events})
    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert sorted({d["index"] for d in details}) == [1, 3, 4, 5]
    assert {d["field"] for d in details if d["index"] in (1, 5)} == {"timestamp"}
    assert client.get("/v1/users/batch-ok/profile").status_code == 404
    good = [events[0], events[2]]
    assert client.post("/v1/events?wait=true", json={"events": good}).status_code == 202
    assert client.get("/v1/users/batch-ok/profile").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b'{"user_id": "u", "item_id": "i", "type": "view", "value": 1e400}',
        b'{"user_id": "u", "item_id": "i", "type": "view", "value": NaN}',
        b'{"user_id": "\\ud800", "item_id": "i", "type": "view"}',
        b"[" * 5000 + b"]" * 5000,
        b'{"events": 5}',
        b"[]",
        b"",
        b"\xff\xfe",
    ],
)
def test_malformed_event_bodies_get_422(client: TestClient, body: bytes) -> None:
    response = client.post("/v1/events", content=body, headers=JSON)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_input"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("properties", {"n": 10**30}),
        ("properties", _nested(9)),
        ("properties", {"s": "x" * 10_001}),
        ("price", 1e300),
        ("price", -1),
        ("created_at", 10**20),
        ("created_at", "9999-12-31T23:59:59-23:59"),
        ("categories", ["c" * 257]),
        ("tags", ["t"] * 1001),
        ("title", "x" * 10_001),
    ],
)
def test_hostile_item_fields_get_422(client: TestClient, field: str, value: object) -> None:
    response = client.put("/v1/items/hostile", json={field: value})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"].startswith(f"body.{field}")


def test_non_finite_json_in_item_properties_gets_422(client: TestClient) -> None:
    body = b'{"properties": {"x": NaN, "y": Infinity}}'  # Python's json reads these
    response = client.put("/v1/items/hostile", content=body, headers=JSON)
    assert response.status_code == 422, response.text
    assert client.get("/v1/items/hostile").status_code == 404


def test_bounded_values_still_round_trip(client: TestClient) -> None:
    context = _nested(7)
    event = _event(user_id="bounded", context=context, value=1e12, timestamp=now_ms())
    assert client.post("/v1/events?wait=true", json=event).status_code == 202
    item = {"properties": {"n": 2**63 - 1, "nested": _nested(7)}, "price": 1e12}
    assert client.put("/v1/items/bounded", json=item).status_code == 200
    stored = client.get("/v1/items/bounded").json()["metadata"]
    assert orjson.loads(orjson.dumps(stored["properties"])) == item["properties"]


def test_a_query_parameter_given_twice_gets_422(client: TestClient) -> None:
    response = client.get("/v1/items/popular?k=1&category=a&k=50")
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"] == [
        {"field": "query.k", "message": "given more than once"}
    ]
    assert client.get("/v1/items/popular?k=1&category=a").status_code == 200


def test_an_unreadable_item_body_gets_422_not_400(client: TestClient) -> None:
    response = client.put("/v1/items/hostile", content=b"\xff\xfe{", headers=JSON)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_input"


def test_a_method_the_path_does_not_take_gets_405_with_allow(client: TestClient) -> None:
    response = client.request("PATCH", "/v1/items/hostile", json={})
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, PUT"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_ids_with_nul_are_rejected(client: TestClient) -> None:
    response = client.post("/v1/events", json=_event(user_id="a\u0000"))
    assert response.status_code == 422, response.text
    assert client.get("/v1/users/a%00/recommendations").status_code == 422


def test_allow_names_the_methods_of_the_most_specific_route(client: TestClient) -> None:
    response = client.request("PATCH", "/v1/items/popular")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
