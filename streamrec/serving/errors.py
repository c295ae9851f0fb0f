"""The one place where streamrec errors become HTTP status codes.

Every error body is ``{"error": {"code", "message", "details"}}``; each handler
marks the code on the request, for the error counter of
:class:`~streamrec.serving.metrics.RequestTimer`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from streamrec.errors import (
    BackendUnavailable,
    InvalidInput,
    NotFound,
    Overloaded,
    StreamrecError,
)
from streamrec.serving.metrics import mark_error

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    """A JSON error in the API's shape."""
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return JSONResponse(body, status_code=status)


def _answer(
    request: Request, status: int, code: str, message: str, details: Any = None
) -> JSONResponse:
    mark_error(request.scope, code)
    return error_response(status, code, message, details)


def install_error_handlers(app: FastAPI) -> None:
    """Map every error the app can raise to a status code and the error shape."""

    @app.exception_handler(InvalidInput)
    async def _invalid(request: Request, exc: InvalidInput) -> JSONResponse:
        details = [dataclasses.asdict(p) for p in exc.problems]
        return _answer(request, 422, "invalid_input", exc.message, details)

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
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _answer(request, exc.status_code, code, str(exc.detail))
