"""The OpenAPI description: what every operation may answer, derived in one place.

Routes declare their success responses; the errors every route shares follow from
where the route lives, like its scope (:mod:`streamrec.serving.auth`): an operation
that needs a key may answer 401, 403 and 429 (documented with the security schemes
when keys are configured), one with a body 413 and 415, one with parameters or a
body 422, one with a path id 404 — each in the error shape
:class:`~streamrec.serving.schemas.ErrorOut`, which replaces FastAPI's default 422 —
and one with parameters a plain-text 400 from the HTTP server for a request line it
cannot parse.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from streamrec.serving.auth import required_scope
from streamrec.serving.schemas import ErrorOut

_ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
_WHY = {
    "400": "The HTTP server could not read the request (a malformed request line)",
    "414": "The HTTP server refuses a request line this long",
    "431": "The HTTP server refuses request headers this large",
    "404": "The id in the path is not known",
    "401": "No API key, or one that is not known",
    "403": "The API key lacks the scope",
    "413": "The body is larger than limits.max_body_bytes",
    "415": "The body is not JSON",
    "422": "The request does not fit the API (every problem listed)",
    "429": "The key's rate limit is spent (see Retry-After)",
}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}}
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


def describe(app: FastAPI, models: dict[str, Any], protect_metrics: bool, keys: bool) -> None:
    """Make ``app.openapi()`` publish ``models`` (schemas raw-body routes refer to)
    and each operation's shared error responses."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            for name, model in {**models, "ErrorOut": ErrorOut}.items():
                described = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(described.pop("$defs", {}))
                schemas[name] = described
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            if keys:
                components["securitySchemes"] = SECURITY_SCHEMES
            for path, operations in schema["paths"].items():
                for method, operation in operations.items():
                    _declare_errors(path, method.upper(), operation, protect_metrics, keys)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _declare_errors(
    path: str, method: str, operation: dict[str, Any], protect_metrics: bool, keys: bool
) -> None:
    responses = operation.setdefault("responses", {})
    codes = []
    if required_scope(method, path, protect_metrics) is not None:
        codes.append("429")
        if keys:
            codes += ["401", "403"]
            operation["security"] = [{"bearer": []}, {"apiKey": []}]
    if "requestBody" in operation:
        codes += ["413", "415"]
    parameters = operation.get("parameters", [])
    if "requestBody" in operation or parameters:
        codes.append("422")
    if any(p.get("in") == "path" for p in parameters):
        codes.append("404")
    for code in codes:
        answer: dict[str, Any] = {
            "description": _WHY[code],
            "content": {"application/json": {"schema": _ERROR_REF}},
        }
        if code == "429":
            answer["headers"] = _RETRY_AFTER
        responses[code] = answer
    if parameters:  # the HTTP server answers a request it cannot take itself
        responses["400"] = {"description": _WHY["400"], "content": {"text/plain": {}}}
        for code in ("414", "431"):  # with no body
            responses[code] = {"description": _WHY[code]}


def list_parameters(description: dict[str, Any]) -> frozenset[str]:
    """The query parameters some operation takes as a list (they may repeat)."""
    names = set()
    for operations in description["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                kinds = [schema, *schema.get("anyOf", [])]
                if parameter.get("in") == "query" and any(k.get("type") == "array" for k in kinds):
                    names.add(parameter["name"])
    return frozenset(names)
