"""The one place where streamrec errors become HTTP status codes.

Every error body is ``{"error": {"code", "message", "details"}}``; each handler
marks the code on the request, for the error counter of
:class:`~streamrec.serving.metrics.RequestTimer`.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from streamrec.errors import (
    BackendUnavailable,
    Conflict,
    InvalidInput,
    NotFound,
    Overloaded,
    StreamrecError,
)
from streamrec.serving.metrics import mark_error

log = logging.getLogger(__name__)

#: The error code of each HTTP error status the web stack raises itself.
HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def error_response(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    """A JSON error in the API's shape."""
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return JSONResponse(body, status_code=status)


def _answer(
    request: Request, status: int, code: str, message: str, details: Any = None
) -> JSONResponse:
    mark_error(request.scope, code)
    return error_response(status, code, message, details)


def allowed_methods(request: Request) -> list[str]:
    """The methods of the request's path (a 405's ``Allow``): those the OpenAPI
    description gives its most specific matching template (``/v1/items/popular`` is
    not an item), or for undescribed paths those some route takes."""
    path = request.scope["path"]
    described = [
        (template, operations)
        for template, operations in request.app.openapi()["paths"].items()
        if _template_pattern(template).fullmatch(path)
    ]
    if described:
        _, operations = min(described, key=lambda found: found[0].count("{"))
        return sorted(method.upper() for method in operations)
    return [
        method
        for method in ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.routes
        )
    ]


@functools.lru_cache(maxsize=256)
def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^/}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


def install_error_handlers(app: FastAPI) -> None:
    """Map every error the app can raise to a status code and the error shape."""

    @app.exception_handler(InvalidInput)
    async def _invalid(request: Request, exc: InvalidInput) -> JSONResponse:
        details = [dataclasses.asdict(p) for p in exc.problems]
        return _answer(request, 422, "invalid_input", exc.message, details)

    @app.exception_handler(Conflict)
    async def _conflict(request: Request, exc: Conflict) -> JSONResponse:
        details = [dataclasses.asdict(p) for p in exc.problems]
        return _answer(request, 409, "conflict", exc.message, details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        return _answer(request, 422, "invalid_input", "the request does not fit the API", details)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        return _answer(request, 404, "not_found", str(exc))

    @app.exception_handler(Overloaded)
    async def _overloaded(request: Request, exc: Overloaded) -> JSONResponse:
        answer = _answer(request, 503, "overloaded", str(exc))
        answer.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
        return answer

    @app.exception_handler(BackendUnavailable)
    async def _unavailable(request: Request, exc: BackendUnavailable) -> JSONResponse:
        return _answer(request, 503, "unavailable", str(exc))

    @app.exception_handler(TimeoutError)
    async def _timeout(request: Request, exc: TimeoutError) -> JSONResponse:
        return _answer(request, 504, "timeout", str(exc) or "timed out")

    @app.exception_handler(StreamrecError)
    async def _other(request: Request, exc: StreamrecError) -> JSONResponse:
        log.exception("request failed")
        return _answer(request, 500, "internal", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI could not read a body (not UTF-8 JSON)
            return _answer(request, 422, "invalid_input", "the body is not valid JSON")
        code = HTTP_CODES.get(exc.status_code, "http_error")
        response = _answer(request, exc.status_code, code, str(exc.detail))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["allow"] = ", ".join(allowed_methods(request))
        return response
