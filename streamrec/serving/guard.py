"""The gate every request passes before a route: key, scope, rate, body size, media type.

:class:`Guard` is pure ASGI middleware: a refused request is answered here in the
API's error shape (and marked for the error counter) without reaching the app; an
admitted one reaches it with its body's size still counted while it streams.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from streamrec.access import AuthSettings, LimitSettings
from streamrec.serving.auth import READS, Caller, KeyRing, is_ui, request_key, required_scope
from streamrec.serving.errors import error_response
from streamrec.serving.limits import (
    WITH_BODY,
    RateLimiter,
    declared_length,
    has_body,
    is_json,
    limited,
    repeated_parameters,
    retry_after,
)
from streamrec.serving.metrics import mark_error
from streamrec.ui.signin import is_fragment, sign_in_url

#: Where JSON bodies are the only kind accepted.
JSON_ONLY_PREFIX = "/v1/"
#: The request headers the guard reads.
READ_HEADERS = frozenset(
    {
        b"authorization",
        b"x-api-key",
        b"cookie",
        b"content-length",
        b"content-type",
        b"transfer-encoding",
    }
)


def _headers(scope: Scope) -> dict[str, str]:
    """The headers of :data:`READ_HEADERS` that the request has (one pass, no copy of
    the rest)."""
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope["headers"]
        if name in READ_HEADERS
    }


class Guard:
    """Pure ASGI middleware enforcing :mod:`~streamrec.serving.auth` and
    :mod:`~streamrec.serving.limits` with the given settings."""

    def __init__(
        self,
        app: ASGIApp,
        auth: AuthSettings,
        limits: LimitSettings,
        list_parameters: Callable[[], frozenset[str]] = frozenset,
    ) -> None:
        self.app = app
        self._list_parameters = list_parameters
        self._repeatable: frozenset[str] | None = None
        self.keys = KeyRing(auth) if auth.enabled else None
        self.protect_metrics = auth.protect_metrics
        self.max_body_bytes = limits.max_body_bytes
        per_key = any(k.rate_per_s is not None for k in auth.keys)
        limited_rate = limits.rate_per_s is not None or per_key
        self.rates = RateLimiter(limits.rate_burst) if limited_rate else None
        self.default_rate = limits.rate_per_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        headers = _headers(scope)
        refusal = self._refusal(scope, method, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if method in WITH_BODY:
            receive = limited(receive, self.max_body_bytes)
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope, method: str, headers: Mapping[str, str]) -> Response | None:
        """The error answer of a request to refuse (``None`` to let it through)."""
        path: str = scope["path"]
        needed = required_scope(method, path, self.protect_metrics)
        if needed is None:
            return None
        caller = None
        if self.keys is not None:
            key = request_key(method, path, headers)
            caller = self.keys.identify(key) if key is not None else None
            if caller is None and method in READS and is_ui(path) and not is_fragment(path):
                mark_error(scope, "unauthorized")
                return RedirectResponse(sign_in_url(scope), status_code=303)
            if key is None:
                return _refuse(scope, 401, "unauthorized", "an API key is required")
            if caller is None:
                return _refuse(scope, 401, "unauthorized", "the API key is not known")
            if needed not in caller.scopes:
                message = f"the API key lacks the {needed.value!r} scope"
                return _refuse(scope, 403, "forbidden", message)
        return (
            self._rate_refusal(scope, caller)
            or self._query_refusal(scope, path)
            or self._body_refusal(scope, method, path, headers)
        )

    def _rate_refusal(self, scope: Scope, caller: Caller | None) -> Response | None:
        """429 when the caller's bucket (the key's, or the client address's) is empty."""
        rate = self.default_rate if caller is None else caller.rate_per_s or self.default_rate
        if self.rates is None or rate is None:
            return None
        if caller is not None:
            bucket = f"key:{caller.name}"
        else:
            client = scope.get("client")
            bucket = f"client:{client[0] if client else '?'}"
        wait = self.rates.take(bucket, rate)
        if wait <= 0:
            return None
        refused = _refuse(scope, 429, "rate_limited", "too many requests; slow down")
        refused.headers["retry-after"] = retry_after(wait)
        return refused

    def _query_refusal(self, scope: Scope, path: str) -> Response | None:
        """422 for a query parameter given twice under ``/v1``, unless some operation
        takes it as a list (the others take one value each)."""
        if not path.startswith(JSON_ONLY_PREFIX) or b"&" not in scope["query_string"]:
            return None
        if self._repeatable is None:  # the description is complete once requests come
            self._repeatable = self._list_parameters()
        repeated = [
            name
            for name in repeated_parameters(scope["query_string"])
            if name not in self._repeatable
        ]
        if not repeated:
            return None
        details = [
            {"field": f"query.{name}", "message": "given more than once"} for name in repeated
        ]
        message = "a query parameter is given more than once"
        return _refuse(scope, 422, "invalid_input", message, details)

    def _body_refusal(
        self, scope: Scope, method: str, path: str, headers: Mapping[str, str]
    ) -> Response | None:
        length = declared_length(headers)
        if length is not None and length > self.max_body_bytes:
            message = f"the request body is larger than {self.max_body_bytes} bytes"
            return _refuse(scope, 413, "payload_too_large", message)
        if path.startswith(JSON_ONLY_PREFIX) and has_body(method, headers) and not is_json(headers):
            message = "the body must be JSON (content-type: application/json)"
            return _refuse(scope, 415, "unsupported_media_type", message)
        return None


def _refuse(
    scope: Scope, status: int, code: str, message: str, details: list[dict[str, str]] | None = None
) -> Response:
    mark_error(scope, code)
    response = error_response(status, code, message, details)
    if status == 401:
        response.headers["www-authenticate"] = "Bearer"
    return response
