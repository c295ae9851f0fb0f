"""``POST /v1/events`` rejects a bad batch whole with the same 422 body, pinned.

The bodies of ``event_rejections.BAD_BODIES`` and the answers in
``golden/events_422.json`` were taken together from the route; any change to how
events are decoded must give every one of them the same status and body, byte for
byte once parsed, and store nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from streamrec.config import Settings
from streamrec.serving.app import create_app
from tests.unit.event_rejections import BAD_BODIES

GOLDEN = json.loads((Path(__file__).parent / "golden" / "events_422.json").read_text())


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("rejections"))
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_every_bad_body_has_a_pinned_answer() -> None:
    assert sorted(GOLDEN) == sorted(BAD_BODIES)


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_bad_batch_gets_the_pinned_422(client: TestClient, name: str) -> None:
    response = client.post(
        "/v1/events", content=BAD_BODIES[name], headers={"content-type": "application/json"}
    )
    assert {"status": response.status_code, "body": response.json()} == GOLDEN[name]


def test_nothing_of_a_rejected_batch_is_stored(client: TestClient) -> None:
    for body in BAD_BODIES.values():
        client.post("/v1/events", content=body, headers={"content-type": "application/json"})
    probe = {"user_id": "probe", "item_id": "i0", "type": "view"}
    assert client.post("/v1/events?wait=true", json=probe).status_code == 202
    assert client.get("/v1/users/probe/profile").status_code == 200
    assert client.get("/v1/users/u1/profile").status_code == 404  # good in rejected batches
