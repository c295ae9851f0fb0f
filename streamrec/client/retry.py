"""When to try a request again, and how long to wait first.

A request is retried after a connection failure, a 429 or a 503, never after any
other status. The wait is the server's ``Retry-After`` when it sent one (seconds or
an HTTP date; never shorter than asked), else exponential backoff with jitter:
attempt ``n`` (from 0) waits between half and all of
``min(max_backoff_s, backoff_s * 2**n)``. A ``Retry-After`` longer than
``max_retry_after_s`` ends the retries at once: the error is raised with its
``retry_after`` for the caller to schedule.

A request that may have reached the server (the connection broke or timed out after
it was sent) is retried only when it is idempotent: every route but
``POST /v1/events``, where a retry could count events twice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import httpx

from streamrec.client.calls import Call
from streamrec.client.errors import StreamrecConnectionError, retry_after_seconds

RETRIED_STATUSES = frozenset({429, 503})

# Failures where the request never left the client: always safe to retry.
NOT_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
# Failures after the request may have been delivered: safe only when idempotent.
MAYBE_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ReadError,
    httpx.ReadTimeout,
    httpx.WriteError,
    httpx.WriteTimeout,
    httpx.RemoteProtocolError,
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times to try a request and how long to wait between tries.

    Parameters
    ----------
    attempts
        Tries in all, the first included (1 turns retries off).
    backoff_s
        The base of the exponential backoff: the first retry waits up to this long.
    max_backoff_s
        The longest backoff wait.
    max_retry_after_s
        The longest ``Retry-After`` the client waits for; a longer one is raised.
    """

    attempts: int = 4
    backoff_s: float = 0.2
    max_backoff_s: float = 5.0
    max_retry_after_s: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.backoff_s < 0 or self.max_backoff_s < 0 or self.max_retry_after_s < 0:
            raise ValueError("waits must not be negative")

    def backoff(self, retry: int) -> float:
        """The jittered wait before retry number ``retry`` (from 0)."""
        ceiling = min(self.max_backoff_s, self.backoff_s * 2.0**retry)
        return random.uniform(ceiling / 2, ceiling)


class Attempts:
    """The retry state of one call: each outcome in, the wait before the next try out."""

    def __init__(self, policy: RetryPolicy, call: Call[Any]) -> None:
        self.policy = policy
        self.call = call
        self.retries = 0

    def _next(self, wait: float) -> float | None:
        if self.retries + 1 >= self.policy.attempts:
            return None
        self.retries += 1
        return wait

    def after_error(self, error: httpx.TransportError) -> float:
        """The wait before retrying after a transport failure.

        Raises
        ------
        StreamrecConnectionError
            When the failure is not retried, or no attempt is left.
        """
        retryable = isinstance(error, NOT_SENT) or (
            self.call.idempotent and isinstance(error, MAYBE_SENT)
        )
        wait = self._next(self.policy.backoff(self.retries)) if retryable else None
        if wait is None:
            tries = self.retries + 1
            raise StreamrecConnectionError(
                f"{type(error).__name__} after {tries} attempt(s): {error}"
            ) from error
        return wait

    def after_response(self, response: httpx.Response) -> float | None:
        """The wait before retrying after this answer, or ``None``: read it as final."""
        if response.status_code not in RETRIED_STATUSES or self.call.is_answer(response):
            return None
        asked = retry_after_seconds(response.headers.get("retry-after"))
        if asked is not None:
            return self._next(asked) if asked <= self.policy.max_retry_after_s else None
        return self._next(self.policy.backoff(self.retries))
