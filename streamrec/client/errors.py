"""What the client raises: one hierarchy under :class:`StreamrecClientError`.

A server answer outside 2xx becomes a :class:`StreamrecHTTPError` (or the subclass for
its status) carrying the API's error shape ``{"error": {"code", "message",
"details"}}``; a server that cannot be reached becomes a
:class:`StreamrecConnectionError`. Both are raised only after the retry policy gave up.
"""

from __future__ import annotations

import time
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from streamrec.errors import Problem, StreamrecError


class StreamrecClientError(StreamrecError):
    """Base class of every error the client raises."""


class StreamrecConnectionError(StreamrecClientError):
    """The server could not be reached, or did not answer in time."""


class StreamrecHTTPError(StreamrecClientError):
    """The server answered with an error status.

    Attributes
    ----------
    status
        The HTTP status code.
    code
        The API's error code (``invalid_input``, ``not_found``, …); ``http_<status>``
        when the body is not in the API's error shape.
    message
        The server's explanation.
    details
        The error's ``details`` as sent (for 422, one object per problem).
    retry_after
        Seconds the server asked to wait (``Retry-After``), if it said.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details if details is not None else []
        self.retry_after = retry_after

    @property
    def problems(self) -> list[Problem]:
        """Each detail that names a problem (``index``, ``field``, ``message``), in order."""
        if not isinstance(self.details, list):
            return []
        return [
            Problem(index=d.get("index"), field=d.get("field"), message=str(d["message"]))
            for d in self.details
            if isinstance(d, dict) and "message" in d
        ]


class InvalidInputError(StreamrecHTTPError):
    """422: the request was rejected whole; :attr:`problems` lists every problem."""


class NotFoundError(StreamrecHTTPError):
    """404: an unknown user, item or route."""


class AuthError(StreamrecHTTPError):
    """401 or 403: no key, an unknown key, or a key without the scope."""


class UnavailableError(StreamrecHTTPError):
    """429 or 503: the server is overloaded or a backend is down; retrying later may work."""


_BY_STATUS: dict[int, type[StreamrecHTTPError]] = {
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    422: InvalidInputError,
    429: UnavailableError,
    503: UnavailableError,
}


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds (``None`` if absent or bad).

    Parameters
    ----------
    value
        The header: delta-seconds (``"120"``) or an HTTP date
        (``"Wed, 21 Oct 2026 07:28:00 GMT"``).
    now
        The current time (epoch seconds), for the HTTP-date form; defaults to the clock.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, origin unknown (RFC 5322)
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _error_object(response: httpx.Response) -> dict[str, Any] | None:
    """The ``error`` object of a body in the API's error shape, else ``None``."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def is_error_body(response: httpx.Response) -> bool:
    """Whether the body is in the API's error shape ``{"error": {...}}``."""
    return _error_object(response) is not None


def http_error(response: httpx.Response) -> StreamrecHTTPError:
    """The error for a non-2xx ``response``, read from the API's error shape."""
    status = response.status_code
    code, message, details = f"http_{status}", response.reason_phrase, None
    error = _error_object(response)
    if error is not None:
        code = str(error.get("code", code))
        message = str(error.get("message", message))
        details = error.get("details")
    elif response.text:
        message = response.text[:500]
    kind = _BY_STATUS.get(status, StreamrecHTTPError)
    retry_after = retry_after_seconds(response.headers.get("retry-after"))
    return kind(status, code, message, details, retry_after)
