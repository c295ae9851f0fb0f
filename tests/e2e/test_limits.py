"""Request limits over the real app and embedded engine: body size (413), media type
(415), rate limits per key (429 with Retry-After) and CORS origins from settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from streamrec.config import Settings
from streamrec.serving.app import create_app

KEY = "limits-key-0123456789abcdef"
SLOW_KEY = "slow-key-0123456789abcdef"
EVENT = b'{"user_id": "u", "item_id": "i", "type": "view"}'
JSON = {"content-type": "application/json"}


def _client(tmp_path: Path, **settings: Any) -> TestClient:
    app = create_app(Settings(data_dir=tmp_path, **settings))
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture()
def small_bodies(tmp_path: Path) -> Iterator[TestClient]:
    with _client(tmp_path, limits={"max_body_bytes": 4096}) as client:
        yield client


def _error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_a_declared_body_past_the_limit_gets_413(small_bodies: TestClient) -> None:
    padded = EVENT[:-1] + b', "context": {"pad": "' + b"x" * 5000 + b'"}}'
    _error(small_bodies.post("/v1/events", content=padded, headers=JSON), 413, "payload_too_large")
    _error(small_bodies.put("/v1/items/x", content=padded, headers=JSON), 413, "payload_too_large")
    accepted = small_bodies.post("/v1/events", content=EVENT, headers=JSON)
    assert accepted.status_code == 202, accepted.text


@pytest.mark.parametrize("path", ["/v1/events", "/v1/items/x", "/v1/items"])
def test_a_streamed_body_past_the_limit_gets_413(small_bodies: TestClient, path: str) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"title": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    method = "PUT" if path == "/v1/items/x" else "POST"
    response = small_bodies.request(method, path, content=chunks(), headers=JSON)
    _error(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""]
)
def test_a_body_that_is_not_json_gets_415(small_bodies: TestClient, content_type: str) -> None:
    headers = {"content-type": content_type}
    _error(
        small_bodies.post("/v1/events", content=EVENT, headers=headers),
        415,
        "unsupported_media_type",
    )
    _error(
        small_bodies.put("/v1/items/x", content=b"{}", headers=headers),
        415,
        "unsupported_media_type",
    )


def test_json_media_types_with_parameters_or_none_are_accepted(small_bodies: TestClient) -> None:
    for content_type in ("application/json; charset=utf-8", "application/vnd.events+json", None):
        headers = {} if content_type is None else {"content-type": content_type}
        response = small_bodies.post("/v1/events", content=EVENT, headers=headers)
        assert response.status_code == 202, response.text


def test_each_key_has_its_own_token_bucket(tmp_path: Path) -> None:
    keys = [
        {"name": "app", "key": KEY, "scopes": ["read"]},
        {"name": "slow", "key": SLOW_KEY, "scopes": ["read"], "rate_per_s": 0.001},
    ]
    limits = {"rate_per_s": 0.001, "rate_burst": 3}
    with _client(tmp_path, auth={"keys": keys}, limits=limits) as client:
        app = {"x-api-key": KEY}
        statuses = [client.get("/v1/items/popular", headers=app).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = client.get("/v1/items/popular", headers=app)
        _error(refused, 429, "rate_limited")
        assert int(refused.headers["retry-after"]) >= 1
        slow = {"x-api-key": SLOW_KEY}
        assert client.get("/v1/items/popular", headers=slow).status_code == 200
        assert client.get("/healthz").status_code == 200  # open routes are not limited
        assert client.get("/v1/items/popular").status_code == 401  # no key: no bucket
        metrics = client.get("/metrics").text
        assert 'code="rate_limited"' in metrics and 'code="unauthorized"' in metrics


def test_without_keys_the_bucket_is_per_client(tmp_path: Path) -> None:
    with _client(tmp_path, limits={"rate_per_s": 0.001, "rate_burst": 2}) as client:
        statuses = [client.get("/v1/items/popular").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]


def test_cors_allows_only_the_configured_origins(tmp_path: Path) -> None:
    keys = [{"name": "app", "key": KEY, "scopes": ["read"]}]
    serving = {"cors_origins": ["https://shop.example"]}
    with _client(tmp_path, auth={"keys": keys}, serving=serving) as client:
        preflight = client.options(
            "/v1/items/popular",
            headers={
                "origin": "https://shop.example",
                "access-control-request-method": "GET",
                "access-control-request-headers": "x-api-key",
            },
        )
        assert preflight.status_code == 200  # answered before the key check
        assert preflight.headers["access-control-allow-origin"] == "https://shop.example"
        allowed = client.get(
            "/v1/items/popular", headers={"origin": "https://shop.example", "x-api-key": KEY}
        )
        assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
        refused = client.get("/v1/items/popular", headers={"origin": "https://shop.example"})
        assert refused.status_code == 401  # the browser may read why
        assert refused.headers["access-control-allow-origin"] == "https://shop.example"
        other = client.get(
            "/v1/items/popular", headers={"origin": "https://evil.example", "x-api-key": KEY}
        )
        assert "access-control-allow-origin" not in other.headers
