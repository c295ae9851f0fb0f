"""Request limits: token-bucket rate limits, the body size and the body's media type."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.types import Message, Receive

#: Methods whose requests carry a body.
WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class RateLimiter:
    """One token bucket per caller, holding up to ``burst`` tokens (requests).

    Parameters
    ----------
    burst
        The size of each bucket (a new caller's starts full).
    max_callers
        How many buckets are kept; past it the least recently created is dropped (a
        client that changes its address cannot grow the limiter's memory).
    clock
        Monotonic seconds.
    """

    def __init__(
        self,
        burst: float,
        max_callers: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.max_callers = max_callers
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, caller: str, rate: float) -> float:
        """Take one token of ``caller``'s bucket, refilled at ``rate`` tokens a second:
        0.0 when granted, otherwise the seconds until a token is there (refused)."""
        now = self._clock()
        tokens, last = self._buckets.get(caller, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * rate)
        if tokens >= 1.0:
            self._remember(caller, tokens - 1.0, now)
            return 0.0
        self._remember(caller, tokens, now)
        return (1.0 - tokens) / rate

    def _remember(self, caller: str, tokens: float, now: float) -> None:
        if caller not in self._buckets and len(self._buckets) >= self.max_callers:
            del self._buckets[next(iter(self._buckets))]
        self._buckets[caller] = (tokens, now)


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least one."""
    return str(max(1, math.ceil(seconds)))


def declared_length(headers: Mapping[str, str]) -> int | None:
    """The ``Content-Length`` (``None`` when absent or not a number)."""
    value = headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


def has_body(method: str, headers: Mapping[str, str]) -> bool:
    """Whether the request sends a body (a non-zero length, or chunks)."""
    if method not in WITH_BODY:
        return False
    return declared_length(headers) not in (None, 0) or "transfer-encoding" in headers


def is_json(headers: Mapping[str, str]) -> bool:
    """Whether the body may be JSON: declared as ``application/json`` or ``…+json``,
    or not declared at all (then it is read as JSON)."""
    declared = headers.get("content-type")
    if declared is None:
        return True
    media_type = declared.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def repeated_parameters(query_string: bytes) -> list[str]:
    """The names given more than once in a query string (the guard lets through the
    ones an operation takes as a list)."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    counts = Counter(name for name, _ in pairs)
    return sorted(name for name, count in counts.items() if count > 1)


def too_large(limit: int) -> HTTPException:
    """The error of a body past ``limit`` bytes (413)."""
    return HTTPException(413, f"the request body is larger than {limit} bytes")


def limited(receive: Receive, limit: int) -> Receive:
    """``receive``, raising a 413 once the body streamed so far passes ``limit`` bytes
    (the route's error handlers turn it into the error shape)."""
    received = 0

    async def receive_limited() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise too_large(limit)
        return message

    return receive_limited
