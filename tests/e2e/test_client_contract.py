"""The client's models agree with what a real ``streamrec serve`` publishes and sends.

Three checks keep them from drifting apart: every route of ``/openapi.json`` has a
client method and the reverse; wherever the server's OpenAPI types a body, its fields
and types equal the client model's (compared as normalized JSON Schema); and every
live answer holds exactly the fields of its client model, nested models included.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from streamrec.client import (
    Accepted,
    EditorialList,
    Erased,
    Event,
    ExperimentInfo,
    ExperimentList,
    ExperimentReport,
    Explanation,
    Health,
    ItemDetail,
    ItemIn,
    ItemsStored,
    ItemStored,
    Profile,
    Readiness,
    RecommendationList,
    StreamrecClient,
)
from streamrec.client.routes import Routes

pytestmark = pytest.mark.slow

# (method, path template, success status, client model, client method)
ROUTES: list[tuple[str, str, int, type[BaseModel], str]] = [
    ("post", "/v1/events", 202, Accepted, "send_events"),
    ("get", "/v1/users/{user_id}/recommendations", 200, RecommendationList, "recommendations"),
    ("get", "/v1/users/{user_id}/recommendations/explain", 200, Explanation, "explain"),
    ("put", "/v1/editorial", 200, EditorialList, "put_editorial"),
    ("get", "/v1/editorial", 200, EditorialList, "get_editorial"),
    ("get", "/v1/items/{item_id}/similar", 200, RecommendationList, "similar"),
    ("get", "/v1/items/popular", 200, RecommendationList, "popular"),
    ("get", "/v1/items/trending", 200, RecommendationList, "trending"),
    ("put", "/v1/items/{item_id}", 200, ItemStored, "put_item"),
    ("post", "/v1/items", 200, ItemsStored, "post_items"),
    ("get", "/v1/items/{item_id}", 200, ItemDetail, "get_item"),
    ("get", "/v1/users/{user_id}/profile", 200, Profile, "profile"),
    ("get", "/healthz", 200, Health, "health"),
    ("get", "/readyz", 200, Readiness, "ready"),
    ("put", "/v1/experiments/{experiment_id}", 200, ExperimentInfo, "put_experiment"),
    ("get", "/v1/experiments", 200, ExperimentList, "experiments"),
    ("get", "/v1/experiments/{experiment_id}", 200, ExperimentInfo, "get_experiment"),
    ("get", "/v1/experiments/{experiment_id}/report", 200, ExperimentReport, "experiment_report"),
    ("delete", "/v1/users/{user_id}", 200, Erased, "delete_user"),
    ("delete", "/v1/items/{item_id}", 200, Erased, "delete_item"),
]
NOT_FOR_THE_CLIENT = {("get", "/metrics")}  # Prometheus scrapes it, in its text format


@pytest.fixture(scope="module")
def openapi(streamrec_url: str) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(f"{streamrec_url}/openapi.json").json()
    return document


def _all_defs(node: object, found: dict[str, Any]) -> dict[str, Any]:
    """Every named schema: ``components.schemas`` and each nested ``$defs``."""
    if isinstance(node, dict):
        for key in ("schemas", "$defs"):
            if isinstance(node.get(key), dict):
                found.update(node[key])
        for value in node.values():
            _all_defs(value, found)
    elif isinstance(node, list):
        for value in node:
            _all_defs(value, found)
    return found


def signature(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """A schema's field names and types only (no titles, defaults or bounds)."""
    if "$ref" in schema:
        return signature(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in schema:
        options = [signature(option, defs) for option in schema["anyOf"]]
        return {"anyOf": sorted(options, key=lambda o: json.dumps(o, sort_keys=True))}
    if "enum" in schema:
        return {"enum": sorted(schema["enum"])}
    if "properties" in schema:
        fields = {name: signature(p, defs) for name, p in schema["properties"].items()}
        return {"object": fields, "required": sorted(schema.get("required", []))}
    kind = schema.get("type")
    if kind == "array":
        return {"array": signature(schema.get("items", {}), defs)}
    if kind == "object":
        extra = schema.get("additionalProperties", True)
        return {"map": signature(extra, defs) if isinstance(extra, dict) else "any"}
    return kind or "any"


def _model_signature(model: type[BaseModel]) -> Any:
    schema = model.model_json_schema()
    return signature(schema, schema.get("$defs", {}))


def _response_schema(openapi: dict[str, Any], method: str, path: str, status: int) -> Any:
    response = openapi["paths"][path][method]["responses"][str(status)]
    return response.get("content", {}).get("application/json", {}).get("schema", {})


def test_every_route_has_a_client_method(openapi: dict[str, Any]) -> None:
    served = {(m, p) for p, ops in openapi["paths"].items() for m in ops} - NOT_FOR_THE_CLIENT
    covered = {(method, path) for method, path, *_ in ROUTES}
    assert served == covered, "a route of the API has no client method (or the reverse)"
    assert all(hasattr(Routes, name) for *_, name in ROUTES)


def test_typed_answers_agree_with_the_client_models(openapi: dict[str, Any]) -> None:
    defs = _all_defs(openapi, {})
    compared = []
    for method, path, status, model, _ in ROUTES:
        server = signature(_response_schema(openapi, method, path, status), defs)
        if isinstance(server, dict) and "object" in server:
            assert _model_signature(model) == server, f"{method.upper()} {path}"
            compared.append(path)
    assert {"/v1/events", "/v1/users/{user_id}/recommendations"} <= set(compared)


def test_request_bodies_are_the_servers_models(openapi: dict[str, Any]) -> None:
    defs = _all_defs(openapi, {})
    assert _model_signature(Event) == signature(defs["Event"], defs)
    items = openapi["paths"]["/v1/items"]["post"]["requestBody"]["content"]["application/json"]
    (item_schema,) = [signature(items["schema"], defs)["object"]["items"]["array"]]
    assert _model_signature(ItemIn) == item_schema
    put = openapi["paths"]["/v1/items/{item_id}"]["put"]["requestBody"]["content"]
    put_fields = signature(put["application/json"]["schema"], defs)["object"]
    assert set(put_fields) == set(ItemIn.model_fields) - {"item_id"}


def _nested_models(annotation: Any) -> Iterator[type[BaseModel]]:
    """The models inside an annotation (``Model | None``, ``list[Model]``, …)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    elif isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for argument in typing.get_args(annotation):
            yield from _nested_models(argument)


def _assert_fields(model: type[BaseModel], data: Any, where: str) -> None:
    assert isinstance(data, dict), where
    assert set(data) == set(model.model_fields), where
    for name, info in model.model_fields.items():
        inner = list(_nested_models(info.annotation))
        values = data[name] if isinstance(data[name], list) else [data[name]]
        for value in values:
            if inner and value is not None:
                _assert_fields(inner[0], value, f"{where}.{name}")


def test_live_answers_hold_exactly_the_client_fields(streamrec_url: str) -> None:
    with StreamrecClient(streamrec_url) as client:
        client.put_item({"item_id": "c-a", "title": "A", "categories": ["c-cat"], "price": 3})
        client.send_events(
            [
                {"user_id": "c-u", "item_id": "c-a", "type": "view", "session_id": "s1"},
                {"user_id": "c-u", "item_id": "c-b", "type": "rating", "value": 4},
                {"user_id": "c-v", "item_id": "c-a", "type": "add_to_cart"},
            ],
            wait=True,
        )
    event = {"user_id": "c-w", "item_id": "c-a", "type": "view"}
    variant = {"name": "c-only", "traffic": 0.0, "settings": {}}
    experiment = {"variants": [variant], "status": "stopped"}
    requests: list[tuple[str, str, dict[str, Any] | None, type[BaseModel]]] = [
        ("POST", "/v1/events?wait=true", {"events": [event]}, Accepted),
        ("GET", "/v1/users/c-v/recommendations?k=3", None, RecommendationList),
        ("GET", "/v1/users/c-v/recommendations/explain?item_id=c-a", None, Explanation),
        ("PUT", "/v1/editorial", {"items": ["c-a"]}, EditorialList),
        ("GET", "/v1/editorial", None, EditorialList),
        ("GET", "/v1/items/c-a/similar", None, RecommendationList),
        ("GET", "/v1/items/popular?category=c-cat", None, RecommendationList),
        ("GET", "/v1/items/trending", None, RecommendationList),
        ("PUT", "/v1/items/c-b", {"title": "B"}, ItemStored),
        ("POST", "/v1/items", {"items": [{"item_id": "c-c"}]}, ItemsStored),
        ("GET", "/v1/items/c-a", None, ItemDetail),
        ("GET", "/v1/users/c-u/profile", None, Profile),
        ("GET", "/healthz", None, Health),
        ("GET", "/readyz", None, Readiness),
        ("PUT", "/v1/experiments/c-x", experiment, ExperimentInfo),
        ("GET", "/v1/experiments", None, ExperimentList),
        ("GET", "/v1/experiments/c-x", None, ExperimentInfo),
        ("GET", "/v1/experiments/c-x/report", None, ExperimentReport),
    ]
    with httpx.Client(base_url=streamrec_url) as http:
        for method, path, body, model in requests:
            response = http.request(method, path, json=body)
            assert response.is_success, (path, response.text)
            data = response.json()
            _assert_fields(model, data, f"{method} {path}")
            model.model_validate_json(response.content, strict=True)  # and their types
            if model is RecommendationList:
                assert data["items"], f"{path} answered no items to check"
        assert http.get("/v1/items/c-a").json()["stats"] is not None
        assert http.get("/v1/users/c-u/profile").json()["session"] is not None
